package oktasso

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

func TestLoginRequestParameters(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	r := b.get(h.app.URL + LoginPath + "?return_to=/x&prompt=login&login_hint=alice%40example.com&max_age=60")
	u := mustURL(t, r.location)
	q := u.Query()
	if u.Path != "/oauth2/v1/authorize" {
		t.Errorf("authorize path = %q; want Okta's org server /oauth2/v1/authorize", u.Path)
	}
	checks := map[string]string{
		"client_id": testClientID, "response_type": "code", "redirect_uri": h.app.URL + CallbackPath,
		"code_challenge_method": "S256", "prompt": "login", "login_hint": alice, "max_age": "60",
		"scope": "openid profile email groups",
	}
	for k, want := range checks {
		if got := q.Get(k); got != want {
			t.Errorf("authorize %s = %q; want %q", k, got, want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("authorize %s = %q; want ≥ 256 bits of randomness", k, q.Get(k))
		}
	}
	if q.Get("state") == q.Get("nonce") {
		t.Error("state equals nonce")
	}
}

func TestTwoTabsAndPendingCap(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	first := h.authorize(b, alice, "/one")
	second := h.authorize(b, alice, "/two")
	// Finish in reverse order: both succeed.
	if r := b.get(second); r.location != h.app.URL+"/two" {
		t.Fatalf("second tab = %d to %q; want /two", r.status, r.location)
	}
	if r := b.get(first); r.location != h.app.URL+"/one" {
		t.Fatalf("first tab = %d to %q; want /one", r.status, r.location)
	}
	// Seven pending flows with a cap of five: the two oldest are dropped.
	var cbs []string
	for i := 0; i < maxPendingLogins+2; i++ {
		cbs = append(cbs, h.authorize(b, alice, "/"))
	}
	n := 0
	for _, c := range b.client.Jar.Cookies(mustURL(t, h.app.URL)) {
		if h.auth.isFlowCookie(c.Name) {
			n++
		}
	}
	if n != maxPendingLogins {
		t.Errorf("pending flow cookies = %d; want %d", n, maxPendingLogins)
	}
	if r := b.get(cbs[0]); r.status != http.StatusBadRequest {
		t.Errorf("evicted flow's callback = %d; want 400", r.status)
	}
	if r := b.get(cbs[len(cbs)-1]); r.status != http.StatusFound {
		t.Errorf("newest flow's callback = %d; want 302", r.status)
	}
}

func TestReturnToOpenRedirects(t *testing.T) {
	h := newHarness(t, nil)
	for _, rt := range []string{"//evil.com", "/\\evil.com", "https://evil.com", "%2F%2Fevil.com", "/%2F%2Fevil.com", " //evil.com", "/\t/evil.com", "\\/evil.com", "http:/\\evil.com"} {
		t.Run(rt, func(t *testing.T) {
			b := h.browser()
			r := h.login(b, alice, rt)
			if r.location != h.app.URL+"/" {
				t.Errorf("return_to=%q landed on %q; want %s/", rt, r.location, h.app.URL)
			}
		})
	}
}

func TestLongReturnToIsNotAnError(t *testing.T) {
	h := newHarness(t, nil)
	for _, rt := range []string{"/" + strings.Repeat("a", 2047), "/" + strings.Repeat("<", 700), "/" + strings.Repeat("é", 600)} {
		b := h.browser()
		r := h.login(b, alice, rt)
		// Either the path itself (it fits in the flow cookie) or "/" (it
		// does not); never an error.
		if r.status != http.StatusFound || (r.location != h.app.URL+"/" && r.location != h.app.URL+rt && mustURL(t, r.location).Path != rt) {
			t.Errorf("sign-in with a %d-byte return_to = %d to %.60q; want 302 to it or to /", len(rt), r.status, r.location)
		}
		if len(rt) == 2048 && r.location != h.app.URL+"/" {
			t.Errorf("a 2048-byte return_to (too long for the flow cookie) landed on %.60q; want /", r.location)
		}
	}
	// A guarded deep link with a long query leads to sign-in, not a 500.
	b := h.browser()
	r := b.get(h.app.URL + "/workspace?q=" + strings.Repeat("x", 3000))
	if r.status != http.StatusFound {
		t.Fatalf("deep link = %d; want 302", r.status)
	}
	if r = b.get(r.location); r.status != http.StatusFound {
		t.Errorf("/auth/login for a long deep link = %d; want 302 to Okta", r.status)
	}
}

func TestMaxAgeZeroIsEnforced(t *testing.T) {
	h := newHarness(t, nil)
	for _, tt := range []struct {
		maxAge string
		age    time.Duration
		ok     bool
	}{
		{"0", 20 * time.Hour, false},
		{"60", 20 * time.Hour, false},
		{"0", 0, true},
		{"86400", 20 * time.Hour, true},
	} {
		t.Run(tt.maxAge+"/"+tt.age.String(), func(t *testing.T) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["auth_time"] = h.clock.Now().Add(-tt.age).Unix() })
			defer h.fake.MutateIDToken(nil)
			b := h.browser()
			h.fake.AutoLogin(alice)
			r := b.get(h.app.URL + LoginPath + "?max_age=" + tt.maxAge)
			r = b.get(b.get(r.location).location)
			if got := r.status == http.StatusFound; got != tt.ok {
				t.Errorf("max_age=%s with auth %v old: callback = %d; want admitted=%v", tt.maxAge, tt.age, r.status, tt.ok)
			}
		})
	}
}

func TestInitiateLogin(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name, query string
		status      int
		landing     string // where the completed sign-in lands, for 302s
	}{
		{"okta dashboard tile", "iss=" + url.QueryEscape(h.fake.Issuer()), http.StatusFound, "/"},
		{"with a target", "iss=" + url.QueryEscape(h.fake.Issuer()) + "&target_link_uri=" + url.QueryEscape(h.app.URL+"/webapp?x=1"), http.StatusFound, "/webapp?x=1"},
		{"target as a path", "iss=" + url.QueryEscape(h.fake.Issuer()) + "&target_link_uri=%2Fworkspace", http.StatusFound, "/workspace"},
		{"off-site target", "iss=" + url.QueryEscape(h.fake.Issuer()) + "&target_link_uri=" + url.QueryEscape("https://evil.example/x"), http.StatusFound, "/"},
		{"target with userinfo", "iss=" + url.QueryEscape(h.fake.Issuer()) + "&target_link_uri=" + url.QueryEscape(strings.Replace(h.app.URL, "://", "://u@", 1)+"/x"), http.StatusFound, "/"},
		{"foreign issuer", "iss=" + url.QueryEscape("https://evil.okta.com"), http.StatusBadRequest, ""},
		{"issuer with a path suffix", "iss=" + url.QueryEscape(h.fake.Issuer()+"/oauth2/evil"), http.StatusBadRequest, ""},
		{"no issuer", "", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.browser()
			h.fake.AutoLogin(alice)
			r := b.get(h.app.URL + initiateLoginPath + "?" + tt.query)
			if r.status != tt.status {
				t.Fatalf("GET %s?%s = %d; want %d", initiateLoginPath, tt.query, r.status, tt.status)
			}
			if tt.status != http.StatusFound {
				if h.sessionCookie(b) != nil {
					t.Error("refused initiate-login left a session")
				}
				return
			}
			// It only starts a sign-in: nothing is signed in until Okta answers.
			if h.sessionCookie(b) != nil {
				t.Fatal("initiate-login issued a session by itself")
			}
			r = b.get(b.get(r.location).location)
			if r.location != h.app.URL+tt.landing {
				t.Errorf("sign-in landed on %q; want %s", r.location, h.app.URL+tt.landing)
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
