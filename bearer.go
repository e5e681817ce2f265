package oktasso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
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

// Reason codes of the bearer guard, in its log records (attribute
// "reason"), besides ReasonIssuerMismatch, ReasonAudienceMismatch,
// ReasonSignatureInvalid, ReasonTokenExpired, ReasonTokenTimeInvalid and
// ReasonTokenInvalid.
const (
	ReasonTokenMissing      = "token_missing"        // no Authorization: Bearer header
	ReasonRequestMalformed  = "request_malformed"    // several or malformed Authorization headers
	ReasonClientNotAllowed  = "client_not_allowed"   // cid not in BearerConfig.ClientIDs
	ReasonOrgServerToken    = "org_server_token"     // a token of the org authorization server
	ReasonTokenInactive     = "token_inactive"       // introspection: expired, revoked or unknown
	ReasonInsufficientScope = "insufficient_scope"   // a scope Require asks for is missing
	ReasonOpaqueToken       = "opaque_token_refused" // not a JWT, and introspection is off
)

// BearerConfig configures a [Bearer]: an API that accepts Okta access
// tokens. It needs no client secret, session keys nor sign-in settings.
// The zero value of every optional field is safe.
type BearerConfig struct {
	// Issuer is the custom authorization server's issuer, compared
	// exactly, e.g. "https://dev-123.okta.com/oauth2/default". When empty
	// it is derived from Domain and AuthServerID, as in Config. The org
	// authorization server's access tokens can be checked only by
	// introspection: with such an issuer, Introspection is required.
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
	OnEvent func(Event)
}

// EventTokenRefused is the audit event of a request Bearer.Require
// refused; its Reason says why (ReasonTokenMissing, ReasonTokenExpired,
// ReasonInsufficientScope, …).
const EventTokenRefused = "token_refused"

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
		cfg.ClientIDs = []string{a.cfg.ClientID}
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
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, errors.Join(errs...)
}

// Issuer returns the issuer whose tokens b accepts.
func (b *Bearer) Issuer() string { return b.cfg.Issuer }

// AccessToken is a verified Okta access token. Handlers behind
// Bearer.Require read it with [AccessTokenClaimsFrom]; it is shared between
// requests that present the same token and must be treated as read-only.
type AccessToken struct {
	Issuer string
	// Subject is the sub claim: the user's login for a user's token, the
	// client ID for a client_credentials token.
	Subject string
	// UserID is the uid claim, the Okta user id ("00u…"); empty for a
	// client_credentials token.
	UserID string
	// ClientID is the cid claim: the application the token was issued to.
	ClientID string
	Audience []string
	// Scopes are the granted scopes (scp, or the introspected scope).
	Scopes   []string
	ID       string // jti
	IssuedAt time.Time
	Expiry   time.Time
	AuthTime time.Time // zero for client_credentials tokens
	// Introspected is true when the token was validated by introspection.
	Introspected bool
	// Claims holds every claim of the token (or of the introspection
	// answer), custom claims included.
	Claims map[string]any

	user *User
}

// HasScope reports whether the token grants scope.
func (t *AccessToken) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// User returns the user the token stands for, as UserFrom returns it in a
// guarded handler: Subject is the Okta user id (uid), the same as a
// session's, so both link to the same local account; Username is the
// login; Groups come from the groups claim. For a client_credentials token
// Subject is the client ID. Read-only.
func (t *AccessToken) User() *User { return t.user }

type bearerKey struct{}

// AccessTokenClaimsFrom returns the verified access token that
// Bearer.Require put in ctx, or nil.
func AccessTokenClaimsFrom(ctx context.Context) *AccessToken {
	t, _ := ctx.Value(bearerKey{}).(*AccessToken)
	return t
}

// bearerError is a refused token or request, with its RFC 6750 error code
// and a description safe to show the client.
type bearerError struct {
	code   string // invalid_request or invalid_token
	desc   string
	reason string
}

func (e *bearerError) Error() string { return "oktasso: invalid token: " + e.desc }

// Is makes every bearerError match ErrInvalidToken.
func (e *bearerError) Is(target error) bool { return target == ErrInvalidToken }

func invalidToken(reason, desc string) error {
	return &bearerError{code: "invalid_token", desc: desc, reason: reason}
}

// atClaims are the access-token claims Bearer reads.
type atClaims struct {
	Issuer    string     `json:"iss"`
	Subject   string     `json:"sub"`
	Audience  stringList `json:"aud"`
	ClientID  string     `json:"cid"`
	UserID    string     `json:"uid"`
	Scopes    stringList `json:"scp"`
	ID        string     `json:"jti"`
	IssuedAt  float64    `json:"iat"`
	Expiry    float64    `json:"exp"`
	NotBefore float64    `json:"nbf"`
	AuthTime  float64    `json:"auth_time"`
}

// Verify checks an access token and returns it. A token seen before and
// not yet expired is answered from the cache without I/O. Errors match
// ErrInvalidToken (the token is refused) or ErrProviderUnavailable.
func (b *Bearer) Verify(ctx context.Context, raw string) (*AccessToken, error) {
	now := b.cfg.Now()
	if e, ok := b.cache.get(raw, now.UnixNano()); ok {
		return e.tok, e.err
	}
	return b.verify(ctx, raw, now)
}

func (b *Bearer) verify(ctx context.Context, raw string, now time.Time) (*AccessToken, error) {
	if raw == "" || len(raw) > maxBearerTokenLen {
		return nil, invalidToken(ReasonTokenInvalid, "the access token is empty or too long")
	}
	if b.isOrg || strings.Count(raw, ".") != 2 {
		if b.intro == nil {
			return nil, invalidToken(ReasonOpaqueToken, "the access token is not a JWT; this API accepts JWT access tokens of "+b.cfg.Issuer)
		}
		return b.introspect(ctx, raw, now)
	}
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return nil, invalidToken(ReasonTokenInvalid, "the access token is not an RS256 JWT")
	}
	var c atClaims
	payload := jws.UnsafePayloadWithoutVerification()
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalidToken(ReasonTokenInvalid, "the access token's claims are malformed")
	}
	// The issuer first: a token of another server must not trigger a key
	// fetch, and an org-server token deserves a precise answer.
	switch c.Issuer {
	case b.cfg.Issuer:
	case b.orgIssuer:
		return nil, invalidToken(ReasonOrgServerToken, "the access token is from the Okta org authorization server, whose tokens only Okta can validate; request it from "+b.cfg.Issuer)
	default:
		return nil, invalidToken(ReasonIssuerMismatch, "the access token is from another issuer")
	}
	d, err := b.provider.discover(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := d.keys.verifyJWS(ctx, jws); err != nil {
		if errors.Is(err, ErrProviderUnavailable) || ctx.Err() != nil {
			return nil, err
		}
		return nil, invalidToken(ReasonSignatureInvalid, "the access token's signature is invalid")
	}
	if c.IssuedAt == 0 {
		return nil, invalidToken(ReasonTokenTimeInvalid, "the access token has no iat")
	}
	var all map[string]any
	if err := json.Unmarshal(payload, &all); err != nil {
		return nil, invalidToken(ReasonTokenInvalid, "the access token's claims are malformed")
	}
	t := &AccessToken{
		Issuer: c.Issuer, Subject: c.Subject, UserID: c.UserID, ClientID: c.ClientID,
		Audience: c.Audience, Scopes: c.Scopes, ID: c.ID, Claims: all,
		IssuedAt: unixTime(c.IssuedAt), Expiry: unixTime(c.Expiry), AuthTime: unixTime(c.AuthTime),
	}
	if err := b.check(t, unixTime(c.NotBefore), now); err != nil {
		return nil, err
	}
	b.finish(t)
	b.cache.put(raw, cacheEntry{tok: t, until: t.Expiry.Add(b.cfg.Leeway).UnixNano()}, now.UnixNano())
	return t, nil
}

func unixTime(f float64) time.Time {
	if f <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}

// check applies the checks JWT and introspected tokens share.
func (b *Bearer) check(t *AccessToken, nbf, now time.Time) error {
	lw := b.cfg.Leeway
	switch {
	case t.Expiry.IsZero():
		return invalidToken(ReasonTokenTimeInvalid, "the access token has no exp")
	case !now.Before(t.Expiry.Add(lw)):
		return invalidToken(ReasonTokenExpired, "the access token expired")
	case !nbf.IsZero() && now.Add(lw).Before(nbf):
		return invalidToken(ReasonTokenTimeInvalid, "the access token is not valid yet")
	case !t.IssuedAt.IsZero() && now.Add(lw).Before(t.IssuedAt):
		return invalidToken(ReasonTokenTimeInvalid, "the access token was issued in the future")
	case !slices.ContainsFunc(t.Audience, func(a string) bool { return slices.Contains(b.cfg.Audiences, a) }):
		return invalidToken(ReasonAudienceMismatch, "the access token is not for this API (audience)")
	case !slices.Contains(b.cfg.ClientIDs, t.ClientID):
		return invalidToken(ReasonClientNotAllowed, "the access token was issued to a client this API does not accept")
	case t.Subject == "":
		return invalidToken(ReasonTokenInvalid, "the access token has no sub")
	}
	return nil
}

// finish derives the token's User.
func (b *Bearer) finish(t *AccessToken) {
	u := &User{Issuer: t.Issuer, Subject: t.Subject, AuthTime: t.AuthTime}
	if t.UserID != "" {
		u.Subject, u.Username = t.UserID, t.Subject
	}
	if email, ok := t.Claims["email"].(string); ok {
		u.Email = email
	}
	switch g := t.Claims[b.cfg.GroupsClaim].(type) {
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok {
				u.Groups = append(u.Groups, s)
			}
		}
	case string:
		u.Groups = []string{g}
	}
	t.user = u
}
