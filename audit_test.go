package oktasso

import (
	"bytes"
	"encoding/json"
	"github.com/oktasso/oktasso/audit"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// auditLog collects the JSON log records and OnEvent calls of an Auth.
type auditLog struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	events []audit.Event
}

func (l *auditLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *auditLog) onEvent(e audit.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// records returns the audit records (those with an "event") logged so far.
func (l *auditLog) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if line == "" || json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if _, ok := m["event"]; ok {
			out = append(out, m)
		}
	}
	return out
}

func TestAuditEvents(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Config)
		run    func(h *harness)
		event  string
		reason audit.Reason
	}{
		{"login", nil, func(h *harness) { h.login(h.browser(), alice, "/") }, audit.EventLogin, audit.ReasonOK},
		{"nonce", nil, func(h *harness) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["nonce"] = "x" })
			h.login(h.browser(), alice, "/")
		}, audit.EventLoginFailed, audit.ReasonNonceMismatch},
		{"issuer", nil, func(h *harness) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["iss"] = "https://evil.okta.com" })
			h.login(h.browser(), alice, "/")
		}, audit.EventLoginFailed, audit.ReasonIssuerMismatch},
		{"audience", nil, func(h *harness) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["aud"] = "0oaother" })
			h.login(h.browser(), alice, "/")
		}, audit.EventLoginFailed, audit.ReasonAudienceMismatch},
		{"signature", nil, func(h *harness) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Sign = oktatest.SignCorrupt })
			h.login(h.browser(), alice, "/")
		}, audit.EventLoginFailed, audit.ReasonSignatureInvalid},
		{"expired", nil, func(h *harness) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["exp"] = h.clock.Now().Add(-time.Hour).Unix() })
			h.login(h.browser(), alice, "/")
		}, audit.EventLoginFailed, audit.ReasonTokenExpired},
		{"userinfo subject", nil, func(h *harness) {
			h.fake.MutateUserInfo(func(c map[string]any) { c["sub"] = "00uOther" })
			h.login(h.browser(), alice, "/")
		}, audit.EventLoginFailed, audit.ReasonSubjectMismatch},
		{"state", nil, func(h *harness) {
			b := h.browser()
			b.get(setParam(h.authorize(b, alice, "/"), "state", "forged"))
		}, audit.EventLoginFailed, audit.ReasonStateMismatch},
		{"not assigned", func(c *Config) { c.Client.ID = bobOnlyClientID }, func(h *harness) { h.login(h.browser(), alice, "/") }, audit.EventLoginRefused, audit.ReasonNotAssigned},
		{"email domain", func(c *Config) { c.Access.SignIn = RequireEmailDomains("example.org") }, func(h *harness) { h.login(h.browser(), alice, "/") }, audit.EventLoginRefused, audit.ReasonEmailDomain},
		{"invalid client", func(c *Config) { c.Client.Secret = "wrong" }, func(h *harness) { h.login(h.browser(), alice, "/") }, audit.EventLoginFailed, audit.ReasonInvalidClient},
		{"not member", nil, func(h *harness) {
			b := h.browser()
			h.login(b, bob, "/")
			h.audit.reset()
			b.get(h.app.URL + "/workspace")
		}, audit.EventAccessDenied, audit.ReasonNotMember},
		{"logout", nil, func(h *harness) {
			b := h.browser()
			h.login(b, alice, "/")
			h.audit.reset()
			b.post(h.app.URL+LogoutPath, nil)
		}, audit.EventLogout, audit.ReasonOK},
		{"cross-site logout", nil, func(h *harness) {
			b := h.browser()
			b.origin = "https://evil.example"
			b.post(h.app.URL+LogoutPath, nil)
		}, audit.EventLogoutRefused, audit.ReasonCrossSite},
		{"refresh refused", func(c *Config) { c.Scopes = []string{"openid", "offline_access"} }, func(h *harness) {
			b := h.browser()
			h.login(b, alice, "/")
			h.fake.RotateRefreshTokens(true)
			var s session
			ck := h.sessionCookie(b)
			h.auth.cookies.openSessionValue(ck.Name, ck.Value, &s)
			form := url.Values{"token": {s.RefreshToken}}
			req, _ := http.NewRequest("POST", h.fake.Issuer()+"/oauth2/v1/revoke", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(testClientID, "test-secret")
			h.fake.Client().Do(req)
			h.audit.reset()
			h.clock.Add(56 * time.Minute)
			b.get(h.app.URL + "/webapp")
		}, audit.EventRefreshFailed, audit.ReasonRefreshRefused},
		{"token_type not Bearer", nil, func(h *harness) {
			h.fake.MutateTokenResponse(func(resp map[string]any) { resp["token_type"] = "mac" })
			h.login(h.browser(), alice, "/")
		}, audit.EventLoginFailed, audit.ReasonTokenInvalid},
		{"refresh with token_type not Bearer", func(c *Config) { c.Scopes = []string{"openid", "offline_access"} }, func(h *harness) {
			b := h.browser()
			h.login(b, alice, "/")
			h.audit.reset()
			h.fake.MutateTokenResponse(func(resp map[string]any) { resp["token_type"] = "mac" })
			h.clock.Add(56 * time.Minute)
			b.get(h.app.URL + "/webapp")
		}, audit.EventRefreshFailed, audit.ReasonRefreshRefused},
		{"back-channel", nil, func(h *harness) {
			h.fake.SendBackchannelLogout(true) // Okta sends none; other providers do
			h.login(h.browser(), alice, "/")
			h.audit.reset()
			h.fake.EndSession(alice)
		}, audit.EventBackchannelLogout, audit.ReasonOK},
		{"back-channel forged", nil, func(h *harness) {
			h.fake.SendBackchannelLogout(true)
			h.login(h.browser(), alice, "/")
			h.audit.reset()
			h.fake.MutateLogoutToken(func(tk *oktatest.Token) { tk.Sign = oktatest.SignCorrupt })
			h.fake.EndSession(alice)
		}, audit.EventBackchannelLogout, audit.ReasonLogoutTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &auditLog{}
			h := newHarness(t, func(c *Config) {
				c.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
				c.Hooks.OnEvent = log.onEvent
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			h.audit = log
			tt.run(h)
			recs := log.records(t)
			if len(recs) != 1 || recs[0]["event"] != tt.event || recs[0]["reason"] != string(tt.reason) {
				t.Fatalf("audit records = %v; want exactly one with event %s, reason %s", recs, tt.event, tt.reason)
			}
			log.mu.Lock()
			events := append([]audit.Event(nil), log.events...)
			all := log.buf.String()
			log.mu.Unlock()
			if len(events) != 1 || events[0].Name != tt.event || events[0].Reason != tt.reason {
				t.Errorf("OnEvent got %+v; want one %s/%s", events, tt.event, tt.reason)
			}
			for _, secret := range []string{"eyJ", "test-secret", "wrong"} {
				if strings.Contains(all, secret) && !(secret == "wrong" && tt.name != "invalid client") {
					t.Errorf("logs contain %q:\n%s", secret, all)
				}
			}
		})
	}
}

func (l *auditLog) reset() {
	l.mu.Lock()
	l.buf.Reset()
	l.events = nil
	l.mu.Unlock()
}
