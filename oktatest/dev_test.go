package oktatest

import (
	"slices"
	"strings"
	"testing"
)

func TestDevSetup(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	info := s.DevSetup(DevApp{})
	if info.ClientID != "oktasso-dev" || len(info.ClientSecret) < 16 || info.OrgIssuer != s.URL || info.DefaultIssuer != s.URL+"/oauth2/default" {
		t.Errorf("DevSetup(zero) = %+v", info)
	}
	if !slices.Equal(info.RedirectURIs, []string{"http://localhost:8080/auth/callback"}) ||
		!slices.Equal(info.PostLogoutRedirectURIs, []string{"http://localhost:8080/auth/logout/callback"}) {
		t.Errorf("DevSetup(zero) URIs = %v, %v", info.RedirectURIs, info.PostLogoutRedirectURIs)
	}
	if len(info.Users) != 2 || info.Users[0].Login != "alice@example.com" || info.Users[0].Password != "alice-password" {
		t.Errorf("DevSetup(zero).Users = %+v; want the demo users", info.Users)
	}
	wantEnv := []string{"OKTA_ISSUER=" + s.URL, "OKTA_CLIENT_ID=oktasso-dev", "OKTA_CLIENT_SECRET=" + info.ClientSecret}
	if !slices.Equal(info.Env(), wantEnv) {
		t.Errorf("Env() = %q; want %q", info.Env(), wantEnv)
	}
	// The registered client can sign in.
	resp, body := get(t, newBrowser(t, s), s.URL+"/oauth2/v1/authorize?client_id=oktasso-dev&response_type=code&scope=openid&state=x&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fcallback")
	if resp.StatusCode != 200 || !strings.Contains(body, "alice-password") {
		t.Errorf("authorize for the dev client = %d; want the form with the demo users", resp.StatusCode)
	}

	// With users already in the directory, no demo users are added.
	s2 := NewServer()
	t.Cleanup(s2.Close)
	s2.AddUser(User{Login: "zed@example.com", Password: "z"})
	s2.AddUser(User{Login: "Amy@example.com"})
	info = s2.DevSetup(DevApp{ClientID: "mine", ClientSecret: "sec", RedirectURIs: []string{"http://127.0.0.1:3000/cb"}})
	if len(info.Users) != 2 || info.Users[0].Login != "Amy@example.com" || info.Users[1].Login != "zed@example.com" {
		t.Errorf("DevSetup with users: Users = %+v; want amy, zed", info.Users)
	}
	if info.ClientSecret != "sec" || len(info.PostLogoutRedirectURIs) != 0 {
		t.Errorf("DevSetup(custom) = %+v", info)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("DevSetup before Start did not panic")
			}
		}()
		u := NewUnstartedServer()
		defer u.Close()
		u.DevSetup(DevApp{})
	}()
}
