package oktasso

import (
	"context"
	"errors"
	"fmt"
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

	"github.com/oktasso/oktasso/oktatest"
)

// tenantApp is one application serving tenants "a" and "b", each signing in
// at a fake Okta org of its own (or, shared, both at org "a" with the same
// client and session keys).
type tenantApp struct {
	t       *testing.T
	app     *httptest.Server
	tenants *Tenants
	base    map[string]string // tenant → BaseURL
	fake    map[string]*oktatest.Server
	mu      sync.Mutex
	lookups map[string]int
	calls   map[string]*atomic.Int64 // requests from the app to each org
}

// countingTransport counts the requests it forwards whose path ends with
// suffix ("" counts them all).
type countingTransport struct {
	n      *atomic.Int64
	next   http.RoundTripper
	suffix string
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, c.suffix) {
		c.n.Add(1)
	}
	return c.next.RoundTrip(r)
}

// offline is a transport for Auths whose provider must not be reached.
type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("offline")
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
		uris = append(uris, ta.base[id]+CallbackPath)
	}
	for _, id := range []string{"a", "b"} {
		if shared && id == "b" {
			continue
		}
		ta.fake[id].AddClient(oktatest.Client{ID: testClientID, Secret: "test-secret", RedirectURIs: uris, PostLogoutRedirectURIs: []string{ta.base[id] + logoutCallbackPath},
			BackchannelLogoutURI: ta.base[id] + backchannelLogoutPath})
	}
	if byPath { // tenant "gh" signs in with a plain OAuth 2.0 provider (org a's GitHub-like one)
		ta.base["gh"] = "http://127.0.0.1:" + port + "/t/gh"
		ta.fake["a"].AddClient(oktatest.Client{ID: "Iv1.gh", Secret: "gh-secret", AuthMethod: "client_secret_post", RedirectURIs: []string{ta.base["gh"] + CallbackPath}})
	}
	tenants, err := NewTenants(TenantsConfig{
		Select: func(r *http.Request) (string, bool) {
			if byPath {
				return ByPathPrefix("/t/")(r)
			}
			return ByHost(map[string]string{"127.0.0.1": "a", "localhost": "b"})(r)
		},
		Lookup: func(_ context.Context, id string) (Config, error) {
			ta.mu.Lock()
			ta.lookups[id]++
			ta.mu.Unlock()
			switch id {
			case "broken":
				return Config{}, errors.New("tenant database unavailable")
			case "gh":
				if gh := ta.base["gh"]; gh != "" {
					p := ta.fake["a"].PlainOAuth2()
					return Config{
						BaseURL:    gh,
						HTTPClient: ta.fake["a"].Client(),
						OAuth2:     &OAuth2Provider{Identity: "https://github.com", AuthURL: p.AuthURL, TokenURL: p.TokenURL, UserInfoURL: p.UserInfoURL, Mapping: ClaimMapping{Subject: "id"}},
						Client:     ClientConfig{ID: "Iv1.gh", Secret: "gh-secret", AuthMethod: ClientSecretPost},
					}, nil
				}
			}
			f, ok := ta.fake[id]
			if !ok {
				return Config{}, ErrUnknownTenant
			}
			return Config{
				Issuer:     f.Issuer(),
				BaseURL:    ta.base[id],
				HTTPClient: &http.Client{Transport: countingTransport{n: ta.calls[id], next: f.Client().Transport}},
				Client:     ClientConfig{ID: testClientID, Secret: "test-secret"},
				Access:     AccessConfig{Workspace: RequireGroups("Workspace Members")},
			}, nil
		},
		SessionKeys: []Secret{key1},
		Now:         clock.Now,
		Logger:      quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ta.tenants = tenants
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := "anonymous"
		if u := UserFrom(r.Context()); u != nil {
			email = u.Email
		}
		fmt.Fprintf(w, "tenant:%s user:%s path:%s", TenantFrom(r.Context()), email, r.URL.Path)
	})
	prefix := ""
	if byPath {
		prefix = "/t/{tenant}"
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/auth/", tenants.Handler())
	mux.Handle(prefix+"/workspace", tenants.Workspace(show))
	mux.Handle(prefix+"/webapp", tenants.WebApp(show))
	mux.Handle(prefix+"/{$}", tenants.Identify(show))
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

// auth returns tenant id's Auth.
func (ta *tenantApp) auth(id string) *Auth {
	a, err := ta.tenants.Auth(context.Background(), id)
	if err != nil {
		ta.t.Fatal(err)
	}
	return a
}

func TestTenantsByPath(t *testing.T) {
	ta := newTenantApp(t, true, false)
	b := newJarBrowser(t, ta.app.URL)

	r := b.get(ta.base["a"] + "/workspace")
	if want := ta.base["a"] + LoginPath + "?return_to=%2Fworkspace"; r.status != http.StatusFound || r.location != want {
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
	if want := ta.base["b"] + LoginPath + "?return_to=%2Fworkspace"; r.status != http.StatusFound || r.location != want {
		t.Errorf("GET /t/b/workspace with a's session = %d to %q; want 302 to %s", r.status, r.location, want)
	}
	if c := ta.calls["b"].Load(); c == 0 {
		t.Error("b's org was not discovered on b's first request")
	}

	// b's callback refuses a's state, before any token request.
	r = b.get(ta.base["a"] + LoginPath)
	stateA := mustURL(t, r.location).Query().Get("state")
	before := ta.fake["b"].TokenRequests()
	if r := b.get(ta.base["b"] + CallbackPath + "?" + url.Values{"state": {stateA}, "code": {"x"}}.Encode()); r.status != http.StatusBadRequest {
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
	if r := b.post(ta.base["a"]+LogoutPath, nil); r.status != http.StatusSeeOther {
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
			sess := ta.cookie(victim, "a", a.cookies.sessionName())
			if sess == nil {
				t.Fatal("no session cookie for a")
			}
			for _, name := range []string{a.cookies.sessionName(), bAuth.cookies.sessionName()} {
				for _, api := range []bool{false, true} {
					hdr := []string{"Cookie", name + "=" + sess.Value}
					want := http.StatusFound
					if api {
						hdr, want = append(hdr, "Accept", "application/json"), http.StatusUnauthorized
					}
					r := newJarBrowser(t, "").get(ta.base["b"]+"/workspace", hdr...)
					if r.status != want || (!api && !strings.HasPrefix(r.location, ta.base["b"]+LoginPath)) {
						t.Errorf("b with a's session as %s (api %v) = %d to %q; want %d to b's sign-in", name, api, r.status, r.location, want)
					}
				}
			}

			// a's flow, renamed for b, does not complete a sign-in at b.
			ta.fake["a"].AutoLogin(alice)
			attacker := newJarBrowser(t, "")
			r := attacker.get(ta.base["a"] + LoginPath)
			cb := attacker.get(r.location).location // a's callback URL with a's code and state
			state := mustURL(t, cb).Query().Get("state")
			flow := ta.cookie(attacker, "a", a.flowCookieName(state))
			if flow == nil {
				t.Fatal("no flow cookie for a")
			}
			q := mustURL(t, cb).RawQuery
			r = newJarBrowser(t, "").get(ta.base["b"]+CallbackPath+"?"+q, "Cookie", bAuth.flowCookieName(state)+"="+flow.Value)
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
	ta.fake["a"].EndSession(alice) // org a sends its logout token to tenant a
	ds := ta.fake["a"].BackchannelDeliveries()
	if len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Fatalf("org a's deliveries = %+v; want one, accepted by tenant a", ds)
	}
	if r := b.get(ta.base["a"] + "/workspace"); r.status != http.StatusFound {
		t.Errorf("a after its org's logout = %d; want 302", r.status)
	}
	// The same token, posted to tenant b, is refused and ends nothing there.
	if r := newJarBrowser(t, "").post(ta.base["b"]+backchannelLogoutPath, url.Values{"logout_token": {ds[0].LogoutToken}}); r.status != http.StatusBadRequest {
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
		{"overlong id", "/t/" + strings.Repeat("x", maxTenantIDLen+1) + "/workspace", false, 404, map[string]int{strings.Repeat("x", maxTenantIDLen+1): 0}},
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
	tenants, err := NewTenants(TenantsConfig{
		Lookup: func(ctx context.Context, id string) (Config, error) {
			lookups.Add(1)
			<-release
			return Config{
				Issuer:     "https://" + id + ".okta.com",
				Logger:     quietLogger(),
				BaseURL:    "https://app.example",
				HTTPClient: &http.Client{Transport: offline{}},
				Client:     ClientConfig{ID: "0oa" + id},
			}, nil
		},
		MaxTenants:  2,
		SessionKeys: []Secret{key1},
		Logger:      quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	auths := make([]*Auth, 20)
	for i := range auths {
		wg.Go(func() { auths[i], _ = tenants.Auth(ctx, "acme") })
	}
	// A waiter that gives up does not disturb the others.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tenants.Auth(cctx, "acme"); !errors.Is(err, context.Canceled) {
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
	// Beyond MaxTenants, the least recently used tenant is dropped.
	for _, id := range []string{"b1", "acme", "c1", "acme"} {
		tenants.Auth(ctx, id)
	}
	if n := lookups.Load(); n != 3 {
		t.Errorf("lookups after b1, acme, c1, acme = %d; want 3 (acme kept as recently used)", n)
	}
	tenants.Auth(ctx, "b1")
	if n := lookups.Load(); n != 4 {
		t.Errorf("lookups after b1 again = %d; want 4 (b1 was dropped)", n)
	}
	tenants.Forget("acme")
	if a, _ := tenants.Auth(ctx, "acme"); a == auths[0] || lookups.Load() != 5 {
		t.Errorf("after Forget, Auth(acme) = the old Auth or no lookup (%d lookups)", lookups.Load())
	}
}

// TestTenantsMadeUpIDs: requests for made-up tenant ids neither push ready
// tenants out of the LRU nor run Lookup again and again.
func TestTenantsMadeUpIDs(t *testing.T) {
	var lookups atomic.Int64
	tenants, err := NewTenants(TenantsConfig{
		Lookup: func(ctx context.Context, id string) (Config, error) {
			lookups.Add(1)
			if id != "acme" && id != "beta" {
				return Config{}, ErrUnknownTenant
			}
			return Config{
				Issuer:     "https://" + id + ".okta.com",
				Logger:     quietLogger(),
				BaseURL:    "https://app.example",
				HTTPClient: &http.Client{Transport: offline{}},
				Client:     ClientConfig{ID: "0oa" + id},
			}, nil
		},
		MaxTenants:  2,
		SessionKeys: []Secret{key1},
		Logger:      quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acme, _ := tenants.Auth(ctx, "acme")
	tenants.Auth(ctx, "beta")
	for i := range 50 {
		if _, err := tenants.Auth(ctx, "nope"+strconv.Itoa(i%5)); !errors.Is(err, ErrUnknownTenant) {
			t.Fatalf("made-up id: err = %v; want ErrUnknownTenant", err)
		}
	}
	if a, _ := tenants.Auth(ctx, "acme"); a != acme {
		t.Fatal("made-up ids pushed acme out: a new Auth was built")
	}
	if n := lookups.Load(); n != 2+5 {
		t.Fatalf("lookups = %d; want 7 (acme, beta, and each made-up id once)", n)
	}
}

func TestTenantsExplicitID(t *testing.T) {
	ta := newTenantApp(t, false, false)
	// The default Select reads the id that middleware put in the context.
	tenants, err := NewTenants(TenantsConfig{Lookup: func(ctx context.Context, id string) (Config, error) {
		return ta.auth(id).Config(), nil
	}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	h := tenants.Workspace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tt := range []struct {
		id   string
		want int
	}{{"", 404}, {"b", 302}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/workspace", nil)
		if tt.id != "" {
			req = req.WithContext(WithTenant(req.Context(), tt.id))
		}
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want || (tt.want == 302 && !strings.HasPrefix(rec.Header().Get("Location"), ta.base[tt.id])) {
			t.Errorf("tenant %q: %d to %q; want %d", tt.id, rec.Code, rec.Header().Get("Location"), tt.want)
		}
	}
	if _, err := NewTenants(TenantsConfig{SessionKeys: []Secret{"short"}}); err == nil || !strings.Contains(err.Error(), "Lookup") || !strings.Contains(err.Error(), "SessionKeys") {
		t.Errorf("NewTenants(no Lookup, short key) = %v; want both problems", err)
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

func TestTenantCookieName(t *testing.T) {
	seen := map[string]string{}
	for _, tt := range []struct{ id, want string }{
		{"acme", "oktasso_acme"}, {"Acme2", "oktasso_Acme2"}, {"acme-1", ""}, {"acme_1", ""}, {"a.b", ""}, {strings.Repeat("x", 41), ""},
		// An id spelling another id's digest name gets a name of its own.
		{"_" + tenantCookieName("acme-1")[len("oktasso__"):], ""}, {tenantCookieName("acme-1")[len("oktasso__"):], ""},
	} {
		got := tenantCookieName(tt.id)
		if (tt.want != "" && got != tt.want) || !cookieNameRE.MatchString(got) || strings.Contains(strings.TrimPrefix(got, "oktasso_"), "-") {
			t.Errorf("tenantCookieName(%q) = %q; want %q or a digest name without -", tt.id, got, tt.want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("tenantCookieName(%q) = tenantCookieName(%q) = %q", tt.id, other, got)
		}
		seen[got] = tt.id
	}
}

func TestCookieNameConfig(t *testing.T) {
	for _, tt := range []struct {
		name, cookieName, base, want, wantErr string
	}{
		{"default", "", "http://localhost:8080", "oktasso", ""},
		{"default https", "", "https://app.example", "__Host-oktasso", ""},
		{"own", "app_1", "http://localhost:8080", "app_1", ""},
		{"own https", "app_1", "https://app.example", "__Host-app_1", ""},
		{"prefix of its own", "__Secure-x", "https://app.example", "", "CookieName"},
		{"separator", "a;b", "https://app.example", "", "CookieName"},
		{"too long", strings.Repeat("c", 65), "https://app.example", "", "CookieName"},
		{"dash, the suffix separator", "foo-flow-x", "https://app.example", "", "CookieName"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(context.Background(), Config{
				Issuer:     "https://dev-1.okta.com",
				BaseURL:    tt.base,
				Logger:     quietLogger(),
				HTTPClient: &http.Client{Transport: offline{}},
				Client:     ClientConfig{ID: "0oa1"},
				Session:    SessionConfig{CookieName: tt.cookieName, Keys: []Secret{key1}},
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("New(CookieName %q) = %v; want an error naming %s", tt.cookieName, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.cookies.sessionName(); got != tt.want {
				t.Errorf("session cookie name = %q; want %q", got, tt.want)
			}
			if got := a.flowCookieName("s"); !strings.HasPrefix(got, tt.want+"-flow-") {
				t.Errorf("flow cookie name = %q; want the prefix %s-flow-", got, tt.want)
			}
		})
	}
}

func TestLocalTargetUnderBasePath(t *testing.T) {
	a, err := New(context.Background(), Config{
		Issuer:     "https://dev-1.okta.com",
		BaseURL:    "https://app.example/t/a",
		Logger:     quietLogger(),
		HTTPClient: &http.Client{Transport: offline{}},
		Client:     ClientConfig{ID: "0oa1"},
		Session:    SessionConfig{Keys: []Secret{key1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ target, want string }{
		{"https://app.example/t/a/workspace?x=1", "/workspace?x=1"},
		{"https://app.example/t/a", "/"},
		{"https://app.example/t/a/", "/"},
		{"https://app.example/t/b/workspace", "/"},
		{"https://app.example/t/ab/workspace", "/"},
		{"https://app.example/workspace", "/"},
		{"https://evil.example/t/a/workspace", "/"},
		{"/workspace", "/workspace"},
	} {
		if got := a.localTarget(tt.target); got != tt.want {
			t.Errorf("localTarget(%q) = %q; want %q", tt.target, got, tt.want)
		}
	}
}

func TestTenantsInitiateLogin(t *testing.T) {
	ta := newTenantApp(t, true, false)
	b := newJarBrowser(t, ta.app.URL)
	ta.fake["a"].AutoLogin(alice)
	q := url.Values{"iss": {ta.fake["a"].Issuer()}, "target_link_uri": {ta.base["a"] + "/webapp"}}
	if r := b.follow(ta.base["a"] + initiateLoginPath + "?" + q.Encode()); r.body != "tenant:a user:"+alice+" path:/webapp" {
		t.Errorf("dashboard tile of org a = %d %q; want a signed in at /webapp", r.status, r.body)
	}
	// Org a's tile does not start a sign-in at tenant b.
	if r := b.get(ta.base["b"] + initiateLoginPath + "?" + q.Encode()); r.status != http.StatusBadRequest {
		t.Errorf("org a's tile at tenant b = %d; want 400", r.status)
	}
}

// TestTenantsSharedOrgLogoutStaysInTenant: two tenants on one org and
// client, one shared store: a logout token delivered to tenant a ends a's
// sessions only.
func TestTenantsSharedOrgLogoutStaysInTenant(t *testing.T) {
	ta := newTenantApp(t, true, true)
	b := ta.signInBoth(alice)
	ta.fake["a"].EndSession(alice) // the org's client delivers to tenant a's URI
	if r := b.get(ta.base["a"] + "/workspace"); r.status != http.StatusFound {
		t.Errorf("a after the logout = %d; want 302", r.status)
	}
	if r := b.get(ta.base["b"] + "/webapp"); r.body != "tenant:b user:"+alice+" path:/webapp" {
		t.Errorf("b after a's logout token = %d %q; want still signed in", r.status, r.body)
	}
}
