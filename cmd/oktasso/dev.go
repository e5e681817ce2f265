package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

const (
	defaultDevAddr        = "127.0.0.1:8081"
	defaultDevRedirectURI = "http://localhost:8080" + oktasso.CallbackPath
	// devUsersShown caps the users dev prints; the sign-in form lists the
	// demo users anyway.
	devUsersShown = 10
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ", ") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

type devOptions struct {
	addr          string
	users         string
	clientID      string
	clientSecret  string
	redirectURIs  stringList
	postLogoutURI stringList
	state         string
	reset         bool
}

// envDevDir names the state folder of "oktasso dev" (the --state flag
// wins).
const envDevDir = "OKTASSO_DEV_DIR"

// defaultDevState is the state folder of "oktasso dev" when neither
// --state nor OKTASSO_DEV_DIR is set: "oktasso/dev" in the user's
// configuration folder (os.UserConfigDir), or "" when there is none.
func defaultDevState() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "oktasso", "dev")
}

func devFlags(o *devOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", defaultDevAddr, "listen `address` of the fake Okta org (loopback unless you mean it)")
	fs.StringVar(&o.users, "users", "", "a JSON directory `FILE` of users and groups (oktatest.LoadDirectory's format) instead of the demo users")
	fs.StringVar(&o.clientID, "client-id", "oktasso-dev", "the client ID of the app it registers")
	fs.StringVar(&o.clientSecret, "client-secret", "", "the app's client secret (default: random)")
	fs.Var(&o.redirectURIs, "redirect-uri", "a sign-in redirect `URI` the app uses; repeatable (default "+defaultDevRedirectURI+")")
	fs.Var(&o.postLogoutURI, "post-logout-uri", "a sign-out redirect `URI`; repeatable (default: each redirect URI with "+"/auth/logout/callback"+")")
	fs.StringVar(&o.state, "state", "", "the `folder` that keeps the fake org's keys, users and secrets across restarts (default $"+envDevDir+", else oktasso/dev in the user config folder)")
	fs.BoolVar(&o.reset, "reset", false, "forget the saved fake org (new keys, user ids and secrets) before starting")
	return fs
}

func devCommand() *command {
	return &command{
		name:    "dev",
		summary: "run a fake Okta org on loopback for local development",
		usage:   "oktasso dev [--addr ADDR] [--state DIR] [--reset] [--users FILE] [--client-id ID] [--client-secret S] [--redirect-uri URI]... [--post-logout-uri URI]...",
		about: `
Dev runs oktatest, the library's fake Okta org, standalone: org and custom
("default") authorization servers with Okta's endpoints, a sign-in form and
demo users, so an app works offline with no Okta account. It registers one
OIDC web app (client ID, secret, redirect URIs) and, for the Management API
(directory sync), an API Services app with a private key and an API token;
it prints the issuers, the credentials and the environment lines to paste
for the app and for "oktasso sync", and serves until interrupted (Ctrl-C).

It stays put: it listens on a fixed loopback port (--addr, default
` + defaultDevAddr + `), and keeps its signing keys, user ids, client secret,
service key and API token in a state folder (--state, else $` + envDevDir + `,
else oktasso/dev in the user config folder), so a restart is the same
issuer with the same users and the pasted lines keep working. --reset
forgets the saved org. Sign-in sessions are not kept.

The demo users are alice@example.com / alice-password (in "Workspace
Members") and bob@partner.example / bob-password; --users loads a JSON
directory instead, e.g.
{"users":[{"login":"carol@example.com","password":"pw","groups":["Eng"]}]}. Sign-ins that ask for two
factors (acr_values urn:okta:loa:2fa:any) accept the code ` + oktatest.VerificationCode + `.`,
		vars: envDevDir + " (the state folder); it prints " + "OKTA_ISSUER" + ", " + "OKTA_CLIENT_ID" + ", " + "OKTA_CLIENT_SECRET" + " and " + "OKTASSO_BASE_URL" + " for the app, OKTA_DOMAIN and OKTA_API_TOKEN for sync",
		example: `
oktasso dev
oktasso dev --redirect-uri http://localhost:3000/auth/callback --client-secret dev-secret
oktasso dev --addr 127.0.0.1:9000 --client-id my-app --users testdata/directory.json
oktasso dev --reset`,
		flags: func() *flag.FlagSet { return devFlags(&devOptions{}) },
		run:   (*app).runDev,
	}
}

func (a *app) runDev(ctx context.Context, args []string) int {
	var o devOptions
	c := devCommand()
	if code, done := a.parseFlags(c, devFlags(&o), args); done {
		return code
	}
	if !a.devURIsValid(o) {
		return exitUsage
	}
	state, ok := a.devStateDir(o)
	if !ok {
		return exitFail
	}
	if o.reset && !a.resetDevState(state) {
		return exitFail
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(a.stderr, "oktasso dev: %s\n", listenError(o.addr, err))
		return exitFail
	}
	fake := oktatest.NewUnstartedServer()
	fake.Listener = ln
	fake.Start()
	defer fake.Close()
	if o.users != "" && !a.loadDevUsers(fake, o.users) {
		return exitFail
	}
	info, err := fake.DevSetupIn(state, oktatest.DevApp{
		ClientID:               o.clientID,
		ClientSecret:           o.clientSecret,
		RedirectURIs:           o.redirectURIs,
		PostLogoutRedirectURIs: o.postLogoutURI,
	})
	if err != nil {
		fmt.Fprintf(a.stderr, "oktasso dev: %s — fix: run oktasso dev --reset (or delete %s), or set --state to another folder\n", errText(err), state)
		return exitFail
	}
	if host, _, _ := net.SplitHostPort(o.addr); !isLoopback(host) {
		fmt.Fprintf(a.stderr, "oktasso dev: warning: listening on %s, beyond loopback: anyone who reaches it can sign in as a demo user\n", o.addr)
	}
	printDevInfo(a.stdout, info)
	<-ctx.Done()
	fmt.Fprintln(a.stdout, "oktasso dev: stopped")
	return exitOK
}

// devURIsValid reports whether every --redirect-uri and --post-logout-uri
// in o is an absolute http(s) URI; if not, it names the first bad one on
// stderr.
func (a *app) devURIsValid(o devOptions) bool {
	for _, u := range append(append([]string(nil), o.redirectURIs...), o.postLogoutURI...) {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			fmt.Fprintf(a.stderr, "oktasso dev: --redirect-uri/--post-logout-uri %q is not an absolute http(s) URI — fix: write the whole URL, e.g. %s\n", u, defaultDevRedirectURI)
			return false
		}
	}
	return true
}

// devStateDir returns the folder of the fake org's state: --state, else
// the environment's OKTASSO_DEV_DIR, else the default in the user config
// folder. It reports false, having said why on stderr, when there is none.
func (a *app) devStateDir(o devOptions) (string, bool) {
	state := o.state
	if state == "" {
		_, state = firstSet(a.lookup, envDevDir)
	}
	if state == "" {
		if state = defaultDevState(); state == "" {
			fmt.Fprintf(a.stderr, "oktasso dev: this system has no user config folder for the fake org's state — fix: set %s or --state to a folder\n", envDevDir)
			return "", false
		}
	}
	return state, true
}

// resetDevState removes the fake org's state and service key from the
// folder state (--reset). It reports false, having said why on stderr,
// when one of them cannot be removed.
func (a *app) resetDevState(state string) bool {
	for _, name := range []string{oktatest.DevStateFile, oktatest.DevServiceKeyFile} {
		if err := os.Remove(filepath.Join(state, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(a.stderr, "oktasso dev: --reset: %s — fix: delete %s by hand\n", errText(err), filepath.Join(state, name))
			return false
		}
	}
	return true
}

// loadDevUsers loads the directory file users (--users) into the fake org.
// It reports false, having said why on stderr, when the file is unusable.
func (a *app) loadDevUsers(fake *oktatest.Server, users string) bool {
	if err := fake.LoadDirectoryFile(users); err != nil {
		fmt.Fprintf(a.stderr, "oktasso dev: --users: %s — fix: correct the file; its format is {\"users\":[{\"login\":…,\"password\":…,\"groups\":[…]}]}\n", errText(err))
		return false
	}
	return true
}

func printDevInfo(w io.Writer, info oktatest.DevInfo) {
	fmt.Fprintln(w, "oktasso dev: a fake Okta org for local development (not for production)")
	fmt.Fprintf(w, "  issuer (org):            %s\n", info.OrgIssuer)
	fmt.Fprintf(w, "  issuer (custom default): %s\n", info.DefaultIssuer)
	fmt.Fprintf(w, "  client ID:               %s\n", info.ClientID)
	fmt.Fprintf(w, "  client secret:           %s\n", info.ClientSecret)
	for _, u := range info.RedirectURIs {
		fmt.Fprintf(w, "  sign-in redirect URI:    %s\n", u)
	}
	for _, u := range info.PostLogoutRedirectURIs {
		fmt.Fprintf(w, "  sign-out redirect URI:   %s\n", u)
	}
	for i, u := range info.Users {
		if i == devUsersShown {
			fmt.Fprintf(w, "  ... and %d more users\n", len(info.Users)-devUsersShown)
			break
		}
		groups := strings.Join(u.Groups, ", ")
		if u.Password == "" {
			fmt.Fprintf(w, "  user:                    %s (no password) [%s]\n", u.Login, groups)
			continue
		}
		fmt.Fprintf(w, "  user:                    %s / %s [%s]\n", u.Login, u.Password, groups)
	}
	fmt.Fprintf(w, "  two-factor code:         %s\n", oktatest.VerificationCode)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Environment for the app (use OKTA_ISSUER="+info.DefaultIssuer+" for the custom server):")
	for _, l := range info.Env() {
		fmt.Fprintln(w, l)
	}
	if len(info.RedirectURIs) > 0 {
		if base, ok := strings.CutSuffix(info.RedirectURIs[0], oktasso.CallbackPath); ok {
			fmt.Fprintf(w, "%s=%s\n", "OKTASSO_BASE_URL", base)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Environment for directory sync (oktasso sync --dry-run), with the API token:")
	for _, l := range info.SyncEnv() {
		fmt.Fprintln(w, l)
	}
	if info.ServiceKeyFile != "" {
		fmt.Fprintln(w, "or with the service app (private_key_jwt, as Okta recommends):")
		fmt.Fprintf(w, "  oktasso sync --dry-run --domain %s --client-id %s --private-key %s\n", info.OrgIssuer, info.ServiceClientID, info.ServiceKeyFile)
		fmt.Fprintf(w, "  (state: %s; oktasso dev --reset forgets it)\n", filepath.Dir(info.ServiceKeyFile))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Serving until interrupted (Ctrl-C).")
}

// listenError explains a failed listen on addr, naming the flag to change.
func listenError(addr string, err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Sprintf("%s is already in use (another oktasso dev?) — fix: stop what uses it, or choose another port with --addr 127.0.0.1:PORT (the issuer changes with the port)", addr)
	}
	return fmt.Sprintf("--addr %s: %s — fix: give a host:port to listen on, e.g. %s", addr, errText(err), defaultDevAddr)
}

// devSetup reports whether check looks at local development: an http
// issuer on a loopback host (oktasso dev, or the example's fake Okta) and
// a loopback base URL. Such a setup needs no session keys yet.
func (c *checker) devSetup() bool {
	iss, err := url.Parse(c.issuer)
	if err != nil || iss.Scheme != "http" || !isLoopback(iss.Hostname()) {
		return false
	}
	base, err := url.Parse(c.base)
	return err == nil && c.base != "" && isLoopback(base.Hostname())
}
