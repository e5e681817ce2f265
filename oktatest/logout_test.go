package oktatest

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

func TestLogout(t *testing.T) {
	var offset atomic.Int64
	s := NewUnstartedServer()
	s.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s.Start()
	t.Cleanup(s.Close)
	s.AddDemoUsers()
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{webLogoutURI}})
	s.AddClient(Client{ID: "other", Secret: "x", RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{"http://other.example/"}})

	f := newFlow(t, s, s.CustomIssuer("default"))
	browser := newBrowser(t, s)
	signIn(t, s, browser, authURL(s, "default", nil), "alice@example.com", "alice-password")
	hint := rawIDToken(t, f.login(t, s, browser)) // silent: the SSO session
	logoutURL := s.CustomIssuer("default") + "/v1/logout"

	bad := []struct {
		name   string
		params url.Values
	}{
		{"missing hint", url.Values{"post_logout_redirect_uri": {webLogoutURI}}},
		{"garbage hint", url.Values{"id_token_hint": {"a.b.c"}, "post_logout_redirect_uri": {webLogoutURI}}},
		{"unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://evil.example/"}}},
		{"another client's post_logout_redirect_uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://other.example/"}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := get(t, browser, logoutURL+"?"+tt.params.Encode())
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("logout = %d Location %q; want 400 page", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	// The hint of the org server is not valid at the custom server.
	orgFlow := newFlow(t, s, s.Issuer())
	s.AutoLogin("alice@example.com")
	orgHint := rawIDToken(t, orgFlow.login(t, s, newBrowser(t, s)))
	s.AutoLogin("")
	resp, _ := get(t, browser, logoutURL+"?"+url.Values{"id_token_hint": {orgHint}}.Encode())
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("logout with another server's hint = %d; want 400", resp.StatusCode)
	}

	// Two hours later the hint has expired; Okta still accepts it.
	offset.Store(int64(2 * time.Hour))
	resp, _ = get(t, browser, logoutURL+"?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webLogoutURI}, "state": {"bye"}}.Encode())
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || loc.String() != webLogoutURI+"?state=bye" {
		t.Fatalf("logout = %d Location %q; want 302 to %s?state=bye", resp.StatusCode, resp.Header.Get("Location"), webLogoutURI)
	}
	// The SSO session is over.
	resp, body := get(t, browser, authURL(s, "default", map[string]string{"prompt": "none"}))
	if q := appRedirect(t, resp, body); q.Get("error") != "login_required" {
		t.Errorf("authorize after logout = %v; want login_required", q)
	}
}
