package oktasso

import (
	"context"
	"encoding/json"
	"golang.org/x/oauth2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oktasso/oktasso/oktatest"
	"github.com/oktasso/oktasso/plainoauth"
)

const githubIdentity = "https://github.com"

// newOAuth2Harness is a harness whose provider is the fake's GitHub-like
// plain OAuth 2.0 provider. The users that sign in are recorded in *seen.
func newOAuth2Harness(t *testing.T, seen *[]User) *harness {
	t.Helper()
	return newHarness(t, func(c *Config) {
		fake := c.Issuer // the org authorization server's issuer is the fake's URL
		c.Issuer = ""
		c.OAuth2 = &plainoauth.Provider{
			Identity: githubIdentity,
			AuthURL:  fake + oktatest.PlainAuthorizePath, TokenURL: fake + oktatest.PlainTokenPath, UserInfoURL: fake + oktatest.PlainUserPath,
			Scopes:  []string{"read:user", "user:email"},
			Mapping: plainoauth.Mapping{Subject: "id", Username: "login"},
		}
		c.Hooks.OnLogin = func(_ context.Context, u *User, _ *oauth2.Token) error {
			if seen != nil {
				*seen = append(*seen, *u)
			}
			return nil
		}
	})
}

func TestOAuth2SignIn(t *testing.T) {
	var seen []User
	h := newOAuth2Harness(t, &seen)
	b := h.browser()
	h.fake.AutoLogin(alice)
	r := b.get(h.app.URL + loginPath + "?return_to=/webapp")
	authz := mustURL(t, r.location)
	if q := authz.Query(); authz.Path != oktatest.PlainAuthorizePath || q.Get("scope") != "read:user user:email" || q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
		t.Fatalf("GET /auth/login = %d to %s; want the plain authorize endpoint with state, PKCE and the configured scopes only", r.status, r.location)
	}
	r = b.get(b.get(r.location).location)
	if r.status != http.StatusFound || r.location != h.app.URL+"/webapp" {
		t.Fatalf("callback = %d to %q %.300s; want 302 to /webapp", r.status, r.location, r.body)
	}
	if r := b.get(h.app.URL + "/webapp"); r.body != "user:"+alice {
		t.Errorf("GET /webapp = %d %q; want user:%s", r.status, r.body, alice)
	}
	if len(seen) != 1 {
		t.Fatalf("OnLogin ran %d times; want 1", len(seen))
	}
	u := seen[0]
	want := User{Issuer: githubIdentity, Subject: h.fake.PlainUserID(alice), Email: alice, Name: "Alice Example", Username: "alice"}
	if u.Issuer != want.Issuer || u.Subject != want.Subject || u.Email != want.Email || u.Name != want.Name || u.Username != want.Username || u.EmailVerified {
		t.Errorf("user = %+v; want %+v (email not verified)", u, want)
	}
	if u.Claims["login"] != "alice" || u.Claims["type"] != "User" {
		t.Errorf("user.Claims = %v; want the userinfo members", u.Claims)
	}

	// Sign-out is local: there is no end_session endpoint.
	r = b.post(h.app.URL+LogoutPath, nil)
	if r.status != http.StatusSeeOther || r.location != h.app.URL+"/" {
		t.Errorf("POST /auth/logout = %d to %q; want 303 to %s/", r.status, r.location, h.app.URL)
	}
	if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusFound {
		t.Errorf("GET /webapp after sign-out = %d; want 302 to sign in", r.status)
	}
}

func TestOAuth2SignInRefused(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*harness)
		callback func(h *harness, b *browser, cb string) result
		tokens   int // token requests the refusal costs
	}{
		{
			name: "wrong state",
			callback: func(h *harness, b *browser, cb string) result {
				return b.get(setParam(cb, "state", "forged-state"))
			},
		},
		{
			name: "callback in another browser",
			callback: func(h *harness, _ *browser, cb string) result {
				return h.browser().get(cb)
			},
		},
		{
			name:  "userinfo without id",
			setup: func(h *harness) { h.fake.MutateUserInfo(func(c map[string]any) { delete(c, "id") }) },
			callback: func(h *harness, b *browser, cb string) result {
				return b.get(cb)
			},
			tokens: 1,
		},
		{
			name:  "userinfo with an object as id",
			setup: func(h *harness) { h.fake.MutateUserInfo(func(c map[string]any) { c["id"] = map[string]any{"x": 1} }) },
			callback: func(h *harness, b *browser, cb string) result {
				return b.get(cb)
			},
			tokens: 1,
		},
		{
			name: "code already redeemed by a thief without the verifier",
			callback: func(h *harness, b *browser, cb string) result {
				stealCode(h, mustURL(h.t, cb).Query().Get("code"))
				return b.get(cb)
			},
			tokens: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newOAuth2Harness(t, nil)
			if tt.setup != nil {
				tt.setup(h)
			}
			b := h.browser()
			cb := h.authorize(b, alice, "/webapp")
			before := h.fake.TokenRequests()
			r := tt.callback(h, b, cb)
			if r.status != http.StatusBadRequest {
				t.Errorf("callback = %d %.200s; want 400", r.status, r.body)
			}
			if got := h.fake.TokenRequests() - before; got != tt.tokens {
				t.Errorf("token requests = %d; want %d", got, tt.tokens)
			}
			if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusFound {
				t.Errorf("GET /webapp after a refused sign-in = %d; want 302 to sign in", r.status)
			}
		})
	}
}

// stealCode redeems code at the plain token endpoint with the client's
// secret but without the PKCE verifier, as a thief of the callback URL
// would, and fails the test unless the fake refuses.
func stealCode(h *harness, code string) {
	h.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {h.app.URL + CallbackPath}}
	req, _ := http.NewRequest("POST", h.fake.PlainOAuth2().TokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(testClientID, "test-secret")
	resp, err := h.fake.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	if body["error"] != "bad_verification_code" || body["access_token"] != "" {
		h.t.Fatalf("token request without code_verifier = %v; want bad_verification_code", body)
	}
}

func TestOAuth2NoSignedTokens(t *testing.T) {
	h := newOAuth2Harness(t, nil)
	b := h.browser()
	r := b.post(h.app.URL+backchannelLogoutPath, url.Values{"logout_token": {"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2dpdGh1Yi5jb20ifQ.c2ln"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("POST %s = %d; want 400 (a plain provider signs nothing)", backchannelLogoutPath, r.status)
	}
}

func TestOAuth2Config(t *testing.T) {
	good := plainoauth.Provider{
		Identity: "https://github.com/", AuthURL: "https://github.com/login/oauth/authorize",
		TokenURL: "https://github.com/login/oauth/access_token", UserInfoURL: "https://api.github.com/user",
	}
	tests := []struct {
		name    string
		edit    func(*Config, *plainoauth.Provider)
		wantErr string // "" for none
	}{
		{name: "valid", edit: func(*Config, *plainoauth.Provider) {}},
		{name: "loopback http endpoints", edit: func(_ *Config, o *plainoauth.Provider) { o.TokenURL = "http://127.0.0.1:9/token" }},
		{name: "no identity", edit: func(_ *Config, o *plainoauth.Provider) { o.Identity = "" }, wantErr: "Identity is empty"},
		{name: "http identity", edit: func(_ *Config, o *plainoauth.Provider) { o.Identity = "http://github.com" }, wantErr: "uses http"},
		{name: "http endpoint", edit: func(_ *Config, o *plainoauth.Provider) { o.UserInfoURL = "http://api.github.com/user" }, wantErr: "UserInfoURL"},
		{name: "no token URL", edit: func(_ *Config, o *plainoauth.Provider) { o.TokenURL = "" }, wantErr: "TokenURL: is empty"},
		{name: "issuer differs", edit: func(c *Config, _ *plainoauth.Provider) { c.Issuer = "https://gitlab.com" }, wantErr: "differs from Issuer"},
		{name: "subject unmapped", edit: func(_ *Config, o *plainoauth.Provider) { o.Mapping.Subject = "-" }, wantErr: "Mapping.Subject"},
		{name: "bad cookie name", edit: func(c *Config, _ *plainoauth.Provider) { c.Session.CookieName = "a b" }, wantErr: "CookieName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			c := Config{OAuth2: &o, Client: ClientConfig{ID: "Iv1.abc"}}
			tt.edit(&c, &o)
			n, err := c.Normalize()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Normalize() = %v; want no error", err)
				}
				if n.Issuer != "https://github.com" || len(n.Scopes) != 0 || n.OAuth2.Mapping.Subject != "sub" {
					t.Errorf("Normalize() = Issuer %q, Scopes %q, Subject %q; want the identity, no scopes (no openid), the default mapping", n.Issuer, n.Scopes, n.OAuth2.Mapping.Subject)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Normalize() = %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestClaimMapping(t *testing.T) {
	var claims map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"id":12345678901,"f":1.5,"ok":true,"ev":"true","name":"A","data":{"user":{"id":"u-1"}},"teams":["a",2,"b"],"team":"solo"}`))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{"id", "12345678901"}, {"f", "1.5"}, {"ok", "true"}, {"name", "A"}, {"data.user.id", "u-1"},
		{"data", ""}, {"data.user.id.x", ""}, {"missing", ""}, {"-", ""}, {"", ""},
	} {
		if got := claimString(claims, tt.path); got != tt.want {
			t.Errorf("claimString(%q) = %q; want %q", tt.path, got, tt.want)
		}
	}
	for _, tt := range []struct {
		path string
		want []string
	}{{"teams", []string{"a", "2", "b"}}, {"team", []string{"solo"}}, {"id", []string{"12345678901"}}, {"missing", nil}} {
		if got := claimValues(claimAt(claims, tt.path)); !slices.Equal(got, tt.want) {
			t.Errorf("claimValues(claimAt(%q)) = %q; want %q", tt.path, got, tt.want)
		}
	}
}

func TestMappingDefaults(t *testing.T) {
	tests := []struct {
		name    string
		in, out plainoauth.Mapping
	}{
		{
			name: "empty: the OpenID names",
			out:  plainoauth.Mapping{Subject: "sub", Email: "email", EmailVerified: "email_verified", Name: "name", Username: "preferred_username", Groups: "groups"},
		},
		{
			name: "set names and - kept",
			in:   plainoauth.Mapping{Subject: "id", Username: "login", Groups: "-", EmailVerified: "data.verified"},
			out:  plainoauth.Mapping{Subject: "id", Email: "email", EmailVerified: "data.verified", Name: "name", Username: "login", Groups: "-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mappingDefaults(tt.in); got != tt.out {
				t.Errorf("mappingDefaults(%+v) = %+v; want %+v", tt.in, got, tt.out)
			}
		})
	}
}
