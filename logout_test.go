package oktasso

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestLogoutRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	idToken := h.sessionIDToken(t, b)

	r := b.post(h.app.URL+LogoutPath, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST /auth/logout = %d %.200s; want 303", r.status, r.body)
	}
	end := mustURL(t, r.location)
	q := end.Query()
	if end.Path != "/oauth2/v1/logout" || q.Get("id_token_hint") != idToken || q.Get("post_logout_redirect_uri") != h.app.URL+logoutCallbackPath || len(q.Get("state")) < 20 {
		t.Fatalf("end-session redirect = %s; want Okta's logout with id_token_hint, post_logout_redirect_uri and state", r.location)
	}
	if h.sessionCookie(b) != nil {
		t.Error("session cookie kept after POST /auth/logout")
	}
	// Okta ends its session and comes back with the state: with a 302, or
	// (when it also frames front-channel logout URIs) a page that refreshes
	// to it.
	r = b.get(r.location)
	next := r.location
	if m := regexp.MustCompile(`http-equiv="refresh" content="1; url=([^"]+)"`).FindStringSubmatch(r.body); r.status == http.StatusOK && m != nil {
		next = html.UnescapeString(m[1])
	}
	if !strings.HasPrefix(next, h.app.URL+logoutCallbackPath) {
		t.Fatalf("Okta logout = %d to %q; want the post-logout callback", r.status, next)
	}
	r = b.get(next)
	if r.status != http.StatusSeeOther || r.location != h.app.URL+"/" {
		t.Errorf("post-logout callback = %d to %q; want 303 to %s/", r.status, r.location, h.app.URL)
	}
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
		t.Errorf("GET /workspace after sign-out = %d; want 302 to sign in", r.status)
	}
	// Okta's session is over too: the next sign-in shows the form.
	h.fake.AutoLogin("")
	r = b.get(h.app.URL + loginPath)
	if r = b.get(r.location); r.status != http.StatusFound || strings.HasPrefix(r.location, h.app.URL) {
		t.Errorf("authorize after sign-out = %d to %q; want the fake's sign-in form, not a silent sign-in", r.status, r.location)
	}
}

// sessionIDToken reads the raw ID token kept for b's session: in the
// sign-out cookie, which the browser sends only to the sign-out path.
func (h *harness) sessionIDToken(t testing.TB, b *browser) string {
	t.Helper()
	ck := h.sessionCookie(b)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	var s session
	if err := h.auth.cookies.openSessionValue(ck.Name, ck.Value, &s); err != nil {
		t.Fatalf("session = %+v, %v", s, err)
	}
	req := httptest.NewRequest("POST", h.app.URL+LogoutPath, nil)
	for _, c := range b.client.Jar.Cookies(mustURL(t, h.app.URL+LogoutPath)) {
		req.AddCookie(c)
	}
	tok := h.auth.cookies.readHint(req, s.ID)
	if tok == "" {
		t.Fatalf("no ID token in the sign-out cookie of session %+v", s)
	}
	return tok
}

func TestLogoutRefusesCrossSite(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name string
		hdr  map[string]string
		ok   bool
	}{
		{"same origin", map[string]string{"Origin": "APP"}, true},
		{"fetch metadata same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"other origin", map[string]string{"Origin": "https://evil.example"}, false},
		{"same-site subdomain", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "APP"}, false},
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"null origin", map[string]string{"Origin": "null"}, false},
		{"no origin at all", map[string]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.browser()
			b.origin = ""
			h.login(b, alice, "/")
			req, _ := http.NewRequest("POST", h.app.URL+LogoutPath, nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, strings.ReplaceAll(v, "APP", h.app.URL))
			}
			r := b.do(req)
			if tt.ok != (r.status == http.StatusSeeOther) || (!tt.ok && r.status != http.StatusForbidden) {
				t.Fatalf("POST /auth/logout = %d; want ok=%v (303) or 403", r.status, tt.ok)
			}
			signedIn := b.get(h.app.URL+"/workspace").status == http.StatusOK
			if signedIn == tt.ok {
				t.Errorf("signed in after logout attempt = %v; want %v", signedIn, !tt.ok)
			}
		})
	}
}

func TestLogoutCallbackChecksState(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	r := b.post(h.app.URL+LogoutPath, nil)
	for _, state := range []string{"", "forged", strings.Repeat("x", 1000)} {
		u := h.app.URL + logoutCallbackPath + "?" + url.Values{"state": {state}}.Encode()
		got := h.browser().get(u)
		if got.status != http.StatusBadRequest || got.location != "" {
			t.Errorf("post-logout callback with state %.10q = %d to %q; want 400 and no redirect", state, got.status, got.location)
		}
	}
	real := mustURL(t, r.location).Query().Get("state")
	if got := b.get(h.app.URL + logoutCallbackPath + "?state=" + url.QueryEscape(real)); got.location != h.app.URL+"/" {
		t.Errorf("post-logout callback with the right state = %d to %q; want %s/", got.status, got.location, h.app.URL)
	}
}

func TestLogoutWithoutSessionIsLocal(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Session.PostLogoutPath = "/bye" })
	r := h.browser().post(h.app.URL+LogoutPath, nil)
	if r.status != http.StatusSeeOther || r.location != h.app.URL+"/bye" {
		t.Errorf("POST /auth/logout without a session = %d to %q; want 303 to /bye", r.status, r.location)
	}
}

func TestLogoutConfirmPage(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	if r := b.get(h.app.URL + LogoutPath); r.status != http.StatusOK || strings.Contains(r.body, `method="post"`) || !strings.Contains(r.body, "You are signed out") {
		t.Errorf("GET /auth/logout without a session = %d %.400s; want a signed-out page without a form", r.status, r.body)
	}
	h.login(b, alice, "/")
	r := b.get(h.app.URL + LogoutPath)
	if r.status != http.StatusOK || !strings.Contains(r.body, `method="post"`) || !strings.Contains(r.body, `action="`+h.app.URL+LogoutPath+`"`) || !strings.Contains(r.body, alice) {
		t.Errorf("GET /auth/logout = %d %.400s; want a confirmation form that POSTs, naming the account", r.status, r.body)
	}
}

func TestRefusalPageOffersSignOut(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, bob, "/")
	r := b.get(h.app.URL + "/workspace")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, `action="`+h.app.URL+LogoutPath+`"`) {
		t.Errorf("403 for an external user = %d %.300s; want a sign-out form to switch accounts", r.status, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, h.fake.URL) {
		t.Errorf("403 page CSP = %q; want form-action allowing the issuer (the sign-out POST is redirected there)", csp)
	}
}

func TestLogoutPageAllowsFormToReachOkta(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	csp := b.get(h.app.URL + LogoutPath).header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' "+h.app.URL+" "+h.fake.URL) {
		t.Errorf("logout page CSP = %q; want form-action allowing the app and the issuer's origin (the POST is redirected there)", csp)
	}
	if csp := h.browser().get(h.app.URL + CallbackPath).header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
		t.Errorf("error page CSP = %q; want form-action 'self' only", csp)
	}
}

// TestLogoutAfterRollForward: requests that roll the session forward write
// the ID token back without opening it, and sign-out still sends it as
// id_token_hint, whether the session came from the cache or not.
func TestLogoutAfterRollForward(t *testing.T) {
	for _, cache := range []int{-1, defaultSessionCacheSize} {
		h := newHarness(t, func(c *Config) { c.Session.CacheSize = cache })
		b := h.browser()
		h.login(b, alice, "/")
		idToken := h.sessionIDToken(t, b)
		first := h.sessionCookie(b).Value
		for i := 0; i < 3; i++ {
			h.clock.Add(defaultSessionIdleTimeout / 10)
			if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK || len(r.header.Values("Set-Cookie")) != 1 {
				t.Fatalf("cache %d: request %d = %d, cookies %v; want 200 and the session rolled forward", cache, i, r.status, r.header.Values("Set-Cookie"))
			}
		}
		if h.sessionCookie(b).Value == first {
			t.Fatalf("cache %d: the session cookie was not rewritten", cache)
		}
		r := b.post(h.app.URL+LogoutPath, nil)
		if got := mustURL(t, r.location).Query().Get("id_token_hint"); r.status != http.StatusSeeOther || got != idToken {
			t.Errorf("cache %d: POST /auth/logout = %d, id_token_hint %.20q…; want 303 with the ID token of the sign-in", cache, r.status, got)
		}
	}
}
