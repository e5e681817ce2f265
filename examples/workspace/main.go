// Command workspace is a runnable example of oktasso: an application with a
// landing page, an admin console (/workspace, internal members only) and an
// end-user app (/webapp, external users allowed), signed in with Okta, that
// creates a local account on each person's first sign-in.
//
// With no Okta settings in the environment it runs in dev mode: it starts a
// fake Okta org (package oktatest) on loopback with two demo users, so it
// works offline:
//
//	go run ./examples/workspace
//
// With OKTA_DOMAIN (or OKTA_ISSUER, or OKTA_OAUTH2_ISSUER) set it signs in
// with that Okta org, configured by oktasso.ConfigFromEnv's variables:
//
//	OKTA_DOMAIN=dev-123.okta.com OKTA_CLIENT_ID=0oa… OKTA_CLIENT_SECRET=… \
//	OKTASSO_WORKSPACE_GROUPS="Workspace Members" go run ./examples/workspace
//
// Another OpenID provider works the same way with OKTA_ISSUER set to its
// issuer; OKTASSO_PROVIDER_NAME (e.g. Keycloak) is then how its pages, and
// oktasso's, name it instead of "Okta".
//
// Accounts created at first sign-in are kept in the JSON file ACCOUNTS_FILE
// (default $TMPDIR/oktasso-workspace/accounts.json), so they survive a
// restart; /workspace lists the 20 newest and says how many there are.
//
// It listens on ADDR (default localhost:8080; the -addr flag overrides it)
// and stops gracefully on SIGINT or SIGTERM. In dev mode the base URL is
// http://ADDR unless OKTASSO_BASE_URL is set; otherwise oktasso reads
// OKTASSO_BASE_URL (default http://localhost:8080).
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

// run starts the application and serves until ctx is done, then shuts down
// gracefully. Every setting is read through getenv.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("workspace", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", cmp.Or(getenv("ADDR"), defaultAddr), "listen `address` (environment: ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))

	var (
		cfg oktasso.Config
		ln  net.Listener
		err error
		spa = spaFromEnv(getenv) // the single-page app example (spa.go)
	)
	if productionMode(getenv) {
		// Check the configuration before taking the port.
		lookup := func(k string) (string, bool) { v := getenv(k); return v, v != "" }
		if cfg, err = oktasso.ConfigFromLookup(lookup); err != nil {
			return fmt.Errorf("workspace: the sign-in configuration in the environment is not valid:\n%w", err)
		}
		if ln, err = net.Listen("tcp", *addr); err != nil {
			return fmt.Errorf("workspace: %w", err)
		}
	} else {
		// The port may be chosen by the system (ADDR=127.0.0.1:0), and the
		// base URL is needed to register the fake client: listen first.
		if ln, err = net.Listen("tcp", *addr); err != nil {
			return fmt.Errorf("workspace: %w", err)
		}
		baseURL := getenv("OKTASSO_BASE_URL")
		if baseURL == "" {
			baseURL = "http://" + publicAddr(*addr, ln.Addr())
		}
		fake := oktatest.NewServer()
		defer fake.Close()
		var info oktatest.DevInfo
		cfg, info = devSetup(fake, baseURL)
		spa = devSPA(fake, baseURL, spa) // the single-page app example (spa.go)
		printDevBanner(stdout, baseURL, fake.URL, info.Users)
		if host, _, _ := net.SplitHostPort(*addr); !isLoopbackHost(host) {
			logger.Warn("workspace: dev mode is listening beyond loopback; anyone who reaches it can sign in as a demo user", "addr", *addr)
		}
	}
	cfg.Logger = logger

	accountsFile := cmp.Or(getenv("ACCOUNTS_FILE"), filepath.Join(os.TempDir(), "oktasso-workspace", "accounts.json"))
	accounts, err := openAccountStore(accountsFile, nil)
	if err != nil {
		ln.Close()
		return err
	}
	logger.Info("workspace: accounts are kept in a file", "path", accountsFile)
	handler, auth, err := newApp(ctx, appConfig{OIDC: cfg, Accounts: accounts, SPA: spa})
	if err != nil {
		ln.Close()
		return fmt.Errorf("workspace: %w", err)
	}
	eff := auth.Config()
	logger.Info("workspace: listening", "url", eff.BaseURL, "issuer", eff.Issuer,
		"redirect_uri", auth.RedirectURL(), "post_logout_redirect_uri", auth.PostLogoutRedirectURL())

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

// productionMode reports whether the environment names an identity
// provider (an Okta org, or another OpenID provider's issuer).
func productionMode(getenv func(string) string) bool {
	for _, name := range []string{"OKTA_DOMAIN", "OKTA_ISSUER", "OKTA_OAUTH2_ISSUER"} {
		if getenv(name) != "" {
			return true
		}
	}
	return false
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

func printDevBanner(w io.Writer, appURL, oktaURL string, users []oktatest.User) {
	fmt.Fprintf(w, "oktasso example workspace: dev mode (a fake Okta org; set %s to use a real one)\n", "OKTA_DOMAIN")
	fmt.Fprintf(w, "  app:       %s\n", appURL)
	fmt.Fprintf(w, "  fake Okta: %s\n", oktaURL)
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
