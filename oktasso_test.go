package oktasso

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

const (
	testClientID    = "0oatestclient"
	bobOnlyClientID = "0oabobonly" // only bob is assigned to it
)

// harness is an application using oktasso against a fake Okta org.
type harness struct {
	t     testing.TB
	fake  *oktatest.Server
	app   *httptest.Server
	auth  *Auth
	clock *fakeClock
	cfg   Config
	audit *auditLog // set by tests that collect audit events
	// handler is what the app serves; restart swaps it while the server runs.
	handler atomic.Pointer[*http.ServeMux]
}

// newHarness starts a fake Okta with the demo users and an application
// whose Config is edited by edit (may be nil). The application serves "/",
// "/workspace" and "/webapp" and echoes the signed-in user's email.
func newHarness(t testing.TB, edit func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, clock: &fakeClock{t: time.Now()}}
	h.fake = oktatest.NewUnstartedServer()
	h.fake.Now = h.clock.Now
	h.fake.Start()
	t.Cleanup(h.fake.Close)
	h.fake.AddDemoUsers()

	h.app = httptest.NewUnstartedServer(nil)
	base := "http://" + h.app.Listener.Addr().String()
	h.fake.AddClient(oktatest.Client{
		ID: testClientID, Secret: "test-secret",
		RedirectURIs:           []string{base + CallbackPath, base + CallbackPath + "/mfa", base + "/enroll/callback"},
		PostLogoutRedirectURIs: []string{base + logoutCallbackPath},
		BackchannelLogoutURI:   base + backchannelLogoutPath,
		FrontchannelLogoutURI:  base + frontchannelLogoutPath,
	})
	h.fake.AddClient(oktatest.Client{
		ID: bobOnlyClientID, Secret: "test-secret", AssignedUsers: []string{bob},
		RedirectURIs: []string{base + CallbackPath},
	})
	cfg := Config{
		Issuer:     h.fake.Issuer(),
		BaseURL:    base,
		HTTPClient: h.fake.Client(),
		Now:        h.clock.Now,
		Logger:     quietLogger(),
		Client:     ClientConfig{ID: testClientID, Secret: "test-secret"},
		Session:    SessionConfig{Keys: []Secret{key1}},
		Access:     AccessConfig{Workspace: RequireGroups("Workspace Members")},
	}
	if edit != nil {
		edit(&cfg)
	}
	h.cfg = cfg
	h.app.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.handler.Load()).ServeHTTP(w, r) })
	h.restart()
	h.app.Start()
	t.Cleanup(h.app.Close)
	return h
}

// restart replaces the application's Auth with a new one made from the same
// Config, so a test can change the fake (discovery, outages) before the new
// Auth first discovers it.
func (h *harness) restart() {
	h.t.Helper()
	a, err := New(context.Background(), h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.auth = a
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := UserFrom(r.Context()); u != nil {
			w.Header().Set("X-Groups", strconv.Itoa(len(u.Groups)))
			io.WriteString(w, "user:"+u.Email)
			return
		}
		io.WriteString(w, "anonymous")
	})
	mux := http.NewServeMux()
	mux.Handle("/auth/", a.Handler())
	mux.Handle("/workspace", a.Workspace(show))
	mux.Handle("/webapp", a.WebApp(show))
	mux.Handle("/{$}", a.Identify(show))
	h.handler.Store(&mux)
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests can look at every hop.
type browser struct {
	t      testing.TB
	client *http.Client
	origin string // Origin header for POSTs
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: h.t, origin: h.app.URL, client: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type result struct {
	status   int
	location string
	body     string
	header   http.Header
	url      string
}

func (b *browser) do(req *http.Request) result {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header, url: req.URL.String()}
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

// authorize starts a sign-in at the app and lets the fake answer it, and
// returns the callback URL the fake sends the browser to (not yet visited).
func (h *harness) authorize(b *browser, login, returnTo string) string {
	h.t.Helper()
	h.fake.AutoLogin(login)
	r := b.get(h.app.URL + loginPath + "?return_to=" + url.QueryEscape(returnTo))
	if r.status != http.StatusFound {
		h.t.Fatalf("GET /auth/login = %d %s; want 302", r.status, r.body)
	}
	r = b.get(r.location)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location, h.app.URL+CallbackPath) {
		h.t.Fatalf("authorize = %d to %q; want 302 to the callback", r.status, r.location)
	}
	return r.location
}

// login signs user in and returns the callback's answer.
func (h *harness) login(b *browser, login, returnTo string) result {
	h.t.Helper()
	return b.get(h.authorize(b, login, returnTo))
}

var (
	alice = "alice@example.com"
	bob   = "bob@partner.example"
)

// sessionCookie returns the app's session cookie held by b, or nil.
// signedIn signs alice in with a new browser and returns it, her session
// cookie and the session it holds, ID token included.
func (h *harness) signedIn(t testing.TB) (*browser, *http.Cookie, *session) {
	t.Helper()
	b := h.browser()
	h.login(b, alice, "/")
	ck := h.sessionCookie(b)
	if ck == nil {
		t.Fatal("no session cookie after sign-in")
	}
	s, _, err := h.auth.cookies.openSession(ck.Name, ck.Value)
	if err != nil {
		t.Fatalf("session = %+v, %v", s, err)
	}
	s.IDToken = h.sessionIDToken(t, b)
	return b, ck, s
}

func (h *harness) sessionCookie(b *browser) *http.Cookie {
	u, _ := url.Parse(h.app.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == h.auth.cookies.sessionName() {
			return c
		}
	}
	return nil
}

// offline is a transport for Auths whose provider must not be reached.
type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("offline")
}
