package oktasso

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oktasso/oktasso/internal/httpjson"
)

// maxIntrospectionBytes bounds an introspection answer.
const maxIntrospectionBytes = 64 << 10

// introspector validates tokens at the introspection endpoint (RFC 7662).
// Immutable; safe for concurrent use.
type introspector struct {
	creds          *clientCreds
	maxAge, negAge time.Duration

	mu    sync.Mutex
	calls map[string]*introCall // by token: one call in flight per token
}

// introCall is an introspection in flight; t and err are set before done
// is closed.
type introCall struct {
	done chan struct{}
	t    *AccessToken
	err  error
}

// introspection is the RFC 7662 answer, with Okta's uid.
type introspection struct {
	Active    bool       `json:"active"`
	Scope     string     `json:"scope"`
	ClientID  string     `json:"client_id"`
	Username  string     `json:"username"`
	TokenType string     `json:"token_type"`
	Exp       float64    `json:"exp"`
	Iat       float64    `json:"iat"`
	Nbf       float64    `json:"nbf"`
	Sub       string     `json:"sub"`
	Aud       stringList `json:"aud"`
	Iss       string     `json:"iss"`
	Jti       string     `json:"jti"`
	UID       string     `json:"uid"`

	all map[string]any // every member of the answer
}

// introspect asks the provider about raw and caches the answer: an active
// token until it expires or MaxCacheAge passes, a refused one for
// NegativeCacheAge. Provider failures are not cached.
// Parallel requests with the same new token (a page firing its API calls
// at once) share one call.
func (b *Bearer) introspect(ctx context.Context, raw string, now time.Time) (*AccessToken, error) {
	ic := b.intro
	ic.mu.Lock()
	if c, ok := ic.calls[raw]; ok {
		ic.mu.Unlock()
		select {
		case <-c.done:
			return c.t, c.err
		case <-ctx.Done():
			return nil, &unavailableError{retryAfter: minRetryBackoff, cause: ctx.Err()}
		}
	}
	if ic.calls == nil {
		ic.calls = map[string]*introCall{}
	}
	c := &introCall{done: make(chan struct{})}
	ic.calls[raw] = c
	ic.mu.Unlock()
	// Detached: the others waiting must not fail because this request
	// was cancelled; the call has its own timeout.
	c.t, c.err = b.introspectOnce(context.WithoutCancel(ctx), raw, now)
	ic.mu.Lock()
	delete(ic.calls, raw)
	ic.mu.Unlock()
	close(c.done)
	return c.t, c.err
}

func (b *Bearer) introspectOnce(ctx context.Context, raw string, now time.Time) (*AccessToken, error) {
	in, err := b.callIntrospection(ctx, raw)
	if err != nil {
		return nil, err
	}
	t, err := b.fromIntrospection(in, now)
	if err != nil {
		b.cache.put(raw, tokenEntry{err: err, until: now.Add(b.intro.negAge).UnixNano()}, now.UnixNano())
		return nil, err
	}
	until := min(t.Expiry.Add(b.cfg.Leeway).UnixNano(), now.Add(b.intro.maxAge).UnixNano())
	b.cache.put(raw, tokenEntry{tok: t, until: until}, now.UnixNano())
	return t, nil
}

func (b *Bearer) fromIntrospection(in *introspection, now time.Time) (*AccessToken, error) {
	namesErr := checkClaimNames(in.all)
	switch {
	case !in.Active:
		return nil, invalidToken(ReasonTokenInactive, "the access token is not active (expired, revoked or unknown)")
	case !strings.EqualFold(in.TokenType, "Bearer"):
		return nil, invalidToken(ReasonTokenInvalid, "the token is not a Bearer access token")
	case namesErr != nil:
		return nil, namesErr
	case in.Iss != "" && in.Iss != b.cfg.Issuer:
		return nil, invalidToken(ReasonIssuerMismatch, "the access token is from another issuer")
	}
	t := &AccessToken{
		Issuer: b.cfg.Issuer, Subject: in.Sub, UserID: in.UID, ClientID: in.ClientID, Audience: in.Aud,
		Scopes: strings.Fields(in.Scope), ID: in.Jti, IssuedAt: unixTime(in.Iat), Expiry: unixTime(in.Exp),
		Introspected: true, Claims: in.all,
	}
	if t.Subject == "" {
		t.Subject = in.Username
	}
	if err := b.check(t, unixTime(in.Nbf), now); err != nil {
		return nil, err
	}
	b.finish(t)
	return t, nil
}

// callIntrospection POSTs the token to the discovered introspection
// endpoint, authenticated as Introspection's client.
func (b *Bearer) callIntrospection(ctx context.Context, raw string) (*introspection, error) {
	d, err := b.provider.discover(ctx)
	if err != nil {
		return nil, err
	}
	ep := d.meta.IntrospectionEndpoint
	if ep == "" {
		return nil, fmt.Errorf("%w: the provider advertises no introspection_endpoint", ErrProviderUnavailable)
	}
	if err := b.provider.checkEndpoint(ep); err != nil {
		return nil, fmt.Errorf("%w: introspection_endpoint: %w", ErrProviderUnavailable, err)
	}
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	h := http.Header{}
	if err := b.intro.creds.Apply(form, h, ep); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := b.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection: %w", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := httpjson.ReadBody(resp, "introspection", maxIntrospectionBytes)
	if err != nil {
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest {
			// Our client was refused: a configuration problem, not the token's.
			b.cfg.Logger.Error("oktasso: the introspection endpoint refused the client; check Introspection's client ID and credentials", "status", resp.StatusCode)
		}
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	var in introspection
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("%w: introspection answer is not JSON: %w", ErrProviderUnavailable, err)
	}
	if err := json.Unmarshal(body, &in.all); err != nil {
		return nil, fmt.Errorf("%w: introspection answer is not JSON: %w", ErrProviderUnavailable, err)
	}
	return &in, nil
}
