// Package oktasso adds "Sign in with Okta" to a Go web service.
//
// It is an OpenID Connect relying party built for Okta (any standards-compliant
// OpenID provider works too): discovery, the authorize redirect with state,
// nonce and PKCE, the callback with code exchange and ID-token verification, an
// encrypted cookie session, route guards for a Workspace scope (internal
// members only) and a WebApp scope (external users allowed), and logout.
//
// Typical wiring:
//
//	cfg, err := oktasso.ConfigFromEnv()
//	if err != nil {
//		log.Fatal(err)
//	}
//	auth, err := oktasso.New(ctx, cfg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.Handle("/auth/", auth.Handler())
//	mux.Handle("/workspace", auth.Workspace(workspaceHandler))
//	mux.Handle("/webapp", auth.WebApp(webappHandler))
//
// Handlers read the signed-in user with [UserFrom].
//
// The package oktatest provides a fake Okta org for tests and offline
// development.
//
// The package depends only on github.com/coreos/go-oidc/v3 (and its
// github.com/go-jose/go-jose/v4) and golang.org/x/oauth2; its cookies are
// sealed with the standard library's AES-GCM.
package oktasso

import (
	"context"
	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/store"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Config configures an [Auth]. Build it by hand or with [ConfigFromEnv].
// The zero value of every optional field is safe; each field says its
// default. Related settings are grouped: Client, Session, Access and Hooks.
type Config struct {
	// Issuer is the authorization server's issuer URL, compared exactly with
	// the discovered one, e.g. "https://dev-123.okta.com" (org authorization
	// server) or "https://dev-123.okta.com/oauth2/default" (custom). Default:
	// derived from Domain and AuthServerID.
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
	// sign-out confirmation) and the login button: start from
	// DefaultPages() and redefine its templates. It must define
	// "oktasso-page" (see DefaultPages). Default DefaultPages().
	Pages *template.Template
	// OAuth2, when set, makes the provider a plain OAuth 2.0 server (such
	// as GitHub) instead of an OpenID provider: no discovery, no ID token,
	// the user's identity read from its userinfo endpoint. Issuer then
	// defaults to OAuth2.Identity, and Scopes are ignored for
	// OAuth2.Scopes. Default nil (OpenID Connect).
	OAuth2 *OAuth2Provider
	// Store keeps server-side state: ended (revoked) sessions, the index
	// that back- and front-channel logout use, refreshed tokens and the
	// sessions that Session.Storage puts there. Use a shared store such as
	// package redisstore when several instances serve the app. Default:
	// store.NewMemory(Now) (this process only).
	Store store.Store
	// HTTPClient makes every call to the identity provider. Default: a
	// client with a 10 second timeout. Responses are always size-limited.
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
	// everyone out. Each must be at least 32 bytes. Default: a random key
	// per process (sessions end at restart and are not shared between
	// instances), with a warning in the log.
	Keys []Secret
	// IdleTimeout ends a session after this long without a request.
	// Default 8 hours.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after sign-in, however active.
	// Default 24 hours.
	MaxAge time.Duration
	// CookieName names the session cookie; the sign-in and sign-out
	// cookies derive their names from it. With an https BaseURL it gets the
	// "__Host-" prefix. Letters, digits, "-" and "_", at most 64. Set a
	// distinct one per Auth sharing a host (package tenants does it per
	// tenant). Default "oktasso".
	CookieName string
	// Storage says where sessions live. Default SessionInCookie.
	Storage SessionStorage
	// MaxCookies caps the cookies one session may span (each under 4,000
	// bytes), so the Cookie header stays under 8 KB. Default 2, at most 4.
	MaxCookies int
	// DropIDToken does not keep the raw ID token in the session. Sessions
	// get smaller, but sign-out then ends only the local session, not
	// Okta's (which needs id_token_hint). Default false.
	DropIDToken bool
	// KeepAccessToken keeps the access token in the session, for handlers
	// that call APIs with it (AccessTokenFrom). With the offline_access
	// scope it is refreshed before it expires. Default false.
	KeepAccessToken bool
	// RefreshBefore is how long before the access token expires a session
	// with a refresh token (scope offline_access) refreshes its tokens.
	// Default 5 minutes.
	RefreshBefore time.Duration
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
	// MaxPendingLogins caps the sign-in flows one browser may have in
	// progress (one per tab); the oldest is dropped. Default 5, at most 20.
	MaxPendingLogins int
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
	// SilentLogin makes guards try a silent sign-in (prompt=none) once per
	// browser session before sending a browser to the provider's sign-in
	// page. Default false.
	SilentLogin bool
	// GroupsSource reads a user's groups from outside the ID token, e.g.
	// the Okta Management API (package directory's Client implements it).
	// It is used when the ID token and userinfo carry no groups claim (Okta
	// fails a sign-in whose groups claim would exceed 100 groups, so admins
	// filter the claim or leave it out) or always with IgnoreGroupsClaim.
	// Groups it returns are kept in the session and read again every
	// RecheckInterval. Default nil.
	GroupsSource GroupsSource
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
	// other error is a server error (500). Default nil.
	OnLogin func(ctx context.Context, u *User) error
	// OnEvent receives every audit Event (sign-ins, sign-outs, refusals,
	// failures) as it is logged, e.g. to count them by Reason for metrics.
	// It runs synchronously: keep it fast. Default nil.
	OnEvent func(audit.Event)
	// ErrorHandler renders every error page (4xx and 5xx) shown to a
	// browser. It must not show err.Error() to the user. Default: the
	// built-in page (Config.Pages).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, status int, err error)
}

// GroupsSource reads a user's groups by their provider user id (for Okta,
// the "sub" of ID tokens, "00u…"), e.g. from the Okta Management API's
// /api/v1/users/{id}/groups. Implementations must be safe for concurrent
// use and honour ctx.
type GroupsSource interface {
	UserGroups(ctx context.Context, userID string) ([]string, error)
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

// MarshalText redacts the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// User is the signed-in person, as verified at sign-in. Handlers read it with
// [UserFrom]. A User in a request context must be treated as read-only: it
// is shared by concurrent requests of the same session (see
// Config.Session.CacheSize); copy it to change it.
type User struct {
	// Issuer and Subject identify the user for good: link local accounts by
	// this pair, never by email alone. For Okta, Subject is the user id
	// ("00u…").
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	// Email and EmailVerified come from the email scope.
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	// Name is the display name; Username is preferred_username (the Okta login).
	Name     string `json:"name,omitempty"`
	Username string `json:"preferred_username,omitempty"`
	// Groups are the names in the groups claim (or userinfo), if any.
	Groups []string `json:"groups,omitempty"`
	// Internal is true for workspace members; false for external users.
	Internal bool `json:"internal,omitempty"`
	// LocalID is the application's own account id, set by Config.Hooks.OnLogin.
	LocalID string `json:"local_id,omitempty"`
	// AuthTime is when the user last authenticated at the identity provider.
	AuthTime time.Time `json:"auth_time"`
	// ACR is the authentication context class reference (acr claim) of the
	// last authentication, e.g. "urn:okta:loa:2fa:any".
	ACR string `json:"acr,omitempty"`
	// AMR lists the authentication methods of the last authentication
	// (amr claim), e.g. ["pwd", "mfa", "otp"].
	AMR []string `json:"amr,omitempty"`
	// SessionID is the identity provider's session id (sid), if sent.
	SessionID string `json:"sid,omitempty"`
	// Claims holds, during sign-in (in Config.Hooks.OnLogin), every verified
	// ID-token claim with userinfo claims filling the gaps (custom claims
	// included). On later requests it holds only the claims the session
	// keeps (Config.Session.Claims and those policies read), each as a
	// []string. Copy what else you need into your own store at sign-in.
	Claims map[string]any `json:"-"`

	apiGroups bool // Groups came from Config.Access.GroupsSource
	pinned    bool // Config.Hooks.OnLogin changed Internal: re-evaluation keeps it
}

// InGroup reports whether the user is in the named group.
func (u *User) InGroup(name string) bool { return slices.Contains(u.Groups, name) }

// EmailDomain returns the lower-cased domain of the user's email, or "".
func (u *User) EmailDomain() string {
	i := strings.LastIndexByte(u.Email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(u.Email[i+1:])
}

type userKey struct{}

type tokenKey struct{}

type accessTokenKey struct{}

// AccessTokenFrom returns the signed-in user's current access token, kept
// with Config.Session.KeepAccessToken (and refreshed with offline_access), or "".
// Guards put it in the request context next to the user.
func AccessTokenFrom(ctx context.Context) string {
	t, _ := ctx.Value(accessTokenKey{}).(string)
	return t
}

// TokenFromContext returns the token response of the sign-in in progress
// (access token, refresh token when granted, and the raw ID token as
// tok.Extra("id_token")). It is set only in the context passed to
// Config.Hooks.OnLogin, for an application that calls an API at first sign-in;
// tokens are never logged nor kept in the session by oktasso.
func TokenFromContext(ctx context.Context) *oauth2.Token {
	t, _ := ctx.Value(tokenKey{}).(*oauth2.Token)
	return t
}

// UserFrom returns the signed-in user that a guard put in ctx, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// WithUser returns a copy of ctx carrying u. Guards call it; tests of
// handlers can too.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}
