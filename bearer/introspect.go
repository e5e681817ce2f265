package bearer

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/oktasso/oktasso/audit"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/clientauth"
	"github.com/oktasso/oktasso/internal/httpjson"
)

// maxIntrospectionBytes bounds an introspection answer.
const maxIntrospectionBytes = 64 << 10

// introspector validates tokens at the introspection endpoint (RFC 7662).
// Immutable; safe for concurrent use.
type introspector struct {
	creds          *clientauth.Creds
	maxAge, negAge time.Duration

	mu    sync.Mutex
	calls map[string]*introCall // by token: one call in flight per token
}

// introCall is an introspection in flight; t and err are set before done
// is closed.
type introCall struct {
	done chan struct{}
	t    *Token
	err  error
}

// introspection is the RFC 7662 answer, with Okta's uid.
type introspection struct {
	Active    bool
	Scope     string
	ClientID  string
	Username  string
	TokenType string
	Exp       time.Time
	Iat       time.Time
	Nbf       time.Time
	Sub       string
	Aud       []string
	Iss       string
	Jti       string
	UID       string

	all map[string]any // every member of the answer
}

// parseIntrospection reads an introspection answer, with the names of RFC
// 7662 matched exactly.
func parseIntrospection(body []byte) (*introspection, error) {
	var all map[string]any
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, fmt.Errorf("%w: introspection answer is not JSON: %w", oktasso.ErrProviderUnavailable, err)
	}
	r := claimReader{m: all}
	in := &introspection{
		Active: r.bool("active"), Scope: r.str("scope"), ClientID: r.str("client_id"), Username: r.str("username"),
		TokenType: r.str("token_type"), Exp: r.time("exp"), Iat: r.time("iat"), Nbf: r.time("nbf"),
		Sub: r.str("sub"), Aud: r.list("aud"), Iss: r.str("iss"), Jti: r.str("jti"), UID: r.str("uid"), all: all,
	}
	if r.bad {
		return nil, fmt.Errorf("%w: introspection answer has a member of the wrong type", oktasso.ErrProviderUnavailable)
	}
	return in, nil
}

// introspect asks the provider about raw and caches the answer: an active
// token until it expires or MaxCacheAge passes, a refused one for
// NegativeCacheAge. Provider failures are not cached.
// Parallel requests with the same new token (a page firing its API calls
// at once) share one call.
func (g *Guard) introspect(ctx context.Context, raw string, now time.Time) (*Token, error) {
	ic := g.intro
	ic.mu.Lock()
	if c, ok := ic.calls[raw]; ok {
		ic.mu.Unlock()
		select {
		case <-c.done:
			return c.t, c.err
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", oktasso.ErrProviderUnavailable, ctx.Err())
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
	c.t, c.err = g.introspectOnce(context.WithoutCancel(ctx), raw, now)
	ic.mu.Lock()
	delete(ic.calls, raw)
	ic.mu.Unlock()
	close(c.done)
	return c.t, c.err
}

func (g *Guard) introspectOnce(ctx context.Context, raw string, now time.Time) (*Token, error) {
	in, err := g.callIntrospection(ctx, raw)
	if err != nil {
		return nil, err
	}
	t, err := g.fromIntrospection(in, now)
	if err != nil {
		g.cache.put(raw, tokenEntry{err: err, until: now.Add(g.intro.negAge).UnixNano()}, now.UnixNano())
		return nil, err
	}
	until := min(t.Expiry.Add(g.cfg.Leeway).UnixNano(), now.Add(g.intro.maxAge).UnixNano())
	g.cache.put(raw, tokenEntry{tok: t, until: until}, now.UnixNano())
	return t, nil
}

func (g *Guard) fromIntrospection(in *introspection, now time.Time) (*Token, error) {
	namesErr := checkClaimNames(in.all)
	switch {
	case !in.Active:
		return nil, invalidToken(audit.ReasonTokenInactive, "the access token is not active (expired, revoked or unknown)")
	case !strings.EqualFold(in.TokenType, "Bearer"):
		return nil, invalidToken(audit.ReasonTokenInvalid, "the token is not a Bearer access token")
	case namesErr != nil:
		return nil, namesErr
	case in.Iss != "" && in.Iss != g.cfg.Issuer:
		return nil, invalidToken(audit.ReasonIssuerMismatch, "the access token is from another issuer")
	}
	t := &Token{
		Issuer: g.cfg.Issuer, Subject: in.Sub, UserID: in.UID, ClientID: in.ClientID, Audience: in.Aud,
		Scopes: strings.Fields(in.Scope), ID: in.Jti, IssuedAt: in.Iat, Expiry: in.Exp,
		Introspected: true, Claims: in.all,
	}
	if t.Subject == "" {
		t.Subject = in.Username
	}
	if err := g.check(t, in.Nbf, now); err != nil {
		return nil, err
	}
	g.finish(t)
	return t, nil
}

// callIntrospection POSTs the token to the discovered introspection
// endpoint, authenticated as Introspection's client.
func (g *Guard) callIntrospection(ctx context.Context, raw string) (*introspection, error) {
	ep, err := g.provider.Endpoint(ctx, "introspection_endpoint")
	if err != nil {
		return nil, err
	}
	if ep == "" {
		return nil, fmt.Errorf("%w: the provider advertises no introspection_endpoint, or one that is not https", oktasso.ErrProviderUnavailable)
	}
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	h := http.Header{}
	if err := g.intro.creds.Apply(form, h, ep); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", oktasso.ErrProviderUnavailable, err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := g.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection: %w", oktasso.ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := httpjson.ReadBody(resp, "introspection", maxIntrospectionBytes)
	if err != nil {
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest {
			// Our client was refused: a configuration problem, not the token's.
			g.cfg.Logger.Error("oktasso: the introspection endpoint refused the client; check Introspection's client ID and credentials", "status", resp.StatusCode)
		}
		return nil, fmt.Errorf("%w: %w", oktasso.ErrProviderUnavailable, err)
	}
	return parseIntrospection(body)
}
