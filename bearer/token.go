package bearer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/oktasso/oktasso/audit"
	"slices"
	"strings"
	"time"

	"github.com/oktasso/oktasso"
)

// Token is a verified Okta access token. Handlers behind Guard.Require
// read it with [TokenFrom]; it is shared between requests that present the
// same token and must be treated as read-only.
type Token struct {
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

	user *oktasso.User
}

// HasScope reports whether the token grants scope.
func (t *Token) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// User returns the user the token stands for, as oktasso.UserFrom returns
// it in a guarded handler: Subject is the Okta user id (uid), the same as
// a session's, so both link to the same local account; Username is the
// login; Groups come from the groups claim. For a client_credentials token
// Subject is the client ID. Read-only.
func (t *Token) User() *oktasso.User { return t.user }

// invalidToken is a refusal; desc is safe to show the client (it becomes
// the challenge's error_description) and never holds the token.
func invalidToken(reason audit.Reason, desc string) error {
	return &oktasso.TokenError{Reason: reason, Err: errors.New(desc)}
}

// Verify checks an access token and returns it. A token seen before and
// not yet expired is answered from the cache without I/O. A refused token
// is an *oktasso.TokenError (matching oktasso.ErrInvalidToken); otherwise
// the error matches oktasso.ErrProviderUnavailable.
func (g *Guard) Verify(ctx context.Context, raw string) (*Token, error) {
	now := g.cfg.Now()
	if e, ok := g.cache.get(raw, now.UnixNano()); ok {
		return e.tok, e.err
	}
	return g.verify(ctx, raw, now)
}

func (g *Guard) verify(ctx context.Context, raw string, now time.Time) (*Token, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return nil, invalidToken(audit.ReasonTokenInvalid, "the access token is empty or too long")
	}
	if g.isOrg || strings.Count(raw, ".") != 2 {
		if g.intro == nil {
			return nil, invalidToken(audit.ReasonOpaqueToken, "the access token is not a JWT; this API accepts JWT access tokens of "+g.cfg.Issuer)
		}
		return g.introspect(ctx, raw, now)
	}
	// The provider checks the header, the issuer (before any key fetch)
	// and the signature, as for ID tokens.
	payload, err := g.provider.VerifyAccessToken(ctx, raw)
	if err != nil {
		te, ok := errors.AsType[*oktasso.TokenError](err)
		if !ok {
			return nil, err // unreachable provider, or ctx
		}
		return nil, g.refusal(te, raw)
	}
	var all map[string]any
	if err := json.Unmarshal(payload, &all); err != nil {
		return nil, invalidToken(audit.ReasonTokenInvalid, "the access token's claims are malformed")
	}
	if err := checkClaimNames(all); err != nil {
		return nil, err
	}
	cr := claimReader{m: all}
	t := &Token{
		Issuer: cr.str("iss"), Subject: cr.str("sub"), UserID: cr.str("uid"), ClientID: cr.str("cid"),
		Audience: cr.list("aud"), Scopes: cr.list("scp"), ID: cr.str("jti"), Claims: all,
		IssuedAt: cr.time("iat"), Expiry: cr.time("exp"), AuthTime: cr.time("auth_time"),
	}
	nbf := cr.time("nbf")
	if cr.bad {
		return nil, invalidToken(audit.ReasonTokenInvalid, "the access token's claims are malformed")
	}
	if t.IssuedAt.IsZero() {
		return nil, invalidToken(audit.ReasonTokenTimeInvalid, "the access token has no iat")
	}
	if err := g.check(t, nbf, now); err != nil {
		return nil, err
	}
	g.finish(t)
	g.cache.put(raw, tokenEntry{tok: t, until: t.Expiry.Add(g.cfg.Leeway).UnixNano()}, now.UnixNano())
	return t, nil
}

// refusal turns the provider's refusal of a JWT into the guard's, with a
// description for the client.
func (g *Guard) refusal(te *oktasso.TokenError, raw string) error {
	switch te.Reason {
	case audit.ReasonIssuerMismatch:
		if unverifiedIssuer(raw) == g.orgIssuer {
			return invalidToken(audit.ReasonOrgServerToken, "the access token is from the Okta org authorization server, whose tokens only Okta can validate; request it from "+g.cfg.Issuer)
		}
		return invalidToken(audit.ReasonIssuerMismatch, "the access token is from another issuer")
	case audit.ReasonSignatureInvalid:
		return invalidToken(audit.ReasonSignatureInvalid, "the access token's signature is invalid")
	}
	return invalidToken(te.Reason, "the access token is not an RS256 JWT access token")
}

// unverifiedIssuer returns the iss claim of a JWT without verifying it,
// to name the server of a token refused for its issuer.
func unverifiedIssuer(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	json.Unmarshal(payload, &c)
	return c.Issuer
}

// claimReader reads typed claims from a decoded JSON object, noting any
// of the wrong type. Names are matched exactly.
type claimReader struct {
	m   map[string]any
	bad bool
}

func (r *claimReader) str(name string) string {
	v, ok := r.m[name]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	r.bad = r.bad || !ok
	return s
}

// list reads a list of strings, or a single string as a list of one.
func (r *claimReader) list(name string) []string {
	switch v := r.m[name].(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				r.bad = true
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	r.bad = true
	return nil
}

// time reads a NumericDate; absent, zero and negative are the zero time.
func (r *claimReader) time(name string) time.Time {
	v, ok := r.m[name]
	if !ok || v == nil {
		return time.Time{}
	}
	f, ok := v.(float64)
	if !ok {
		r.bad = true
		return time.Time{}
	}
	return unixTime(f)
}

func (r *claimReader) bool(name string) bool {
	v, ok := r.m[name]
	if !ok || v == nil {
		return false
	}
	b, ok := v.(bool)
	r.bad = r.bad || !ok
	return b
}

func unixTime(f float64) time.Time {
	if f <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}

// checkedClaims are the claims the checks read, by their exact names.
var checkedClaims = map[string]bool{"iss": true, "sub": true, "aud": true, "cid": true, "uid": true, "scp": true, "jti": true,
	"iat": true, "exp": true, "nbf": true, "auth_time": true, "client_id": true, "scope": true, "active": true, "token_type": true, "username": true}

// checkClaimNames refuses a token or introspection answer with a claim
// that differs from a checked one only in case ("Scp", "CID"): a reader
// that matches names without regard to case (as encoding/json does for
// structs) could take such a claim for the real one. It also refuses
// key-bound (DPoP, mTLS) tokens, whose "cnf" this API does not check:
// presented as plain Bearer tokens, a stolen one would be replayable.
func checkClaimNames(all map[string]any) error {
	if _, ok := all["cnf"]; ok {
		return invalidToken(audit.ReasonTokenInvalid, "the access token is bound to a key (DPoP); this API accepts Bearer tokens only")
	}
	for k := range all {
		if l := strings.ToLower(k); l != k && checkedClaims[l] {
			return invalidToken(audit.ReasonTokenInvalid, "the access token has an ambiguous claim name")
		}
	}
	return nil
}

// check applies the checks JWT and introspected tokens share.
func (g *Guard) check(t *Token, nbf, now time.Time) error {
	lw := g.cfg.Leeway
	switch {
	case t.Expiry.IsZero():
		return invalidToken(audit.ReasonTokenTimeInvalid, "the access token has no exp")
	case !now.Before(t.Expiry.Add(lw)):
		return invalidToken(audit.ReasonTokenExpired, "the access token expired")
	case !nbf.IsZero() && now.Add(lw).Before(nbf):
		return invalidToken(audit.ReasonTokenTimeInvalid, "the access token is not valid yet")
	case !t.IssuedAt.IsZero() && now.Add(lw).Before(t.IssuedAt):
		return invalidToken(audit.ReasonTokenTimeInvalid, "the access token was issued in the future")
	case !slices.ContainsFunc(t.Audience, func(a string) bool { return slices.Contains(g.cfg.Audiences, a) }):
		return invalidToken(audit.ReasonAudienceMismatch, "the access token is not for this API (audience)")
	case !slices.Contains(g.cfg.ClientIDs, t.ClientID):
		return invalidToken(audit.ReasonClientNotAllowed, "the access token was issued to a client this API does not accept")
	case t.Subject == "":
		return invalidToken(audit.ReasonTokenInvalid, "the access token has no sub")
	}
	return nil
}

// finish derives the token's User.
func (g *Guard) finish(t *Token) {
	u := &oktasso.User{Issuer: t.Issuer, Subject: t.Subject, AuthTime: t.AuthTime}
	if t.UserID != "" {
		u.Subject, u.Username = t.UserID, t.Subject
	}
	if email, ok := t.Claims["email"].(string); ok {
		u.Email = email
	}
	switch v := t.Claims[g.cfg.GroupsClaim].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				u.Groups = append(u.Groups, s)
			}
		}
	case string:
		u.Groups = []string{v}
	}
	t.user = u
}
