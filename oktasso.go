// Package oktasso adds "Sign in with Okta" to a Go web service.
//
// It is an OpenID Connect relying party built for Okta (any standards-compliant
// OpenID provider works too): discovery, the authorize redirect with state,
// nonce and PKCE, the callback with code exchange and ID-token verification, an
// encrypted cookie session, route guards for a Workspace scope (internal
// members only) and a WebApp scope (external users allowed), and logout.
//
// Typical wiring:
//
//	cfg, err := oktasso.ConfigFromEnv()
//	if err != nil {
//		log.Fatal(err)
//	}
//	auth, err := oktasso.New(ctx, cfg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.Handle("/auth/", auth.Handler())
//	mux.Handle("/workspace", auth.Workspace(workspaceHandler))
//	mux.Handle("/webapp", auth.WebApp(webappHandler))
//
// Handlers read the signed-in user with [UserFrom].
//
// The package oktatest provides a fake Okta org for tests and offline
// development.
//
// The package depends only on github.com/go-jose/go-jose/v4 and
// golang.org/x/oauth2; its cookies are sealed with the standard library's
// AES-GCM.
package oktasso

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oktasso/oktasso/store"
	"golang.org/x/oauth2"
)

// Routes served by Auth.Handler, relative to the base URL.
const (
	loginPath          = "/auth/login"
	initiateLoginPath  = "/auth/initiate-login"
	CallbackPath       = "/auth/callback"
	LogoutPath         = "/auth/logout"
	logoutCallbackPath = "/auth/logout/callback"
	authPrefix         = "/auth/" // every route's; Handler answers the rest of it
)

// Auth is an OpenID Connect relying party: it serves the sign-in, callback
// and sign-out routes and guards application routes. Create it with New. An
// Auth is safe for concurrent use.
type Auth struct {
	cfg      Config
	provider *Provider
	cookies  *cookies
	used     *usedStates
	pages    *template.Template
	// providerName names the provider on pages and the login button
	// (the "oktasso-provider" template).
	providerName string
	refresh      refreshes

	policyMu sync.RWMutex
	claimSet []string // claims sessions keep (Config.Session.Claims and policies)
	groupSet []string // groups policies name
	purposes map[string]*Purpose
	// tokenHTTP calls the token endpoint: HTTPClient, plus client
	// assertions with private_key_jwt (clientauth.go).
	tokenHTTP *http.Client
	cache     *sessionCache // nil: no caching
	workspace Policy        // Access.Workspace; the zero Policy admits nobody there
	members   *memberCache  // RequireMember answers
	// multi is Config.Store when it reads several keys at once: the
	// revocation check's one read.
	multi store.MultiGetStore
	mem   *store.Memory // Config.Store when it is the memory store
	marks string        // markPrefix of this application
	// orgKeys is the org authorization server, whose keys sign Universal
	// Logout requests (universallogout.go); made on first use.
	orgKeys struct {
		once sync.Once
		p    *Provider
		err  error
	}
	// frontchannel bounds the marks that front-channel logout, an
	// unauthenticated request, may write (backchannel.go).
	frontchannel markLimiter
}

// New validates cfg, reporting every problem at once, and returns an Auth.
// It does not wait for the provider: discovery starts in the background and
// is retried on demand, so the application starts while Okta is
// unreachable (guarded routes answer 503 until it is back).
func New(ctx context.Context, cfg Config) (*Auth, error) {
	c, err := cfg.normalize(nil)
	if err != nil {
		return nil, err
	}
	p, err := NewProvider(c.Issuer, c.HTTPClient, c.Now, c.Logger)
	if err != nil {
		return nil, err
	}
	if c.OAuth2 != nil {
		p.useOAuth2(c.OAuth2)
	}
	secure := strings.HasPrefix(c.BaseURL, "https://")
	ck, err := cookiesFor(c, secure)
	if err != nil {
		return nil, err
	}
	warnConfig(c, secure)
	creds, err := newClientCreds(c.Client.ID, c.Client.Secret, c.Client.AuthMethod, c.Client.PrivateKey, c.Client.PrivateKeyID, c.Now)
	if err != nil {
		return nil, err
	}
	a := &Auth{cfg: c, provider: p, cookies: ck, used: newUsedStates(4096), pages: c.Pages, tokenHTTP: creds.HTTPClient(c.HTTPClient),
		cache: newSessionCache(c.Session.CacheSize)}
	a.multi, _ = c.Store.(store.MultiGetStore)
	a.mem, _ = c.Store.(*store.Memory)
	a.marks = markPrefix(a.indexApp(), c.Issuer)
	a.claimSet = slices.Clone(c.Session.Claims)
	a.workspace = c.Access.Workspace
	if a.workspace.isZero() {
		a.workspace = nobody
	}
	a.members = newMemberCache(c.Access.RecheckInterval, c.Now)
	for _, p := range []Policy{c.Access.SignIn, a.workspace, c.Access.WebApp} {
		a.notePolicy(p)
	}
	if a.pages == nil {
		a.pages = builtinPages
	}
	a.providerName, _ = providerNameOf(a.pages) // checked by normalize
	go p.discover(context.WithoutCancel(ctx))
	return a, nil
}

// cookiesFor makes the cookie codec of c: keys bound to the issuer, the
// client and the cookie name, and the cookie name prefixed with __Host-
// over https.
func cookiesFor(c Config, secure bool) (*cookies, error) {
	keyContext := c.Issuer + " " + c.Client.ID
	if c.Session.CookieName != "" { // tenants sharing an issuer and client still get keys of their own
		keyContext += " " + c.Session.CookieName
	}
	ck, err := newCookies(secure, c.Session.Keys, keyContext)
	if err != nil {
		return nil, err
	}
	ck.maxChunks = c.Session.MaxCookies
	if c.Session.CookieName != "" {
		ck.setPrefix(c.Session.CookieName)
	}
	if u, err := url.Parse(c.BaseURL); err == nil {
		ck.hintPath = u.Path + LogoutPath
	}
	ck.session.issuer = c.Issuer
	return ck, nil
}

// warnConfig logs what in c works but is weaker than it should be in
// production: a store that cannot find sessions to end, a random session
// key, session lifetimes under a minute, cookies without Secure.
func warnConfig(c Config, secure bool) {
	if _, ok := c.Store.(store.SetStore); !ok && c.Session.Storage != SessionInCookie {
		c.Logger.Warn("oktasso: the session store is not a SetStore; ending a user's sessions cannot delete the sessions and tokens kept in it (they still end)")
	}
	if len(c.Session.Keys) == 0 {
		c.Logger.Warn("oktasso: no session keys configured; using a random key, so sessions end when the process restarts and are not shared between instances (set " + envSessionKeys + ")")
	}
	for _, d := range []struct {
		what string
		v    time.Duration
	}{{"idle timeout", c.Session.IdleTimeout}, {"max age", c.Session.MaxAge}} {
		if d.v < time.Minute {
			c.Logger.Warn("oktasso: the session "+d.what+" is under one minute: fine for trying out expiry, too short for people", "value", d.v.String())
		}
	}
	if !secure && !isLoopback(hostOf(c.BaseURL)) {
		c.Logger.Warn("oktasso: base URL is http on a non-loopback host; cookies are not Secure", "base_url", c.BaseURL)
	}
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Provider returns the provider connection.
func (a *Auth) Provider() *Provider { return a.provider }

// Config returns the effective configuration, defaults filled in.
func (a *Auth) Config() Config { return a.cfg }

// RedirectURL is the sign-in redirect URI to register in Okta.
func (a *Auth) RedirectURL() string { return a.cfg.BaseURL + CallbackPath }

// InitiateLoginURL is the "Initiate login URI" to register in Okta, so the
// app's tile on the Okta dashboard signs people in.
func (a *Auth) InitiateLoginURL() string { return a.cfg.BaseURL + initiateLoginPath }

// PostLogoutRedirectURL is the sign-out redirect URI to register in Okta.
func (a *Auth) PostLogoutRedirectURL() string { return a.cfg.BaseURL + logoutCallbackPath }

// LoginURL returns the absolute URL that starts a sign-in and comes back to
// returnTo (a same-origin path; anything else becomes "/").
func (a *Auth) LoginURL(returnTo string) string {
	return a.cfg.BaseURL + loginPath + "?" + url.Values{"return_to": {safePath(returnTo)}}.Encode()
}

// Handler serves the sign-in and sign-out routes under /auth/. Mount it with
// mux.Handle("/auth/", auth.Handler()). Any other path under /auth/ gets a
// 404 page in the application's look (Config.Pages, or JSON for an API
// client), and a route asked with another method a 405 naming the allowed
// ones.
func (a *Auth) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, a.handleLogin)
	mux.HandleFunc("GET "+initiateLoginPath, a.handleInitiateLogin)
	mux.HandleFunc("GET "+CallbackPath, a.handleCallback)
	mux.HandleFunc("GET "+CallbackPath+"/{purpose}", a.handleCallback)
	mux.HandleFunc("GET "+LogoutPath, a.handleLogoutPage)
	mux.HandleFunc("POST "+LogoutPath, a.handleLogout)
	mux.HandleFunc("GET "+logoutCallbackPath, a.handleLogoutCallback)
	mux.HandleFunc("POST "+backchannelLogoutPath, a.handleBackchannelLogout)
	mux.HandleFunc("GET "+frontchannelLogoutPath, a.handleFrontchannelLogout)
	mux.HandleFunc("POST "+universalLogoutPath, a.handleUniversalLogout)
	mux.HandleFunc(authPrefix, func(w http.ResponseWriter, r *http.Request) { a.handleNoRoute(w, r, mux) })
	return mux
}

// oauth2Config builds the OAuth 2.0 client for the discovered endpoints.
func (a *Auth) oauth2Config(d *discovered) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if a.cfg.Client.AuthMethod == ClientSecretPost || a.cfg.Client.Secret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     a.cfg.Client.ID,
		ClientSecret: string(a.cfg.Client.Secret),
		RedirectURL:  a.RedirectURL(),
		Scopes:       a.cfg.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   d.meta.AuthorizationEndpoint,
			TokenURL:  d.meta.TokenEndpoint,
			AuthStyle: style,
		},
	}
}

// flowConfig is oauth2Config with the redirect URI of flow f.
func (a *Auth) flowConfig(d *discovered, f *flow) *oauth2.Config {
	c := a.oauth2Config(d)
	if f.Redirect != "" {
		c.RedirectURL = a.cfg.BaseURL + f.Redirect
	}
	return c
}

// now is the configured clock.
func (a *Auth) now() time.Time { return a.cfg.Now() }

// redirect sends the browser to a same-origin path, as an absolute URL on
// the configured base URL: request headers never choose the host.
func (a *Auth) redirect(w http.ResponseWriter, r *http.Request, path string, code int) {
	http.Redirect(w, r, a.cfg.BaseURL+safePath(path), code)
}

// errNoRoute is the error a 404 under /auth/ hands to Hooks.ErrorHandler.
var errNoRoute = errors.New("oktasso: no such page")

// handleNoRoute answers a request under /auth/ that no route of mux takes:
// 405 with Allow when the path is a route's with another method, else a
// 404 page (JSON for an API client). The path is never shown back.
func (a *Auth) handleNoRoute(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != authPrefix {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "method not allowed", "")
		return
	}
	if isAPI(r) {
		writeJSONError(w, http.StatusNotFound, "not_found", "no such page", "")
		return
	}
	a.fail(w, r, http.StatusNotFound, errNoRoute, pageNotFound)
}
