package oktatest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// plainConfig is an x/oauth2 client "web" of the fake's plain provider.
func plainConfig(s *Server) *oauth2.Config {
	p := s.PlainOAuth2()
	return &oauth2.Config{
		ClientID: "web", ClientSecret: "web-secret", RedirectURL: webRedirect, Scopes: []string{"read:user"},
		Endpoint: oauth2.Endpoint{AuthURL: p.AuthURL, TokenURL: p.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
	}
}

// plainUser calls the user endpoint with authorization and returns the
// status and the decoded JSON.
func plainUser(t testing.TB, s *Server, authorization string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.PlainOAuth2().UserInfoURL, nil)
	req.Header.Set("Authorization", authorization)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, body := readBody(t, resp)
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	dec.Decode(&m)
	return resp.StatusCode, m
}

func TestPlainOAuth2SignInForm(t *testing.T) {
	s := newTestServer(t)
	cfg := plainConfig(s)
	verifier := oauth2.GenerateVerifier()
	q := signIn(t, s, newBrowser(t, s), cfg.AuthCodeURL("st-9", oauth2.S256ChallengeOption(verifier)), "alice@example.com", "alice-password")
	if q.Get("state") != "st-9" || q.Get("code") == "" {
		t.Fatalf("callback query = %v; want code and state st-9", q)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.Client())
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	if id, _ := tok.Extra("id_token").(string); id != "" || !strings.HasPrefix(tok.AccessToken, "gho_") {
		t.Errorf("token = %q, id_token %q; want a gho_ token and no ID token", tok.AccessToken, id)
	}
	for _, scheme := range []string{"Bearer ", "token "} {
		status, u := plainUser(t, s, scheme+tok.AccessToken)
		if status != 200 || u["login"] != "alice" || u["name"] != "Alice Example" || u["email"] != "alice@example.com" {
			t.Fatalf("GET /user with %q = %d %v; want alice", scheme, status, u)
		}
		if id, _ := u["id"].(json.Number); id == "" || id.String() != s.PlainUserID("alice@example.com") {
			t.Errorf("id = %v; want the number PlainUserID reports (%s)", u["id"], s.PlainUserID("alice@example.com"))
		}
	}

	// The plain provider's tokens and Okta's are not interchangeable.
	s.AutoLogin("alice@example.com")
	okta := newFlow(t, s, s.Issuer()).login(t, s, newBrowser(t, s))
	if status, _ := plainUser(t, s, "Bearer "+okta.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("GET /user with an Okta access token = %d; want 401", status)
	}
	req, _ := http.NewRequest("GET", s.Issuer()+"/oauth2/v1/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if resp, _ := readBody(t, mustDo(t, s, req)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Okta userinfo with a plain token = %d; want 401", resp.StatusCode)
	}
}

func mustDo(t testing.TB, s *Server, req *http.Request) *http.Response {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestPlainOAuth2Refusals(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	cfg := plainConfig(s)
	browser := newBrowser(t, s)

	authorize := []struct {
		name      string
		edit      func(url.Values)
		wantPage  bool // an error page instead of a redirect
		wantError string
	}{
		{"no PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, false, "invalid_request"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, false, "invalid_request"},
		{"no state", func(v url.Values) { v.Del("state") }, false, "invalid_request"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "nope") }, true, ""},
		{"unregistered redirect", func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }, true, ""},
	}
	for _, tt := range authorize {
		t.Run("authorize "+tt.name, func(t *testing.T) {
			u, _ := url.Parse(cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			q := u.Query()
			tt.edit(q)
			u.RawQuery = q.Encode()
			resp, body := get(t, browser, u.String())
			if tt.wantPage {
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("authorize = %d; want a 400 page", resp.StatusCode)
				}
				return
			}
			if got := appRedirect(t, resp, body); got.Get("error") != tt.wantError || got.Get("code") != "" {
				t.Errorf("authorize redirect = %v; want error %s and no code", got, tt.wantError)
			}
		})
	}

	token := []struct {
		name     string
		verifier func(good string) string
		client   string
	}{
		{"no verifier", func(string) string { return "" }, "web"},
		{"wrong verifier", func(string) string { return oauth2.GenerateVerifier() }, "web"},
		{"other client", func(g string) string { return g }, "post"},
	}
	for _, tt := range token {
		t.Run("token "+tt.name, func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			resp, body := get(t, browser, cfg.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier)))
			code := appRedirect(t, resp, body).Get("code")
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}
			if v := tt.verifier(verifier); v != "" {
				form.Set("code_verifier", v)
			}
			header := http.Header{"Authorization": {"Basic " + b64std("web:web-secret")}}
			if tt.client == "post" {
				form.Set("client_id", "post")
				form.Set("client_secret", "post secret&=")
				header = nil
			}
			resp, body = postForm(t, s.Client(), s.PlainOAuth2().TokenURL, form, header)
			v, _ := url.ParseQuery(body)
			if resp.StatusCode != http.StatusOK || v.Get("error") != "bad_verification_code" || v.Get("access_token") != "" {
				t.Errorf("token = %d %q; want GitHub's 200 with error=bad_verification_code", resp.StatusCode, body)
			}
		})
	}
}
