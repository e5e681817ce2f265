package directory

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNextLink(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"two headers", []string{`<https://o/api/v1/users?limit=2>; rel="self"`, `<https://o/api/v1/users?after=a%2Cb&limit=2>; rel="next"`}, "https://o/api/v1/users?after=a%2Cb&limit=2"},
		{"one joined header", []string{`<https://o/u?limit=2>; rel="self", <https://o/u?after=x>; rel="next"`}, "https://o/u?after=x"},
		{"joined without space", []string{`<https://o/u>; rel="self",<https://o/u?after=y>; rel=next`}, "https://o/u?after=y"},
		{"next first", []string{`<https://o/u?after=z>; rel="next", <https://o/u>; rel="self"`}, "https://o/u?after=z"},
		{"self only", []string{`<https://o/u>; rel="self"`}, ""},
		{"none", nil, ""},
		{"garbage", []string{`rel="next"`, `>; <`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Link": tt.values}
			if got := nextLink(h); got != tt.want {
				t.Errorf("nextLink(%q) = %q; want %q", tt.values, got, tt.want)
			}
		})
	}
}

func TestShrinkPage(t *testing.T) {
	u, _ := url.Parse("https://o/api/v1/users?after=c&limit=200")
	tests := []struct {
		fails int
		want  string
	}{{0, "200"}, {1, "200"}, {2, "100"}, {3, "50"}, {4, "25"}, {5, "20"}, {9, "20"}}
	for _, tt := range tests {
		got := shrinkPage(u, tt.fails).Query()
		if got.Get("limit") != tt.want || got.Get("after") != "c" {
			t.Errorf("shrinkPage(limit=200, %d) = %v; want limit %s and the cursor kept", tt.fails, got, tt.want)
		}
	}
}

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fake)
		check func(t *testing.T, f *fake, sum Summary)
	}{
		{"429 burst", func(f *fake) {
			f.srv.SetRateLimit(1000, time.Second)
			f.srv.BurstTooManyRequests(4)
		}, func(t *testing.T, f *fake, sum Summary) {
			if sum.Throttled != 4 || sum.RateWaits != 4 {
				t.Errorf("Throttled %d, RateWaits %d; want 4 and 4", sum.Throttled, sum.RateWaits)
			}
			for _, d := range f.clock.sleeps() {
				if d < 500*time.Millisecond || d > 2*time.Second {
					t.Errorf("waited %v; want until X-Rate-Limit-Reset, 1-2 s ahead", d)
				}
			}
		}},
		{"remaining runs out", func(f *fake) {
			f.srv.SetRateLimit(3, 10*time.Second)
		}, func(t *testing.T, f *fake, sum Summary) {
			if sum.Throttled != 0 || sum.RateWaits == 0 {
				t.Errorf("Throttled %d, RateWaits %d; want no 429 thanks to waiting when X-Rate-Limit-Remaining is 0", sum.Throttled, sum.RateWaits)
			}
			for _, d := range f.clock.sleeps() {
				if d <= 0 || d > 11*time.Second {
					t.Errorf("waited %v; want up to the window's reset", d)
				}
			}
		}},
		{"500s", func(f *fake) { f.srv.FailNextAPI(3, http.StatusInternalServerError) }, func(t *testing.T, f *fake, sum Summary) {
			if sum.Retries != 3 {
				t.Errorf("Retries = %d; want 3", sum.Retries)
			}
			if s := f.clock.sleeps(); len(s) != 3 || s[0] < backoffBase || s[2] < 4*backoffBase {
				t.Errorf("backoff %v; want 3 growing waits from %v", s, backoffBase)
			}
		}},
		{"503s", func(f *fake) { f.srv.FailNextAPI(2, http.StatusServiceUnavailable) }, func(t *testing.T, f *fake, sum Summary) {
			if sum.Retries != 2 {
				t.Errorf("Retries = %d; want 2", sum.Retries)
			}
		}},
		{"large pages fail", func(f *fake) { f.srv.FailLargePages(100) }, func(t *testing.T, f *fake, sum Summary) {
			if sum.Retries == 0 {
				t.Errorf("Retries = 0; want retries with smaller pages")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.populate(3, 450)
			c := f.client(t, f.config())
			if _, err := c.token(context.Background()); err != nil { // the token endpoint is not rate limited
				t.Fatal(err)
			}
			tt.setup(f)
			sink := newMemSink()
			sum := mustSync(t, c, sink, SyncOptions{})
			if len(sink.users) != 451 || len(sink.groups) != 4 {
				t.Fatalf("synced %d users and %d groups; want 451 and 4", len(sink.users), len(sink.groups))
			}
			tt.check(t, f, sum)
		})
	}
}

func TestServerErrorsGiveUp(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedUsers(5, 0)
	c := f.client(t, f.config())
	f.srv.FailNextAPI(100, http.StatusInternalServerError)
	_, err := Sync(context.Background(), c, newMemSink(), SyncOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Status != 500 || e.Code != "E0000009" {
		t.Fatalf("Sync = %v; want the 500 E0000009 after retries", err)
	}
	if got := len(f.clock.sleeps()); got != maxServerRetries {
		t.Errorf("%d retries; want %d", got, maxServerRetries)
	}
}

func TestDPoPNonceRotation(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedUsers(10, 0)
	c := f.client(t, f.config())
	mustSync(t, c, newMemSink(), SyncOptions{})
	first := f.srv.TokenRequests()
	if first != 2 { // use_dpop_nonce, then the token
		t.Errorf("first token: %d requests; want 2 (nonce challenge, token)", first)
	}
	mustSync(t, c, newMemSink(), SyncOptions{})
	if got := f.srv.TokenRequests(); got != first {
		t.Errorf("second run made %d token requests; want the cached token used", got-first)
	}
	// The token expires and the nonce rotates: one refused request, then
	// one with the new nonce.
	f.clock.Add(2 * time.Hour)
	mustSync(t, c, newMemSink(), SyncOptions{})
	if got := f.srv.TokenRequests() - first; got != 2 {
		t.Errorf("after expiry: %d token requests; want 2 (stale nonce refused, new nonce)", got)
	}
	// Just before expiry the token is replaced early.
	f.clock.Add(time.Hour - tokenEarly + time.Second)
	before := f.srv.TokenRequests()
	mustSync(t, c, newMemSink(), SyncOptions{})
	if f.srv.TokenRequests() == before {
		t.Errorf("a token about to expire was reused")
	}
}

func TestNoDPoP(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedUsers(3, 0)
	cfg := f.config()
	cfg.InsecureNoDPoP = true
	_, err := Sync(context.Background(), f.client(t, cfg), newMemSink(), SyncOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Code != "invalid_dpop_proof" || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("Sync without DPoP against an app requiring it = %v; want invalid_dpop_proof with a fix", err)
	}
}

func TestForeignLinkRefused(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("Authorization") != "SSWS "+testAPIToken {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("Link", `<http://evil.example/api/v1/users?after=x>; rel="next"`)
		w.Write([]byte(`[{"id":"00u1","status":"ACTIVE","profile":{"login":"a@example.com"}}]`))
	}))
	defer srv.Close()
	c, err := New(Config{OrgURL: srv.URL, APIToken: testAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range c.Users(context.Background(), "") {
		if err != nil {
			if !strings.Contains(err.Error(), "not on the org") {
				t.Errorf("err = %v; want the foreign Link refused", err)
			}
			break
		}
		n++
	}
	if calls != 1 {
		t.Errorf("%d requests; want 1 (never to the foreign host)", calls)
	}
	_ = n
}

func TestCancel(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedUsers(300, 0)
	cfg := f.config()
	cfg.PageSize = 50
	c := f.client(t, cfg)
	state := tempState(t)
	ctx, cancel := context.WithCancel(context.Background())
	sink := newMemSink()
	sink.fail = func(n int) error {
		if n == 120 {
			cancel()
		}
		return nil
	}
	sum, err := Sync(ctx, c, sink, SyncOptions{State: state})
	if !errors.Is(err, context.Canceled) || sum.Upserted > 150 {
		t.Fatalf("Sync = %v after %d upserts; want context.Canceled within the page", err, sum.Upserted)
	}
	st, _ := state.Load(context.Background())
	if st.Run == nil || st.Run.Phase != "users" || !strings.Contains(st.Run.Next, "after=") {
		t.Fatalf("checkpoint %+v; want the users phase with the next page", st.Run)
	}
	sink.fail = nil
	sum = mustSync(t, c, sink, SyncOptions{State: state})
	if !sum.Resumed || len(sink.users) != 300 || sink.upserts >= 300+150 {
		t.Errorf("resumed run: Resumed %v, %d users, %d upserts in all; want a resumption that does not start over", sum.Resumed, len(sink.users), sink.upserts)
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	tests := []struct {
		name  string
		fault func(f *fake)
	}{
		{"rate limit", func(f *fake) { f.srv.BurstTooManyRequests(50) }},
		{"backoff", func(f *fake) { f.srv.FailNextAPI(50, http.StatusBadGateway) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.srv.AddGeneratedUsers(10, 0)
			c := f.client(t, f.config())
			state := tempState(t)
			ctx, cancel := context.WithCancel(context.Background())
			f.clock.onWait = cancel
			tt.fault(f)
			_, err := Sync(ctx, c, newMemSink(), SyncOptions{State: state})
			if !errors.Is(err, context.Canceled) || len(f.clock.sleeps()) != 1 {
				t.Fatalf("Sync = %v after %d waits; want context.Canceled during the first wait", err, len(f.clock.sleeps()))
			}
			if st, _ := state.Load(context.Background()); st.Run == nil || st.Run.Phase != "users" {
				t.Errorf("checkpoint %+v; want one in the users phase", st.Run)
			}
		})
	}
}
