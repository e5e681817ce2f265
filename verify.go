package oktasso

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oktasso/oktasso/internal/httpjson"
)

// ClockSkew is the leeway oktasso allows between its clock and the
// provider's: for iat in the future, auth_time with max_age and session
// timestamps. A clock further off makes sign-ins fail.
const ClockSkew = 2 * time.Minute

const clockSkew = ClockSkew

// idClaims are the ID token and userinfo claims oktasso reads.
type idClaims struct {
	Subject           string     `json:"sub"`
	AuthorizedParty   string     `json:"azp"`
	AuthTime          int64      `json:"auth_time"`
	IssuedAt          int64      `json:"iat"`
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
// signature by a discovered RS256 key (never none, never HMAC), iss, aud,
// azp, exp, iat, nonce (constant time), at_hash and auth_time. The map of
// every claim is decoded only with vr.allClaims (about a tenth of the
// cost); otherwise it is nil.
func (p *Provider) verifyIDToken(ctx context.Context, d *discovered, raw string, vr verifyRequest) (*idClaims, map[string]any, error) {
	// Make sure keys can be had before verifying: go-oidc flattens key-set
	// errors into text, which would report an outage as a bad token.
	if _, err := d.keys.get(ctx, false); err != nil {
		return nil, nil, err
	}
	v := oidc.NewVerifier(p.issuer, d.keys, &oidc.Config{
		ClientID:             vr.clientID,
		SupportedSigningAlgs: []string{string(signingAlgs[0])},
		Now:                  p.now,
	})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	var c idClaims
	var all map[string]any
	if err := tok.Claims(&c); err != nil {
		return nil, nil, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	if vr.allClaims {
		if err := tok.Claims(&all); err != nil {
			return nil, nil, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
		}
	}
	now := p.now()
	switch {
	case c.Subject == "":
		return nil, nil, withReason(ReasonTokenInvalid, fmt.Errorf("%w: no sub", ErrInvalidToken))
	case len(tok.Audience) > 1 && c.AuthorizedParty == "":
		return nil, nil, withReason(ReasonAZPMismatch, fmt.Errorf("%w: several audiences and no azp", ErrInvalidToken))
	case c.AuthorizedParty != "" && c.AuthorizedParty != vr.clientID:
		return nil, nil, withReason(ReasonAZPMismatch, fmt.Errorf("%w: azp %q is not this client", ErrInvalidToken, c.AuthorizedParty))
	case c.IssuedAt == 0:
		return nil, nil, withReason(ReasonTokenTimeInvalid, fmt.Errorf("%w: no iat", ErrInvalidToken))
	case time.Unix(c.IssuedAt, 0).After(now.Add(clockSkew)):
		return nil, nil, withReason(ReasonTokenTimeInvalid, fmt.Errorf("%w: iat is in the future", ErrInvalidToken))
	case !vr.refreshed && (vr.nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(vr.nonce)) != 1):
		return nil, nil, withReason(ReasonNonceMismatch, fmt.Errorf("%w: nonce does not match", ErrInvalidToken))
	}
	if tok.AccessTokenHash != "" && vr.accessToken != "" {
		if err := tok.VerifyAccessToken(vr.accessToken); err != nil {
			return nil, nil, withReason(ReasonAtHashMismatch, fmt.Errorf("%w: at_hash does not match the access token", ErrInvalidToken))
		}
	}
	if vr.checkMaxAge {
		if c.AuthTime == 0 {
			return nil, nil, withReason(ReasonAuthTooOld, fmt.Errorf("%w: max_age was asked but auth_time is missing", ErrInvalidToken))
		}
		if now.Sub(time.Unix(c.AuthTime, 0)) > vr.maxAge+clockSkew {
			return nil, nil, withReason(ReasonAuthTooOld, fmt.Errorf("%w: authentication is older than max_age", ErrInvalidToken))
		}
	}
	return &c, all, nil
}

// userInfo fetches the userinfo claims with the access token and checks that
// they describe the same subject as the ID token.
func (p *Provider) userInfo(ctx context.Context, d *discovered, accessToken, subject string) (*idClaims, map[string]any, error) {
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
	all := map[string]any{}
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: userinfo is not JSON claims: %w", ErrProviderUnavailable, err)
	}
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, nil, fmt.Errorf("%w: userinfo is not JSON claims: %w", ErrProviderUnavailable, err)
	}
	if c.Subject != subject {
		return nil, nil, withReason(ReasonSubjectMismatch, fmt.Errorf("%w: userinfo sub differs from the ID token's", ErrInvalidToken))
	}
	return &c, all, nil
}
