// Command workspace is a runnable example of oktasso: an application with a
// landing page, an admin console (/workspace, internal members only) and an
// end-user app (/webapp, external users allowed), signed in with Okta, that
// creates a local account on each person's first sign-in.
//
// With no OKTA_* sign-in variable in the environment it runs in dev mode:
// it starts a fake Okta org (package oktatest) with two demo users, so it
// works offline:
//
//	go run ./examples/workspace
//
// Dev mode stays put: the fake listens on a fixed loopback address
// (OKTASSO_DEV_OKTA_ADDR or -okta-addr, default 127.0.0.1:8082) and keeps
// its keys and users in a state folder (OKTASSO_DEV_DIR or -dev-dir,
// default oktasso/workspace in the user config folder), so a restart signs
// the same person in to the same local account. -reset forgets the fake
// org and the accounts. OKTASSO_DEV=1 (or -dev) asks for dev mode even with
// OKTA_* variables set.
//
// With OKTA_DOMAIN (or OKTA_ISSUER, or OKTA_OAUTH2_ISSUER) set it signs in
// with that Okta org, configured by oktasso.ConfigFromEnv's variables:
//
//	OKTA_DOMAIN=dev-123.okta.com OKTA_CLIENT_ID=0oa… OKTA_CLIENT_SECRET=… \
//	OKTASSO_WORKSPACE_GROUPS="Workspace Members" go run ./examples/workspace
//
// Any OKTA_* sign-in variable set without enough to sign in stops it with
// what is missing, rather than falling back to dev mode. Another OpenID
// provider works the same way with OKTA_ISSUER set to its issuer;
// OKTASSO_PROVIDER_NAME (e.g. Keycloak) is then how its pages, and
// oktasso's, name it instead of "Okta".
//
// Accounts created at first sign-in are kept in the JSON file ACCOUNTS_FILE
// (default accounts.json in the state folder), so they survive a restart;
// /workspace lists the 20 newest and says how many there are.
//
// In the background it syncs the org's directory (package directory) into
// the accounts and ends the sessions of people suspended or deactivated in
// Okta, every OKTASSO_SYNC_INTERVAL (default 1m; 0 turns it off): in dev
// mode always, with a real org when OKTA_API_TOKEN, or a service app's
// OKTASSO_SYNC_CLIENT_ID and OKTA_PRIVATE_KEY (OKTA_PRIVATE_KEY_ID), are
// set. Its state is directory-sync.json in the state folder.
//
// It listens on ADDR (default localhost:8080; the -addr flag overrides it)
// and stops gracefully on SIGINT or SIGTERM. The base URL, which the
// start-up log prints as the URL to open, is OKTASSO_BASE_URL, else
// http://ADDR.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

const defaultAddr = "localhost:8080"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// settings are the example's own settings, from flags and the environment
// (flags win).
type settings struct {
	addr     string // ADDR, -addr
	dev      bool   // OKTASSO_DEV, -dev
	oktaAddr string // OKTASSO_DEV_OKTA_ADDR, -okta-addr
	stateDir string // OKTASSO_DEV_DIR, -dev-dir
	reset    bool   // -reset
}

func parseSettings(args []string, getenv func(string) string, out io.Writer) (settings, error) {
	var st settings
	fs := flag.NewFlagSet("workspace", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&st.addr, "addr", cmp.Or(getenv("ADDR"), defaultAddr), "listen `address` (environment: ADDR)")
	devEnv, _ := strconv.ParseBool(getenv("OKTASSO_DEV"))
	fs.BoolVar(&st.dev, "dev", devEnv, "dev mode (a fake Okta org) even with OKTA_* variables set (environment: OKTASSO_DEV=1)")
	fs.StringVar(&st.oktaAddr, "okta-addr", cmp.Or(getenv("OKTASSO_DEV_OKTA_ADDR"), defaultOktaAddr), "dev mode: the fake Okta org's listen `address` (environment: OKTASSO_DEV_OKTA_ADDR)")
	fs.StringVar(&st.stateDir, "dev-dir", getenv("OKTASSO_DEV_DIR"), "the `folder` of dev mode's state and the accounts file (environment: OKTASSO_DEV_DIR; default oktasso/workspace in the user config folder)")
	fs.BoolVar(&st.reset, "reset", false, "forget dev mode's fake org and the accounts file before starting")
	if err := fs.Parse(args); err != nil {
		return st, err
	}
	if v := getenv("OKTASSO_DEV"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return st, fmt.Errorf("workspace: OKTASSO_DEV=%q is not a boolean — fix: set OKTASSO_DEV=1 for dev mode, or unset it", v)
		}
	}
	st.stateDir = stateDir(st.stateDir)
	return st, nil
}

// run starts the application and serves until ctx is done, then shuts down
// gracefully. Every setting is read through getenv.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	st, err := parseSettings(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	accountsFile := cmp.Or(getenv("ACCOUNTS_FILE"), filepath.Join(st.stateDir, accountsFileName))
	if st.reset {
		if err := resetState(st.stateDir, accountsFile); err != nil {
			return err
		}
		logger.Info("workspace: -reset: forgot the fake Okta org and the accounts", "state", st.stateDir, "accounts", accountsFile)
	}

	interval, err := syncInterval(getenv) // directory sync (dirsync.go)
	if err != nil {
		return err
	}
	var (
		spa   = spaFromEnv(getenv) // the single-page app example (spa.go)
		dsync syncSettings
	)
	set := oktaVarsSet(getenv)
	useOkta := len(set) > 0 && !st.dev
	cfg, ln, stop, err := signInConfig(st, set, useOkta, getenv, stdout, logger, &spa, interval, &dsync)
	if err != nil {
		return err
	}
	defer stop()
	cfg.Logger = logger

	accounts, err := openAccountStore(accountsFile, nil)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := accounts.Flush(); err != nil {
			logger.Error("workspace: saving the sign-in counts at shutdown failed", "err", err.Error())
		}
	}()
	logger.Info("workspace: accounts are kept in a file", "path", accountsFile)
	handler, auth, err := newApp(ctx, appConfig{OIDC: cfg, Accounts: accounts, SPA: spa})
	if err != nil {
		ln.Close()
		return fmt.Errorf("workspace: %w", err)
	}
	eff := auth.Config()
	if useOkta {
		if dsync, err = realSync(getenv, interval, eff.Issuer, st.stateDir); err != nil {
			ln.Close()
			return err
		}
	}
	stopSync, err := startDirSync(ctx, dsync, interval, auth, accounts, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopSync()
	logger.Info("workspace: listening; open the url in a browser", "url", eff.BaseURL+"/", "addr", ln.Addr().String(), "issuer", eff.Issuer,
		"redirect_uri", auth.RedirectURL(), "post_logout_redirect_uri", auth.PostLogoutRedirectURL())
	return serve(ctx, handler, ln, logger)
}

// signInConfig returns the sign-in configuration and the app's listener,
// and a function that stops what it started. With useOkta (OKTA_* variables
// set, dev mode not asked for) the configuration comes from the variables,
// checked before taking the port, and the stop function does nothing;
// otherwise it starts dev mode's fake Okta org (startDev), warning first
// about the OKTA_* variables in set that it ignores.
func signInConfig(st settings, set []string, useOkta bool, getenv func(string) string, stdout io.Writer, logger *slog.Logger, spa *spaConfig, interval time.Duration, dsync *syncSettings) (oktasso.Config, net.Listener, func(), error) {
	if !useOkta {
		if len(set) > 0 {
			logger.Warn("workspace: dev mode asked for: ignoring the OKTA_* variables", "ignored", strings.Join(set, ","))
		}
		return startDev(st, getenv, stdout, logger, spa, interval, dsync)
	}
	// Check the configuration before taking the port.
	lookup := func(k string) (string, bool) { v := getenv(k); return v, v != "" }
	cfg, err := oktasso.ConfigFromLookup(lookup)
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("workspace: %s set, but the sign-in configuration is incomplete or invalid:\n%w\n(for dev mode with a fake Okta org, unset the OKTA_* variables or set OKTASSO_DEV=1)", strings.Join(set, ", "), err)
	}
	ln, err := listen(st.addr, "ADDR (or -addr)")
	if err != nil {
		return cfg, nil, nil, err
	}
	if getenv("OKTASSO_BASE_URL") == "" {
		cfg.BaseURL = "http://" + publicAddr(st.addr, ln.Addr())
	}
	return cfg, ln, func() {}, nil
}

// startDirSync starts the directory sync in the background when dsync has
// an interval, and returns a function that stops it and waits for it; with
// none, it says why there is no sync when one was asked for (interval) and
// returns a function that does nothing.
func startDirSync(ctx context.Context, dsync syncSettings, interval time.Duration, auth *oktasso.Auth, accounts *accountStore, logger *slog.Logger) (func(), error) {
	if dsync.Interval <= 0 {
		if interval > 0 {
			logger.Info("workspace: no directory sync (set OKTA_API_TOKEN, or OKTASSO_SYNC_CLIENT_ID and OKTA_PRIVATE_KEY, for one)")
		}
		return func() {}, nil
	}
	ds, err := newDirSync(dsync, auth, accounts, logger)
	if err != nil {
		return nil, err
	}
	syncCtx, stopSync := context.WithCancel(ctx)
	syncDone := make(chan struct{})
	go func() { defer close(syncDone); ds.loop(syncCtx, dsync.Interval) }()
	logger.Info("workspace: directory sync ends the sessions of people suspended or deactivated in Okta", "every", dsync.Interval.String(), "state", dsync.StateFile)
	return func() { stopSync(); <-syncDone }, nil
}

// serve serves handler on ln until ctx is done, then shuts the server down
// gracefully, giving requests in flight 10 seconds.
func serve(ctx context.Context, handler http.Handler, ln net.Listener, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("workspace: %w", err)
	case <-ctx.Done():
	}
	logger.Info("workspace: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("workspace: shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("workspace: %w", err)
	}
	return nil
}

// oktaSignInVars are the OKTA_* variables oktasso.ConfigFromEnv reads.
var oktaSignInVars = []string{
	"OKTA_DOMAIN", "OKTA_AUTH_SERVER_ID", "OKTA_ISSUER", "OKTA_CLIENT_ID", "OKTA_CLIENT_SECRET",
	"OKTA_OAUTH2_ISSUER", "OKTA_OAUTH2_CLIENT_ID", "OKTA_OAUTH2_CLIENT_SECRET",
	"OKTA_CLIENT_AUTH_METHOD", "OKTA_PRIVATE_KEY", "OKTA_PRIVATE_KEY_ID",
}

// oktaVarsSet returns the OKTA_* sign-in variables that are set: any of
// them means a real provider, and dev mode is only for an environment
// with none (or when asked for).
func oktaVarsSet(getenv func(string) string) []string {
	var set []string
	for _, name := range oktaSignInVars {
		if strings.TrimSpace(getenv(name)) != "" {
			set = append(set, name)
		}
	}
	return set
}

// startDev starts dev mode: the app's listener, then the fake Okta org on
// its fixed address with its state, registers the single-page app's client
// in it (spa), sets the directory sync against its Management API (sync,
// every interval; dirsync.go), and returns the configuration and a
// function that stops the fake.
func startDev(st settings, getenv func(string) string, stdout io.Writer, logger *slog.Logger, spa *spaConfig, interval time.Duration, sync *syncSettings) (oktasso.Config, net.Listener, func(), error) {
	_, appPort, _ := net.SplitHostPort(st.addr)
	if _, oktaPort, _ := net.SplitHostPort(st.oktaAddr); appPort == oktaPort && appPort != "0" && appPort != "" {
		return oktasso.Config{}, nil, nil, fmt.Errorf("workspace: the app (ADDR %s) and the fake Okta org (OKTASSO_DEV_OKTA_ADDR %s) would share port %s — fix: give them different ports, e.g. ADDR=localhost:8080 and OKTASSO_DEV_OKTA_ADDR=%s", st.addr, st.oktaAddr, appPort, defaultOktaAddr)
	}
	// The port may be chosen by the system (ADDR=127.0.0.1:0), and the
	// base URL is needed to register the fake client: listen first.
	ln, err := listen(st.addr, "ADDR (or -addr)")
	if err != nil {
		return oktasso.Config{}, nil, nil, err
	}
	oktaLn, err := listen(st.oktaAddr, "OKTASSO_DEV_OKTA_ADDR (or -okta-addr)")
	if err != nil {
		ln.Close()
		return oktasso.Config{}, nil, nil, err
	}
	baseURL := getenv("OKTASSO_BASE_URL")
	if baseURL == "" {
		baseURL = "http://" + publicAddr(st.addr, ln.Addr())
	}
	fake := oktatest.NewUnstartedServer()
	fake.Listener = oktaLn
	fake.Start()
	cfg, info, err := devSetupIn(fake, baseURL, st.stateDir)
	if err != nil {
		fake.Close()
		ln.Close()
		return oktasso.Config{}, nil, nil, err
	}
	*spa = devSPA(fake, baseURL, *spa) // the single-page app example (spa.go)
	*sync = devSync(interval, fake, info, st.stateDir)
	printDevBanner(stdout, baseURL, fake.URL, st.stateDir, info.Users)
	for _, a := range []string{st.addr, st.oktaAddr} {
		if host, _, _ := net.SplitHostPort(a); !isLoopbackHost(host) {
			logger.Warn("workspace: dev mode is listening beyond loopback; anyone who reaches it can sign in as a demo user", "addr", a)
		}
	}
	return cfg, ln, fake.Close, nil
}

// publicAddr is the host:port of the dev-mode base URL: the address as
// written (so cookies set for "localhost" come back to "localhost"), with
// the port the system chose for ":0", and "localhost" for an empty or
// wildcard host.
func publicAddr(addr string, bound net.Addr) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return bound.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	if tcp, ok := bound.(*net.TCPAddr); ok && (port == "0" || port == "") {
		port = strconv.Itoa(tcp.Port)
	}
	return net.JoinHostPort(host, port)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func printDevBanner(w io.Writer, appURL, oktaURL, state string, users []oktatest.User) {
	fmt.Fprintf(w, "oktasso example workspace: dev mode (a fake Okta org; set %s to use a real one)\n", "OKTA_DOMAIN")
	fmt.Fprintf(w, "  app:       %s\n", appURL)
	fmt.Fprintf(w, "  fake Okta: %s\n", oktaURL)
	fmt.Fprintf(w, "  state:     %s (-reset forgets it)\n", state)
	for _, u := range users {
		kind := "external"
		for _, g := range u.Groups {
			if g == devWorkspaceGroup {
				kind = "workspace member"
			}
		}
		fmt.Fprintf(w, "  sign in:   %s / %s (%s)\n", u.Login, u.Password, kind)
	}
}
