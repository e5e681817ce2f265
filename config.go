package oktasso

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oktasso/oktasso/internal/issuer"
	"github.com/oktasso/oktasso/store"
)

// Defaults for optional Config fields.
const (
	defaultBaseURL            = "http://localhost:8080"
	defaultSessionIdleTimeout = 8 * time.Hour
	defaultRecheckInterval    = 5 * time.Minute
	defaultSessionMaxAge      = 24 * time.Hour
	defaultHTTPTimeout        = 10 * time.Second
	defaultMaxPendingLogins   = 5
	minSessionKeyLen          = 32
)

// Environment variables read by ConfigFromEnv (docs/REFERENCE.md lists them).
const (
	envDomain              = "OKTA_DOMAIN"
	envAuthServerID        = "OKTA_AUTH_SERVER_ID"
	envIssuer              = "OKTA_ISSUER"
	envClientID            = "OKTA_CLIENT_ID"
	envClientSecret        = "OKTA_CLIENT_SECRET"
	envCLIIssuer           = "OKTA_OAUTH2_ISSUER"
	envCLIClientID         = "OKTA_OAUTH2_CLIENT_ID"
	envCLIClientSecret     = "OKTA_OAUTH2_CLIENT_SECRET"
	envClientAuth          = "OKTA_CLIENT_AUTH_METHOD"
	envPrivateKey          = "OKTA_PRIVATE_KEY"
	envPrivateKeyID        = "OKTA_PRIVATE_KEY_ID"
	envBaseURL             = "OKTASSO_BASE_URL"
	envScopes              = "OKTASSO_SCOPES"
	envSessionKeys         = "OKTASSO_SESSION_KEYS"
	envSessionIdleTimeout  = "OKTASSO_SESSION_IDLE_TIMEOUT"
	envSessionMaxAge       = "OKTASSO_SESSION_MAX_AGE"
	envEnforceWorkspace    = "OKTASSO_ENFORCE_WORKSPACE"
	envEnforceWebApp       = "OKTASSO_ENFORCE_WEBAPP"
	envWorkspaceGroups     = "OKTASSO_WORKSPACE_GROUPS"
	envWebAppGroups        = "OKTASSO_WEBAPP_GROUPS"
	envAllowedEmailDomains = "OKTASSO_ALLOWED_EMAIL_DOMAINS"
	envMembershipInterval  = "OKTASSO_MEMBERSHIP_INTERVAL"
	envSilentLogin         = "OKTASSO_SILENT_LOGIN"
)

// envNames maps Config field names to the variables that set them, so that
// validation of an environment-built Config names the variable to fix.
var envNames = map[string]string{
	"Issuer":                   envIssuer + " (or " + envDomain + ")",
	"Domain":                   envDomain,
	"AuthServerID":             envAuthServerID,
	"Client.ID":                envClientID,
	"Client.Secret":            envClientSecret,
	"Client.AuthMethod":        envClientAuth,
	"Client.PrivateKey":        envPrivateKey,
	"Client.PrivateKeyID":      envPrivateKeyID,
	"BaseURL":                  envBaseURL,
	"Session.Keys":             envSessionKeys,
	"Session.IdleTimeout":      envSessionIdleTimeout,
	"Session.MaxAge":           envSessionMaxAge,
	"Access.RecheckInterval":   envMembershipInterval,
	"Session.PostLogoutPath":   "Session.PostLogoutPath",
	"Session.MaxPendingLogins": "Session.MaxPendingLogins",
}

// ConfigFromEnv builds a Config from the process environment (the variables
// are listed in docs/REFERENCE.md). It reports every problem at once, each naming the
// variable and what to do.
func ConfigFromEnv() (Config, error) { return ConfigFromLookup(os.LookupEnv) }

// ConfigFromLookup is ConfigFromEnv reading variables through lookup (with
// os.LookupEnv's contract), for programs and tests that inject their
// environment.
func ConfigFromLookup(lookup func(string) (string, bool)) (Config, error) {
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := lookup(n); ok && strings.TrimSpace(v) != "" {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	var c Config
	var errs []error
	c.Issuer = get(envIssuer, envCLIIssuer)
	c.Domain = get(envDomain)
	c.AuthServerID = get(envAuthServerID)
	c.Client.ID = get(envClientID, envCLIClientID)
	c.Client.Secret = Secret(get(envClientSecret, envCLIClientSecret))
	c.Client.AuthMethod = ClientAuthMethod(get(envClientAuth))
	// OKTA_PRIVATE_KEY is also what directory sync (and Okta's SDKs, as
	// OKTA_CLIENT_PRIVATEKEY) read for a service app: the web app uses it
	// only when OKTA_CLIENT_AUTH_METHOD says private_key_jwt.
	if c.Client.AuthMethod == PrivateKeyJWT {
		c.Client.PrivateKey = Secret(get(envPrivateKey))
		c.Client.PrivateKeyID = get(envPrivateKeyID)
	}
	c.BaseURL = get(envBaseURL)
	c.Scopes = splitList(get(envScopes), " ,")
	// The access shortcuts produce policies.
	if g := splitList(get(envWorkspaceGroups), ","); len(g) > 0 {
		c.Access.Workspace = RequireGroups(g...)
	}
	if g := splitList(get(envWebAppGroups), ","); len(g) > 0 {
		c.Access.WebApp = RequireGroups(g...)
	}
	if d := splitList(get(envAllowedEmailDomains), ","); len(d) > 0 {
		for _, bad := range badDomains(d) {
			errs = append(errs, fmt.Errorf("oktasso: %s: %q is not a domain; write e.g. example.com", envAllowedEmailDomains, bad))
		}
		c.Access.SignIn = RequireEmailDomains(d...)
	}

	for i, k := range splitList(get(envSessionKeys), ",") {
		b, err := decodeKey(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("oktasso: %s: key %d is not base64; make one with `openssl rand -base64 32`", envSessionKeys, i+1))
			continue
		}
		c.Session.Keys = append(c.Session.Keys, Secret(b))
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{envSessionIdleTimeout, &c.Session.IdleTimeout}, {envSessionMaxAge, &c.Session.MaxAge}, {envMembershipInterval, &c.Access.RecheckInterval}} {
		if v := get(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("oktasso: %s: %q is not a Go duration; write e.g. 8h or 30m", d.name, v))
				continue
			}
			*d.dst = t
		}
	}
	if v := get(envSilentLogin); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("oktasso: %s: %q is not a boolean; write true or false", envSilentLogin, v))
		}
		c.Access.SilentLogin = on
	}
	for _, b := range []struct {
		name string
		skip *bool
	}{{envEnforceWorkspace, &c.Access.SkipEnforceWorkspace}, {envEnforceWebApp, &c.Access.SkipEnforceWebApp}} {
		if v := get(b.name); v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("oktasso: %s: %q is not a boolean; write true or false", b.name, v))
				continue
			}
			*b.skip = !on
		}
	}
	if _, err := c.normalize(envNames); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}

// badDomains returns the entries of an email-domain list that are not
// domains.
func badDomains(domains []string) []string {
	var bad []string
	for _, d := range domains {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d == "" || strings.ContainsAny(d, "@/ *") || !strings.Contains(d, ".") {
			bad = append(bad, d)
		}
	}
	return bad
}

// decodeKey accepts standard or URL-safe base64, padded or not.
func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func splitList(s, seps string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Normalize validates c and returns it as New would run it: the issuer
// derived from Domain and AuthServerID, defaults filled in. It does no
// network I/O (a PrivateKey given as a file path is read, to check it).
// Every problem is reported, joined.
func (c Config) Normalize() (Config, error) { return c.normalize(nil) }

// normalize validates c, fills defaults and returns the result. names maps
// field names to what the user set (environment variable names); nil means
// the field names themselves. Every problem is reported.
func (c Config) normalize(names map[string]string) (Config, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		name := field
		if n, ok := names[field]; ok {
			name = n
		}
		errs = append(errs, fmt.Errorf("oktasso: %s: "+format, append([]any{name}, args...)...))
	}

	c.normalizeOAuth2(bad)
	c.checkCookieName(bad)
	if c.Issuer == "" {
		if c.Domain == "" {
			bad("Issuer", "no issuer; set %s to your Okta domain, e.g. dev-123.okta.com", envDomain)
		} else if iss, err := issuerFromDomain(c.Domain, c.AuthServerID); err != nil {
			bad("Domain", "%s", err.Error())
		} else {
			c.Issuer = iss
		}
	} else {
		c.Issuer = strings.TrimRight(c.Issuer, "/")
	}
	if c.Issuer != "" {
		if err := checkIssuer(c.Issuer); err != nil {
			bad("Issuer", "%s", err.Error())
		}
	}
	if c.Client.ID == "" {
		bad("Client.ID", "is empty; copy the Client ID from the Okta application's General tab")
	}
	c.Client.AuthMethod = defaultClientAuth(c.Client.AuthMethod, c.Client.Secret, c.Client.PrivateKey)
	if err := checkClientAuth(c.Client.AuthMethod, c.Client.Secret, c.Client.PrivateKey, c.Client.PrivateKeyID); err != nil {
		bad("Client."+err.field, "%s", err.msg)
	}

	if c.BaseURL == "" {
		c.BaseURL = defaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("BaseURL", "%q is not an http(s) URL without query; write the app's external URL, e.g. https://app.example.com", c.BaseURL)
	}

	for i, k := range c.Session.Keys {
		if len(k) < minSessionKeyLen {
			bad("Session.Keys", "key %d has %d bytes, want at least %d; make one with `openssl rand -base64 32`", i+1, len(k), minSessionKeyLen)
		}
	}
	if c.Session.IdleTimeout == 0 {
		c.Session.IdleTimeout = defaultSessionIdleTimeout
	}
	if c.Session.MaxAge == 0 {
		c.Session.MaxAge = defaultSessionMaxAge
	}
	if c.Session.IdleTimeout < time.Minute {
		bad("Session.IdleTimeout", "%v is too short; use at least 1m", c.Session.IdleTimeout)
	}
	if c.Session.MaxAge < time.Minute {
		bad("Session.MaxAge", "%v is too short; use at least 1m", c.Session.MaxAge)
	}
	if c.Session.MaxCookies == 0 {
		c.Session.MaxCookies = defaultMaxChunks
	}
	if c.Session.MaxCookies < 1 || c.Session.MaxCookies > maxMaxChunks {
		bad("Session.MaxCookies", "%d is out of range 1..%d", c.Session.MaxCookies, maxMaxChunks)
	}
	if c.Access.RecheckInterval == 0 {
		c.Access.RecheckInterval = defaultRecheckInterval
	}
	if c.Access.RecheckInterval < time.Second {
		bad("Access.RecheckInterval", "%v is too short; use at least 1s", c.Access.RecheckInterval)
	}
	if c.Session.CacheSize == 0 {
		c.Session.CacheSize = defaultSessionCacheSize
	}
	if c.Session.RevocationCacheTTL < 0 {
		bad("Session.RevocationCacheTTL", "%v is negative", c.Session.RevocationCacheTTL)
	}
	if c.Session.RefreshBefore == 0 {
		c.Session.RefreshBefore = 5 * time.Minute
	}
	if c.Session.RefreshBefore < 0 {
		bad("Session.RefreshBefore", "%v is negative", c.Session.RefreshBefore)
	}
	if c.Session.IdleTimeout > c.Session.MaxAge {
		c.Session.IdleTimeout = c.Session.MaxAge
	}

	if c.Session.PostLogoutPath == "" {
		c.Session.PostLogoutPath = "/"
	}
	if safePath(c.Session.PostLogoutPath) != c.Session.PostLogoutPath {
		bad("Session.PostLogoutPath", "%q is not a same-origin path; write e.g. /", c.Session.PostLogoutPath)
	}
	if c.Session.MaxPendingLogins == 0 {
		c.Session.MaxPendingLogins = defaultMaxPendingLogins
	}
	if c.Session.MaxPendingLogins < 1 || c.Session.MaxPendingLogins > 20 {
		bad("Session.MaxPendingLogins", "%d is out of range 1..20", c.Session.MaxPendingLogins)
	}

	scopes := []string{"openid"}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"profile", "email"}
		// The org authorization server has a groups scope; custom servers
		// answer invalid_scope unless an admin defined one, and put groups
		// in a claim instead.
		named := len(c.Access.SignIn.groups) + len(c.Access.Workspace.groups) + len(c.Access.WebApp.groups)
		if named > 0 && !strings.Contains(c.Issuer, "/oauth2/") && !c.Access.IgnoreGroupsClaim {
			c.Scopes = append(c.Scopes, "groups")
		}
	}
	for _, s := range c.Scopes {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	c.Scopes = scopes
	if c.OAuth2 != nil {
		c.Scopes = slices.Clone(c.OAuth2.Scopes) // no openid: not an OpenID provider
	}

	if c.Pages != nil && c.Pages.Lookup(pageTemplate) == nil {
		bad("Pages", "does not define %q; start from oktasso.DefaultPages()", pageTemplate)
	}
	ioDefaults(&c.HTTPClient, &c.Now, &c.Logger)
	if c.Store == nil {
		c.Store = store.NewMemory(c.Now)
	}
	return c, errors.Join(errs...)
}

// issuerFromDomain derives the issuer from an Okta domain as people paste
// it (see issuer.FromDomain).
func issuerFromDomain(domain, authServerID string) (string, error) {
	return issuer.FromDomain(domain, authServerID, envAuthServerID)
}

// checkIssuer accepts https URLs, and http only on loopback hosts.
func checkIssuer(iss string) error { return issuer.Check(iss) }

func isLoopback(host string) bool { return issuer.IsLoopback(host) }

// ioDefaults fills an unset HTTP client (with DefaultHTTPTimeout), clock
// and logger.
func ioDefaults(hc **http.Client, now *func() time.Time, logger **slog.Logger) {
	if *hc == nil {
		*hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if *now == nil {
		*now = time.Now
	}
	if *logger == nil {
		*logger = slog.Default()
	}
}
