package tenants

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
	"github.com/oktasso/oktasso/plainoauth"
)

const testClientID = "0oatestclient"

var (
	key1  = oktasso.Secret("0123456789abcdef0123456789abcdef")
	alice = "alice@example.com"
	bob   = "bob@partner.example"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// countingTransport counts the requests it forwards.
type countingTransport struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// offline is a transport for Auths whose provider must not be reached.
type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("offline")
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests can look at every hop.
type browser struct {
	t      testing.TB
	client *http.Client
	origin string // Origin header for POSTs
}

type result struct {
	status   int
	location string
	body     string
}

func (b *browser) do(req *http.Request) result {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
}

func (b *browser) get(u string, hdr ...string) result {
	b.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) result {
	b.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	return b.do(req)
}

// tenantApp is one application serving tenants "a" and "b", each signing in
// at a fake Okta org of its own (or, shared, both at org "a" with the same
// client and session keys).
type tenantApp struct {
	t       *testing.T
	app     *httptest.Server
	router  *Router
	base    map[string]string // tenant → BaseURL
	fake    map[string]*oktatest.Server
	mu      sync.Mutex
	lookups map[string]int
	calls   map[string]*atomic.Int64 // requests from the app to each org
}

// newTenantApp starts the orgs and the application. byPath selects tenants
// by "/t/{id}" (BaseURL app/t/{id}); otherwise by host: "a" is 127.0.0.1
// and "b" is localhost.
func newTenantApp(t *testing.T, byPath, shared bool) *tenantApp {
	t.Helper()
	clock := &fakeClock{t: time.Now()}
	ta := &tenantApp{t: t, base: map[string]string{}, fake: map[string]*oktatest.Server{}, lookups: map[string]int{}, calls: map[string]*atomic.Int64{}}
	ta.app = httptest.NewUnstartedServer(nil)
	port := ta.app.Listener.Addr().(interface{ String() string }).String()
	_, port, _ = strings.Cut(port, ":")
	for _, id := range []string{"a", "b"} {
		if byPath {
			ta.base[id] = "http://127.0.0.1:" + port + "/t/" + id
		}
		ta.calls[id] = &atomic.Int64{}
	}
	if !byPath {
		ta.base["a"], ta.base["b"] = "http://127.0.0.1:"+port, "http://localhost:"+port
	}
	for _, id := range []string{"a", "b"} {
		if shared && id == "b" {
			ta.fake["b"] = ta.fake["a"]
			continue
		}
		f := oktatest.NewUnstartedServer()
		f.Now = clock.Now
		f.Start()
		t.Cleanup(f.Close)
		f.AddDemoUsers()
		ta.fake[id] = f
	}
	var uris []string
	for _, id := range []string{"a", "b"} {
		uris = append(uris, ta.base[id]+oktasso.CallbackPath)
	}
	for _, id := range []string{"a", "b"} {
		if shared && id == "b" {
			continue
		}
		ta.fake[id].AddClient(oktatest.Client{ID: testClientID, Secret: "test-secret", RedirectURIs: uris, PostLogoutRedirectURIs: []string{ta.base[id] + "/auth/logout/callback"},
			BackchannelLogoutURI: ta.base[id] + "/auth/backchannel-logout"})
	}
	if byPath { // tenant "gh" signs in with a plain OAuth 2.0 provider (org a's GitHub-like one)
		ta.base["gh"] = "http://127.0.0.1:" + port + "/t/gh"
		ta.fake["a"].AddClient(oktatest.Client{ID: "Iv1.gh", Secret: "gh-secret", AuthMethod: "client_secret_post", RedirectURIs: []string{ta.base["gh"] + oktasso.CallbackPath}})
	}
	router, err := New(Config{
		Select: func(r *http.Request) (string, bool) {
			if byPath {
				return ByPathPrefix("/t/")(r)
			}
			return ByHost(map[string]string{"127.0.0.1": "a", "localhost": "b"})(r)
		},
		Lookup: func(_ context.Context, id string) (oktasso.Config, error) {
			ta.mu.Lock()
			ta.lookups[id]++
			ta.mu.Unlock()
			switch id {
			case "broken":
				return oktasso.Config{}, errors.New("tenant database unavailable")
			case "gh":
				if gh := ta.base["gh"]; gh != "" {
					p := ta.fake["a"].PlainOAuth2()
					return oktasso.Config{
						BaseURL:    gh,
						HTTPClient: ta.fake["a"].Client(),
						OAuth2:     &plainoauth.Provider{Identity: "https://github.com", AuthURL: p.AuthURL, TokenURL: p.TokenURL, UserInfoURL: p.UserInfoURL, Mapping: plainoauth.Mapping{Subject: "id"}},
						Client:     oktasso.ClientConfig{ID: "Iv1.gh", Secret: "gh-secret", AuthMethod: oktasso.ClientSecretPost},
					}, nil
				}
			}
			f, ok := ta.fake[id]
			if !ok {
				return oktasso.Config{}, ErrUnknown
			}
			return oktasso.Config{
				Issuer:     f.Issuer(),
				BaseURL:    ta.base[id],
				HTTPClient: &http.Client{Transport: countingTransport{n: ta.calls[id], next: f.Client().Transport}},
				Client:     oktasso.ClientConfig{ID: testClientID, Secret: "test-secret"},
				Access:     oktasso.AccessConfig{Workspace: oktasso.RequireGroups("Workspace Members")},
			}, nil
		},
		SessionKeys: []oktasso.Secret{key1},
		Now:         clock.Now,
		Logger:      quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ta.router = router
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := "anonymous"
		if u := oktasso.UserFrom(r.Context()); u != nil {
			email = u.Email
		}
		fmt.Fprintf(w, "tenant:%s user:%s path:%s", IDFrom(r.Context()), email, r.URL.Path)
	})
	prefix := ""
	if byPath {
		prefix = "/t/{tenant}"
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/auth/", router.Handler())
	mux.Handle(prefix+"/workspace", router.Workspace(show))
	mux.Handle(prefix+"/webapp", router.WebApp(show))
	mux.Handle(prefix+"/{$}", router.Identify(show))
	ta.app.Config.Handler = mux
	ta.app.Start()
	t.Cleanup(ta.app.Close)
	return ta
}

func (ta *tenantApp) lookupsOf(id string) int {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return ta.lookups[id]
}

// newJarBrowser is a browser with a cookie jar that does not follow
// redirects.
func newJarBrowser(t testing.TB, origin string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, origin: origin, client: &http.Client{
		Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// follow GETs u and follows redirects (at most 10) like a browser.
func (b *browser) follow(u string, hdr ...string) result {
	b.t.Helper()
	r := b.get(u, hdr...)
	for i := 0; i < 10 && r.status/100 == 3; i++ {
		r = b.get(r.location, hdr...)
	}
	return r
}

// signIn signs login in to tenant id through its guarded path and returns
// the final page.
func (ta *tenantApp) signIn(b *browser, id, login, path string) result {
	ta.t.Helper()
	ta.fake[id].AutoLogin(login)
	return b.follow(ta.base[id] + path)
}

// cookie returns b's cookie named name for tenant id's base URL, or nil.
func (ta *tenantApp) cookie(b *browser, id, name string) *http.Cookie {
	for _, c := range b.client.Jar.Cookies(mustURL(ta.t, ta.base[id])) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// sessionCookieName is the name of a's session cookie: its CookieName, as
// the tests' BaseURLs are http (no __Host- prefix).
func sessionCookieName(a *oktasso.Auth) string { return a.Config().Session.CookieName }

// flowCookie returns b's only flow cookie for tenant id, or nil.
func (ta *tenantApp) flowCookie(b *browser, id string) *http.Cookie {
	ta.t.Helper()
	var flow *http.Cookie
	for _, c := range b.client.Jar.Cookies(mustURL(ta.t, ta.base[id])) {
		if strings.HasPrefix(c.Name, sessionCookieName(ta.auth(id))+"-flow-") {
			if flow != nil {
				ta.t.Fatalf("tenant %s: more than one flow cookie", id)
			}
			flow = c
		}
	}
	return flow
}

// auth returns tenant id's Auth.
func (ta *tenantApp) auth(id string) *oktasso.Auth {
	a, err := ta.router.Auth(context.Background(), id)
	if err != nil {
		ta.t.Fatal(err)
	}
	return a
}

func TestTenantsByPath(t *testing.T) {
	ta := newTenantApp(t, true, false)
	b := newJarBrowser(t, ta.app.URL)

	r := b.get(ta.base["a"] + "/workspace")
	if want := ta.base["a"] + "/auth/login" + "?return_to=%2Fworkspace"; r.status != http.StatusFound || r.location != want {
		t.Fatalf("GET /t/a/workspace = %d to %q; want 302 to %s", r.status, r.location, want)
	}
	if r := ta.signIn(b, "a", alice, "/workspace"); r.body != "tenant:a user:"+alice+" path:/workspace" {
		t.Fatalf("signed in to a: %d %q", r.status, r.body)
	}
	// Tenant b was neither looked up nor its org contacted.
	if n, c := ta.lookupsOf("b"), ta.calls["b"].Load(); n != 0 || c != 0 {
		t.Fatalf("before any request for b: %d lookups, %d requests to its org; want none", n, c)
	}

	// a's session does not open b, from the same browser.
	r = b.get(ta.base["b"] + "/workspace")
	if want := ta.base["b"] + "/auth/login" + "?return_to=%2Fworkspace"; r.status != http.StatusFound || r.location != want {
		t.Errorf("GET /t/b/workspace with a's session = %d to %q; want 302 to %s", r.status, r.location, want)
	}
	if c := ta.calls["b"].Load(); c == 0 {
		t.Error("b's org was not discovered on b's first request")
	}

	// b's callback refuses a's state, before any token request.
	r = b.get(ta.base["a"] + "/auth/login")
	stateA := mustURL(t, r.location).Query().Get("state")
	before := ta.fake["b"].TokenRequests()
	if r := b.get(ta.base["b"] + oktasso.CallbackPath + "?" + url.Values{"state": {stateA}, "code": {"x"}}.Encode()); r.status != http.StatusBadRequest {
		t.Errorf("b's callback with a's state = %d; want 400", r.status)
	}
	if n := ta.fake["b"].TokenRequests() - before; n != 0 {
		t.Errorf("b's callback with a's state made %d token requests; want 0", n)
	}

	// Both sessions live side by side in one cookie jar.
	if r := ta.signIn(b, "b", bob, "/webapp"); r.body != "tenant:b user:"+bob+" path:/webapp" {
		t.Fatalf("signed in to b: %d %q", r.status, r.body)
	}
	if r := b.get(ta.base["a"] + "/workspace"); r.body != "tenant:a user:"+alice+" path:/workspace" {
		t.Errorf("a after signing in to b = %d %q; want alice still", r.status, r.body)
	}
	// A third tenant signs in with a plain OAuth 2.0 provider.
	if r := b.get(ta.base["gh"] + "/webapp"); r.status != http.StatusFound {
		t.Errorf("gh with a's and b's sessions = %d; want 302 to sign in", r.status)
	}
	if r := b.follow(ta.base["gh"] + "/webapp"); r.body != "tenant:gh user:"+alice+" path:/webapp" {
		t.Fatalf("signed in to gh: %d %q", r.status, r.body)
	}
	if u := ta.auth("gh").Config().Issuer; u != "https://github.com" {
		t.Errorf("gh issuer = %q", u)
	}
	// Signing out of a leaves b signed in.
	if r := b.post(ta.base["a"]+oktasso.LogoutPath, nil); r.status != http.StatusSeeOther {
		t.Fatalf("POST /t/a/auth/logout = %d; want 303", r.status)
	}
	if r := b.get(ta.base["a"] + "/workspace"); r.status != http.StatusFound {
		t.Errorf("a after its sign-out = %d; want 302", r.status)
	}
	if r := b.get(ta.base["b"] + "/webapp"); r.body != "tenant:b user:"+bob+" path:/webapp" {
		t.Errorf("b after signing out of a = %d %q; want bob still", r.status, r.body)
	}
	if r := b.get(ta.base["b"] + "/"); r.body != "tenant:b user:"+bob+" path:/" {
		t.Errorf("GET /t/b/ = %d %q; want Identify to know bob", r.status, r.body)
	}
}

func TestTenantsRefuseForeignSessions(t *testing.T) {
	for _, tt := range []struct {
		name           string
		byPath, shared bool
	}{
		{"by host, own orgs", false, false},
		{"by host, one org, client and key", false, true},
		{"by path, one org, client and key", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTenantApp(t, tt.byPath, tt.shared)
			a, bAuth := ta.auth("a"), ta.auth("b")
			victim := newJarBrowser(t, ta.base["a"])
			if r := ta.signIn(victim, "a", alice, "/workspace"); !strings.Contains(r.body, "user:"+alice) {
				t.Fatalf("signed in to a: %d %q", r.status, r.body)
			}
			sess := ta.cookie(victim, "a", sessionCookieName(a))
			if sess == nil {
				t.Fatal("no session cookie for a")
			}
			for _, name := range []string{sessionCookieName(a), sessionCookieName(bAuth)} {
				for _, api := range []bool{false, true} {
					hdr := []string{"Cookie", name + "=" + sess.Value}
					want := http.StatusFound
					if api {
						hdr, want = append(hdr, "Accept", "application/json"), http.StatusUnauthorized
					}
					r := newJarBrowser(t, "").get(ta.base["b"]+"/workspace", hdr...)
					if r.status != want || (!api && !strings.HasPrefix(r.location, ta.base["b"]+"/auth/login")) {
						t.Errorf("b with a's session as %s (api %v) = %d to %q; want %d to b's sign-in", name, api, r.status, r.location, want)
					}
				}
			}

			// a's flow, renamed for b, does not complete a sign-in at b.
			ta.fake["a"].AutoLogin(alice)
			attacker := newJarBrowser(t, "")
			r := attacker.get(ta.base["a"] + "/auth/login")
			cb := attacker.get(r.location).location // a's callback URL with a's code and state
			flow := ta.flowCookie(attacker, "a")
			if flow == nil {
				t.Fatal("no flow cookie for a")
			}
			// The flow cookie's name is the session cookie's, "-flow-" and a
			// digest of the state: b's name for this state swaps the first.
			bFlowName := sessionCookieName(bAuth) + strings.TrimPrefix(flow.Name, sessionCookieName(a))
			q := mustURL(t, cb).RawQuery
			r = newJarBrowser(t, "").get(ta.base["b"]+oktasso.CallbackPath+"?"+q, "Cookie", bFlowName+"="+flow.Value)
			if r.status != http.StatusBadRequest {
				t.Errorf("b's callback with a's code, state and flow = %d; want 400", r.status)
			}
		})
	}
}

// signInBoth signs login in to tenants a and b in one browser.
func (ta *tenantApp) signInBoth(login string) *browser {
	ta.t.Helper()
	b := newJarBrowser(ta.t, ta.app.URL)
	ta.signIn(b, "a", login, "/workspace")
	if r := ta.signIn(b, "b", login, "/webapp"); r.body != "tenant:b user:"+login+" path:/webapp" {
		ta.t.Fatalf("signed in to b: %d %q", r.status, r.body)
	}
	return b
}

func TestTenantsRefuseForeignLogoutToken(t *testing.T) {
	ta := newTenantApp(t, true, false)
	b := ta.signInBoth(alice)
	ta.fake["a"].SendBackchannelLogout(true) // Okta sends none; other providers do
	ta.fake["a"].EndSession(alice)           // org a sends its logout token to tenant a
	ds := ta.fake["a"].BackchannelDeliveries()
	if len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Fatalf("org a's deliveries = %+v; want one, accepted by tenant a", ds)
	}
	if r := b.get(ta.base["a"] + "/workspace"); r.status != http.StatusFound {
		t.Errorf("a after its org's logout = %d; want 302", r.status)
	}
	// The same token, posted to tenant b, is refused and ends nothing there.
	if r := newJarBrowser(t, "").post(ta.base["b"]+"/auth/backchannel-logout", url.Values{"logout_token": {ds[0].LogoutToken}}); r.status != http.StatusBadRequest {
		t.Errorf("org a's logout token at b = %d; want 400", r.status)
	}
	if r := b.get(ta.base["b"] + "/webapp"); r.body != "tenant:b user:"+alice+" path:/webapp" {
		t.Errorf("b after org a's logout = %d %q; want still signed in", r.status, r.body)
	}
}

func TestTenantsLookup(t *testing.T) {
	ta := newTenantApp(t, true, false)
	br := newJarBrowser(t, "")
	tests := []struct {
		name        string
		path        string
		api         bool
		want        int
		wantLookups map[string]int // lookups after the request
	}{
		{"unknown tenant", "/t/zzz/workspace", false, 404, map[string]int{"zzz": 1}},
		// Lookup's "unknown" is remembered for a while: made-up ids cost
		// one lookup, not one per request.
		{"unknown tenant, API", "/t/zzz/workspace", true, 404, map[string]int{"zzz": 1}},
		{"unknown tenant's routes", "/t/zzz/auth/login", false, 404, map[string]int{"zzz": 1}},
		{"no tenant", "/t/", false, 404, nil},
		{"overlong id", "/t/" + strings.Repeat("x", maxIDLen+1) + "/workspace", false, 404, map[string]int{strings.Repeat("x", maxIDLen+1): 0}},
		{"failing lookup", "/t/broken/workspace", false, 500, map[string]int{"broken": 1}},
		{"failing lookup is retried", "/t/broken/workspace", false, 500, map[string]int{"broken": 2}},
		{"known tenant", "/t/a/workspace", false, 302, map[string]int{"a": 1}},
		{"known tenant is kept", "/t/a/auth/login", false, 302, map[string]int{"a": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.api {
				hdr = []string{"Accept", "application/json"}
			}
			r := br.get(ta.app.URL+tt.path, hdr...)
			if r.status != tt.want {
				t.Errorf("GET %s = %d %.100q; want %d", tt.path, r.status, r.body, tt.want)
			}
			if tt.api && !strings.Contains(r.body, `"unknown_tenant"`) {
				t.Errorf("GET %s (API) body = %q; want JSON error unknown_tenant", tt.path, r.body)
			}
			for id, n := range tt.wantLookups {
				if got := ta.lookupsOf(id); got != n {
					t.Errorf("lookups of %q = %d; want %d", id, got, n)
				}
			}
		})
	}
}

func TestTenantsSingleFlightAndBound(t *testing.T) {
	var lookups atomic.Int64
	release := make(chan struct{})
	router, err := New(Config{
		Lookup: func(ctx context.Context, id string) (oktasso.Config, error) {
			lookups.Add(1)
			<-release
			return oktasso.Config{
				Issuer:     "https://" + id + ".okta.com",
				Logger:     quietLogger(),
				BaseURL:    "https://app.example",
				HTTPClient: &http.Client{Transport: offline{}},
				Client:     oktasso.ClientConfig{ID: "0oa" + id},
			}, nil
		},
		Max:         2,
		SessionKeys: []oktasso.Secret{key1},
		Logger:      quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	auths := make([]*oktasso.Auth, 20)
	for i := range auths {
		wg.Go(func() { auths[i], _ = router.Auth(ctx, "acme") })
	}
	// A waiter that gives up does not disturb the others.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := router.Auth(cctx, "acme"); !errors.Is(err, context.Canceled) {
		t.Errorf("Auth with a cancelled context = %v; want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	for i, a := range auths {
		if a == nil || a != auths[0] {
			t.Fatalf("Auth #%d = %p; want the one Auth %p", i, a, auths[0])
		}
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("20 concurrent first requests made %d lookups; want 1", n)
	}
	if got := auths[0].Config().Session.CookieName; got != "oktasso_acme" {
		t.Errorf("CookieName = %q; want oktasso_acme", got)
	}
	// Beyond Max, the least recently used tenant is dropped.
	for _, id := range []string{"b1", "acme", "c1", "acme"} {
		router.Auth(ctx, id)
	}
	if n := lookups.Load(); n != 3 {
		t.Errorf("lookups after b1, acme, c1, acme = %d; want 3 (acme kept as recently used)", n)
	}
	router.Auth(ctx, "b1")
	if n := lookups.Load(); n != 4 {
		t.Errorf("lookups after b1 again = %d; want 4 (b1 was dropped)", n)
	}
	router.Forget("acme")
	if a, _ := router.Auth(ctx, "acme"); a == auths[0] || lookups.Load() != 5 {
		t.Errorf("after Forget, Auth(acme) = the old Auth or no lookup (%d lookups)", lookups.Load())
	}
}

// TestTenantsMadeUpIDs: requests for made-up tenant ids neither push ready
// tenants out of the LRU nor run Lookup again and again.
func TestTenantsMadeUpIDs(t *testing.T) {
	var lookups atomic.Int64
	router, err := New(Config{
		Lookup: func(ctx context.Context, id string) (oktasso.Config, error) {
			lookups.Add(1)
			if id != "acme" && id != "beta" {
				return oktasso.Config{}, ErrUnknown
			}
			return oktasso.Config{
				Issuer:     "https://" + id + ".okta.com",
				Logger:     quietLogger(),
				BaseURL:    "https://app.example",
				HTTPClient: &http.Client{Transport: offline{}},
				Client:     oktasso.ClientConfig{ID: "0oa" + id},
			}, nil
		},
		Max:         2,
		SessionKeys: []oktasso.Secret{key1},
		Logger:      quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acme, _ := router.Auth(ctx, "acme")
	router.Auth(ctx, "beta")
	for i := range 50 {
		if _, err := router.Auth(ctx, "nope"+strconv.Itoa(i%5)); !errors.Is(err, ErrUnknown) {
			t.Fatalf("made-up id: err = %v; want ErrUnknown", err)
		}
	}
	if a, _ := router.Auth(ctx, "acme"); a != acme {
		t.Fatal("made-up ids pushed acme out: a new Auth was built")
	}
	if n := lookups.Load(); n != 2+5 {
		t.Fatalf("lookups = %d; want 7 (acme, beta, and each made-up id once)", n)
	}
}

func TestTenantsExplicitID(t *testing.T) {
	ta := newTenantApp(t, false, false)
	// The default Select reads the id that middleware put in the context.
	router, err := New(Config{Lookup: func(ctx context.Context, id string) (oktasso.Config, error) {
		return ta.auth(id).Config(), nil
	}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	h := router.Workspace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tt := range []struct {
		id   string
		want int
	}{{"", 404}, {"b", 302}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/workspace", nil)
		if tt.id != "" {
			req = req.WithContext(WithID(req.Context(), tt.id))
		}
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want || (tt.want == 302 && !strings.HasPrefix(rec.Header().Get("Location"), ta.base[tt.id])) {
			t.Errorf("tenant %q: %d to %q; want %d", tt.id, rec.Code, rec.Header().Get("Location"), tt.want)
		}
	}
	if _, err := New(Config{SessionKeys: []oktasso.Secret{"short"}}); err == nil || !strings.Contains(err.Error(), "Lookup") || !strings.Contains(err.Error(), "SessionKeys") {
		t.Errorf("New(no Lookup, short key) = %v; want both problems", err)
	}
}

func TestWithoutBase(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"/t/a/workspace", "/workspace"}, {"/t/a", "/"}, {"/t/a/", "/"}, {"/t/ab/workspace", ""}, {"/x/t/a/workspace", ""},
		{"/t/a/dir/", "/dir/"},
		// Unclean paths would be redirected by the routes inside to a
		// cleaned path outside the tenant: not ours.
		{"/t/a/x/../auth/callback", ""}, {"/t/a//auth/login", ""}, {"/t/a/./auth/login", ""},
	} {
		r := withoutBase(httptest.NewRequest("GET", tt.path, nil), "/t/a")
		got := ""
		if r != nil {
			got = r.URL.Path
		}
		if got != tt.want {
			t.Errorf("withoutBase(%q) = %q; want %q", tt.path, got, tt.want)
		}
	}
}

// accepted reports whether oktasso.New accepts cfg, completed into a
// Config that needs no I/O.
func accepted(t testing.TB, cfg oktasso.Config) bool {
	t.Helper()
	cfg.Issuer, cfg.Client.ID, cfg.BaseURL = "https://dev-1.okta.com", "0oa1", "https://app.example"
	cfg.Logger, cfg.HTTPClient = quietLogger(), &http.Client{Transport: offline{}}
	if cfg.Session.Keys == nil {
		cfg.Session.Keys = []oktasso.Secret{key1}
	}
	_, err := oktasso.New(context.Background(), cfg)
	return err == nil
}

// TestSessionKeyMinimum: New refuses the session keys that oktasso.New
// refuses, and accepts the others.
func TestSessionKeyMinimum(t *testing.T) {
	lookup := func(context.Context, string) (oktasso.Config, error) { return oktasso.Config{}, ErrUnknown }
	for _, n := range []int{minSessionKeyLen - 1, minSessionKeyLen} {
		keys := []oktasso.Secret{oktasso.Secret(strings.Repeat("k", n))}
		_, err := New(Config{Lookup: lookup, SessionKeys: keys})
		if root := accepted(t, oktasso.Config{Session: oktasso.SessionConfig{Keys: keys}}); (err == nil) != root {
			t.Errorf("New(a %d-byte key) = %v; oktasso.New accepts it: %v", n, err, root)
		}
	}
}

func TestTenantCookieName(t *testing.T) {
	seen := map[string]string{}
	for _, tt := range []struct{ id, want string }{
		{"acme", "oktasso_acme"}, {"Acme2", "oktasso_Acme2"}, {"acme-1", ""}, {"acme_1", ""}, {"a.b", ""}, {strings.Repeat("x", 41), ""},
		// An id spelling another id's digest name gets a name of its own.
		{"_" + cookieName("acme-1")[len("oktasso__"):], ""}, {cookieName("acme-1")[len("oktasso__"):], ""},
	} {
		got := cookieName(tt.id)
		if (tt.want != "" && got != tt.want) || !accepted(t, oktasso.Config{Session: oktasso.SessionConfig{CookieName: got}}) || strings.Contains(strings.TrimPrefix(got, "oktasso_"), "-") {
			t.Errorf("cookieName(%q) = %q; want %q or a digest name without -, that oktasso.New accepts", tt.id, got, tt.want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("cookieName(%q) = cookieName(%q) = %q", tt.id, other, got)
		}
		seen[got] = tt.id
	}
}

func TestTenantsInitiateLogin(t *testing.T) {
	ta := newTenantApp(t, true, false)
	b := newJarBrowser(t, ta.app.URL)
	ta.fake["a"].AutoLogin(alice)
	q := url.Values{"iss": {ta.fake["a"].Issuer()}, "target_link_uri": {ta.base["a"] + "/webapp"}}
	if r := b.follow(ta.base["a"] + "/auth/initiate-login" + "?" + q.Encode()); r.body != "tenant:a user:"+alice+" path:/webapp" {
		t.Errorf("dashboard tile of org a = %d %q; want a signed in at /webapp", r.status, r.body)
	}
	// Org a's tile does not start a sign-in at tenant b.
	if r := b.get(ta.base["b"] + "/auth/initiate-login" + "?" + q.Encode()); r.status != http.StatusBadRequest {
		t.Errorf("org a's tile at tenant b = %d; want 400", r.status)
	}
}

// TestTenantsSharedOrgLogoutStaysInTenant: two tenants on one org and
// client, one shared store: a logout token delivered to tenant a ends a's
// sessions only.
func TestTenantsSharedOrgLogoutStaysInTenant(t *testing.T) {
	ta := newTenantApp(t, true, true)
	b := ta.signInBoth(alice)
	ta.fake["a"].SendBackchannelLogout(true) // Okta sends none; other providers do
	ta.fake["a"].EndSession(alice)           // the org's client delivers to tenant a's URI
	if r := b.get(ta.base["a"] + "/workspace"); r.status != http.StatusFound {
		t.Errorf("a after the logout = %d; want 302", r.status)
	}
	if r := b.get(ta.base["b"] + "/webapp"); r.body != "tenant:b user:"+alice+" path:/webapp" {
		t.Errorf("b after a's logout token = %d %q; want still signed in", r.status, r.body)
	}
}
