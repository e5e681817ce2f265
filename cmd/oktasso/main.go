// Command oktasso helps admins set up Okta sign-in for applications built
// with github.com/oktasso/oktasso. It reads the same environment variables as
// the library (oktasso.ConfigFromEnv):
//
//	oktasso check    validate the configuration and the live provider; print
//	                 the URIs to register in Okta
//	oktasso login    sign in from the terminal and show the verified claims
//	                 and userinfo that arrive
//	oktasso keygen   make a session key, or a key pair for private_key_jwt
//	oktasso dev      run the fake Okta org (package oktatest) for local
//	                 development, printing the settings to paste for the app
//	oktasso sync     read Okta's users, groups and memberships (package
//	                 directory) and write the changes, or print the plan
//
// Install it with
//
//	go install github.com/oktasso/oktasso/cmd/oktasso@latest
//
// and run "oktasso help COMMAND" for the flags, variables and examples of
// each command. See docs/CLI.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // a check failed, or the command could not do its job
	exitUsage = 2 // bad command line
)

// run is the whole program: it runs the command in args (without the
// program name) with the environment read through lookup, and returns the
// exit code.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	return newApp(lookup, stdout, stderr).main(ctx, args)
}

func newApp(lookup func(string) (string, bool), stdout, stderr io.Writer) *app {
	return &app{
		lookup: lookup,
		stdout: stdout,
		stderr: stderr,
		now:    time.Now,
		client: &http.Client{Timeout: httpTimeout},
		open:   openBrowser,
	}
}

// app carries what the commands share; tests build one to inject the clock,
// the browser opener or sync's --out file.
type app struct {
	lookup         func(string) (string, bool)
	stdout, stderr io.Writer
	now            func() time.Time
	client         *http.Client       // requests that check makes itself
	open           func(string) error // opens a URL in a browser
	// openOut opens sync's --out file to append to it; nil: openOutFile.
	openOut func(name string) (outFile, error)
}

// providerName is how messages name the identity provider:
// OKTASSO_PROVIDER_NAME, as the library's pages name it, else "Okta".
// Messages about Okta in particular (its admin console, its Management
// API) say Okta whatever it is.
func (a *app) providerName() string {
	_, v := firstSet(a.lookup, "OKTASSO_PROVIDER_NAME")
	if v = strings.Join(strings.Fields(v), " "); v == "" || utf8.RuneCountInString(v) > 64 {
		return "Okta"
	}
	return v
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // the synopsis after "Usage: "
	about   string // what it does, a few lines
	vars    string // the variables it reads, one per line
	example string // examples, one per line
	flags   func() *flag.FlagSet
	run     func(a *app, ctx context.Context, args []string) int
}

// commands lists the subcommands in help order.
func commands() []*command {
	return []*command{checkCommand(), loginCommand(), keygenCommand(), devCommand(), syncCommand()}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (a *app) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		a.usage(a.stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if name == "help" && len(args) > 1 {
			c := findCommand(args[1])
			if c == nil {
				fmt.Fprintf(a.stderr, "oktasso: no help for %q — fix: ask for one of the commands: %s\n", args[1], commandNames())
				return exitUsage
			}
			c.help(a.stdout)
			return exitOK
		}
		a.usage(a.stdout)
		return exitOK
	default:
		c := findCommand(name)
		if c == nil {
			fmt.Fprintf(a.stderr, "oktasso: unknown command %q — fix: use one of the commands: %s\n\n", name, commandNames())
			a.usage(a.stderr)
			return exitUsage
		}
		return c.run(a, ctx, args[1:])
	}
}

func commandNames() string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintln(w, "oktasso sets up Okta sign-in for apps built with github.com/oktasso/oktasso.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: oktasso COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-7s %s\n", "help", "show a command's flags, variables and examples")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "It reads the library's environment variables (OKTA_DOMAIN, OKTA_CLIENT_ID,")
	fmt.Fprintln(w, "OKTA_CLIENT_SECRET, OKTASSO_BASE_URL, ...). Run \"oktasso help COMMAND\" for details.")
}

// help prints the command's full help.
func (c *command) help(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.usage, strings.TrimSpace(c.about))
	fs := c.flags()
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if c.vars != "" {
		fmt.Fprintf(w, "\nVariables:\n%s\n", indent(c.vars))
	}
	if c.example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", indent(c.example))
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

// parseFlags parses args with fs. done reports that the command must stop
// with code: after -h (help on stdout, 0) or a bad flag (one line on
// stderr, 2).
func (a *app) parseFlags(c *command, fs *flag.FlagSet, args []string) (code int, done bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.help(a.stdout)
		return exitOK, true
	case err != nil:
		fmt.Fprintf(a.stderr, "oktasso %s: %s — fix: correct the flag; \"oktasso help %s\" lists them\n", c.name, err.Error(), c.name)
		return exitUsage, true
	case fs.NArg() > 0:
		fmt.Fprintf(a.stderr, "oktasso %s: unexpected argument %q — fix: remove it, or write it as a flag (--name value); \"oktasso help %s\" lists them\n", c.name, fs.Arg(0), c.name)
		return exitUsage, true
	}
	return 0, false
}

// configVars documents the variables that locate the app in Okta, shared by
// check and login.
const configVars = `
OKTA_DOMAIN                 the Okta domain, e.g. dev-123.okta.com (a pasted URL is fine)
OKTA_AUTH_SERVER_ID         a custom authorization server ("default" or aus...); empty: the org server
OKTA_ISSUER                 the issuer URL, instead of OKTA_DOMAIN (alias OKTA_OAUTH2_ISSUER)
OKTA_CLIENT_ID              the app's client ID (alias OKTA_OAUTH2_CLIENT_ID)
OKTA_CLIENT_SECRET          the app's client secret (alias OKTA_OAUTH2_CLIENT_SECRET); never printed
OKTA_CLIENT_AUTH_METHOD     client_secret_basic (default) or client_secret_post
OKTASSO_SCOPES              scopes to request; default openid profile email (+ groups, see the README)
`

// envList reads a comma-separated list variable, as ConfigFromEnv does.
func (a *app) envList(name string) []string {
	v, _ := a.lookup(name)
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
