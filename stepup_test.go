package oktasso

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// chase follows redirects from r within the app and the fake Okta, up to
// n hops, and returns the last answer.
func (b *browser) chase(r result, n int) result {
	b.t.Helper()
	for i := 0; i < n && r.status == http.StatusFound; i++ {
		r = b.get(r.location)
	}
	return r
}

func TestStepUp(t *testing.T) {
	h := newHarness(t, nil)
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := UserFrom(r.Context())
		io.WriteString(w, "ok amr="+strings.Join(u.AMR, ",")+" acr="+u.ACR)
	})
	mux := *h.handler.Load()
	mux.Handle("/mfa", h.auth.Workspace(h.auth.RequireStepUp(RequireAMR("mfa"))(show)))
	mux.Handle("/recent", h.auth.RequireStepUp(MaxAge(5*time.Minute))(show))
	mux.Handle("/strong", h.auth.RequireStepUp(ACRValues("urn:okta:loa:2fa:any"))(show))

	t.Run("mfa: browser goes through Okta and back", func(t *testing.T) {
		b := h.browser()
		h.login(b, alice, "/")
		r := b.get(h.app.URL + "/mfa")
		if r.status != http.StatusFound {
			t.Fatalf("GET /mfa = %d; want 302 to Okta", r.status)
		}
		q := mustQuery(t, r.location)
		if q.Get("prompt") != "login" || q.Get("acr_values") != "urn:okta:loa:2fa:any" || q.Get("login_hint") != alice {
			t.Fatalf("step-up authorize query = %v; want prompt=login, 2fa acr_values and login_hint", q)
		}
		r = b.chase(r, 4)
		if r.status != 200 || !strings.Contains(r.body, "amr=pwd,mfa") {
			t.Fatalf("after step-up GET /mfa = %d %.200s; want 200 with amr mfa", r.status, r.body)
		}
		if r.url != h.app.URL+"/mfa" {
			t.Errorf("came back to %s; want /mfa", r.url)
		}
	})
	t.Run("API client gets an RFC 9470 challenge", func(t *testing.T) {
		b := h.browser()
		h.login(b, alice, "/")
		r := b.get(h.app.URL+"/strong", "Accept", "application/json")
		ch := r.header.Get("WWW-Authenticate")
		if r.status != 401 || !strings.Contains(ch, `error="insufficient_user_authentication"`) || !strings.Contains(ch, `acr_values="urn:okta:loa:2fa:any"`) {
			t.Fatalf("GET /strong = %d, WWW-Authenticate %q; want 401 insufficient_user_authentication with acr_values", r.status, ch)
		}
		if !strings.Contains(r.body, `"login_url"`) || !strings.Contains(r.body, "step_up=1") {
			t.Fatalf("401 body %s; want a step-up login_url", r.body)
		}
		// The login_url works in the browser and the user comes back strong.
		var body struct {
			LoginURL string `json:"login_url"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatal(err)
		}
		r = b.chase(b.get(body.LoginURL), 5)
		if r.status != 200 || !strings.Contains(r.body, "acr=urn:okta:loa:2fa:any") {
			t.Fatalf("after the step-up login_url: %d %.200s", r.status, r.body)
		}
	})
	t.Run("max_age: stale sign-in re-authenticates", func(t *testing.T) {
		b := h.browser()
		h.login(b, alice, "/")
		if r := b.get(h.app.URL + "/recent"); r.status != 200 {
			t.Fatalf("fresh GET /recent = %d", r.status)
		}
		h.clock.Add(10 * time.Minute)
		r := b.get(h.app.URL + "/recent")
		if q := mustQuery(t, r.location); r.status != 302 || q.Get("max_age") != "300" || q.Get("prompt") != "login" {
			t.Fatalf("stale GET /recent = %d to %s; want 302 with max_age=300, prompt=login", r.status, r.location)
		}
		if r = b.chase(r, 4); r.status != 200 {
			t.Fatalf("after re-authentication GET /recent = %d %.200s", r.status, r.body)
		}
	})
	t.Run("a stale auth_time from Okta is refused, no loop", func(t *testing.T) {
		b := h.browser()
		h.login(b, alice, "/")
		h.clock.Add(10 * time.Minute)
		h.fake.MutateIDToken(func(tok *oktatest.Token) { tok.Claims["auth_time"] = h.clock.Now().Add(-time.Hour).Unix() })
		defer h.fake.MutateIDToken(nil)
		r := b.chase(b.get(h.app.URL+"/recent"), 3)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "could not be verified") {
			t.Fatalf("step-up with a stale auth_time = %d %.200s; want 400", r.status, r.body)
		}
	})
	t.Run("acr not granted is refused, no loop", func(t *testing.T) {
		b := h.browser()
		h.login(b, alice, "/")
		h.fake.MutateIDToken(func(tok *oktatest.Token) { tok.Claims["acr"] = "urn:okta:loa:1fa:pwd" })
		defer h.fake.MutateIDToken(nil)
		r := b.chase(b.get(h.app.URL+"/strong"), 3)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "additional verification") {
			t.Fatalf("step-up without the acr = %d %.300s; want 403", r.status, r.body)
		}
	})
	t.Run("another user cannot complete the step-up", func(t *testing.T) {
		b := h.browser()
		h.login(b, alice, "/")
		before := h.sessionCookie(b).Value
		h.fake.AutoLogin(bob)
		defer h.fake.AutoLogin(alice)
		r := b.chase(b.get(h.app.URL+"/mfa"), 3)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "different user") {
			t.Fatalf("step-up completed by bob = %d %.300s; want 403", r.status, r.body)
		}
		if got := h.sessionCookie(b); got == nil || got.Value != before {
			t.Fatal("the refused step-up changed alice's session")
		}
	})
}

func TestPurposeFlows(t *testing.T) {
	h := newHarness(t, nil)
	var mu sync.Mutex
	var got []*User
	refuse := false
	done := func(ctx context.Context, u *User) error {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return ErrAccessDenied
		}
		got = append(got, u)
		return nil
	}
	mfa, err := h.auth.NewPurpose("mfa", "", done)
	if err != nil {
		t.Fatal(err)
	}
	enroll, err := h.auth.NewPurpose("enroll", "/enroll/callback", done)
	if err != nil {
		t.Fatal(err)
	}
	mux := *h.handler.Load()
	mux.Handle("/enroll/callback", enroll)
	mux.HandleFunc("/verify", func(w http.ResponseWriter, r *http.Request) {
		mfa.Start(w, r, "/after", Prompt("login"), ACRValues("urn:okta:loa:2fa:any"), RequireAMR("mfa"))
	})
	mux.HandleFunc("/enroll", func(w http.ResponseWriter, r *http.Request) {
		enroll.Start(w, r, "/enrolled", EnrollAuthenticator("okta_verify"))
	})

	if mfa.RedirectURL() != h.app.URL+"/auth/callback/mfa" || enroll.RedirectURL() != h.app.URL+"/enroll/callback" {
		t.Fatalf("redirect URLs %s, %s", mfa.RedirectURL(), enroll.RedirectURL())
	}
	b := h.browser()
	h.login(b, alice, "/")
	session := h.sessionCookie(b).Value

	t.Run("mfa purpose verifies without touching the session", func(t *testing.T) {
		r := b.get(h.app.URL + "/verify")
		if q := mustQuery(t, r.location); q.Get("redirect_uri") != mfa.RedirectURL() {
			t.Fatalf("redirect_uri = %q; want the purpose's", q.Get("redirect_uri"))
		}
		r = b.chase(r, 2)
		if r.status != http.StatusFound || r.location != h.app.URL+"/after" {
			t.Fatalf("purpose callback = %d to %q; want 302 to /after", r.status, r.location)
		}
		mu.Lock()
		last := got[len(got)-1]
		mu.Unlock()
		if last.Subject != lookupID(t, h, alice) || strings.Join(last.AMR, ",") != "pwd,mfa" {
			t.Fatalf("done got %+v; want alice with amr pwd,mfa", last)
		}
		if h.sessionCookie(b).Value != session {
			t.Fatal("the purpose flow rewrote the session cookie")
		}
	})
	t.Run("enroll purpose enrolls at its own callback path", func(t *testing.T) {
		r := b.get(h.app.URL + "/enroll")
		q := mustQuery(t, r.location)
		if q.Get("prompt") != "enroll_authenticator" || q.Get("enroll_amr_values") != "okta_verify" || q.Get("max_age") != "0" ||
			q.Get("response_type") != "none" || q.Get("redirect_uri") != enroll.RedirectURL() || q.Get("login_hint") != alice {
			t.Fatalf("enroll authorize = %s; want Okta's enrollment request to the purpose's redirect URI", r.location)
		}
		mu.Lock()
		n := len(got)
		mu.Unlock()
		// Okta's answer to response_type=none: the state alone, no code.
		r = b.get(enroll.RedirectURL() + "?state=" + url.QueryEscape(q.Get("state")))
		if r.status != http.StatusFound || r.location != h.app.URL+"/enrolled" {
			t.Fatalf("enroll callback = %d to %q %.200s; want 302 to /enrolled", r.status, r.location, r.body)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != n+1 || got[n].Subject != lookupID(t, h, alice) {
			t.Fatalf("done calls %d, last %+v; want one more, for alice", len(got)-n, got[len(got)-1])
		}
		if h.sessionCookie(b).Value != session {
			t.Fatal("the enrollment rewrote the session cookie")
		}
	})
	t.Run("an enrollment's answer needs the user who started it", func(t *testing.T) {
		started := h.browser()
		h.login(started, alice, "/")
		r := started.get(h.app.URL + "/enroll")
		state := mustQuery(t, r.location).Get("state")
		// Okta's answer lands in a browser where bob is signed in, with
		// alice's flow cookie.
		other := h.browser()
		h.login(other, bob, "/")
		app, _ := url.Parse(h.app.URL)
		for _, c := range started.client.Jar.Cookies(app) {
			if c.Name == h.auth.flowCookieName(state) {
				other.client.Jar.SetCookies(app, []*http.Cookie{c})
			}
		}
		mu.Lock()
		n := len(got)
		mu.Unlock()
		r = other.get(enroll.RedirectURL() + "?state=" + url.QueryEscape(state))
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "no longer signed in as the person who started") {
			t.Fatalf("answer under another user = %d %.300s; want 403", r.status, r.body)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != n {
			t.Fatal("done ran for an enrollment answered under another user")
		}
	})
	t.Run("a sign-in's state is refused at a purpose callback and back", func(t *testing.T) {
		cb := h.authorize(b, alice, "/")
		swapped := strings.Replace(cb, CallbackPath+"?", CallbackPath+"/mfa?", 1)
		if r := b.get(swapped); r.status != http.StatusBadRequest {
			t.Fatalf("sign-in state at the mfa callback = %d; want 400", r.status)
		}
		r := b.get(h.app.URL + "/verify")
		r = b.get(r.location) // Okta answers to the mfa callback
		swapped = strings.Replace(r.location, CallbackPath+"/mfa?", CallbackPath+"?", 1)
		if r := b.get(swapped); r.status != http.StatusBadRequest {
			t.Fatalf("mfa state at the sign-in callback = %d; want 400", r.status)
		}
	})
	t.Run("done refuses", func(t *testing.T) {
		mu.Lock()
		refuse = true
		mu.Unlock()
		defer func() { mu.Lock(); refuse = false; mu.Unlock() }()
		if r := b.chase(b.get(h.app.URL+"/verify"), 2); r.status != http.StatusForbidden {
			t.Fatalf("refused purpose = %d; want 403", r.status)
		}
	})
	t.Run("registration errors", func(t *testing.T) {
		for _, tc := range []struct{ name, path string }{
			{"MFA", ""}, {"", ""}, {"mfa", ""}, {"x", "relative"}, {"y", CallbackPath}, {"z", "//evil.example/cb"},
		} {
			if _, err := h.auth.NewPurpose(tc.name, tc.path, done); err == nil {
				t.Errorf("NewPurpose(%q, %q) succeeded; want an error", tc.name, tc.path)
			}
		}
		if _, err := h.auth.NewPurpose("w", "", nil); err == nil {
			t.Error("NewPurpose with nil done succeeded")
		}
	})
}

func TestSilentLogin(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Access.Prompt = "none" })
	t.Run("a browser signed in to Okta comes back signed in", func(t *testing.T) {
		b := h.browser()
		h.login(b, alice, "/")
		h.fake.AutoLogin("")
		app, _ := url.Parse(h.app.URL)
		b.client.Jar.SetCookies(app, []*http.Cookie{{Name: h.auth.cookies.sessionName(), Value: "", Path: "/", MaxAge: -1}})
		r := b.get(h.app.URL + "/workspace")
		if q := mustQuery(t, r.location); r.status != 302 || q.Get("prompt") != "none" {
			t.Fatalf("GET /workspace = %d to %s; want 302 with prompt=none", r.status, r.location)
		}
		if r = b.chase(r, 3); r.status != 200 || !strings.Contains(r.body, "user:"+alice) {
			t.Fatalf("after the silent sign-in: %d %.200s", r.status, r.body)
		}
	})
	t.Run("without an Okta session it falls back to the sign-in page, once", func(t *testing.T) {
		h.fake.AutoLogin("")
		b := h.browser()
		r := b.get(h.app.URL + "/workspace")
		if q := mustQuery(t, r.location); q.Get("prompt") != "none" {
			t.Fatalf("first GET /workspace went to %s; want prompt=none", r.location)
		}
		r = b.get(r.location) // Okta: login_required, back to the callback
		if !strings.Contains(r.location, "error=login_required") {
			t.Fatalf("fake answered %s; want login_required", r.location)
		}
		r = b.get(r.location) // the callback starts an interactive sign-in
		if q := mustQuery(t, r.location); r.status != 302 || q.Get("prompt") != "" || q.Get("state") == "" {
			t.Fatalf("fallback = %d to %s; want an interactive authorize", r.status, r.location)
		}
		// The attempt is made once per browser session.
		r = b.get(h.app.URL + "/webapp")
		if r.status != 302 || !strings.HasPrefix(r.location, h.app.URL+loginPath) {
			t.Fatalf("second guarded GET = %d to %s; want the usual sign-in redirect", r.status, r.location)
		}
	})
	t.Run("API clients never get a silent redirect", func(t *testing.T) {
		if r := h.browser().get(h.app.URL+"/workspace", "Accept", "application/json"); r.status != 401 {
			t.Fatalf("API GET = %d; want 401", r.status)
		}
	})
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u.Query()
}

// TestStepUpFrom: the requirement comes from MaxAge, ACRValues and
// RequireAMR; other options state none, and MaxAge(0) means any time.
func TestStepUpFrom(t *testing.T) {
	tests := []struct {
		name string
		opts []LoginOption
		want stepUp
	}{
		{"none", nil, stepUp{}},
		{"max age", []LoginOption{MaxAge(5 * time.Minute)}, stepUp{MaxAge: 5 * time.Minute}},
		{"max age zero", []LoginOption{MaxAge(0)}, stepUp{}},
		{"acr and amr", []LoginOption{ACRValues("phr"), RequireAMR("mfa", "hwk")}, stepUp{ACR: []string{"phr"}, AMR: []string{"mfa", "hwk"}}},
		{"others ignored", []LoginOption{Prompt("login"), LoginHint("alice")}, stepUp{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stepUpFrom(tt.opts)
			if got.MaxAge != tt.want.MaxAge || !slices.Equal(got.ACR, tt.want.ACR) || !slices.Equal(got.AMR, tt.want.AMR) {
				t.Errorf("stepUpFrom(%s) = %+v; want %+v", tt.name, got, tt.want)
			}
		})
	}
}
