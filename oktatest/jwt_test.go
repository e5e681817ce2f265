package oktatest

import (
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestMutateIDTokenSignModes(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	tests := []struct {
		name    string
		mutate  func(*Token)
		wantErr bool
		check   func(t *testing.T, raw string)
	}{
		{name: "SignNormal", mutate: func(tok *Token) { tok.Sign = SignNormal }},
		{name: "extra claim", mutate: func(tok *Token) { tok.Claims["extra"] = "x" }, check: func(t *testing.T, raw string) {
			if jwtClaims(t, raw)["extra"] != "x" {
				t.Error("mutation lost")
			}
		}},
		{name: "SignUnknownKey", mutate: func(tok *Token) { tok.Sign = SignUnknownKey }, wantErr: true},
		{name: "SignWrongKeySameKid", mutate: func(tok *Token) { tok.Sign = SignWrongKeySameKid }, wantErr: true, check: func(t *testing.T, raw string) {
			if !publishedKid(s, "default", jwtHeader(t, raw)["kid"]) {
				t.Error("kid is not the published one")
			}
		}},
		{name: "SignNone", mutate: func(tok *Token) { tok.Sign = SignNone }, wantErr: true, check: func(t *testing.T, raw string) {
			if jwtHeader(t, raw)["alg"] != "none" || !strings.HasSuffix(raw, ".") {
				t.Errorf("alg none token = %q", raw)
			}
		}},
		{name: "SignHS256PublicKey", mutate: func(tok *Token) { tok.Sign = SignHS256PublicKey }, wantErr: true, check: func(t *testing.T, raw string) {
			if jwtHeader(t, raw)["alg"] != "HS256" {
				t.Error("alg is not HS256")
			}
		}},
		{name: "SignCorrupt", mutate: func(tok *Token) { tok.Sign = SignCorrupt }, wantErr: true},
		{name: "wrong audience", mutate: func(tok *Token) { tok.Claims["aud"] = "someone-else" }, wantErr: true},
		{name: "wrong issuer", mutate: func(tok *Token) { tok.Claims["iss"] = "https://evil.example" }, wantErr: true},
		{name: "expired", mutate: func(tok *Token) { tok.Claims["exp"] = time.Now().Add(-time.Hour).Unix() }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.MutateIDToken(tt.mutate)
			defer s.MutateIDToken(nil)
			f := newFlow(t, s, s.CustomIssuer("default"))
			raw := rawIDToken(t, f.login(t, s, newBrowser(t, s)))
			err := f.verify(raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("verify = %v; want error %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, raw)
			}
		})
	}
}

// publishedKid reports whether kid is in the JWKS of authorization server id.
func publishedKid(s *Server, id string, kid any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	as := s.org
	if id != "" {
		as = s.custom[id]
	}
	for _, k := range as.published() {
		if k.kid == kid {
			return true
		}
	}
	return false
}

func TestRotate(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	for _, id := range []string{"", "default"} {
		t.Run("as="+id, func(t *testing.T) {
			issuer := s.Issuer()
			if id != "" {
				issuer = s.CustomIssuer(id)
			}
			f := newFlow(t, s, issuer)
			browser := newBrowser(t, s)
			old := rawIDToken(t, f.login(t, s, browser))
			oldKid := jwtHeader(t, old)["kid"]

			s.mu.Lock()
			as := s.org
			if id != "" {
				as = s.custom[id]
			}
			nextKid := as.next.kid
			s.mu.Unlock()
			s.Rotate(id)

			fresh := rawIDToken(t, f.login(t, s, browser))
			if got := jwtHeader(t, fresh)["kid"]; got != nextKid || got == oldKid {
				t.Fatalf("kid after Rotate = %v; want the pre-published next kid %v", got, nextKid)
			}
			// The relying party's kept JWKS has only the old keys; an
			// unknown kid makes it fetch the JWKS again.
			for name, raw := range map[string]string{"old": old, "new": fresh} {
				if err := f.verify(raw); err != nil {
					t.Errorf("verify(%s token) after one Rotate = %v", name, err)
				}
			}
			s.Rotate(id)
			// A fresh relying party sees the current JWKS, which no longer
			// has the old key.
			g := newFlow(t, s, issuer)
			if err := g.verify(old); err == nil {
				t.Error("old token still verifies after its key was unpublished")
			}
			if err := g.verify(fresh); err != nil {
				t.Errorf("previous key's token after second Rotate = %v; want still valid", err)
			}
		})
	}
}

func TestSetSigningAlg(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	browser := newBrowser(t, s)
	rsFlow := newFlow(t, s, s.CustomIssuer("default"))
	rsToken := rawIDToken(t, rsFlow.login(t, s, browser))

	s.SetSigningAlg("default", "ES256")
	_, body := get(t, s.Client(), s.CustomIssuer("default")+"/.well-known/openid-configuration")
	if !strings.Contains(body, `"id_token_signing_alg_values_supported":["ES256"]`) {
		t.Errorf("discovery after SetSigningAlg(ES256) = %s; want ES256 advertised alone", body)
	}
	f := newFlow(t, s, s.CustomIssuer("default"))
	f.algs = []jose.SignatureAlgorithm{jose.ES256}
	tok := f.login(t, s, browser)
	raw := rawIDToken(t, tok)
	if alg := jwtHeader(t, raw)["alg"]; alg != "ES256" {
		t.Fatalf("ID token alg = %v; want ES256", alg)
	}
	if err := f.verify(raw); err != nil {
		t.Fatalf("verify(ES256 ID token) = %v", err)
	}
	if alg := jwtHeader(t, tok.AccessToken)["alg"]; alg != "ES256" {
		t.Errorf("access token alg = %v; want ES256", alg)
	}
	if _, err := f.userInfo(tok); err != nil {
		t.Errorf("userinfo with an ES256 access token = %v; want ok", err)
	}
	// Tokens signed before the change still verify: the old key stays published.
	if err := rsFlow.verify(rsToken); err != nil {
		t.Errorf("RS256 token after SetSigningAlg(ES256) = %v; want still valid", err)
	}
	for _, mode := range []SignMode{SignUnknownKey, SignWrongKeySameKid, SignCorrupt} {
		s.MutateIDToken(func(tok *Token) { tok.Sign = mode })
		bad := rawIDToken(t, f.login(t, s, browser))
		s.MutateIDToken(nil)
		if jwtHeader(t, bad)["alg"] != "ES256" || f.verify(bad) == nil {
			t.Errorf("%v with ES256: alg %v, verify ok; want an ES256 token that fails", mode, jwtHeader(t, bad)["alg"])
		}
	}
	s.Rotate("default")
	if err := f.verify(rawIDToken(t, f.login(t, s, browser))); err != nil {
		t.Errorf("ES256 token after Rotate = %v", err)
	}

	s.SetSigningAlg("default", "RS256")
	if err := rsFlow.verify(rawIDToken(t, rsFlow.login(t, s, browser))); err != nil {
		t.Errorf("RS256 token after SetSigningAlg(RS256) = %v", err)
	}
	for name, fn := range map[string]func(){
		"alg":    func() { s.SetSigningAlg("default", "HS256") },
		"server": func() { s.SetSigningAlg("nope", "ES256") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetSigningAlg with a bad %s did not panic", name)
				}
			}()
			fn()
		}()
	}
}
