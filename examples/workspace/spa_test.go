package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// startSPAApp starts the application against fake as dev mode does,
// single-page app included (devSPA); edit, when set, changes the SPA's
// configuration first.
func startSPAApp(t testing.TB, fake *oktatest.Server, edit func(*spaConfig)) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + srv.Listener.Addr().String()
	cfg := devOktaConfig(fake, baseURL)
	cfg.Logger = slog.New(slog.DiscardHandler)
	var sc spaConfig
	if edit != nil {
		edit(&sc)
	}
	sc = devSPA(fake, baseURL, sc)
	accounts := newAccountStore(nil)
	h, auth, err := newApp(t.Context(), appConfig{OIDC: cfg, Accounts: accounts, SPA: sc})
	if err != nil {
		t.Fatalf("newApp() error = %v", err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{fake: fake, app: srv, auth: auth, accounts: accounts}
}

// spaToken signs login in to the single-page app client clientID at the
// fake's authorization server id, as the SPA's script does (authorization
// code, PKCE S256, state; public client), asking for scopes, and returns
// the access token.
func spaToken(t testing.TB, e *env, authServer, clientID, redirectURI, login, scopes string) string {
	t.Helper()
	e.fake.AutoLogin(login)
	issuer := e.fake.CustomIssuer(authServer)
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {scopes},
		"state": {rand.Text()}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	c := &http.Client{Transport: e.fake.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(issuer + "/v1/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != q.Get("state") {
		t.Fatalf("authorize = %d to %q; want a redirect with a code and the state", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	resp, err = c.PostForm(issuer+"/v1/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&tr)
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		t.Fatalf("token request = %d %s; want 200 with an access token", resp.StatusCode, tr.Error)
	}
	return tr.AccessToken
}

// TestAPIClaims: GET /api/claims answers every kind of caller as RFC 6750
// says, and a valid token with the API's scope gets its sub, scp and cid.
func TestAPIClaims(t *testing.T) {
	t.Parallel()
	e := startSPAApp(t, startFake(t), nil)
	redirect := e.app.URL + spaPath
	e.fake.AddClient(oktatest.Client{ID: "other-spa", RedirectURIs: []string{redirect}})
	e.fake.AddAuthServer("orders", "api://orders")
	e.fake.AddScopes("orders", apiScope)

	good := spaToken(t, e, "default", devSPAClientID, redirect, "alice@example.com", "openid profile "+apiScope)
	noScope := spaToken(t, e, "default", devSPAClientID, redirect, "alice@example.com", "openid profile")
	otherClient := spaToken(t, e, "default", "other-spa", redirect, "alice@example.com", "openid "+apiScope)
	otherServer := spaToken(t, e, "orders", devSPAClientID, redirect, "alice@example.com", "openid "+apiScope)
	tampered := good[:len(good)-4] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, good[len(good)-4:])

	tests := []struct {
		name          string
		authorization []string
		wantStatus    int
		wantChallenge string // the WWW-Authenticate header, "" when none
		wantError     string // the JSON body's "error"
	}{
		{"valid token", []string{"Bearer " + good}, http.StatusOK, "", ""},
		{"scheme in lower case", []string{"bearer " + good}, http.StatusOK, "", ""},
		{"no token", nil, http.StatusUnauthorized, `Bearer realm="api"`, "unauthorized"},
		{"another scheme", []string{"Basic YWxpY2U6cHc="}, http.StatusUnauthorized, `Bearer realm="api"`, "unauthorized"},
		{"not a JWT", []string{"Bearer not-a-token"}, http.StatusUnauthorized, `error="invalid_token"`, "invalid_token"},
		{"tampered signature", []string{"Bearer " + tampered}, http.StatusUnauthorized, `error="invalid_token"`, "invalid_token"},
		{"another client", []string{"Bearer " + otherClient}, http.StatusUnauthorized, `error="invalid_token"`, "invalid_token"},
		{"another authorization server", []string{"Bearer " + otherServer}, http.StatusUnauthorized, `error="invalid_token"`, "invalid_token"},
		{"missing scope", []string{"Bearer " + noScope}, http.StatusForbidden, `error="insufficient_scope"`, "insufficient_scope"},
		{"malformed header", []string{"Bearer a b"}, http.StatusBadRequest, `error="invalid_request"`, "invalid_request"},
		{"two headers", []string{"Bearer " + good, "Bearer " + good}, http.StatusBadRequest, `error="invalid_request"`, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.app.URL+"/api/claims", nil)
			for _, a := range tt.authorization {
				req.Header.Add("Authorization", a)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Sub   string   `json:"sub"`
				Scp   []string `json:"scp"`
				Cid   string   `json:"cid"`
				Error string   `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("GET /api/claims: body is not JSON: %v", err)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("GET /api/claims = %d (%s, %q); want %d", resp.StatusCode, body.Error, challenge, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q; want application/json", ct)
			}
			if resp.StatusCode == http.StatusOK {
				if body.Sub != "alice@example.com" || body.Cid != devSPAClientID || !slices.Contains(body.Scp, apiScope) {
					t.Errorf("claims = %+v; want sub alice@example.com, cid %s, scp with %s", body, devSPAClientID, apiScope)
				}
				if challenge != "" {
					t.Errorf("WWW-Authenticate = %q on a 200; want none", challenge)
				}
				return
			}
			if body.Error != tt.wantError {
				t.Errorf("error = %q; want %q", body.Error, tt.wantError)
			}
			switch {
			case !strings.HasPrefix(challenge, "Bearer") || !strings.Contains(challenge, tt.wantChallenge):
				t.Errorf("WWW-Authenticate = %q; want Bearer with %s", challenge, tt.wantChallenge)
			case tt.wantError == "unauthorized" && strings.Contains(challenge, "error="):
				t.Errorf("WWW-Authenticate = %q without a token; want no error attribute (RFC 6750 section 3.1)", challenge)
			case tt.wantError == "insufficient_scope" && !strings.Contains(challenge, `scope="`+apiScope+`"`):
				t.Errorf("WWW-Authenticate = %q; want scope=%q", challenge, apiScope)
			}
		})
	}
}

// TestAPIAudience: OKTASSO_API_AUDIENCE (spaConfig.Audience) is the
// audience the API requires: the default server's tokens (api://default)
// are refused by an API that wants another.
func TestAPIAudience(t *testing.T) {
	t.Parallel()
	e := startSPAApp(t, startFake(t), func(c *spaConfig) { c.Audience = "api://orders" })
	tok := spaToken(t, e, "default", devSPAClientID, e.app.URL+spaPath, "bob@partner.example", "openid "+apiScope)
	req, _ := http.NewRequest("GET", e.app.URL+"/api/claims", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("GET /api/claims with an api://default token = %d, %q; want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestSPAPage: the page carries the settings for its script in data
// attributes, loads its script from this origin, and its
// Content-Security-Policy allows scripts from this origin only and
// requests to this origin and the authorization server's.
func TestSPAPage(t *testing.T) {
	t.Parallel()
	e := startSPAApp(t, startFake(t), nil)
	r := newBrowser(t).get(e.app.URL + spaPath + "?code=x&state=%3Cb%3Ey")
	wantLanding(t, r, e.app.URL+spaPath+"?code=x&state=%3Cb%3Ey",
		`data-issuer="`+e.fake.CustomIssuer("default")+`"`, `data-client-id="`+devSPAClientID+`"`,
		`data-redirect-uri="`+e.app.URL+spaPath+`"`, `data-scopes="openid profile `+apiScope+`"`,
		`<script src="/static/spa.js"></script>`, `class="brand"`)
	if strings.Contains(r.body, "<b>y") || strings.Contains(r.body, "<script>") {
		t.Errorf("the SPA page shows its query or has an inline script:\n%s", r.body)
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self' " + e.fake.URL + ";", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q; want %q in it", csp, want)
		}
	}
	if got := r.header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q; want no-referrer (the address may hold a code)", got)
	}
	js := newBrowser(t).get(e.app.URL + spaScriptURL)
	if js.status != http.StatusOK || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") || !strings.Contains(js.body, "code_challenge_method") {
		t.Errorf("GET %s = %d, %q; want 200 JavaScript", spaScriptURL, js.status, js.header.Get("Content-Type"))
	}
}

// TestSPAUnset: without a single-page app client the page says how to
// set one up, and the API is not served.
func TestSPAUnset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t)
	r := b.get(e.app.URL + spaPath)
	wantLanding(t, r, e.app.URL+spaPath, "OKTASSO_SPA_CLIENT_ID", `class="brand"`)
	if strings.Contains(r.body, "<script") {
		t.Errorf("the set-up page loads a script:\n%s", r.body)
	}
	if r := b.get(e.app.URL + "/api/claims"); r.status != http.StatusNotFound {
		t.Errorf("GET /api/claims without an SPA client = %d; want 404", r.status)
	}
}

func TestAPIIssuer(t *testing.T) {
	tests := []struct{ signIn, want string }{
		{"https://dev-1.okta.com", "https://dev-1.okta.com/oauth2/default"},
		{"https://dev-1.okta.com/", "https://dev-1.okta.com/oauth2/default"},
		{"https://dev-1.okta.com/oauth2/aus1", "https://dev-1.okta.com/oauth2/aus1"},
	}
	for _, tt := range tests {
		if got := apiIssuer(tt.signIn); got != tt.want {
			t.Errorf("apiIssuer(%q) = %q; want %q", tt.signIn, got, tt.want)
		}
	}
}

// TestAPIClaimsFromEnv: against an org (here the fake, as an admin set it
// up per docs/SPA.md), the example reads the SPA's client ID from
// OKTASSO_SPA_CLIENT_ID and checks tokens of the org's "default" server,
// next to the web sign-in's variables: whether the web sign-in uses the org
// server or "default" itself (then the API shares its provider).
func TestAPIClaimsFromEnv(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, issuerPath string }{
		{"web sign-in at the org server", ""},
		{"web sign-in at the default server", "/oauth2/default"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := startFake(t)
			srv := httptest.NewUnstartedServer(nil)
			baseURL := "http://" + srv.Listener.Addr().String()
			fake.AddClient(oktatest.Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{baseURL + "/auth/callback"}})
			fake.AddClient(oktatest.Client{ID: "0oaSPA", RedirectURIs: []string{baseURL + spaPath}})
			fake.AddScopes("default", apiScope)
			vars := map[string]string{
				"OKTA_ISSUER": fake.URL + tt.issuerPath, "OKTA_CLIENT_ID": "web", "OKTA_CLIENT_SECRET": "web-secret",
				"OKTASSO_BASE_URL": baseURL, "OKTASSO_SPA_CLIENT_ID": "0oaSPA",
			}
			getenv := func(k string) string { return vars[k] }
			cfg, err := oktasso.ConfigFromLookup(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			cfg.Logger = slog.New(slog.DiscardHandler)
			h, auth, err := newApp(t.Context(), appConfig{OIDC: cfg, SPA: spaFromEnv(getenv)})
			if err != nil {
				t.Fatalf("newApp() error = %v", err)
			}
			srv.Config.Handler = h
			srv.Start()
			t.Cleanup(srv.Close)
			e := &env{fake: fake, app: srv, auth: auth}

			page := newBrowser(t).get(baseURL + spaPath)
			wantLanding(t, page, baseURL+spaPath, `data-issuer="`+fake.URL+`/oauth2/default"`, `data-client-id="0oaSPA"`)
			tok := spaToken(t, e, "default", "0oaSPA", baseURL+spaPath, "bob@partner.example", "openid "+apiScope)
			req, _ := http.NewRequest("GET", baseURL+"/api/claims", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Sub, Cid string }
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != http.StatusOK || body.Sub != "bob@partner.example" || body.Cid != "0oaSPA" {
				t.Errorf("GET /api/claims = %d %+v; want 200 with bob's sub and cid 0oaSPA", resp.StatusCode, body)
			}
		})
	}
}
