package oktasso

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso/store"
	"golang.org/x/oauth2"
)

// strictProvider is a transport that drops the refresh token from every
// token response, as a strict OpenID provider does for offline_access
// asked without prompt=consent (OpenID Connect Core §11).
type strictProvider struct{ rt http.RoundTripper }

func (s strictProvider) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.rt.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/token") {
		return resp, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, err
	}
	delete(m, "refresh_token")
	b, _ := json.Marshal(m)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestNoRefreshTokenWarning: offline_access asked and no refresh token
// back logs one warning per Auth, however many sign-ins, naming the
// cause (a strict provider wants prompt=consent) and the fix.
func TestNoRefreshTokenWarning(t *testing.T) {
	tests := []struct {
		name   string
		prompt string
		strict bool
		want   []string // in the one warning; nil: no warning
	}{
		{"strict provider", "", true, []string{"offline_access", "no refresh token", "OpenID Connect Core §11", "set Access.Prompt to", "OKTASSO_PROMPT=consent"}},
		{"strict provider, consent asked", "consent", true, []string{"offline_access", "prompt=consent", "refresh_token grant"}},
		{"refresh token granted", "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var logs bytes.Buffer
			h := newHarness(t, func(c *Config) {
				c.Scopes = []string{"openid", "profile", "email", "offline_access"}
				c.Access.Prompt = tt.prompt
				c.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelWarn}))
				if tt.strict {
					c.HTTPClient = &http.Client{Transport: strictProvider{c.HTTPClient.Transport}}
				}
			})
			for i := 0; i < 3; i++ {
				b := h.browser()
				if r := h.login(b, alice, "/"); r.status != http.StatusFound {
					t.Fatalf("sign-in %d = %d %.200s; want 302", i, r.status, r.body)
				}
			}
			mu.Lock()
			logged := logs.String()
			mu.Unlock()
			n := strings.Count(logged, "no refresh token")
			if tt.want == nil {
				if n != 0 {
					t.Errorf("warned with a refresh token granted:\n%s", logged)
				}
				return
			}
			if n != 1 {
				t.Fatalf("3 sign-ins without a refresh token logged %d warnings; want 1:\n%s", n, logged)
			}
			for _, w := range tt.want {
				if !strings.Contains(logged, w) {
					t.Errorf("warning lacks %q:\n%s", w, logged)
				}
			}
		})
	}
}

// TestPromptConsent: with Access.Prompt "consent" every sign-in that
// makes a session asks for consent, a step-up's prompt=login too, and the
// fake grants the refresh token.
func TestPromptConsent(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Scopes = []string{"openid", "profile", "email", "offline_access"}
		c.Access.Prompt = "consent"
	})
	b2 := h.browser()
	h.fake.AutoLogin(alice)
	r := b2.get(h.app.URL + loginPath)
	if got := mustQuery(t, r.location).Get("prompt"); got != "consent" {
		t.Errorf("authorize prompt = %q; want consent", got)
	}
	r = b2.get(h.app.URL + loginPath + "?prompt=login")
	if got := mustQuery(t, r.location).Get("prompt"); got != "login consent" {
		t.Errorf("authorize prompt with prompt=login = %q; want \"login consent\"", got)
	}
	r = b2.get(h.app.URL + "/workspace")
	if r.status != http.StatusFound {
		t.Fatalf("guarded GET = %d; want 302", r.status)
	}
	if r = b2.get(r.location); mustQuery(t, r.location).Get("prompt") != "consent" {
		t.Errorf("a guard's sign-in went to %s; want prompt=consent", r.location)
	}
	b3 := h.browser()
	if r := h.login(b3, alice, "/"); r.status != http.StatusFound {
		t.Fatalf("sign-in = %d %.200s; want 302", r.status, r.body)
	}
	ck := h.sessionCookie(b3)
	s, _, err := h.auth.cookies.openSession(ck.Name, ck.Value)
	if err != nil || s.RefreshToken == "" {
		t.Errorf("session = %+v, %v; want one with a refresh token", s, err)
	}
}

func TestPromptFor(t *testing.T) {
	tests := []struct {
		def, asked, purpose, want string
	}{
		{"", "", "", ""},
		{"", "login", "", "login"},
		{"consent", "", "", "consent"},
		{"consent", "login", "", "login consent"},
		{"consent", "none", "", "none"},
		{"consent", "", "mfa", ""},
		{"login", "", "", "login"},
		{"select_account", "consent", "", "consent"},
		{"none", "", "", ""},
		{"none", "none", "", "none"},
	}
	for _, tt := range tests {
		a := &Auth{cfg: Config{Access: AccessConfig{Prompt: tt.def}}}
		if got := a.promptFor(loginParams{prompt: tt.asked}, tt.purpose); got != tt.want {
			t.Errorf("promptFor(Access.Prompt %q, asked %q, purpose %q) = %q; want %q", tt.def, tt.asked, tt.purpose, got, tt.want)
		}
	}
}

// TestRefreshedSessionIsNotDueAgain: the refreshed access token's expiry is
// dated on Config.Now, the clock that decides when a session is due, not on
// the wall clock (x/oauth2's Token.Expiry). Otherwise, with a clock ahead
// of the wall clock (tests, a skewed host), every request after a refresh
// refreshed again: one token request per request.
func TestRefreshedSessionIsNotDueAgain(t *testing.T) {
	for _, server := range []bool{false, true} {
		t.Run(map[bool]string{false: "cookie sessions", true: "server sessions"}[server], func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Scopes = []string{"openid", "email", "offline_access"}
				if server {
					c.Session.Storage = SessionInStore
				}
			})
			b := h.browser()
			h.login(b, alice, "/")
			h.clock.Add(56 * time.Minute) // the 1-hour access token is within the refresh margin (refreshBefore, 5 minutes)
			before := h.fake.TokenRequests()
			for i := range 3 {
				if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusOK {
					t.Fatalf("request %d at refresh time = %d; want 200", i, r.status)
				}
			}
			if n := h.fake.TokenRequests() - before; n != 1 {
				t.Errorf("3 requests in a row at refresh time made %d token requests; want 1 (the refreshed session is not due)", n)
			}
			if server {
				return
			}
			ck := h.sessionCookie(b)
			s, _, err := h.auth.cookies.openSession(ck.Name, ck.Value)
			if want := h.clock.Now().Add(time.Hour).Unix(); err != nil || s.TokenExpiry != want {
				t.Errorf("refreshed TokenExpiry = %d (%v); want %d, an hour after Config.Now", s.TokenExpiry, err, want)
			}
		})
	}
}

// TestShortTokenRefreshMargin: with 5-minute access tokens (Okta's
// shortest), a session refreshes when half the token's life is left, not
// 5 minutes before expiry, which would refresh on every request.
func TestShortTokenRefreshMargin(t *testing.T) {
	for _, server := range []bool{false, true} {
		t.Run(map[bool]string{false: "cookie sessions", true: "server sessions"}[server], func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Scopes = []string{"openid", "email", "offline_access"}
				if server {
					c.Session.Storage = SessionInStore
				}
			})
			h.fake.MutateTokenResponse(func(resp map[string]any) { resp["expires_in"] = 300 })
			b := h.browser()
			h.login(b, alice, "/")
			steps := []struct {
				after time.Duration
				want  int // token requests the step's two requests make
			}{
				{time.Minute, 0},      // 4 minutes left: more than half
				{90 * time.Second, 1}, // 2.5 minutes left: refreshed once
				{0, 0},                // the refreshed token has 5 minutes
				{2 * time.Minute, 0},  // 3 minutes left
				{45 * time.Second, 1}, // 2.25 minutes left
			}
			for i, st := range steps {
				h.clock.Add(st.after)
				before := h.fake.TokenRequests()
				for range 2 {
					if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusOK {
						t.Fatalf("step %d: GET /webapp = %d; want 200", i, r.status)
					}
				}
				if n := h.fake.TokenRequests() - before; n != st.want {
					t.Errorf("step %d (+%v): %d token requests; want %d", i, st.after, n, st.want)
				}
			}
		})
	}
}

// TestTokenExpiry: the access token's expiry counts its lifetime from
// Config.Now. A token with only Expiry (a form-encoded response) has its
// lifetime measured on the wall clock, which a slow machine shortens:
// those cases accept up to a minute less, a margin no run reaches.
func TestTokenExpiry(t *testing.T) {
	clock := &fakeClock{t: time.Unix(2_000_000_000, 0)}
	a := &Auth{cfg: Config{Now: clock.Now}}
	tests := []struct {
		name  string
		tok   *oauth2.Token
		want  int64
		slack int64 // seconds below want accepted (wall-clock lifetimes)
	}{
		{"expires_in", &oauth2.Token{ExpiresIn: 300, Expiry: time.Now().Add(300 * time.Second)}, 2_000_000_300, 0},
		{"expires_in preferred to Expiry", &oauth2.Token{ExpiresIn: 3600, Expiry: time.Unix(5, 0)}, 2_000_003_600, 0},
		{"Expiry only (form-encoded response)", &oauth2.Token{Expiry: time.Now().Add(time.Hour)}, 2_000_003_600, 60},
		{"expires_in out of range", &oauth2.Token{ExpiresIn: 1 << 40, Expiry: time.Now().Add(time.Hour)}, 2_000_003_600, 60},
		{"no lifetime", &oauth2.Token{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.tokenExpiry(tt.tok); got > tt.want || got < tt.want-tt.slack {
				t.Errorf("tokenExpiry(%s) = %d; want %d (down to %d)", tt.name, got, tt.want, tt.want-tt.slack)
			}
		})
	}
}

// stepStore is a LockStore over a Memory shared by several instances that
// plays out one interleaving: the next Get (or GetMulti) of the key pause stops after
// reading, until resume is closed; Sets of keys starting with lose are
// lost, as an evicted key.
type stepStore struct {
	*store.Memory
	mu     sync.Mutex
	pause  string
	read   chan struct{} // closed when the paused Get has read
	resume chan struct{}
	lose   string
}

func (s *stepStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.Memory.Get(ctx, key)
	s.mu.Lock()
	hit := s.pause != "" && key == s.pause
	if hit {
		s.pause = ""
	}
	read, resume := s.read, s.resume
	s.mu.Unlock()
	if hit {
		close(read)
		<-resume
	}
	return b, err
}

// GetMulti is the revocation check's read (store.MultiGetStore): it pauses
// as Get does when one of keys is the key pause.
func (s *stepStore) GetMulti(ctx context.Context, keys []string, values [][]byte) error {
	err := s.Memory.GetMulti(ctx, keys, values)
	s.mu.Lock()
	hit := s.pause != "" && slices.Contains(keys, s.pause)
	if hit {
		s.pause = ""
	}
	read, resume := s.read, s.resume
	s.mu.Unlock()
	if hit {
		close(read)
		<-resume
	}
	return err
}

func (s *stepStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if s.lose != "" && strings.HasPrefix(key, s.lose) {
		return nil
	}
	return s.Memory.Set(ctx, key, value, ttl)
}

// pauseAfter makes the next Get of key stop after reading.
func (s *stepStore) pauseAfter(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pause, s.read, s.resume = key, make(chan struct{}), make(chan struct{})
}

// TestRefreshRaceAcrossInstances plays the race of two instances sharing a
// store, step by step: instance B reads the session, instance A refreshes
// it and lets go of the refresh lock, then B, still holding the version
// from before, finds the token due and takes the lock. B must use A's
// refresh, found by its generation, and not redeem the old refresh token
// again: with a grace period of 0, as Okta allows, that is reuse, and the
// provider revokes the whole token family, signing the user out.
func TestRefreshRaceAcrossInstances(t *testing.T) {
	tests := []struct {
		name      string
		server    bool // SessionInStore
		loseFresh bool // the refreshed version (keyFresh) is never stored
	}{
		{"cookie sessions", false, false},
		{"server sessions", true, false},
		{"server sessions, refreshed version lost", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := store.NewMemory(nil)
			storeA, storeB := &stepStore{Memory: mem}, &stepStore{Memory: mem}
			h := newHarness(t, func(c *Config) {
				c.Scopes = []string{"openid", "email", "offline_access"}
				c.Store = storeA
				if tt.server {
					c.Session.Storage = SessionInStore
				}
			})
			h.fake.SetRefreshGracePeriod(0)
			cfgB := h.cfg
			cfgB.Store = storeB
			instanceB, err := New(context.Background(), cfgB)
			if err != nil {
				t.Fatal(err)
			}
			appB := instanceB.WebApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))

			b := h.browser()
			h.login(b, alice, "/")
			cookie := h.cookieHeader(b)
			ck := h.sessionCookie(b)
			stub, _, err := h.auth.cookies.openSession(ck.Name, ck.Value)
			if err != nil {
				t.Fatal(err)
			}
			if tt.loseFresh {
				storeA.lose, storeB.lose = keyFresh(""), keyFresh("")
			}
			h.clock.Add(56 * time.Minute) // the access token is due for a refresh
			before := h.fake.TokenRequests()

			// B reads the session (its last read before deciding to refresh)
			// and stops there.
			last := keyRevoked(stub.ID)
			if tt.server {
				last = keySession(stub.ID)
			}
			storeB.pauseAfter(last)
			statusB := make(chan int, 1)
			go func() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", h.app.URL+"/webapp", nil)
				req.Header.Set("Cookie", cookie)
				appB.ServeHTTP(rec, req)
				statusB <- rec.Code
			}()
			<-storeB.read
			// A refreshes meanwhile, and releases the lock.
			if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusOK {
				t.Fatalf("instance A at refresh time = %d; want 200", r.status)
			}
			h.clock.Add(time.Second) // past the grace period
			close(storeB.resume)
			if s := <-statusB; s != http.StatusOK {
				t.Errorf("instance B with the session read before A's refresh = %d; want 200 (A's refresh reused)", s)
			}
			if n := h.fake.TokenRequests() - before; n != 1 {
				t.Errorf("token requests for the session on two instances = %d; want exactly 1", n)
			}
			if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusOK {
				t.Errorf("instance A afterwards = %d; want 200 (the token family not revoked)", r.status)
			}
		})
	}
}
