package oktasso

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso/store"
)

// signedInRequest signs alice in through h and returns a request carrying
// her session cookie.
func signedInRequest(t *testing.T, h *harness) *http.Request {
	t.Helper()
	b := h.browser()
	h.login(b, alice, "/")
	req := httptest.NewRequest("GET", h.app.URL+"/workspace", nil)
	req.Header.Set("Cookie", h.cookieHeader(b))
	return req
}

func TestSessionCacheHit(t *testing.T) {
	h := newHarness(t, nil)
	req := signedInRequest(t, h)
	ctx := context.Background()
	s1, u1, _ := h.auth.loadSession(ctx, req)
	s2, u2, _ := h.auth.loadSession(ctx, req)
	if s1 == nil || s2 != s1 || u2 != u1 {
		t.Fatalf("second loadSession = %p, %p; want the cached %p, %p", s2, u2, s1, u1)
	}
	if u1.Email != alice || !u1.Internal {
		t.Errorf("cached user = %+v; want alice, internal", u1)
	}

	// Exact match only: a value one character off is a miss, and refused,
	// in the middle (another ciphertext) or at the end (the same bytes
	// spelled with other trailing bits, which strict base64 refuses).
	v, _ := h.auth.cookies.readChunks(req)
	for _, i := range []int{len(v) / 2, len(v) - 1} {
		c := byte('A')
		if v[i] == 'A' {
			c = 'B'
		}
		forged := httptest.NewRequest("GET", h.app.URL+"/workspace", nil)
		forged.AddCookie(&http.Cookie{Name: h.auth.cookies.sessionName(), Value: v[:i] + string(c) + v[i+1:]})
		if s, _, _ := h.auth.loadSession(ctx, forged); s != nil {
			t.Errorf("a cookie differing from the cached one at %d of %d was admitted", i, len(v))
		}
	}
}

func TestSessionCacheExpiry(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		ok      bool
	}{
		{"fresh", time.Minute, true},
		{"idle timeout passed", 8*time.Hour + time.Minute, false},
		{"absolute end passed", 24*time.Hour + time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Idle 8h, absolute 24h; "absolute" stays active every 4h.
			h := newHarness(t, nil)
			req := signedInRequest(t, h)
			if s, _, _ := h.auth.loadSession(context.Background(), req); s == nil {
				t.Fatal("fresh session refused")
			}
			if tt.name == "absolute end passed" {
				h.cfg.Session.IdleTimeout = 48 * time.Hour
				h.auth.cfg.Session.IdleTimeout = 48 * time.Hour
			}
			h.clock.Add(tt.advance)
			s, _, _ := h.auth.loadSession(context.Background(), req)
			if (s != nil) != tt.ok {
				t.Errorf("cached session after %v = %v; want ok=%v", tt.advance, s != nil, tt.ok)
			}
			if !tt.ok && h.auth.cache.len() != 0 {
				t.Errorf("expired entry still cached (%d entries)", h.auth.cache.len())
			}
		})
	}
}

// TestSessionCacheRevocation: a session ended here leaves the cache at once;
// one ended by another instance sharing the store is refused on the next
// request, or, with RevocationCacheTTL, once that TTL has passed.
func TestSessionCacheRevocation(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		elsewhere bool // ended by another instance
		stale     bool // still admitted right after
	}{
		{"here, no TTL", 0, false, false},
		{"here, TTL", time.Hour, false, false},
		{"elsewhere, no TTL", 0, true, false},
		{"elsewhere, TTL", time.Second, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := store.NewMemory(nil)
			h := newHarness(t, func(c *Config) { c.Store = mem; c.Session.RevocationCacheTTL = tt.ttl })
			req := signedInRequest(t, h)
			ctx := context.Background()
			s, _, _ := h.auth.loadSession(ctx, req)
			if s == nil {
				t.Fatal("fresh session refused")
			}
			ender := h.auth
			if tt.elsewhere {
				other, err := New(ctx, h.cfg)
				if err != nil {
					t.Fatal(err)
				}
				ender = other
			}
			if err := ender.endSessions(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			got, _, _ := h.auth.loadSession(ctx, req)
			if (got != nil) != tt.stale {
				t.Fatalf("session right after it was ended = %v; want admitted=%v", got != nil, tt.stale)
			}
			h.clock.Add(tt.ttl + time.Second)
			if got, _, _ := h.auth.loadSession(ctx, req); got != nil {
				t.Errorf("ended session admitted %v later", tt.ttl+time.Second)
			}
		})
	}
}

// TestSessionCacheCopyOnWrite: rolling the idle clock forward writes a new
// cookie from a copy; the cached session is never modified.
func TestSessionCacheCopyOnWrite(t *testing.T) {
	h := newHarness(t, nil)
	req := signedInRequest(t, h)
	cached, _, _ := h.auth.loadSession(context.Background(), req)
	seen := cached.Seen
	h.clock.Add(time.Hour) // past 1/20 of the 8h idle timeout
	rec := httptest.NewRecorder()
	s, u, _ := h.auth.currentSession(rec, req)
	if s == nil || u == nil {
		t.Fatal("session refused")
	}
	if s == cached || s.Seen == seen {
		t.Errorf("currentSession returned Seen=%d (same value: %v); want a rolled copy", s.Seen, s == cached)
	}
	if cached.Seen != seen {
		t.Errorf("cached session's Seen changed from %d to %d", seen, cached.Seen)
	}
	if len(rec.Result().Cookies()) == 0 {
		t.Error("no cookie written when rolling the idle clock")
	}
	if again, _, _ := h.auth.loadSession(context.Background(), req); again != cached {
		t.Error("the old cookie value no longer hits the cache")
	}
}

func TestSessionCacheBounded(t *testing.T) {
	c := newSessionCache(3)
	for i := range 10 {
		c.add(string(rune('a'+i)), &session{ID: "id"}, &User{}, revKeys{}, true, c.generation(), 0)
	}
	if c.len() != 3 {
		t.Errorf("cache of 3 holds %d entries after 10 adds", c.len())
	}
	// An add racing a purge (its revocation check started before) is dropped.
	gen := c.generation()
	c.purge("id")
	c.add("z", &session{ID: "id"}, &User{}, revKeys{}, true, gen, 0)
	if c.len() != 0 {
		t.Errorf("cache holds %d entries after purge and a stale add; want 0", c.len())
	}
	if newSessionCache(-1) != nil || newSessionCache(0) != nil {
		t.Error("newSessionCache(<=0) caches; want nil")
	}
}

func TestSessionCacheOff(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Session.CacheSize = -1 })
	req := signedInRequest(t, h)
	s1, _, _ := h.auth.loadSession(context.Background(), req)
	s2, _, _ := h.auth.loadSession(context.Background(), req)
	if s1 == nil || s2 == nil || s1 == s2 {
		t.Errorf("loadSession twice without a cache = %p, %p; want two decoded sessions", s1, s2)
	}
}

func TestSessionCacheHitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	h := newHarness(t, nil)
	req := signedInRequest(t, h)
	ctx := context.Background()
	h.auth.loadSession(ctx, req)
	// AllocsPerRun counts the whole process's allocations, and the fake's
	// and the app's servers may still be winding down: a path that
	// allocates does so in every attempt, a stray goroutine in few.
	var n float64
	for range 5 {
		if n = testing.AllocsPerRun(100, func() { h.auth.loadSession(ctx, req) }); n == 0 {
			return
		}
	}
	t.Errorf("loadSession on a cache hit = %v allocs; want 0", n)
}

// TestSessionCacheConcurrent loads one session from many goroutines while
// it is ended: run with -race. Once endSessions has returned, no load
// admits it.
func TestSessionCacheConcurrent(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Session.RevocationCacheTTL = time.Hour })
	req := signedInRequest(t, h)
	ctx := context.Background()
	s, _, _ := h.auth.loadSession(ctx, req)
	if s == nil {
		t.Fatal("fresh session refused")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if s, u, _ := h.auth.currentSession(httptest.NewRecorder(), req.Clone(ctx)); s != nil && u.Email != alice {
					t.Errorf("session of %q; want alice", u.Email)
				}
			}
		}()
	}
	if err := h.auth.endSessions(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := h.auth.loadSession(ctx, req); got != nil {
		t.Error("session admitted after endSessions returned")
	}
	wg.Wait()
	if got, _, _ := h.auth.loadSession(ctx, req); got != nil {
		t.Error("session admitted after the concurrent loads")
	}
}

func TestCookieValue(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
	}{
		{"only", []string{"oktasso=abc"}, "abc"},
		{"among others", []string{"a=1; oktasso=abc; b=2"}, "abc"},
		{"no spaces", []string{"a=1;oktasso=abc;b=2"}, "abc"},
		{"chunk cookie is not the session", []string{"oktasso-1=chunk; oktasso=abc"}, "abc"},
		{"longer name", []string{"oktassox=evil"}, ""},
		{"shorter name", []string{"oktass=evil"}, ""},
		{"name as a value", []string{"x=oktasso=evil"}, ""},
		{"first of two", []string{"oktasso=one; oktasso=two"}, "one"},
		{"second header", []string{"a=1", "oktasso=abc"}, "abc"},
		{"quoted", []string{`oktasso="abc"`}, "abc"},
		{"empty", []string{"oktasso="}, ""},
		{"absent", []string{"a=1"}, ""},
		{"no header", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.headers {
				h.Add("Cookie", v)
			}
			if got := cookieValue(h, "oktasso"); got != tt.want {
				t.Errorf("cookieValue(%q) = %q; want %q", tt.headers, got, tt.want)
			}
			// The same answer as net/http for these well-formed headers.
			req := &http.Request{Header: h}
			want := ""
			if ck, err := req.Cookie("oktasso"); err == nil {
				want = ck.Value
			}
			if tt.want != want {
				t.Errorf("http.Request.Cookie = %q; cookieValue = %q", want, tt.want)
			}
		})
	}
}
