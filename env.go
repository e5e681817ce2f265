package oktasso

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
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
	envPrompt              = "OKTASSO_PROMPT"
	envRequireUserInfo     = "OKTASSO_REQUIRE_USERINFO"
	envProviderName        = "OKTASSO_PROVIDER_NAME"
)

// envNames maps Config field names to the variables that set them, so that
// validation of an environment-built Config names the variable to fix.
var envNames = map[string]string{
	"Issuer":                 envIssuer + " (or " + envDomain + ")",
	"Domain":                 envDomain,
	"AuthServerID":           envAuthServerID,
	"Client.ID":              envClientID,
	"Client.Secret":          envClientSecret,
	"Client.AuthMethod":      envClientAuth,
	"Client.PrivateKey":      envPrivateKey,
	"Client.PrivateKeyID":    envPrivateKeyID,
	"BaseURL":                envBaseURL,
	"Session.Keys":           envSessionKeys,
	"Session.IdleTimeout":    envSessionIdleTimeout,
	"Session.MaxAge":         envSessionMaxAge,
	"Access.RecheckInterval": envMembershipInterval,
	"Access.Prompt":          envPrompt,
	"Session.PostLogoutPath": "Session.PostLogoutPath",
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
	errs := c.accessFromEnv(get)
	errs = append(errs, c.sessionKeysFromEnv(get)...)
	errs = append(errs, c.durationsFromEnv(get)...)
	errs = append(errs, c.switchesFromEnv(get)...)
	errs = append(errs, c.pagesFromEnv(get)...)
	if _, err := c.normalize(envNames); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}

// accessFromEnv turns the access shortcuts (groups, email domains) into
// policies.
func (c *Config) accessFromEnv(get func(names ...string) string) []error {
	var errs []error
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
	return errs
}

// sessionKeysFromEnv decodes the base64 session keys.
func (c *Config) sessionKeysFromEnv(get func(names ...string) string) []error {
	var errs []error
	for i, k := range splitList(get(envSessionKeys), ",") {
		b, err := decodeKey(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("oktasso: %s: key %d is not base64; make one with `openssl rand -base64 32`", envSessionKeys, i+1))
			continue
		}
		c.Session.Keys = append(c.Session.Keys, Secret(b))
	}
	return errs
}

// durationsFromEnv parses the session timeouts and the membership
// recheck interval.
func (c *Config) durationsFromEnv(get func(names ...string) string) []error {
	var errs []error
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
	return errs
}

// switchesFromEnv parses the switches: the default prompt (and silent
// sign-in, its "none"), required userinfo and the enforcement of the
// Workspace and WebApp policies.
func (c *Config) switchesFromEnv(get func(names ...string) string) []error {
	var errs []error
	var silent bool
	for _, b := range []struct {
		name string
		on   *bool
	}{{envSilentLogin, &silent}, {envRequireUserInfo, &c.Access.RequireUserInfo}} {
		if v := get(b.name); v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("oktasso: %s: %q is not a boolean; write true or false", b.name, v))
			}
			*b.on = on
		}
	}
	c.Access.Prompt = get(envPrompt)
	if silent {
		if c.Access.Prompt != "" && c.Access.Prompt != "none" {
			errs = append(errs, fmt.Errorf("oktasso: %s: true means %s=none, but %s is %q; set one of them", envSilentLogin, envPrompt, envPrompt, c.Access.Prompt))
		}
		c.Access.Prompt = "none"
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
	return errs
}

// pagesFromEnv names the provider on the pages: OKTASSO_PROVIDER_NAME
// becomes the "oktasso-provider" template of DefaultPages.
func (c *Config) pagesFromEnv(get func(names ...string) string) []error {
	name := get(envProviderName)
	if name == "" {
		return nil
	}
	if msg := checkProviderName(name); msg != "" {
		return []error{fmt.Errorf("oktasso: %s %s; write the provider's name as people know it, e.g. Keycloak", envProviderName, msg)}
	}
	pages, err := pagesNaming(name)
	if err != nil {
		return []error{fmt.Errorf("oktasso: %s: %w", envProviderName, err)}
	}
	c.Pages = pages
	return nil
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
