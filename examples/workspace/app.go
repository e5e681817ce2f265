package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/bearer"
)

// appConfig is everything newApp needs.
type appConfig struct {
	// OIDC configures sign-in with Okta. Its OnLogin is replaced by the
	// account store's hook.
	OIDC oktasso.Config
	// Accounts is the local account store. nil means a new, empty one.
	Accounts *accountStore
	// SPA configures the single-page app example and its API (spa.go);
	// without a ClientID, /spa/ says how to set it up and /api/claims is
	// not served.
	SPA spaConfig
}

// app serves the example's own pages.
type app struct {
	accounts    *accountStore
	pages       *pageCache // rendered pages by their data
	log         *slog.Logger
	csp         string
	loginButton template.HTML // oktasso's "Sign in with Okta" button, back to /workspace
	provider    string        // the provider's name on oktasso's pages (OKTASSO_PROVIDER_NAME)
	spa         bool          // the single-page app example is set up
}

// newApp builds the application's handler and its oktasso.Auth. It does not
// listen and does not wait for Okta: discovery runs in the background, and
// guarded pages answer 503 until Okta is reachable.
//
// Routes:
//
//	GET /healthz     "ok", no session needed
//	GET /static/style.css  the pages' stylesheet
//	GET /api/me      the signed-in member as JSON (auth.Workspace; 401 JSON without a session)
//	GET /            landing page: sign-in button, or who is signed in
//	GET /workspace   admin console, internal members only (auth.Workspace): the 20 newest accounts and their count
//	GET /webapp      end-user app, any signed-in user (auth.WebApp)
//	GET /spa/        a single-page app that signs in by itself and calls /api/claims (spa.go)
//	GET /static/spa.js  its script
//	GET /api/claims  the access token's sub, scp and cid (bearer guard, scope claims:read)
//	GET /security/enroll  enroll an authenticator at Okta, then back to /webapp (auth.WebApp)
//	    /auth/…      sign-in, callback and sign-out (auth.Handler)
//	    /…           any other path: a 404 page
//
// oktasso's own pages (the sign-out confirmation, 403, sign-in errors) get
// the application's header through Config.Pages (libraryPages), and after
// sign-out the landing page says so (Session.PostLogoutPath
// "/?signed_out=1", unless set).
func newApp(ctx context.Context, cfg appConfig) (http.Handler, *oktasso.Auth, error) {
	accounts := cfg.Accounts
	if accounts == nil {
		accounts = newAccountStore(cfg.OIDC.Now)
	}
	oc := cfg.OIDC
	oc.Hooks.OnLogin = accounts.Login
	if oc.Session.PostLogoutPath == "" {
		oc.Session.PostLogoutPath = signedOutPath
	}
	var err error
	if oc.Pages, err = libraryPages(oc.Pages); err != nil {
		return nil, nil, fmt.Errorf("workspace: pages: %w", err)
	}
	auth, err := oktasso.New(ctx, oc)
	if err != nil {
		return nil, nil, err
	}
	eff := auth.Config()
	a := &app{
		accounts:    accounts,
		pages:       newPageCache(defaultPageCacheBytes),
		log:         eff.Logger,
		csp:         contentSecurityPolicy(eff.Issuer),
		loginButton: auth.LoginButton("/workspace"),
		provider:    providerName(eff.Pages),
		spa:         cfg.SPA.ClientID != "",
	}
	sc := cfg.SPA
	sc.Issuer = cmp.Or(sc.Issuer, apiIssuer(eff.Issuer))
	sc.Audience = cmp.Or(sc.Audience, bearer.DefaultAudience)
	spaApp, err := newSPA(sc, eff.BaseURL, a.provider)
	if err != nil {
		return nil, nil, fmt.Errorf("workspace: single-page app: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /static/style.css", serveStylesheet)
	mux.Handle("GET /{$}", auth.Identify(http.HandlerFunc(a.home)))
	mux.Handle("GET /workspace", auth.Workspace(http.HandlerFunc(a.workspace)))
	mux.Handle("GET /api/me", auth.Workspace(http.HandlerFunc(a.me)))
	mux.Handle("GET /webapp", auth.WebApp(http.HandlerFunc(a.webapp)))
	mux.Handle("GET /security/enroll", auth.WebApp(enrollPage(auth)))
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/", auth.Identify(http.HandlerFunc(a.notFound)))
	mux.HandleFunc("GET "+spaPath+"{$}", spaApp.servePage)
	mux.Handle("GET "+strings.TrimSuffix(spaPath, "/"), http.RedirectHandler(spaPath, http.StatusMovedPermanently))
	if a.spa {
		bc := bearer.Config{
			Issuer:     sc.Issuer,
			Audiences:  []string{sc.Audience},
			ClientIDs:  []string{sc.ClientID},
			HTTPClient: sc.HTTPClient,
			Now:        oc.Now,
			Logger:     eff.Logger,
		}
		if sc.Issuer == eff.Issuer {
			bc.Provider = auth.Provider() // one discovery and one key set for both
		}
		api, err := bearer.New(ctx, bc)
		if err != nil {
			return nil, nil, fmt.Errorf("workspace: the API's bearer guard (OKTASSO_SPA_CLIENT_ID, OKTASSO_API_ISSUER, OKTASSO_API_AUDIENCE): %w", err)
		}
		mux.HandleFunc("GET "+spaScriptURL, spaApp.serveScript)
		mux.Handle("GET /api/claims", api.Require(apiScope)(http.HandlerFunc(claims)))
		a.log.Info("workspace: single-page app", "url", eff.BaseURL+spaPath, "client_id", sc.ClientID,
			"issuer", sc.Issuer, "audience", sc.Audience, "scope", apiScope)
	}
	return mux, auth, nil
}

// signedOutPath is where sign-out lands: the landing page, with a marker
// it reads to say "You are signed out". The marker is a fixed word, not
// input the page would show.
const signedOutPath = "/?signed_out=1"

// providerName is how oktasso's pages name the identity provider: the
// "oktasso-provider" template of pages (which ConfigFromEnv sets from
// OKTASSO_PROVIDER_NAME), else "Okta". The template may write it escaped,
// as html/template does.
func providerName(pages *template.Template) string {
	if pages == nil || pages.Lookup("oktasso-provider") == nil {
		return "Okta"
	}
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, "oktasso-provider", nil); err != nil {
		return "Okta"
	}
	return cmp.Or(strings.Join(strings.Fields(html.UnescapeString(b.String())), " "), "Okta")
}

// contentSecurityPolicy allows no scripts and no third-party content, and
// styles from this origin's stylesheet only, plus style attributes (the
// "Sign in with Okta" button carries its own, so that it looks right on any
// page). The sign-out form posts to this origin, which redirects to Okta's sign-out
// endpoint; browsers check form-action on that redirect too, so the
// issuer's origin is allowed as a form target.
func contentSecurityPolicy(issuer string) string {
	formAction := "'self'"
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
}

func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok"))
}

// me answers an API client (a single-page app, a script) with the
// signed-in member's identity.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	u := oktasso.UserFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Subject  string `json:"sub"`
		Email    string `json:"email"`
		Name     string `json:"name"`
		Internal bool   `json:"internal"`
	}{u.Subject, u.Email, u.Name, u.Internal})
}

// home is the landing page. auth.Identify puts the user in the context when
// someone is signed in; the page works for both.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	u := oktasso.UserFrom(r.Context())
	signedOut := u == nil && r.URL.Query().Get("signed_out") == "1"
	a.render(w, r, "home", pageData{Title: "Home", User: u, LoginButton: a.loginButton, Provider: a.provider, SignedOut: signedOut, SPA: a.spa}, 0)
}

// notFound answers any path no route has with a 404 page in the
// application's look. It does not show the path.
func (a *app) notFound(w http.ResponseWriter, r *http.Request) {
	a.renderStatus(w, r, http.StatusNotFound, "notfound", pageData{Title: "Page not found", User: oktasso.UserFrom(r.Context()), Provider: a.provider}, 0)
}

// workspaceAccounts is how many accounts the workspace page lists, the
// newest: the page's size, and the cost of rendering it, do not grow with
// the number of accounts.
const workspaceAccounts = 20

// workspace is the admin console: auth.Workspace admitted only an internal
// member, so the user is never nil here.
func (a *app) workspace(w http.ResponseWriter, r *http.Request) {
	data := pageData{Title: "Workspace", User: oktasso.UserFrom(r.Context()), Provider: a.provider}
	version := a.accounts.Version()
	if page := a.pages.get(pageKey("workspace", data, version)); page != nil {
		a.writePage(w, http.StatusOK, page) // the accounts have not changed since
		return
	}
	data.Accounts, data.NumAccounts, version = a.accounts.Recent(workspaceAccounts)
	a.render(w, r, "workspace", data, version)
}

// webapp is an end-user app: auth.WebApp admitted any signed-in user,
// internal or external.
func (a *app) webapp(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "webapp", pageData{Title: "Web app", User: oktasso.UserFrom(r.Context()), Provider: a.provider}, 0)
}
