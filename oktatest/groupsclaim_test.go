package oktatest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// tokensFor signs login in to client at the authorization server issuer
// with scopes and returns the claims of the ID token and the access token,
// or the token endpoint's error.
func tokensFor(t *testing.T, s *Server, issuer, login string, scopes ...string) (id, access map[string]any, err error) {
	t.Helper()
	s.AutoLogin(login)
	conf := &oauth2.Config{
		ClientID: "0oagroups", ClientSecret: "secret", RedirectURL: "http://127.0.0.1:1/cb", Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: issuer + "/v1/authorize", TokenURL: issuer + "/v1/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	if issuer == s.Issuer() {
		conf.Endpoint = oauth2.Endpoint{AuthURL: s.URL + "/oauth2/v1/authorize", TokenURL: s.URL + "/oauth2/v1/token", AuthStyle: oauth2.AuthStyleInHeader}
	}
	verifier := oauth2.GenerateVerifier()
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(conf.AuthCodeURL("state-123456", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-123")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorize answered %d to %s; want a code", resp.StatusCode, loc)
	}
	tok, err := conf.Exchange(context.WithValue(context.Background(), oauth2.HTTPClient, s.Client()), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	return payload(t, raw), payload(t, tok.AccessToken), nil
}

func payload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func claimList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	slices.Sort(out)
	return out
}

func TestGroupsClaim(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(s *Server)
		issuer     func(s *Server) string
		scopes     []string
		claim      string
		wantID     []string // nil: no claim in the ID token
		wantAccess []string
	}{
		{"org server, default: every group with the groups scope", nil, (*Server).Issuer,
			[]string{"openid", "groups"}, "groups", []string{"Engineering", "Everyone", "Workspace Members"}, nil},
		{"org server, default: none without the scope", nil, (*Server).Issuer,
			[]string{"openid"}, "groups", nil, nil},
		{"org server, groups claim filter", func(s *Server) { s.SetGroupsClaim("", GroupsClaim{Filter: "Work.*"}) }, (*Server).Issuer,
			[]string{"openid", "groups"}, "groups", []string{"Workspace Members"}, nil},
		{"custom server, named claim in both tokens for any scope", func(s *Server) {
			s.SetGroupsClaim("default", GroupsClaim{Name: "roles", Filter: "Eng.*|Everyone", AccessToken: true, Always: true})
		}, func(s *Server) string { return s.CustomIssuer("default") },
			[]string{"openid"}, "roles", []string{"Engineering", "Everyone"}, []string{"Engineering", "Everyone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer()
			defer s.Close()
			s.AddDemoUsers()
			s.AddClient(Client{ID: "0oagroups", Secret: "secret", RedirectURIs: []string{"http://127.0.0.1:1/cb"}})
			if tt.setup != nil {
				tt.setup(s)
			}
			id, access, err := tokensFor(t, s, tt.issuer(s), "alice@example.com", tt.scopes...)
			if err != nil {
				t.Fatal(err)
			}
			if got := claimList(id[tt.claim]); !slices.Equal(got, tt.wantID) {
				t.Errorf("ID token %s = %v; want %v", tt.claim, got, tt.wantID)
			}
			if tt.claim != "groups" && id["groups"] != nil {
				t.Errorf("ID token has a groups claim %v besides %s", id["groups"], tt.claim)
			}
			if got := claimList(access[tt.claim]); !slices.Equal(got, tt.wantAccess) {
				t.Errorf("access token %s = %v; want %v", tt.claim, got, tt.wantAccess)
			}
		})
	}
}

func TestGroupsClaimLimit(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.AddClient(Client{ID: "0oagroups", Secret: "secret", RedirectURIs: []string{"http://127.0.0.1:1/cb"}})
	var groups []string
	for i := 0; i < 120; i++ {
		groups = append(groups, fmt.Sprintf("g-%03d", i))
	}
	s.AddUser(User{Login: "many@example.com", Password: "p", Groups: groups})
	_, _, err := tokensFor(t, s, s.Issuer(), "many@example.com", "openid", "groups")
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_request" || !strings.Contains(re.ErrorDescription, "over the limit of 100") {
		t.Fatalf("token for a user in 121 groups = %v; want invalid_request over the limit of 100", err)
	}
	// A filter that keeps the claim small passes, as Okta admins are told.
	s.SetGroupsClaim("", GroupsClaim{Filter: "g-00.*"})
	if id, _, err := tokensFor(t, s, s.Issuer(), "many@example.com", "openid", "groups"); err != nil || len(claimList(id["groups"])) != 10 {
		t.Errorf("with a filter = %v, %v; want 10 groups", id["groups"], err)
	}
	s.SetGroupsClaim("", GroupsClaim{})
	s.SetGroupsClaimLimit(0)
	if id, _, err := tokensFor(t, s, s.Issuer(), "many@example.com", "openid", "groups"); err != nil || len(claimList(id["groups"])) != 121 {
		t.Errorf("without a limit = %d groups, %v; want 121", len(claimList(id["groups"])), err)
	}
}

func TestSetGroupsClaimPanics(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    func(s *Server)
	}{
		{"unknown server", func(s *Server) { s.SetGroupsClaim("nope", GroupsClaim{}) }},
		{"bad filter", func(s *Server) { s.SetGroupsClaim("", GroupsClaim{Filter: "("}) }},
		{"org access token", func(s *Server) { s.SetGroupsClaim("", GroupsClaim{AccessToken: true}) }},
		{"negative limit", func(s *Server) { s.SetGroupsClaimLimit(-1) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer()
			defer s.Close()
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.f(s)
		})
	}
}
