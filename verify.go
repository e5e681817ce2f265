package oktasso

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/oktasso/oktasso/audit"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oktasso/oktasso/internal/httpjson"
)

// clockSkew is the leeway allowed between this clock and the provider's:
// for iat in the future, auth_time with max_age and session timestamps.
const clockSkew = 2 * time.Minute

// idClaims are the ID token and userinfo claims oktasso reads.
type idClaims struct {
	Subject           string     `json:"sub"`
	AuthorizedParty   string     `json:"azp"`
	AuthTime          int64      `json:"auth_time"`
	Email             string     `json:"email"`
	EmailVerified     flexBool   `json:"email_verified"`
	Name              string     `json:"name"`
	PreferredUsername string     `json:"preferred_username"`
	Groups            stringList `json:"groups"`
	SessionID         string     `json:"sid"`
	ACR               string     `json:"acr"`
	AMR               stringList `json:"amr"`
	Nonce             string     `json:"nonce"`
}

// idTokenClaims are an ID token's claims: the registered ones verifyJWT
// checks, the ones oktasso reads, at_hash, and events, which only a logout
// token may have.
type idTokenClaims struct {
	jwtClaims
	idClaims
	AccessTokenHash string          `json:"at_hash"`
	Events          json.RawMessage `json:"events"`
}

// flexBool accepts true/false and "true"/"false" (some providers send strings).
type flexBool bool

func (b *flexBool) UnmarshalJSON(p []byte) error {
	p = bytes.Trim(p, `"`)
	v, err := strconv.ParseBool(string(p))
	if err != nil {
		return fmt.Errorf("email_verified: %q is not a boolean", p)
	}
	*b = flexBool(v)
	return nil
}

// stringList accepts a JSON array of strings or a single string.
type stringList []string

func (l *stringList) UnmarshalJSON(p []byte) error {
	if len(p) > 0 && p[0] == '"' {
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return err
		}
		*l = []string{s}
		return nil
	}
	var v []string
	if err := json.Unmarshal(p, &v); err != nil {
		return errors.New("groups: not a list of strings")
	}
	*l = v
	return nil
}

// verifyRequest is what the callback knows when it checks an ID token.
type verifyRequest struct {
	clientID    string
	nonce       string
	accessToken string        // checked against at_hash when both are present
	maxAge      time.Duration // with checkMaxAge: auth_time is then required
	checkMaxAge bool          // max_age was sent (0 included: "authenticate now")
	refreshed   bool          // from a refresh: no nonce to compare (OIDC Core 12.2)
	allClaims   bool          // also decode every claim into a map (for OnLogin's User.Claims)
}

// verifyIDToken checks an ID token against OpenID Connect Core 3.1.3.7:
// verifyJWT's checks (alg, typ, iss, aud, exp, nbf, iat, the signature by
// a discovered key), then sub, azp, nonce (constant time), at_hash and
// auth_time. The map of every claim is decoded only with vr.allClaims
// (about a tenth of the cost); otherwise it is nil.
func (p *Provider) verifyIDToken(ctx context.Context, raw string, vr verifyRequest) (*idClaims, map[string]any, error) {
	now := p.now()
	var c idTokenClaims
	payload, alg, err := p.verifyJWT(ctx, raw, expect{kind: idToken, audience: vr.clientID, now: now}, &c)
	if err != nil {
		return nil, nil, err
	}
	var all map[string]any
	if vr.allClaims {
		if err := json.Unmarshal(payload, &all); err != nil {
			return nil, nil, tokenErrorf(audit.ReasonTokenInvalid, "claims: %w", err)
		}
	}
	if err := checkIDTokenParties(&c, vr, alg); err != nil {
		return nil, nil, err
	}
	if err := checkAuthTime(&c, vr, now); err != nil {
		return nil, nil, err
	}
	return &c.idClaims, all, nil
}

// checkIDTokenParties checks whom an ID token is about and for: sub is
// set, azp (required with several audiences) is this client, the nonce
// matches in constant time unless the token is from a refresh, and at_hash
// matches the access token when both are present.
func checkIDTokenParties(c *idTokenClaims, vr verifyRequest, alg string) error {
	switch {
	case c.Subject == "":
		return tokenErrorf(audit.ReasonTokenInvalid, "no sub")
	case len(c.Audience) > 1 && c.AuthorizedParty == "":
		return tokenErrorf(audit.ReasonAZPMismatch, "several audiences and no azp")
	case c.AuthorizedParty != "" && c.AuthorizedParty != vr.clientID:
		return tokenErrorf(audit.ReasonAZPMismatch, "azp %q is not this client", c.AuthorizedParty)
	case !vr.refreshed && (vr.nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(vr.nonce)) != 1):
		return tokenErrorf(audit.ReasonNonceMismatch, "nonce does not match")
	}
	if c.AccessTokenHash != "" && vr.accessToken != "" && !tokenHashMatches(c.AccessTokenHash, vr.accessToken, alg) {
		return tokenErrorf(audit.ReasonAtHashMismatch, "at_hash does not match the access token")
	}
	return nil
}

// checkAuthTime checks auth_time against max_age when the request sent
// one: auth_time is then required and at most max_age (plus ClockSkew)
// old.
func checkAuthTime(c *idTokenClaims, vr verifyRequest, now time.Time) error {
	if !vr.checkMaxAge {
		return nil
	}
	if c.AuthTime == 0 {
		return tokenErrorf(audit.ReasonAuthTooOld, "max_age was asked but auth_time is missing")
	}
	if now.Sub(time.Unix(c.AuthTime, 0)) > vr.maxAge+clockSkew {
		return tokenErrorf(audit.ReasonAuthTooOld, "authentication is older than max_age")
	}
	return nil
}

// tokenHashMatches checks an at_hash (OpenID Connect Core 3.1.3.6): the
// left half of the token's hash with the hash function of the ID token's
// alg, base64url-encoded.
func tokenHashMatches(want, token, alg string) bool {
	var sum []byte
	switch {
	case strings.HasSuffix(alg, "256"):
		s := sha256.Sum256([]byte(token))
		sum = s[:]
	case strings.HasSuffix(alg, "384"):
		s := sha512.Sum384([]byte(token))
		sum = s[:]
	case strings.HasSuffix(alg, "512"), alg == "EdDSA":
		s := sha512.Sum512([]byte(token))
		sum = s[:]
	default:
		return false
	}
	got := base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// userInfo fetches the userinfo claims with the access token and checks that
// they describe the same subject as the ID token. The map of every claim
// is decoded only when all is true (a second JSON decode), else nil.
func (p *Provider) userInfo(ctx context.Context, d *discovered, accessToken, subject string, all bool) (*idClaims, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.meta.UserInfoEndpoint, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: userinfo: %w", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := httpjson.ReadBody(resp, "userinfo", maxUserInfoBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	var c idClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: userinfo is not JSON claims: %w", ErrProviderUnavailable, err)
	}
	var claims map[string]any
	if all {
		if err := json.Unmarshal(body, &claims); err != nil {
			return nil, nil, fmt.Errorf("%w: userinfo is not JSON claims: %w", ErrProviderUnavailable, err)
		}
	}
	if c.Subject != subject {
		return nil, nil, tokenErrorf(audit.ReasonSubjectMismatch, "userinfo sub differs from the ID token's")
	}
	return &c, claims, nil
}
