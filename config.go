package oktasso

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/internal/issuer"
	"github.com/oktasso/oktasso/plainoauth"
	"github.com/oktasso/oktasso/store"
	"golang.org/x/oauth2"
)

// Config configures an [Auth]. Build it by hand or with [ConfigFromEnv].
// The zero value of every optional field is safe; each field says its
// default. Related settings are grouped: Client, Session, Access and Hooks.
type Config struct {
	// Issuer is the authorization server's issuer URL, compared exactly with
	// the discovered one, e.g. "https://dev-123.okta.com" (org authorization
	// server) or "https://dev-123.okta.com/oauth2/default" (custom). It is
	// kept as written, a trailing slash included (some providers' issuers
	// end in one), except that on an Okta host (okta.com, oktapreview.com,
	// okta-emea.com, okta-gov.com, okta.mil), whose issuers never do, a
	// trailing slash is dropped. Default: derived from Domain and
	// AuthServerID.
	Issuer string
	// Domain is the Okta domain, e.g. "dev-123.okta.com". A pasted URL such
	// as "https://dev-123.okta.com/" is normalised, and the admin console's
	// "-admin" host corrected. Used only when Issuer is empty.
	Domain string
	// AuthServerID selects a custom authorization server ("default" or an
	// "aus…" id). Default "": the org authorization server. Used only when
	// Issuer is empty.
	AuthServerID string
	// Client is the Okta application: its client ID (required) and how it
	// authenticates.
	Client ClientConfig
	// BaseURL is the application's external URL, e.g. "https://app.example.com".
	// The redirect URI is BaseURL+"/auth/callback" and every Location header
	// derives from it, never from request headers. With https, cookies are
	// Secure and use the "__Host-" prefix. Default "http://localhost:8080".
	BaseURL string
	// Scopes requested at sign-in; openid is always added. Default openid,
	// profile, email, plus groups when an Access policy names groups and the
	// issuer is the org authorization server (custom servers carry groups in
	// a claim and refuse an undefined groups scope).
	Scopes []string
	// Session configures sessions: keys, lifetimes, where they live.
	Session SessionConfig
	// Access decides who may sign in and who may enter each scope.
	Access AccessConfig
	// Hooks lets the application provision accounts, observe events and
	// render errors.
	Hooks Hooks
	// Pages restyles the pages oktasso renders (errors, refusals, the
	// sign-out confirmation) and the login button, and names the provider
	// on them ("oktasso-provider", "Okta" by default; OKTASSO_PROVIDER_NAME
	// sets it): start from DefaultPages() and redefine its templates. It
	// must define "oktasso-page" (see DefaultPages). Default DefaultPages().
	Pages *template.Template
	// OAuth2, when set, makes the provider a plain OAuth 2.0 server (such
	// as GitHub) instead of an OpenID provider: no discovery, no ID token,
	// the user's identity read from its userinfo endpoint. Issuer then
	// defaults to OAuth2.Identity, and Scopes are ignored for
	// OAuth2.Scopes. Default nil (OpenID Connect).
	OAuth2 *plainoauth.Provider
	// Store keeps server-side state: ended (revoked) sessions and the
	// "not before" marks that logouts write, the index of sessions with
	// data in it, refreshed tokens and the sessions that Session.Storage
	// puts there. Use a shared store such as
	// package redisstore when several instances serve the app. Default: a
	// store.Memory (this process only; its index bounded, see
	// store.MemoryOptions) warning through Logger.
	Store store.Store
	// HTTPClient makes every call to the identity provider. Default: a
	// client with a 10 second timeout whose transport keeps up to 16 idle
	// connections to the provider. Responses are always size-limited.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives structured events. Tokens and secrets are never
	// logged. Default slog.Default().
	Logger *slog.Logger
}

// ClientConfig is the Okta application that signs users in (Config.Client).
type ClientConfig struct {
	// ID is the application's client ID. Required.
	ID string
	// Secret is the application's client secret. Default "": none (a
	// public client, or PrivateKeyJWT).
	Secret Secret
	// AuthMethod is how the client authenticates at the token endpoint.
	// Default: PrivateKeyJWT when PrivateKey is set, ClientSecretBasic when
	// Secret is set, else ClientAuthNone (a public client: PKCE only).
	// ConfigFromEnv sets PrivateKey only when OKTA_CLIENT_AUTH_METHOD is
	// private_key_jwt, so from the environment that method is always named.
	AuthMethod ClientAuthMethod
	// PrivateKey is the client's private key for PrivateKeyJWT: a PEM key
	// (PKCS#8, PKCS#1 or SEC 1), a private JWK in JSON, or the path of a
	// file holding either; RSA of 2048 bits or more signs with RS256, P-256
	// with ES256. It is loaded and checked by New. Register its public key
	// (`oktasso keygen --jwk` prints both) in the Okta application.
	// Default "": none.
	PrivateKey Secret
	// PrivateKeyID is the key id (kid) sent with every client assertion.
	// Default: the JWK's kid, or else the key's RFC 7638 thumbprint.
	PrivateKeyID string
}

// SessionStorage says where sessions live (SessionConfig.Storage).
type SessionStorage int

// Where sessions live.
const (
	// SessionInCookie keeps the session in its encrypted cookie, split
	// into at most MaxCookies cookies. A session too large for them drops
	// the raw ID token, then the groups no policy names.
	SessionInCookie SessionStorage = iota
	// SessionInStoreWhenLarge keeps sessions in cookies, and in Config.Store
	// only those too large for MaxCookies cookies.
	SessionInStoreWhenLarge
	// SessionInStore keeps every session in Config.Store; the cookie then
	// carries only a random session id and its timestamps.
	SessionInStore
)

// SessionConfig configures sessions (Config.Session).
type SessionConfig struct {
	// Keys are the secrets that protect cookies, newest first: the first
	// encrypts, all decrypt, so keys can be rotated without signing
	// everyone out (a session cookie is sealed again with the first key
	// when used). The sign-out cookie, which holds the ID token for
	// id_token_hint and goes only to the sign-out path, is sealed at
	// sign-in: keep a retired key listed for MaxAge after another comes
	// first, or sign-outs of sessions started before end only the local
	// session. Each must be at least 32 bytes. Default: a random key per
	// process (sessions end at restart and are not shared between
	// instances), with a warning in the log.
	Keys []Secret
	// IdleTimeout ends a session after this long without a request. Any
	// positive value works, rounded up to whole seconds; under a minute New
	// logs a warning (such values are for trying out expiry). Default 8
	// hours.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after sign-in, however active. Any
	// positive value works, as for IdleTimeout. Default 24 hours.
	MaxAge time.Duration
	// CookieName names the session cookie; the sign-in and sign-out
	// cookies derive their names from it. With an https BaseURL it gets the
	// "__Host-" prefix (the sign-out cookie, name+"-logout-hint", sent
	// only to the sign-out path, gets "__Secure-"). Letters, digits, "-"
	// and "_", at most 64, not starting with "__"; since oktasso derives its
	// other cookies' names by appending "-1", "-logout", "-logout-hint" and
	// "-flow-…", a name may not end in "-logout", "-logout-hint" or "-" and
	// a number, nor have a "-flow" part. Set a
	// distinct one per Auth sharing a host (package tenants does it per
	// tenant). Default "oktasso".
	CookieName string
	// Storage says where sessions live. Default SessionInCookie.
	Storage SessionStorage
	// MaxCookies caps the cookies one session may span (each under 4,000
	// bytes), so the Cookie header stays under 8 KB. Default 2, at most 4.
	MaxCookies int
	// KeepAccessToken keeps the access token in the session, for handlers
	// that call APIs with it (AccessTokenFrom). With the offline_access
	// scope it is refreshed before it expires. Default false.
	KeepAccessToken bool
	// Claims names ID-token or userinfo claims to keep in the session, so
	// User.Claims has them on every request (each as a []string; at most 64
	// values of up to 256 bytes each). Claims that policies read
	// (RequireClaim) are kept without being listed here. Default none.
	Claims []string
	// CacheSize is how many verified session cookies are kept in memory,
	// so that a repeat request with the exact same cookie value skips
	// decryption (lifetimes and revocation are still checked on every
	// request). Only single-cookie sessions are cached; an entry takes
	// about twice its cookie's size. When full, a random entry makes room.
	// Default 4,096; negative turns the cache off.
	CacheSize int
	// RevocationCacheTTL lets a cached session skip the Store's revocation
	// lookup for this long after the Store last said the session was not
	// revoked. Sessions ended by this process leave the cache at once; one
	// ended by another instance sharing the Store may then still be
	// admitted here for up to RevocationCacheTTL. Worth it with a remote
	// Store, e.g. 1 s. Default 0: the Store is asked on every request.
	RevocationCacheTTL time.Duration
	// PostLogoutPath is where the browser lands after sign-out; a
	// same-origin path. Default "/".
	PostLogoutPath string
}

// AccessConfig decides who may enter (Config.Access). Every decision is a
// [Policy]; Hooks provision accounts but do not decide access.
type AccessConfig struct {
	// SignIn decides who may sign in at all; a refused user gets a 403
	// page at the callback, and guards and Identify stop recognising a
	// session it no longer admits. Default: the zero Policy, everyone the
	// provider lets through. OKTASSO_ALLOWED_EMAIL_DOMAINS sets it to
	// RequireEmailDomains.
	SignIn Policy
	// Workspace decides who is an internal member, admitted to the
	// Workspace scope (the admin console); User.Internal reports it.
	// Default: nobody (unlike elsewhere, the zero Policy admits nobody
	// here). OKTASSO_WORKSPACE_GROUPS sets it to RequireGroups; use
	// RequireMember for a lookup in the application's own member table.
	Workspace Policy
	// WebApp decides who may enter the WebApp scope (end-user apps,
	// external users included). Default: the zero Policy, every signed-in
	// user SignIn admits. OKTASSO_WEBAPP_GROUPS sets it to RequireGroups.
	WebApp Policy
	// SkipEnforceWorkspace turns off SSO enforcement on the Workspace
	// scope: anonymous requests pass (the app then authenticates them its
	// own way) and a signed-in user is put in the request context only when
	// the workspace would admit them. Default false (enforced).
	SkipEnforceWorkspace bool
	// SkipEnforceWebApp does the same for the WebApp scope. Default false.
	SkipEnforceWebApp bool
	// Prompt is the prompt parameter of the sign-ins this Auth starts for
	// a session without one of their own (the guards', /auth/login's, a
	// dashboard tile's). Default "": none, the provider decides.
	//   - "consent" asks for consent at every sign-in. A strict OpenID
	//     provider issues a refresh token for the scope offline_access only
	//     then (OpenID Connect Core §11); New's log says when one is
	//     needed. A step-up's prompt=login becomes "login consent".
	//   - "login" makes the user authenticate again at every sign-in;
	//     "select_account" lets them pick an account.
	//   - "none" makes guards try a silent sign-in (prompt=none) once per
	//     browser session before sending a browser to the provider's
	//     sign-in page: a browser with a provider session comes back signed
	//     in without seeing a page, and login_required falls back quietly.
	// OKTASSO_PROMPT sets it; OKTASSO_SILENT_LOGIN=true means "none".
	Prompt string
	// RequireUserInfo makes a sign-in fail when the provider's userinfo
	// endpoint cannot be read after the code exchange (an error status, a
	// timeout, an answer that is not JSON claims, or no userinfo endpoint
	// at all): the person gets a 400 page with a link to sign in again.
	// Set it when the ID token lacks claims the application needs (groups,
	// email) and only userinfo has them. Default false: the sign-in
	// completes on the ID token's claims, logged as a warning and audited
	// with reason userinfo_unavailable. Userinfo about another subject
	// than the ID token's fails the sign-in either way.
	RequireUserInfo bool
	// GroupsSource reads a user's groups by their provider user id (for
	// Okta the "sub" of ID tokens, "00u…") from outside the ID token, e.g.
	// from the Okta Management API's /api/v1/users/{id}/groups: package
	// directory's Client.UserGroups is one. It must be safe for concurrent
	// use and honour ctx. It is used when the ID token and userinfo carry no groups claim (Okta
	// fails a sign-in whose groups claim would exceed 100 groups, so admins
	// filter the claim or leave it out), when the claim has 100 groups or
	// more (Okta's cap: it may lack some), or always with IgnoreGroupsClaim.
	// The groups claim is "groups", or OAuth2.Mapping.Groups for a plain
	// OAuth 2.0 provider. Without a GroupsSource, a claim of 100 or more is
	// used as it is, with a warning (audit reason groups_truncated).
	// Groups it returns are kept in the session and read again every
	// RecheckInterval. Default nil.
	GroupsSource func(ctx context.Context, userID string) ([]string, error)
	// IgnoreGroupsClaim makes GroupsSource the only source of groups, even
	// when a groups claim is present. The default scopes then leave out
	// "groups". Default false.
	IgnoreGroupsClaim bool
	// RecheckInterval is how long a decision that depends on something
	// outside the session (RequireMember, groups from GroupsSource) stands
	// before it is made again, so removing a member takes effect within
	// it. Default 5 minutes.
	RecheckInterval time.Duration
}

// Hooks are the application's callbacks (Config.Hooks). Each is optional.
type Hooks struct {
	// OnLogin runs after a verified, admitted sign-in, before the session
	// is issued. It may provision or update a local account linked by
	// (Issuer, Subject) and set User.LocalID, or refuse the sign-in by
	// returning an error: an [*Error] shows its Description to the user, an
	// error wrapping [ErrAccessDenied] shows a generic refusal (403), any
	// other error is a server error (500). tok is the token response
	// (access token, refresh token when granted, the raw ID token as
	// tok.Extra("id_token")), for an application that calls an API at
	// first sign-in; oktasso never logs it. Default nil.
	OnLogin func(ctx context.Context, u *User, tok *oauth2.Token) error
	// OnEvent receives every audit Event (sign-ins, sign-outs, refusals,
	// failures) as it is logged, e.g. to count them by Reason for metrics.
	// It runs synchronously: keep it fast. Default nil.
	OnEvent func(audit.Event)
	// ErrorHandler renders every error page (4xx and 5xx) shown to a
	// browser. It must not show err.Error() to the user. Default: the
	// built-in page (Config.Pages).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, status int, err error)
	// UserExists tells a Universal Logout request (see
	// Auth.UniversalLogoutURL) whether the application knows the user it
	// names: by issuer (the configured one) and subject, or by email
	// (issuer and subject then empty). When it reports false the answer
	// is 404, as Okta expects for an unknown user; the user's sessions
	// are ended either way, and an error counts as known. Default nil:
	// every user is known (204).
	UserExists func(ctx context.Context, issuer, subject, email string) (bool, error)
}

// ClientAuthMethod is how the client authenticates at the token endpoint.
type ClientAuthMethod string

// Client authentication methods.
const (
	// ClientSecretBasic sends the secret in an HTTP Basic Authorization header.
	ClientSecretBasic ClientAuthMethod = "client_secret_basic"
	// ClientSecretPost sends the secret in the form body.
	ClientSecretPost ClientAuthMethod = "client_secret_post"
	// PrivateKeyJWT sends a client assertion signed with Config.Client.PrivateKey
	// (RFC 7523): iss = sub = the client ID, aud = the endpoint's URL, a
	// unique jti, valid five minutes. No secret is shared with Okta.
	PrivateKeyJWT ClientAuthMethod = "private_key_jwt"
	// ClientAuthNone sends only the client ID: a public client (a single
	// page app or a native app) that proves possession with PKCE alone.
	ClientAuthNone ClientAuthMethod = "none"
)

// Secret is a string that redacts itself when printed, marshalled or logged,
// so a stray %v or log line never leaks it. Convert explicitly with
// string(s) where the value is really needed.
type Secret string

const redacted = "[redacted]"

// String returns a redaction marker, or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return `oktasso.Secret("` + s.String() + `")` }

// MarshalJSON redacts the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Defaults for optional Config fields.
const (
	defaultBaseURL            = "http://localhost:8080"
	defaultSessionIdleTimeout = 8 * time.Hour
	defaultRecheckInterval    = 5 * time.Minute
	defaultSessionMaxAge      = 24 * time.Hour
	defaultHTTPTimeout        = 10 * time.Second
	// maxPendingLogins caps the sign-in flows one browser may have in
	// progress (one per tab); the oldest is dropped.
	maxPendingLogins = 5
	// refreshBefore is how long before the access token expires a session
	// with a refresh token (scope offline_access) refreshes its tokens;
	// half the token's lifetime when that is shorter (refreshMargin).
	refreshBefore    = 5 * time.Minute
	minSessionKeyLen = 32
)

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
	c.normalizeIssuer(bad)
	c.normalizeClient(bad)
	c.normalizeBaseURL(bad)
	c.normalizeSessionLifetime(bad)
	c.normalizeAccess(bad)
	c.normalizeSessionRefresh(bad)
	c.normalizeSessionLogins(bad)
	c.normalizeScopes()
	if c.Pages != nil && c.Pages.Lookup(pageTemplate) == nil {
		bad("Pages", "does not define %q; start from oktasso.DefaultPages()", pageTemplate)
	}
	if c.Pages != nil {
		if _, problem := providerNameOf(c.Pages); problem != "" {
			bad("Pages", "%s", problem)
		}
	}
	ioDefaults(&c.HTTPClient, &c.Now, &c.Logger)
	if c.Store == nil {
		c.Store = store.NewMemoryWith(store.MemoryOptions{Now: c.Now, Logger: c.Logger})
	}
	return c, errors.Join(errs...)
}

// normalizeIssuer derives Issuer from Domain and AuthServerID when unset,
// trims a trailing slash on an Okta host only, and checks the result.
func (c *Config) normalizeIssuer(bad func(field, format string, args ...any)) {
	if c.Issuer == "" {
		if c.Domain == "" {
			bad("Issuer", "no issuer; set %s to your Okta domain, e.g. dev-123.okta.com", envDomain)
		} else if iss, err := issuerFromDomain(c.Domain, c.AuthServerID); err != nil {
			bad("Domain", "%s", err.Error())
		} else {
			c.Issuer = iss
		}
	} else {
		c.Issuer = issuer.Normalize(c.Issuer)
	}
	if c.Issuer != "" {
		if err := checkIssuer(c.Issuer); err != nil {
			bad("Issuer", "%s", err.Error())
		}
	}
}

// normalizeClient checks the client ID and picks and checks the client
// authentication method.
func (c *Config) normalizeClient(bad func(field, format string, args ...any)) {
	if c.Client.ID == "" {
		bad("Client.ID", "is empty; copy the Client ID from the Okta application's General tab")
	}
	c.Client.AuthMethod = defaultClientAuth(c.Client.AuthMethod, c.Client.Secret, c.Client.PrivateKey)
	if err := checkClientAuth(c.Client.AuthMethod, c.Client.Secret, c.Client.PrivateKey, c.Client.PrivateKeyID); err != nil {
		bad("Client."+err.field, "%s", err.msg)
	}
}

// normalizeBaseURL defaults BaseURL, trims a trailing slash and checks that
// it is an absolute http(s) URL without query, fragment or user info.
func (c *Config) normalizeBaseURL(bad func(field, format string, args ...any)) {
	if c.BaseURL == "" {
		c.BaseURL = defaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("BaseURL", "%q is not an http(s) URL without query; write the app's external URL, e.g. https://app.example.com", c.BaseURL)
	}
}

// normalizeSessionLifetime checks the session keys and defaults and checks
// the session timeouts and the cookie count.
func (c *Config) normalizeSessionLifetime(bad func(field, format string, args ...any)) {
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
	// Any positive lifetime is accepted (New warns under a minute, for
	// tests of expiry); sessions count whole seconds.
	if c.Session.IdleTimeout < 0 {
		bad("Session.IdleTimeout", "%v is negative; write e.g. 8h or 30m", c.Session.IdleTimeout)
	}
	if c.Session.MaxAge < 0 {
		bad("Session.MaxAge", "%v is negative; write e.g. 24h or 12h", c.Session.MaxAge)
	}
	c.Session.IdleTimeout = ceilSecond(c.Session.IdleTimeout)
	c.Session.MaxAge = ceilSecond(c.Session.MaxAge)
	if c.Session.MaxCookies == 0 {
		c.Session.MaxCookies = defaultMaxChunks
	}
	if c.Session.MaxCookies < 1 || c.Session.MaxCookies > maxMaxChunks {
		bad("Session.MaxCookies", "%d is out of range 1..%d", c.Session.MaxCookies, maxMaxChunks)
	}
}

// ceilSecond rounds a positive d up to whole seconds.
func ceilSecond(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// normalizeAccess defaults and checks the access recheck interval and
// the default prompt.
func (c *Config) normalizeAccess(bad func(field, format string, args ...any)) {
	switch c.Access.Prompt {
	case "", "none", "login", "consent", "select_account":
	default:
		bad("Access.Prompt", "%q is not a prompt; write consent, login, select_account or none", c.Access.Prompt)
	}
	if c.Access.RecheckInterval == 0 {
		c.Access.RecheckInterval = defaultRecheckInterval
	}
	if c.Access.RecheckInterval < time.Second {
		bad("Access.RecheckInterval", "%v is too short; use at least 1s", c.Access.RecheckInterval)
	}
}

// normalizeSessionRefresh defaults and checks the session cache and token
// refresh settings, and caps IdleTimeout at MaxAge.
func (c *Config) normalizeSessionRefresh(bad func(field, format string, args ...any)) {
	if c.Session.CacheSize == 0 {
		c.Session.CacheSize = defaultSessionCacheSize
	}
	if c.Session.RevocationCacheTTL < 0 {
		bad("Session.RevocationCacheTTL", "%v is negative", c.Session.RevocationCacheTTL)
	}
	if c.Session.IdleTimeout > c.Session.MaxAge {
		c.Session.IdleTimeout = c.Session.MaxAge
	}
}

// normalizeSessionLogins defaults and checks where sign-out lands and how
// many sign-ins may be pending at once.
func (c *Config) normalizeSessionLogins(bad func(field, format string, args ...any)) {
	if c.Session.PostLogoutPath == "" {
		c.Session.PostLogoutPath = "/"
	}
	if safePath(c.Session.PostLogoutPath) != c.Session.PostLogoutPath {
		bad("Session.PostLogoutPath", "%q is not a same-origin path; write e.g. /", c.Session.PostLogoutPath)
	}
}

// normalizeScopes fills the default scopes and puts openid first, once;
// with OAuth2 set the scopes are exactly OAuth2.Scopes.
func (c *Config) normalizeScopes() {
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
// defaultHTTPClient is the client of Config.HTTPClient and NewProvider
// when none is given: a 10 second timeout, and a transport of its own
// (http.DefaultTransport's settings) that keeps up to
// defaultIdleConnsPerHost idle connections to the provider instead of 2,
// so that concurrent sign-ins reuse connections (TLS handshakes with the
// provider) rather than open and close one per call.
func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = defaultIdleConnsPerHost
	return &http.Client{Timeout: defaultHTTPTimeout, Transport: tr}
}

// defaultIdleConnsPerHost bounds the idle connections the default client
// keeps to the provider (its token, userinfo and key endpoints share one
// host).
const defaultIdleConnsPerHost = 16

func ioDefaults(hc **http.Client, now *func() time.Time, logger **slog.Logger) {
	if *hc == nil {
		*hc = defaultHTTPClient()
	}
	if *now == nil {
		*now = time.Now
	}
	if *logger == nil {
		*logger = slog.Default()
	}
}
