// Package tenants serves several identity providers (Okta orgs, tenants,
// or customers' own providers) from one application: a [Router] picks each
// request's tenant and hands the request to that tenant's [oktasso.Auth],
// built on the tenant's first request from the Config that
// [Config.Lookup] returns.
//
//	r, err := tenants.New(tenants.Config{
//		Select: tenants.ByPathPrefix("/t/"),
//		Lookup: func(ctx context.Context, id string) (oktasso.Config, error) { ... },
//	})
//	mux.Handle("/t/{tenant}/auth/", r.Handler())
//	mux.Handle("/t/{tenant}/workspace/", r.Workspace(console))
package tenants

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/httpjson"
	"github.com/oktasso/oktasso/store"
)

// ErrUnknown is what Config.Lookup returns (wrapped) for an id that names
// no tenant. The Router then answers 404.
var ErrUnknown = errors.New("oktasso: unknown tenant")

// DefaultMax is the default of Config.Max.
const DefaultMax = 1000

// maxIDLen bounds tenant ids taken from requests.
const maxIDLen = 128

// minSessionKeyLen is the shortest session key oktasso.New accepts;
// TestSessionKeyMinimum keeps the two in step.
const minSessionKeyLen = 32

// Config configures a [Router]. Lookup is required; the zero value of every
// other field is safe.
type Config struct {
	// Select picks the tenant of a request: [ByHost], [ByPathPrefix], or a
	// function of your own. Requests for which it reports false get 404.
	// Default: the id put in the request context with [WithID] by
	// middleware of the application.
	Select func(r *http.Request) (tenantID string, ok bool)
	// Lookup returns the oktasso.Config of a tenant, on the tenant's first
	// request (and again after it was dropped, see Max). Each tenant has
	// its own issuer, client and BaseURL. For tenants chosen by path
	// prefix, BaseURL must carry the prefix, e.g.
	// "https://app.example.com/t/acme". An error wrapping ErrUnknown means
	// no such tenant (404); any other error is a server error (500) and is
	// retried on the next request. Required. It must be safe for
	// concurrent use.
	Lookup func(ctx context.Context, tenantID string) (oktasso.Config, error)
	// Max bounds the tenants kept ready; the least recently used beyond it
	// is dropped and looked up again on its next request (its signed-in
	// users stay signed in when its SessionKeys are fixed and its Store is
	// shared). Default DefaultMax.
	Max int
	// Store is used by every tenant whose Config has no Store, so ended
	// sessions stay ended when a tenant is dropped and rebuilt. Default:
	// a store.Memory on Now, warning through Logger.
	Store store.Store
	// SessionKeys are used by every tenant whose Config has none. Cookie
	// keys are still distinct per tenant: they are derived with its issuer,
	// client ID and cookie name. Default: none (each tenant then has a
	// random key, and its sessions end whenever it is rebuilt).
	SessionKeys []oktasso.Secret
	// Now is the clock of the default Store and of tenants whose Config has
	// none. Default time.Now.
	Now func() time.Time
	// Logger is the logger of tenants whose Config has none, with a tenant
	// attribute, and receives lookup failures. Default slog.Default().
	Logger *slog.Logger
}

// Router routes each request by Config.Select to its tenant's
// [oktasso.Auth], built on the tenant's first request from Config.Lookup
// (one build at a time per tenant) and kept, up to Config.Max. Each tenant
// has its own issuer, discovery, keys, client, cookie names and cookie
// keys, so a session of one tenant is never accepted by another, and a
// provider is not contacted before a request for its tenant.
//
// Handlers behind a Router read the user with [oktasso.UserFrom] and the
// tenant id with [IDFrom]. For a tenant whose BaseURL has a path, the path
// is removed before the request reaches its routes and guards, so the
// application's routes and return_to paths are relative to the tenant, as
// for an application served under a prefix.
//
// A Router is safe for concurrent use.
type Router struct {
	cfg Config

	mu       sync.Mutex
	byID     map[string]*tenant
	order    list.List            // of built *tenant, most recently used first
	building int                  // builds in progress
	unknown  map[string]time.Time // ids Lookup called unknown, until when
}

// Bounds on tenant construction, so requests for made-up tenant ids cost
// little: builds in progress at once, and how long (and how many) ids that
// Lookup called unknown are remembered.
const (
	maxBuilds     = 16
	unknownTTL    = 30 * time.Second
	maxUnknownIDs = 4096
)

// errBusy means too many tenants are being set up at once.
var errBusy = errors.New("oktasso: too many tenants being set up at once; try again")

// tenant is one tenant's Auth, built once; its fields other than elem are
// set before done is closed and never change after.
type tenant struct {
	id     string
	done   chan struct{}
	auth   *oktasso.Auth
	routes http.Handler // auth.Handler()
	base   string       // the path of the tenant's BaseURL, "" for none
	err    error
	elem   *list.Element // guarded by Router.mu
}

// New validates cfg and returns a Router. It does no I/O: each tenant is
// looked up and discovered on its first request.
func New(cfg Config) (*Router, error) {
	var errs []error
	if cfg.Lookup == nil {
		errs = append(errs, errors.New("oktasso: tenants.Config.Lookup is nil; return each tenant's Config from it"))
	}
	if cfg.Max == 0 {
		cfg.Max = DefaultMax
	}
	if cfg.Max < 1 {
		errs = append(errs, fmt.Errorf("oktasso: tenants.Config.Max: %d is not positive", cfg.Max))
	}
	for i, k := range cfg.SessionKeys {
		if len(k) < minSessionKeyLen {
			errs = append(errs, fmt.Errorf("oktasso: tenants.Config.SessionKeys: key %d has %d bytes, want at least %d", i+1, len(k), minSessionKeyLen))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Select == nil {
		cfg.Select = func(r *http.Request) (string, bool) {
			id := IDFrom(r.Context())
			return id, id != ""
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Store == nil {
		cfg.Store = store.NewMemoryWith(store.MemoryOptions{Now: cfg.Now, Logger: cfg.Logger})
	}
	return &Router{cfg: cfg, byID: map[string]*tenant{}}, nil
}

// ByHost selects tenants by the request's host: hosts maps host names
// (case-insensitive; with a port to match only that port) to tenant ids.
func ByHost(hosts map[string]string) func(*http.Request) (string, bool) {
	m := make(map[string]string, len(hosts))
	for h, id := range hosts {
		m[strings.ToLower(h)] = id
	}
	return func(r *http.Request) (string, bool) {
		h := strings.ToLower(r.Host)
		if id, ok := m[h]; ok {
			return id, true
		}
		if host, _, err := net.SplitHostPort(h); err == nil {
			id, ok := m[host]
			return id, ok
		}
		return "", false
	}
}

// ByPathPrefix selects tenants by the path segment after prefix:
// ByPathPrefix("/t/") gives "acme" for "/t/acme/workspace". Each tenant's
// BaseURL must then end with prefix and its id, e.g.
// "https://app.example.com/t/acme".
func ByPathPrefix(prefix string) func(*http.Request) (string, bool) {
	return func(r *http.Request) (string, bool) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			return "", false
		}
		id, _, _ := strings.Cut(rest, "/")
		return id, id != ""
	}
}

type idKey struct{}

// WithID returns a copy of ctx naming the tenant id. Middleware that knows
// the tenant (from a subdomain, a header it trusts, the signed-in account)
// sets it for the default Config.Select; a Router sets it for the handlers
// behind it.
func WithID(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(ctx, idKey{}, tenantID)
}

// IDFrom returns the tenant id of the request context, or "".
func IDFrom(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}

// Auth returns the tenant's Auth, looking the tenant up on first use, for
// work outside the Router's handlers (a tenant's LoginURL, RedirectURL, or
// StartLogin from a handler of your own). An unknown tenant is an error
// wrapping ErrUnknown.
func (t *Router) Auth(ctx context.Context, tenantID string) (*oktasso.Auth, error) {
	e, err := t.tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return e.auth, nil
}

// Forget drops the tenant, so its next request looks it up again (after its
// Config changed, say). Requests in flight finish with the old Auth.
func (t *Router) Forget(tenantID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.byID[tenantID]; e != nil {
		t.removeLocked(e)
	}
}

// Handler serves each tenant's sign-in and sign-out routes (see
// oktasso.Auth.Handler). Mount it where the tenants' routes are: "/auth/"
// for tenants by host, "/t/{tenant}/auth/" for tenants by path prefix.
func (t *Router) Handler() http.Handler {
	return t.dispatch(func(e *tenant) http.Handler { return e.routes })
}

// Workspace is oktasso.Auth.Workspace of the request's tenant.
func (t *Router) Workspace(next http.Handler) http.Handler {
	return t.dispatch(func(e *tenant) http.Handler { return e.auth.Workspace(next) })
}

// WebApp is oktasso.Auth.WebApp of the request's tenant.
func (t *Router) WebApp(next http.Handler) http.Handler {
	return t.dispatch(func(e *tenant) http.Handler { return e.auth.WebApp(next) })
}

// Identify is oktasso.Auth.Identify of the request's tenant. A request for
// no known tenant gets 404 all the same.
func (t *Router) Identify(next http.Handler) http.Handler {
	return t.dispatch(func(e *tenant) http.Handler { return e.auth.Identify(next) })
}

// dispatch routes a request to the handler pick returns for its tenant,
// with the tenant in the context and the tenant's base path removed.
func (t *Router) dispatch(pick func(*tenant) http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := t.cfg.Select(r)
		if !ok {
			notFound(w, r)
			return
		}
		e, err := t.tenant(r.Context(), id)
		switch {
		case errors.Is(err, ErrUnknown):
			notFound(w, r)
			return
		case err != nil && r.Context().Err() != nil:
			return // the client is gone
		case errors.Is(err, errBusy):
			w.Header().Set("Retry-After", "1")
			httpjson.NoStore(w)
			http.Error(w, "This site is busy; try again in a moment.", http.StatusServiceUnavailable)
			return
		case err != nil:
			t.cfg.Logger.Error("oktasso: tenant unavailable", "tenant", id, "err", err.Error())
			httpjson.NoStore(w)
			http.Error(w, "This site is not available at the moment.", http.StatusInternalServerError)
			return
		}
		r = r.WithContext(WithID(r.Context(), id))
		if e.base != "" {
			inner := withoutBase(r, e.base)
			if inner == nil {
				notFound(w, r)
				return
			}
			r = inner
		}
		pick(e).ServeHTTP(w, r)
	})
}

// withoutBase returns r with base removed from its path, or nil when the
// path is not under base or is not clean ("//", dot segments): the routes
// inside would redirect it to a cleaned path outside the tenant.
func withoutBase(r *http.Request, base string) *http.Request {
	rest, ok := strings.CutPrefix(r.URL.Path, base)
	if !ok || (rest != "" && rest[0] != '/') || (rest != "" && rest != "/" && path.Clean(rest) != strings.TrimSuffix(rest, "/")) {
		return nil
	}
	u := *r.URL
	u.Path = rest
	if u.Path == "" {
		u.Path = "/"
	}
	if raw, ok := strings.CutPrefix(u.RawPath, base); ok && strings.HasPrefix(raw, "/") {
		u.RawPath = raw
	} else {
		u.RawPath = ""
	}
	r2 := r.Clone(r.Context())
	r2.URL = &u
	return r2
}

// notFound answers a request for no known tenant: for API requests, with
// the JSON error the guards of oktasso answer API requests with.
func notFound(w http.ResponseWriter, r *http.Request) {
	httpjson.NoStore(w)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if httpjson.IsAPI(r) {
		httpjson.WriteError(w, http.StatusNotFound, "unknown_tenant", "no such tenant", "")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "404 page not found\n")
}

// printable reports whether s has no control characters.
func printable(s string) bool {
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// tenant returns the tenant, building it on first use: one build per
// tenant at a time, detached from the caller (so one cancelled request does
// not fail it for the others) and bounded by oktasso.DefaultHTTPTimeout.
// Waiters honour ctx. A failed build is not kept.
func (t *Router) tenant(ctx context.Context, id string) (*tenant, error) {
	if id == "" || len(id) > maxIDLen || !printable(id) || strings.Contains(id, "/") {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, id)
	}
	t.mu.Lock()
	if until, ok := t.unknown[id]; ok {
		if t.cfg.Now().Before(until) {
			t.mu.Unlock()
			return nil, fmt.Errorf("%w: %q", ErrUnknown, id)
		}
		delete(t.unknown, id)
	}
	e := t.byID[id]
	if e == nil {
		if t.building >= maxBuilds {
			t.mu.Unlock()
			return nil, errBusy
		}
		// Only a built tenant enters the LRU order, so tenants being set
		// up (or made-up ids) never push ready ones out.
		e = &tenant{id: id, done: make(chan struct{})}
		t.byID[id] = e
		t.building++
		go t.build(context.WithoutCancel(ctx), e)
	} else if e.elem != nil {
		t.order.MoveToFront(e.elem)
	}
	t.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.done:
	}
	if e.err != nil {
		return nil, e.err
	}
	return e, nil
}

// evictLocked drops the least recently used built tenants beyond Max.
// t.mu must be held.
func (t *Router) evictLocked() {
	for el := t.order.Back(); el != nil && t.order.Len() > t.cfg.Max; {
		prev := el.Prev()
		e := el.Value.(*tenant)
		select {
		case <-e.done:
			t.removeLocked(e)
		default: // still being built: its waiters need it
		}
		el = prev
	}
}

func (t *Router) removeLocked(e *tenant) {
	if t.byID[e.id] == e {
		delete(t.byID, e.id)
	}
	if e.elem != nil {
		t.order.Remove(e.elem)
		e.elem = nil
	}
}

// lookupTimeout bounds a tenant's Lookup and the creation of its Auth.
const lookupTimeout = 10 * time.Second

// build looks the tenant up and creates its Auth.
func (t *Router) build(ctx context.Context, e *tenant) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	e.auth, e.err = t.newAuth(ctx, e.id)
	if e.err == nil {
		e.routes = e.auth.Handler()
		if u, err := url.Parse(e.auth.Config().BaseURL); err == nil {
			e.base = strings.TrimRight(u.Path, "/")
		}
	}
	t.mu.Lock()
	t.building--
	switch {
	case e.err == nil:
		e.elem = t.order.PushFront(e)
		t.evictLocked()
	case errors.Is(e.err, ErrUnknown):
		t.removeLocked(e)
		if len(t.unknown) >= maxUnknownIDs {
			clear(t.unknown)
		}
		if t.unknown == nil {
			t.unknown = map[string]time.Time{}
		}
		t.unknown[e.id] = t.cfg.Now().Add(unknownTTL)
	default:
		t.removeLocked(e)
	}
	t.mu.Unlock()
	close(e.done)
}

// newAuth builds a tenant's Auth from its Config, with the Router's
// defaults and a cookie name of its own.
func (t *Router) newAuth(ctx context.Context, id string) (*oktasso.Auth, error) {
	cfg, err := t.cfg.Lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("oktasso: tenant %q: %w", id, err)
	}
	if cfg.Session.CookieName == "" {
		cfg.Session.CookieName = cookieName(id)
	}
	if cfg.Store == nil {
		cfg.Store = t.cfg.Store
	}
	if len(cfg.Session.Keys) == 0 {
		cfg.Session.Keys = t.cfg.SessionKeys
	}
	if cfg.Now == nil {
		cfg.Now = t.cfg.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = t.cfg.Logger.With("tenant", id)
	}
	a, err := oktasso.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("oktasso: tenant %q: %w", id, err)
	}
	return a, nil
}

// cookieName is a tenant's default cookie name: "oktasso_" and the id when
// it is short and alphanumeric, else a digest of it, so that no tenant's
// cookie names ("-1", "-flow-…" suffixes) can be another's.
func cookieName(id string) string {
	ok := len(id) <= 40
	for _, c := range id {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	}
	if ok {
		return "oktasso_" + id
	}
	// "__" marks a digest: an alphanumeric id cannot start with "_".
	sum := sha256.Sum256([]byte(id))
	return "oktasso__" + hex.EncodeToString(sum[:8])
}
