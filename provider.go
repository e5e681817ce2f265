package oktasso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oktasso/oktasso/internal/httpjson"
	"github.com/oktasso/oktasso/internal/issuer"
)

// Limits on what is read from the identity provider.
const (
	maxDiscoveryBytes = 512 << 10
	maxJWKSBytes      = 512 << 10
	maxUserInfoBytes  = 256 << 10
	minRetryBackoff   = time.Second
	maxRetryBackoff   = time.Minute
)

// metadata is the part of the provider's discovery document that oktasso
// uses. Every endpoint in it uses https (or http on a loopback issuer); an
// optional endpoint that does not is left empty.
type metadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserInfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	// IssParameterSupported is RFC 9207's
	// authorization_response_iss_parameter_supported: when true, callbacks
	// without an iss parameter are refused.
	IssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`

	// algs are the algorithms of SigningAlgs that oktasso accepts
	// (providerAlgs), set by fetchMetadata.
	algs []jose.SignatureAlgorithm
}

// Provider is the connection to one OpenID provider: discovery, its one
// key set, and the verification of the tokens it signs (ID, logout and
// access tokens all take one path). Discovery is lazy: it runs on first use, and after a
// failure is retried with exponential backoff, so an application starts
// while its provider is unreachable. A Provider is safe for concurrent use.
type Provider struct {
	issuer string
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	ready atomic.Pointer[discovered]

	mu       sync.Mutex
	inflight chan struct{} // closed when the running discovery ends
	lastErr  error
	nextTry  time.Time
	backoff  time.Duration
}

// discovered is what a successful discovery yields; immutable.
type discovered struct {
	meta metadata
	keys *keySet
}

// NewProvider returns a Provider for issuer. It does no I/O. client and now
// may be nil for the defaults (10 s timeout, time.Now).
func NewProvider(issuer string, client *http.Client, now func() time.Time, logger *slog.Logger) (*Provider, error) {
	if err := checkIssuer(issuer); err != nil {
		return nil, fmt.Errorf("oktasso: %w", err)
	}
	if client == nil {
		client = defaultHTTPClient()
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Provider{issuer: issuer, client: client, now: now, log: logger}, nil
}

// Issuer returns the configured issuer.
func (p *Provider) Issuer() string { return p.issuer }

// Endpoint returns the discovered endpoint named by its discovery member
// ("authorization_endpoint", "token_endpoint", "userinfo_endpoint",
// "jwks_uri", "end_session_endpoint", "revocation_endpoint" or
// "introspection_endpoint"), discovering first if needed. An endpoint it
// returns uses https, or http on a loopback host (a discovered one only
// when the issuer is an http loopback URL too). It returns "" and no error
// when the provider advertises no such endpoint, or an optional one
// (revocation, introspection) that fails that check. While the provider is
// unreachable it returns an error wrapping ErrProviderUnavailable without
// waiting for the backoff to pass. Any other name is an error, without I/O.
func (p *Provider) Endpoint(ctx context.Context, name string) (string, error) {
	if _, ok := (&metadata{}).endpoint(name); !ok {
		return "", fmt.Errorf("oktasso: Provider.Endpoint: %q is not a discovery endpoint member", name)
	}
	d, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	ep, _ := d.meta.endpoint(name)
	return ep, nil
}

// endpoint returns the endpoint named by its discovery member, and whether
// name is an endpoint member at all.
func (m *metadata) endpoint(name string) (string, bool) {
	switch name {
	case "authorization_endpoint":
		return m.AuthorizationEndpoint, true
	case "token_endpoint":
		return m.TokenEndpoint, true
	case "userinfo_endpoint":
		return m.UserInfoEndpoint, true
	case "jwks_uri":
		return m.JWKSURI, true
	case "end_session_endpoint":
		return m.EndSessionEndpoint, true
	case "revocation_endpoint":
		return m.RevocationEndpoint, true
	case "introspection_endpoint":
		return m.IntrospectionEndpoint, true
	}
	return "", false
}

// cached returns the discovered state without any I/O, or nil.
func (p *Provider) cached() *discovered { return p.ready.Load() }

// retryAfter reports how long until the next discovery attempt.
func retryAfter(err error) time.Duration {
	var u *unavailableError
	if errors.As(err, &u) && u.wait > 0 {
		return u.wait
	}
	return minRetryBackoff
}

func (p *Provider) discover(ctx context.Context) (*discovered, error) {
	if d := p.ready.Load(); d != nil {
		return d, nil
	}
	p.mu.Lock()
	if d := p.ready.Load(); d != nil {
		p.mu.Unlock()
		return d, nil
	}
	wait := p.inflight
	if wait == nil {
		if now := p.now(); now.Before(p.nextTry) {
			err := &unavailableError{wait: p.nextTry.Sub(now), cause: p.lastErr}
			p.mu.Unlock()
			return nil, err
		}
		wait = make(chan struct{})
		p.inflight = wait
		// The fetch is detached from the caller's context so one cancelled
		// request does not fail discovery for everyone; the HTTP client's
		// timeout bounds it.
		go p.runDiscovery(context.WithoutCancel(ctx), wait)
	}
	p.mu.Unlock()

	select {
	case <-ctx.Done():
		return nil, &unavailableError{wait: minRetryBackoff, cause: ctx.Err()}
	case <-wait:
	}
	if d := p.ready.Load(); d != nil {
		return d, nil
	}
	p.mu.Lock()
	err := &unavailableError{wait: max(p.nextTry.Sub(p.now()), minRetryBackoff), cause: p.lastErr}
	p.mu.Unlock()
	return nil, err
}

func (p *Provider) runDiscovery(ctx context.Context, done chan struct{}) {
	// A deadline of its own, in case the injected client has no timeout.
	ctx, cancel := context.WithTimeout(ctx, defaultHTTPTimeout)
	defer cancel()
	meta, err := p.fetchMetadata(ctx)
	var d *discovered
	if err == nil {
		ks := newKeySet(meta.JWKSURI, meta.algs, p.client, p.now, p.log)
		d = &discovered{meta: *meta, keys: ks}
	}
	p.mu.Lock()
	if err != nil {
		p.backoff = min(max(p.backoff*2, minRetryBackoff), maxRetryBackoff)
		p.nextTry = p.now().Add(p.backoff)
		if p.lastErr == nil {
			// One line per outage, with the likely fix; the retries that
			// follow are logged at debug level.
			reason, fix := unreachableReason(p.issuer, err)
			p.log.Warn("oktasso: the identity provider is unreachable; the app runs and retries", "issuer", p.issuer,
				"reason", reason, "fix", fix, "err", err.Error())
		} else {
			p.log.Debug("oktasso: discovery failed", "issuer", p.issuer, "err", err.Error(), "retry_in", p.backoff.String())
		}
		p.lastErr = err
	} else {
		p.backoff, p.lastErr = 0, nil
		p.ready.Store(d)
		p.log.Info("oktasso: discovery succeeded", "issuer", p.issuer)
	}
	p.inflight = nil
	p.mu.Unlock()
	close(done)
}

func (p *Provider) fetchMetadata(ctx context.Context) (*metadata, error) {
	u := issuer.DiscoveryURL(p.issuer)
	body, err := httpjson.Get(ctx, p.client, u, maxDiscoveryBytes)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("discovery: %s is not a discovery document: %w", u, err)
	}
	if m.Issuer != p.issuer {
		return nil, issuerMismatch(m.Issuer, p.issuer)
	}
	for name, ep := range map[string]string{"authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint, "jwks_uri": m.JWKSURI} {
		if ep == "" {
			return nil, fmt.Errorf("discovery: %s is missing", name)
		}
	}
	for name, ep := range map[string]string{
		"authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint,
		"jwks_uri": m.JWKSURI, "userinfo_endpoint": m.UserInfoEndpoint, "end_session_endpoint": m.EndSessionEndpoint,
	} {
		if ep == "" {
			continue
		}
		if err := p.checkEndpoint(ep); err != nil {
			return nil, fmt.Errorf("discovery: %s: %w", name, err)
		}
	}
	// Optional endpoints oktasso itself does not call are left out when
	// unusable, rather than failing discovery for everyone.
	for name, ep := range map[string]*string{"introspection_endpoint": &m.IntrospectionEndpoint, "revocation_endpoint": &m.RevocationEndpoint} {
		if *ep == "" {
			continue
		}
		if err := p.checkEndpoint(*ep); err != nil {
			p.log.Warn("oktasso: discovery: ignoring an unusable endpoint", "name", name, "err", err.Error())
			*ep = ""
		}
	}
	if len(m.CodeChallengeMethods) > 0 && !slices.Contains(m.CodeChallengeMethods, "S256") {
		return nil, errors.New("discovery: the provider does not support PKCE S256")
	}
	if m.algs, err = providerAlgs(m.SigningAlgs); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return &m, nil
}

// issuerMismatch is the error for a discovered issuer that is not the
// configured one exactly, naming the value to configure.
func issuerMismatch(discovered, configured string) error {
	why := ""
	if strings.TrimSuffix(discovered, "/") == strings.TrimSuffix(configured, "/") {
		why = " (they differ only by a trailing slash, which counts)"
	}
	return fmt.Errorf("discovery: issuer %q does not equal the configured %q exactly%s; set the issuer (Config.Issuer, OKTA_ISSUER) to %q",
		discovered, configured, why, discovered)
}

// checkEndpoint refuses endpoints that would downgrade transport security:
// https always, http only when the issuer itself is an http loopback URL.
func (p *Provider) checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", ep)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && strings.HasPrefix(p.issuer, "http://") && isLoopback(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("%q must use https", ep)
}
