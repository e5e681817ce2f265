package oktasso

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGuards(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Config)
		login  string // "" = anonymous
		path   string
		hdr    []string
		status int
		body   string // substring
	}{
		{"anonymous browser to workspace", nil, "", "/workspace?x=1", nil, http.StatusFound, ""},
		{"anonymous browser to webapp", nil, "", "/webapp", nil, http.StatusFound, ""},
		{"member in workspace", nil, alice, "/workspace", nil, http.StatusOK, "user:" + alice},
		{"external in workspace", nil, bob, "/workspace", nil, http.StatusForbidden, "Workspace members only"},
		{"external page names the account", nil, bob, "/workspace", nil, http.StatusForbidden, bob},
		{"external in webapp", nil, bob, "/webapp", nil, http.StatusOK, "user:" + bob},
		{"member in webapp", nil, alice, "/webapp", nil, http.StatusOK, "user:" + alice},
		{"anonymous JSON client", nil, "", "/workspace", []string{"Accept", "application/json"}, http.StatusUnauthorized, `"login_url"`},
		{"anonymous XHR", nil, "", "/webapp", []string{"X-Requested-With", "XMLHttpRequest"}, http.StatusUnauthorized, "login_required"},
		{"anonymous fetch", nil, "", "/webapp", []string{"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty"}, http.StatusUnauthorized, "login_required"},
		{"external JSON client in workspace", nil, bob, "/workspace", []string{"Accept", "application/json"}, http.StatusForbidden, `"access_denied"`},
		{"workspace not enforced, anonymous", func(c *Config) { c.Access.SkipEnforceWorkspace = true }, "", "/workspace", nil, http.StatusOK, "anonymous"},
		{"workspace not enforced, external hidden", func(c *Config) { c.Access.SkipEnforceWorkspace = true }, bob, "/workspace", nil, http.StatusOK, "anonymous"},
		{"workspace not enforced, member seen", func(c *Config) { c.Access.SkipEnforceWorkspace = true }, alice, "/workspace", nil, http.StatusOK, "user:" + alice},
		{"webapp not enforced, workspace still is", func(c *Config) { c.Access.SkipEnforceWebApp = true }, "", "/workspace", nil, http.StatusFound, ""},
		{"webapp not enforced, anonymous", func(c *Config) { c.Access.SkipEnforceWebApp = true }, "", "/webapp", nil, http.StatusOK, "anonymous"},
		{"webapp groups refuse", func(c *Config) { c.Access.WebApp = RequireGroups("Engineering") }, bob, "/webapp", nil, http.StatusForbidden, "not allowed"},
		{"webapp groups admit", func(c *Config) { c.Access.WebApp = RequireGroups("Partners") }, bob, "/webapp", nil, http.StatusOK, "user:" + bob},
		{"landing identifies", nil, alice, "/", nil, http.StatusOK, "user:" + alice},
		{"landing anonymous", nil, "", "/", nil, http.StatusOK, "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.edit)
			b := h.browser()
			if tt.login != "" {
				if r := h.login(b, tt.login, "/"); r.status != http.StatusFound {
					t.Fatalf("sign-in = %d %.200s", r.status, r.body)
				}
			}
			r := b.get(h.app.URL+tt.path, tt.hdr...)
			if r.status != tt.status || !strings.Contains(r.body, tt.body) {
				t.Fatalf("GET %s = %d %.300s; want %d containing %q", tt.path, r.status, r.body, tt.status, tt.body)
			}
			switch r.status {
			case http.StatusFound:
				want := h.app.URL + loginPath + "?return_to=" + url.QueryEscape(tt.path)
				if r.location != want {
					t.Errorf("Location = %q; want %q", r.location, want)
				}
			case http.StatusUnauthorized:
				if !strings.Contains(r.header.Get("WWW-Authenticate"), "login_url") || r.header.Get("Content-Type") != "application/json" {
					t.Errorf("401 headers = %v; want WWW-Authenticate with login_url and JSON", r.header)
				}
				var body map[string]string
				if err := json.Unmarshal([]byte(r.body), &body); err != nil || !strings.HasPrefix(body["login_url"], h.app.URL+loginPath) {
					t.Errorf("401 body = %s (%v); want JSON with login_url", r.body, err)
				}
			}
		})
	}
}

func TestAllowedEmailDomains(t *testing.T) {
	for _, tt := range []struct {
		domains []string
		user    string
		ok      bool
	}{
		{[]string{"example.com"}, alice, true},
		{[]string{"example.com"}, bob, false},
		{[]string{"evilexample.com", "ample.com"}, alice, false},
		{[]string{"partner.example", "example.com"}, bob, true},
	} {
		t.Run(strings.Join(tt.domains, ",")+"/"+tt.user, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				if len(tt.domains) > 0 {
					c.Access.SignIn = RequireEmailDomains(tt.domains...)
				}
			})
			b := h.browser()
			r := h.login(b, tt.user, "/webapp")
			if got := r.status == http.StatusFound; got != tt.ok {
				t.Errorf("sign-in of %s with domains %v = %d; want admitted=%v", tt.user, tt.domains, r.status, tt.ok)
			}
		})
	}
}

func TestBadSessionCookieMeansSignedOut(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	good := h.sessionCookie(b)
	for _, v := range []string{"", "garbage", good.Value[:len(good.Value)-5], strings.Repeat("A", 4500), good.Value + "x", "%%%"} {
		b2 := h.browser()
		b2.client.Jar.SetCookies(mustURL(t, h.app.URL), []*http.Cookie{{Name: good.Name, Value: v}})
		r := b2.get(h.app.URL + "/workspace")
		if r.status != http.StatusFound {
			t.Errorf("GET /workspace with session cookie %.20q… = %d; want 302 to sign in", v, r.status)
		}
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Session.IdleTimeout = time.Hour
		c.Session.MaxAge = 3 * time.Hour
	})
	b := h.browser()
	h.login(b, alice, "/")
	// Activity every 50 minutes keeps the session alive past one idle
	// period, and each request past 1/20 of it rolls the cookie forward.
	for i := 0; i < 3; i++ {
		h.clock.Add(50 * time.Minute)
		if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
			t.Fatalf("request %d after %v = %d; want 200", i, time.Duration(i+1)*50*time.Minute, r.status)
		}
	}
	// At 3h10m the absolute maximum has passed, however active.
	h.clock.Add(40 * time.Minute)
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
		t.Errorf("after the absolute maximum = %d; want 302", r.status)
	}

	b = h.browser()
	h.login(b, alice, "/")
	h.clock.Add(61 * time.Minute)
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
		t.Errorf("after the idle timeout = %d; want 302", r.status)
	}
}

func TestSessionNotRewrittenOnEveryRequest(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	r := b.get(h.app.URL + "/workspace")
	if sc := r.header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("a request right after sign-in set cookies %v; want none", sc)
	}
	h.clock.Add(defaultSessionIdleTimeout / 10)
	r = b.get(h.app.URL + "/workspace")
	if sc := r.header.Values("Set-Cookie"); len(sc) != 1 {
		t.Errorf("a request after a tenth of the idle timeout set %d cookies; want 1 (rolled forward)", len(sc))
	}
}
