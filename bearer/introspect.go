package bearer

import (
	"context"
	"crypto/sha256"
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

const (
	// maxIntrospectionBytes bounds an introspection answer.
	maxIntrospectionBytes = 64 << 10
	// defaultMaxConcurrent is Introspection.MaxConcurrent's default.
	defaultMaxConcurrent = 16
	// refusalCacheSize bounds the refused tokens remembered, apart from
	// the verified ones.
	refusalCacheSize = 1024
	// slotWait bounds how long a new token waits for a call slot when all
	// are taken (at most as many waiting as calling) before its request
	// is answered 503.
	slotWait = 500 * time.Millisecond
)

// errBusy refuses a new token while every call slot is taken: like an
// unreachable provider, it is answered 503 with Retry-After.
var errBusy = fmt.Errorf("%w: too many introspection calls in flight; raise Introspection.MaxConcurrent if this is regular traffic", oktasso.ErrProviderUnavailable)

// introspector validates tokens at the introspection endpoint (RFC 7662).
// Safe for concurrent use.
//
// It is fair to the provider and to real users under a flood of junk
// tokens: at most cap(slots) calls are in flight, and as many may wait
// for a slot for at most wait, so excess requests are refused at once
// (503) rather than queued; refusals are cached in refused, apart from
// the Guard's cache of verified tokens, which they never evict.
type introspector struct {
	creds          *clientauth.Creds
	maxAge, negAge time.Duration

	slots   chan struct{} // one per call in flight
	waiters chan struct{} // one per request waiting for a slot
	wait    time.Duration
	refused *tokenCache // by sha256 of the token; nil when caching is off

	mu    sync.Mutex
	calls map[string]*introCall // by token: one call in flight per token
}

func newIntrospector(creds *clientauth.Creds, in *Introspection, cache bool) *introspector {
	ic := &introspector{
		creds: creds, maxAge: in.MaxCacheAge, negAge: in.NegativeCacheAge,
		slots: make(chan struct{}, in.MaxConcurrent), waiters: make(chan struct{}, in.MaxConcurrent), wait: slotWait,
	}
	if cache {
		ic.refused = newTokenCache(refusalCacheSize)
	}
	return ic
}

// acquire takes a call slot, at once when one is free; otherwise it waits
// for one at most ic.wait, unless as many requests already wait. It
// reports whether it got a slot, to be given back with release.
func (ic *introspector) acquire() bool {
	select {
	case ic.slots <- struct{}{}:
		return true
	default:
	}
	select {
	case ic.waiters <- struct{}{}:
		defer func() { <-ic.waiters }()
	default:
		return false
	}
	t := time.NewTimer(ic.wait)
	defer t.Stop()
	select {
	case ic.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

func (ic *introspector) release() { <-ic.slots }

// refusalKey is the key of raw in the refusal cache: its SHA-256, so that
// junk tokens of up to 16 KB cost 32 bytes each.
func refusalKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return string(sum[:])
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
// token in the Guard's cache until it expires or MaxCacheAge passes, a
// refused one in the refusal cache for NegativeCacheAge. Provider failures
// are not cached. Parallel requests with the same new token (a page
// firing its API calls at once) share one call, which holds one slot.
func (g *Guard) introspect(ctx context.Context, raw string, now time.Time) (*Token, error) {
	ic := g.intro
	key := ""
	if ic.refused != nil {
		key = refusalKey(raw)
		if e, ok := ic.refused.get(key, now.UnixNano()); ok {
			return nil, e.err
		}
	}
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
	c.t, c.err = g.introspectInSlot(context.WithoutCancel(ctx), raw, key, now)
	ic.mu.Lock()
	delete(ic.calls, raw)
	ic.mu.Unlock()
	close(c.done)
	return c.t, c.err
}

// introspectInSlot calls introspectOnce in a call slot, or refuses with
// errBusy when none is to be had.
func (g *Guard) introspectInSlot(ctx context.Context, raw, key string, now time.Time) (*Token, error) {
	if !g.intro.acquire() {
		return nil, errBusy
	}
	defer g.intro.release()
	return g.introspectOnce(ctx, raw, key, now)
}

func (g *Guard) introspectOnce(ctx context.Context, raw, key string, now time.Time) (*Token, error) {
	in, err := g.callIntrospection(ctx, raw)
	if err != nil {
		return nil, err
	}
	t, err := g.fromIntrospection(in, now)
	if err != nil {
		g.intro.refused.put(key, tokenEntry{err: err, until: now.Add(g.intro.negAge).UnixNano()}, now.UnixNano())
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
