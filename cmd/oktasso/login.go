package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/oktasso/oktasso"
)

type loginOptions struct {
	baseURL    string
	listen     string
	noBrowser  bool
	showTokens bool
	timeout    time.Duration
	verbose    bool
}

func loginFlags(o *loginOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	fs.StringVar(&o.baseURL, "base-url", "", "loopback `URL` to sign in through (default: "+"OKTASSO_BASE_URL"+" when it is loopback, else "+"http://localhost:8080"+")")
	fs.StringVar(&o.listen, "listen", "", "`ADDR` to listen on (default: the base URL's host:port); with port 0 the base URL becomes http://ADDR with the port chosen")
	fs.BoolVar(&o.noBrowser, "no-browser", false, "print the sign-in URL without opening a browser")
	fs.BoolVar(&o.showTokens, "show-tokens", false, "also print the raw ID, access and refresh tokens")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the sign-in")
	fs.BoolVar(&o.verbose, "v", false, "show the library's log on stderr")
	return fs
}

func loginCommand() *command {
	return &command{
		name:    "login",
		summary: "sign in from the terminal and show the claims and userinfo that arrive",
		usage:   "oktasso login [--base-url URL] [--listen ADDR] [--no-browser] [--show-tokens] [--timeout 5m] [-v]",
		about: `
Login runs a real sign-in with the library itself (authorization code with
PKCE, ID-token verification, userinfo) on a loopback address: it opens the
browser at the sign-in URL (or prints it), waits for the redirect back, then
prints the verified ID-token claims and the userinfo response, and whether
email, email_verified and groups arrived and which OKTASSO_WORKSPACE_GROUPS
matched. Tokens are printed only with --show-tokens.

The sign-in redirect URI {base}/auth/callback must be registered on the app
in Okta (or the provider OKTASSO_PROVIDER_NAME names); with the default base URL that is http://localhost:8080/auth/callback,
usually registered already for local development. A non-loopback
OKTASSO_BASE_URL is not used: the sign-in goes through --base-url.

Exit status: 0 when signed in and every line is ✓, 1 otherwise, 2 on a bad
command line.`,
		vars: configVars + `OKTASSO_BASE_URL            used when its host is loopback (localhost, 127.0.0.1, ::1)
OKTASSO_WORKSPACE_GROUPS    groups whose members are internal; login shows which matched
OKTASSO_WEBAPP_GROUPS       groups admitted to the webapp scope; login shows which matched
OKTASSO_ALLOWED_EMAIL_DOMAINS  login reports whether the email domain is allowed`,
		example: `
oktasso login
oktasso login --base-url http://localhost:3000 --no-browser
oktasso login --show-tokens`,
		flags: func() *flag.FlagSet { return loginFlags(&loginOptions{}) },
		run:   (*app).runLogin,
	}
}

// loginVarsHidden are variables login does not use: it makes its own
// session key and its own base URL, so their mistakes must not stop it.
var loginVarsHidden = []string{
	"OKTASSO_BASE_URL", "OKTASSO_SESSION_KEYS", "OKTASSO_SESSION_IDLE_TIMEOUT", "OKTASSO_SESSION_MAX_AGE",
	"OKTASSO_ENFORCE_WORKSPACE", "OKTASSO_ENFORCE_WEBAPP",
}

// signIn is what a finished sign-in yields.
type signIn struct {
	user  *oktasso.User
	token *oauth2.Token
	err   error
}

func (a *app) runLogin(ctx context.Context, args []string) int {
	var o loginOptions
	c := loginCommand()
	if code, done := a.parseFlags(c, loginFlags(&o), args); done {
		return code
	}
	failf := func(format string, args ...any) int {
		fmt.Fprintf(a.stderr, "oktasso login: "+format+"\n", args...)
		return exitFail
	}

	cfg, ok := a.loginConfig()
	if !ok {
		return exitFail
	}
	base, ignoredEnv, err := a.loginBaseURL(o.baseURL)
	if err != nil {
		return failf("%s", err.Error())
	}
	ln, err := loginListener(o.listen, base, a.providerName())
	if err != nil {
		return failf("%s", err.Error())
	}
	defer ln.Close()

	logger := slog.New(slog.DiscardHandler)
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	allowedDomains := a.envList("OKTASSO_ALLOWED_EMAIL_DOMAINS")
	for i, d := range allowedDomains {
		allowedDomains[i] = strings.ToLower(strings.TrimPrefix(d, "@"))
	}
	cfg.Access.SignIn = oktasso.Policy{} // reported below instead of refusing the sign-in
	cfg.BaseURL = strings.TrimRight(base.String(), "/")
	cfg.Session.Keys = []oktasso.Secret{oktasso.Secret(rand.Text() + rand.Text())}
	cfg.Logger = logger

	lw := &loginWait{finished: make(chan signIn, 1)}
	cfg.Hooks.OnLogin = lw.onLogin
	cfg.Hooks.ErrorHandler = lw.errorHandler
	auth, err := oktasso.New(ctx, cfg)
	if err != nil {
		msg := strings.TrimPrefix(errText(err), "oktasso: ")
		if !strings.Contains(msg, fixSep) {
			msg += fixSep + "run oktasso check, which names the variable to change"
		}
		return failf("%s", msg)
	}
	cfg = auth.Config()
	userInfoURL, err := auth.Provider().Endpoint(ctx, "userinfo_endpoint")
	if err != nil {
		return failf("cannot use the provider at %s: %s — fix: run oktasso check", cfg.Issuer, strings.TrimPrefix(errText(err), "oktasso: "))
	}

	srv := serveLogin(ln, base, auth, lw, logger)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	a.announceLogin(auth, cfg.BaseURL, ignoredEnv, o)

	wait, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var s signIn
	select {
	case s = <-lw.finished:
	case <-wait.Done():
		if ctx.Err() != nil {
			return failf("interrupted")
		}
		return failf("no sign-in within %s — fix: open the URL above, or raise --timeout", o.timeout)
	}
	if s.err != nil {
		return failf("sign-in failed: %s — fix: %s", strings.TrimPrefix(errText(s.err), "oktasso: "), loginFix(s.err, auth))
	}
	return a.printSignIn(ctx, cfg, userInfoURL, s, allowedDomains, o.showTokens)
}

// loginConfig reads the configuration from the environment, without the
// variables in loginVarsHidden, and prints its problems if it cannot.
func (a *app) loginConfig() (oktasso.Config, bool) {
	cfg, err := oktasso.ConfigFromLookup(func(name string) (string, bool) {
		if slices.Contains(loginVarsHidden, name) {
			return "", false
		}
		return a.lookup(name)
	})
	if err != nil {
		for _, r := range configResults(err) {
			fmt.Fprintf(a.stderr, "oktasso login: %s\n", strings.TrimPrefix(r.String(), "✗ config: "))
		}
		return cfg, false
	}
	return cfg, true
}

// loginListener listens on listen, by default base's host and port (80
// when it has none). When listen's port is 0, base gets the port chosen.
// provider names the identity provider in the error.
func loginListener(listen string, base *url.URL, provider string) (net.Listener, error) {
	if listen == "" {
		listen = base.Host
		if base.Port() == "" {
			listen = net.JoinHostPort(base.Hostname(), "80")
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %s — fix: stop what uses it, or pass --base-url http://localhost:PORT (register PORT's /auth/callback in %s)", listen, errText(err), provider)
	}
	if _, port, _ := net.SplitHostPort(listen); port == "0" {
		base.Host = ln.Addr().String()
	}
	return ln, nil
}

// loginWait carries the sign-in from the library's hooks and the landing
// page to runLogin.
type loginWait struct {
	finished chan signIn // the first sign-in to finish or fail; one slot
	mu       sync.Mutex
	got      *signIn // what OnLogin saw, guarded by mu
}

// finish reports s, unless a sign-in was reported already.
func (lw *loginWait) finish(s signIn) {
	select {
	case lw.finished <- s:
	default:
	}
}

// onLogin is the OnLogin hook: it keeps the user and the token.
func (lw *loginWait) onLogin(ctx context.Context, u *oktasso.User, tok *oauth2.Token) error {
	cp := *u
	lw.mu.Lock()
	lw.got = &signIn{user: &cp, token: tok}
	lw.mu.Unlock()
	return nil
}

// errorHandler is the ErrorHandler hook: it reports the failed sign-in.
func (lw *loginWait) errorHandler(w http.ResponseWriter, r *http.Request, status int, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "Sign-in failed (HTTP %d); see the terminal.\n", status)
	lw.finish(signIn{err: err})
}

// landing serves the page the sign-in returns to: once the session and
// what OnLogin saw are there, it reports the sign-in; before, it links to
// the sign-in.
func (lw *loginWait) landing(auth *oktasso.Auth) http.Handler {
	return auth.Identify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		lw.mu.Lock()
		s := lw.got
		lw.mu.Unlock()
		if oktasso.UserFrom(r.Context()) == nil || s == nil {
			fmt.Fprintf(w, "<!doctype html><title>oktasso login</title><p>Not signed in. <a href=\"%s\">Sign in</a>.</p>\n", html.EscapeString(auth.LoginURL("/")))
			return
		}
		fmt.Fprintf(w, "<!doctype html><title>oktasso login</title><p>Signed in as %s, you can close this tab.</p>\n", html.EscapeString(displayName(s.user)))
		lw.finish(*s)
	}))
}

// serveLogin serves auth's routes and the landing page under base's path
// on ln, until the returned server is shut down.
func serveLogin(ln net.Listener, base *url.URL, auth *oktasso.Auth, lw *loginWait, logger *slog.Logger) *http.Server {
	prefix := strings.TrimRight(base.Path, "/")
	mux := http.NewServeMux()
	mux.Handle(prefix+"/auth/", http.StripPrefix(prefix, auth.Handler()))
	mux.Handle(prefix+"/", http.StripPrefix(prefix, lw.landing(auth)))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	go func() { _ = srv.Serve(ln) }()
	return srv
}

// announceLogin prints the redirect URI and the sign-in URL, and opens the
// browser at it unless o.noBrowser.
func (a *app) announceLogin(auth *oktasso.Auth, baseURL string, ignoredEnv bool, o loginOptions) {
	loginURL := auth.LoginURL("/")
	if ignoredEnv {
		fmt.Fprintf(a.stdout, "%s is not a loopback URL; signing in through %s instead (--base-url chooses)\n", "OKTASSO_BASE_URL", baseURL)
	}
	fmt.Fprintf(a.stdout, "Sign-in redirect URI (must be registered on the app in %s): %s\n", a.providerName(), auth.RedirectURL())
	fmt.Fprintf(a.stdout, "Sign in at:\n  %s\n", loginURL)
	if !o.noBrowser {
		if err := a.open(loginURL); err != nil {
			fmt.Fprintf(a.stdout, "(could not open a browser: %s; open the URL yourself)\n", errText(err))
		}
	}
	fmt.Fprintf(a.stdout, "Waiting up to %s for the sign-in...\n", o.timeout)
}

// loginBaseURL picks the loopback base URL to sign in through; ignoredEnv
// reports a non-loopback OKTASSO_BASE_URL passed over.
func (a *app) loginBaseURL(flagValue string) (base *url.URL, ignoredEnv bool, err error) {
	raw, from := flagValue, "--base-url"
	if raw == "" {
		if _, env := firstSet(a.lookup, "OKTASSO_BASE_URL"); env != "" {
			if u, err := url.Parse(env); err == nil && isLoopback(u.Hostname()) {
				raw, from = env, "OKTASSO_BASE_URL"
			} else {
				ignoredEnv = true
			}
		}
	}
	if raw == "" {
		raw = "http://localhost:8080"
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Scheme != "http" || !isLoopback(u.Hostname()) || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, false, fmt.Errorf("%s %q is not an http URL on a loopback host — fix: use e.g. http://localhost:8080", from, raw)
	}
	return u, ignoredEnv, nil
}

// loginFix suggests what to do about a failed sign-in.
func loginFix(err error, auth *oktasso.Auth) string {
	var oe *oktasso.Error
	switch {
	case errors.As(err, &oe) && oe.Code == "invalid_client":
		return "the client ID or secret is wrong; run oktasso check"
	case errors.As(err, &oe) && oe.Code == "access_denied":
		return "assign the user to the app in Okta (the app's Assignments tab)"
	case errors.As(err, &oe) && oe.Code == "invalid_scope":
		return "check " + "OKTASSO_SCOPES" + "; custom authorization servers send groups in a claim, not a scope"
	case errors.Is(err, oktasso.ErrInvalidCallback):
		return "start again from the printed URL, in one tab; is " + auth.RedirectURL() + " the app's sign-in redirect URI?"
	}
	return "run oktasso check"
}

// printSignIn prints the verified claims, userinfo (from userInfoURL, the
// discovered endpoint, if any) and the ✓/✗ lines.
func (a *app) printSignIn(ctx context.Context, cfg oktasso.Config, userInfoURL string, s signIn, allowedDomains []string, showTokens bool) int {
	u := s.user
	w := a.stdout
	fmt.Fprintf(w, "\nSigned in as %s (sub %s, issuer %s)\n", displayName(u), u.Subject, u.Issuer)

	rawID, _ := s.token.Extra("id_token").(string)
	fmt.Fprintln(w, "\nID token claims (verified):")
	if claims, err := jwtPayload(rawID); err != nil {
		fmt.Fprintf(w, "  (cannot decode: %s)\n", errText(err))
	} else {
		fmt.Fprintln(w, claims)
	}

	fmt.Fprintln(w, "\nUserinfo:")
	var results []result
	if userInfoURL == "" {
		fmt.Fprintln(w, "  (the provider has no userinfo_endpoint)")
	} else if info, err := userInfo(ctx, cfg.HTTPClient, userInfoURL, s.token.AccessToken); err != nil {
		fmt.Fprintf(w, "  (%s)\n", errText(err))
		results = append(results, fail("userinfo", "run oktasso check", "%s", errText(err)))
	} else {
		fmt.Fprintln(w, info)
	}

	if showTokens {
		fmt.Fprintln(w, "\nTokens (secrets: do not paste them anywhere public):")
		fmt.Fprintf(w, "  ID token:      %s\n", rawID)
		fmt.Fprintf(w, "  Access token:  %s\n", s.token.AccessToken)
		if s.token.RefreshToken != "" {
			fmt.Fprintf(w, "  Refresh token: %s\n", s.token.RefreshToken)
		}
	}

	results = append(results, claimResults(cfg, a.providerName(), u, a.envList("OKTASSO_WORKSPACE_GROUPS"), a.envList("OKTASSO_WEBAPP_GROUPS"), allowedDomains)...)
	fmt.Fprintln(w)
	printResults(w, results)
	if anyFailed(results) {
		return exitFail
	}
	return exitOK
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// openBrowser asks the desktop to open u.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
