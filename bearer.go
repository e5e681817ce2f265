package oktasso

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
)

// Defaults for optional BearerConfig fields.
const (
	// DefaultAudience is the audience of the access tokens of Okta's
	// "default" custom authorization server.
	DefaultAudience        = "api://default"
	DefaultBearerLeeway    = time.Minute
	DefaultBearerCacheSize = 10_000
	DefaultBearerRealm     = "api"
	// maxBearerTokenLen bounds an access token; Okta's are 1–4 KB, more
	// with many groups.
	maxBearerTokenLen = 16 << 10
)

// BearerConfig configures a [Bearer]: an API that accepts Okta access
// tokens. It needs no client secret, session keys nor sign-in settings.
// The zero value of every optional field is safe.
type BearerConfig struct {
	// Issuer is the custom authorization server's issuer, compared
	// exactly, e.g. "https://dev-123.okta.com/oauth2/default". When empty
	// it is derived from Domain and AuthServerID, as in Config. An issuer
	// without "/oauth2/" is the org authorization server, whose access
	// tokens can be checked only by introspection: Introspection is then
	// required.
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
	// DefaultBearerLeeway (1 minute); at most 5 minutes.
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
	// lookup. Default DefaultBearerCacheSize; negative turns caching off.
	CacheSize int
	// Realm is the realm of the WWW-Authenticate challenge. Default "api".
	Realm string

	// HTTPClient makes discovery, JWKS and introspection calls. Default: a
	// client with a 10 second timeout. Responses are size-limited.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives an EventTokenRefused record for every refused
	// request (at debug level; info for org-server tokens, warn when the
	// provider is unreachable). Tokens are never logged. Default
	// slog.Default().
	Logger *slog.Logger
	// OnEvent, when set, receives every EventTokenRefused Event, e.g. to
	// count refusals by Reason. It runs synchronously: keep it fast.
	OnEvent func(audit.Event)
}

// Introspection is how a Bearer authenticates at the introspection
// endpoint: as one of the Okta applications the tokens are issued to (Okta
// answers active only for them), with the same methods as Config.
type Introspection struct {
	ClientID     string
	ClientSecret Secret
	// ClientAuth defaults like Config.ClientAuth: PrivateKeyJWT with a
	// PrivateKey, ClientSecretBasic with a secret, else ClientAuthNone (a
	// public client may introspect its own tokens).
	ClientAuth   ClientAuthMethod
	PrivateKey   Secret
	PrivateKeyID string
	// MaxCacheAge bounds how long an active answer is reused, so a revoked
	// token is refused within this time. Default 5 minutes.
	MaxCacheAge time.Duration
	// NegativeCacheAge is how long an inactive answer is reused. Default
	// 10 seconds.
	NegativeCacheAge time.Duration
}

// Bearer guards API routes with Okta access tokens sent as
// "Authorization: Bearer …" (RFC 6750). Create it with NewBearer or
// Auth.Bearer. It is safe for concurrent use.
type Bearer struct {
	cfg       BearerConfig
	provider  *Provider
	orgIssuer string // the org server's issuer on the same host, to name its tokens
	isOrg     bool   // the configured issuer is the org server: introspect everything
	cache     *tokenCache
	intro     *introspector
}

// NewBearer validates cfg, reporting every problem at once, and returns a
// Bearer. Like New it does not wait for the provider: discovery starts in
// the background and is retried on demand.
func NewBearer(ctx context.Context, cfg BearerConfig) (*Bearer, error) {
	b, err := newBearer(cfg, nil)
	if err != nil {
		return nil, err
	}
	go b.provider.discover(context.WithoutCancel(ctx))
	return b, nil
}

// Bearer returns a Bearer for the same authorization server as a, sharing
// its discovery and keys. Empty fields of cfg take a's issuer, HTTP client,
// clock and logger, and ClientIDs defaults to a's client ID.
func (a *Auth) Bearer(cfg BearerConfig) (*Bearer, error) {
	if cfg.Issuer == "" && cfg.Domain == "" {
		cfg.Issuer = a.cfg.Issuer
	}
	if len(cfg.ClientIDs) == 0 {
		cfg.ClientIDs = []string{a.cfg.Client.ID}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = a.cfg.HTTPClient
	}
	if cfg.Now == nil {
		cfg.Now = a.cfg.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = a.cfg.Logger
	}
	return newBearer(cfg, a.provider)
}

func newBearer(cfg BearerConfig, shared *Provider) (*Bearer, error) {
	c, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	b := &Bearer{cfg: c, isOrg: !strings.Contains(c.Issuer, "/oauth2/")}
	if u, err := url.Parse(c.Issuer); err == nil {
		b.orgIssuer = u.Scheme + "://" + u.Host
	}
	if b.isOrg && c.Introspection == nil {
		return nil, fmt.Errorf("oktasso: Issuer: %q is the Okta org authorization server, whose access tokens only Okta can validate; use a custom authorization server (AuthServerID \"default\" or an \"aus…\" id), or set Introspection", c.Issuer)
	}
	if c.Introspection != nil {
		in := c.Introspection
		creds, err := newClientCreds(in.ClientID, in.ClientSecret, in.ClientAuth, in.PrivateKey, in.PrivateKeyID, c.Now)
		if err != nil {
			return nil, errors.New("oktasso: Introspection: " + strings.TrimPrefix(err.Error(), "oktasso: "))
		}
		b.intro = &introspector{creds: creds, maxAge: in.MaxCacheAge, negAge: in.NegativeCacheAge}
	}
	if c.CacheSize > 0 {
		b.cache = newTokenCache(c.CacheSize)
	}
	if shared != nil && shared.issuer == c.Issuer {
		b.provider = shared
	} else if b.provider, err = NewProvider(c.Issuer, c.HTTPClient, c.Now, c.Logger); err != nil {
		return nil, err
	}
	return b, nil
}

func (c BearerConfig) normalize() (BearerConfig, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("oktasso: %s: "+format, append([]any{field}, args...)...))
	}
	if c.Issuer == "" {
		if c.Domain == "" {
			bad("Issuer", "no issuer; set Issuer, or Domain and AuthServerID (e.g. \"default\")")
		} else if iss, err := issuerFromDomain(c.Domain, c.AuthServerID); err != nil {
			bad("Domain", "%s", err.Error())
		} else {
			c.Issuer = iss
		}
	}
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if c.Issuer != "" {
		if err := checkIssuer(c.Issuer); err != nil {
			bad("Issuer", "%s", err.Error())
		}
	}
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
		c.Leeway = DefaultBearerLeeway
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		bad("Leeway", "%v is out of range 0..5m", c.Leeway)
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultBearerCacheSize
	}
	if c.Realm == "" {
		c.Realm = DefaultBearerRealm
	}
	if in := c.Introspection; in != nil {
		cp := *in
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
		c.Introspection = &cp
	}
	ioDefaults(&c.HTTPClient, &c.Now, &c.Logger)
	return c, errors.Join(errs...)
}
