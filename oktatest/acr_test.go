package oktatest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// stepUpServer has users with different authenticators: carol a passkey,
// dave Okta Verify, erin a password alone; alice has the default
// (password and email).
func stepUpServer(t *testing.T) *Server {
	t.Helper()
	s := newTestServer(t)
	s.AddUser(User{Login: "carol@example.com", Password: "carol-pw", Authenticators: []string{"okta_password", "webauthn"}})
	s.AddUser(User{Login: "dave@example.com", Password: "dave-pw", Authenticators: []string{"okta_password", "okta_verify"}})
	s.AddUser(User{Login: "erin@example.com", Password: "erin-pw", Authenticators: []string{"okta_password"}})
	return s
}

// authorizeACR returns an authorize URL of the default server for client
// web with acr_values, and its PKCE verifier.
func authorizeACR(f *oidcFlow, acr string, extra ...oauth2.AuthCodeOption) (string, string) {
	verifier := oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-1")}, extra...)
	if acr != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", acr))
	}
	return f.config.AuthCodeURL("st-1", opts...), verifier
}

// TestACRByAuthenticators: what a sign-in can prove depends on the user's
// authenticators; a requirement they cannot meet comes back to the
// application as unmet_authentication_requirements, as at Okta.
func TestACRByAuthenticators(t *testing.T) {
	tests := []struct {
		user, acr string
		wantAMR   []string // nil: unmet
	}{
		{"alice@example.com", "", []string{"pwd"}},
		{"alice@example.com", "urn:okta:loa:2fa:any", []string{"pwd", "mfa"}},
		{"alice@example.com", "phr", nil},
		{"alice@example.com", "phrh", nil},
		{"carol@example.com", "phr", []string{"pwd", "mfa", "pop"}},
		{"carol@example.com", "phrh", nil},
		{"carol@example.com", "phrh phr", nil}, // the first known value is the requirement
		{"dave@example.com", "phrh", []string{"pwd", "mfa", "hwk"}},
		{"dave@example.com", "phr", nil}, // only passkeys satisfy phr (Okta's documentation)
		{"erin@example.com", "urn:okta:loa:2fa:any", nil},
		{"erin@example.com", "urn:okta:loa:2fa:any:ifpossible", []string{"pwd"}},
		{"erin@example.com", "urn:okta:loa:1fa:pwd", []string{"pwd"}},
		{"erin@example.com", "urn:example:unknown", []string{"pwd"}},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.acr, func(t *testing.T) {
			s := stepUpServer(t)
			s.AutoLogin(tt.user)
			f := newFlow(t, s, s.CustomIssuer("default"))
			u, verifier := authorizeACR(f, tt.acr)
			resp, body := get(t, newBrowser(t, s), u)
			q := appRedirect(t, resp, body)
			if tt.wantAMR == nil {
				if q.Get("error") != "unmet_authentication_requirements" || q.Get("state") != "st-1" || q.Has("code") {
					t.Fatalf("callback = %v; want error=unmet_authentication_requirements with the state", q)
				}
				return
			}
			_, claims := f.exchange(t, q, verifier)
			if !slices.Equal(toStrings(claims["amr"]), tt.wantAMR) {
				t.Errorf("amr = %v; want %v", claims["amr"], tt.wantAMR)
			}
			if wantACR := chooseACR(tt.acr); (wantACR == "") != (claims["acr"] == nil) || (wantACR != "" && claims["acr"] != wantACR) {
				t.Errorf("acr = %v; want %q", claims["acr"], wantACR)
			}
		})
	}
}

// TestPhishingResistantForm: through the sign-in form, a phr step-up asks
// for the second factor after the password; a user without a passkey is
// sent back with the error once identified; a session's sign-in that was
// not phishing-resistant does not count.
func TestPhishingResistantForm(t *testing.T) {
	s := stepUpServer(t)
	f := newFlow(t, s, s.CustomIssuer("default"))

	browser := newBrowser(t, s)
	signIn(t, s, browser, authURL(s, "default", nil), "carol@example.com", "carol-pw") // one factor
	u, verifier := authorizeACR(f, "phr")
	_, body := get(t, browser, u)
	form := formFields(t, body) // step-up: the form again
	form.Set("username", "carol@example.com")
	form.Set("password", "carol-pw")
	resp, body := postForm(t, browser, s.URL+SignInPath, form, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, VerificationCode) {
		t.Fatalf("after carol's password = %d; want the second-factor step", resp.StatusCode)
	}
	step := formFields(t, body)
	step.Set("code", VerificationCode)
	resp, body = postForm(t, browser, s.URL+SignInPath, step, nil)
	_, claims := f.exchange(t, appRedirect(t, resp, body), verifier)
	if claims["acr"] != "phr" || !slices.Equal(toStrings(claims["amr"]), amrPHR) {
		t.Errorf("phr sign-in: acr %v amr %v; want phr %v", claims["acr"], claims["amr"], amrPHR)
	}
	// The phishing-resistant session now satisfies phr silently.
	u, verifier = authorizeACR(f, "phr")
	resp, body = get(t, browser, u)
	f.exchange(t, appRedirect(t, resp, body), verifier)

	// erin has no passkey: unmet after the password, and at once with a session.
	erin := newBrowser(t, s)
	u, _ = authorizeACR(f, "phr")
	_, body = get(t, erin, u)
	form = formFields(t, body)
	form.Set("username", "erin@example.com")
	form.Set("password", "erin-pw")
	resp, body = postForm(t, erin, s.URL+SignInPath, form, nil)
	if q := appRedirect(t, resp, body); q.Get("error") != "unmet_authentication_requirements" {
		t.Errorf("erin phr after the password = %v; want unmet_authentication_requirements", q)
	}
	signIn(t, s, erin, authURL(s, "default", nil), "erin@example.com", "erin-pw")
	resp, body = get(t, erin, authURL(s, "default", map[string]string{"acr_values": "phr"}))
	if q := appRedirect(t, resp, body); q.Get("error") != "unmet_authentication_requirements" {
		t.Errorf("erin phr with a session = %v; want unmet_authentication_requirements", q)
	}
}

// TestEnrollAuthenticator: prompt=enroll_authenticator with
// enroll_amr_values and max_age=0 (what Okta's SDK sends, with
// response_type=none and no scope) signs the user in again, enrolls the
// authenticator and returns to the application with the state alone; the
// user can then step up to phr.
func TestEnrollAuthenticator(t *testing.T) {
	s := stepUpServer(t)
	s.AutoLogin("erin@example.com")
	f := newFlow(t, s, s.CustomIssuer("default"))
	enroll := map[string]string{
		"prompt": "enroll_authenticator", "enroll_amr_values": "pop", "max_age": "0",
		"response_type": "none", "scope": "", "code_challenge": "", "code_challenge_method": "", "acr_values": "urn:okta:loa:2fa:any:ifpossible",
	}
	with := func(over map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range enroll {
			m[k] = v
		}
		for k, v := range over {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		params  map[string]string
		wantErr string
	}{
		{"enroll_amr_values missing", with(map[string]string{"enroll_amr_values": ""}), "invalid_request"},
		{"max_age missing", with(map[string]string{"max_age": ""}), "invalid_request"},
		{"max_age not 0", with(map[string]string{"max_age": "60"}), "invalid_request"},
		{"combined with login", with(map[string]string{"prompt": "enroll_authenticator login"}), "invalid_request"},
		{"response_type none without enroll", map[string]string{"response_type": "none"}, "unsupported_response_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, newBrowser(t, s), authURL(s, "default", tt.params))
			if q := appRedirect(t, resp, body); q.Get("error") != tt.wantErr {
				t.Errorf("authorize = %v; want error %s", q, tt.wantErr)
			}
		})
	}
	before := len(s.AuthorizeRequests())
	resp, body := get(t, newBrowser(t, s), authURL(s, "default", enroll))
	q := appRedirect(t, resp, body)
	if q.Get("state") != "st-123" || q.Has("code") || q.Has("error") {
		t.Fatalf("enrollment callback = %v; want the state alone", q)
	}
	if u, _ := s.LookupUser("erin@example.com"); !slices.Equal(u.Authenticators, []string{"okta_password", "webauthn"}) {
		t.Errorf("erin's authenticators after enrolling pop = %v; want okta_password and webauthn", u.Authenticators)
	}
	reqs := s.AuthorizeRequests()[before:]
	if len(reqs) != 1 || reqs[0].Query.Get("prompt") != "enroll_authenticator" || reqs[0].Query.Get("enroll_amr_values") != "pop" ||
		reqs[0].Issuer != s.CustomIssuer("default") {
		t.Errorf("AuthorizeRequests() = %+v; want the enrollment request", reqs)
	}
	u, verifier := authorizeACR(f, "phr")
	resp, body = get(t, newBrowser(t, s), u)
	if _, claims := f.exchange(t, appRedirect(t, resp, body), verifier); claims["acr"] != "phr" {
		t.Errorf("phr after enrolling a passkey: acr %v", claims["acr"])
	}
	// response_type=code is accepted too, and issues a code.
	resp, body = get(t, newBrowser(t, s), authURL(s, "default", with(map[string]string{"response_type": "code", "scope": "openid", "enroll_amr_values": "hwk"})))
	if q := appRedirect(t, resp, body); q.Get("code") == "" {
		t.Errorf("enrollment with response_type=code = %v; want a code", q)
	}
}

// TestAuthorizeRequestsIDP: idp is accepted and recorded; the fake signs
// the user in itself. Invalid requests are not recorded, and the record is
// bounded.
func TestAuthorizeRequestsIDP(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	resp, body := get(t, newBrowser(t, s), authURL(s, "", map[string]string{"idp": "0oaexternal123", "login_hint": "alice@example.com"}))
	if q := appRedirect(t, resp, body); q.Get("code") == "" {
		t.Fatalf("authorize with idp = %v; want a code", q)
	}
	get(t, newBrowser(t, s), authURL(s, "", map[string]string{"idp": "a", "scope": "email"})) // no openid: refused
	reqs := s.AuthorizeRequests()
	if len(reqs) != 1 || reqs[0].Query.Get("idp") != "0oaexternal123" || reqs[0].Query.Get("login_hint") != "alice@example.com" || reqs[0].Issuer != s.URL {
		t.Fatalf("AuthorizeRequests() = %+v; want the one valid request with its idp", reqs)
	}
	reqs[0].Query.Set("idp", "changed")
	if s.AuthorizeRequests()[0].Query.Get("idp") != "0oaexternal123" {
		t.Error("AuthorizeRequests() shares its maps with the caller")
	}
	for range authorizeLogSize + 5 {
		s.recordAuthorize(s.org, nil)
	}
	if n := len(s.AuthorizeRequests()); n != authorizeLogSize {
		t.Errorf("len(AuthorizeRequests()) = %d; want at most %d", n, authorizeLogSize)
	}
}

// FuzzAuthorize: whatever the query of an authorize request (acr_values,
// prompt, enroll_amr_values, max_age, idp…), the fake answers without a
// 5xx or a panic, and redirects only to the registered redirect URI or its
// own sign-in form.
func FuzzAuthorize(f *testing.F) {
	s := NewServer()
	defer s.Close()
	s.AddDemoUsers()
	s.AddUser(User{Login: "carol@example.com", Authenticators: []string{"okta_password", "webauthn"}})
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}})
	s.AutoLogin("carol@example.com")
	base := "client_id=web&redirect_uri=" + url.QueryEscape(webRedirect) + "&state=s&"
	for _, seed := range []string{
		"response_type=code&scope=openid&acr_values=phr",
		"response_type=code&scope=openid&acr_values=phrh+urn:okta:loa:2fa:any",
		"response_type=none&prompt=enroll_authenticator&enroll_amr_values=pop+hwk&max_age=0",
		"response_type=code&scope=openid+groups&idp=0oa1&max_age=-1",
		"response_type=code&scope=openid&prompt=none+login&acr_values=%00",
		"response_type=code&scope=openid&acr_values=a&acr_values=b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, target := range []string{"/oauth2/default/v1/authorize?" + base + q, "/oauth2/v1/authorize?" + q} {
			req := httptest.NewRequest("GET", "http://fake"+"/x", nil)
			u, err := url.Parse(target)
			if err != nil {
				return
			}
			req.URL = u
			req.RequestURI = target
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("GET %s = %d", target, rec.Code)
			}
			if loc := rec.Header().Get("Location"); rec.Code == http.StatusFound &&
				!strings.HasPrefix(loc, webRedirect+"?") && !strings.HasPrefix(loc, s.URL+SignInPath+"?") {
				t.Fatalf("GET %s redirects to %q", target, loc)
			}
		}
	})
}
