package oktasso

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/oktasso/oktasso/audit"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// tokenKind is a kind of JWT the provider signs. Each kind has its own
// "typ" header values and claim rules, so that a token of one kind never
// passes for another (RFC 8725 section 3.11).
type tokenKind uint8

const (
	idToken         tokenKind = iota // OpenID Connect Core 3.1.3.7
	logoutToken                      // OpenID Connect Back-Channel Logout 1.0 section 2.6
	accessToken                      // RFC 9068; the API checks aud, exp, nbf and iat itself
	revocationToken                  // Okta Universal Logout (Global Token Revocation): RS256, org keys
)

// typs are the "typ" header values each kind accepts, in lower case and
// without the optional "application/" prefix (RFC 7515 section 4.1.9); ""
// stands for a token without typ. An ID token with typ logout+jwt or
// at+jwt is refused, and so on.
var typs = [...][]string{
	idToken:     {"", "jwt"},
	logoutToken: {"", "jwt", "logout+jwt"},
	accessToken: {"", "jwt", "at+jwt"},
	// Okta always sends it; nothing else is taken for one.
	revocationToken: {"global-token-revocation+jwt"},
}

// revocationTokenMaxLife bounds how far in the future a Universal Logout
// token's exp may be, and so how long its jti is remembered.
const revocationTokenMaxLife = time.Hour

// logoutTokenMaxAge is how old (by iat) a logout token may be.
const logoutTokenMaxAge = 5 * time.Minute

// jwtClaims are the registered claims verifyJWT checks (RFC 7519 section
// 4.1). The claims struct of each kind embeds them.
type jwtClaims struct {
	Issuer    string     `json:"iss"`
	Audience  stringList `json:"aud"`
	Expiry    float64    `json:"exp"`
	NotBefore float64    `json:"nbf"`
	IssuedAt  float64    `json:"iat"`
}

func (c *jwtClaims) registered() *jwtClaims { return c }

// claimSet is the claims struct of a kind of token; it embeds jwtClaims.
type claimSet interface{ registered() *jwtClaims }

// expect is what verifyJWT checks a token against, besides its issuer and
// signature.
type expect struct {
	kind     tokenKind
	audience string // a member of aud; "" for access tokens, whose API checks aud
	now      time.Time
}

// verifyJWT is the one path every JWT the provider signs takes: ID tokens
// at sign-in and refresh, back-channel logout tokens, access tokens on API
// routes, Universal Logout tokens (verified by the org authorization
// server's Provider). It decodes the token's claims into dst and returns its verified
// payload and alg. First, without any I/O (parseJWT): the alg is one of
// signingAlgs (never none, never HMAC), the typ fits the kind, iss is the
// issuer exactly, and the claims meet the kind's rules (checkClaims). Then
// the signature (keySet.verify): the alg is one the provider advertises,
// and there is exactly one signature, by the key with the token's kid,
// refetched once when unknown, whose type fits the alg. A refused
// token is a *TokenError; keys that cannot be had are an error matching
// ErrProviderUnavailable.
func (p *Provider) verifyJWT(ctx context.Context, raw string, want expect, dst claimSet) (payload []byte, alg string, err error) {
	jws, err := parseJWT(raw, p.issuer, want, dst)
	if err != nil {
		return nil, "", err
	}
	d, err := p.discover(ctx)
	if err != nil {
		return nil, "", err
	}
	if payload, err = d.keys.verify(ctx, jws); err != nil {
		return nil, "", err
	}
	return payload, jws.Signatures[0].Header.Algorithm, nil
}

// parseJWT is the part of verifyJWT that needs no key: a token it refuses
// costs no discovery and no key fetch.
func parseJWT(raw, issuer string, want expect, dst claimSet) (*jose.JSONWebSignature, error) {
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return nil, tokenErrorf(audit.ReasonTokenInvalid, "not a JWT signed with %v: %w", signingAlgs, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, tokenErrorf(audit.ReasonSignatureInvalid, "want exactly one signature, got %d", len(jws.Signatures))
	}
	typ := ""
	if v, ok := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; ok {
		if typ, ok = v.(string); !ok {
			return nil, tokenErrorf(audit.ReasonTokenInvalid, "typ is not a string")
		}
	}
	if t := strings.TrimPrefix(strings.ToLower(typ), "application/"); !slices.Contains(typs[want.kind], t) {
		return nil, tokenErrorf(audit.ReasonTokenInvalid, "typ %q does not fit this kind of token", typ)
	}
	if alg := jws.Signatures[0].Header.Algorithm; want.kind == revocationToken && alg != string(jose.RS256) {
		return nil, tokenErrorf(audit.ReasonTokenInvalid, "alg %s: Universal Logout tokens are RS256", alg)
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), dst); err != nil {
		return nil, tokenErrorf(audit.ReasonTokenInvalid, "claims: %w", err)
	}
	if dst.registered().Issuer != issuer {
		return nil, tokenErrorf(audit.ReasonIssuerMismatch, "iss is not the issuer %q", issuer)
	}
	if err := checkClaims(want, dst); err != nil {
		return nil, err
	}
	return jws, nil
}

// checkClaims applies the claim rules of the token's kind.
func checkClaims(want expect, dst claimSet) error {
	c := dst.registered()
	if want.audience != "" && !slices.Contains(c.Audience, want.audience) {
		return tokenErrorf(audit.ReasonAudienceMismatch, "aud does not hold %q", want.audience)
	}
	switch want.kind {
	case idToken:
		if dst.(*idTokenClaims).Events != nil {
			// A back-channel logout token is never an ID token, whatever its
			// typ (OpenID Connect Back-Channel Logout 1.0 section 2.4).
			return tokenErrorf(audit.ReasonTokenInvalid, "an ID token must not have an events claim")
		}
		return checkIDTokenTimes(c, want.now)
	case logoutToken:
		return checkLogoutClaims(dst.(*logoutClaims), want.now)
	case revocationToken:
		return checkRevocationClaims(dst.(*revocationClaims), want.now)
	}
	return nil
}

// checkRevocationClaims applies a Universal Logout token's rules: exp
// (within revocationTokenMaxLife), nbf and iat with ClockSkew, and a jti
// to refuse a replay with.
func checkRevocationClaims(rc *revocationClaims, now time.Time) error {
	c := rc.registered()
	switch {
	case c.Expiry == 0:
		return tokenErrorf(audit.ReasonTokenTimeInvalid, "no exp")
	case !now.Before(unixTime(c.Expiry).Add(clockSkew)):
		return tokenErrorf(audit.ReasonTokenExpired, "expired")
	case unixTime(c.Expiry).After(now.Add(revocationTokenMaxLife)):
		return tokenErrorf(audit.ReasonTokenTimeInvalid, "exp is more than %v away", revocationTokenMaxLife)
	case rc.JTI == "" || len(rc.JTI) > 256:
		return tokenErrorf(audit.ReasonTokenInvalid, "jti missing or longer than 256 bytes")
	}
	return checkIssued(c, now)
}

// checkIDTokenTimes applies an ID token's time rules: exp without leeway;
// nbf and iat at most ClockSkew ahead.
func checkIDTokenTimes(c *jwtClaims, now time.Time) error {
	switch {
	case c.Expiry == 0:
		return tokenErrorf(audit.ReasonTokenTimeInvalid, "no exp")
	case now.After(unixTime(c.Expiry)):
		return tokenErrorf(audit.ReasonTokenExpired, "expired")
	}
	return checkIssued(c, now)
}

// checkIssued applies the rules ID and Universal Logout tokens share: nbf
// and iat at most ClockSkew ahead, and an iat.
func checkIssued(c *jwtClaims, now time.Time) error {
	switch {
	case unixTime(c.NotBefore).After(now.Add(clockSkew)):
		return tokenErrorf(audit.ReasonTokenTimeInvalid, "not valid before nbf")
	case c.IssuedAt == 0:
		return tokenErrorf(audit.ReasonTokenTimeInvalid, "no iat")
	case unixTime(c.IssuedAt).After(now.Add(clockSkew)):
		return tokenErrorf(audit.ReasonTokenTimeInvalid, "iat is in the future")
	}
	return nil
}

// checkLogoutClaims applies a logout token's rules: a recent iat, exp if
// any, sub or sid, no nonce, and the back-channel logout event.
func checkLogoutClaims(lc *logoutClaims, now time.Time) error {
	c := lc.registered()
	iat := unixTime(c.IssuedAt)
	var events map[string]json.RawMessage
	switch {
	case c.IssuedAt == 0 || iat.After(now.Add(clockSkew)) || now.Sub(iat) > logoutTokenMaxAge:
		return tokenErrorf(audit.ReasonTokenTimeInvalid, "iat missing or outside the accepted window")
	case c.Expiry != 0 && !now.Before(unixTime(c.Expiry).Add(clockSkew)):
		return tokenErrorf(audit.ReasonTokenExpired, "expired")
	case lc.Subject == "" && lc.SessionID == "":
		return tokenErrorf(audit.ReasonTokenInvalid, "neither sub nor sid")
	case lc.Nonce != nil:
		return tokenErrorf(audit.ReasonTokenInvalid, "a logout token must not have a nonce")
	case json.Unmarshal(lc.Events, &events) != nil:
		return tokenErrorf(audit.ReasonTokenInvalid, "events is not an object")
	}
	if ev, ok := events[backchannelEvent]; !ok || !bytes.HasPrefix(bytes.TrimSpace(ev), []byte("{")) {
		return tokenErrorf(audit.ReasonTokenInvalid, "events lacks the back-channel logout event")
	}
	return nil
}

// unixTime converts a NumericDate; 0 and negative values are the zero
// time.
func unixTime(f float64) time.Time {
	if f <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}

// VerifyAccessToken checks the parts of a JWT access token that depend on
// the provider, and returns the token's verified claims (its JSON
// payload): the alg is one the provider advertises for its ID tokens
// (Okta: RS256), the typ fits an access token (none, JWT or at+jwt), iss
// is p's issuer exactly, and the signature is by one of p's keys, of a
// type that fits the alg, refetched once for an unknown kid.
// The rest is the API's to check: aud, exp, nbf, iat, the client and the
// scopes; package bearer does. A refused token is a *TokenError; while
// the provider or its keys are unreachable the error matches
// ErrProviderUnavailable.
func (p *Provider) VerifyAccessToken(ctx context.Context, raw string) ([]byte, error) {
	var c jwtClaims
	payload, _, err := p.verifyJWT(ctx, raw, expect{kind: accessToken, now: p.now()}, &c)
	return payload, err
}
