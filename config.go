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
)

// Defaults for optional Config fields.
const (
	DefaultBaseURL            = "http://localhost:8080"
	DefaultSessionIdleTimeout = 8 * time.Hour
	DefaultMembershipInterval = 5 * time.Minute
	DefaultSessionMaxAge      = 24 * time.Hour
	DefaultHTTPTimeout        = 10 * time.Second
	DefaultMaxPendingLogins   = 5
	minSessionKeyLen          = 32
)

// Environment variables read by ConfigFromEnv (the README lists them).
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
	"Issuer":              envIssuer + " (or " + envDomain + ")",
	"Domain":              envDomain,
	"AuthServerID":        envAuthServerID,
	"ClientID":            envClientID,
	"ClientSecret":        envClientSecret,
	"ClientAuth":          envClientAuth,
	"PrivateKey":          envPrivateKey,
	"PrivateKeyID":        envPrivateKeyID,
	"BaseURL":             envBaseURL,
	"SessionKeys":         envSessionKeys,
	"SessionIdleTimeout":  envSessionIdleTimeout,
	"SessionMaxAge":       envSessionMaxAge,
	"AllowedEmailDomains": envAllowedEmailDomains,
	"MembershipInterval":  envMembershipInterval,
	"PostLogoutPath":      "PostLogoutPath",
	"MaxPendingLogins":    "MaxPendingLogins",
}

// ConfigFromEnv builds a Config from the process environment (see the
// README's table). It reports every problem at once, each naming the
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
	c.ClientID = get(envClientID, envCLIClientID)
	c.ClientSecret = Secret(get(envClientSecret, envCLIClientSecret))
	c.ClientAuth = ClientAuthMethod(get(envClientAuth))
	// OKTA_PRIVATE_KEY is also what directory sync (and Okta's SDKs, as
	// OKTA_CLIENT_PRIVATEKEY) read for a service app: the web app uses it
	// only when OKTA_CLIENT_AUTH_METHOD says private_key_jwt.
	if c.ClientAuth == PrivateKeyJWT {
		c.PrivateKey = Secret(get(envPrivateKey))
		c.PrivateKeyID = get(envPrivateKeyID)
	}
	c.BaseURL = get(envBaseURL)
	c.Scopes = splitList(get(envScopes), " ,")
	c.WorkspaceGroups = splitList(get(envWorkspaceGroups), ",")
	c.WebAppGroups = splitList(get(envWebAppGroups), ",")
	c.AllowedEmailDomains = splitList(get(envAllowedEmailDomains), ",")

	for i, k := range splitList(get(envSessionKeys), ",") {
		b, err := decodeKey(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("oktasso: %s: key %d is not base64; make one with `openssl rand -base64 32`", envSessionKeys, i+1))
			continue
		}
		c.SessionKeys = append(c.SessionKeys, Secret(b))
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{envSessionIdleTimeout, &c.SessionIdleTimeout}, {envSessionMaxAge, &c.SessionMaxAge}, {envMembershipInterval, &c.MembershipInterval}} {
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
		c.SilentLogin = on
	}
	for _, b := range []struct {
		name string
		skip *bool
	}{{envEnforceWorkspace, &c.SkipEnforceWorkspace}, {envEnforceWebApp, &c.SkipEnforceWebApp}} {
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
	if c.ClientID == "" {
		bad("ClientID", "is empty; copy the Client ID from the Okta application's General tab")
	}
	c.ClientAuth = defaultClientAuth(c.ClientAuth, c.ClientSecret, c.PrivateKey)
	if err := checkClientAuth(c.ClientAuth, c.ClientSecret, c.PrivateKey, c.PrivateKeyID); err != nil {
		bad(err.field, "%s", err.msg)
	}

	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("BaseURL", "%q is not an http(s) URL without query; write the app's external URL, e.g. https://app.example.com", c.BaseURL)
	}

	for i, k := range c.SessionKeys {
		if len(k) < minSessionKeyLen {
			bad("SessionKeys", "key %d has %d bytes, want at least %d; make one with `openssl rand -base64 32`", i+1, len(k), minSessionKeyLen)
		}
	}
	if c.SessionIdleTimeout == 0 {
		c.SessionIdleTimeout = DefaultSessionIdleTimeout
	}
	if c.SessionMaxAge == 0 {
		c.SessionMaxAge = DefaultSessionMaxAge
	}
	if c.SessionIdleTimeout < time.Minute {
		bad("SessionIdleTimeout", "%v is too short; use at least 1m", c.SessionIdleTimeout)
	}
	if c.SessionMaxAge < time.Minute {
		bad("SessionMaxAge", "%v is too short; use at least 1m", c.SessionMaxAge)
	}
	if c.MaxSessionCookies == 0 {
		c.MaxSessionCookies = defaultMaxChunks
	}
	if c.MaxSessionCookies < 1 || c.MaxSessionCookies > maxMaxChunks {
		bad("MaxSessionCookies", "%d is out of range 1..%d", c.MaxSessionCookies, maxMaxChunks)
	}
	if c.MembershipInterval == 0 {
		c.MembershipInterval = DefaultMembershipInterval
	}
	if c.MembershipInterval < time.Second {
		bad("MembershipInterval", "%v is too short; use at least 1s", c.MembershipInterval)
	}
	if c.SessionCacheSize == 0 {
		c.SessionCacheSize = DefaultSessionCacheSize
	}
	if c.RevocationCacheTTL < 0 {
		bad("RevocationCacheTTL", "%v is negative", c.RevocationCacheTTL)
	}
	if c.RefreshBefore == 0 {
		c.RefreshBefore = 5 * time.Minute
	}
	if c.RefreshBefore < 0 {
		bad("RefreshBefore", "%v is negative", c.RefreshBefore)
	}
	if c.SessionIdleTimeout > c.SessionMaxAge {
		c.SessionIdleTimeout = c.SessionMaxAge
	}

	domains := make([]string, 0, len(c.AllowedEmailDomains))
	for _, d := range c.AllowedEmailDomains {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d == "" || strings.ContainsAny(d, "@/ *") || !strings.Contains(d, ".") {
			bad("AllowedEmailDomains", "%q is not a domain; write e.g. example.com", d)
			continue
		}
		domains = append(domains, d)
	}
	c.AllowedEmailDomains = domains

	if c.PostLogoutPath == "" {
		c.PostLogoutPath = "/"
	}
	if safePath(c.PostLogoutPath) != c.PostLogoutPath {
		bad("PostLogoutPath", "%q is not a same-origin path; write e.g. /", c.PostLogoutPath)
	}
	if c.MaxPendingLogins == 0 {
		c.MaxPendingLogins = DefaultMaxPendingLogins
	}
	if c.MaxPendingLogins < 1 || c.MaxPendingLogins > 20 {
		bad("MaxPendingLogins", "%d is out of range 1..20", c.MaxPendingLogins)
	}

	scopes := []string{"openid"}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"profile", "email"}
		// The org authorization server has a groups scope; custom servers
		// answer invalid_scope unless an admin defined one, and put groups
		// in a claim instead.
		if (len(c.WorkspaceGroups) > 0 || len(c.WebAppGroups) > 0) && !strings.Contains(c.Issuer, "/oauth2/") && !c.IgnoreGroupsClaim {
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

	if c.Pages != nil && c.Pages.Lookup(PageTemplate) == nil {
		bad("Pages", "does not define %q; start from oktasso.DefaultPages()", PageTemplate)
	}
	ioDefaults(&c.HTTPClient, &c.Now, &c.Logger)
	if c.Store == nil {
		c.Store = NewMemoryStore(c.Now)
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
		*hc = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if *now == nil {
		*now = time.Now
	}
	if *logger == nil {
		*logger = slog.Default()
	}
}
