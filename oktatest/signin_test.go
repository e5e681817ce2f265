package oktatest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestSignInForm(t *testing.T) {
	s := newTestServer(t)
	browser := newBrowser(t, s)
	u := authURL(s, "default", map[string]string{"login_hint": `<script>alert("x")</script>`})
	resp, body := get(t, browser, u)
	if resp.StatusCode != 200 || resp.Request.URL.Path != SignInPath {
		t.Fatalf("GET authorize = %d at %s; want 200 at %s", resp.StatusCode, resp.Request.URL.Path, SignInPath)
	}
	for _, want := range []string{
		"<h1>Sign in</h1>", `<label for="username">`, `<label for="password">`,
		`autocomplete="current-password"`, "alice@example.com", "alice-password", "bob@partner.example", "bob-password",
		`value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-in form lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("login_hint rendered unescaped")
	}
	form := formFields(t, body)

	tests := []struct {
		name       string
		edit       func(v url.Values)
		header     http.Header
		wantStatus int
	}{
		{"wrong password", func(v url.Values) { v.Set("username", "alice@example.com"); v.Set("password", "nope") }, nil, http.StatusUnauthorized},
		{"unknown user", func(v url.Values) { v.Set("username", "eve@example.com"); v.Set("password", "x") }, nil, http.StatusUnauthorized},
		{"forged token", func(v url.Values) {
			v.Set("username", "alice@example.com")
			v.Set("password", "alice-password")
			v.Set("token", "forged")
		}, nil, http.StatusForbidden},
		{"cross-origin", func(v url.Values) { v.Set("username", "alice@example.com"); v.Set("password", "alice-password") },
			http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
		{"cross-site fetch", func(v url.Values) { v.Set("username", "alice@example.com"); v.Set("password", "alice-password") },
			http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"tampered fromURI", func(v url.Values) {
			v.Set("username", "alice@example.com")
			v.Set("password", "alice-password")
			v.Set("fromURI", strings.Replace(v.Get("fromURI"), "app.example", "evil.example", 1))
		}, nil, http.StatusBadRequest},
		{"fromURI to another site", func(v url.Values) {
			v.Set("username", "alice@example.com")
			v.Set("password", "alice-password")
			v.Set("fromURI", "http://evil.example/oauth2/v1/authorize")
		}, nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each attempt needs a fresh rendering (tokens are single use).
			_, page := get(t, browser, s.URL+SignInPath+"?fromURI="+url.QueryEscape(form.Get("fromURI")))
			v := formFields(t, page)
			tt.edit(v)
			resp, body := postForm(t, browser, s.URL+SignInPath, v, tt.header)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Location") != "" {
				t.Fatalf("POST = %d Location %q; want %d without redirect", resp.StatusCode, resp.Header.Get("Location"), tt.wantStatus)
			}
			if tt.wantStatus == http.StatusUnauthorized && (!strings.Contains(body, `role="alert"`) || !strings.Contains(body, "<h1>Sign in</h1>")) {
				t.Error("wrong password did not re-render the form with an error")
			}
		})
	}

	// The correct password continues the authorize request and starts a
	// session; a token cannot be replayed.
	_, page := get(t, browser, s.URL+SignInPath+"?fromURI="+url.QueryEscape(form.Get("fromURI")))
	v := formFields(t, page)
	v.Set("username", "ALICE@example.com")
	v.Set("password", "alice-password")
	resp, body = postForm(t, browser, s.URL+SignInPath, v, http.Header{"Origin": {s.URL}})
	if q := appRedirect(t, resp, body); q.Get("code") == "" || q.Get("state") != "st-123" {
		t.Fatalf("callback = %v; want code and state", q)
	}
	resp, _ = postForm(t, browser, s.URL+SignInPath, v, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("replayed form = %d; want 403", resp.StatusCode)
	}
	resp, body = get(t, browser, authURL(s, "default", map[string]string{"prompt": "none"}))
	if q := appRedirect(t, resp, body); q.Get("code") == "" {
		t.Errorf("authorize after sign-in = %v; want a silent code", q)
	}
}

func TestSignInFormRejectsBadFromURI(t *testing.T) {
	s := newTestServer(t)
	for _, from := range []string{"", "/oauth2/v1/keys", "/oauth2/nope/v1/authorize?client_id=web", "//evil.example/oauth2/v1/authorize",
		"/oauth2/v1/authorize?client_id=web&redirect_uri=http://evil.example/"} {
		resp, _ := get(t, s.Client(), s.URL+SignInPath+"?fromURI="+url.QueryEscape(from))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET sign-in fromURI=%q = %d; want 400", from, resp.StatusCode)
		}
	}
}

func TestSignInInactiveUser(t *testing.T) {
	s := newTestServer(t)
	s.AddUser(User{Login: "gone@example.com", Password: "pw", Status: "DEPROVISIONED"})
	browser := newBrowser(t, s)
	_, body := get(t, browser, authURL(s, "", nil))
	v := formFields(t, body)
	v.Set("username", "gone@example.com")
	v.Set("password", "pw")
	resp, _ := postForm(t, browser, s.URL+SignInPath, v, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("deprovisioned sign-in = %d; want 401", resp.StatusCode)
	}
}

// exchange redeems the code of a callback query with f and verifies the ID
// token; it returns the token and the ID token's claims.
func (f *oidcFlow) exchange(t testing.TB, q url.Values, verifier string) (*oauth2.Token, map[string]any) {
	t.Helper()
	if q.Get("code") == "" {
		t.Fatalf("callback query = %v; want a code", q)
	}
	tok, err := f.config.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	var claims map[string]any
	if err := f.verify(rawIDToken(t, tok), &claims); err != nil {
		t.Fatalf("verify = %v", err)
	}
	return tok, claims
}

func TestTwoFactorSignIn(t *testing.T) {
	s := newTestServer(t)
	f := newFlow(t, s, s.CustomIssuer("default"))
	browser := newBrowser(t, s)
	authorize := func(acr string, extra ...oauth2.AuthCodeOption) (url, verifier string) {
		verifier = oauth2.GenerateVerifier()
		opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-1")}, extra...)
		if acr != "" {
			opts = append(opts, oauth2.SetAuthURLParam("acr_values", acr))
		}
		return f.config.AuthCodeURL("st-1", opts...), verifier
	}

	// Password first, then the code.
	u, verifier := authorize("urn:okta:loa:2fa:any")
	_, body := get(t, browser, u)
	form := formFields(t, body)
	form.Set("username", "alice@example.com")
	form.Set("password", "alice-password")
	resp, body := postForm(t, browser, s.URL+SignInPath, form, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Verify with code</h1>") || !strings.Contains(body, VerificationCode) {
		t.Fatalf("after the password = %d %q; want the code step naming %s\n%s", resp.StatusCode, resp.Header.Get("Location"), VerificationCode, body)
	}
	if c := resp.Cookies(); len(c) != 0 {
		t.Errorf("the password alone set cookies %v; want no session before the code", c)
	}
	step := formFields(t, body)

	// A code-step token cannot stand in for the password form.
	replay := url.Values{"fromURI": step["fromURI"], "token": step["token"], "username": {"alice@example.com"}, "password": {"alice-password"}}
	resp, _ = postForm(t, browser, s.URL+SignInPath, replay, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("code-step token on the password form = %d; want 403", resp.StatusCode)
	}
	// The replay used the token up: go through the password again.
	_, body = get(t, browser, u)
	form = formFields(t, body)
	form.Set("username", "alice@example.com")
	form.Set("password", "alice-password")
	_, body = postForm(t, browser, s.URL+SignInPath, form, nil)
	step = formFields(t, body)
	step.Set("code", "000000")
	resp, body = postForm(t, browser, s.URL+SignInPath, step, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That code is not right") {
		t.Fatalf("wrong code = %d; want 401 with the code step again", resp.StatusCode)
	}
	step = formFields(t, body)
	step.Set("code", VerificationCode)
	resp, body = postForm(t, browser, s.URL+SignInPath, step, nil)
	_, claims := f.exchange(t, appRedirect(t, resp, body), verifier)
	if claims["acr"] != "urn:okta:loa:2fa:any" || !slices.Equal(toStrings(claims["amr"]), []string{"pwd", "mfa"}) {
		t.Errorf("2fa ID token acr %v amr %v; want urn:okta:loa:2fa:any and [pwd mfa]", claims["acr"], claims["amr"])
	}
	sid, _ := claims["sid"].(string)
	if sid == "" {
		t.Fatalf("ID token has no sid: %v", claims)
	}

	// The two-factor session satisfies a one-factor request silently, and
	// the ID token tells how the user really signed in.
	u, verifier = authorize("urn:okta:loa:1fa:pwd")
	resp, body = get(t, browser, u)
	_, claims = f.exchange(t, appRedirect(t, resp, body), verifier)
	if claims["acr"] != "urn:okta:loa:1fa:pwd" || !slices.Equal(toStrings(claims["amr"]), []string{"pwd", "mfa"}) || claims["sid"] != sid {
		t.Errorf("silent 1fa ID token acr %v amr %v sid %v; want urn:okta:loa:1fa:pwd, [pwd mfa], %s", claims["acr"], claims["amr"], claims["sid"], sid)
	}

	// Without acr_values: no acr claim.
	u, verifier = authorize("")
	resp, body = get(t, browser, u)
	_, claims = f.exchange(t, appRedirect(t, resp, body), verifier)
	if _, ok := claims["acr"]; ok {
		t.Errorf("ID token without acr_values has acr %v", claims["acr"])
	}

	// A one-factor session needs the code for a 2fa request (step-up), and
	// prompt=none cannot do that.
	onefa := newBrowser(t, s)
	signIn(t, s, onefa, authURL(s, "default", nil), "bob@partner.example", "bob-password")
	resp, body = get(t, onefa, authURL(s, "default", map[string]string{"acr_values": "urn:okta:loa:2fa:any"}))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Sign in</h1>") {
		t.Errorf("step-up = %d %q; want the sign-in form", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = get(t, onefa, authURL(s, "default", map[string]string{"acr_values": "urn:okta:loa:2fa:any", "prompt": "none"}))
	if q := appRedirect(t, resp, body); q.Get("error") != "login_required" {
		t.Errorf("step-up with prompt=none = %v; want login_required", q)
	}

	// AutoLogin signs in with both factors when they are asked for.
	s.AutoLogin("bob@partner.example")
	u, verifier = authorize("urn:okta:loa:2fa:any:ifpossible")
	resp, body = get(t, newBrowser(t, s), u)
	_, claims = f.exchange(t, appRedirect(t, resp, body), verifier)
	if !slices.Equal(toStrings(claims["amr"]), []string{"pwd", "mfa"}) || claims["acr"] != "urn:okta:loa:2fa:any:ifpossible" {
		t.Errorf("AutoLogin 2fa: acr %v amr %v", claims["acr"], claims["amr"])
	}
	u, verifier = authorize("")
	resp, body = get(t, newBrowser(t, s), u)
	_, claims = f.exchange(t, appRedirect(t, resp, body), verifier)
	if !slices.Equal(toStrings(claims["amr"]), []string{"pwd"}) {
		t.Errorf("AutoLogin 1fa: amr %v; want [pwd]", claims["amr"])
	}
}

func TestACRValues(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	tests := []struct {
		name, acr, wantACR, wantErr string
	}{
		{"first known wins", "urn:example:gold urn:okta:loa:1fa:any urn:okta:loa:2fa:any", "urn:okta:loa:1fa:any", ""},
		{"unknown values are ignored", "urn:example:gold silver", "", ""},
		{"phr without a passkey is unmet", "phr", "", "unmet_authentication_requirements"},
		{"phrh without Okta Verify is unmet", "phrh urn:okta:loa:1fa:any", "", "unmet_authentication_requirements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, newBrowser(t, s), authURL(s, "default", map[string]string{"acr_values": tt.acr}))
			q := appRedirect(t, resp, body)
			if q.Get("error") != tt.wantErr {
				t.Fatalf("authorize acr_values=%q = %v; want error %q", tt.acr, q, tt.wantErr)
			}
			if tt.wantErr != "" {
				return
			}
			s.mu.Lock()
			ac := s.codes[q.Get("code")]
			s.mu.Unlock()
			if ac == nil || ac.acr != tt.wantACR {
				t.Errorf("code acr = %+v; want %s", ac, tt.wantACR)
			}
		})
	}
	_, body := get(t, s.Client(), s.CustomIssuer("default")+"/.well-known/openid-configuration")
	var doc struct {
		ACR []string `json:"acr_values_supported"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || !slices.Contains(doc.ACR, "urn:okta:loa:2fa:any") {
		t.Errorf("discovery acr_values_supported = %v (%v); want urn:okta:loa:2fa:any listed", doc.ACR, err)
	}
}

// toStrings converts a decoded JSON array of strings.
func toStrings(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
