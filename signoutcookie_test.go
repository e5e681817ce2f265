package oktasso

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// maxRequestCookieBytes is what a typical Okta user's session may add to
// every request: the Cookie header the browser sends to any path but the
// sign-out path (issue 21).
const maxRequestCookieBytes = 700

// TestRequestCookieSize signs in, through the fake Okta, a user in a
// handful of groups and measures the real Set-Cookie values of the
// callback: the cookies sent with every request (Path=/) take at most
// maxRequestCookieBytes as the browser sends them, over http and over
// https (where the names gain the "__Host-" prefix), and the raw ID token
// travels only in the sign-out cookie, scoped to the sign-out path.
func TestRequestCookieSize(t *testing.T) {
	h := newHarness(t, nil)
	carol := h.fake.AddUser(oktatest.User{
		Login: "carol.danvers@example.com", Password: "pw", FirstName: "Carol", LastName: "Danvers",
		Groups: []string{"Workspace Members", "Engineering", "Platform Team", "VPN Users", "GitHub Admins"},
	})
	b := h.browser()
	r := h.login(b, carol.Login, "/workspace")
	if r.status != http.StatusFound {
		t.Fatalf("callback = %d; want 302", r.status)
	}
	resp := http.Response{Header: r.header}
	perRequest, hostPrefixes := 0, 0
	var hint *http.Cookie
	for _, c := range resp.Cookies() {
		switch {
		case c.MaxAge < 0:
			// deletions (the flow cookie) are not sent back
		case c.Path == "/":
			if perRequest > 0 {
				perRequest += len("; ")
			}
			perRequest += len(c.Name) + 1 + len(c.Value)
			hostPrefixes++
		case c.Name == h.auth.cookies.hintName:
			hint = c
		default:
			t.Errorf("cookie %s with Path %q; want Path=/ or the sign-out cookie", c.Name, c.Path)
		}
	}
	https := perRequest + hostPrefixes*len("__Host-")
	t.Logf("the Cookie header of every request: %d bytes over http, %d over https (%d groups); sign-out cookie: %d bytes", perRequest, https, len(carol.Groups)+1, len(hint.String()))
	if perRequest == 0 || https > maxRequestCookieBytes {
		t.Errorf("session cookies sent with every request = %d bytes (%d over https); want 1..%d", perRequest, https, maxRequestCookieBytes)
	}
	if hint == nil || hint.Path != LogoutPath || !hint.HttpOnly || hint.SameSite != http.SameSiteLaxMode {
		t.Fatalf("sign-out cookie = %v; want HttpOnly, SameSite=Lax, Path=%s", hint, LogoutPath)
	}
	// What the browser sends the app (the jar also holds the fake Okta's
	// cookie: same host, another port).
	sent := 0
	for _, c := range b.client.Jar.Cookies(mustURL(t, h.app.URL+"/workspace")) {
		if strings.HasPrefix(c.Name, h.auth.cookies.sessionName()) {
			sent += len(c.Name) + 1 + len(c.Value)
		}
		if c.Name == hint.Name {
			t.Errorf("the browser sends the sign-out cookie to /workspace")
		}
	}
	if sent != perRequest {
		t.Errorf("the browser sends %d bytes of cookies to /workspace; want %d", sent, perRequest)
	}
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
		t.Errorf("GET /workspace with the small cookie = %d; want 200", r.status)
	}
}

// TestSignOutCookieSecure: over https the sign-out cookie is Secure with
// the "__Secure-" prefix (a "__Host-" cookie must have Path=/), and its
// path follows the base URL's path.
func TestSignOutCookieSecure(t *testing.T) {
	c, err := cookiesFor(Config{Issuer: "https://dev-1.okta.com", BaseURL: "https://app.example.com/portal", Session: SessionConfig{MaxCookies: 2}}, true)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := c.writeSession(rec, testSession(time.Now()), time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	set := map[string]*http.Cookie{}
	for _, ck := range rec.Result().Cookies() {
		set[ck.Name] = ck
	}
	if ck := set["__Host-oktasso"]; ck == nil || !ck.Secure || ck.Path != "/" {
		t.Errorf("session cookie = %v; want __Host-oktasso, Secure, Path=/", ck)
	}
	if ck := set["__Secure-oktasso-logout-hint"]; ck == nil || !ck.Secure || ck.Path != "/portal"+LogoutPath || ck.MaxAge <= 0 {
		t.Errorf("sign-out cookie = %v; want __Secure-oktasso-logout-hint, Secure, Path=/portal%s, a Max-Age", ck, LogoutPath)
	}
}

// TestLogoutSendsHintFromSignOutCookie: the session cookie carries no ID
// token, and sign-out still sends Okta the ID token of the sign-in as
// id_token_hint, read from the sign-out cookie. A browser without that
// cookie, or with the sign-out cookie of another session, signs out
// locally only (no token of another session is ever sent).
func TestLogoutSendsHintFromSignOutCookie(t *testing.T) {
	h := newHarness(t, nil)
	signIn := func() (*browser, *http.Cookie) {
		b := h.browser()
		h.login(b, alice, "/")
		var hint *http.Cookie
		for _, c := range b.client.Jar.Cookies(mustURL(t, h.app.URL+LogoutPath)) {
			if c.Name == h.auth.cookies.hintName {
				hint = c
			}
		}
		if hint == nil {
			t.Fatal("no sign-out cookie after sign-in")
		}
		return b, hint
	}
	b, hint := signIn()
	ck := h.sessionCookie(b)
	if s, _, err := h.auth.cookies.openSessionHot(ck.Name, ck.Value); err != nil || s.hasIDToken() || strings.Contains(ck.Value, ".") {
		t.Fatalf("session cookie = %+v, %v; want a one-part value without the ID token", s, err)
	}
	r := b.post(h.app.URL+LogoutPath, nil)
	hintSent := mustURL(t, r.location).Query().Get("id_token_hint")
	if r.status != http.StatusSeeOther || hintSent == "" {
		t.Fatalf("POST /auth/logout = %d to %q; want 303 to Okta with id_token_hint", r.status, r.location)
	}
	parts := strings.Split(hintSent, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[min(1, len(parts)-1)])
	var claims struct {
		Aud string `json:"aud"`
		Sub string `json:"sub"`
	}
	if len(parts) != 3 || json.Unmarshal(payload, &claims) != nil || claims.Aud != testClientID || claims.Sub == "" {
		t.Errorf("id_token_hint = %.40q…; want alice's ID token for %s", hintSent, testClientID)
	}
	cleared := false
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		cleared = cleared || (c.Name == h.auth.cookies.hintName && c.MaxAge < 0 && c.Path == LogoutPath)
	}
	if !cleared {
		t.Error("sign-out did not delete the sign-out cookie")
	}

	// Without the sign-out cookie, and with another session's.
	_, otherHint := signIn()
	for _, tt := range []struct {
		name string
		hint *http.Cookie
	}{{"none", nil}, {"another session's", otherHint}, {"tampered", &http.Cookie{Name: hint.Name, Value: hint.Value[:len(hint.Value)-2] + "AA"}}} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := signIn()
			req, _ := http.NewRequest("POST", h.app.URL+LogoutPath, nil)
			req.Header.Set("Origin", h.app.URL)
			req.Header.Set("Cookie", h.cookieHeader(b))
			if tt.hint != nil {
				req.Header.Add("Cookie", tt.hint.Name+"="+tt.hint.Value)
			}
			r := h.browser().do(req)
			if r.status != http.StatusSeeOther || r.location != "/" && !strings.HasPrefix(r.location, h.app.URL+"/") {
				t.Errorf("POST /auth/logout = %d to %q; want a local sign-out (303 to the app)", r.status, r.location)
			}
		})
	}
}

// TestSignOutCookieTooLarge: an ID token too large for one cookie (here a
// 3,000-byte claim) never breaks the sign-in. With
// SessionInStoreWhenLarge the session goes to the Store, ID token
// included, and sign-out still sends it; otherwise the ID token is dropped
// and sign-out ends only the local session.
func TestSignOutCookieTooLarge(t *testing.T) {
	for _, inStore := range []bool{false, true} {
		t.Run(map[bool]string{false: "cookie", true: "SessionInStoreWhenLarge"}[inStore], func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				if inStore {
					c.Session.Storage = SessionInStoreWhenLarge
				}
			})
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["blob"] = strings.Repeat("x", 3000) })
			b := h.browser()
			if r := h.login(b, alice, "/workspace"); r.status != http.StatusFound {
				t.Fatalf("sign-in = %d %.200s; want 302", r.status, r.body)
			}
			if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
				t.Fatalf("GET /workspace = %d; want 200", r.status)
			}
			for _, c := range b.client.Jar.Cookies(mustURL(t, h.app.URL+LogoutPath)) {
				if c.Name == h.auth.cookies.hintName {
					t.Errorf("a sign-out cookie of %d bytes was set; want none (too large for one cookie)", len(c.Value))
				}
			}
			r := b.post(h.app.URL+LogoutPath, nil)
			hint := ""
			if u, err := url.Parse(r.location); err == nil {
				hint = u.Query().Get("id_token_hint")
			}
			if inStore != (hint != "") || r.status != http.StatusSeeOther {
				t.Errorf("POST /auth/logout = %d to %.80q; want id_token_hint sent: %v", r.status, r.location, inStore)
			}
		})
	}
}

// TestRefreshRenewsSignOutCookie: a token refresh that brings a new ID
// token writes it to the sign-out cookie (from whatever request refreshed),
// and sign-out sends that one.
func TestRefreshRenewsSignOutCookie(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Scopes = []string{"openid", "profile", "email", "groups", "offline_access"} })
	b := h.browser()
	h.login(b, alice, "/")
	first := h.sessionIDToken(t, b)
	h.clock.Add(56 * time.Minute) // within the refresh margin (refreshBefore, 5 minutes) of the access token's expiry
	before := h.fake.TokenRequests()
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK || h.fake.TokenRequests() != before+1 {
		t.Fatalf("GET /workspace at refresh time = %d, %d token requests; want 200 and one refresh", r.status, h.fake.TokenRequests()-before)
	}
	renewed := h.sessionIDToken(t, b)
	if renewed == first {
		t.Fatal("the sign-out cookie still holds the ID token of the sign-in after a refresh that brought a new one")
	}
	r := b.post(h.app.URL+LogoutPath, nil)
	if got := mustURL(t, r.location).Query().Get("id_token_hint"); got != renewed {
		t.Errorf("id_token_hint = %.20q…; want the refreshed ID token", got)
	}
}

// TestLegacyCookieMigrates: a browser holding a session cookie of v0.1's
// two-part format (the ID token inside) stays signed in; its first request
// rewrites it into a one-part session cookie and a sign-out cookie, and
// sign-out then sends the ID token.
func TestLegacyCookieMigrates(t *testing.T) {
	h := newHarness(t, nil)
	b, ck, s := h.signedIn(t)
	legacy := legacySeal(h.auth.cookies, ck.Name, s)
	// The browser as v0.1 left it: the two-part cookie, no sign-out cookie.
	b.client.Jar = cookiejarFor(t, h.app.URL, &http.Cookie{Name: ck.Name, Value: legacy, Path: "/"})
	r := b.get(h.app.URL + "/workspace")
	if r.status != http.StatusOK {
		t.Fatalf("GET /workspace with a two-part cookie = %d; want 200", r.status)
	}
	if now := h.sessionCookie(b); now == nil || now.Value == legacy || strings.Contains(now.Value, ".") {
		t.Fatalf("session cookie after the first request = %v; want it rewritten in one part", now)
	}
	if got := h.sessionIDToken(t, b); got != s.IDToken {
		t.Errorf("sign-out cookie after the rewrite holds %.20q…; want the session's ID token", got)
	}
	r = b.post(h.app.URL+LogoutPath, nil)
	if got := mustURL(t, r.location).Query().Get("id_token_hint"); got != s.IDToken {
		t.Errorf("id_token_hint = %.20q…; want the ID token of the two-part cookie", got)
	}
}

// cookiejarFor is a jar holding cookies for base.
func cookiejarFor(t testing.TB, base string, cookies ...*http.Cookie) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	jar.SetCookies(mustURL(t, base), cookies)
	return jar
}
