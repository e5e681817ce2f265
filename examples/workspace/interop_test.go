package main

// Interop tests: the example app, driven by headless Chromium, signs in
// with two independent, certified OpenID providers run as real processes on
// loopback, through each provider's own sign-in pages:
//
//   - panva's oidc-provider (npm), started by testdata/interop/oidc-provider.mjs
//     with three clients: rs256 and es256 (confidential, ID tokens signed
//     with RS256 and ES256) and public (PKCE, no secret); back-channel
//     logout, RP-initiated logout, refresh tokens (offline_access with
//     prompt=consent) and a groups claim;
//   - zitadel's example OP (github.com/zitadel/oidc/v3/example/server), whose
//     issuer ends in "/": http://localhost:PORT/. It has fixed users and
//     clients and no groups claim, so everyone is a non-member there;
//     its clients register no post-logout redirect URI and it has no
//     back-channel logout, so RP-initiated logout with return, back-channel
//     logout and group membership are covered with oidc-provider only.
//
// Where the providers are:
//
//	OKTASSO_OIDC_PROVIDER_DIR  a directory where `npm install oidc-provider` ran
//	OKTASSO_ZITADEL_OP         the binary `go install github.com/zitadel/oidc/v3/example/server@v3.52.0` built
//	OKTASSO_NODE               node (default: node in PATH)
//
// .ci/run installs both and sets these. A test whose provider is missing
// skips, or fails with OKTASSO_REQUIRE_INTEGRATION=1.

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/audit"
)

const (
	envOIDCProviderDir = "OKTASSO_OIDC_PROVIDER_DIR"
	envZitadelOP       = "OKTASSO_ZITADEL_OP"
	envNode            = "OKTASSO_NODE"
	providerStartWait  = 20 * time.Second
	interopGroup       = "Workspace Members"
)

// missingProvider skips t, or fails it under OKTASSO_REQUIRE_INTEGRATION=1.
func missingProvider(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(envRequireIntegration) == "1" {
		t.Fatalf("%s; %s=1 requires it", msg, envRequireIntegration)
	}
	t.Skip(msg)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProcess runs cmd until the test ends and keeps its output for a
// failing test's log.
func startProcess(t *testing.T, name string, cmd *exec.Cmd) io.Reader {
	t.Helper()
	out := &syncBuffer{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, lastLines(out.String(), 40))
		}
	})
	return stdout
}

// waitForDiscovery polls the issuer's discovery document until it answers.
func waitForDiscovery(t *testing.T, issuer string) {
	t.Helper()
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	deadline := time.Now().Add(providerStartWait)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider at %s did not answer discovery in %v (last error %v)", issuer, providerStartWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startOIDCProvider starts panva's oidc-provider for the app at appURL and
// returns its issuer.
func startOIDCProvider(t *testing.T, appURL string) string {
	t.Helper()
	dir := os.Getenv(envOIDCProviderDir)
	if dir == "" {
		missingProvider(t, "%s is not set: no oidc-provider to test against (npm install oidc-provider in a directory, then set it)", envOIDCProviderDir)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missingProvider(t, "%s=%s holds no node_modules/oidc-provider: %v", envOIDCProviderDir, dir, err)
	}
	node := os.Getenv(envNode)
	if node == "" {
		node = "node"
	}
	nodePath, err := exec.LookPath(node)
	if err != nil {
		missingProvider(t, "no node to run oidc-provider: %v", err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "interop", "oidc-provider.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(nodePath, script)
	cmd.Env = append(os.Environ(), "OIDC_PROVIDER_DIR="+dir, "PORT="+strconv.Itoa(port), "APP_URL="+appURL)
	stdout := startProcess(t, "oidc-provider", cmd)
	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if iss, ok := strings.CutPrefix(line, "listening "); ok {
				issuer <- iss
			}
			oidcProviderLines.add(line)
		}
	}()
	select {
	case iss := <-issuer:
		return iss
	case <-time.After(providerStartWait):
		t.Fatalf("oidc-provider did not start in %v", providerStartWait)
		return ""
	}
}

// startZitadel starts zitadel's example OP for the app at appURL and
// returns its issuer, which ends in "/".
func startZitadel(t *testing.T, appURL string) string {
	t.Helper()
	bin := os.Getenv(envZitadelOP)
	if bin == "" {
		missingProvider(t, "%s is not set: no zitadel example OP to test against (go install github.com/zitadel/oidc/v3/example/server@v3.52.0, then set it to the binary)", envZitadelOP)
	}
	if _, err := os.Stat(bin); err != nil {
		missingProvider(t, "%s=%s: %v", envZitadelOP, bin, err)
	}
	port := strconv.Itoa(freePort(t))
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+port, "REDIRECT_URI="+appURL+oktasso.CallbackPath)
	startProcess(t, "zitadel example OP", cmd)
	issuer := "http://localhost:" + port + "/"
	waitForDiscovery(t, issuer)
	return issuer
}

// interopApp is the example app signed in with a real provider.
type interopApp struct {
	*env
	issuer string
	mu     sync.Mutex
	events []audit.Event
}

func (a *interopApp) allEvents() []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Event(nil), a.events...)
}

// countEvents returns how many audit events named name the app emitted.
func (a *interopApp) countEvents(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, ev := range a.events {
		if ev.Name == name {
			n++
		}
	}
	return n
}

// startInteropApp starts the example app configured, as in production, by
// environment variables (vars plus the issuer and base URL) against the
// provider start starts for the app's URL.
func startInteropApp(t *testing.T, start func(*testing.T, string) string, vars map[string]string, edit func(*oktasso.Config)) *interopApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close) // also when the provider is missing and the test skips
	appURL := "http://" + srv.Listener.Addr().String()
	a := &interopApp{issuer: start(t, appURL)}
	all := map[string]string{
		"OKTA_ISSUER":      a.issuer,
		"OKTASSO_BASE_URL": appURL,
	}
	for k, v := range vars {
		all[k] = v
	}
	cfg, err := oktasso.ConfigFromLookup(func(k string) (string, bool) { v, ok := all[k]; return v, ok })
	if err != nil {
		t.Fatalf("ConfigFromLookup() error = %v", err)
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Hooks.OnEvent = func(ev audit.Event) {
		a.mu.Lock()
		a.events = append(a.events, ev)
		a.mu.Unlock()
	}
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
	a.env = &env{app: srv, auth: auth, accounts: accounts}
	return a
}

// click clicks the element sel and returns the status of the page the
// browser lands on.
func (b *tab) click(sel string) int64 {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		loc, text := b.page()
		b.t.Fatalf("waiting for %s on %s: %v\n%s", sel, loc, err, text)
	}
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
	return resp.Status
}

// typeInto types value into the input sel.
func (b *tab) typeInto(sel, value string) {
	b.t.Helper()
	b.do("typing into "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// wantOn checks that the tab is on a page whose URL starts with prefix.
func (b *tab) wantOn(prefix string) {
	b.t.Helper()
	if loc, text := b.page(); !strings.HasPrefix(loc, prefix) {
		b.t.Fatalf("tab is on %s; want a page under %s\n%s", loc, prefix, text)
	}
}

// oidcProviderSignIn signs in as login on oidc-provider's development
// sign-in page, then grants the consent it asks for (offline_access), and
// returns the status of the page the browser lands on.
func (b *tab) oidcProviderSignIn(issuer, login string) int64 {
	b.t.Helper()
	b.wantOn(issuer + "/interaction/")
	b.typeInto(`input[name=login]`, login)
	b.typeInto(`input[name=password]`, "any-password")
	status := b.click(`button[type=submit]`)
	if loc, _ := b.page(); strings.HasPrefix(loc, issuer+"/interaction/") {
		status = b.click(`button[type=submit]`) // the consent page: Continue
	}
	return status
}

// zitadelSignIn signs in on zitadel's example login page.
func (b *tab) zitadelSignIn(issuer, username, password string) int64 {
	b.t.Helper()
	b.wantOn(issuer + "login/")
	b.typeInto(`#username`, username)
	b.typeInto(`#password`, password)
	return b.click(`button[type=submit]`)
}

func oidcProviderVars(client string) map[string]string {
	v := map[string]string{
		"OKTA_CLIENT_ID":           client,
		"OKTASSO_WORKSPACE_GROUPS": interopGroup,
		"OKTASSO_PROVIDER_NAME":    "oidc-provider",
		"OKTASSO_SCOPES":           "openid profile email offline_access",
		"OKTASSO_PROMPT":           "consent",
	}
	if client != "public" {
		v["OKTA_CLIENT_SECRET"] = client + "-secret-for-tests-only"
	}
	return v
}

// TestInteropOIDCProvider: with oidc-provider's RS256 client, alice (a
// member) signs in through the provider's pages and gets the workspace and
// the web app; her session refreshes its tokens with the refresh token;
// RP-initiated logout ends her session at the provider and returns her to
// the app.
func TestInteropOIDCProvider(t *testing.T) {
	t.Parallel()
	var ahead atomic.Int64
	ahead.Store(int64(6 * time.Minute))
	a := startInteropApp(t, startOIDCProvider, oidcProviderVars("rs256"), func(c *oktasso.Config) {
		// The app's clock runs 6 minutes ahead (the provider's ID tokens
		// still verify); after the sign-in it moves 6 more, past the
		// refresh margin of the provider's 10-minute access tokens (5
		// minutes, or half a shorter token's life), so the next request
		// refreshes.
		c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	b := newBrowserTab(t)

	b.navigate(a.app.URL + "/workspace")
	if status := b.oidcProviderSignIn(a.issuer, "alice"); status != http.StatusOK {
		t.Fatalf("signing in landed with %d; want 200", status)
	}
	b.wantPage(a.app.URL+"/workspace", "alice@example.com", "Internal (workspace member)")
	if n := a.countEvents(audit.EventLogin); n != 1 {
		t.Errorf("%s events = %d; want 1", audit.EventLogin, n)
	}
	ahead.Add(int64(6 * time.Minute)) // the access token is due for a refresh
	if status := b.navigate(a.app.URL + "/webapp"); status != http.StatusOK {
		t.Errorf("GET /webapp = %d; want 200", status)
	}
	b.wantPage(a.app.URL+"/webapp", "alice@example.com")
	if n := a.countEvents(audit.EventRefresh); n == 0 {
		t.Errorf("no %s event: the session did not refresh its tokens with the provider", audit.EventRefresh)
	}
	if n := a.countEvents(audit.EventRefreshFailed); n != 0 {
		t.Errorf("%s events = %d; want 0", audit.EventRefreshFailed, n)
	}

	// RP-initiated logout: the app's confirmation, then the provider's.
	b.navigate(a.app.URL + oktasso.LogoutPath)
	b.click("main button[type=submit]")
	b.wantOn(a.issuer + "/session/end")
	if status := b.click(`button[name=logout][value=yes]`); status != http.StatusOK {
		t.Fatalf("signing out at the provider landed with %d; want 200", status)
	}
	b.wantPage(a.app.URL + "/")
	if ck := b.appCookie(a.env, "oktasso"); ck != nil {
		t.Errorf("session cookie %q still in the browser after sign-out", ck.Name)
	}
	// The provider's session is over too: the workspace asks for a sign-in.
	b.navigate(a.app.URL + "/workspace")
	b.wantOn(a.issuer + "/interaction/")
}

// TestInteropOIDCProviderBackchannelLogout: alice signs out at the
// provider, not at the app; the provider's back-channel logout ends her
// app session, and the cookie still in her browser no longer signs her in.
func TestInteropOIDCProviderBackchannelLogout(t *testing.T) {
	t.Parallel()
	a := startInteropApp(t, startOIDCProvider, oidcProviderVars("rs256"), nil)
	b := newBrowserTab(t)

	b.navigate(a.app.URL + "/workspace")
	b.oidcProviderSignIn(a.issuer, "alice")
	b.wantPage(a.app.URL+"/workspace", "alice@example.com")
	old := b.appCookie(a.env, "oktasso")
	if old == nil {
		t.Fatal("no session cookie after sign-in")
	}

	// The same cookie, replayed outside the browser, signs in before the
	// logout.
	if status := getWithCookie(t, a.app.URL+"/workspace", old); status != http.StatusOK {
		t.Fatalf("GET /workspace with the session cookie = %d; want 200", status)
	}

	b.navigate(a.issuer + "/session/end")
	b.click(`button[name=logout][value=yes]`)
	deadline := time.Now().Add(10 * time.Second)
	for a.countEvents(audit.EventBackchannelLogout) == 0 {
		if time.Now().After(deadline) {
			loc, text := b.page()
			t.Fatalf("no %s event 10 s after signing out at the provider (events %+v; tab on %s: %s)", audit.EventBackchannelLogout, a.allEvents(), loc, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ck := b.appCookie(a.env, "oktasso"); ck == nil || ck.Value != old.Value {
		t.Fatal("the browser's session cookie changed; the test needs the old one")
	}

	// The old cookie, replayed outside the browser, no longer signs in.
	if status := getWithCookie(t, a.app.URL+"/workspace", old); status == http.StatusOK {
		t.Errorf("GET /workspace with the old cookie = %d after the back-channel logout; want a redirect to sign in", status)
	}
	// And in the browser, the workspace asks for a sign-in.
	b.navigate(a.app.URL + "/workspace")
	b.wantOn(a.issuer + "/interaction/")
}

// getWithCookie GETs target with only the cookie ck, following no
// redirect, and returns the status.
func getWithCookie(t *testing.T, target string, ck *network.Cookie) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestInteropOIDCProviderES256: with the client whose ID tokens are signed
// with ES256, bob (not a member) signs in, gets the web app and is refused
// the workspace with a 403.
func TestInteropOIDCProviderES256(t *testing.T) {
	t.Parallel()
	a := startInteropApp(t, startOIDCProvider, oidcProviderVars("es256"), nil)
	if got := a.auth.Config().Issuer; got != a.issuer {
		t.Fatalf("issuer = %q; want %q", got, a.issuer)
	}
	b := newBrowserTab(t)

	b.navigate(a.app.URL + "/webapp")
	if status := b.oidcProviderSignIn(a.issuer, "bob"); status != http.StatusOK {
		t.Fatalf("signing in landed with %d; want 200", status)
	}
	b.wantPage(a.app.URL+"/webapp", "bob@example.com")
	if status := b.navigate(a.app.URL + "/workspace"); status != http.StatusForbidden {
		t.Errorf("GET /workspace as a non-member = %d; want 403", status)
	}
	// The ID token was signed with ES256.
	if alg := es256ClientIDTokenAlg(t); alg != "ES256" {
		t.Errorf("ID token alg = %q; want ES256", alg)
	}
}

// es256ClientIDTokenAlg returns the alg of the last ID token the provider
// issued to the es256 client at its token endpoint, from the line the
// provider prints for each: "id_token <client> <alg>". The provider prints
// it as it answers, so the line may come a moment after the sign-in.
func es256ClientIDTokenAlg(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		alg := ""
		for _, l := range oidcProviderLines.all() {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "id_token" && f[1] == "es256" {
				alg = f[2]
			}
		}
		if alg != "" || time.Now().After(deadline) {
			return alg
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lineLog keeps the lines the oidc-provider processes print. Every test's
// provider registers the same client IDs, but only the ES256 test signs in
// with the es256 client, so the lines about it are that test's.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

var oidcProviderLines lineLog

func (l *lineLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// TestInteropOIDCProviderPublicPKCE: the public client (no secret, PKCE)
// signs alice in to the workspace.
func TestInteropOIDCProviderPublicPKCE(t *testing.T) {
	t.Parallel()
	a := startInteropApp(t, startOIDCProvider, oidcProviderVars("public"), nil)
	if m := a.auth.Config().Client.AuthMethod; m != oktasso.ClientAuthNone {
		t.Fatalf("Client.AuthMethod = %q; want %q", m, oktasso.ClientAuthNone)
	}
	b := newBrowserTab(t)
	b.navigate(a.app.URL + "/workspace")
	if status := b.oidcProviderSignIn(a.issuer, "alice"); status != http.StatusOK {
		t.Fatalf("signing in landed with %d; want 200", status)
	}
	b.wantPage(a.app.URL+"/workspace", "alice@example.com", "Internal (workspace member)")
}

// TestInteropZitadel: against zitadel's example OP, whose issuer ends in
// "/", its test user signs in with the confidential "web" client, gets the
// web app and, having no groups claim, a 403 from the workspace; the
// session refreshes its tokens (offline_access, prompt=consent); signing
// out sends the browser to the provider's end_session endpoint.
func TestInteropZitadel(t *testing.T) {
	t.Parallel()
	var ahead atomic.Int64
	ahead.Store(int64(6 * time.Minute))
	a := startInteropApp(t, startZitadel, map[string]string{
		"OKTA_CLIENT_ID":           "web",
		"OKTA_CLIENT_SECRET":       "secret",
		"OKTASSO_WORKSPACE_GROUPS": interopGroup,
		"OKTASSO_PROVIDER_NAME":    "ZITADEL",
		"OKTASSO_SCOPES":           "openid profile email offline_access",
		"OKTASSO_PROMPT":           "consent",
	}, func(c *oktasso.Config) {
		// The app's clock runs 6 minutes ahead; after the sign-in it moves
		// 6 more, past the refresh margin of the provider's 5-minute access
		// tokens (half their life), so the next request refreshes.
		c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	if got := a.auth.Config().Issuer; got != a.issuer {
		t.Fatalf("issuer = %q; want %q (kept verbatim, trailing slash included)", got, a.issuer)
	}
	b := newBrowserTab(t)
	b.navigate(a.app.URL + "/webapp")
	if status := b.zitadelSignIn(a.issuer, "test-user@localhost", "verysecure"); status != http.StatusOK {
		t.Fatalf("signing in landed with %d; want 200", status)
	}
	b.wantPage(a.app.URL+"/webapp", "test-user@zitadel.ch")
	ahead.Add(int64(6 * time.Minute)) // the access token is due for a refresh
	if status := b.navigate(a.app.URL + "/workspace"); status != http.StatusForbidden {
		t.Errorf("GET /workspace without the group = %d; want 403", status)
	}
	if status := b.navigate(a.app.URL + "/webapp"); status != http.StatusOK {
		t.Errorf("GET /webapp = %d; want 200", status)
	}
	if n := a.countEvents(audit.EventRefresh); n == 0 {
		t.Errorf("no %s event: the session did not refresh its tokens with the provider (events %+v)", audit.EventRefresh, a.allEvents())
	}

	// RP-initiated logout reaches the provider's end_session endpoint with
	// the ID token as hint, and the app's session is over. The return
	// to the app is covered with oidc-provider: the example OP's clients
	// register no post-logout redirect URI, so it answers 400
	// "post_logout_redirect_uri invalid" to every return address.
	b.navigate(a.app.URL + oktasso.LogoutPath)
	b.click("main button[type=submit]")
	b.wantOn(a.issuer + "end_session?id_token_hint=")
	if ck := b.appCookie(a.env, "oktasso"); ck != nil {
		t.Errorf("session cookie %q still in the browser after sign-out", ck.Name)
	}
}

// TestInteropZitadelPublicPKCE: zitadel's "native" client is public (PKCE,
// no secret).
func TestInteropZitadelPublicPKCE(t *testing.T) {
	t.Parallel()
	a := startInteropApp(t, startZitadel, map[string]string{
		"OKTA_CLIENT_ID":        "native",
		"OKTASSO_PROVIDER_NAME": "ZITADEL",
	}, nil)
	b := newBrowserTab(t)
	b.navigate(a.app.URL + "/webapp")
	if status := b.zitadelSignIn(a.issuer, "test-user@localhost", "verysecure"); status != http.StatusOK {
		t.Fatalf("signing in landed with %d; want 200", status)
	}
	b.wantPage(a.app.URL+"/webapp", "test-user@zitadel.ch")
}
