package oktatest

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuthorizeErrors(t *testing.T) {
	s := newTestServer(t)
	s.AddClient(Client{ID: "alice-only", Secret: "x", RedirectURIs: []string{webRedirect}, AssignedUsers: []string{"Alice@Example.com"}})
	tests := []struct {
		name      string
		params    map[string]string
		autoLogin string
		wantPage  bool   // 400 page, no redirect
		wantErr   string // error on the redirect
		wantState bool
	}{
		{name: "unknown client", params: map[string]string{"client_id": "ghost"}, wantPage: true},
		{name: "missing client", params: map[string]string{"client_id": ""}, wantPage: true},
		{name: "unregistered redirect_uri", params: map[string]string{"redirect_uri": "http://evil.example/cb"}, wantPage: true},
		{name: "redirect_uri prefix", params: map[string]string{"redirect_uri": webRedirect + "/x"}, wantPage: true},
		{name: "missing state", params: map[string]string{"state": ""}, wantErr: "invalid_request"},
		{name: "no openid", params: map[string]string{"scope": "profile"}, wantErr: "invalid_scope", wantState: true},
		{name: "unknown scope", params: map[string]string{"scope": "openid admin"}, wantErr: "invalid_scope", wantState: true},
		{name: "token response type", params: map[string]string{"response_type": "token"}, wantErr: "unsupported_response_type", wantState: true},
		{name: "plain PKCE", params: map[string]string{"code_challenge_method": "plain"}, wantErr: "invalid_request", wantState: true},
		{name: "PKCE method without challenge", params: map[string]string{"code_challenge": ""}, wantErr: "invalid_request", wantState: true},
		{name: "public client without PKCE", params: map[string]string{"client_id": "spa", "code_challenge": "", "code_challenge_method": ""}, wantErr: "invalid_request", wantState: true},
		{name: "bad prompt", params: map[string]string{"prompt": "select_account"}, wantErr: "invalid_request", wantState: true},
		{name: "bad max_age", params: map[string]string{"max_age": "-1"}, wantErr: "invalid_request", wantState: true},
		{name: "prompt none without session", params: map[string]string{"prompt": "none"}, wantErr: "login_required", wantState: true},
		{name: "prompt none ignores AutoLogin", params: map[string]string{"prompt": "none"}, autoLogin: "alice@example.com", wantErr: "login_required", wantState: true},
		{name: "unassigned user", params: map[string]string{"client_id": "alice-only"}, autoLogin: "bob@partner.example", wantErr: "access_denied", wantState: true},
		{name: "assigned user", params: map[string]string{"client_id": "alice-only"}, autoLogin: "alice@example.com", wantState: true},
		{name: "confidential client without PKCE", params: map[string]string{"code_challenge": "", "code_challenge_method": ""}, autoLogin: "alice@example.com", wantState: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.AutoLogin(tt.autoLogin)
			u := authURL(s, "default", tt.params)
			resp, body := get(t, newBrowser(t, s), u)
			if tt.wantPage {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("GET %s = %d Location %q; want 400 page without redirect", u, resp.StatusCode, resp.Header.Get("Location"))
				}
				if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("error page Content-Type = %q", resp.Header.Get("Content-Type"))
				}
				return
			}
			q := appRedirect(t, resp, body)
			if got := q.Get("error"); got != tt.wantErr {
				t.Fatalf("error = %q (%s); want %q", got, q.Get("error_description"), tt.wantErr)
			}
			if tt.wantErr != "" && q.Get("error_description") == "" {
				t.Error("error without error_description")
			}
			if tt.wantErr == "" && q.Get("code") == "" {
				t.Error("no code on success")
			}
			if got := q.Get("state") == "st-123"; got != tt.wantState {
				t.Errorf("state = %q; want echoed = %v", q.Get("state"), tt.wantState)
			}
			if tt.wantErr == "access_denied" && q.Get("error_description") != "User is not assigned to the client application." {
				t.Errorf("error_description = %q", q.Get("error_description"))
			}
		})
	}
}

func TestAuthorizeSessionRules(t *testing.T) {
	s := newTestServer(t)
	browser := newBrowser(t, s)
	// Sign in once through the form.
	signIn(t, s, browser, authURL(s, "", nil), "alice@example.com", "alice-password")
	tests := []struct {
		name     string
		params   map[string]string
		wantForm bool
	}{
		{"silent with session", nil, false},
		{"prompt none with session", map[string]string{"prompt": "none"}, false},
		{"session from the org server counts here", map[string]string{"scope": "openid email"}, false},
		{"prompt login forces the form", map[string]string{"prompt": "login"}, true},
		{"max_age 0 forces the form", map[string]string{"max_age": "0"}, true},
		{"generous max_age is silent", map[string]string{"max_age": "3600"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, browser, authURL(s, "default", tt.params))
			if tt.wantForm {
				if resp.StatusCode != 200 || !strings.Contains(body, "<h1>Sign in</h1>") {
					t.Fatalf("got %d %q; want the sign-in form", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if q := appRedirect(t, resp, body); q.Get("code") == "" {
				t.Fatalf("callback = %v; want a code", q)
			}
		})
	}
	// A suspended user's session no longer counts.
	s.mu.Lock()
	s.users[s.logins["alice@example.com"]].Status = "SUSPENDED"
	s.mu.Unlock()
	resp, body := get(t, browser, authURL(s, "default", map[string]string{"prompt": "none"}))
	if q := appRedirect(t, resp, body); q.Get("error") != "login_required" {
		t.Errorf("suspended user: callback = %v; want login_required", q)
	}
}
