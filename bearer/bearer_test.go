package bearer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/oktasso/oktasso/audit"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/clientauth"
	"github.com/oktasso/oktasso/oktatest"
)

const (
	alice         = "alice@example.com" // a demo user of the fake
	spaClientID   = "0oaspa"            // a public client: a single-page app
	otherClientID = "0oaother"          // another public client the API does not accept
	svcClientID   = "0oasvc"            // a confidential service app
	spaRedirect   = "http://localhost:5173/callback"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// countingTransport counts the requests whose path ends in suffix.
type countingTransport struct {
	n      *atomic.Int64
	next   http.RoundTripper
	suffix string
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, c.suffix) {
		c.n.Add(1)
	}
	return c.next.RoundTrip(r)
}

// apiFixture is a fake Okta org on a fake clock with a single-page app, a
// second app and a service app registered, for APIs that take bearer
// tokens.
type apiFixture struct {
	t     testing.TB
	fake  *oktatest.Server
	clock *fakeClock
	// introspections counts requests to any introspection endpoint.
	introspections atomic.Int64
}

func newAPIFixture(t testing.TB) *apiFixture {
	t.Helper()
	f := &apiFixture{t: t, clock: &fakeClock{t: time.Now()}}
	f.fake = oktatest.NewUnstartedServer()
	f.fake.Now = f.clock.Now
	f.fake.Start()
	t.Cleanup(f.fake.Close)
	f.fake.AddDemoUsers()
	f.fake.AutoLogin(alice)
	f.fake.AddClient(oktatest.Client{ID: spaClientID, RedirectURIs: []string{spaRedirect}})
	f.fake.AddClient(oktatest.Client{ID: otherClientID, RedirectURIs: []string{spaRedirect}})
	f.fake.AddClient(oktatest.Client{ID: svcClientID, Secret: "svc-secret"})
	return f
}

// guard returns a Guard for the fake's default custom authorization
// server accepting the single-page app and the service app, edited by edit.
func (f *apiFixture) guard(edit func(*Config)) *Guard {
	f.t.Helper()
	hc := *f.fake.Client()
	hc.Transport = countingTransport{n: &f.introspections, next: hc.Transport, suffix: "/v1/introspect"}
	cfg := Config{
		Issuer:     f.fake.CustomIssuer("default"),
		ClientIDs:  []string{spaClientID, svcClientID},
		HTTPClient: &hc,
		Now:        f.clock.Now,
		Logger:     quietLogger(),
	}
	if edit != nil {
		edit(&cfg)
	}
	g, err := New(context.Background(), cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return g
}

// endpointOf returns an Okta endpoint URL of the authorization server with
// issuer: the org server's live under /oauth2/v1.
func endpointOf(issuer, name string) string {
	if strings.Contains(issuer, "/oauth2/") {
		return issuer + "/v1/" + name
	}
	return issuer + "/oauth2/v1/" + name
}

// userToken signs alice in to clientID at the authorization server of
// issuer with the authorization code flow and PKCE, as a single-page app
// does, and returns the access token. creds authenticates the client at
// the token endpoint (nil: a public client); extraScopes are asked for
// besides openid, profile and email.
func userToken(t testing.TB, fake *oktatest.Server, issuer, clientID string, creds *clientauth.Creds, extraScopes ...string) string {
	t.Helper()
	verifier := randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {clientID}, "redirect_uri": {spaRedirect}, "response_type": {"code"},
		"scope": {strings.Join(append([]string{"openid", "profile", "email"}, extraScopes...), " ")}, "state": {"st"}, "nonce": {"n"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	c := &http.Client{Transport: fake.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(endpointOf(issuer, "authorize") + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize = %d to %q; want a redirect with a code", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {spaRedirect}, "code_verifier": {verifier}}
	if creds == nil {
		creds, _ = clientauth.New(clientID, "", clientauth.None, "", "", "", nil)
	}
	return tokenCall(t, fake, endpointOf(issuer, "token"), form, creds)
}

// serviceToken gets a client_credentials token of the service app.
func serviceToken(t testing.TB, fake *oktatest.Server, issuer, scope string) string {
	t.Helper()
	creds, _ := clientauth.New(svcClientID, "svc-secret", clientauth.SecretBasic, "", "", "", nil)
	return tokenCall(t, fake, endpointOf(issuer, "token"), url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, creds)
}

func tokenCall(t testing.TB, fake *oktatest.Server, tokenURL string, form url.Values, creds *clientauth.Creds) string {
	t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if err := creds.Apply(form, h, tokenURL); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", tokenURL, strings.NewReader(form.Encode()))
	req.Header = h
	resp, err := fake.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&tr)
	if resp.StatusCode != 200 || tr.AccessToken == "" {
		t.Fatalf("token request = %d %s", resp.StatusCode, tr.Error)
	}
	return tr.AccessToken
}

// callAPI sends a request with the given Authorization headers through
// g.Require(scopes...) to a handler that describes the caller.
func callAPI(g *Guard, scopes []string, authorization ...string) *httptest.ResponseRecorder {
	h := g.Require(scopes...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, t := oktasso.UserFrom(r.Context()), TokenFrom(r.Context())
		fmt.Fprintf(w, "sub=%s login=%s cid=%s introspected=%v", u.Subject, u.Username, t.ClientID, t.Introspected)
	}))
	req := httptest.NewRequest("GET", "/api/orders", nil)
	for _, a := range authorization {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestBearerGuard(t *testing.T) {
	f := newAPIFixture(t)
	other := oktatest.NewServer() // another tenant
	t.Cleanup(other.Close)
	other.AddDemoUsers()
	other.AutoLogin(alice)
	other.AddClient(oktatest.Client{ID: spaClientID, RedirectURIs: []string{spaRedirect}})

	custom := f.fake.CustomIssuer("default")
	spaTok := userToken(t, f.fake, custom, spaClientID, nil)
	f.fake.AddScopes("default", "orders:read")
	spaOrdersTok := userToken(t, f.fake, custom, spaClientID, nil, "orders:read")
	svcTok := serviceToken(t, f.fake, custom, "orders:read")
	otherAppTok := userToken(t, f.fake, custom, otherClientID, nil)
	orgTok := userToken(t, f.fake, f.fake.Issuer(), spaClientID, nil)
	tenantTok := userToken(t, other, other.CustomIssuer("default"), spaClientID, nil)
	aliceUser, _ := f.fake.LookupUser(alice)
	// The signature of spaTok on the claims of otherAppTok.
	forged := otherAppTok[:strings.LastIndexByte(otherAppTok, '.')] + spaTok[strings.LastIndexByte(spaTok, '.'):]

	std := f.guard(nil)
	ordersAPI := f.guard(func(c *Config) { c.Audiences = []string{"api://orders"} })
	tests := []struct {
		name       string
		g          *Guard
		scopes     []string
		auth       []string
		wantStatus int
		wantChall  string // WWW-Authenticate
		wantBody   string // substring
	}{
		{"user token of the SPA", std, nil, []string{"Bearer " + spaTok}, 200, "",
			"sub=" + aliceUser.ID + " login=" + alice + " cid=" + spaClientID + " introspected=false"},
		{"scheme is case-insensitive", std, nil, []string{"bearer  " + spaTok}, 200, "", "cid=" + spaClientID},
		{"user token with the scope", std, []string{"orders:read", "openid"}, []string{"Bearer " + spaOrdersTok}, 200, "", "sub=" + aliceUser.ID},
		{"service token with the scope", std, []string{"orders:read"}, []string{"Bearer " + svcTok}, 200, "", "sub=" + svcClientID + " login= cid=" + svcClientID},
		{"missing scope", std, []string{"orders:read"}, []string{"Bearer " + spaTok}, 403,
			`Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="orders:read"`, `"error":"insufficient_scope"`},
		{"no token", std, nil, nil, 401, `Bearer realm="api"`, `"error":"unauthorized"`},
		{"another scheme", std, nil, []string{"Basic YTpi"}, 401, `Bearer realm="api"`, `"error":"unauthorized"`},
		{"two headers", std, nil, []string{"Bearer " + spaTok, "Bearer " + spaTok}, 400,
			`Bearer realm="api", error="invalid_request", error_description="several Authorization headers"`, `"error":"invalid_request"`},
		{"token with a space", std, nil, []string{"Bearer a b"}, 400, `error="invalid_request"`, `"error":"invalid_request"`},
		{"wrong audience", ordersAPI, nil, []string{"Bearer " + spaTok}, 401,
			`Bearer realm="api", error="invalid_token", error_description="the access token is not for this API (audience)"`, `"error":"invalid_token"`},
		{"wrong cid", std, nil, []string{"Bearer " + otherAppTok}, 401, `error_description="the access token was issued to a client this API does not accept"`, "invalid_token"},
		{"another tenant", std, nil, []string{"Bearer " + tenantTok}, 401, `error_description="the access token is from another issuer"`, "invalid_token"},
		{"org server token", std, nil, []string{"Bearer " + orgTok}, 401, "from the Okta org authorization server, whose tokens only Okta can validate; request it from " + custom, "invalid_token"},
		{"forged signature", std, nil, []string{"Bearer " + forged}, 401, `error_description="the access token's signature is invalid"`, "invalid_token"},
		{"opaque token", std, nil, []string{"Bearer abcdef"}, 401, "is not a JWT", "invalid_token"},
		{"not base64", std, nil, []string{"Bearer a.b.c"}, 401, "not an RS256 JWT", "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 2 { // the second time from the cache, if cached
				rec := callAPI(tt.g, tt.scopes, tt.auth...)
				if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
					t.Fatalf("call %d = %d %s; want %d with %q", i, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
				}
				if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.wantChall) || (tt.wantChall == "") != (got == "") {
					t.Errorf("WWW-Authenticate = %q; want %q", got, tt.wantChall)
				}
			}
		})
	}
}

func TestBearerExpiryAndCache(t *testing.T) {
	f := newAPIFixture(t)
	g := f.guard(nil)
	tok := userToken(t, f.fake, f.fake.CustomIssuer("default"), spaClientID, nil)
	ctx := context.Background()
	first, err := g.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := g.Verify(ctx, tok); again != first {
		t.Errorf("Verify again = a new *Token; want the cached one")
	}
	if n := g.cache.len(); n != 1 {
		t.Errorf("cache holds %d entries; want 1", n)
	}
	f.clock.Add(time.Hour + DefaultLeeway - time.Second) // within the leeway
	if _, err := g.Verify(ctx, tok); err != nil {
		t.Errorf("Verify within the leeway after exp = %v; want ok", err)
	}
	f.clock.Add(2 * time.Second)
	_, err = g.Verify(ctx, tok)
	if te, ok := errors.AsType[*oktasso.TokenError](err); !ok || te.Reason != audit.ReasonTokenExpired || !errors.Is(err, oktasso.ErrInvalidToken) {
		t.Errorf("Verify after exp+leeway = %v; want an expired-token error", err)
	}
	if rec := callAPI(g, nil, "Bearer "+tok); rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error_description="the access token expired"`) {
		t.Errorf("expired token = %d %q; want 401 expired", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestBearerCacheBounded(t *testing.T) {
	c := newTokenCache(32)
	now := time.Now().UnixNano()
	for i := range 1000 {
		c.put(fmt.Sprintf("token-%d", i), tokenEntry{tok: &Token{}, until: now + int64(time.Hour)}, now)
	}
	if n := c.len(); n > 32 {
		t.Errorf("cache of 32 holds %d entries", n)
	}
	c.put("expired", tokenEntry{tok: &Token{}, until: now - 1}, now)
	if _, ok := c.get("expired", now); ok {
		t.Errorf("get(expired) = ok; want a miss")
	}
	c.put("live", tokenEntry{tok: &Token{}, until: now + 10}, now)
	if _, ok := c.get("live", now+10); ok {
		t.Errorf("get(live) at its deadline = ok; want a miss")
	}
	var nilCache *tokenCache
	nilCache.put("x", tokenEntry{until: now + 1}, now)
	if _, ok := nilCache.get("x", now); ok {
		t.Errorf("a nil cache answered")
	}
}

func TestBearerProviderDown(t *testing.T) {
	f := newAPIFixture(t)
	tok := userToken(t, f.fake, f.fake.CustomIssuer("default"), spaClientID, nil)
	f.fake.SetDown(true)
	g := f.guard(nil)
	rec := callAPI(g, nil, "Bearer "+tok)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "temporarily_unavailable") {
		t.Errorf("provider down = %d %q %s; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	f.fake.SetDown(false)
	f.clock.Add(time.Minute) // past discovery's backoff
	if rec := callAPI(g, nil, "Bearer "+tok); rec.Code != 200 {
		t.Errorf("provider back = %d %s; want 200", rec.Code, rec.Body)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no issuer", Config{ClientIDs: []string{"x"}}, "no issuer"},
		{"no clients", Config{Domain: "dev-1.okta.com", AuthServerID: "default"}, "ClientIDs"},
		{"org server without introspection", Config{Domain: "dev-1.okta.com", ClientIDs: []string{"x"}}, "org authorization server"},
		{"big leeway", Config{Issuer: "https://dev-1.okta.com/oauth2/default", ClientIDs: []string{"x"}, Leeway: time.Hour}, "Leeway"},
		{"introspection without client", Config{Issuer: "https://dev-1.okta.com/oauth2/default", ClientIDs: []string{"x"}, Introspection: &Introspection{}}, "Introspection.ClientID"},
		{"negative MaxConcurrent", Config{Issuer: "https://dev-1.okta.com/oauth2/default", ClientIDs: []string{"x"},
			Introspection: &Introspection{ClientID: "x", MaxConcurrent: -1}}, "Introspection.MaxConcurrent"},
		{"introspection with a bad key", Config{Issuer: "https://dev-1.okta.com/oauth2/default", ClientIDs: []string{"x"},
			Introspection: &Introspection{ClientID: "x", PrivateKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}}, "Introspection: PrivateKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "oktasso: ") {
				t.Errorf("New() error = %v; want one containing %q", err, tt.want)
			}
		})
	}
	g, err := newGuard(Config{Domain: "https://dev-1-admin.okta.com/", AuthServerID: "default", ClientIDs: []string{"x"}})
	if err != nil || g.Issuer() != "https://dev-1.okta.com/oauth2/default" || g.cfg.Audiences[0] != DefaultAudience {
		t.Errorf("New(pasted domain) = %v, %v; want issuer https://dev-1.okta.com/oauth2/default, audience api://default", g, err)
	}
}

// TestSharedProvider: a Guard given a Provider (an Auth's, in an app that
// also signs users in) uses it, and its issuer, for discovery and keys.
func TestSharedProvider(t *testing.T) {
	f := newAPIFixture(t)
	custom := f.fake.CustomIssuer("default")
	p, err := oktasso.NewProvider(custom, f.fake.Client(), f.clock.Now, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(context.Background(), Config{Provider: p, ClientIDs: []string{spaClientID}, Now: f.clock.Now, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if g.provider != p || g.Issuer() != custom {
		t.Errorf("New(Provider) = provider shared %v, issuer %q; want the Provider and its issuer", g.provider == p, g.Issuer())
	}
	if _, err := g.Verify(context.Background(), userToken(t, f.fake, custom, spaClientID, nil)); err != nil {
		t.Errorf("Verify(token of the app) = %v; want ok", err)
	}
	if _, err := g.Verify(context.Background(), userToken(t, f.fake, custom, otherClientID, nil)); !errors.Is(err, oktasso.ErrInvalidToken) {
		t.Errorf("Verify(token of another app) = %v; want ErrInvalidToken", err)
	}
	if _, err := New(context.Background(), Config{Provider: p, Issuer: f.fake.Issuer(), ClientIDs: []string{spaClientID}}); err == nil || !strings.Contains(err.Error(), "Provider's issuer") {
		t.Errorf("New(Provider, another Issuer) error = %v; want one naming the Provider's issuer", err)
	}
}

func TestQuoteSafe(t *testing.T) {
	for in, want := range map[string]string{`a"b\c`: "a'b'c", "x\ny\x00é": "xy", "plain text": "plain text"} {
		if got := quoteSafe(in); got != want {
			t.Errorf("quoteSafe(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header  []string
		want    string
		wantErr bool
	}{
		{nil, "", false},
		{[]string{"Bearer abc"}, "abc", false},
		{[]string{"BEARER abc=="}, "abc==", false},
		{[]string{"Bearer   a-b.c_d~e+f/g"}, "a-b.c_d~e+f/g", false},
		{[]string{"DPoP abc"}, "", false},
		{[]string{"Bearer"}, "", true},
		{[]string{"Bearer "}, "", true},
		{[]string{"Bearer a=b"}, "", true},
		{[]string{"Bearer =abc"}, "", true},
		{[]string{"Bearer a\"b"}, "", true},
		{[]string{"Bearer " + strings.Repeat("a", maxTokenLen+1)}, "", true},
		{[]string{"Bearer a", "Bearer b"}, "", true},
	}
	for _, tt := range tests {
		h := http.Header{"Authorization": tt.header}
		got, err := bearerToken(h)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("bearerToken(%.40q) = %q, %v; want %q, error %v", tt.header, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestBearerEvents: every refusal is one audit.EventTokenRefused with a stable
// reason, and neither the log nor the events hold the token.
func TestBearerEvents(t *testing.T) {
	f := newAPIFixture(t)
	custom := f.fake.CustomIssuer("default")
	spaTok := userToken(t, f.fake, custom, spaClientID, nil)
	otherTok := userToken(t, f.fake, custom, otherClientID, nil)
	orgTok := userToken(t, f.fake, f.fake.Issuer(), spaClientID, nil)
	var logs strings.Builder
	var events []audit.Event
	g := f.guard(func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.OnEvent = func(ev audit.Event) { events = append(events, ev) }
	})
	callAPI(g, nil)
	callAPI(g, []string{"orders:read"}, "Bearer "+spaTok)
	callAPI(g, nil, "Bearer "+otherTok)
	callAPI(g, nil, "Bearer "+orgTok)
	callAPI(g, nil, "Bearer "+spaTok) // admitted: no event
	aliceUser, _ := f.fake.LookupUser(alice)
	want := []audit.Event{
		{Name: audit.EventTokenRefused, Reason: audit.ReasonTokenMissing, Path: "/api/orders"},
		{Name: audit.EventTokenRefused, Reason: audit.ReasonInsufficientScope, Subject: aliceUser.ID, Path: "/api/orders"},
		{Name: audit.EventTokenRefused, Reason: audit.ReasonClientNotAllowed, Path: "/api/orders"},
		{Name: audit.EventTokenRefused, Reason: audit.ReasonOrgServerToken, Path: "/api/orders"},
	}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events = %v; want %v", events, want)
	}
	for _, tok := range []string{spaTok, otherTok, orgTok} {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.Contains(logs.String(), sig) || strings.Contains(logs.String(), tok[:40]) {
			t.Fatalf("the log holds a token:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "level=INFO msg=\"oktasso: token_refused\" event=token_refused reason=org_server_token") {
		t.Errorf("log has no info record for the org-server token:\n%s", logs.String())
	}
}
