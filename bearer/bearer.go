// Package bearer guards API routes with Okta access tokens sent as
// "Authorization: Bearer …" (RFC 6750): the tokens a single-page app, a
// native app or a service gets from an Okta custom authorization server
// and sends to a Go API. It needs no client secret, session keys nor
// sign-in settings:
//
//	api, err := bearer.New(ctx, bearer.Config{
//		Issuer:    "https://dev-123.okta.com/oauth2/default",
//		ClientIDs: []string{"0oaSPA", "0oaReports"},
//	})
//	mux.Handle("/api/orders", api.Require("orders:read")(orders))
//
// Guarded handlers read the caller with [oktasso.UserFrom] and the token
// with [TokenFrom]. An app that also signs users in with oktasso shares
// the discovery and keys of its [oktasso.Auth] by setting
// Config.Provider to auth.Provider().
//
// JWT access tokens are checked locally: the signature and issuer by the
// oktasso.Provider (the same verification path as ID tokens), then the
// audience, the client (cid), the times and, per route, the scopes.
// Opaque tokens and tokens of the org authorization server can be checked
// only by Okta: set Config.Introspection for those.
package bearer

import (
	"context"
	"errors"
	"fmt"
	"github.com/oktasso/oktasso/audit"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/clientauth"
	"github.com/oktasso/oktasso/internal/issuer"
)

// Defaults for optional Config fields.
const (
	// DefaultAudience is the audience of the access tokens of Okta's
	// "default" custom authorization server.
	DefaultAudience  = "api://default"
	DefaultLeeway    = time.Minute
	DefaultCacheSize = 10_000
	DefaultRealm     = "api"
	// maxTokenLen bounds an access token; Okta's are 1–4 KB, more with
	// many groups.
	maxTokenLen = 16 << 10
	// httpTimeout bounds every call to the provider, as in package oktasso.
	httpTimeout = 10 * time.Second
)

// Config configures a [Guard]. The zero value of every optional field is
// safe.
type Config struct {
	// Provider, when set, is the authorization server whose tokens are
	// accepted, shared with a web sign-in oktasso.Auth (auth.Provider()):
	// one discovery and one key set for both. Issuer may then be left
	// empty; if set it must be the Provider's.
	Provider *oktasso.Provider

	// Issuer is the custom authorization server's issuer, compared
	// exactly, e.g. "https://dev-123.okta.com/oauth2/default", and kept as
	// written, as in oktasso.Config (a trailing slash is dropped on an Okta
	// host only). When empty
	// it is derived from Domain and AuthServerID, as in oktasso.Config. An
	// issuer without "/oauth2/" is the org authorization server, whose
	// access tokens can be checked only by introspection: Introspection is
	// then required.
	Issuer       string
	Domain       string
	AuthServerID string

	// Audiences are the accepted "aud" values; a token must carry one.
	// Default [DefaultAudience] ("api://default").
	Audiences []string
	// ClientIDs are the Okta applications (the "cid" claim) whose tokens
	// this API accepts: the single-page app, the native app, the service
	// apps. Required.
	ClientIDs []string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default
	// DefaultLeeway (1 minute); at most 5 minutes.
	Leeway time.Duration
	// GroupsClaim is the access-token claim holding the user's groups
	// (a Groups claim defined on the custom authorization server). Default
	// "groups".
	GroupsClaim string

	// Introspection, when set, validates opaque (non-JWT) access tokens,
	// and every token of an org authorization server, at the server's
	// introspection endpoint (RFC 7662). Default nil: such tokens are
	// refused.
	Introspection *Introspection

	// CacheSize bounds how many verified tokens are remembered (keyed by
	// the exact token, until it expires), so a repeated token costs a map
	// lookup. Refused tokens are never stored there: a JWT is cached only
	// once verified, and introspection refusals have a small cache of
	// their own (see Introspection.NegativeCacheAge). Default
	// DefaultCacheSize; negative turns caching off, refusals' included.
	CacheSize int
	// Realm is the realm of the WWW-Authenticate challenge. Default "api".
	Realm string

	// HTTPClient makes discovery, JWKS (unless Provider is set) and
	// introspection calls. Default: a client with a 10 second timeout.
	// Responses are size-limited.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives an audit.EventTokenRefused record for every refused
	// request (at debug level; info for org-server tokens, warn when the
	// provider is unreachable). Tokens are never logged. Default
	// slog.Default().
	Logger *slog.Logger
	// OnEvent, when set, receives every audit.EventTokenRefused Event, e.g. to
	// count refusals by Reason. It runs synchronously: keep it fast.
	OnEvent func(audit.Event)
}

// Introspection is how a Guard authenticates at the introspection
// endpoint: as one of the Okta applications the tokens are issued to (Okta
// answers active only for them), with the same methods as oktasso.Config.
type Introspection struct {
	ClientID     string
	ClientSecret oktasso.Secret
	// ClientAuth defaults like oktasso.Config.ClientAuth: PrivateKeyJWT
	// with a PrivateKey, ClientSecretBasic with a secret, else
	// ClientAuthNone (a public client may introspect its own tokens).
	ClientAuth   oktasso.ClientAuthMethod
	PrivateKey   oktasso.Secret
	PrivateKeyID string
	// MaxCacheAge bounds how long an active answer is reused, so a revoked
	// token is refused within this time. Default 5 minutes.
	MaxCacheAge time.Duration
	// NegativeCacheAge is how long a refusal (an inactive answer, or an
	// active one this API does not accept) is reused. Default 10 seconds.
	// Refusals are kept apart from verified tokens, at most 1,024 of them
	// (expired ones are dropped first when full), so a flood of junk
	// tokens never evicts a real user's cached token.
	NegativeCacheAge time.Duration
	// MaxConcurrent bounds the introspection calls this Guard has in
	// flight at once; each distinct new token needs one (parallel
	// requests with the same token share it). When all are taken, a
	// request with a new token waits briefly for one (at most half a
	// second, and only as many requests as MaxConcurrent wait), then is
	// answered 503 with Retry-After: requests never queue without bound,
	// and a flood of junk tokens costs Okta at most MaxConcurrent calls at
	// a time. Default 16.
	MaxConcurrent int
}

// Guard guards API routes with Okta access tokens. Create it with New. It
// is safe for concurrent use.
type Guard struct {
	cfg       Config
	provider  *oktasso.Provider
	orgIssuer string // the org server's issuer on the same host, to name its tokens
	isOrg     bool   // the configured issuer is the org server: introspect everything
	cache     *tokenCache
	intro     *introspector
}

// New validates cfg, reporting every problem at once, and returns a Guard.
// Like oktasso.New it does not wait for the provider: discovery starts in
// the background and is retried on demand.
func New(ctx context.Context, cfg Config) (*Guard, error) {
	g, err := newGuard(cfg)
	if err != nil {
		return nil, err
	}
	// Any endpoint will do: asking for one starts discovery.
	go g.provider.Endpoint(context.WithoutCancel(ctx), "jwks_uri")
	return g, nil
}

func newGuard(cfg Config) (*Guard, error) {
	c, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	g := &Guard{cfg: c, isOrg: !strings.Contains(c.Issuer, "/oauth2/")}
	if u, err := url.Parse(c.Issuer); err == nil {
		g.orgIssuer = u.Scheme + "://" + u.Host
	}
	if g.isOrg && c.Introspection == nil {
		return nil, fmt.Errorf("oktasso: Issuer: %q is the Okta org authorization server, whose access tokens only Okta can validate; use a custom authorization server (AuthServerID \"default\" or an \"aus…\" id), or set Introspection", c.Issuer)
	}
	if in := c.Introspection; in != nil {
		creds, err := clientauth.New(in.ClientID, string(in.ClientSecret), string(in.ClientAuth), string(in.PrivateKey), in.PrivateKeyID, "Introspection.PrivateKey", c.Now)
		if err != nil {
			return nil, fmt.Errorf("oktasso: Introspection: %w", err)
		}
		g.intro = newIntrospector(creds, in, c.CacheSize > 0)
	}
	if c.CacheSize > 0 {
		g.cache = newTokenCache(c.CacheSize)
	}
	if g.provider = c.Provider; g.provider == nil {
		if g.provider, err = oktasso.NewProvider(c.Issuer, c.HTTPClient, c.Now, c.Logger); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Issuer returns the issuer whose tokens g accepts.
func (g *Guard) Issuer() string { return g.cfg.Issuer }

func (c Config) normalize() (Config, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("oktasso: %s: "+format, append([]any{field}, args...)...))
	}
	c.normalizeIssuer(bad)
	c.normalizeTokenRules(bad)
	c.normalizeIntrospection(bad)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: httpTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, errors.Join(errs...)
}

// normalizeIssuer takes the issuer from Issuer, from Domain and
// AuthServerID, or from Provider, and checks it.
func (c *Config) normalizeIssuer(bad func(field, format string, args ...any)) {
	switch {
	case c.Provider != nil && c.Issuer == "" && c.Domain == "":
		c.Issuer = c.Provider.Issuer()
	case c.Issuer == "" && c.Domain == "":
		bad("Issuer", "no issuer; set Issuer, or Domain and AuthServerID (e.g. \"default\"), or Provider")
	case c.Issuer == "":
		if iss, err := issuer.FromDomain(c.Domain, c.AuthServerID, "AuthServerID"); err != nil {
			bad("Domain", "%s", err.Error())
		} else {
			c.Issuer = iss
		}
	}
	c.Issuer = issuer.Normalize(c.Issuer)
	if c.Issuer != "" {
		if err := issuer.Check(c.Issuer); err != nil {
			bad("Issuer", "%s", err.Error())
		} else if c.Provider != nil && c.Provider.Issuer() != c.Issuer {
			bad("Issuer", "%q is not the Provider's issuer %q; leave Issuer empty to use the Provider's", c.Issuer, c.Provider.Issuer())
		}
	}
}

// normalizeTokenRules drops empty audiences and client IDs, and defaults
// and checks the leeway, groups claim, cache size and realm.
func (c *Config) normalizeTokenRules(bad func(field, format string, args ...any)) {
	if len(c.Audiences) == 0 {
		c.Audiences = []string{DefaultAudience}
	}
	c.Audiences = slices.DeleteFunc(slices.Clone(c.Audiences), func(s string) bool { return s == "" })
	if len(c.Audiences) == 0 {
		bad("Audiences", "has only empty values; write e.g. api://default")
	}
	c.ClientIDs = slices.DeleteFunc(slices.Clone(c.ClientIDs), func(s string) bool { return s == "" })
	if len(c.ClientIDs) == 0 {
		bad("ClientIDs", "is empty; list the client IDs of the Okta applications that call this API")
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		bad("Leeway", "%v is out of range 0..5m", c.Leeway)
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
}

// normalizeIntrospection copies Introspection, fills its cache ages and
// checks it.
func (c *Config) normalizeIntrospection(bad func(field, format string, args ...any)) {
	if c.Introspection == nil {
		return
	}
	cp := *c.Introspection
	if cp.ClientID == "" {
		bad("Introspection.ClientID", "is empty; use the client ID of the application the tokens are issued to")
	}
	if cp.MaxCacheAge == 0 {
		cp.MaxCacheAge = 5 * time.Minute
	}
	if cp.NegativeCacheAge == 0 {
		cp.NegativeCacheAge = 10 * time.Second
	}
	if cp.MaxCacheAge < 0 || cp.NegativeCacheAge < 0 {
		bad("Introspection", "cache ages must not be negative")
	}
	if cp.MaxConcurrent == 0 {
		cp.MaxConcurrent = defaultMaxConcurrent
	}
	if cp.MaxConcurrent < 0 {
		bad("Introspection.MaxConcurrent", "%d is negative; leave it 0 for the default (16)", cp.MaxConcurrent)
	}
	c.Introspection = &cp
}
