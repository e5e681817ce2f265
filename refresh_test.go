package oktasso

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
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
	r := b2.get(h.app.URL + LoginPath)
	if got := mustQuery(t, r.location).Get("prompt"); got != "consent" {
		t.Errorf("authorize prompt = %q; want consent", got)
	}
	r = b2.get(h.app.URL + LoginPath + "?prompt=login")
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
