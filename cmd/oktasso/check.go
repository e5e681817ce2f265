package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/oktasso/oktasso"
)

const (
	// httpTimeout bounds each request check makes.
	httpTimeout = 10 * time.Second
	// maxBody is how much of any response check reads: the library's own
	// limit for discovery and JWKS, so what passes here passes there.
	maxBody = 512 << 10
	// maxClockSkew is the library's leeway for token times.
	maxClockSkew = (2 * time.Minute)
)

type checkOptions struct {
	json bool
}

func checkFlags(o *checkOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.BoolVar(&o.json, "json", false, "print one JSON object {ok, checks, register} instead of lines")
	return fs
}

func checkCommand() *command {
	return &command{
		name:    "check",
		summary: "validate the configuration and the live provider; print the URIs to register",
		usage:   "oktasso check [--json]",
		about: `
Check validates the configuration the library would read from the environment,
then the live provider: the issuer (org or custom authorization server, and how
it was derived), discovery (reachable, JSON, issuer matching exactly), the clock
against the server's Date header, RS256 signing keys, PKCE S256, the
end_session_endpoint (a warning when there is none), the client credentials
(a token request with a dummy code, authenticated as the app will be, secret
or private_key_jwt: invalid_grant means they are right), the sign-in redirect
URI (an authorize request with prompt=none: a redirect back, or the
provider's own sign-in page, passes; an explicit refusal fails) and the
session keys. Each line is a ✓, a ✗ with the fix, or a ! warning with what to
do; checks that depend on a failed one are skipped (-).

Then it prints the URIs to register on the app at the provider (Okta, or the
one OKTASSO_PROVIDER_NAME names) for OKTASSO_BASE_URL.
The client secret is never printed.

Exit status: 0 when every check passes (warnings included), 1 on any ✗, 2 on
a bad command line.`,
		vars: configVars + `OKTASSO_BASE_URL            the app's external URL; default http://localhost:8080
OKTASSO_SESSION_KEYS        session keys, newest first (make one with oktasso keygen)
OKTASSO_*                   every other library variable is validated too`,
		example: `
OKTA_DOMAIN=dev-123.okta.com OKTA_CLIENT_ID=0oa... OKTA_CLIENT_SECRET=... oktasso check
OKTASSO_BASE_URL=https://app.example.com oktasso check --json | jq .register`,
		flags: func() *flag.FlagSet { return checkFlags(&checkOptions{}) },
		run:   (*app).runCheck,
	}
}

// checkReport is what check finds; --json prints it as is.
type checkReport struct {
	OK       bool      `json:"ok"`
	Checks   []result  `json:"checks"`
	Register *register `json:"register"`
}

// register lists what to enter on the Okta app for the base URL. Empty
// strings are fields to leave empty.
type register struct {
	SignInRedirectURI     string `json:"sign_in_redirect_uri"`
	SignOutRedirectURI    string `json:"sign_out_redirect_uri"`
	InitiateLoginURI      string `json:"initiate_login_uri"`
	BackChannelLogoutURI  string `json:"back_channel_logout_uri"`
	FrontChannelLogoutURI string `json:"front_channel_logout_uri"`
	// UniversalLogoutURI is Okta's Universal Logout (Global Token
	// Revocation) endpoint.
	UniversalLogoutURI string `json:"universal_logout_uri"`
}

func (a *app) runCheck(ctx context.Context, args []string) int {
	var o checkOptions
	c := checkCommand()
	if code, done := a.parseFlags(c, checkFlags(&o), args); done {
		return code
	}
	rep := a.check(ctx)
	if o.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(a.stderr, "oktasso check: %s\n", err.Error())
			return exitFail
		}
	} else {
		printResults(a.stdout, rep.Checks)
		printRegister(a.stdout, rep.Register, a.providerName())
	}
	if !rep.OK {
		return exitFail
	}
	return exitOK
}

// checker holds what one run of check has learnt so far.
type checker struct {
	*app
	cfg     oktasso.Config // as read from the environment, not normalised
	issuer  string         // effective issuer, "" when it cannot be derived
	base    string         // effective base URL, "" when invalid
	scopes  []string       // effective scopes
	results []result
}

func (c *checker) add(r result) { c.results = append(c.results, r) }

func (a *app) check(ctx context.Context) *checkReport {
	cfg, err := oktasso.ConfigFromLookup(a.lookup)
	c := &checker{app: a, cfg: cfg}
	c.results = configResults(err)

	c.checkBaseURL(ctx)
	if c.checkIssuer(ctx) {
		c.checkProvider(ctx)
	}
	c.checkSessionKeys()

	rep := &checkReport{OK: !anyFailed(c.results), Checks: c.results}
	if c.base != "" {
		rep.Register = &register{
			SignInRedirectURI:  c.base + oktasso.CallbackPath,
			SignOutRedirectURI: c.base + "/auth/logout/callback",
			InitiateLoginURI:   c.base + "/auth/initiate-login",

			BackChannelLogoutURI:  c.base + "/auth/backchannel-logout",
			FrontChannelLogoutURI: c.base + "/auth/frontchannel-logout",
			UniversalLogoutURI:    c.base + "/auth/global-token-revocation",
		}
	}
	return rep
}

// effective returns the Config oktasso.New would run with: issuer derived,
// defaults filled in, without I/O.
func effective(_ context.Context, cfg oktasso.Config) (oktasso.Config, error) {
	return cfg.Normalize()
}

// placeholder values let effective derive one part of a configuration whose
// other parts are missing or invalid.
const (
	placeholderIssuer   = "https://issuer.invalid"
	placeholderClientID = "oktasso-check"
)

func (c *checker) checkBaseURL(ctx context.Context) {
	eff, err := effective(ctx, oktasso.Config{Issuer: placeholderIssuer, BaseURL: c.cfg.BaseURL, Client: oktasso.ClientConfig{ID: placeholderClientID}})
	if err != nil {
		return // a config line already says what is wrong with it
	}
	c.base = eff.BaseURL
	u, _ := url.Parse(c.base)
	switch {
	case c.cfg.BaseURL == "":
		c.add(pass("base URL", "%s (the default; set %s to the app's external URL)", c.base, "OKTASSO_BASE_URL"))
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		c.add(fail("base URL", "set "+"OKTASSO_BASE_URL"+" to the https URL users open",
			"%s is http on a non-loopback host: cookies are not Secure and %s sends codes over plain http", c.base, c.providerName()))
	default:
		c.add(pass("base URL", "%s (from %s)", c.base, "OKTASSO_BASE_URL"))
	}
}

// checkIssuer reports the effective issuer, where it came from and what
// kind it is. It reports whether the provider checks may run.
func (c *checker) checkIssuer(ctx context.Context) bool {
	eff, err := effective(ctx, oktasso.Config{
		Issuer:       c.cfg.Issuer,
		Domain:       c.cfg.Domain,
		AuthServerID: c.cfg.AuthServerID,
		Scopes:       c.cfg.Scopes,
		Client:       oktasso.ClientConfig{ID: placeholderClientID},
		Access:       c.cfg.Access,
	})
	if err != nil {
		c.add(skip("issuer", "fix the issuer or domain configuration above first"))
		return false
	}
	c.issuer, c.scopes = eff.Issuer, eff.Scopes
	u, _ := url.Parse(c.issuer)

	var source string
	var notes, ignored []string // normalisations; variables not used
	if name, raw := firstSet(c.lookup, "OKTA_ISSUER", "OKTA_OAUTH2_ISSUER"); name != "" {
		source = name
		if strings.HasSuffix(raw, "/") && !strings.HasSuffix(c.issuer, "/") {
			notes = append(notes, "trailing slash stripped (Okta issuers never end in /)")
		}
		for _, v := range []string{"OKTA_DOMAIN", "OKTA_AUTH_SERVER_ID"} {
			if n, _ := firstSet(c.lookup, v); n != "" {
				ignored = append(ignored, n)
			}
		}
		if r, bad := badIssuer(u); bad {
			c.add(fail("issuer", "set "+name+"="+r.fix, "%s %s", c.issuer, r.why))
			return false
		}
	} else {
		source, notes = c.domainNotes(u)
	}
	detail := fmt.Sprintf("%s (%s, from %s", c.issuer, issuerKind(u), source)
	if len(notes) > 0 {
		detail += "; normalised: " + strings.Join(notes, ", ")
	}
	if len(ignored) > 0 {
		detail += "; " + strings.Join(ignored, " and ") + " ignored"
	}
	c.add(pass("issuer", "%s)", detail))
	return true
}

// domainNotes says how OKTA_DOMAIN (and OKTA_AUTH_SERVER_ID) became the
// issuer u: the source to name and what was normalised.
func (c *checker) domainNotes(u *url.URL) (source string, notes []string) {
	source = "OKTA_DOMAIN"
	_, raw := firstSet(c.lookup, "OKTA_DOMAIN")
	rest := raw
	for _, scheme := range []string{"https://", "http://"} {
		if r, ok := strings.CutPrefix(rest, scheme); ok {
			rest = r
			notes = append(notes, scheme+" stripped")
		}
	}
	if strings.HasSuffix(rest, "/") {
		notes = append(notes, "trailing slash stripped")
	}
	host, path, _ := strings.Cut(strings.TrimRight(rest, "/"), "/")
	if path != "" {
		notes = append(notes, fmt.Sprintf("/%s in %s taken as the authorization server", path, "OKTA_DOMAIN"))
	} else if c.cfg.AuthServerID != "" {
		source += " and " + "OKTA_AUTH_SERVER_ID"
	}
	if host != u.Host {
		notes = append(notes, fmt.Sprintf("admin console host %s → %s", host, u.Host))
	}
	return source, notes
}

// issuerKind names the kind of authorization server an issuer URL is.
func issuerKind(u *url.URL) string {
	if u.Path == "" {
		return "org authorization server"
	}
	if id, ok := strings.CutPrefix(u.Path, "/oauth2/"); ok && id != "" && !strings.Contains(id, "/") {
		return fmt.Sprintf("custom authorization server %q", id)
	}
	return fmt.Sprintf("issuer path %q, not an Okta authorization server layout", u.Path)
}

type issuerProblem struct{ why, fix string }

// badIssuer spots the usual wrong pastes into OKTA_ISSUER: an endpoint
// prefix, the discovery URL, the admin console's host.
func badIssuer(u *url.URL) (issuerProblem, bool) {
	origin := u.Scheme + "://" + u.Host
	switch {
	case strings.Contains(u.Path, "/.well-known/"):
		p, _, _ := strings.Cut(u.Path, "/.well-known/")
		return issuerProblem{"is a discovery URL, not an issuer", origin + p}, true
	case u.Path == "/oauth2/v1" || u.Path == "/oauth2":
		return issuerProblem{"is the org authorization server's endpoint prefix, not its issuer", origin}, true
	case strings.HasPrefix(u.Path, "/oauth2/") && strings.HasSuffix(u.Path, "/v1"):
		return issuerProblem{"is an endpoint prefix, not an issuer", origin + strings.TrimSuffix(u.Path, "/v1")}, true
	}
	if label, rest, ok := strings.Cut(u.Host, "."); ok && strings.HasSuffix(label, "-admin") && strings.Contains(rest, "okta") {
		return issuerProblem{"is the admin console's host, not the org's", u.Scheme + "://" + strings.TrimSuffix(label, "-admin") + "." + rest + u.Path}, true
	}
	return issuerProblem{}, false
}

// checkSessionKeys checks OKTASSO_SESSION_KEYS for presence and strength;
// length and encoding are configuration errors already reported.
func (c *checker) checkSessionKeys() {
	const name = "session keys"
	_, raw := firstSet(c.lookup, "OKTASSO_SESSION_KEYS")
	if raw == "" && c.devSetup() {
		c.add(warn(name, "set "+"OKTASSO_SESSION_KEYS"+" (oktasso keygen) before the app leaves local development",
			"%s is not set: a random key per process, so sessions end at restart; fine against a local fake Okta (%s)", "OKTASSO_SESSION_KEYS", c.issuer))
		return
	}
	if raw == "" {
		c.add(fail(name, "set "+"OKTASSO_SESSION_KEYS"+" (oktasso keygen)",
			"%s is not set: a random key per process, so sessions end at restart and are not shared between instances", "OKTASSO_SESSION_KEYS"))
		return
	}
	n, usable := 0, 0
	var weak []string
	for _, f := range strings.Split(raw, ",") {
		if strings.TrimSpace(f) != "" {
			n++
		}
	}
	for i, k := range c.cfg.Session.Keys {
		if len(k) < 32 {
			continue
		}
		usable++
		if d := distinctBytes([]byte(k)); d < 16 {
			weak = append(weak, fmt.Sprintf("key %d has only %d distinct byte values", i+1, d))
		}
	}
	switch {
	case len(weak) > 0:
		c.add(fail(name, "make random keys with oktasso keygen", "weak: %s", strings.Join(weak, "; ")))
	case usable < n:
		c.add(skip(name, "fix the "+"OKTASSO_SESSION_KEYS"+" errors above"))
	default:
		c.add(pass(name, "%d key(s); the first encrypts, all decrypt", n))
	}
}

func distinctBytes(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n
}

// printRegister prints what to register on the app at provider (where,
// for Okta).
func printRegister(w io.Writer, r *register, provider string) {
	fmt.Fprintln(w)
	if r == nil {
		fmt.Fprintf(w, "Register in %s: fix %s first.\n", provider, "OKTASSO_BASE_URL")
		return
	}
	if provider == "Okta" {
		fmt.Fprintln(w, "Register in Okta (Applications → your app → General):")
	} else {
		fmt.Fprintf(w, "Register in %s (the client's settings):\n", provider)
	}
	fmt.Fprintf(w, "  Sign-in redirect URI:     %s\n", r.SignInRedirectURI)
	fmt.Fprintf(w, "  Sign-out redirect URI:    %s\n", r.SignOutRedirectURI)
	fmt.Fprintf(w, "  Initiate login URI:       %s  (%s sends ?iss=; the app starts a sign-in)\n", r.InitiateLoginURI, provider)
	fmt.Fprintf(w, "  Front-channel logout URI: %s  (Okta's single logout; check \"Logout session required\")\n", r.FrontChannelLogoutURI)
	fmt.Fprintf(w, "  Back-channel logout URI:  %s  (for providers that send logout tokens)\n", r.BackChannelLogoutURI)
	if provider == "Okta" {
		fmt.Fprintf(w, "  Universal Logout endpoint: %s  (Authentication tab → Logout → \"Okta system or admin initiates logout\": Logout endpoint URL, Signed JWT)\n", r.UniversalLogoutURI)
	} else {
		fmt.Fprintf(w, "  Universal Logout endpoint: %s  (Okta only: Global Token Revocation)\n", r.UniversalLogoutURI)
	}
}

// firstSet returns the first of names set to a non-blank value in lookup,
// trimmed as the library trims it.
func firstSet(lookup func(string) (string, bool), names ...string) (name, value string) {
	for _, n := range names {
		if v, ok := lookup(n); ok && strings.TrimSpace(v) != "" {
			return n, strings.TrimSpace(v)
		}
	}
	return "", ""
}
