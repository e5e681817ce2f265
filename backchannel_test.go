package oktasso

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// TestBackchannelLogoutFromOkta signs alice in twice and bob once, then
// ends alice's Okta session at the fake, which POSTs a signed logout token
// to the app: both of alice's sessions end, bob's does not.
func TestBackchannelLogoutFromOkta(t *testing.T) {
	for _, tt := range []struct {
		name   string
		server bool
		alg    string // the provider's signing algorithm
	}{
		{"cookie sessions", false, "RS256"},
		{"server sessions", true, "RS256"},
		{"ES256 logout tokens", false, "ES256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				if tt.server {
					c.Session.Storage = SessionInStore
				}
			})
			h.fake.SendBackchannelLogout(true) // Okta sends none; other providers do
			h.fake.SetSigningAlg("", tt.alg)
			h.restart() // New discovers at once: again, after the change
			a1, a2, b := h.browser(), h.browser(), h.browser()
			h.login(a1, alice, "/")
			h.fake.AutoLogin(alice)
			h.login(a2, alice, "/")
			h.login(b, bob, "/")
			before := len(h.fake.BackchannelDeliveries())
			h.fake.EndSession(alice)
			deliveries := h.fake.BackchannelDeliveries()[before:]
			if len(deliveries) == 0 {
				t.Fatal("the fake delivered no logout token")
			}
			for _, d := range deliveries {
				if d.Status != http.StatusOK {
					t.Errorf("delivery to %s = %d (%v); want 200", d.URI, d.Status, d.Err)
				}
			}
			for i, br := range []*browser{a1, a2} {
				if r := br.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
					t.Errorf("alice's session %d after back-channel logout = %d; want 302", i+1, r.status)
				}
			}
			if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusOK {
				t.Errorf("bob's session after alice's logout = %d; want 200", r.status)
			}
		})
	}
}

func TestBackchannelLogoutRefusesTamperedTokens(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*oktatest.Token)
	}{
		{"bad signature", func(tk *oktatest.Token) { tk.Sign = oktatest.SignCorrupt }},
		{"unknown key", func(tk *oktatest.Token) { tk.Sign = oktatest.SignUnknownKey }},
		{"alg none", func(tk *oktatest.Token) { tk.Sign = oktatest.SignNone }},
		{"nonce added", func(tk *oktatest.Token) { tk.Claims["nonce"] = "x" }},
		{"event missing", func(tk *oktatest.Token) { delete(tk.Claims, "events") }},
		{"another audience", func(tk *oktatest.Token) { tk.Claims["aud"] = "0oaother" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.SendBackchannelLogout(true) // Okta sends none; other providers do
			br := h.browser()
			h.login(br, alice, "/")
			h.fake.MutateLogoutToken(tt.mutate)
			before := len(h.fake.BackchannelDeliveries())
			h.fake.EndSession(alice)
			for _, d := range h.fake.BackchannelDeliveries()[before:] {
				if d.Status != http.StatusBadRequest {
					t.Errorf("delivery of a %s token = %d; want 400", tt.name, d.Status)
				}
			}
			if r := br.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
				t.Errorf("alice after a refused logout token = %d; want still signed in", r.status)
			}
		})
	}
}

// TestFrontchannelLogoutThroughOktaPage signs out at the fake's logout
// page, which frames the app's front-channel logout URI with iss and sid.
func TestFrontchannelLogoutThroughOktaPage(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	idToken := h.sessionIDToken(t, b)
	// Sign out at Okta directly (as from another app or the Okta dashboard).
	r := b.get(h.fake.Issuer() + "/oauth2/v1/logout?" + url.Values{"id_token_hint": {idToken}}.Encode())
	m := regexp.MustCompile(`<iframe[^>]+src="([^"]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("Okta's logout page = %d %.300s; want an iframe to the app's front-channel URI", r.status, r.body)
	}
	src := html.UnescapeString(m[1])
	if !strings.HasPrefix(src, h.app.URL+frontchannelLogoutPath+"?") {
		t.Fatalf("iframe src = %q; want the app's front-channel logout URI", src)
	}
	if fr := h.browser().get(src); fr.status != http.StatusOK {
		t.Fatalf("front-channel logout frame = %d; want 200", fr.status)
	}
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
		t.Errorf("alice after signing out at Okta = %d; want 302", r.status)
	}
}

// TestFrontchannelMarkLimit: front-channel logout, unauthenticated, writes
// at most frontchannelBurst marks at once and frontchannelRate a second
// after that.
func TestFrontchannelMarkLimit(t *testing.T) {
	var l markLimiter
	t0 := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name    string
		at      time.Time
		tries   int
		allowed int
	}{
		{"a burst", t0, frontchannelBurst + 50, frontchannelBurst},
		{"at once again", t0, 5, 0},
		{"one second later", t0.Add(time.Second), 50, frontchannelRate},
		{"a minute later, a full burst", t0.Add(time.Minute + time.Second), frontchannelBurst + 1, frontchannelBurst},
		{"the clock stepped back a minute", t0.Add(time.Second), 5, 0},
		{"one second after the step back", t0.Add(2 * time.Second), 50, frontchannelRate},
	}
	for _, tt := range tests {
		n := 0
		for range tt.tries {
			if l.allow(tt.at) {
				n++
			}
		}
		if n != tt.allowed {
			t.Errorf("%s: %d of %d allowed; want %d", tt.name, n, tt.tries, tt.allowed)
		}
	}
}
