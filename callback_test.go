package oktasso

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/oktatest"
	"golang.org/x/oauth2"
)

func TestLoginHappyPath(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	r := h.login(b, alice, "/workspace?tab=2")
	if r.status != http.StatusFound || r.location != h.app.URL+"/workspace?tab=2" {
		t.Fatalf("callback = %d to %q; want 302 to %s/workspace?tab=2", r.status, r.location, h.app.URL)
	}
	for _, hdr := range []struct{ name, want string }{{"Cache-Control", "no-store"}, {"Referrer-Policy", "no-referrer"}} {
		if got := r.header.Get(hdr.name); got != hdr.want {
			t.Errorf("callback %s = %q; want %q", hdr.name, got, hdr.want)
		}
	}
	if strings.Contains(r.location, "code=") || strings.Contains(r.location, "state=") {
		t.Errorf("landing URL %q carries code or state", r.location)
	}
	if got := b.get(h.app.URL + "/workspace").body; got != "user:"+alice {
		t.Errorf("GET /workspace after sign-in = %q; want user:%s", got, alice)
	}
	for _, c := range b.client.Jar.Cookies(mustURL(t, h.app.URL)) {
		if h.auth.isFlowCookie(c.Name) {
			t.Errorf("flow cookie %s still set after the callback", c.Name)
		}
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestIDTokenRules runs the sign-in with one ID-token defect at a time:
// each must end in a 4xx page, without a session.
func TestIDTokenRules(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name   string
		mutate func(*oktatest.Token)
		ok     bool
	}{
		{"valid token", func(*oktatest.Token) {}, true},
		{"iss of another issuer", func(tk *oktatest.Token) { tk.Claims["iss"] = "https://evil.okta.com" }, false},
		{"iss with trailing slash", func(tk *oktatest.Token) { tk.Claims["iss"] = h.fake.Issuer() + "/" }, false},
		{"aud of another client", func(tk *oktatest.Token) { tk.Claims["aud"] = "0oaother" }, false},
		{"several audiences, no azp", func(tk *oktatest.Token) { tk.Claims["aud"] = []string{testClientID, "0oaother"} }, false},
		{"several audiences, azp ours", func(tk *oktatest.Token) {
			tk.Claims["aud"] = []string{testClientID, "0oaother"}
			tk.Claims["azp"] = testClientID
		}, true},
		{"azp of another client", func(tk *oktatest.Token) { tk.Claims["azp"] = "0oaother" }, false},
		{"expired", func(tk *oktatest.Token) { tk.Claims["exp"] = h.clock.Now().Add(-time.Minute).Unix() }, false},
		{"iat in the future", func(tk *oktatest.Token) { tk.Claims["iat"] = h.clock.Now().Add(time.Hour).Unix() }, false},
		{"no iat", func(tk *oktatest.Token) { delete(tk.Claims, "iat") }, false},
		{"no sub", func(tk *oktatest.Token) { delete(tk.Claims, "sub") }, false},
		{"nonce of another flow", func(tk *oktatest.Token) { tk.Claims["nonce"] = otherFirstByte(tk.Claims["nonce"].(string)) }, false},
		{"no nonce", func(tk *oktatest.Token) { delete(tk.Claims, "nonce") }, false},
		{"at_hash wrong", func(tk *oktatest.Token) { tk.Claims["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }, false},
		{"signed by an unknown key", func(tk *oktatest.Token) { tk.Sign = oktatest.SignUnknownKey }, false},
		{"signed by another key with our kid", func(tk *oktatest.Token) { tk.Sign = oktatest.SignWrongKeySameKid }, false},
		{"alg none", func(tk *oktatest.Token) { tk.Sign = oktatest.SignNone }, false},
		{"alg NONE", func(tk *oktatest.Token) { tk.Sign = oktatest.SignNone; tk.Header["alg"] = "NONE" }, false},
		{"HS256 keyed with the public key", func(tk *oktatest.Token) { tk.Sign = oktatest.SignHS256PublicKey }, false},
		{"signature corrupted", func(tk *oktatest.Token) { tk.Sign = oktatest.SignCorrupt }, false},
		{"no kid, JWKS has several keys", func(tk *oktatest.Token) { delete(tk.Header, "kid") }, false},
		{"jku header ignored", func(tk *oktatest.Token) { tk.Header["jku"] = "https://evil.example/keys" }, true},
		{"events claim (a logout token's)", func(tk *oktatest.Token) {
			tk.Claims["events"] = map[string]any{backchannelEvent: map[string]any{}}
		}, false},
		{"events claim null", func(tk *oktatest.Token) { tk.Claims["events"] = nil }, false},
		{"typ logout+jwt", func(tk *oktatest.Token) { tk.Header["typ"] = "logout+jwt" }, false},
		{"typ at+jwt", func(tk *oktatest.Token) { tk.Header["typ"] = "at+jwt" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.fake.MutateIDToken(tt.mutate)
			defer h.fake.MutateIDToken(nil)
			b := h.browser()
			r := h.login(b, alice, "/workspace")
			if tt.ok {
				if r.status != http.StatusFound || h.sessionCookie(b) == nil {
					t.Fatalf("callback = %d %.200s; want 302 with a session", r.status, r.body)
				}
				return
			}
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "could not be verified") {
				t.Errorf("callback = %d %.300s; want 400 'could not be verified'", r.status, r.body)
			}
			if h.sessionCookie(b) != nil {
				t.Error("a session was issued for a rejected token")
			}
		})
	}
}

// TestTokenTypeMustBeBearer: a token response whose token_type is not
// Bearer (in any case) fails the sign-in with a 4xx page before userinfo
// is called.
func TestTokenTypeMustBeBearer(t *testing.T) {
	h := newHarness(t, nil)
	var userinfoCalls atomic.Int32
	h.fake.MutateUserInfo(func(map[string]any) { userinfoCalls.Add(1) })
	for _, tt := range []struct {
		tokenType any // nil: left out
		ok        bool
	}{
		{"Bearer", true}, {"bearer", true}, {"BEARER", true},
		{"mac", false}, {"DPoP", false}, {"N_A", false}, {"", false}, {nil, false},
	} {
		t.Run(fmt.Sprint(tt.tokenType), func(t *testing.T) {
			h.fake.MutateTokenResponse(func(resp map[string]any) {
				if tt.tokenType == nil {
					delete(resp, "token_type")
				} else {
					resp["token_type"] = tt.tokenType
				}
			})
			defer h.fake.MutateTokenResponse(nil)
			before := userinfoCalls.Load()
			b := h.browser()
			r := h.login(b, alice, "/")
			if tt.ok {
				if r.status != http.StatusFound || h.sessionCookie(b) == nil {
					t.Errorf("callback with token_type %q = %d; want 302 with a session", tt.tokenType, r.status)
				}
				return
			}
			if r.status != http.StatusBadRequest || h.sessionCookie(b) != nil {
				t.Errorf("callback with token_type %v = %d, session %v; want 400 and no session", tt.tokenType, r.status, h.sessionCookie(b) != nil)
			}
			if n := userinfoCalls.Load() - before; n != 0 {
				t.Errorf("callback with token_type %v called userinfo %d times; want 0", tt.tokenType, n)
			}
		})
	}
}

func TestCheckTokenType(t *testing.T) {
	for _, tt := range []struct {
		tokenType string
		plain, ok bool
	}{
		{"Bearer", false, true}, {"bEaReR", false, true}, {"", false, false}, {"mac", false, false},
		{"bearer", true, true}, {"", true, true}, {"mac", true, false}, {"Bearer ", true, false},
	} {
		err := checkTokenType(&oauth2.Token{AccessToken: "at", TokenType: tt.tokenType}, tt.plain)
		if (err == nil) != tt.ok {
			t.Errorf("checkTokenType(%q, plain %v) = %v; want ok %v", tt.tokenType, tt.plain, err, tt.ok)
		}
		if te, isTE := errors.AsType[*TokenError](err); err != nil && (!isTE || te.Reason != audit.ReasonTokenInvalid) {
			t.Errorf("checkTokenType(%q) = %v; want a token_invalid TokenError", tt.tokenType, err)
		}
	}
}

func TestMaxAgeRequiresAuthTime(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.MutateIDToken(func(tk *oktatest.Token) { delete(tk.Claims, "auth_time") })
	b := h.browser()
	h.fake.AutoLogin(alice)
	r := b.get(h.app.URL + loginPath + "?max_age=300")
	r = b.get(b.get(r.location).location)
	if r.status != http.StatusBadRequest {
		t.Errorf("callback with max_age and no auth_time = %d; want 400", r.status)
	}
}

func TestCallbackRejectedBeforeTokenCall(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name string
		// callback turns a genuine callback URL into the one visited.
		callback func(b *browser, genuine string) string
		want     int
	}{
		{"no state", func(_ *browser, g string) string { return dropParam(g, "state") }, http.StatusBadRequest},
		{"state of no flow", func(_ *browser, g string) string { return setParam(g, "state", "forged") }, http.StatusBadRequest},
		{"oversized state", func(_ *browser, g string) string { return setParam(g, "state", strings.Repeat("s", 5000)) }, http.StatusBadRequest},
		{"flow cookie from another browser", func(_ *browser, g string) string { return g }, http.StatusBadRequest},
		{"iss parameter wrong", func(_ *browser, g string) string { return setParam(g, "iss", "https://evil.example") }, http.StatusBadRequest},
		{"iss parameter twice", func(_ *browser, g string) string { return g + "&iss=a&iss=b" }, http.StatusBadRequest},
		{"no code", func(_ *browser, g string) string { return dropParam(g, "code") }, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.browser()
			genuine := h.authorize(b, alice, "/")
			visitor := b
			if strings.HasPrefix(tt.name, "flow cookie") {
				visitor = h.browser()
			}
			before := h.fake.TokenRequests()
			r := visitor.get(tt.callback(b, genuine))
			if r.status != tt.want {
				t.Errorf("callback = %d %.200s; want %d", r.status, r.body, tt.want)
			}
			if n := h.fake.TokenRequests() - before; n != 0 {
				t.Errorf("token endpoint called %d times; want 0", n)
			}
			if h.sessionCookie(visitor) != nil {
				t.Error("session issued")
			}
		})
	}
}

func TestCallbackReplay(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	genuine := h.authorize(b, alice, "/")
	// Keep the flow cookie as an attacker would, then use the callback once.
	jarCopy := b.client.Jar.Cookies(mustURL(t, h.app.URL))
	if r := b.get(genuine); r.status != http.StatusFound {
		t.Fatalf("first callback = %d; want 302", r.status)
	}
	before := h.fake.TokenRequests()
	for _, replayer := range []*browser{b, h.browser()} {
		replayer.client.Jar.SetCookies(mustURL(t, h.app.URL), jarCopy)
		if r := replayer.get(genuine); r.status != http.StatusBadRequest {
			t.Errorf("replayed callback = %d; want 400", r.status)
		}
	}
	if n := h.fake.TokenRequests() - before; n != 0 {
		t.Errorf("replays reached the token endpoint %d times; want 0", n)
	}
}

func TestIssParameter(t *testing.T) {
	t.Run("correct iss accepted", func(t *testing.T) {
		h := newHarness(t, nil)
		b := h.browser()
		if r := b.get(setParam(h.authorize(b, alice, "/"), "iss", h.fake.Issuer())); r.status != http.StatusFound {
			t.Errorf("callback with the right iss = %d; want 302", r.status)
		}
	})
	t.Run("absent while metadata advertises it", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.MutateDiscovery(func(d map[string]any) { d["authorization_response_iss_parameter_supported"] = true })
		h.restart()
		b := h.browser()
		before := h.fake.TokenRequests()
		if r := b.get(h.authorize(b, alice, "/")); r.status != http.StatusBadRequest {
			t.Errorf("callback without iss = %d; want 400", r.status)
		}
		if h.fake.TokenRequests() != before {
			t.Error("token endpoint called")
		}
	})
}

func TestProviderErrorPage(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	genuine := h.authorize(b, alice, "/")
	u := mustURL(t, genuine)
	q := url.Values{"state": {u.Query().Get("state")}, "error": {"access_denied"},
		"error_description": {`User is not assigned to the client application.<script>alert(1)</script>`}}
	r := b.get(h.app.URL + CallbackPath + "?" + q.Encode())
	if r.status != http.StatusForbidden {
		t.Fatalf("access_denied callback = %d; want 403", r.status)
	}
	for _, want := range []string{"User is not assigned to the client application.", "&lt;script&gt;", "Ask your Okta administrator to assign you"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("error page lacks %q:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "<script>") {
		t.Error("error page shows unescaped markup")
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("error page headers = %v; want no-store and no-referrer", r.header)
	}
}

func TestUnassignedUser(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Client.ID = bobOnlyClientID })
	b := h.browser()
	r := h.login(b, alice, "/")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "not assigned") || !strings.Contains(r.body, "administrator") {
		t.Errorf("unassigned user's callback = %d %.300s; want 403 saying not assigned, ask the administrator", r.status, r.body)
	}
	if h.sessionCookie(b) != nil {
		t.Error("session issued to an unassigned user")
	}
}

func TestOnLoginHook(t *testing.T) {
	tests := []struct {
		name       string
		hook       func(context.Context, *User, *oauth2.Token) error
		status     int
		bodyHas    string
		bodyHasNot string
		workspace  int // status of GET /workspace afterwards
	}{
		// Provisioning only: Internal is the Workspace policy's to decide,
		// so bob (external) stays out of the workspace.
		{"provisions, cannot promote", func(_ context.Context, u *User, _ *oauth2.Token) error {
			if u.Issuer == "" || !strings.HasPrefix(u.Subject, "00u") || u.Email != bob || u.Internal {
				return fmt.Errorf("hook got %+v", u)
			}
			u.LocalID, u.Internal = "acct-42", true
			return nil
		}, http.StatusFound, "", "", http.StatusForbidden},
		{"refuses with a reason", func(context.Context, *User, *oauth2.Token) error {
			return &Error{Code: "access_denied", Description: "Your trial has ended."}
		}, http.StatusForbidden, "Your trial has ended.", "", http.StatusFound},
		{"refuses generically", func(context.Context, *User, *oauth2.Token) error {
			return fmt.Errorf("not in members table: %w", ErrAccessDenied)
		}, http.StatusForbidden, "Access denied", "members table", http.StatusFound},
		{"fails", func(context.Context, *User, *oauth2.Token) error {
			return errors.New("database is down at 10.0.0.5")
		}, http.StatusInternalServerError, "Sign-in failed", "10.0.0.5", http.StatusFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Hooks.OnLogin = tt.hook })
			b := h.browser()
			r := h.login(b, bob, "/workspace")
			if r.status != tt.status || !strings.Contains(r.body, tt.bodyHas) || (tt.bodyHasNot != "" && strings.Contains(r.body, tt.bodyHasNot)) {
				t.Errorf("callback = %d %.300s; want %d with %q and without %q", r.status, r.body, tt.status, tt.bodyHas, tt.bodyHasNot)
			}
			if got := b.get(h.app.URL + "/workspace").status; got != tt.workspace {
				t.Errorf("GET /workspace afterwards = %d; want %d", got, tt.workspace)
			}
		})
	}
}

func setParam(raw, k, v string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

func dropParam(raw, k string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Del(k)
	u.RawQuery = q.Encode()
	return u.String()
}

// FuzzCallback sends arbitrary query strings to the callback, with a real
// pending flow in the browser: no input may cause a 5xx or a session.
func FuzzCallback(f *testing.F) {
	h := newHarness(f, nil)
	b := h.browser()
	genuine := mustURL(f, h.authorize(b, alice, "/"))
	state := genuine.Query().Get("state")
	f.Add("state=" + state + "&code=forged")
	f.Add("state=" + state + "&error=access_denied&error_description=%3Cb%3Ex")
	f.Add("state=" + state + "&error=unmet_authentication_requirements&error_description=x")
	f.Add("state=" + state + "&error=login_required")
	f.Add("state=" + state + "&iss=https%3A%2F%2Fevil&code=x")
	f.Add("state=&code=")
	f.Add("%zz&state=" + state)
	f.Add("state=" + state + "&state=other&code=x")
	flowCookies := b.client.Jar.Cookies(mustURL(f, h.app.URL))
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest("GET", "/auth/callback", nil)
		req.URL.RawQuery = rawQuery
		for _, c := range flowCookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.auth.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusBadGateway {
			t.Fatalf("callback?%s = %d; want 4xx", rawQuery, rec.Code)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == h.auth.cookies.sessionName() && c.MaxAge >= 0 {
				t.Fatalf("callback?%s issued a session", rawQuery)
			}
		}
	})
}

// Regression tests for the findings of the security review.

func TestManyGroupsStillSignIn(t *testing.T) {
	var groups []string
	for i := 0; i < 100; i++ {
		groups = append(groups, fmt.Sprintf("department-%03d-with-a-long-name", i))
	}
	h := newHarness(t, func(c *Config) { c.Access.WebApp = RequireGroups("department-042-with-a-long-name") })
	h.fake.SetGroupsClaimLimit(0) // past Okta's 100: as from a provider without the limit
	h.fake.AddUser(oktatest.User{Login: "many@example.com", Password: "p", Groups: append(groups, "Workspace Members")})
	b := h.browser()
	if r := h.login(b, "many@example.com", "/webapp"); r.status != http.StatusFound {
		t.Fatalf("sign-in with 101 groups = %d %.200s; want 302", r.status, r.body)
	}
	for _, path := range []string{"/workspace", "/webapp"} {
		if r := b.get(h.app.URL + path); r.status != http.StatusOK {
			t.Errorf("GET %s with trimmed groups = %d; want 200 (policy groups kept)", path, r.status)
		}
	}
}

func TestIssCheckedBeforeErrorResponse(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	state := mustURL(t, h.authorize(b, alice, "/")).Query().Get("state")
	q := url.Values{"state": {state}, "error": {"access_denied"}, "error_description": {"Call the evil helpdesk"}, "iss": {"https://evil.example"}}
	r := b.get(h.app.URL + CallbackPath + "?" + q.Encode())
	if r.status != http.StatusBadRequest || strings.Contains(r.body, "evil helpdesk") {
		t.Errorf("error response with a foreign iss = %d, shows description=%v; want 400 without it", r.status, strings.Contains(r.body, "evil helpdesk"))
	}
}

func TestOversizedErrorCode(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	state := mustURL(t, h.authorize(b, alice, "/")).Query().Get("state")
	r := b.get(h.app.URL + CallbackPath + "?" + url.Values{"state": {state}, "error": {strings.Repeat("e", 100)}}.Encode())
	if r.status != http.StatusBadRequest || strings.Contains(r.body, "eeee") {
		t.Errorf("callback with a 100-byte error code = %d; want 400 without echoing it", r.status)
	}
}

func TestProviderDownMidSignIn(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	cb := h.authorize(b, alice, "/")
	h.fake.SetDown(true)
	if r := b.get(cb); r.status != http.StatusBadGateway || !strings.Contains(r.body, "not reachable") {
		t.Errorf("callback while Okta is down = %d %.200s; want 502 'not reachable'", r.status, r.body)
	}
}

func TestOnLoginSeesClaimsAndTokens(t *testing.T) {
	var got *User
	var tok *oauth2.Token
	h := newHarness(t, func(c *Config) {
		c.Hooks.OnLogin = func(_ context.Context, u *User, t *oauth2.Token) error {
			got, tok = u, t
			return nil
		}
	})
	h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["tenant"] = "acme" })
	b := h.browser()
	if r := h.login(b, alice, "/"); r.status != http.StatusFound {
		t.Fatalf("sign-in = %d", r.status)
	}
	if got == nil || got.Claims["tenant"] != "acme" || got.Claims["ver"] == nil || got.Claims["idp"] == nil || got.Claims["sub"] != got.Subject {
		t.Errorf("OnLogin claims = %v; want every ID-token claim, custom ones included", got.Claims)
	}
	if tok == nil || tok.AccessToken == "" || tok.Extra("id_token") == nil {
		t.Errorf("OnLogin token = %v; want the token response", tok)
	}
	// Claims are not kept in the session.
	var s session
	ck := h.sessionCookie(b)
	if err := h.auth.cookies.openSessionValue(ck.Name, ck.Value, &s); err != nil || s.user().Claims != nil {
		t.Errorf("session user claims = %v, %v; want none kept", s.user().Claims, err)
	}
}

// otherFirstByte returns s with its first byte changed (never to itself:
// a random nonce starts with any character).
func otherFirstByte(s string) string {
	if s[0] == 'x' {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}

// TestUserInfoFailures breaks the userinfo endpoint after a good code
// exchange. By default the sign-in completes on the ID token's claims, with
// a warning and the audit reason userinfo_unavailable; with
// Access.RequireUserInfo the person gets a 4xx page offering to sign in
// again. Never a 5xx.
func TestUserInfoFailures(t *testing.T) {
	html := []byte("<html><body>Service Unavailable</body></html>")
	faults := []struct {
		name  string
		fault oktatest.Fault
	}{
		{"401", oktatest.Fault{Status: 401, Body: []byte(`{"error":"invalid_token"}`)}},
		{"403", oktatest.Fault{Status: 403, Body: []byte(`{"error":"insufficient_scope"}`)}},
		{"500", oktatest.Fault{Status: 500, Body: []byte(`{}`)}},
		{"503 HTML", oktatest.Fault{Status: 503, Body: html, ContentType: "text/html"}},
		{"timeout", oktatest.Fault{Delay: 3 * time.Second}},
		{"huge", oktatest.Fault{Body: []byte(`{"sub":"`), HugeBody: 8 << 20}},
		{"not JSON", oktatest.Fault{Status: 200, Body: []byte(`eyJhbGciOiJSUzI1NiJ9.e30.sig`), ContentType: "application/jwt"}},
	}
	for _, required := range []bool{false, true} {
		for _, f := range faults {
			name := f.name
			if required {
				name += " required"
			}
			t.Run(name, func(t *testing.T) {
				var mu sync.Mutex
				var events []audit.Event
				var logs bytes.Buffer
				h := newHarness(t, func(c *Config) {
					c.HTTPClient = &http.Client{Timeout: 500 * time.Millisecond}
					c.Access.RequireUserInfo = required
					c.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &mu}, nil))
					c.Hooks.OnEvent = func(ev audit.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }
				})
				h.fake.Fault("userinfo", f.fault)
				b := h.browser()
				r := h.login(b, alice, "/webapp")
				if r.status >= 500 {
					t.Fatalf("callback = %d %.200s; want no 5xx", r.status, r.body)
				}
				mu.Lock()
				last, logged := events[len(events)-1], logs.String()
				mu.Unlock()
				if last.Reason != audit.ReasonUserInfoUnavailable {
					t.Errorf("audit event = %+v; want reason %s", last, audit.ReasonUserInfoUnavailable)
				}
				if !required {
					if r.status != http.StatusFound || r.location != h.app.URL+"/webapp" || h.sessionCookie(b) == nil {
						t.Fatalf("callback = %d to %q, session=%v; want 302 to /webapp with a session", r.status, r.location, h.sessionCookie(b) != nil)
					}
					if got := b.get(h.app.URL + "/webapp"); got.body != "user:"+alice {
						t.Errorf("GET /webapp = %q; want the ID token's user %q", got.body, "user:"+alice)
					}
					if last.Name != audit.EventLogin || !strings.Contains(logged, "level=WARN msg=\"oktasso: login\"") {
						t.Errorf("event %+v, logs:\n%s\nwant a login event logged as a warning", last, logged)
					}
					return
				}
				if r.status != http.StatusBadRequest || h.sessionCookie(b) != nil {
					t.Errorf("callback = %d, session=%v; want 400 and no session", r.status, h.sessionCookie(b) != nil)
				}
				if !strings.Contains(r.body, `href="`+h.app.URL+loginPath+`"`) || !strings.Contains(r.body, "Sign in again") {
					t.Errorf("page lacks a link to sign in again:\n%s", r.body)
				}
				if last.Name != audit.EventLoginFailed {
					t.Errorf("audit event = %+v; want %s", last, audit.EventLoginFailed)
				}
			})
		}
	}
}

// TestUserInfoSubjectMismatchRefused: userinfo about another subject is a
// refusal whether userinfo is required or not.
func TestUserInfoSubjectMismatchRefused(t *testing.T) {
	for _, required := range []bool{false, true} {
		h := newHarness(t, func(c *Config) { c.Access.RequireUserInfo = required })
		h.fake.MutateUserInfo(func(c map[string]any) { c["sub"] = "00uSomeoneElse" })
		b := h.browser()
		if r := h.login(b, alice, "/"); r.status != http.StatusBadRequest || h.sessionCookie(b) != nil {
			t.Errorf("required=%v: callback with userinfo for another sub = %d, session=%v; want 400 and no session", required, r.status, h.sessionCookie(b) != nil)
		}
	}
}

// TestUserInfoRequiredWithoutEndpoint: a provider without a userinfo
// endpoint cannot satisfy RequireUserInfo; by default the ID token is
// enough.
func TestUserInfoRequiredWithoutEndpoint(t *testing.T) {
	for _, required := range []bool{false, true} {
		h := newHarness(t, func(c *Config) { c.Access.RequireUserInfo = required })
		h.fake.MutateDiscovery(func(m map[string]any) { delete(m, "userinfo_endpoint") })
		h.restart()
		b := h.browser()
		r := h.login(b, alice, "/")
		signedIn := h.sessionCookie(b) != nil
		if required && (r.status != http.StatusBadRequest || signedIn) {
			t.Errorf("required, no userinfo endpoint: callback = %d, session=%v; want 400 and no session", r.status, signedIn)
		}
		if !required && (r.status != http.StatusFound || !signedIn) {
			t.Errorf("no userinfo endpoint: callback = %d, session=%v; want 302 and a session", r.status, signedIn)
		}
	}
}

// syncWriter serialises writes to w with mu.
type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestProviderRefusalPages drives the callback with the errors Okta sends
// when it cannot authenticate the user as asked: each gets its own page,
// status and audit reason, ends the flow and issues no session.
func TestProviderRefusalPages(t *testing.T) {
	tests := []struct {
		name     string
		err      string
		status   int
		reason   audit.Reason
		says     []string
		notSays  []string
		retryURL bool // "Sign in again" returns to the page that asked
	}{
		{"unmet requirements", "unmet_authentication_requirements", http.StatusForbidden, audit.ReasonUnmetRequirements,
			[]string{"did not meet this page&#39;s security requirements", "Try again with a stronger method", "ask your Okta administrator"},
			[]string{"did not complete the sign-in", "Okta says"}, true},
		{"login required", "login_required", http.StatusForbidden, audit.ReasonInteractionRequired,
			[]string{"Okta needs you to sign in", "Sign in again"}, []string{"did not complete the sign-in"}, true},
		{"interaction required", "interaction_required", http.StatusForbidden, audit.ReasonInteractionRequired,
			[]string{"Okta needs you to sign in"}, nil, true},
		{"consent required", "consent_required", http.StatusForbidden, audit.ReasonInteractionRequired,
			[]string{"Okta needs you to sign in"}, nil, true},
		{"another error stays generic", "server_error", http.StatusBadRequest, audit.ReasonProviderError,
			[]string{"Okta did not complete the sign-in", "Okta says"}, []string{"security requirements"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &auditLog{}
			h := newHarness(t, func(c *Config) {
				c.Logger = slog.New(slog.NewJSONHandler(log, nil))
				c.Hooks.OnEvent = log.onEvent
			})
			var tokenCalls atomic.Int32
			h.fake.MutateTokenResponse(func(map[string]any) { tokenCalls.Add(1) })
			b := h.browser()
			h.login(b, alice, "/")
			before := h.sessionCookie(b).Value
			calls := tokenCalls.Load()
			mux := *h.handler.Load()
			mux.Handle("/admin", h.auth.RequireStepUp(ACRValues("phr"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))

			r := b.get(h.app.URL + "/admin")
			state := mustQuery(t, r.location).Get("state")
			if r.status != http.StatusFound || state == "" {
				t.Fatalf("GET /admin = %d to %s; want a step-up redirect", r.status, r.location)
			}
			log.reset()
			q := url.Values{"state": {state}, "error": {tt.err}, "error_description": {"Okta says: " + tt.err}}
			r = b.get(h.app.URL + CallbackPath + "?" + q.Encode())
			if r.status != tt.status {
				t.Fatalf("callback with error=%s = %d; want %d", tt.err, r.status, tt.status)
			}
			for _, s := range tt.says {
				if !strings.Contains(r.body, s) {
					t.Errorf("page lacks %q:\n%s", s, r.body)
				}
			}
			for _, s := range tt.notSays {
				if strings.Contains(r.body, s) {
					t.Errorf("page says %q:\n%s", s, r.body)
				}
			}
			retry := `href="` + html.EscapeString(h.auth.LoginURL("/admin")) + `"`
			if strings.Contains(r.body, retry) != tt.retryURL {
				t.Errorf("page links %s: %v; want %v", retry, strings.Contains(r.body, retry), tt.retryURL)
			}
			recs := log.records(t)
			if len(recs) != 1 || recs[0]["event"] != audit.EventLoginRefused || recs[0]["reason"] != string(tt.reason) {
				t.Errorf("audit = %v; want one login_refused/%s", recs, tt.reason)
			}
			flowCleared := false
			for _, c := range r.header.Values("Set-Cookie") {
				if strings.HasPrefix(c, h.auth.flowCookieName(state)+"=;") && strings.Contains(c, "Max-Age=0") {
					flowCleared = true
				}
				if strings.HasPrefix(c, h.auth.cookies.sessionName()+"=") {
					t.Errorf("callback set the session cookie: %s", c)
				}
			}
			if !flowCleared {
				t.Errorf("flow cookie not cleared: %v", r.header.Values("Set-Cookie"))
			}
			if h.sessionCookie(b).Value != before || tokenCalls.Load() != calls {
				t.Error("the refused callback changed the session or called the token endpoint")
			}
			// The state is spent: the same answer again is a bad callback.
			if r := b.get(h.app.URL + CallbackPath + "?" + q.Encode()); r.status != http.StatusBadRequest || !strings.Contains(r.body, "does not match a sign-in") {
				t.Errorf("replayed refusal = %d; want the 400 bad-callback page", r.status)
			}
		})
	}
}

// TestPromptNoneRefusedByTheFake: against the fake as it is, a sign-in the
// application starts with prompt=none, without an Okta session, ends on the
// interaction page (not the guards' quiet fallback).
func TestPromptNoneRefusedByTheFake(t *testing.T) {
	h := newHarness(t, nil)
	mux := *h.handler.Load()
	mux.HandleFunc("/quiet", func(w http.ResponseWriter, r *http.Request) { h.auth.StartLogin(w, r, "/here", Prompt("none")) })
	h.fake.AutoLogin("")
	b := h.browser()
	r := b.get(h.app.URL + "/quiet")
	r = b.get(r.location) // the fake: login_required
	if !strings.Contains(r.location, "error=login_required") {
		t.Fatalf("fake answered %s; want login_required", r.location)
	}
	r = b.get(r.location)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "Okta needs you to sign in") || h.sessionCookie(b) != nil {
		t.Fatalf("callback = %d %.300s; want the 403 interaction page and no session", r.status, r.body)
	}
}
