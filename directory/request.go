package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oktasso/oktasso"
)

// Retry policy.
const (
	maxServerRetries = 5  // 5xx answers and network errors in a row
	maxRateRetries   = 20 // 429 answers in a row
	backoffBase      = 500 * time.Millisecond
	backoffMax       = 30 * time.Second
	maxRateWait      = 5 * time.Minute // longest wait for X-Rate-Limit-Reset
	maxPageBytes     = 32 << 20        // one page of a listing
	// userAgent names the library in Okta's System Log.
	userAgent = "oktasso-directory/1 (+https://github.com/oktasso/oktasso)"
)

// Error is an error answer from Okta: the Management API's errorCode and
// errorSummary, or the token endpoint's error and error_description. Use
// errors.As to read it; it is a plain value, safe to share.
type Error struct {
	Status  int    // HTTP status
	Code    string // "E0000006", "invalid_client", …
	Summary string // Okta's explanation
	URL     string // the request, without its query
}

// Error returns "directory: URL answered HTTP status code: summary", and
// the fix for the common setup mistakes.
func (e *Error) Error() string {
	s := fmt.Sprintf("directory: %s answered HTTP %d", e.URL, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Summary != "" {
		s += ": " + e.Summary
	}
	if h := e.hint(); h != "" {
		s += " — fix: " + h
	}
	return s
}

// hint returns what to do about the common setup errors.
func (e *Error) hint() string {
	switch e.Code {
	case "E0000006":
		return "give the API Services app an admin role (e.g. Read-Only Administrator) and grant it okta.users.read and okta.groups.read (Okta API Scopes tab)"
	case "E0000011":
		return "the API token or access token is invalid or expired"
	case "invalid_client":
		return "check the client ID, the key id and that the app's public key (oktasso keygen --jwk) is uploaded under Client Credentials"
	case "invalid_scope":
		return "grant okta.users.read and okta.groups.read on the app's Okta API Scopes tab"
	case "invalid_dpop_proof":
		return "check this machine's clock; DPoP proofs must be within a minute of Okta's"
	}
	return ""
}

// apiError reads Okta's error body.
func apiError(resp *http.Response, body []byte, u string) *Error {
	var b struct {
		Code    string `json:"errorCode"`
		Summary string `json:"errorSummary"`
		Error   string `json:"error"`
		Desc    string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &b)
	e := &Error{Status: resp.StatusCode, Code: b.Code, Summary: b.Summary, URL: u}
	if e.Code == "" {
		e.Code, e.Summary = b.Error, b.Desc
	}
	return e
}

// withoutQuery returns u without query or fragment, for errors and logs:
// cursors are opaque and need not be shown.
func withoutQuery(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// send performs the request that build makes (build gets the number of
// 5xx answers so far, so a listing can ask for a smaller page), waiting
// out rate limits, retrying 429s, 5xx answers and network errors with
// backoff. It returns any other answer with its body (at most limit bytes).
// build runs for every attempt: whatever it signs (a DPoP proof, a client
// assertion) is new in each, never replayed after a wait.
func (c *Client) send(ctx context.Context, limit int64, build func(serverFails int) (*http.Request, error)) (*http.Response, []byte, error) {
	serverFails, rateFails := 0, 0
	for {
		if err := c.waitRate(ctx); err != nil {
			return nil, nil, err
		}
		req, err := build(serverFails)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("User-Agent", userAgent)
		c.stats.requests.Add(1)
		resp, err := c.hc.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
			resp.Body.Close()
			if err == nil && int64(len(body)) > limit {
				return nil, nil, fmt.Errorf("directory: %s answered more than %d bytes", withoutQuery(req.URL), limit)
			}
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		switch {
		case err != nil:
			serverFails++
			if serverFails > maxServerRetries {
				return nil, nil, fmt.Errorf("directory: %s: %w", withoutQuery(req.URL), err)
			}
			c.log.WarnContext(ctx, "directory: request failed; retrying", "url", withoutQuery(req.URL), "err", err.Error(), "attempt", serverFails)
		case resp.StatusCode == http.StatusTooManyRequests:
			rateFails++
			c.stats.tooMany.Add(1)
			c.noteRate(resp.Header, true)
			if rateFails > maxRateRetries {
				return nil, nil, apiError(resp, body, withoutQuery(req.URL))
			}
			c.log.InfoContext(ctx, "directory: rate limited (429); waiting for X-Rate-Limit-Reset", "url", withoutQuery(req.URL))
			continue // waitRate waits
		case resp.StatusCode >= 500:
			serverFails++
			if serverFails > maxServerRetries {
				return nil, nil, apiError(resp, body, withoutQuery(req.URL))
			}
			c.log.WarnContext(ctx, "directory: server error; retrying", "url", withoutQuery(req.URL), "status", resp.StatusCode, "attempt", serverFails)
		default:
			c.noteRate(resp.Header, false)
			return resp, body, nil
		}
		// A network error or a 5xx answer: back off before the retry.
		if err := c.retryWait(ctx, serverFails); err != nil {
			return nil, nil, err
		}
	}
}

// retryWait sleeps the backoff before retry n (1, 2, …): 0.5 s, 1 s, 2 s…
// up to 30 s, with up to 25 % jitter.
func (c *Client) retryWait(ctx context.Context, n int) error {
	c.stats.retries.Add(1)
	d := min(backoffBase<<(n-1), backoffMax)
	d += time.Duration(rand.Int64N(int64(d)/4 + 1))
	return c.sleep(ctx, d)
}

// noteRate records X-Rate-Limit-Remaining and X-Rate-Limit-Reset: when
// nothing remains (or the answer was a 429), the next request waits until
// the reset time.
func (c *Client) noteRate(h http.Header, tooMany bool) {
	remaining, err := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	if !tooMany && (err != nil || remaining > 0) {
		return
	}
	reset, err := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64)
	now := c.now()
	until := time.Unix(reset, 0)
	switch {
	case err != nil || !until.After(now):
		until = now.Add(time.Second) // no usable reset: a short pause
	case until.Sub(now) > maxRateWait:
		until = now.Add(maxRateWait)
	}
	c.rate.mu.Lock()
	if until.After(c.rate.until) {
		c.rate.until = until
	}
	c.rate.mu.Unlock()
}

// waitRate waits until a recorded rate-limit reset has passed.
func (c *Client) waitRate(ctx context.Context) error {
	c.rate.mu.Lock()
	d := c.rate.until.Sub(c.now())
	c.rate.until = time.Time{}
	c.rate.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	c.stats.rateWaits.Add(1)
	c.stats.waited.Add(int64(d))
	return c.sleep(ctx, d)
}

// get performs an authenticated GET of u on the org and returns the body
// of a 200 answer and the response's headers. It refreshes a refused
// access token once and answers a resource server's DPoP nonce challenge
// once. serverFails is passed to build, see send.
func (c *Client) get(ctx context.Context, limit int64, build func(serverFails int) *url.URL) (*http.Response, []byte, error) {
	retried := false
	for {
		var tok string
		resp, body, err := c.send(ctx, limit, func(n int) (*http.Request, error) {
			u := build(n)
			if !c.sameOrigin(u) {
				return nil, fmt.Errorf("directory: refusing to send credentials to %s, which is not the org %s", withoutQuery(u), c.base)
			}
			auth, proof, err := c.authorization(ctx, http.MethodGet, u)
			if err != nil {
				return nil, err
			}
			tok = auth
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", auth)
			req.Header.Set("Accept", "application/json")
			if proof != "" {
				req.Header.Set("DPoP", proof)
			}
			return req, nil
		})
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode == http.StatusOK {
			return resp, body, nil
		}
		if resp.StatusCode == http.StatusUnauthorized && !retried && c.apiToken == "" {
			retried = true
			if n := resp.Header.Get("DPoP-Nonce"); n != "" && strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce") {
				c.tok.mu.Lock()
				c.tok.apiNonce = n
				c.tok.mu.Unlock()
				continue
			}
			_, value, _ := strings.Cut(tok, " ")
			c.dropToken(oktasso.Secret(value))
			c.log.InfoContext(ctx, "directory: the access token was refused; fetching a new one")
			continue
		}
		return nil, nil, apiError(resp, body, withoutQuery(resp.Request.URL))
	}
}

// errStop ends a listing early without an error.
var errStop = errors.New("directory: stop")
