package oktasso

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

func TestProviderOutageAndRecovery(t *testing.T) {
	h := newHarness(t, nil)
	// A fresh Auth whose first discovery meets an outage.
	h.fake.SetDown(true)
	h.restart()

	b := h.browser()
	for _, path := range []string{"/workspace", loginPath} {
		r := b.get(h.app.URL + path)
		secs, _ := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != http.StatusServiceUnavailable || secs < 1 {
			t.Errorf("GET %s during an outage = %d, Retry-After %q; want 503 with Retry-After", path, r.status, r.header.Get("Retry-After"))
		}
	}
	r := b.get(h.app.URL+"/workspace", "Accept", "application/json")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "temporarily_unavailable") {
		t.Errorf("API request during an outage = %d %s; want 503 JSON", r.status, r.body)
	}

	h.fake.SetDown(false)
	// The backoff is on the injected clock: moving it past Retry-After lets
	// the next request rediscover.
	h.clock.Add(maxRetryBackoff)
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
		t.Fatalf("GET /workspace after recovery = %d; want 302 to sign in", r.status)
	}
	if r := h.login(b, alice, "/"); r.status != http.StatusFound {
		t.Errorf("sign-in after recovery = %d; want 302", r.status)
	}
}

func TestProviderBackoffGrows(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	p, err := NewProvider(srv.URL, srv.Client(), clock.Now, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for i := 0; i < 8; i++ {
		_, err := discoverMetadata(context.Background(), p)
		if !errors.Is(err, ErrProviderUnavailable) {
			t.Fatalf("discovery = %v; want ErrProviderUnavailable", err)
		}
		w := retryAfter(err)
		waits = append(waits, w)
		// Within the backoff no request is made.
		if _, err := discoverMetadata(context.Background(), p); retryAfter(err) > w {
			t.Fatalf("second call within backoff: retry %v > %v", retryAfter(err), w)
		}
		clock.Add(w)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1] || waits[i] > maxRetryBackoff {
			t.Errorf("backoff sequence %v; want non-decreasing and at most %v", waits, maxRetryBackoff)
			break
		}
	}
	if waits[len(waits)-1] != maxRetryBackoff {
		t.Errorf("backoff after 8 failures = %v; want capped at %v", waits[len(waits)-1], maxRetryBackoff)
	}
}

func TestDiscoveryChecks(t *testing.T) {
	tests := []struct {
		name    string
		handler func(base string) http.HandlerFunc
		want    string
	}{
		{"issuer mismatch", func(base string) http.HandlerFunc {
			return jsonDoc(`{"issuer":"` + base + `/","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t","jwks_uri":"` + base + `/k"}`)
		}, "does not equal"},
		{"html page", func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<html>Sign in</html>"))
			}
		}, "HTML page"},
		{"huge", func(string) http.HandlerFunc {
			return jsonDoc(`{"x":"` + strings.Repeat("a", maxDiscoveryBytes) + `"}`)
		}, "larger than"},
		{"missing token endpoint", func(base string) http.HandlerFunc {
			return jsonDoc(`{"issuer":"` + base + `","authorization_endpoint":"` + base + `/a","jwks_uri":"` + base + `/k"}`)
		}, "token_endpoint is missing"},
		{"no PKCE S256", func(base string) http.HandlerFunc {
			return jsonDoc(`{"issuer":"` + base + `","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t","jwks_uri":"` + base + `/k","code_challenge_methods_supported":["plain"]}`)
		}, "S256"},
		{"endpoint downgraded to http elsewhere", func(base string) http.HandlerFunc {
			return jsonDoc(`{"issuer":"` + base + `","authorization_endpoint":"` + base + `/a","token_endpoint":"http://evil.example/t","jwks_uri":"` + base + `/k"}`)
		}, "must use https"},
		{"404", func(string) http.HandlerFunc { return http.NotFound }, "HTTP 404"},
		{"no signing alg oktasso accepts", func(base string) http.HandlerFunc {
			return jsonDoc(`{"issuer":"` + base + `","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t","jwks_uri":"` + base + `/k","id_token_signing_alg_values_supported":["HS256","none"]}`)
		}, "id_token_signing_alg_values_supported lists HS256, none, none of which oktasso accepts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(nil)
			base := "http://" + srv.Listener.Addr().String()
			srv.Config.Handler = tt.handler(base)
			srv.Start()
			defer srv.Close()
			p, _ := NewProvider(base, srv.Client(), nil, quietLogger())
			_, err := discoverMetadata(context.Background(), p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrProviderUnavailable) {
				t.Errorf("discovery = %v; want ErrProviderUnavailable mentioning %q", err, tt.want)
			}
		})
	}
}

// TestDiscoveryDropsUnusableOptionalEndpoints: an http introspection or
// revocation endpoint on a non-loopback host does not fail discovery; it
// is left out.
func TestDiscoveryDropsUnusableOptionalEndpoints(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = jsonDoc(`{"issuer":"` + base + `","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t","jwks_uri":"` + base + `/k",` +
		`"introspection_endpoint":"http://evil.example/i","revocation_endpoint":"` + base + `/r"}`)
	srv.Start()
	defer srv.Close()
	p, _ := NewProvider(base, srv.Client(), nil, quietLogger())
	m, err := discoverMetadata(context.Background(), p)
	if err != nil || m.IntrospectionEndpoint != "" || m.RevocationEndpoint != base+"/r" {
		t.Errorf("metadata = %+v, %v; want the http introspection endpoint left out, the loopback revocation endpoint kept", m, err)
	}
}

// discoverMetadata is the discovery document of p, discovering it first if
// needed.
func discoverMetadata(ctx context.Context, p *Provider) (*metadata, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	return &d.meta, nil
}

// TestProviderEndpoint: Endpoint returns a discovered endpoint by its
// member name, "" for one not advertised or refused for not using https,
// an error without I/O for a name that is not an endpoint member, and
// ErrProviderUnavailable while discovery fails.
func TestProviderEndpoint(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	doc := jsonDoc(`{"issuer":"` + base + `","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t","jwks_uri":"` + base + `/k",` +
		`"end_session_endpoint":"` + base + `/logout","introspection_endpoint":"http://evil.example/i","revocation_endpoint":"` + base + `/r"}`)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		doc(w, r)
	})
	srv.Start()
	defer srv.Close()
	p, err := NewProvider(base, srv.Client(), nil, quietLogger())
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"issuer", "", "Token_Endpoint", "code_challenge_methods_supported"} {
		ep, err := p.Endpoint(context.Background(), name)
		if err == nil || ep != "" || errors.Is(err, ErrProviderUnavailable) || !strings.HasPrefix(err.Error(), "oktasso: ") {
			t.Errorf("Endpoint(%q) = %q, %v; want an oktasso error that is not ErrProviderUnavailable", name, ep, err)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("Endpoint with unknown members made %d requests; want none", n)
	}

	tests := []struct {
		name, member, want string
	}{
		{"required", "token_endpoint", base + "/t"},
		{"authorize", "authorization_endpoint", base + "/a"},
		{"keys", "jwks_uri", base + "/k"},
		{"optional", "end_session_endpoint", base + "/logout"},
		{"loopback http kept", "revocation_endpoint", base + "/r"},
		{"not advertised", "userinfo_endpoint", ""},
		{"http elsewhere refused", "introspection_endpoint", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := p.Endpoint(context.Background(), tt.member)
			if err != nil || ep != tt.want {
				t.Errorf("Endpoint(%q) = %q, %v; want %q", tt.member, ep, err, tt.want)
			}
		})
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("discovery requests = %d; want 1 (discovered once)", n)
	}
}

// TestProviderEndpointUnavailable: while discovery fails, Endpoint returns
// ErrProviderUnavailable for every member, also when the document offers
// a required endpoint without https, or http on loopback to an https issuer.
func TestProviderEndpointUnavailable(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer down.Close()

	downgraded := httptest.NewUnstartedServer(nil)
	base := "http://" + downgraded.Listener.Addr().String()
	downgraded.Config.Handler = jsonDoc(`{"issuer":"` + base + `","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t","jwks_uri":"` + base + `/k",` +
		`"userinfo_endpoint":"http://evil.example/u"}`)
	downgraded.Start()
	defer downgraded.Close()

	// An https issuer whose end-session endpoint is http on loopback.
	tlsSrv := httptest.NewUnstartedServer(nil)
	tlsBase := "https://" + tlsSrv.Listener.Addr().String()
	tlsSrv.Config.Handler = jsonDoc(`{"issuer":"` + tlsBase + `","authorization_endpoint":"` + tlsBase + `/a","token_endpoint":"` + tlsBase + `/t","jwks_uri":"` + tlsBase + `/k",` +
		`"end_session_endpoint":"http://` + tlsSrv.Listener.Addr().String() + `/logout"}`)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	tests := []struct {
		name, issuer string
		client       *http.Client
		want         string
	}{
		{"unreachable", down.URL, down.Client(), "HTTP 502"},
		{"required endpoint over http", base, downgraded.Client(), "must use https"},
		{"http on loopback for an https issuer", tlsBase, tlsSrv.Client(), "must use https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewProvider(tt.issuer, tt.client, nil, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			for _, member := range []string{"token_endpoint", "end_session_endpoint", "userinfo_endpoint", "introspection_endpoint"} {
				ep, err := p.Endpoint(context.Background(), member)
				if ep != "" || !errors.Is(err, ErrProviderUnavailable) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Endpoint(%q) = %q, %v; want ErrProviderUnavailable mentioning %q", member, ep, err, tt.want)
				}
			}
		})
	}
}

func jsonDoc(doc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(doc))
	}
}

func TestDiscoveryTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	client := srv.Client()
	client.Timeout = 100 * time.Millisecond
	p, _ := NewProvider(srv.URL, client, nil, quietLogger())
	// The server never answers: discovery returns only because the
	// client's timeout ends the request, and says so.
	_, err := discoverMetadata(context.Background(), p)
	var netErr net.Error
	if !errors.Is(err, ErrProviderUnavailable) || !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("discovery against a hanging server = %v; want ErrProviderUnavailable, from the client's timeout", err)
	}
}

// TestOktaDocuments serves discovery documents and a JWKS shaped like
// Okta's (testdata/) and checks the endpoint layout of both kinds of
// authorization server: the org server's endpoints are under /oauth2/v1,
// not issuer+"/v1".
func TestOktaDocuments(t *testing.T) {
	jwks, err := os.ReadFile("testdata/okta-jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	keys, skipped, err := parseJWKS(jwks, defaultAlgs)
	if err != nil || len(keys) != 2 || skipped != 0 {
		t.Errorf("parseJWKS(okta-jwks.json) = %d keys, %d skipped, %v; want 2, 0, nil", len(keys), skipped, err)
	}
	tests := []struct {
		file, path, wantAuthorize string
	}{
		{"testdata/okta-org-discovery.json", "", "/oauth2/v1/authorize"},
		{"testdata/okta-default-discovery.json", "/oauth2/default", "/oauth2/default/v1/authorize"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(nil)
			base := "http://" + srv.Listener.Addr().String()
			doc := strings.ReplaceAll(string(raw), "https://dev-123.okta.com", base)
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != tt.path+"/.well-known/openid-configuration" {
					http.NotFound(w, r)
					return
				}
				jsonDoc(doc)(w, r)
			})
			srv.Start()
			defer srv.Close()
			p, _ := NewProvider(base+tt.path, srv.Client(), nil, quietLogger())
			m, err := discoverMetadata(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if m.AuthorizationEndpoint != base+tt.wantAuthorize || m.EndSessionEndpoint == "" || m.IssParameterSupported {
				t.Errorf("metadata = %+v; want authorize at %s, an end_session_endpoint, no RFC 9207 iss", m, tt.wantAuthorize)
			}
		})
	}
}

// TestIssuerWithTrailingSlash: a provider whose issuer ends in "/" (as
// zitadel's example server's does) is used with that issuer exactly:
// discovery at issuer-without-slash + "/.well-known/...", every comparison
// with the slash. Sign-in and back-channel logout work.
func TestIssuerWithTrailingSlash(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Issuer += "/" })
	fake := h.fake
	iss := fake.Issuer() + "/"
	if h.auth.provider.Issuer() != iss {
		t.Fatalf("configured issuer = %q; want %q kept verbatim", h.auth.provider.Issuer(), iss)
	}
	fake.MutateDiscovery(func(d map[string]any) { d["issuer"] = iss })
	fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["iss"] = iss })
	fake.MutateLogoutToken(func(tk *oktatest.Token) { tk.Claims["iss"] = iss })
	fake.SendBackchannelLogout(true) // as zitadel's server would; Okta sends none
	h.restart()                      // New discovers at once: again, after the changes
	b := h.browser()
	if r := h.login(b, alice, "/"); r.status != http.StatusFound || h.sessionCookie(b) == nil {
		t.Fatalf("sign-in with issuer %q = %d %.200s; want 302 with a session", iss, r.status, r.body)
	}
	if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusOK || !strings.Contains(r.body, alice) {
		t.Fatalf("GET /webapp after sign-in = %d; want 200", r.status)
	}
	fake.EndSession(alice)
	if r := b.get(h.app.URL + "/webapp"); r.status == http.StatusOK {
		t.Errorf("GET /webapp after back-channel logout = %d; want the session ended", r.status)
	}
	// An ID token whose iss lacks the slash is another issuer.
	fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["iss"] = fake.Issuer() })
	if r := h.login(h.browser(), alice, "/"); r.status != http.StatusBadRequest {
		t.Errorf("sign-in with an ID token whose iss lacks the slash = %d; want 400", r.status)
	}
}

// TestDiscoveryIssuerSlashMismatch: an issuer that differs from the
// configured one only by a trailing slash is still refused, and the error
// names the exact value to configure. The discovery URL never has "//".
func TestDiscoveryIssuerSlashMismatch(t *testing.T) {
	for _, tt := range []struct{ configured, discovered string }{
		{"", "/"}, // configured without the slash, the provider's has it
		{"/", ""}, // and the other way round
		{"/", "/"},
	} {
		srv := httptest.NewUnstartedServer(nil)
		base := "http://" + srv.Listener.Addr().String()
		var paths []string
		var mu sync.Mutex
		doc := jsonDoc(`{"issuer":"` + base + tt.discovered + `","authorization_endpoint":"` + base + `/a","token_endpoint":"` + base + `/t","jwks_uri":"` + base + `/k"}`)
		srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			doc(w, r)
		})
		srv.Start()
		p, _ := NewProvider(base+tt.configured, srv.Client(), nil, quietLogger())
		_, err := discoverMetadata(context.Background(), p)
		srv.Close()
		if len(paths) != 1 || paths[0] != "/.well-known/openid-configuration" {
			t.Errorf("issuer %q: discovery requested %q; want /.well-known/openid-configuration", base+tt.configured, paths)
		}
		if tt.configured == tt.discovered {
			if err != nil {
				t.Errorf("issuer %q equal to the discovered one: discovery = %v; want ok", base+tt.configured, err)
			}
			continue
		}
		want := fmt.Sprintf("set the issuer (Config.Issuer, OKTA_ISSUER) to %q", base+tt.discovered)
		if err == nil || !errors.Is(err, ErrProviderUnavailable) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "only by a trailing slash") {
			t.Errorf("configured %q, discovered %q: discovery = %v; want it refused, saying %q", base+tt.configured, base+tt.discovered, err, want)
		}
	}
}
