package directory

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

const testAPIToken = "00test-api-token"

// clock is a settable clock shared by the fake and the client; sleeping
// through the client's sleep hook moves it instead of waiting.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	slept  []time.Duration
	onWait func() // called on each sleep, e.g. to cancel a context
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	f := c.onWait
	c.mu.Unlock()
	if f != nil {
		f()
	}
	return ctx.Err()
}

func (c *clock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// fake is a fake Okta org with a service app (private_key_jwt, DPoP
// required, admin role) and an API token.
type fake struct {
	srv   *oktatest.Server
	clock *clock
	key   string // the service app's private key, PEM
}

func newFake(t testing.TB) *fake {
	t.Helper()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	srv := oktatest.NewUnstartedServer()
	srv.Now = clk.Now
	srv.Start()
	t.Cleanup(srv.Close)
	srv.AddAPIToken(testAPIToken)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv.AddClient(oktatest.Client{ID: "sync-app", PublicKeys: []oktatest.PublicKey{{KeyID: "k1", Key: &k.PublicKey}}, AdminRole: true})
	return &fake{srv: srv, clock: clk, key: mustPEM(t, k)}
}

// config returns a Config for the service app.
func (f *fake) config() Config {
	return Config{
		OrgURL: f.srv.URL, ClientID: "sync-app", PrivateKey: oktasso.Secret(f.key), KeyID: "k1",
		HTTPClient: f.srv.Client(), Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// client returns a client for cfg whose waits move the fake clock.
func (f *fake) client(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.sleep = f.clock.sleep
	return c
}

func (f *fake) ssws() Config {
	cfg := f.config()
	cfg.ClientID, cfg.PrivateKey, cfg.KeyID, cfg.APIToken = "", "", "", testAPIToken
	return cfg
}

func TestNewErrors(t *testing.T) {
	f := newFake(t)
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the joined error; none: no error
	}{
		{"service app", func(*Config) {}, nil},
		{"api token", func(c *Config) { *c = f.ssws() }, nil},
		{"bare domain", func(c *Config) { c.OrgURL = "dev-1.okta.com" }, nil},
		{"no org", func(c *Config) { c.OrgURL = "" }, []string{"OrgURL is empty"}},
		{"path", func(c *Config) { c.OrgURL = "https://dev-1.okta.com/app/x" }, []string{"has a path"}},
		{"query", func(c *Config) { c.OrgURL = "https://dev-1.okta.com?x=1" }, []string{"has a path"}},
		{"http", func(c *Config) { c.OrgURL = "http://dev-1.okta.com" }, []string{"only loopback"}},
		{"both credentials", func(c *Config) { c.APIToken = "x" }, []string{"not both"}},
		{"no credentials", func(c *Config) { c.ClientID, c.PrivateKey = "", "" }, []string{"no credentials"}},
		{"no key", func(c *Config) { c.PrivateKey = "" }, []string{"PrivateKey is empty"}},
		{"bad key", func(c *Config) { c.PrivateKey = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }, []string{"PrivateKey"}},
		{"all at once", func(c *Config) { c.OrgURL, c.ClientID, c.PageSize = "", "", -1 }, []string{"OrgURL", "ClientID", "PageSize"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config()
			tt.edit(&cfg)
			_, err := New(cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New = %v; want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New = nil; want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New = %q; want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), f.key[30:60]) {
				t.Errorf("New error %q shows the key", err)
			}
		})
	}
}

func TestOrgURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"dev-1.okta.com", "https://dev-1.okta.com"},
		{" https://dev-1.okta.com/ ", "https://dev-1.okta.com"},
		{"https://dev-1-admin.okta.com", "https://dev-1.okta.com"},
		{"dev-1-admin.oktapreview.com", "https://dev-1.oktapreview.com"},
		{"https://login-admin.example.com", "https://login-admin.example.com"},
		{"https://dev-1.okta.com/oauth2/default", "https://dev-1.okta.com"},
		{"http://127.0.0.1:8081", "http://127.0.0.1:8081"},
	}
	for _, tt := range tests {
		u, err := parseOrgURL(tt.in)
		if err != nil || u.String() != tt.want {
			t.Errorf("parseOrgURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}

func TestUserGroups(t *testing.T) {
	f := newFake(t)
	alice := f.srv.AddUser(oktatest.User{Login: "alice@example.com", Groups: []string{"Engineering", "Workspace Members"}})
	bob := f.srv.AddUser(oktatest.User{Login: "bob@example.com"})
	for _, cfg := range []struct {
		name string
		cfg  Config
	}{{"service app", f.config()}, {"api token", f.ssws()}} {
		t.Run(cfg.name, func(t *testing.T) {
			c := f.client(t, cfg.cfg)
			tests := []struct {
				user string
				want []string
			}{
				{alice.ID, []string{"Engineering", "Everyone", "Workspace Members"}},
				{bob.ID, []string{"Everyone"}},
				{"alice@example.com", []string{"Engineering", "Everyone", "Workspace Members"}},
			}
			for _, tt := range tests {
				got, err := c.UserGroups(context.Background(), tt.user)
				if err != nil {
					t.Fatalf("UserGroups(%s): %v", tt.user, err)
				}
				if !sameSet(got, tt.want) {
					t.Errorf("UserGroups(%s) = %q; want %q", tt.user, got, tt.want)
				}
			}
			_, err := c.UserGroups(context.Background(), "00unknown")
			var e *Error
			if !errors.As(err, &e) || e.Status != 404 || e.Code != "E0000007" {
				t.Errorf("UserGroups(unknown) = %v; want a 404 E0000007 *Error", err)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestAuthErrors(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedUsers(3, 0)
	f.srv.AddGroup(oktatest.Group{Name: "G"})
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.srv.AddClient(oktatest.Client{ID: "no-admin", PublicKeys: []oktatest.PublicKey{{KeyID: "k1", Key: &k.PublicKey}}})
	tests := []struct {
		name       string
		edit       func(*Config)
		status     int
		code, hint string
	}{
		{"unknown client", func(c *Config) { c.ClientID = "nobody" }, 401, "invalid_client", "public key"},
		{"wrong key id", func(c *Config) { c.KeyID = "k2" }, 401, "invalid_client", "key id"},
		{"no admin role", func(c *Config) { c.ClientID = "no-admin"; c.PrivateKey = oktasso.Secret(mustPEM(t, k)) }, 403, "E0000006", "admin role"},
		{"no groups scope", func(c *Config) { c.Scopes = []string{"okta.users.read"} }, 403, "E0000006", "okta.groups.read"},
		{"unknown API token", func(c *Config) { *c = f.ssws(); c.APIToken = "nope" }, 401, "E0000011", "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config()
			tt.edit(&cfg)
			_, err := Sync(context.Background(), f.client(t, cfg), newMemSink(), SyncOptions{})
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.code || !strings.Contains(err.Error(), tt.hint) {
				t.Fatalf("Sync = %v; want HTTP %d %s with a fix mentioning %q", err, tt.status, tt.code, tt.hint)
			}
		})
	}
}

func mustPEM(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestUserGroupsPages(t *testing.T) {
	f := newFake(t)
	gs := f.srv.AddGeneratedGroups(450)
	u := f.srv.AddUser(oktatest.User{Login: "many@example.com"})
	for _, g := range gs {
		f.srv.AddMember(g.ID, u.ID)
	}
	cfg := f.config()
	cfg.PageSize = 100
	c := f.client(t, cfg)
	got, err := c.UserGroups(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 451 || !slices.Contains(got, "Everyone") || !slices.Contains(got, "Generated Group 450") {
		t.Errorf("UserGroups = %d names; want 451 with Everyone and Generated Group 450", len(got))
	}
	if n := c.stats.requests.Load(); n != 2+5 { // token (nonce, token), 5 pages
		t.Errorf("%d requests; want 7 (2 for the token, 5 pages of 100)", n)
	}
}

func TestUserGroupsConcurrent(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedGroups(3)
	f.srv.AddGeneratedUsers(20, 2)
	u, _ := f.srv.LookupUser("user1@generated.example")
	c := f.client(t, f.config())
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gs, err := c.UserGroups(context.Background(), u.ID)
			if err == nil && len(gs) != 3 {
				err = fmt.Errorf("%d groups; want 3", len(gs))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := f.srv.TokenRequests(); got != 2 {
		t.Errorf("20 concurrent callers made %d token requests; want 2 (one nonce challenge, one token)", got)
	}
}
