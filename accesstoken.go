package oktasso

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

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
	reason Reason
}

func (e *bearerError) Error() string { return "oktasso: invalid token: " + e.desc }

// Is makes every bearerError match ErrInvalidToken.
func (e *bearerError) Is(target error) bool { return target == ErrInvalidToken }

func invalidToken(reason Reason, desc string) error {
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
	var all map[string]any
	payload := jws.UnsafePayloadWithoutVerification()
	if err := json.Unmarshal(payload, &c); err != nil || json.Unmarshal(payload, &all) != nil {
		return nil, invalidToken(ReasonTokenInvalid, "the access token's claims are malformed")
	}
	if err := checkClaimNames(all); err != nil {
		return nil, err
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
	if _, err := b.provider.VerifyAccessToken(ctx, raw); err != nil {
		if _, ok := errors.AsType[*TokenError](err); !ok {
			return nil, err
		}
		return nil, invalidToken(ReasonSignatureInvalid, "the access token's signature is invalid")
	}
	if c.IssuedAt == 0 {
		return nil, invalidToken(ReasonTokenTimeInvalid, "the access token has no iat")
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
	b.cache.put(raw, tokenEntry{tok: t, until: t.Expiry.Add(b.cfg.Leeway).UnixNano()}, now.UnixNano())
	return t, nil
}

// checkedClaims are the claims the checks read, by their exact names.
var checkedClaims = map[string]bool{"iss": true, "sub": true, "aud": true, "cid": true, "uid": true, "scp": true, "jti": true,
	"iat": true, "exp": true, "nbf": true, "auth_time": true, "client_id": true, "scope": true, "active": true, "token_type": true, "username": true}

// checkClaimNames refuses a token or introspection answer with a claim
// that differs from a checked one only in case ("Scp", "CID"):
// encoding/json matches names without regard to case, so such a claim
// could stand in for the real one. It also refuses key-bound (DPoP,
// mTLS) tokens, whose "cnf" this API does not check: presented as plain
// Bearer tokens, a stolen one would be replayable.
func checkClaimNames(all map[string]any) error {
	if _, ok := all["cnf"]; ok {
		return invalidToken(ReasonTokenInvalid, "the access token is bound to a key (DPoP); this API accepts Bearer tokens only")
	}
	for k := range all {
		if l := strings.ToLower(k); l != k && checkedClaims[l] {
			return invalidToken(ReasonTokenInvalid, "the access token has an ambiguous claim name")
		}
	}
	return nil
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
