package oktatest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestCodeFlow runs the code flow against the org, default and a custom
// authorization server. internal/comparebench's TestGoOIDCCodeFlow runs it
// with go-oidc as the relying party.
func TestCodeFlow(t *testing.T) {
	s := newTestServer(t)
	s.AddAuthServer("aus1", "api://custom")
	for _, id := range []string{"default", "aus1"} { // custom servers: groups only once defined
		s.AddScopes(id, "groups")
		s.SetGroupsClaim(id, GroupsClaim{})
	}
	alice := s.AddUser(User{Login: "dana@example.com", Password: "pw", FirstName: "Dana", LastName: "Scully", Groups: []string{"X-Files"}})
	tests := []struct {
		name     string
		issuer   string
		audience string
	}{
		{"org", s.Issuer(), s.URL},
		{"default", s.CustomIssuer("default"), "api://default"},
		{"custom", s.CustomIssuer("aus1"), "api://custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(t, s, tt.issuer)
			f.config.Scopes = []string{"openid", "profile", "email", "groups"}
			browser := newBrowser(t, s)
			verifier := oauth2.GenerateVerifier()
			q := signIn(t, s, browser, f.config.AuthCodeURL("st-9", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-9")), "dana@example.com", "pw")
			if q.Get("state") != "st-9" || q.Has("iss") {
				t.Fatalf("callback query = %v; want state st-9 and no iss", q)
			}
			before := s.TokenRequests()
			tok, err := f.config.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange = %v", err)
			}
			if got := s.TokenRequests() - before; got != 1 {
				t.Errorf("TokenRequests grew by %d; want 1", got)
			}
			if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Errorf("token = %+v; want Bearer with expiry", tok)
			}
			if got := tok.Extra("scope"); got != "openid profile email groups" {
				t.Errorf("scope = %v; want %q", got, "openid profile email groups")
			}
			var c struct {
				Subject           string   `json:"sub"`
				Nonce             string   `json:"nonce"`
				Issuer            string   `json:"iss"`
				AccessTokenHash   string   `json:"at_hash"`
				Ver               int      `json:"ver"`
				JTI               string   `json:"jti"`
				AMR               []string `json:"amr"`
				IDP               string   `json:"idp"`
				AuthTime          int64    `json:"auth_time"`
				Name              string   `json:"name"`
				PreferredUsername string   `json:"preferred_username"`
				Email             string   `json:"email"`
				EmailVerified     bool     `json:"email_verified"`
				Groups            []string `json:"groups"`
				Locale            string   `json:"locale"`
				UpdatedAt         int64    `json:"updated_at"`
			}
			if err := f.verify(rawIDToken(t, tok), &c); err != nil {
				t.Fatalf("verify(id_token) = %v", err)
			}
			if c.Subject != alice.ID || c.Nonce != "n-9" || c.Issuer != tt.issuer {
				t.Errorf("id token sub/nonce/iss = %q/%q/%q; want %q/n-9/%q", c.Subject, c.Nonce, c.Issuer, alice.ID, tt.issuer)
			}
			// at_hash (OIDC Core 3.1.3.6): the left half of the access
			// token's SHA-256, base64url.
			sum := sha256.Sum256([]byte(tok.AccessToken))
			if want := base64.RawURLEncoding.EncodeToString(sum[:16]); c.AccessTokenHash != want {
				t.Errorf("at_hash = %q; want %q", c.AccessTokenHash, want)
			}
			if c.Ver != 1 || !strings.HasPrefix(c.JTI, "ID.") || !slices.Equal(c.AMR, []string{"pwd"}) ||
				!strings.HasPrefix(c.IDP, "00o") || c.AuthTime == 0 || c.UpdatedAt == 0 || c.Locale == "" {
				t.Errorf("Okta claims = %+v", c)
			}
			if c.Name != "Dana Scully" || c.PreferredUsername != "dana@example.com" || c.Email != "dana@example.com" || !c.EmailVerified {
				t.Errorf("profile/email claims = %+v", c)
			}
			if !slices.Equal(c.Groups, []string{"Everyone", "X-Files"}) {
				t.Errorf("groups = %v; want [Everyone X-Files]", c.Groups)
			}
			at := jwtClaims(t, tok.AccessToken)
			if at["aud"] != tt.audience || at["iss"] != tt.issuer || at["sub"] != "dana@example.com" ||
				at["uid"] != alice.ID || at["cid"] != "web" || !strings.HasPrefix(at["jti"].(string), "AT.") {
				t.Errorf("access token claims = %v", at)
			}
			info, err := f.userInfo(tok)
			if err != nil {
				t.Fatalf("userInfo = %v", err)
			}
			if info["sub"] != alice.ID || info["email"] != "dana@example.com" {
				t.Errorf("userinfo = %v", info)
			}
			// The SSO session makes a second authorize silent.
			f.login(t, s, browser)
		})
	}
}

func TestClientAuthMethods(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	tests := []struct {
		name, clientID, secret string
		style                  oauth2.AuthStyle
		wantErr                string
	}{
		{"basic", "web", "web-secret", oauth2.AuthStyleInHeader, ""},
		{"basic autodetect", "web", "web-secret", oauth2.AuthStyleAutoDetect, ""},
		{"post with reserved chars", "post", "post secret&=", oauth2.AuthStyleInParams, ""},
		{"public", "spa", "", oauth2.AuthStyleInParams, ""},
		{"basic client using post", "web", "web-secret", oauth2.AuthStyleInParams, "invalid_client"},
		{"post client using basic", "post", "post secret&=", oauth2.AuthStyleInHeader, "invalid_client"},
		{"wrong secret", "web", "nope", oauth2.AuthStyleInHeader, "invalid_client"},
		{"unknown client", "ghost", "x", oauth2.AuthStyleInHeader, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(t, s, s.CustomIssuer("default"))
			f.config.ClientID, f.config.ClientSecret = tt.clientID, tt.secret
			f.config.Endpoint.AuthStyle = tt.style
			verifier := oauth2.GenerateVerifier()
			// Authorize as a client the server knows, so that code lookup is
			// not what fails.
			authCfg := f.config
			if tt.clientID == "ghost" {
				authCfg.ClientID = "web"
			}
			resp, body := get(t, newBrowser(t, s), authCfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
			q := appRedirect(t, resp, body)
			_, err := f.config.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Exchange = %v; want success", err)
				}
				return
			}
			re, ok := err.(*oauth2.RetrieveError)
			if !ok || re.ErrorCode != tt.wantErr || re.Response.StatusCode != http.StatusUnauthorized {
				t.Fatalf("Exchange error = %v; want %s with 401", err, tt.wantErr)
			}
		})
	}
}

// tokenError posts to the default server's token endpoint and decodes an
// error answer.
func tokenCall(t *testing.T, s *Server, form url.Values, basic bool) (int, map[string]any, http.Header) {
	t.Helper()
	h := http.Header{}
	if basic {
		h.Set("Authorization", "Basic "+b64std("web:web-secret"))
	}
	resp, body := postForm(t, s.Client(), s.CustomIssuer("default")+"/v1/token", form, h)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("token response %q: %v", body, err)
	}
	return resp.StatusCode, m, resp.Header
}

func TestTokenErrors(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	browser := newBrowser(t, s)
	code := func(t *testing.T) (string, string) {
		verifier, challenge := pkce()
		resp, body := get(t, browser, authURL(s, "default", map[string]string{"code_challenge": challenge}))
		return appRedirect(t, resp, body).Get("code"), verifier
	}
	tests := []struct {
		name        string
		form        func(code, verifier string) url.Values
		basic       bool
		status      int
		wantErr     string
		wantDesc    string
		redeemTwice bool
	}{
		{"success", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {v}, "redirect_uri": {webRedirect}}
		}, true, 200, "", "", false},
		{"reused code", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {v}, "redirect_uri": {webRedirect}}
		}, true, 400, "invalid_grant", "", true},
		{"bad verifier", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {v + "x"}, "redirect_uri": {webRedirect}}
		}, true, 400, "invalid_grant", "PKCE verification failed.", false},
		{"missing verifier", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {webRedirect}}
		}, true, 400, "invalid_grant", "PKCE verification failed.", false},
		{"redirect_uri mismatch", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {v}, "redirect_uri": {webRedirect + "x"}}
		}, true, 400, "invalid_grant", "", false},
		{"unknown code", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "code_verifier": {v}, "redirect_uri": {webRedirect}}
		}, true, 400, "invalid_grant", "", false},
		{"wrong secret", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {v}, "redirect_uri": {webRedirect}, "client_id": {"web"}, "client_secret": {"nope"}}
		}, false, 401, "invalid_client", "", false},
		{"no client auth", func(c, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}}
		}, false, 401, "invalid_client", "", false},
		{"unsupported grant", func(c, v string) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {"alice@example.com"}}
		}, true, 400, "unsupported_grant_type", "", false},
		{"refresh without offline_access", func(c, v string) url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}
		}, true, 400, "invalid_grant", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, v := code(t)
			form := tt.form(c, v)
			if tt.redeemTwice {
				if st, m, _ := tokenCall(t, s, form, tt.basic); st != 200 {
					t.Fatalf("first redemption = %d %v", st, m)
				}
			}
			status, m, h := tokenCall(t, s, form, tt.basic)
			if status != tt.status || (tt.wantErr != "" && m["error"] != tt.wantErr) {
				t.Fatalf("token = %d %v; want %d %s", status, m, tt.status, tt.wantErr)
			}
			if tt.wantDesc != "" && m["error_description"] != tt.wantDesc {
				t.Errorf("error_description = %q; want %q", m["error_description"], tt.wantDesc)
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store", h.Get("Cache-Control"))
			}
			if tt.status == 200 {
				for _, k := range []string{"access_token", "id_token", "token_type", "expires_in", "scope"} {
					if _, ok := m[k]; !ok {
						t.Errorf("token response lacks %q: %v", k, m)
					}
				}
				if _, ok := m["refresh_token"]; ok {
					t.Errorf("refresh_token issued without offline_access")
				}
			}
		})
	}
}

func TestCodeExpires(t *testing.T) {
	now := time.Now()
	clock := make(chan time.Time, 1)
	clock <- now
	s := NewUnstartedServer()
	s.Now = func() time.Time { t := <-clock; clock <- t; return t }
	s.Start()
	defer s.Close()
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}})
	s.AddDemoUsers()
	s.AutoLogin("alice@example.com")
	verifier, challenge := pkce()
	resp, body := get(t, newBrowser(t, s), authURL(s, "default", map[string]string{"code_challenge": challenge}))
	c := appRedirect(t, resp, body).Get("code")
	<-clock
	clock <- now.Add(codeLifetime + time.Second)
	status, m, _ := tokenCall(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {verifier}, "redirect_uri": {webRedirect}}, true)
	if status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("expired code = %d %v; want 400 invalid_grant", status, m)
	}
}

func TestRefreshToken(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	f := newFlow(t, s, s.CustomIssuer("default"))
	f.config.Scopes = append(f.config.Scopes, "offline_access")
	tok := f.login(t, s, newBrowser(t, s))
	if tok.RefreshToken == "" {
		t.Fatal("no refresh_token with offline_access")
	}
	tok.Expiry = time.Now().Add(-time.Minute) // force a refresh
	fresh, err := f.config.TokenSource(f.ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh = %v", err)
	}
	if fresh.AccessToken == tok.AccessToken {
		t.Error("refresh returned the same access token")
	}
	if err := f.verify(rawIDToken(t, fresh)); err != nil {
		t.Errorf("verify(refreshed id_token) = %v", err)
	}
}

func TestClientCredentials(t *testing.T) {
	s := newTestServer(t)
	status, m, _ := tokenCall(t, s, url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}, true)
	if status != 200 {
		t.Fatalf("client_credentials = %d %v", status, m)
	}
	at := jwtClaims(t, m["access_token"].(string))
	if at["sub"] != "web" || at["cid"] != "web" || at["uid"] != nil || m["id_token"] != nil {
		t.Errorf("client_credentials token = %v, claims %v; want sub == cid, no uid, no id_token", m, at)
	}
	status, m, _ = tokenCall(t, s, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, true)
	if status != 400 || m["error"] != "invalid_scope" {
		t.Errorf("client_credentials with openid = %d %v; want invalid_scope", status, m)
	}
}

func TestRevokeAndIntrospect(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	f := newFlow(t, s, s.CustomIssuer("default"))
	tok := f.login(t, s, newBrowser(t, s))
	h := http.Header{"Authorization": {"Basic " + b64std("web:web-secret")}}
	introspect := func() map[string]any {
		_, body := postForm(t, s.Client(), s.CustomIssuer("default")+"/v1/introspect", url.Values{"token": {tok.AccessToken}}, h)
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		return m
	}
	if m := introspect(); m["active"] != true || m["username"] != "alice@example.com" {
		t.Errorf("introspect = %v; want active", m)
	}
	resp, _ := postForm(t, s.Client(), s.CustomIssuer("default")+"/v1/revoke", url.Values{"token": {tok.AccessToken}}, h)
	if resp.StatusCode != 200 {
		t.Errorf("revoke = %d; want 200", resp.StatusCode)
	}
	if m := introspect(); m["active"] != false {
		t.Errorf("introspect after revoke = %v; want inactive", m)
	}
}

func TestRefreshTokenRotation(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotate=%v", rotate), func(t *testing.T) {
			s := newTestServer(t)
			s.AutoLogin("alice@example.com")
			s.RotateRefreshTokens(rotate)
			s.SetRefreshGracePeriod(0) // TestRefreshGracePeriod covers the grace period
			f := newFlow(t, s, s.CustomIssuer("default"))
			f.config.Scopes = append(f.config.Scopes, "offline_access")
			tok := f.login(t, s, newBrowser(t, s))
			first := jwtClaims(t, rawIDToken(t, tok))
			refresh := func(rt string) (int, map[string]any) {
				t.Helper()
				status, m, _ := tokenCall(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
				return status, m
			}
			status, m := refresh(tok.RefreshToken)
			if status != 200 {
				t.Fatalf("refresh = %d %v", status, m)
			}
			idToken, _ := m["id_token"].(string)
			if err := f.verify(idToken); err != nil {
				t.Fatalf("verify(refreshed id_token) = %v", err)
			}
			again := jwtClaims(t, idToken)
			for _, c := range []string{"iss", "sub", "aud", "auth_time", "sid"} {
				if again[c] == nil || fmt.Sprint(again[c]) != fmt.Sprint(first[c]) {
					t.Errorf("refreshed ID token %s = %v; want %v", c, again[c], first[c])
				}
			}
			if _, ok := again["nonce"]; ok {
				t.Error("refreshed ID token has a nonce")
			}
			next, _ := m["refresh_token"].(string)
			if rotate == (next == tok.RefreshToken) || next == "" {
				t.Errorf("refresh_token after refresh = %q (old %q); want a new one only with rotation", next, tok.RefreshToken)
			}
			status, m = refresh(tok.RefreshToken)
			if rotate && (status != 400 || m["error"] != "invalid_grant") {
				t.Errorf("reused refresh token with rotation = %d %v; want 400 invalid_grant", status, m)
			}
			if !rotate && status != 200 {
				t.Errorf("reused refresh token without rotation = %d %v; want 200", status, m)
			}
			// Reuse revoked the whole family: the newest token is dead too.
			if status, m = refresh(next); rotate != (status == 400) || (!rotate && status != 200) {
				t.Errorf("refresh with the newest token after a reuse = %d %v; want 400 with rotation, 200 without", status, m)
			}
		})
	}
}

func TestSIDClaim(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	f := newFlow(t, s, s.CustomIssuer("default"))
	browser := newBrowser(t, s)
	sid1 := jwtClaims(t, rawIDToken(t, f.login(t, s, browser)))["sid"]
	sid2 := jwtClaims(t, rawIDToken(t, f.login(t, s, browser)))["sid"]
	other := jwtClaims(t, rawIDToken(t, f.login(t, s, newBrowser(t, s))))["sid"]
	if sid, _ := sid1.(string); sid == "" || sid1 != sid2 || sid1 == other {
		t.Errorf("sid = %v, %v in one SSO session and %v in another; want one non-empty sid per session", sid1, sid2, other)
	}
	for _, c := range browserCookies(t, browser, s.URL) {
		if c.Value == sid1 {
			t.Error("sid is the session cookie's value")
		}
	}
}

// browserCookies returns the cookies the browser would send to u.
func browserCookies(t testing.TB, browser *http.Client, u string) []*http.Cookie {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return browser.Jar.Cookies(pu)
}

func TestMutateTokenResponse(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	s.MutateTokenResponse(func(resp map[string]any) {
		resp["token_type"] = "mac"
		delete(resp, "scope")
	})
	f := newFlow(t, s, s.CustomIssuer("default"))
	tok := f.login(t, s, newBrowser(t, s))
	if tok.TokenType != "mac" || tok.Extra("scope") != nil || rawIDToken(t, tok) == "" {
		t.Errorf("token response after MutateTokenResponse: token_type %q, scope %v; want mac, no scope, an ID token", tok.TokenType, tok.Extra("scope"))
	}
	s.MutateTokenResponse(nil)
	if tok := f.login(t, s, newBrowser(t, s)); tok.TokenType != "Bearer" {
		t.Errorf("token_type after MutateTokenResponse(nil) = %q; want Bearer", tok.TokenType)
	}
}

// TestRefreshGracePeriod: with rotation (the default), a redeemed refresh
// token keeps working for the grace period, answering with the family's
// newest refresh token; after it, redeeming it is reuse and revokes the
// whole family, access tokens included.
func TestRefreshGracePeriod(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	tests := []struct {
		name      string
		grace     time.Duration // -1: the default
		wait      time.Duration
		wantReuse bool
	}{
		{"default grace, retry within", -1, 29 * time.Second, true},
		{"default grace, retry after", -1, 31 * time.Second, false},
		{"grace 0", 0, 0, true}, // the same instant is still within a zero grace period
		{"grace 0, a second later", 0, time.Second, false},
		{"grace 60 s", time.Minute, 59 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewUnstartedServer()
			s.Now = clock
			s.Start()
			t.Cleanup(s.Close)
			s.AddDemoUsers()
			s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}})
			if tt.grace >= 0 {
				s.SetRefreshGracePeriod(tt.grace)
			}
			s.AutoLogin("alice@example.com")
			f := newFlow(t, s, s.CustomIssuer("default"))
			f.config.Scopes = append(f.config.Scopes, "offline_access")
			tok := f.login(t, s, newBrowser(t, s))
			refresh := func(rt string) (int, map[string]any) {
				t.Helper()
				status, m, _ := tokenCall(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
				return status, m
			}
			status, first := refresh(tok.RefreshToken)
			next, _ := first["refresh_token"].(string)
			if status != 200 || next == "" || next == tok.RefreshToken {
				t.Fatalf("first refresh = %d %v; want a new refresh token", status, first)
			}
			advance(tt.wait)
			status, again := refresh(tok.RefreshToken)
			if tt.wantReuse {
				if status != 200 || again["refresh_token"] != next {
					t.Fatalf("retry within the grace period = %d %v; want 200 with the newest refresh token", status, again)
				}
				if status, m := refresh(next); status != 200 {
					t.Errorf("refresh with the newest token after a retry = %d %v; want 200", status, m)
				}
				return
			}
			if status != 400 || again["error"] != "invalid_grant" {
				t.Fatalf("reuse after the grace period = %d %v; want 400 invalid_grant", status, again)
			}
			if status, m := refresh(next); status != 400 {
				t.Errorf("newest refresh token after a reuse = %d %v; want 400: the family is revoked", status, m)
			}
			at, _ := first["access_token"].(string)
			req, _ := http.NewRequest("GET", s.CustomIssuer("default")+"/v1/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("userinfo with the family's access token after a reuse = %d; want 401", resp.StatusCode)
			}
		})
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("SetRefreshGracePeriod(61 s) did not panic")
			}
		}()
		NewUnstartedServer().SetRefreshGracePeriod(61 * time.Second)
	}()
}

// TestCustomServerGroupsScope: a custom authorization server refuses the
// groups scope until it is defined, and sends groups only through a
// configured groups claim; the org server keeps its generous default.
func TestCustomServerGroupsScope(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	resp, body := get(t, newBrowser(t, s), authURL(s, "default", map[string]string{"scope": "openid groups"}))
	if q := appRedirect(t, resp, body); q.Get("error") != "invalid_scope" {
		t.Errorf("groups scope on an undefined custom server = %v; want invalid_scope", q)
	}
	_, disco := get(t, s.Client(), s.CustomIssuer("default")+"/.well-known/openid-configuration")
	if strings.Contains(disco, `"groups"`) {
		t.Error("custom server discovery lists the groups scope before it is defined")
	}
	s.AddScopes("default", "groups")
	f := newFlow(t, s, s.CustomIssuer("default"))
	f.config.Scopes = []string{"openid", "groups"}
	claims := jwtClaims(t, rawIDToken(t, f.login(t, s, newBrowser(t, s))))
	if _, ok := claims["groups"]; ok {
		t.Errorf("ID token with the groups scope and no groups claim has groups %v; want none", claims["groups"])
	}
	s.SetGroupsClaim("default", GroupsClaim{Name: "roles", Filter: "Eng.*"})
	claims = jwtClaims(t, rawIDToken(t, f.login(t, s, newBrowser(t, s))))
	if got := toStrings(claims["roles"]); !slices.Equal(got, []string{"Engineering"}) {
		t.Errorf("roles claim = %v; want [Engineering]", claims["roles"])
	}
	org := newFlow(t, s, s.Issuer())
	if got := toStrings(jwtClaims(t, rawIDToken(t, org.login(t, s, newBrowser(t, s))))["groups"]); len(got) != 3 {
		t.Errorf("org server groups = %v; want alice's three", got)
	}
}
