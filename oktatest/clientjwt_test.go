package oktatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// newECKey returns a fresh P-256 key.
func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// joseSign signs claims as a compact JWS with go-jose.
func joseSign(t testing.TB, key any, alg jose.SignatureAlgorithm, opts *jose.SignerOptions, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertionClaims returns the claims of a valid private_key_jwt assertion.
func assertionClaims(clientID, aud string, now time.Time) map[string]any {
	return map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": randomToken(),
	}
}

// signAssertion signs an assertion with kid "k1".
func signAssertion(t testing.TB, key crypto.Signer, claims map[string]any) string {
	t.Helper()
	alg := jose.ES256
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = jose.RS256
	}
	return joseSign(t, jose.JSONWebKey{Key: key, KeyID: "k1"}, alg, nil, claims)
}

// tokenRequest posts form to the token endpoint u and decodes the answer.
func tokenRequest(t testing.TB, s *Server, u string, form url.Values, header http.Header) (int, map[string]any, http.Header) {
	t.Helper()
	resp, body := postForm(t, s.Client(), u, form, header)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("token response %q: %v", body, err)
	}
	return resp.StatusCode, m, resp.Header
}

func assertionForm(assertion string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {"okta.users.read"},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {assertion},
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	s := newAPIServer(t, nil)
	ecKey, otherKey := newECKey(t), newECKey(t)
	rsaKey := poolKey(0) // never published by any server
	jwks, _ := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	s.AddClient(Client{ID: "svc-ec", PublicKeys: []PublicKey{{KeyID: "k1", Key: &ecKey.PublicKey}}, DPoP: DPoPOff, AdminRole: true})
	s.AddClient(Client{ID: "svc-rsa", JWKS: jwks, DPoP: DPoPOff})
	s.AddClient(Client{ID: "secret", Secret: "s3cret"})
	tokenURL := s.URL + "/oauth2/v1/token"
	replayed := signAssertion(t, ecKey, assertionClaims("svc-ec", tokenURL, time.Now()))
	if status, m, _ := tokenRequest(t, s, tokenURL, assertionForm(replayed), nil); status != 200 {
		t.Fatalf("first use of an assertion = %d %v", status, m)
	}
	tests := []struct {
		name       string
		assertion  func() string
		form       func(url.Values)
		header     http.Header
		wantStatus int
		wantError  string
	}{
		{name: "ES256", wantStatus: 200},
		{name: "RS256 from JWKS", assertion: func() string {
			return signAssertion(t, rsaKey, assertionClaims("svc-rsa", tokenURL, time.Now()))
		}, wantStatus: 200},
		{name: "exp an hour ahead", assertion: func() string {
			c := assertionClaims("svc-ec", tokenURL, time.Now())
			c["exp"] = time.Now().Add(time.Hour - time.Second).Unix()
			return signAssertion(t, ecKey, c)
		}, wantStatus: 200},
		{name: "wrong aud", assertion: func() string {
			return signAssertion(t, ecKey, assertionClaims("svc-ec", s.URL+"/oauth2/default/v1/token", time.Now()))
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "aud is the issuer", assertion: func() string {
			return signAssertion(t, ecKey, assertionClaims("svc-ec", s.URL, time.Now()))
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "exp more than an hour ahead", assertion: func() string {
			c := assertionClaims("svc-ec", tokenURL, time.Now())
			c["exp"] = time.Now().Add(2 * time.Hour).Unix()
			return signAssertion(t, ecKey, c)
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "expired", assertion: func() string {
			c := assertionClaims("svc-ec", tokenURL, time.Now().Add(-time.Hour))
			return signAssertion(t, ecKey, c)
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "no exp", assertion: func() string {
			c := assertionClaims("svc-ec", tokenURL, time.Now())
			delete(c, "exp")
			return signAssertion(t, ecKey, c)
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "no iat", assertion: func() string {
			c := assertionClaims("svc-ec", tokenURL, time.Now())
			delete(c, "iat")
			return signAssertion(t, ecKey, c)
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "no jti", assertion: func() string {
			c := assertionClaims("svc-ec", tokenURL, time.Now())
			delete(c, "jti")
			return signAssertion(t, ecKey, c)
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "replayed jti", assertion: func() string { return replayed }, wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong key", assertion: func() string {
			return signAssertion(t, otherKey, assertionClaims("svc-ec", tokenURL, time.Now()))
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown kid", assertion: func() string {
			return joseSign(t, jose.JSONWebKey{Key: ecKey, KeyID: "k2"}, jose.ES256, nil, assertionClaims("svc-ec", tokenURL, time.Now()))
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "HS256", assertion: func() string {
			return joseSign(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, nil, assertionClaims("svc-ec", tokenURL, time.Now()))
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "sub is not iss", assertion: func() string {
			c := assertionClaims("svc-ec", tokenURL, time.Now())
			c["sub"] = "someone"
			return signAssertion(t, ecKey, c)
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "client_id differs", form: func(v url.Values) { v.Set("client_id", "svc-rsa") }, wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong assertion type", form: func(v url.Values) {
			v.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "client registered for a secret", assertion: func() string {
			return signAssertion(t, ecKey, assertionClaims("secret", tokenURL, time.Now()))
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "assertion and basic", header: http.Header{"Authorization": {"Basic " + b64std("secret:s3cret")}}, wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := signAssertion(t, ecKey, assertionClaims("svc-ec", tokenURL, time.Now()))
			if tt.assertion != nil {
				a = tt.assertion()
			}
			form := assertionForm(a)
			if tt.form != nil {
				tt.form(form)
			}
			status, m, _ := tokenRequest(t, s, tokenURL, form, tt.header)
			if status != tt.wantStatus || (tt.wantError != "" && m["error"] != tt.wantError) {
				t.Errorf("token = %d %v; want %d %s", status, m, tt.wantStatus, tt.wantError)
			}
			if status == 200 && m["token_type"] != "Bearer" {
				t.Errorf("token_type = %v; want Bearer (DPoP off)", m["token_type"])
			}
		})
	}
	t.Run("secret client cannot skip its secret", func(t *testing.T) {
		status, m, _ := tokenRequest(t, s, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"svc-ec"}}, nil)
		if status != 401 || m["error"] != "invalid_client" {
			t.Errorf("private_key_jwt client without an assertion = %d %v; want 401 invalid_client", status, m)
		}
	})
}

func TestPrivateKeyJWTAuthorizationCode(t *testing.T) {
	s := newAPIServer(t, nil)
	s.AddDemoUsers()
	s.AutoLogin("alice@example.com")
	key := newECKey(t)
	s.AddClient(Client{ID: "pkj", RedirectURIs: []string{webRedirect}, PublicKeys: []PublicKey{{Key: key}}})
	verifier, challenge := pkce()
	resp, body := get(t, newBrowser(t, s), authURL(s, "default", map[string]string{"client_id": "pkj", "code_challenge": challenge}))
	code := appRedirect(t, resp, body).Get("code")
	tokenURL := s.CustomIssuer("default") + "/v1/token"
	form := url.Values{
		"grant_type":            {"authorization_code"},
		"code":                  {code},
		"redirect_uri":          {webRedirect},
		"code_verifier":         {verifier},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {joseSign(t, key, jose.ES256, nil, assertionClaims("pkj", tokenURL, time.Now()))},
	}
	status, m, _ := tokenRequest(t, s, tokenURL, form, nil)
	if status != 200 || m["id_token"] == nil {
		t.Errorf("authorization_code with private_key_jwt = %d %v; want tokens", status, m)
	}
}

func TestAddClientKeys(t *testing.T) {
	s := NewUnstartedServer()
	defer s.Close()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec := newECKey(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	privJWKS, _ := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{{Key: ec}}})
	tests := []struct {
		name string
		c    Client
	}{
		{"RSA 1024", Client{ID: "a", PublicKeys: []PublicKey{{Key: &small.PublicKey}}}},
		{"P-384", Client{ID: "b", PublicKeys: []PublicKey{{Key: &p384.PublicKey}}}},
		{"not a key", Client{ID: "c", PublicKeys: []PublicKey{{Key: "x"}}}},
		{"JWKS not JSON", Client{ID: "d", JWKS: []byte("{")}},
		{"JWKS with a private key", Client{ID: "e", JWKS: privJWKS}},
		{"private_key_jwt without keys", Client{ID: "f", AuthMethod: "private_key_jwt"}},
		{"bad DPoP mode", Client{ID: "g", Secret: "x", DPoP: DPoPMode(9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("AddClient(%s) did not panic", tt.name)
				}
			}()
			s.AddClient(tt.c)
		})
	}
	s.AddClient(Client{ID: "ok", PublicKeys: []PublicKey{{Key: ec}}}) // a private key is reduced to its public half
	s.mu.Lock()
	c := s.clients["ok"]
	s.mu.Unlock()
	if c.AuthMethod != "private_key_jwt" || !c.dpopRequired() {
		t.Errorf("client with keys: AuthMethod %q, DPoP required %v; want private_key_jwt, true", c.AuthMethod, c.dpopRequired())
	}
}
