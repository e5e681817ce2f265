package comparebench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oktasso/oktasso/oktatest"
	"golang.org/x/oauth2"
)

// The fake org's clients: "web" (confidential, client_secret_basic), as in
// oktatest's own tests, and "spa" (public), as in package bearer's.
const (
	webRedirect = "http://app.example/auth/callback"
	spaRedirect = "http://localhost:5173/callback"
)

// newFake starts a fake Okta org with the demo users (alice@example.com
// and bob@partner.example) and clients "web" and "spa".
func newFake(t testing.TB) *oktatest.Server {
	t.Helper()
	s := oktatest.NewServer()
	t.Cleanup(s.Close)
	s.AddDemoUsers()
	// A custom server has no groups scope nor claim until an admin defines them.
	s.AddScopes("default", "groups")
	s.SetGroupsClaim("default", oktatest.GroupsClaim{})
	s.AddClient(oktatest.Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}})
	s.AddClient(oktatest.Client{ID: "spa", RedirectURIs: []string{spaRedirect}})
	return s
}

// newBrowser returns a client with a cookie jar that follows redirects only
// within the fake org, like a browser whose next stop is the application.
func newBrowser(t testing.TB, s *oktatest.Server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(s.URL, "http://")
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// goOIDC is a relying party built from go-oidc and x/oauth2, for client
// "web" (or "spa") of one authorization server of the fake.
type goOIDC struct {
	provider *oidc.Provider
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
	ctx      context.Context
	nonce    string // of the next sign-in; "n-1" unless set
}

// newGoOIDC discovers issuer with go-oidc and configures client "web".
func newGoOIDC(t testing.TB, s *oktatest.Server, issuer string) *goOIDC {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), s.Client())
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("oidc.NewProvider(%s) = %v", issuer, err)
	}
	return &goOIDC{
		provider: p,
		ctx:      ctx,
		nonce:    "n-1",
		config: oauth2.Config{
			ClientID: "web", ClientSecret: "web-secret", RedirectURL: webRedirect,
			Endpoint: p.Endpoint(),
			Scopes:   []string{oidc.ScopeOpenID, "profile", "email", "groups"},
		},
		verifier: p.VerifierContext(ctx, &oidc.Config{ClientID: "web"}),
	}
}

// login runs the authorization code flow with PKCE and f.nonce in
// browser, signed in by AutoLogin or its SSO session, and returns the
// token.
func (f *goOIDC) login(t testing.TB, browser *http.Client, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oidc.Nonce(f.nonce))
	resp, err := browser.Get(f.config.AuthCodeURL("st-1", opts...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), f.config.RedirectURL) {
		t.Fatalf("authorize = %d to %q; want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), f.config.RedirectURL)
	}
	q := loc.Query()
	if q.Get("state") != "st-1" || q.Get("code") == "" {
		t.Fatalf("callback query = %v; want code and state st-1", q)
	}
	tok, err := f.config.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	return tok
}

// rawIDToken returns the id_token of tok.
func rawIDToken(t testing.TB, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("token response has no id_token")
	}
	return raw
}

// jwtPart decodes part i (0: header, 1: claims) of a JWT without verifying
// it.
func jwtPart(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
