package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

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
}

func devFlags(o *devOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", defaultDevAddr, "listen `address` of the fake Okta org (loopback unless you mean it)")
	fs.StringVar(&o.users, "users", "", "a JSON directory `FILE` of users and groups (oktatest.LoadDirectory's format) instead of the demo users")
	fs.StringVar(&o.clientID, "client-id", "oktasso-dev", "the client ID of the app it registers")
	fs.StringVar(&o.clientSecret, "client-secret", "", "the app's client secret (default: random)")
	fs.Var(&o.redirectURIs, "redirect-uri", "a sign-in redirect `URI` the app uses; repeatable (default "+defaultDevRedirectURI+")")
	fs.Var(&o.postLogoutURI, "post-logout-uri", "a sign-out redirect `URI`; repeatable (default: each redirect URI with "+"/auth/logout/callback"+")")
	return fs
}

func devCommand() *command {
	return &command{
		name:    "dev",
		summary: "run a fake Okta org on loopback for local development",
		usage:   "oktasso dev [--addr ADDR] [--users FILE] [--client-id ID] [--client-secret S] [--redirect-uri URI]... [--post-logout-uri URI]...",
		about: `
Dev runs oktatest, the library's fake Okta org, standalone: org and custom
("default") authorization servers with Okta's endpoints, a sign-in form and
demo users, so an app works offline with no Okta account. It registers one
OIDC web app (client ID, secret, redirect URIs), prints the issuers, the
credentials and the environment lines to paste for the app, and serves until
interrupted (Ctrl-C). Nothing is persisted: each run has new keys, sessions
and (unless given) a new secret.

The demo users are alice@example.com / alice-password (in "Workspace
Members") and bob@partner.example / bob-password; --users loads a JSON
directory instead, e.g.
{"users":[{"login":"carol@example.com","password":"pw","groups":["Eng"]}]}. Sign-ins that ask for two
factors (acr_values urn:okta:loa:2fa:any) accept the code ` + oktatest.VerificationCode + `.`,
		vars: "none; it prints " + "OKTA_ISSUER" + ", " + "OKTA_CLIENT_ID" + ", " + "OKTA_CLIENT_SECRET" + " and " + "OKTASSO_BASE_URL" + " for the app",
		example: `
oktasso dev
oktasso dev --redirect-uri http://localhost:3000/auth/callback --client-secret dev-secret
oktasso dev --addr 127.0.0.1:9000 --client-id my-app --users testdata/directory.json`,
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
	for _, u := range append(append([]string(nil), o.redirectURIs...), o.postLogoutURI...) {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			fmt.Fprintf(a.stderr, "oktasso dev: %q is not an absolute http(s) URI\n", u)
			return exitUsage
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(a.stderr, "oktasso dev: %s\n", err.Error())
		return exitFail
	}
	fake := oktatest.NewUnstartedServer()
	fake.Listener = ln
	fake.Start()
	defer fake.Close()
	if o.users != "" {
		if err := fake.LoadDirectoryFile(o.users); err != nil {
			fmt.Fprintf(a.stderr, "oktasso dev: --users: %s\n", err.Error())
			return exitFail
		}
	}
	info := fake.DevSetup(oktatest.DevApp{
		ClientID:               o.clientID,
		ClientSecret:           o.clientSecret,
		RedirectURIs:           o.redirectURIs,
		PostLogoutRedirectURIs: o.postLogoutURI,
	})
	if host, _, _ := net.SplitHostPort(o.addr); !isLoopback(host) {
		fmt.Fprintf(a.stderr, "oktasso dev: warning: listening on %s, beyond loopback: anyone who reaches it can sign in as a demo user\n", o.addr)
	}
	printDevInfo(a.stdout, info)
	<-ctx.Done()
	fmt.Fprintln(a.stdout, "oktasso dev: stopped")
	return exitOK
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
	fmt.Fprintln(w, "Serving until interrupted (Ctrl-C).")
}
