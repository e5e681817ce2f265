package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// env is one running application with its fake Okta org.
type env struct {
	fake     *oktatest.Server
	app      *httptest.Server
	auth     *oktasso.Auth
	accounts *accountStore
}

// startFake starts a fake Okta org with the demo users.
func startFake(t testing.TB) *oktatest.Server {
	t.Helper()
	fake := oktatest.NewServer()
	t.Cleanup(fake.Close)
	fake.AddDemoUsers()
	return fake
}

// startApp starts the application against fake, wired exactly as dev mode
// wires it, on a real listener whose URL is the base URL.
func startApp(t testing.TB, fake *oktatest.Server) *env {
	t.Helper()
	return startAppWith(t, fake, nil)
}

// startAppWith is startApp with edit applied to the configuration.
func startAppWith(t testing.TB, fake *oktatest.Server, edit func(*oktasso.Config)) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + srv.Listener.Addr().String()
	cfg := devOktaConfig(fake, baseURL)
	cfg.Logger = slog.New(slog.DiscardHandler)
	if edit != nil {
		edit(&cfg)
	}
	accounts := newAccountStore(nil)
	h, auth, err := newApp(t.Context(), appConfig{OIDC: cfg, Accounts: accounts})
	if err != nil {
		t.Fatalf("newApp() error = %v", err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	if srv.URL != baseURL {
		t.Fatalf("httptest URL = %q; want %q", srv.URL, baseURL)
	}
	return &env{fake: fake, app: srv, auth: auth, accounts: accounts}
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return startApp(t, startFake(t))
}

// browser is a cookie-keeping HTTP client for both origins. follow follows
// redirects; step stops at the first response so that Location and
// Set-Cookie can be inspected. Both share one cookie jar.
type browser struct {
	t      testing.TB
	jar    http.CookieJar
	follow *http.Client
	step   *http.Client
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{
		t:      t,
		jar:    jar,
		follow: &http.Client{Jar: jar, Timeout: 10 * time.Second},
		step: &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
}

// response is what a test looks at.
type response struct {
	status int
	header http.Header
	body   string
	url    string // after redirects
}

func (b *browser) do(c *http.Client, req *http.Request) response {
	b.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body), url: resp.Request.URL.String()}
}

func (b *browser) request(method, target string, body io.Reader, header http.Header) *http.Request {
	b.t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return req
}

// get fetches target, following redirects.
func (b *browser) get(target string) response {
	b.t.Helper()
	return b.do(b.follow, b.request(http.MethodGet, target, nil, nil))
}

// getStep fetches target without following a redirect.
func (b *browser) getStep(target string, header http.Header) response {
	b.t.Helper()
	return b.do(b.step, b.request(http.MethodGet, target, nil, header))
}

// signIn signs login in through the whole flow (the fake signs them in at
// once) and returns the page the browser lands on.
func (b *browser) signIn(e *env, login, returnTo string) response {
	b.t.Helper()
	e.fake.AutoLogin(login)
	return b.get(e.app.URL + "/auth/login?return_to=" + url.QueryEscape(returnTo))
}

// sessionCookie returns the app's session cookie in the jar, or nil.
func (b *browser) sessionCookie(e *env) *http.Cookie {
	u, _ := url.Parse(e.app.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "oktasso" {
			return c
		}
	}
	return nil
}

// wantLoginRedirect checks that r sends the browser to sign in and come back
// to returnTo.
func wantLoginRedirect(t testing.TB, e *env, r response, returnTo string) {
	t.Helper()
	want := e.app.URL + "/auth/login?return_to=" + url.QueryEscape(returnTo)
	if r.status != http.StatusFound || r.header.Get("Location") != want {
		t.Fatalf("GET %s = %d, Location %q; want 302, Location %q", returnTo, r.status, r.header.Get("Location"), want)
	}
}

func wantLanding(t testing.TB, r response, wantURL string, wantBody ...string) {
	t.Helper()
	if r.status != http.StatusOK || r.url != wantURL {
		t.Fatalf("landed on %s with %d; want %s with 200\n%s", r.url, r.status, wantURL, r.body)
	}
	for _, s := range wantBody {
		if !strings.Contains(r.body, s) {
			t.Errorf("page %s does not contain %q\n%s", r.url, s, r.body)
		}
	}
}

func TestAnonymous(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantLogin  bool   // a redirect to sign in and back to path
		wantBody   string // substring, when wantLogin is false
	}{
		{name: "healthz", path: "/healthz", wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "landing page", path: "/", wantStatus: http.StatusOK, wantBody: `class="oktasso-login-button" href="` + e.auth.LoginURL("/workspace") + `"`},
		{name: "workspace", path: "/workspace", wantStatus: http.StatusFound, wantLogin: true},
		{name: "api without Accept", path: "/api/me", wantStatus: http.StatusFound, wantLogin: true},
		{name: "webapp", path: "/webapp", wantStatus: http.StatusFound, wantLogin: true},
		{name: "query kept", path: "/workspace?tab=users", wantStatus: http.StatusFound, wantLogin: true},
		{name: "unknown path", path: "/nope", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newBrowser(t).getStep(e.app.URL+tt.path, nil)
			if tt.wantLogin {
				wantLoginRedirect(t, e, r, tt.path)
				return
			}
			if r.status != tt.wantStatus {
				t.Fatalf("GET %s = %d; want %d", tt.path, r.status, tt.wantStatus)
			}
			if !strings.Contains(r.body, tt.wantBody) {
				t.Errorf("GET %s body = %q; want it to contain %q", tt.path, r.body, tt.wantBody)
			}
		})
	}
}

// TestProviderName: with OKTASSO_PROVIDER_NAME the example's pages, and
// oktasso's, name that provider instead of Okta.
func TestProviderName(t *testing.T) {
	t.Parallel()
	named, err := oktasso.ConfigFromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{"OKTA_ISSUER": "https://keycloak.example/realms/acme", "OKTA_CLIENT_ID": "app", "OKTASSO_PROVIDER_NAME": "Keycloak"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	e := startAppWith(t, startFake(t), func(c *oktasso.Config) { c.Pages = named.Pages })
	b := newBrowser(t)
	landing := b.get(e.app.URL + "/")
	wantLanding(t, landing, e.app.URL+"/", "This application signs people in with Keycloak.", ">Sign in with Keycloak</a>")
	r := b.signIn(e, "bob@partner.example", "/webapp")
	wantLanding(t, r, e.app.URL+"/webapp", "<dt>Keycloak username</dt>", "<dt>Signed in at Keycloak</dt>")
	if regexp.MustCompile(`\bOkta\b`).MatchString(landing.body + r.body) {
		t.Errorf("pages naming Keycloak still say Okta:\n%s\n%s", landing.body, r.body)
	}
	if got := providerName(nil); got != "Okta" {
		t.Errorf("providerName(nil) = %q; want Okta", got)
	}
}

func TestSignInCreatesAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	r := newBrowser(t).signIn(e, "alice@example.com", "/workspace")
	wantLanding(t, r, e.app.URL+"/workspace", "alice@example.com", "Alice Example", "Workspace Members", "Internal (workspace member)", "acct-0001")
	accounts := e.accounts.List()
	if len(accounts) != 1 {
		t.Fatalf("accounts after first sign-in = %d; want 1", len(accounts))
	}
	alice := accounts[0]
	if alice.Issuer != e.fake.Issuer() || !strings.HasPrefix(alice.Subject, "00u") || alice.Email != "alice@example.com" || alice.Logins != 1 {
		t.Errorf("account = %+v; want alice's, linked to the fake's issuer and her 00u subject, 1 sign-in", alice)
	}
	if !strings.Contains(r.body, alice.Subject) {
		t.Errorf("workspace page does not show alice's subject %q", alice.Subject)
	}

	// A second sign-in, from another browser, finds the same account.
	r = newBrowser(t).signIn(e, "alice@example.com", "/webapp")
	wantLanding(t, r, e.app.URL+"/webapp", "alice@example.com", "acct-0001")
	accounts = e.accounts.List()
	if len(accounts) != 1 || accounts[0].ID != alice.ID || accounts[0].Logins != 2 {
		t.Errorf("accounts after second sign-in = %+v; want only %s with 2 sign-ins", accounts, alice.ID)
	}
}

func TestExternalUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t)

	r := b.signIn(e, "bob@partner.example", "/webapp")
	wantLanding(t, r, e.app.URL+"/webapp", "bob@partner.example", "External", "Partners")

	r = b.getStep(e.app.URL+"/workspace", nil)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "Workspace members only") {
		t.Errorf("GET /workspace as bob = %d; want 403 with the \"Workspace members only\" page\n%s", r.status, r.body)
	}
	r = b.getStep(e.app.URL+"/webapp", nil)
	if r.status != http.StatusOK {
		t.Errorf("GET /webapp as bob = %d; want 200", r.status)
	}
	r = b.getStep(e.app.URL+"/", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "an external user") || !strings.Contains(r.body, `action="/auth/logout"`) {
		t.Errorf("GET / as bob = %d; want 200 naming him external, with a sign-out form\n%s", r.status, r.body)
	}
	if _, ok := e.accounts.Lookup(e.fake.Issuer(), accountFor(t, e, "bob@partner.example").Subject); !ok {
		t.Error("bob has no local account; external users get one too")
	}
}

// accountFor finds the local account whose email is email.
func accountFor(t testing.TB, e *env, email string) account {
	t.Helper()
	for _, a := range e.accounts.List() {
		if a.Email == email {
			return a
		}
	}
	t.Fatalf("no local account for %s", email)
	return account{}
}

func TestAPIClientWithoutSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		path   string
		header http.Header
	}{
		{"workspace json", "/workspace", http.Header{"Accept": {"application/json"}}},
		{"webapp json", "/webapp", http.Header{"Accept": {"application/json"}}},
		{"xhr", "/workspace", http.Header{"X-Requested-With": {"XMLHttpRequest"}}},
		{"fetch", "/webapp", http.Header{"Sec-Fetch-Mode": {"cors"}, "Sec-Fetch-Dest": {"empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newBrowser(t).getStep(e.app.URL+tt.path, tt.header)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("GET %s = %d; want 401", tt.path, r.status)
			}
			if loc := r.header.Get("Location"); loc != "" {
				t.Errorf("GET %s has Location %q; an API client must not be redirected", tt.path, loc)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q; want application/json", ct)
			}
			wantLogin := e.auth.LoginURL(tt.path)
			if wa := r.header.Get("WWW-Authenticate"); !strings.Contains(wa, wantLogin) {
				t.Errorf("WWW-Authenticate = %q; want it to name %q", wa, wantLogin)
			}
			var body struct {
				Error    string `json:"error"`
				LoginURL string `json:"login_url"`
			}
			if err := json.Unmarshal([]byte(r.body), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", r.body, err)
			}
			if body.Error != "login_required" || body.LoginURL != wantLogin {
				t.Errorf("body = %+v; want error login_required, login_url %q", body, wantLogin)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t)
	b.signIn(e, "alice@example.com", "/workspace")
	if b.sessionCookie(e) == nil {
		t.Fatal("no session cookie after sign-in")
	}

	// The sign-out form's POST: the session ends here and the browser goes
	// to Okta's end-session endpoint.
	post := b.request(http.MethodPost, e.app.URL+"/auth/logout", nil, http.Header{"Origin": {e.app.URL}})
	r := b.do(b.step, post)
	endSession, err := e.auth.Provider().Endpoint(t.Context(), "end_session_endpoint")
	if err != nil || endSession == "" {
		t.Fatalf("Endpoint(end_session_endpoint) = %q, %v; want the fake's end-session endpoint", endSession, err)
	}
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, endSession+"?") {
		t.Fatalf("POST /auth/logout = %d, Location %q; want 303 to %s", r.status, loc, endSession)
	}
	if b.sessionCookie(e) != nil {
		t.Error("session cookie still in the jar after POST /auth/logout")
	}

	// Okta ends its session and sends the browser back through the
	// post-logout callback to the landing page.
	var chain []string
	client := *b.follow
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		chain = append(chain, req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)
		return nil
	}
	r = b.do(&client, b.request(http.MethodGet, loc, nil, nil))
	wantChain := []string{e.app.URL + "/auth/logout/callback", e.app.URL + "/"}
	if strings.Join(chain, " ") != strings.Join(wantChain, " ") {
		t.Errorf("redirects after Okta's logout = %v; want %v", chain, wantChain)
	}
	wantLanding(t, r, e.app.URL+signedOutPath, "Sign in with Okta", "You are signed out.")

	wantLoginRedirect(t, e, b.getStep(e.app.URL+"/workspace", nil), "/workspace")
}

func TestLogoutRefusesCrossSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		header http.Header
	}{
		{"foreign origin", http.Header{"Origin": {"https://evil.example"}}},
		{"cross-site fetch metadata", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {e.app.URL}}},
		{"no origin at all", nil},
		{"null origin", http.Header{"Origin": {"null"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			b.signIn(e, "alice@example.com", "/workspace")
			r := b.do(b.step, b.request(http.MethodPost, e.app.URL+"/auth/logout", nil, tt.header))
			if r.status != http.StatusForbidden {
				t.Errorf("POST /auth/logout = %d; want 403", r.status)
			}
			if r := b.getStep(e.app.URL+"/workspace", nil); r.status != http.StatusOK {
				t.Errorf("GET /workspace after a refused sign-out = %d; want 200 (still signed in)", r.status)
			}
		})
	}
}

func TestTwoTabs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.AutoLogin("alice@example.com")
	b := newBrowser(t)

	// Both tabs start a sign-in before either finishes.
	var authorize []string
	for _, returnTo := range []string{"/workspace", "/webapp"} {
		r := b.getStep(e.app.URL+"/auth/login?return_to="+url.QueryEscape(returnTo), nil)
		if r.status != http.StatusFound {
			t.Fatalf("GET /auth/login = %d; want 302", r.status)
		}
		authorize = append(authorize, r.header.Get("Location"))
	}
	// They finish in reverse order.
	for i, want := range []string{"/webapp", "/workspace"} {
		r := b.get(authorize[len(authorize)-1-i])
		wantLanding(t, r, e.app.URL+want, "alice@example.com")
	}
}

func TestSignInForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.AutoLogin("")
	b := newBrowser(t)

	r := b.get(e.app.URL + "/auth/login?return_to=" + url.QueryEscape("/workspace"))
	if r.status != http.StatusOK || !strings.HasPrefix(r.url, e.fake.URL+oktatest.SignInPath) {
		t.Fatalf("sign-in landed on %s with %d; want the fake's form at %s", r.url, r.status, oktatest.SignInPath)
	}
	form := url.Values{
		"fromURI":  {formValue(t, r.body, "fromURI")},
		"token":    {formValue(t, r.body, "token")},
		"username": {"alice@example.com"},
		"password": {"alice-password"},
	}
	post := b.request(http.MethodPost, e.fake.URL+oktatest.SignInPath, strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Origin": {e.fake.URL}})
	r = b.do(b.follow, post)
	wantLanding(t, r, e.app.URL+"/workspace", "alice@example.com")
}

// formValue returns the value of the input named name in page.
func formValue(t testing.TB, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `"[^>]*\bvalue="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no input %q in the page\n%s", name, page)
	}
	return html.UnescapeString(m[1])
}

func TestTamperedSessionCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := newBrowser(t)
	good.signIn(e, "alice@example.com", "/workspace")
	ck := good.sessionCookie(e)
	if ck == nil {
		t.Fatal("no session cookie after sign-in")
	}
	v := ck.Value
	flip := func(i int) string {
		c := byte('A')
		if v[i] == 'A' {
			c = 'B'
		}
		return v[:i] + string(c) + v[i+1:]
	}
	tests := []struct {
		name  string
		value string
	}{
		{"one character changed", flip(len(v) / 2)},
		{"last character changed", flip(len(v) - 1)},
		{"truncated", v[:len(v)/2]},
		{"garbage", "not-a-session"},
		{"oversized", strings.Repeat("A", 5000)},
		{"another pipe-joined value", "1|2|3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			hdr := http.Header{"Cookie": {"oktasso=" + tt.value}}
			wantLoginRedirect(t, e, b.getStep(e.app.URL+"/workspace", hdr), "/workspace")
			r := b.getStep(e.app.URL+"/", hdr)
			if r.status != http.StatusOK || !strings.Contains(r.body, "Sign in with Okta") {
				t.Errorf("GET / with a bad cookie = %d; want 200, signed out", r.status)
			}
		})
	}
	// The untouched cookie still works.
	if r := good.getStep(e.app.URL+"/workspace", nil); r.status != http.StatusOK {
		t.Errorf("GET /workspace with the real cookie = %d; want 200", r.status)
	}
}

func TestProviderDown(t *testing.T) {
	t.Parallel()
	fake := startFake(t)
	fake.SetDown(true) // before the app's first discovery
	e := startApp(t, fake)
	b := newBrowser(t)

	r := b.getStep(e.app.URL+"/workspace", nil)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("GET /workspace while Okta is down = %d; want 503", r.status)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 3 {
		t.Fatalf("Retry-After = %q; want 1 to 3 seconds", r.header.Get("Retry-After"))
	}

	fake.SetDown(false)
	deadline := time.Now().Add(time.Duration(secs)*time.Second + 2*time.Second)
	for {
		r = b.getStep(e.app.URL+"/workspace", nil)
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantLoginRedirect(t, e, r, "/workspace")
}

func TestCallbackReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.AutoLogin("alice@example.com")
	tests := []struct {
		name string
		// keepFlowCookie sends the flow cookie again with the replay, as an
		// attacker who copied it would.
		keepFlowCookie bool
	}{
		{"same browser", false},
		{"flow cookie kept", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			r := b.getStep(e.app.URL+"/auth/login?return_to=%2Fworkspace", nil)
			var flowCookie string
			for _, c := range (&http.Response{Header: r.header}).Cookies() {
				if strings.HasPrefix(c.Name, "oktasso-flow-") {
					flowCookie = c.Name + "=" + c.Value
				}
			}
			r = b.getStep(r.header.Get("Location"), nil) // the fake's authorize
			callback := r.header.Get("Location")
			if !strings.HasPrefix(callback, e.app.URL+"/auth/callback?") {
				t.Fatalf("authorize redirected to %q; want the app's callback", callback)
			}
			r = b.getStep(callback, nil)
			if r.status != http.StatusFound || r.header.Get("Location") != e.app.URL+"/workspace" {
				t.Fatalf("GET callback = %d, Location %q; want 302 to /workspace", r.status, r.header.Get("Location"))
			}

			tokens := e.fake.TokenRequests()
			var hdr http.Header
			if tt.keepFlowCookie {
				hdr = http.Header{"Cookie": {flowCookie}}
			}
			r = b.getStep(callback, hdr)
			if r.status != http.StatusBadRequest {
				t.Errorf("replayed callback = %d; want 400", r.status)
			}
			if got := e.fake.TokenRequests(); got != tokens {
				t.Errorf("token requests after the replay = %d; want %d (no code exchange)", got, tokens)
			}
		})
	}
}

// syncBuffer is an io.Writer that a test may read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunDevMode(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ADDR": "127.0.0.1:0", "OKTASSO_DEV_OKTA_ADDR": "127.0.0.1:0", "OKTASSO_DEV_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, &out) }()

	appLine := regexp.MustCompile(`app: +(http://127\.0\.0\.1:[0-9]+)\n`)
	var appURL string
	for deadline := time.Now().Add(5 * time.Second); appURL == "" && time.Now().Before(deadline); {
		if m := appLine.FindStringSubmatch(out.String()); m != nil {
			appURL = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run() returned early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if appURL == "" {
		t.Fatalf("run() printed no app URL\n%s", out.String())
	}
	for _, want := range []string{"fake Okta: http://127.0.0.1:", "alice@example.com / alice-password", "bob@partner.example / bob-password"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not contain %q\n%s", want, out.String())
		}
	}

	// The server may print the banner a moment before it accepts; it is
	// already listening, so the first request succeeds.
	b := newBrowser(t)
	if r := b.getStep(appURL+"/healthz", nil); r.status != http.StatusOK || r.body != "ok" {
		t.Errorf("GET /healthz = %d %q; want 200 \"ok\"", r.status, r.body)
	}
	// Dev mode signs in against its own fake Okta through the form.
	r := b.get(appURL + "/auth/login?return_to=%2Fworkspace")
	if r.status != http.StatusOK || !strings.Contains(r.body, "alice-password") {
		t.Errorf("dev-mode sign-in landed on %s with %d; want the fake's form listing the demo users", r.url, r.status)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() after cancel = %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run() did not return after cancel")
	}
}

// TestRunInvalidEnvironment checks that a bad Okta environment stops the
// app with errors naming the variables.
func TestRunInvalidEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"OKTA_DOMAIN":                  "dev-123.okta.com",
		"OKTASSO_SESSION_IDLE_TIMEOUT": "forever",
		"ADDR":                         "127.0.0.1:0",
	}
	var out syncBuffer
	err := run(t.Context(), nil, func(k string) string { return env[k] }, &out)
	if err == nil {
		t.Fatal("run() with an incomplete environment = nil; want the configuration errors")
	}
	for _, want := range []string{"OKTA_CLIENT_ID", "OKTASSO_SESSION_IDLE_TIMEOUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run() error = %q; want it to name %s", err, want)
		}
	}
}

func TestAPIMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name       string
		login      string // "" for no session
		wantStatus int
		wantBody   string
	}{
		{"member", "alice@example.com", http.StatusOK, `"email":"alice@example.com","name":"Alice Example","internal":true}`},
		{"external user", "bob@partner.example", http.StatusForbidden, `"error":"access_denied"`},
		{"no session", "", http.StatusUnauthorized, `"error":"login_required"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			if tt.login != "" {
				b.signIn(e, tt.login, "/")
			}
			r := b.getStep(e.app.URL+"/api/me", http.Header{"Accept": {"application/json"}})
			if r.status != tt.wantStatus || !strings.Contains(r.body, tt.wantBody) {
				t.Errorf("GET /api/me = %d %q; want %d with %s", r.status, r.body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}
