package comparebench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oktasso/oktasso/oktatest"
	"golang.org/x/oauth2"
)

// The tests below run the fake Okta (oktatest) against go-oidc, a
// reference relying party independent of oktasso: discovery, the code
// flow, ID tokens, at_hash, userinfo, key rotation and refresh as go-oidc
// sees them. oktatest's own tests check the same flows with a relying party
// of x/oauth2 and go-jose.

// TestGoOIDCCodeFlow is oktatest's TestCodeFlow with go-oidc: discovery of
// the org, default and a custom authorization server, the ID token's
// verification and claims, at_hash, userinfo (and a mutated one), and a
// silent second sign-in.
func TestGoOIDCCodeFlow(t *testing.T) {
	s := newFake(t)
	s.AddAuthServer("aus1", "api://custom")
	s.AddScopes("aus1", "groups")
	s.SetGroupsClaim("aus1", oktatest.GroupsClaim{})
	dana := s.AddUser(oktatest.User{Login: "dana@example.com", Password: "pw", FirstName: "Dana", LastName: "Scully", Groups: []string{"X-Files"}})
	s.AutoLogin("dana@example.com")
	for _, tt := range []struct{ name, issuer string }{
		{"org", s.Issuer()},
		{"default", s.CustomIssuer("default")},
		{"custom", s.CustomIssuer("aus1")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newGoOIDC(t, s, tt.issuer)
			browser := newBrowser(t, s)
			tok := f.login(t, browser)
			if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Errorf("token = %+v; want Bearer with expiry", tok)
			}
			if got := tok.Extra("scope"); got != "openid profile email groups" {
				t.Errorf("scope = %v; want %q", got, "openid profile email groups")
			}
			idt, err := f.verifier.Verify(f.ctx, rawIDToken(t, tok))
			if err != nil {
				t.Fatalf("Verify(id_token) = %v", err)
			}
			if idt.Subject != dana.ID || idt.Nonce != "n-1" || idt.Issuer != tt.issuer {
				t.Errorf("id token sub/nonce/iss = %q/%q/%q; want %q/n-1/%q", idt.Subject, idt.Nonce, idt.Issuer, dana.ID, tt.issuer)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("VerifyAccessToken = %v (at_hash)", err)
			}
			var c struct {
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
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
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
			info, err := f.provider.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("UserInfo = %v", err)
			}
			if info.Subject != dana.ID || info.Email != "dana@example.com" {
				t.Errorf("userinfo = %+v", info)
			}
			s.MutateUserInfo(func(c map[string]any) { c["sub"] = "00uSOMEONEELSE" })
			info, err = f.provider.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
			s.MutateUserInfo(nil)
			if err != nil || info.Subject != "00uSOMEONEELSE" {
				t.Errorf("mutated userinfo = %v, %v; want sub 00uSOMEONEELSE", info, err)
			}
			// The SSO session makes a second authorize silent.
			f.login(t, browser)
		})
	}
}

// TestGoOIDCSignModes is the verdict of oktatest's
// TestMutateIDTokenSignModes as go-oidc gives it: it accepts the normal
// and the merely extended ID token and refuses every bad signature and
// claim.
func TestGoOIDCSignModes(t *testing.T) {
	s := newFake(t)
	s.AutoLogin("alice@example.com")
	tests := []struct {
		name    string
		mutate  func(*oktatest.Token)
		wantErr bool
	}{
		{"SignNormal", func(tok *oktatest.Token) { tok.Sign = oktatest.SignNormal }, false},
		{"extra claim", func(tok *oktatest.Token) { tok.Claims["extra"] = "x" }, false},
		{"SignUnknownKey", func(tok *oktatest.Token) { tok.Sign = oktatest.SignUnknownKey }, true},
		{"SignWrongKeySameKid", func(tok *oktatest.Token) { tok.Sign = oktatest.SignWrongKeySameKid }, true},
		{"SignNone", func(tok *oktatest.Token) { tok.Sign = oktatest.SignNone }, true},
		{"SignHS256PublicKey", func(tok *oktatest.Token) { tok.Sign = oktatest.SignHS256PublicKey }, true},
		{"SignCorrupt", func(tok *oktatest.Token) { tok.Sign = oktatest.SignCorrupt }, true},
		{"wrong audience", func(tok *oktatest.Token) { tok.Claims["aud"] = "someone-else" }, true},
		{"wrong issuer", func(tok *oktatest.Token) { tok.Claims["iss"] = "https://evil.example" }, true},
		{"expired", func(tok *oktatest.Token) { tok.Claims["exp"] = time.Now().Add(-time.Hour).Unix() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.MutateIDToken(tt.mutate)
			defer s.MutateIDToken(nil)
			f := newGoOIDC(t, s, s.CustomIssuer("default"))
			raw := rawIDToken(t, f.login(t, newBrowser(t, s)))
			if _, err := f.verifier.Verify(f.ctx, raw); (err != nil) != tt.wantErr {
				t.Fatalf("go-oidc Verify = %v; want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestGoOIDCKeyRotation is oktatest's TestRotate with go-oidc's key set:
// after one Rotate its cached JWKS lacks the new kid and go-oidc fetches it
// again, and both tokens verify; after a second Rotate a new key set no
// longer has the old key.
func TestGoOIDCKeyRotation(t *testing.T) {
	s := newFake(t)
	s.AutoLogin("alice@example.com")
	for _, id := range []string{"", "default"} {
		t.Run("as="+id, func(t *testing.T) {
			issuer := s.Issuer()
			if id != "" {
				issuer = s.CustomIssuer(id)
			}
			f := newGoOIDC(t, s, issuer)
			browser := newBrowser(t, s)
			old := rawIDToken(t, f.login(t, browser))
			if _, err := f.verifier.Verify(f.ctx, old); err != nil { // go-oidc caches the JWKS
				t.Fatalf("Verify(old token) = %v", err)
			}
			s.Rotate(id)
			fresh := rawIDToken(t, f.login(t, browser))
			if oldKid, kid := jwtPart(t, old, 0)["kid"], jwtPart(t, fresh, 0)["kid"]; kid == oldKid {
				t.Fatalf("kid after Rotate = %v; want a new one", kid)
			}
			for name, raw := range map[string]string{"old": old, "new": fresh} {
				if _, err := f.verifier.Verify(f.ctx, raw); err != nil {
					t.Errorf("Verify(%s token) after one Rotate = %v", name, err)
				}
			}
			s.Rotate(id)
			var disco struct {
				JWKSURI string `json:"jwks_uri"`
			}
			if err := f.provider.Claims(&disco); err != nil {
				t.Fatal(err)
			}
			v := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(f.ctx, disco.JWKSURI), &oidc.Config{ClientID: "web"})
			if _, err := v.Verify(f.ctx, old); err == nil {
				t.Error("old token still verifies after its key was unpublished")
			}
			if _, err := v.Verify(f.ctx, fresh); err != nil {
				t.Errorf("previous key's token after second Rotate = %v; want still valid", err)
			}
		})
	}
}

// TestGoOIDCConcurrentFlows is oktatest's TestConcurrentFlows with one
// go-oidc verifier shared by sign-ins that run while the keys rotate.
func TestGoOIDCConcurrentFlows(t *testing.T) {
	s := newFake(t)
	s.AutoLogin("alice@example.com")
	f := newGoOIDC(t, s, s.CustomIssuer("default"))
	t.Run("group", func(t *testing.T) {
		t.Run("rotate", func(t *testing.T) {
			t.Parallel()
			s.Rotate("default")
		})
		for i := range 16 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				tok := f.login(t, newBrowser(t, s))
				if _, err := f.verifier.Verify(f.ctx, rawIDToken(t, tok)); err != nil {
					t.Errorf("Verify = %v", err)
				}
			})
		}
	})
	if n := s.TokenRequests(); n != 16 {
		t.Errorf("TokenRequests() = %d; want 16", n)
	}
}

// TestGoOIDCRefresh is the ID-token part of oktatest's TestRefreshToken
// and TestRefreshTokenRotation: x/oauth2 refreshes, with and without
// rotating refresh tokens, and go-oidc verifies the new ID token, which
// keeps the session's iss, sub, aud, auth_time and sid and has no nonce.
func TestGoOIDCRefresh(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotate=%v", rotate), func(t *testing.T) {
			s := newFake(t)
			s.AutoLogin("alice@example.com")
			s.RotateRefreshTokens(rotate)
			f := newGoOIDC(t, s, s.CustomIssuer("default"))
			f.config.Scopes = append(f.config.Scopes, "offline_access")
			tok := f.login(t, newBrowser(t, s))
			if tok.RefreshToken == "" {
				t.Fatal("no refresh_token with offline_access")
			}
			first := jwtPart(t, rawIDToken(t, tok), 1)
			tok.Expiry = time.Now().Add(-time.Minute) // force a refresh
			fresh, err := f.config.TokenSource(f.ctx, tok).Token()
			if err != nil {
				t.Fatalf("refresh = %v", err)
			}
			if fresh.AccessToken == tok.AccessToken {
				t.Error("refresh returned the same access token")
			}
			if rotate == (fresh.RefreshToken == tok.RefreshToken) {
				t.Errorf("refresh_token after refresh = %q (old %q); want a new one only with rotation", fresh.RefreshToken, tok.RefreshToken)
			}
			idt, err := f.verifier.Verify(f.ctx, rawIDToken(t, fresh))
			if err != nil {
				t.Fatalf("Verify(refreshed id_token) = %v", err)
			}
			var again map[string]any
			if err := idt.Claims(&again); err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"iss", "sub", "aud", "auth_time", "sid"} {
				if again[c] == nil || fmt.Sprint(again[c]) != fmt.Sprint(first[c]) {
					t.Errorf("refreshed ID token %s = %v; want %v", c, again[c], first[c])
				}
			}
			if idt.Nonce != "" {
				t.Errorf("refreshed ID token has nonce %q", idt.Nonce)
			}
		})
	}
}

// TestGoOIDCTwoFactor is the AutoLogin part of oktatest's
// TestTwoFactorSignIn with go-oidc: acr and amr of ID tokens it verifies,
// with and without a two-factor acr_values.
func TestGoOIDCTwoFactor(t *testing.T) {
	s := newFake(t)
	s.AutoLogin("bob@partner.example")
	f := newGoOIDC(t, s, s.CustomIssuer("default"))
	claims := func(opts ...oauth2.AuthCodeOption) (acr string, amr []string) {
		t.Helper()
		idt, err := f.verifier.Verify(f.ctx, rawIDToken(t, f.login(t, newBrowser(t, s), opts...)))
		if err != nil {
			t.Fatalf("Verify = %v", err)
		}
		var c struct {
			ACR string   `json:"acr"`
			AMR []string `json:"amr"`
		}
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		return c.ACR, c.AMR
	}
	if acr, amr := claims(oauth2.SetAuthURLParam("acr_values", "urn:okta:loa:2fa:any:ifpossible")); acr != "urn:okta:loa:2fa:any:ifpossible" || !slices.Equal(amr, []string{"pwd", "mfa"}) {
		t.Errorf("AutoLogin 2fa: acr %v amr %v; want urn:okta:loa:2fa:any:ifpossible and [pwd mfa]", acr, amr)
	}
	if acr, amr := claims(); acr != "" || !slices.Equal(amr, []string{"pwd"}) {
		t.Errorf("AutoLogin 1fa: acr %q amr %v; want no acr and [pwd]", acr, amr)
	}
}
