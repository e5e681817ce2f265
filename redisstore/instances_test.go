package redisstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// cluster is one app served by two instances (two Auth values sharing one
// Redis and the same keys) behind a round-robin balancer.
type cluster struct {
	fake      *oktatest.Server
	app       *httptest.Server
	instances [2]*oktasso.Auth
	next      atomic.Uint64
	now       atomic.Int64 // unix nanoseconds of the shared clock
}

func (c *cluster) clock() time.Time { return time.Unix(0, c.now.Load()) }

func newCluster(t *testing.T, edit func(*oktasso.Config)) *cluster {
	t.Helper()
	rdb := startRedis(t)
	c := &cluster{}
	c.now.Store(time.Now().UnixNano())
	c.fake = oktatest.NewUnstartedServer()
	c.fake.Now = c.clock
	c.fake.Start()
	t.Cleanup(c.fake.Close)
	c.fake.AddDemoUsers()
	c.app = httptest.NewUnstartedServer(nil)
	base := "http://" + c.app.Listener.Addr().String()
	c.fake.AddClient(oktatest.Client{ID: "0oacluster", Secret: "s",
		RedirectURIs: []string{base + oktasso.CallbackPath}, PostLogoutRedirectURIs: []string{base + "/auth/logout/callback"}})
	handlers := [2]http.Handler{}
	for i := range c.instances {
		cfg := oktasso.Config{
			Issuer:     c.fake.Issuer(),
			BaseURL:    base,
			Store:      New(rdb, "app:"),
			HTTPClient: c.fake.Client(),
			Now:        c.clock,
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			Client:     oktasso.ClientConfig{ID: "0oacluster", Secret: "s"},
			Session:    oktasso.SessionConfig{Keys: []oktasso.Secret{"0123456789abcdef0123456789abcdef"}},
			Access:     oktasso.AccessConfig{Workspace: oktasso.RequireGroups("Workspace Members")},
		}
		if edit != nil {
			edit(&cfg)
		}
		a, err := oktasso.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.instances[i] = a
		mux := http.NewServeMux()
		mux.Handle("/auth/", a.Handler())
		mux.Handle("/workspace", a.Workspace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, oktasso.UserFrom(r.Context()).Email+"|"+oktasso.AccessTokenFrom(r.Context()))
		})))
		handlers[i] = mux
	}
	c.app.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers[c.next.Add(1)%2].ServeHTTP(w, r)
	})
	c.app.Start()
	t.Cleanup(c.app.Close)
	return c
}

// client is a browser that follows redirects and keeps cookies.
func (c *cluster) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func get(t *testing.T, cl *http.Client, u string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *cluster) cookieHeader(cl *http.Client) string {
	u, _ := url.Parse(c.app.URL)
	var parts []string
	for _, ck := range cl.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func TestTwoInstancesShareSessions(t *testing.T) {
	for _, server := range []bool{false, true} {
		t.Run(map[bool]string{false: "cookie sessions", true: "server sessions"}[server], func(t *testing.T) {
			c := newCluster(t, func(cfg *oktasso.Config) {
				if server {
					cfg.Session.Storage = oktasso.SessionInStore
				}
			})
			c.fake.AutoLogin("alice@example.com")
			browser := c.client()
			// The sign-in starts on one instance and its callback lands on the other.
			if status, body := get(t, browser, c.app.URL+"/workspace"); status != http.StatusOK || !strings.HasPrefix(body, "alice@example.com") {
				t.Fatalf("sign-in across instances = %d %q; want alice on /workspace", status, body)
			}
			for i := 0; i < 4; i++ { // both instances, twice
				if status, _ := get(t, browser, c.app.URL+"/workspace"); status != http.StatusOK {
					t.Fatalf("request %d = %d; want 200 on either instance", i, status)
				}
			}
			copied := c.cookieHeader(browser)
			req, _ := http.NewRequest("POST", c.app.URL+oktasso.LogoutPath, nil)
			req.Header.Set("Origin", c.app.URL)
			noFollow := c.client()
			noFollow.Jar = browser.Jar
			noFollow.CheckRedirect = noRedirect
			if resp, err := noFollow.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-out = %v %v; want 303", resp, err)
			}
			// The copied cookie is refused by both instances.
			replayer := c.client()
			replayer.CheckRedirect = noRedirect
			for i := 0; i < 2; i++ {
				if status, _ := get(t, replayer, c.app.URL+"/workspace", "Cookie", copied); status != http.StatusFound {
					t.Errorf("copied cookie on instance %d after sign-out = %d; want 302", i, status)
				}
			}
		})
	}
}

func TestCallbackReplayAcrossInstances(t *testing.T) {
	c := newCluster(t, nil)
	c.fake.AutoLogin("alice@example.com")
	cl := c.client()
	cl.CheckRedirect = noRedirect
	u, _ := url.Parse(c.app.URL)
	resp, err := cl.Get(c.app.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authz := resp.Header.Get("Location")
	resp, err = cl.Get(authz)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	flowCookies := cl.Jar.Cookies(u) // kept, as an attacker would
	if status, _ := get(t, cl, callback); status != http.StatusFound {
		t.Fatalf("first callback = %d; want 302", status)
	}
	before := c.fake.TokenRequests()
	for i := 0; i < 2; i++ { // each instance once
		replay := c.client()
		replay.CheckRedirect = noRedirect
		replay.Jar.SetCookies(u, flowCookies)
		if status, _ := get(t, replay, callback); status != http.StatusBadRequest {
			t.Errorf("replayed callback on instance %d = %d; want 400", i, status)
		}
	}
	if n := c.fake.TokenRequests() - before; n != 0 {
		t.Errorf("replays reached the token endpoint %d times; want 0", n)
	}
}

func TestRefreshOnceAcrossInstances(t *testing.T) {
	c := newCluster(t, func(cfg *oktasso.Config) {
		cfg.Scopes = []string{"openid", "email", "groups", "offline_access"}
		cfg.Session.KeepAccessToken = true
	})
	c.fake.AutoLogin("alice@example.com")
	browser := c.client()
	if status, _ := get(t, browser, c.app.URL+"/workspace"); status != http.StatusOK {
		t.Fatalf("sign-in = %d", status)
	}
	cookie := c.cookieHeader(browser)
	c.now.Add(int64(56 * time.Minute))
	before := c.fake.TokenRequests()
	var wg sync.WaitGroup
	var mu sync.Mutex
	tokens := map[string]int{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", c.app.URL+"/workspace", nil)
			req.Header.Set("Cookie", cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			tokens[resp.Status+" "+string(b)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := c.fake.TokenRequests() - before; n != 1 {
		t.Errorf("50 parallel requests on two instances made %d token requests; want exactly 1", n)
	}
	if len(tokens) != 1 {
		t.Errorf("answers = %d distinct (%v); want every request on the one refreshed token", len(tokens), keys(tokens))
	}
}

func keys(m map[string]int) []string {
	var out []string
	for k, n := range m {
		if len(k) > 60 {
			k = k[:60]
		}
		out = append(out, fmt.Sprintf("%s ×%d", k, n))
	}
	return out
}
