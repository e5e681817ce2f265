// Package directory reads an Okta org's users, groups and memberships
// through the Management API and keeps an application's accounts in step
// with them ([Sync]).
//
// A [Client] authenticates as an Okta API Services app with private_key_jwt
// and DPoP (RFC 9449, on by default, as Okta requires for new service
// apps), or with an SSWS API token. It follows Okta's Link pagination,
// never building cursors, honours the X-Rate-Limit headers, waits out 429s
// and retries 5xx answers with backoff. Listings stream one page at a time,
// so memory does not grow with the org.
//
//	c, err := directory.New(directory.Config{
//		OrgURL:     "https://dev-123.okta.com",
//		ClientID:   "0oa…",
//		PrivateKey: oktasso.Secret(os.Getenv("OKTA_PRIVATE_KEY")), // PEM, JWK or a file path
//		KeyID:      os.Getenv("OKTA_PRIVATE_KEY_ID"),
//	})
//	for u, err := range c.Users(ctx, "") { … }
//	summary, err := directory.Sync(ctx, c, mySink, directory.SyncOptions{State: directory.FileState("sync-state.json")})
//
// See docs/DIRECTORY.md for setting up the app in Okta.
package directory

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/clientkey"
)

// DefaultScopes are the scopes a sync needs.
var DefaultScopes = []string{"okta.users.read", "okta.groups.read"}

// Okta's page size limits.
const (
	maxPageUsers   = 200  // /api/v1/users, /api/v1/groups
	maxPageMembers = 1000 // /api/v1/groups/{id}/users
)

// defaultTimeout bounds each request of the default HTTP client.
const defaultTimeout = 30 * time.Second

// Config configures a [Client]. Either ClientID with PrivateKey (an API
// Services app using private_key_jwt) or APIToken must be set. New copies
// what it needs; the Config may be reused.
type Config struct {
	// OrgURL is the Okta org, "https://dev-123.okta.com"; a bare domain is
	// accepted, and an "-admin" console host or a trailing path is
	// refused. Required. http:// is allowed only for loopback hosts.
	OrgURL string
	// ClientID is the client ID of the API Services app.
	ClientID string
	// PrivateKey is the app's private key: PEM (PKCS#8, PKCS#1 or SEC 1),
	// a private JWK, or the path of a file holding either.
	PrivateKey oktasso.Secret
	// KeyID is the key's id in Okta ("kid"). Empty: the JWK's kid, or
	// else the key's RFC 7638 thumbprint (what `oktasso keygen --jwk`
	// prints).
	KeyID string
	// APIToken is an SSWS API token, instead of ClientID and PrivateKey.
	// It carries its admin's rights and never expires unused; prefer a
	// service app.
	APIToken oktasso.Secret
	// Scopes requested with client_credentials; default DefaultScopes.
	Scopes []string
	// InsecureNoDPoP turns DPoP off: access tokens are then bearer tokens
	// that anyone who sees one can replay until it expires. Only for apps
	// whose "Require Demonstrating Proof of Possession" box is unchecked
	// and that refuse DPoP proofs; oktasso works with DPoP on.
	InsecureNoDPoP bool
	// HTTPClient makes the requests; default a client with a 30 s timeout.
	// Set a Timeout on your own: a request that never ends stalls a sync.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives retries, rate-limit waits and token refreshes;
	// default slog.Default(). Tokens and keys are never logged.
	Logger *slog.Logger
	// PageSize is the limit asked for per page; default and maximum
	// Okta's: 200 for users and groups, 1000 for a group's members.
	PageSize int
}

// Client reads an Okta org's directory through the Management API. It is
// safe for concurrent use; it caches one access token, fetched by one
// caller at a time.
type Client struct {
	org      *url.URL
	base     string // scheme://host of the org, no trailing slash
	clientID string
	key      *clientkey.Key
	apiToken oktasso.Secret
	scopes   []string
	dpop     *ecdsa.PrivateKey // nil when DPoP is off
	hc       *http.Client
	now      func() time.Time
	log      *slog.Logger
	pageSize int

	tok   tokenCache
	stats clientStats
	rate  struct {
		mu    sync.Mutex
		until time.Time // no request before this (X-Rate-Limit-Reset)
	}
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// clientStats counts the client's work, for [Summary].
type clientStats struct {
	requests, retries, rateWaits, tooMany atomic.Int64
	waited                                atomic.Int64 // nanoseconds spent waiting for rate limits
}

// clientCounts is a snapshot of clientStats.
type clientCounts struct{ requests, retries, rateWaits, tooMany, waited int64 }

func (s *clientStats) counts() clientCounts {
	return clientCounts{s.requests.Load(), s.retries.Load(), s.rateWaits.Load(), s.tooMany.Load(), s.waited.Load()}
}

// New checks cfg and returns a Client. It does no I/O: the first call
// fetches a token. All configuration problems are returned at once.
func New(cfg Config) (*Client, error) {
	var errs []error
	org, err := parseOrgURL(cfg.OrgURL)
	if err != nil {
		errs = append(errs, err)
	}
	c := &Client{
		org: org, clientID: cfg.ClientID, apiToken: cfg.APIToken,
		scopes: cfg.Scopes, hc: cfg.HTTPClient, now: cfg.Now, log: cfg.Logger,
		pageSize: cfg.PageSize, sleep: sleepCtx,
		tok: tokenCache{fetch: make(chan struct{}, 1)},
	}
	if org != nil {
		c.base = org.String()
	}
	if len(c.scopes) == 0 {
		c.scopes = DefaultScopes
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultTimeout}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.pageSize < 0 {
		errs = append(errs, errors.New("directory: PageSize is negative"))
	}
	errs = append(errs, c.loadCredentials(cfg)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// loadCredentials checks the credentials in cfg, an API token or a client
// ID with a private key, loads the key and makes the DPoP key; it returns
// every problem found.
func (c *Client) loadCredentials(cfg Config) []error {
	switch {
	case cfg.APIToken != "" && (cfg.ClientID != "" || cfg.PrivateKey != ""):
		return []error{errors.New("directory: set either APIToken or ClientID and PrivateKey, not both")}
	case cfg.APIToken != "":
		return nil
	case cfg.ClientID == "" && cfg.PrivateKey == "":
		return []error{errors.New("directory: no credentials: set ClientID and PrivateKey (an API Services app) or APIToken")}
	case cfg.ClientID == "":
		return []error{errors.New("directory: ClientID is empty; copy it from the API Services app's General tab")}
	case cfg.PrivateKey == "":
		return []error{errors.New("directory: PrivateKey is empty; make one with `oktasso keygen --jwk`")}
	}
	var errs []error
	k, err := clientkey.Load(string(cfg.PrivateKey), cfg.KeyID)
	if err != nil {
		errs = append(errs, fmt.Errorf("directory: PrivateKey: %w", err))
	}
	c.key = k
	if !cfg.InsecureNoDPoP {
		if err := c.newDPoPKey(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// parseOrgURL normalises an org URL or domain, as people paste it, to
// scheme://host: a bare domain gets https, an "/oauth2/…" path (the
// Management API lives on the org itself) is dropped, and the admin
// console's host dev-123-admin.okta.com becomes dev-123.okta.com, as the
// root package does for OKTA_DOMAIN.
func parseOrgURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("directory: OrgURL is empty; set it to your Okta org, e.g. https://dev-123.okta.com")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("directory: OrgURL %q is not a URL", s)
	}
	host := u.Hostname()
	if hasPath(u) {
		return nil, fmt.Errorf("directory: OrgURL %q has a path; use the org alone, e.g. https://%s", s, u.Host)
	}
	u.Host = orgHost(u.Host)
	switch {
	case u.Scheme == "http" && !isLoopback(host):
		return nil, fmt.Errorf("directory: OrgURL %q uses http; only loopback hosts may", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("directory: OrgURL %q: unsupported scheme", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// hasPath reports whether u has more than a scheme and a host: a path
// other than "/oauth2/…", a query or a fragment.
func hasPath(u *url.URL) bool {
	p := strings.TrimSuffix(u.Path, "/")
	return p != "" && !strings.HasPrefix(p, "/oauth2/") || u.RawQuery != "" || u.Fragment != ""
}

// orgHost returns the org's host for the admin console's,
// dev-123.okta.com for dev-123-admin.okta.com, and any other host as it is.
func orgHost(host string) string {
	if label, rest, ok := strings.Cut(host, "."); ok && strings.HasSuffix(label, "-admin") && oktaDomain(rest) {
		return strings.TrimSuffix(label, "-admin") + "." + rest
	}
	return host
}

// oktaDomain reports whether d is one of Okta's own domains.
func oktaDomain(d string) bool {
	switch d {
	case "okta.com", "oktapreview.com", "okta-emea.com", "okta-gov.com", "okta.mil":
		return true
	}
	return false
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// tokenURL is the org authorization server's token endpoint.
func (c *Client) tokenURL() string { return c.base + "/oauth2/v1/token" }

// sameOrigin reports whether u points at the org, so that credentials may
// be sent to it. Link headers and resumed cursors are checked with it.
func (c *Client) sameOrigin(u *url.URL) bool {
	return u.Scheme == c.org.Scheme && strings.EqualFold(u.Host, c.org.Host)
}

// sleepCtx waits d or until ctx ends, returning ctx.Err() then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
