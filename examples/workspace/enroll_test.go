package main

import (
	"net/http"
	"net/url"
	"testing"
)

// TestEnrollPage: GET /security/enroll asks Okta for an enrollment of the
// signed-in user, and Okta's answer (the state alone) brings the browser
// back to /webapp with its session as it was.
func TestEnrollPage(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	if r := b.getStep(e.app.URL+"/security/enroll", nil); r.status != http.StatusFound {
		t.Fatalf("signed out: GET /security/enroll = %d; want a redirect to sign in", r.status)
	}
	b.signIn(e, "alice@example.com", "/webapp")
	session := b.sessionCookie(e).Value

	r := b.getStep(e.app.URL+"/security/enroll", nil)
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || r.status != http.StatusFound {
		t.Fatalf("GET /security/enroll = %d to %q", r.status, r.header.Get("Location"))
	}
	q := loc.Query()
	want := map[string]string{"prompt": "enroll_authenticator", "enroll_amr_values": "okta_verify", "max_age": "0",
		"response_type": "none", "login_hint": "alice@example.com", "redirect_uri": e.app.URL + "/auth/callback"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("authorize %s = %q; want %q", k, q.Get(k), v)
		}
	}
	r = b.getStep(e.app.URL+"/auth/callback?state="+url.QueryEscape(q.Get("state")), nil)
	if r.status != http.StatusFound || r.header.Get("Location") != e.app.URL+"/webapp" || b.sessionCookie(e).Value != session {
		t.Fatalf("Okta's answer = %d to %q; want 302 to /webapp with the session as it was", r.status, r.header.Get("Location"))
	}
}
