package oktatest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

const (
	webRedirect  = "http://app.example/auth/callback"
	webLogoutURI = "http://app.example/"
)

// newTestServer starts a fake org with the demo users and three clients:
// "web" (client_secret_basic), "post" (client_secret_post) and "spa"
// (public).
func newTestServer(t testing.TB) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddDemoUsers()
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{webLogoutURI}})
	s.AddClient(Client{ID: "post", Secret: "post secret&=", AuthMethod: "client_secret_post", RedirectURIs: []string{webRedirect}})
	s.AddClient(Client{ID: "spa", RedirectURIs: []string{webRedirect}})
	return s
}

// newBrowser returns a client with a cookie jar that follows redirects only
// within the fake org, like a browser whose next stop is the application.
func newBrowser(t testing.TB, s *Server) *http.Client {
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

// get performs a GET and returns the response with its body read.
func get(t testing.TB, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return readBody(t, resp)
}

// postForm performs a form POST and returns the response with its body read.
func postForm(t testing.TB, c *http.Client, u string, v url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return readBody(t, resp)
}

func readBody(t testing.TB, resp *http.Response) (*http.Response, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var hiddenRE = regexp.MustCompile(`name="(fromURI|token)" value="([^"]*)"`)

// formFields extracts the hidden fields of the sign-in form.
func formFields(t testing.TB, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if v.Get("fromURI") == "" || v.Get("token") == "" {
		t.Fatalf("no sign-in form in page:\n%s", body)
	}
	return v
}

// signIn drives the browser through authURL and the sign-in form and
// returns the query of the redirect back to the application.
func signIn(t testing.TB, s *Server, browser *http.Client, authURL, login, password string) url.Values {
	t.Helper()
	resp, body := get(t, browser, authURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET authorize = %d %s; want 200 sign-in form", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := formFields(t, body)
	form.Set("username", login)
	form.Set("password", password)
	resp, body = postForm(t, browser, s.URL+SignInPath, form, nil)
	return appRedirect(t, resp, body)
}

// appRedirect returns the query of a redirect to the application.
func appRedirect(t testing.TB, resp *http.Response, body string) url.Values {
	t.Helper()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), webRedirect) {
		t.Fatalf("response = %d Location %q; want 302 to %s\n%s", resp.StatusCode, resp.Header.Get("Location"), webRedirect, body)
	}
	return loc.Query()
}

// pkce returns a random verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	return verifier, s256(verifier)
}

// authURL builds an authorize URL for issuer's server with the given
// parameters on top of sane defaults for client "web".
func authURL(s *Server, asID string, params map[string]string) string {
	endpoint := s.URL + "/oauth2/v1/authorize"
	if asID != "" {
		endpoint = s.URL + "/oauth2/" + asID + "/v1/authorize"
	}
	_, challenge := pkce()
	v := url.Values{
		"client_id":             {"web"},
		"redirect_uri":          {webRedirect},
		"response_type":         {"code"},
		"scope":                 {"openid profile email"},
		"state":                 {"st-123"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	for k, val := range params {
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
	}
	return endpoint + "?" + v.Encode()
}

// oidcFlow is a relying party built from x/oauth2 and go-jose: discovery,
// the authorization code flow with PKCE, and the ID token's checks (an
// RS256 (or f.algs) signature by a key of the JWKS, iss, aud, exp and iat). Like a real
// relying party it keeps the JWKS and fetches it again only for an unknown
// kid. internal/comparebench runs the same flows with go-oidc as the
// reference relying party, so that go-oidc stays out of this module.
type oidcFlow struct {
	issuer   string
	jwksURI  string
	userinfo string
	config   oauth2.Config
	client   *http.Client
	now      func() time.Time
	ctx      context.Context
	algs     []jose.SignatureAlgorithm // accepted; newFlow sets RS256

	mu   sync.Mutex
	jwks jose.JSONWebKeySet // as last fetched
}

// newFlow discovers issuer and configures client "web".
func newFlow(t testing.TB, s *Server, issuer string) *oidcFlow {
	t.Helper()
	resp, body := get(t, s.Client(), issuer+"/.well-known/openid-configuration")
	var disco struct {
		Issuer   string `json:"issuer"`
		Auth     string `json:"authorization_endpoint"`
		Token    string `json:"token_endpoint"`
		JWKS     string `json:"jwks_uri"`
		UserInfo string `json:"userinfo_endpoint"`
	}
	if err := json.Unmarshal([]byte(body), &disco); resp.StatusCode != http.StatusOK || err != nil || disco.Issuer != issuer {
		t.Fatalf("discovery of %s = %d, issuer %q, %v", issuer, resp.StatusCode, disco.Issuer, err)
	}
	f := &oidcFlow{
		issuer: issuer, jwksURI: disco.JWKS, userinfo: disco.UserInfo,
		client: s.Client(), now: s.now, algs: []jose.SignatureAlgorithm{jose.RS256},
		ctx: context.WithValue(context.Background(), oauth2.HTTPClient, s.Client()),
	}
	f.config = oauth2.Config{
		ClientID: "web", ClientSecret: "web-secret", RedirectURL: webRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: disco.Auth, TokenURL: disco.Token},
		Scopes:   []string{"openid", "profile", "email", "groups"},
	}
	if strings.Contains(issuer, "/oauth2/") { // custom servers have no groups scope until defined
		f.config.Scopes = f.config.Scopes[:3]
	}
	return f
}

// login runs a full authorization code + PKCE flow with AutoLogin or the
// existing session and returns the token.
func (f *oidcFlow) login(t testing.TB, s *Server, browser *http.Client, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-1"))
	resp, body := get(t, browser, f.config.AuthCodeURL("st-1", opts...))
	q := appRedirect(t, resp, body)
	if q.Get("state") != "st-1" || q.Get("code") == "" {
		t.Fatalf("callback query = %v; want code and state st-1", q)
	}
	tok, err := f.config.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	return tok
}

// verify checks an ID token of the flow's issuer for client "web": one of
// f.algs (RS256 unless a test changes it), signed by the key of its kid,
// iss, aud, exp and iat at the fake's clock. It decodes the claims into
// each of out.
func (f *oidcFlow) verify(raw string, out ...any) error {
	tok, err := jwt.ParseSigned(raw, f.algs)
	if err != nil {
		return err
	}
	key, err := f.key(tok.Headers[0].KeyID)
	if err != nil {
		return err
	}
	var std jwt.Claims
	if err := tok.Claims(key, append([]any{&std}, out...)...); err != nil {
		return err
	}
	return std.ValidateWithLeeway(jwt.Expected{Issuer: f.issuer, AnyAudience: jwt.Audience{f.config.ClientID}, Time: f.now()}, 0)
}

// key returns the public key of kid, from the JWKS kept or, for a kid it
// does not have, fetched again.
func (f *oidcFlow) key(kid string) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.jwks.Key(kid); len(k) == 1 {
		return k[0].Key, nil
	}
	resp, err := f.client.Get(f.jwksURI)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	f.jwks = jose.JSONWebKeySet{}
	if err := json.NewDecoder(resp.Body).Decode(&f.jwks); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	k := f.jwks.Key(kid)
	if len(k) != 1 {
		return nil, fmt.Errorf("%d keys with kid %q in the JWKS", len(k), kid)
	}
	return k[0].Key, nil
}

// userInfo calls the userinfo endpoint with tok's access token and returns
// its claims.
func (f *oidcFlow) userInfo(tok *oauth2.Token) (map[string]any, error) {
	req, err := http.NewRequest("GET", f.userinfo, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("userinfo: %s", resp.Status)
	}
	var claims map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&claims); err != nil {
		return nil, err
	}
	return claims, nil
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

// jwtClaims decodes the claims of a JWT without verifying it.
func jwtClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// jwtHeader decodes the header of a JWT.
func jwtHeader(t testing.TB, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestServerLifecycle(t *testing.T) {
	s := NewUnstartedServer()
	if s.URL != "" {
		t.Fatalf("URL before Start = %q; want empty", s.URL)
	}
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s.Now = func() time.Time { return fixed }
	s.Start()
	defer s.Close()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || strings.HasSuffix(s.URL, "/") {
		t.Errorf("URL = %q; want http://127.0.0.1:PORT", s.URL)
	}
	if s.Issuer() != s.URL {
		t.Errorf("Issuer() = %q; want %q", s.Issuer(), s.URL)
	}
	if got, want := s.CustomIssuer("default"), s.URL+"/oauth2/default"; got != want {
		t.Errorf("CustomIssuer(default) = %q; want %q", got, want)
	}
	resp, _ := get(t, s.Client(), s.URL+"/.well-known/openid-configuration")
	if resp.StatusCode != 200 {
		t.Errorf("discovery status = %d; want 200", resp.StatusCode)
	}
	s.Close()
	s.Close() // idempotent
	if _, err := s.Client().Get(s.URL + "/.well-known/openid-configuration"); err == nil {
		t.Error("GET after Close succeeded; want error")
	}
}

func TestSetDown(t *testing.T) {
	s := newTestServer(t)
	urls := []string{
		s.URL + "/.well-known/openid-configuration",
		s.URL + "/oauth2/default/v1/keys",
		authURL(s, "default", nil),
		s.URL + SignInPath,
	}
	for _, down := range []bool{true, false} {
		s.SetDown(down)
		for _, u := range urls {
			resp, _ := get(t, s.Client(), u)
			if got := resp.StatusCode == http.StatusServiceUnavailable; got != down {
				t.Errorf("down=%v: GET %s = %d", down, u, resp.StatusCode)
			}
		}
	}
	s.SetDown(true)
	resp, _ := postForm(t, s.Client(), s.URL+"/oauth2/v1/token", url.Values{"grant_type": {"client_credentials"}}, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("token while down = %d; want 503", resp.StatusCode)
	}
	if n := s.TokenRequests(); n != 0 {
		t.Errorf("TokenRequests() = %d after a refused request; want 0", n)
	}
}

func TestPanicsOnMisuse(t *testing.T) {
	s := NewUnstartedServer()
	s.AddClient(Client{ID: "dup", Secret: "x"})
	s.AddUser(User{Login: "u@example.com"})
	tests := []struct {
		name string
		f    func()
	}{
		{"CustomIssuer unknown", func() { s.CustomIssuer("nope") }},
		{"Rotate unknown", func() { s.Rotate("nope") }},
		{"AddAuthServer duplicate", func() { s.AddAuthServer("default", "api://x") }},
		{"AddAuthServer empty audience", func() { s.AddAuthServer("x", "") }},
		{"AddClient empty ID", func() { s.AddClient(Client{}) }},
		{"AddClient duplicate", func() { s.AddClient(Client{ID: "dup"}) }},
		{"AddClient post without secret", func() { s.AddClient(Client{ID: "p", AuthMethod: "client_secret_post"}) }},
		{"AddClient none with secret", func() { s.AddClient(Client{ID: "n", Secret: "s", AuthMethod: "none"}) }},
		{"AddClient unknown method", func() { s.AddClient(Client{ID: "j", Secret: "s", AuthMethod: "private_key_jwt"}) }},
		{"AddUser empty login", func() { s.AddUser(User{}) }},
		{"AddUser duplicate login", func() { s.AddUser(User{Login: "U@example.com"}) }},
		{"AutoLogin unknown", func() { s.AutoLogin("ghost@example.com") }},
		{"Client before Start", func() { s.Client() }},
		{"Start twice", func() { s.Start(); s.Start() }},
	}
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.f()
		})
	}
}

func TestAddUser(t *testing.T) {
	s := NewUnstartedServer()
	u := s.AddUser(User{Login: "carol@example.com", Groups: []string{"A"}})
	if len(u.ID) != 20 || !strings.HasPrefix(u.ID, "00u") {
		t.Errorf("AddUser().ID = %q; want 00u + 17 chars", u.ID)
	}
	if u.Status != "ACTIVE" || u.Email != "carol@example.com" {
		t.Errorf("AddUser() = %+v; want Status ACTIVE and Email = Login", u)
	}
	demo := s.AddDemoUsers()
	if len(demo) != 2 || demo[0].Login != "alice@example.com" || demo[1].Login != "bob@partner.example" {
		t.Errorf("AddDemoUsers() = %+v", demo)
	}
}

func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestConcurrentFlows(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	f := newFlow(t, s, s.CustomIssuer("default"))
	t.Run("group", func(t *testing.T) {
		t.Run("rotate", func(t *testing.T) {
			t.Parallel()
			s.Rotate("default")
		})
		for i := range 16 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				tok := f.login(t, s, newBrowser(t, s))
				if err := f.verify(rawIDToken(t, tok)); err != nil {
					t.Errorf("Verify = %v", err)
				}
			})
		}
	})
	if n := s.TokenRequests(); n != 16 {
		t.Errorf("TokenRequests() = %d; want 16", n)
	}
}
