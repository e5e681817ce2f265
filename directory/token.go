package directory

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/clientkey"
)

// tokenEarly is how long before its expiry a cached token is replaced.
const tokenEarly = 2 * time.Minute

// maxTokenBytes bounds a token endpoint response.
const maxTokenBytes = 1 << 20

// accessToken is a cached access token.
type accessToken struct {
	value   oktasso.Secret
	dpop    bool // use the DPoP scheme and a proof
	expires time.Time
}

// tokenCache holds the access token and the DPoP nonces. fetch is a
// one-slot semaphore: one caller fetches while the others wait on it or
// their context.
type tokenCache struct {
	fetch    chan struct{}
	mu       sync.Mutex
	tok      accessToken
	nonce    string // the authorization server's last DPoP-Nonce
	apiNonce string // the resource server's, if it asks for one
	dpopSign jose.Signer
}

// authorization returns the Authorization header value and, with DPoP, a
// proof for method and u.
func (c *Client) authorization(ctx context.Context, method string, u *url.URL) (auth, proof string, err error) {
	if c.apiToken != "" {
		return "SSWS " + string(c.apiToken), "", nil
	}
	t, err := c.token(ctx)
	if err != nil {
		return "", "", err
	}
	if !t.dpop {
		return "Bearer " + string(t.value), "", nil
	}
	c.tok.mu.Lock()
	nonce := c.tok.apiNonce
	c.tok.mu.Unlock()
	proof, err = c.proof(method, u, nonce, string(t.value))
	return "DPoP " + string(t.value), proof, err
}

// token returns a cached access token valid for a while, fetching one if
// needed.
func (c *Client) token(ctx context.Context) (accessToken, error) {
	tc := &c.tok
	valid := func() (accessToken, bool) {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		return tc.tok, tc.tok.value != "" && c.now().Before(tc.tok.expires.Add(-tokenEarly))
	}
	if t, ok := valid(); ok {
		return t, nil
	}
	select {
	case tc.fetch <- struct{}{}:
	case <-ctx.Done():
		return accessToken{}, ctx.Err()
	}
	defer func() { <-tc.fetch }()
	if t, ok := valid(); ok { // another caller fetched it
		return t, nil
	}
	t, err := c.fetchToken(ctx)
	if err != nil {
		return accessToken{}, err
	}
	tc.mu.Lock()
	tc.tok = t
	tc.mu.Unlock()
	return t, nil
}

// dropToken forgets the cached token if it is still t (Okta refused it).
func (c *Client) dropToken(value oktasso.Secret) {
	c.tok.mu.Lock()
	defer c.tok.mu.Unlock()
	if c.tok.tok.value == value {
		c.tok.tok = accessToken{}
	}
}

// tokenResponse is the token endpoint's JSON answer, a token or an error.
type tokenResponse struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	AccessToken string `json:"access_token"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// fetchToken runs the client_credentials grant with a private_key_jwt
// assertion and, unless DPoP is off, a DPoP proof, answering Okta's
// use_dpop_nonce challenge once.
func (c *Client) fetchToken(ctx context.Context) (accessToken, error) {
	tokenURL, _ := url.Parse(c.tokenURL())
	for attempt := 0; ; attempt++ {
		resp, body, err := c.postTokenRequest(ctx, tokenURL)
		if err != nil {
			return accessToken{}, err
		}
		var tr tokenResponse
		jerr := json.Unmarshal(body, &tr)
		if resp.StatusCode == http.StatusBadRequest && tr.Error == "use_dpop_nonce" && attempt < 2 {
			if n := resp.Header.Get("DPoP-Nonce"); n != "" {
				c.tok.mu.Lock()
				c.tok.nonce = n
				c.tok.mu.Unlock()
				c.log.DebugContext(ctx, "directory: the token endpoint asked for a new DPoP nonce")
				continue
			}
		}
		if resp.StatusCode != http.StatusOK || jerr != nil || tr.AccessToken == "" {
			e := &Error{Status: resp.StatusCode, Code: tr.Error, Summary: tr.Description, URL: tokenURL.String()}
			if tr.Error == "" {
				e = apiError(resp, body, tokenURL.String())
			}
			return accessToken{}, e
		}
		return c.newAccessToken(ctx, tr, resp.StatusCode, tokenURL.String())
	}
}

// postTokenRequest sends one client_credentials request to tokenURL. Each
// attempt, the first and every retry after a 429, a 5xx or a network error,
// carries a new client assertion and, unless DPoP is off, a new DPoP proof
// with the authorization server's last nonce: a retry after a long
// rate-limit wait must not repeat a jti or an iat that is minutes old.
func (c *Client) postTokenRequest(ctx context.Context, tokenURL *url.URL) (*http.Response, []byte, error) {
	return c.send(ctx, maxTokenBytes, func(int) (*http.Request, error) {
		assertion, err := c.key.Assertion(c.clientID, tokenURL.String(), c.now())
		if err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		form := url.Values{
			"grant_type":            {"client_credentials"},
			"scope":                 {strings.Join(c.scopes, " ")},
			"client_assertion_type": {clientkey.AssertionType},
			"client_assertion":      {assertion},
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if c.dpop != nil {
			c.tok.mu.Lock()
			nonce := c.tok.nonce
			c.tok.mu.Unlock()
			proof, err := c.proof(http.MethodPost, tokenURL, nonce, "")
			if err != nil {
				return nil, err
			}
			req.Header.Set("DPoP", proof)
		}
		return req, nil
	})
}

// newAccessToken turns a successful token response into the token to
// cache; expires_in defaults to an hour. A DPoP-bound token is an error
// when DPoP is off.
func (c *Client) newAccessToken(ctx context.Context, tr tokenResponse, status int, tokenURL string) (accessToken, error) {
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 3600
	}
	dpop := strings.EqualFold(tr.TokenType, "DPoP")
	if dpop && c.dpop == nil {
		return accessToken{}, &Error{Status: status, Code: "unexpected_token_type", Summary: "Okta issued a DPoP-bound token although DPoP is off", URL: tokenURL}
	}
	c.log.DebugContext(ctx, "directory: new access token", "type", tr.TokenType, "expires_in", tr.ExpiresIn)
	return accessToken{value: oktasso.Secret(tr.AccessToken), dpop: dpop, expires: c.now().Add(time.Duration(tr.ExpiresIn) * time.Second)}, nil
}

// newDPoPKey makes the client's DPoP key, an ephemeral P-256 key distinct
// from the client authentication key, and its proof signer.
func (c *Client) newDPoPKey() error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("directory: DPoP key: %w", err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return fmt.Errorf("directory: DPoP signer: %w", err)
	}
	c.dpop, c.tok.dpopSign = k, s
	return nil
}

// proof signs a DPoP proof (RFC 9449) for method and u (htu without query
// or fragment), with nonce and, for an API call, ath of accessToken.
func (c *Client) proof(method string, u *url.URL, nonce, accessToken string) (string, error) {
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := map[string]any{
		"htm": method,
		"htu": (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String(),
		"iat": c.now().Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	payload, _ := json.Marshal(claims)
	jws, err := c.tok.dpopSign.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("directory: signing a DPoP proof: %w", err)
	}
	return jws.CompactSerialize()
}
