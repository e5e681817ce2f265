package oktasso

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/oktatest"
)

func TestLoginRequestParameters(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	r := b.get(h.app.URL + loginPath + "?return_to=/x&prompt=login&login_hint=alice%40example.com&max_age=60")
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
			r := b.get(h.app.URL + loginPath + "?max_age=" + tt.maxAge)
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

// TestLoginOptionParameters checks the exact authorize parameters that IdP
// and EnrollAuthenticator send, alone and with the options they override.
func TestLoginOptionParameters(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Access.Prompt = "consent" })
	b := h.browser()
	h.login(b, alice, "/")
	code := []string{"client_id", "response_type", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "prompt"}
	enroll := []string{"client_id", "response_type", "redirect_uri", "state", "prompt", "enroll_amr_values", "max_age", "acr_values", "login_hint"}
	tests := []struct {
		name string
		opts []LoginOption
		keys []string          // every parameter sent, no more
		want map[string]string // values of some of them
	}{
		{"idp", []LoginOption{IdP("0oa1b2c3d4E5f6G7h8i9")}, append(code, "idp"),
			map[string]string{"response_type": "code", "idp": "0oa1b2c3d4E5f6G7h8i9", "prompt": "consent"}},
		{"idp with step-up options", []LoginOption{Prompt("login"), ACRValues("phr"), IdP("0oa-ext_1")}, append(code, "idp", "acr_values"),
			map[string]string{"idp": "0oa-ext_1", "acr_values": "phr", "prompt": "login consent"}},
		{"enroll", []LoginOption{EnrollAuthenticator("okta_verify", "sms")}, enroll,
			map[string]string{"response_type": "none", "prompt": "enroll_authenticator", "enroll_amr_values": "okta_verify sms",
				"max_age": "0", "acr_values": "urn:okta:loa:2fa:any:ifpossible", "login_hint": alice}},
		{"enroll overrides prompt and max_age, keeps acr_values", []LoginOption{Prompt("login"), MaxAge(time.Hour), ACRValues("phr"), RequireAMR("hwk"), EnrollAuthenticator("webauthn")}, enroll,
			map[string]string{"response_type": "none", "prompt": "enroll_authenticator", "enroll_amr_values": "webauthn", "max_age": "0", "acr_values": "phr"}},
		{"enroll with idp and hint", []LoginOption{LoginHint("a@example.com"), IdP("0oaX"), EnrollAuthenticator("otp")}, append(enroll, "idp"),
			map[string]string{"idp": "0oaX", "login_hint": "a@example.com", "enroll_amr_values": "otp"}},
	}
	mux := *h.handler.Load()
	for i, tt := range tests {
		path := "/start-" + strconv.Itoa(i)
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { h.auth.StartLogin(w, r, "/back", tt.opts...) })
		t.Run(tt.name, func(t *testing.T) {
			r := b.get(h.app.URL + path)
			if r.status != http.StatusFound {
				t.Fatalf("StartLogin = %d %.200s; want 302", r.status, r.body)
			}
			q := mustQuery(t, r.location)
			got := slices.Sorted(maps.Keys(q))
			want := slices.Sorted(slices.Values(tt.keys))
			if !slices.Equal(got, want) {
				t.Errorf("authorize parameters = %v; want %v", got, want)
			}
			for k, v := range tt.want {
				if len(q[k]) != 1 || q[k][0] != v {
					t.Errorf("authorize %s = %q; want %q", k, q[k], v)
				}
			}
			if q.Get("client_id") != testClientID || q.Get("redirect_uri") != h.app.URL+CallbackPath || len(q.Get("state")) < 43 {
				t.Errorf("client_id, redirect_uri, state = %q, %q, %q", q.Get("client_id"), q.Get("redirect_uri"), q.Get("state"))
			}
		})
	}
	t.Run("RequireStepUp steps up through the IdP", func(t *testing.T) {
		mux.Handle("/stepped", h.auth.RequireStepUp(ACRValues("phr"), IdP("0oaStep"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		r := b.get(h.app.URL + "/stepped")
		q := mustQuery(t, r.location)
		if r.status != http.StatusFound || q.Get("idp") != "0oaStep" || q.Get("acr_values") != "phr" || q.Get("response_type") != "code" {
			t.Fatalf("step-up = %d to %s; want idp=0oaStep with acr_values=phr", r.status, r.location)
		}
	})
}

// TestLoginOptionsRefuseBadValues: a value that could carry another
// parameter, or is empty or too long, starts no sign-in.
func TestLoginOptionsRefuseBadValues(t *testing.T) {
	log := &auditLog{}
	h := newHarness(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(log, nil))
		c.Hooks.OnEvent = log.onEvent
	})
	b := h.browser()
	h.login(b, alice, "/")
	many := make([]string, 9)
	for i := range many {
		many[i] = "m" + strconv.Itoa(i)
	}
	tests := []struct {
		name string
		opt  LoginOption
	}{
		{"idp empty", IdP("")},
		{"idp too long", IdP(strings.Repeat("a", 65))},
		{"idp with a parameter", IdP("0oa1&prompt=none")},
		{"idp with a space", IdP("0oa1 x")},
		{"idp with a newline", IdP("0oa1\nx")},
		{"idp not ASCII", IdP("0oä")},
		{"idp with a fragment", IdP("0oa#x")},
		{"enroll without methods", EnrollAuthenticator()},
		{"enroll empty method", EnrollAuthenticator("sms", "")},
		{"enroll with a parameter", EnrollAuthenticator("sms&max_age=9")},
		{"enroll with a space", EnrollAuthenticator("sms otp")},
		{"enroll method too long", EnrollAuthenticator(strings.Repeat("a", 33))},
		{"enroll too many methods", EnrollAuthenticator(many...)},
	}
	mux := *h.handler.Load()
	for i, tt := range tests {
		path := "/bad-" + strconv.Itoa(i)
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { h.auth.StartLogin(w, r, "/back", tt.opt) })
		t.Run(tt.name, func(t *testing.T) {
			log.reset()
			r := b.get(h.app.URL + path)
			if r.status != http.StatusInternalServerError || r.location != "" || !strings.Contains(r.body, "Sign-in failed") {
				t.Fatalf("StartLogin = %d to %q; want the 500 page and no redirect", r.status, r.location)
			}
			for _, c := range r.header.Values("Set-Cookie") {
				if strings.Contains(c, "-flow-") {
					t.Errorf("a flow cookie was set: %s", c)
				}
			}
			recs := log.records(t)
			if len(recs) != 1 || recs[0]["reason"] != string(audit.ReasonInternal) || !strings.Contains(recs[0]["err"].(string), "oktasso: ") {
				t.Errorf("audit = %v; want one internal_error naming the option", recs)
			}
		})
	}
	t.Run("RequireStepUp panics when the routes are built", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("RequireStepUp(IdP(bad)) did not panic")
			}
		}()
		h.auth.RequireStepUp(MaxAge(time.Minute), IdP("a b"))
	})
}

// TestEnrollNeedsASession: an enrollment started signed out signs in first
// and comes back to the URL that started it, which then enrolls.
func TestEnrollNeedsASession(t *testing.T) {
	log := &auditLog{}
	h := newHarness(t, func(c *Config) { c.Hooks.OnEvent = log.onEvent })
	mux := *h.handler.Load()
	mux.HandleFunc("/enroll-me", func(w http.ResponseWriter, r *http.Request) {
		h.auth.StartLogin(w, r, "/done", EnrollAuthenticator("otp"))
	})
	b := h.browser()
	h.fake.AutoLogin(alice)
	r := b.get(h.app.URL + "/enroll-me")
	if q := mustQuery(t, r.location); r.status != http.StatusFound || q.Get("response_type") != "code" || q.Get("prompt") == "enroll_authenticator" {
		t.Fatalf("signed out: %d to %s; want a plain sign-in first", r.status, r.location)
	}
	if r = b.chase(r, 2); r.status != http.StatusFound || r.location != h.app.URL+"/enroll-me" {
		t.Fatalf("after signing in: %d to %q; want back to /enroll-me", r.status, r.location)
	}
	r = b.get(r.location)
	q := mustQuery(t, r.location)
	if q.Get("prompt") != "enroll_authenticator" || q.Get("login_hint") != alice {
		t.Fatalf("signed in: to %s; want the enrollment for alice", r.location)
	}
	session := h.sessionCookie(b).Value
	log.reset()
	// Okta's answer: the state alone (a stray code is not redeemed).
	r = b.get(h.app.URL + CallbackPath + "?code=unasked&state=" + url.QueryEscape(q.Get("state")))
	if r.status != http.StatusFound || r.location != h.app.URL+"/done" || h.sessionCookie(b).Value != session {
		t.Fatalf("enrollment answer = %d to %q; want 302 to /done with the session as it was", r.status, r.location)
	}
	log.mu.Lock()
	events := slices.Clone(log.events)
	log.mu.Unlock()
	if len(events) != 1 || events[0].Name != audit.EventEnrolled || events[0].Subject != lookupID(t, h, alice) {
		t.Fatalf("audit = %+v; want one enrolled event for alice", events)
	}
}
