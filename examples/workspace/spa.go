package main

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/oktasso/oktasso/bearer"
	"github.com/oktasso/oktasso/oktatest"
)

// The single-page app example: a page at /spa/ whose script (static/spa.js,
// plain JavaScript, no build step) signs in by itself as a public client
// (authorization code with PKCE S256 and state) at a custom authorization
// server, and calls GET /api/claims with the access token. The API checks
// the token with package bearer. See docs/SPA.md.

// apiScope is the custom scope GET /api/claims requires. An admin adds it
// to the authorization server (Security → API → Authorization Servers →
// Scopes); the single-page app asks for it.
const apiScope = "claims:read"

// spaScopes are the scopes the single-page app asks for: openid for the ID
// token that signing out at Okta needs, and the API's scope.
const spaScopes = "openid profile " + apiScope

// spaConfig configures the single-page app example and its API. It is
// set up when ClientID is set.
type spaConfig struct {
	// ClientID is the single-page app's client ID in Okta: a public client
	// (no secret) that proves itself with PKCE. OKTASSO_SPA_CLIENT_ID.
	ClientID string
	// Issuer is the custom authorization server that signs the access
	// tokens. OKTASSO_API_ISSUER; empty means the sign-in issuer when it is
	// a custom server, else its org's "default" server.
	Issuer string
	// Audience is the tokens' required "aud". OKTASSO_API_AUDIENCE,
	// default "api://default".
	Audience string
	// HTTPClient fetches the server's discovery and keys; nil means a
	// client with a timeout (package bearer's default).
	HTTPClient *http.Client
}

// spaFromEnv reads the single-page app example's settings.
func spaFromEnv(getenv func(string) string) spaConfig {
	return spaConfig{
		ClientID: getenv("OKTASSO_SPA_CLIENT_ID"),
		Issuer:   getenv("OKTASSO_API_ISSUER"),
		Audience: getenv("OKTASSO_API_AUDIENCE"),
	}
}

// devSPAClientID is the single-page app's client ID in dev mode.
const devSPAClientID = "oktasso-dev-spa"

// devSPA registers the single-page app in the fake Okta org fake as an
// admin does in Okta (docs/SPA.md): a public client whose sign-in and
// sign-out redirect URI is baseURL+"/spa/", the app's origin as a trusted
// origin with CORS, and the API's scope on the "default" authorization
// server. It returns c with the dev-mode client, issuer and HTTP client
// filled in where c leaves them empty.
func devSPA(fake *oktatest.Server, baseURL string, c spaConfig) spaConfig {
	page := baseURL + spaPath
	fake.AddClient(oktatest.Client{ID: devSPAClientID, RedirectURIs: []string{page}, PostLogoutRedirectURIs: []string{page}})
	if u, err := url.Parse(baseURL); err == nil {
		fake.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	fake.AddScopes("default", apiScope)
	c.ClientID = cmp.Or(c.ClientID, devSPAClientID)
	c.Issuer = cmp.Or(c.Issuer, fake.CustomIssuer("default"))
	if c.HTTPClient == nil {
		c.HTTPClient = fake.Client()
	}
	return c
}

// apiIssuer is the issuer of the API's access tokens when
// OKTASSO_API_ISSUER is not set: the sign-in issuer if it is a custom
// authorization server, else the "default" server of its org.
func apiIssuer(signInIssuer string) string {
	if strings.Contains(signInIssuer, "/oauth2/") {
		return signInIssuer
	}
	return strings.TrimSuffix(signInIssuer, "/") + "/oauth2/default"
}

const spaPath = "/spa/"

//go:embed static/spa.js
var spaScript []byte

// spaPage is the single-page app's page; its script reads the settings
// from the data attributes of #spa, so the page needs no inline script.
var spaPage = template.Must(template.Must(base.Clone()).Parse(`{{define "content"}}<h1>Single-page app and API</h1>
<p>This page is a browser app: its script signs in with {{.Provider}} by itself, as a public client with PKCE,
and sends the access token to this application's API, <code>GET /api/claims</code>. It does not use the
application's own sign-in.</p>
<section id="spa" data-issuer="{{.Issuer}}" data-client-id="{{.ClientID}}" data-scopes="{{.Scopes}}" data-redirect-uri="{{.RedirectURI}}" aria-labelledby="spa-h">
<h2 id="spa-h">Access token</h2>
<p id="spa-status" role="status">This page needs JavaScript.</p>
<div class="actions">
<button type="button" id="spa-signin" hidden>Sign in with {{.Provider}}</button>
<button type="button" id="spa-call" hidden>Call the API</button>
<button type="button" id="spa-call-anon" hidden>Call the API without a token</button>
<button type="button" id="spa-signout" hidden>Sign out</button>
</div>
</section>
<section id="api-result" aria-labelledby="api-h" hidden>
<h2 id="api-h">GET /api/claims</h2>
<p id="api-status"></p>
<pre id="api-body"></pre>
</section>
<p class="note">Issuer <code>{{.Issuer}}</code>, client <code>{{.ClientID}}</code>, scopes <code>{{.Scopes}}</code>.</p>
<script src="{{.ScriptURL}}"></script>{{end}}`))

// spaUnset is the page at /spa/ when the example has no single-page app
// client.
var spaUnset = template.Must(template.Must(base.Clone()).Parse(`{{define "content"}}<h1>Single-page app and API</h1>
<p>The single-page app example is not set up: set <code>OKTASSO_SPA_CLIENT_ID</code> to the client ID of a
Single-Page Application in {{.Provider}} (see docs/SPA.md in the oktasso repository), or run the example
without any {{.Provider}} settings to try it against the fake org.</p>
<p><a href="/">Go to the home page</a></p>{{end}}`))

// spa serves the single-page app: its page, its script and the API.
type spa struct {
	page   []byte // rendered once: it depends on the configuration only
	csp    string
	script []byte
}

// newSPA renders the single-page app's page for the application at baseURL.
// With no client ID it renders the page that says how to set it up.
func newSPA(c spaConfig, baseURL, provider string) (*spa, error) {
	data := struct {
		Title, Provider, Issuer, ClientID, Scopes, RedirectURI, ScriptURL string
		User                                                              any // the layout's: nobody, the page signs in by itself
	}{"Single-page app", provider, c.Issuer, c.ClientID, spaScopes, baseURL + spaPath, spaScriptURL, nil}
	t := spaPage
	if c.ClientID == "" {
		t = spaUnset
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, err
	}
	return &spa{page: buf.Bytes(), csp: spaContentSecurityPolicy(c.Issuer), script: spaScript}, nil
}

// spaScriptURL is where the page loads its script from.
const spaScriptURL = "/static/spa.js"

// spaContentSecurityPolicy allows scripts and styles from this origin
// only, and script requests to this origin (the API) and to the
// authorization server's (discovery and token).
func spaContentSecurityPolicy(issuer string) string {
	connect := "'self'"
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; connect-src " + connect + "; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
}

// servePage serves GET /spa/. The address may carry an authorization
// response (code and state): no referrer leaves the page.
func (s *spa) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.Write(s.page)
}

// serveScript serves GET /static/spa.js.
func (s *spa) serveScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.Write(s.script)
}

// claims answers GET /api/claims, behind the bearer guard, with the
// access token's sub, scp and cid.
func claims(w http.ResponseWriter, r *http.Request) {
	t := bearer.TokenFrom(r.Context())
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(struct {
		Subject  string   `json:"sub"`
		Scopes   []string `json:"scp"`
		ClientID string   `json:"cid"`
	}{t.Subject, scopes, t.ClientID})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	io.Copy(w, &buf)
}
