package oktatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// serviceApp is a service app with a private_key_jwt key and a DPoP key.
type serviceApp struct {
	id       string
	key      *ecdsa.PrivateKey // client authentication
	dpopKey  crypto.Signer     // DPoP proofs
	tokenURL string
}

// newServiceApp registers a service app that requires DPoP.
func newServiceApp(t testing.TB, s *Server, id string, admin bool) *serviceApp {
	t.Helper()
	a := &serviceApp{id: id, key: newECKey(t), dpopKey: newECKey(t), tokenURL: s.URL + "/oauth2/v1/token"}
	s.AddClient(Client{ID: id, PublicKeys: []PublicKey{{KeyID: "k1", Key: &a.key.PublicKey}}, AdminRole: admin})
	return a
}

// proofClaims returns the claims of a valid DPoP proof.
func proofClaims(method, htu string) map[string]any {
	return map[string]any{"htm": method, "htu": htu, "iat": time.Now().Unix(), "jti": randomToken()}
}

// proof signs a DPoP proof with key, embedding its public JWK.
func proof(t testing.TB, key crypto.Signer, claims map[string]any) string {
	t.Helper()
	alg := jose.ES256
	if _, ok := key.Public().(*ecdsa.PublicKey); !ok {
		alg = jose.RS256
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	return joseSign(t, key, alg, opts, claims)
}

// ath returns the ath claim for an access token.
func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return b64.EncodeToString(sum[:])
}

// tokenForm returns a client_credentials request with a fresh assertion.
func (a *serviceApp) tokenForm(t testing.TB, scope string) url.Values {
	t.Helper()
	return url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {scope},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {signAssertion(t, a.key, assertionClaims(a.id, a.tokenURL, time.Now()))},
	}
}

// nonce gets a DPoP nonce: the answer to a proof without one.
func (a *serviceApp) nonce(t testing.TB, s *Server) string {
	t.Helper()
	status, m, h := tokenRequest(t, s, a.tokenURL, a.tokenForm(t, "okta.users.read"),
		http.Header{"DPoP": {proof(t, a.dpopKey, proofClaims("POST", a.tokenURL))}})
	if status != 400 || m["error"] != "use_dpop_nonce" || h.Get("DPoP-Nonce") == "" {
		t.Fatalf("token without nonce = %d %v, DPoP-Nonce %q; want 400 use_dpop_nonce with a nonce", status, m, h.Get("DPoP-Nonce"))
	}
	return h.Get("DPoP-Nonce")
}

// token runs the DPoP dance and returns a DPoP-bound access token.
func (a *serviceApp) token(t testing.TB, s *Server, scope string) string {
	t.Helper()
	c := proofClaims("POST", a.tokenURL)
	c["nonce"] = a.nonce(t, s)
	status, m, _ := tokenRequest(t, s, a.tokenURL, a.tokenForm(t, scope), http.Header{"DPoP": {proof(t, a.dpopKey, c)}})
	if status != 200 || m["token_type"] != "DPoP" {
		t.Fatalf("token with nonce = %d %v; want 200 token_type DPoP", status, m)
	}
	return m["access_token"].(string)
}

// apiHeader returns the headers of a DPoP API call to u.
func (a *serviceApp) apiHeader(t testing.TB, token, u string) http.Header {
	t.Helper()
	htu, _, _ := strings.Cut(u, "?")
	c := proofClaims("GET", htu)
	c["ath"] = ath(token)
	return http.Header{"Authorization": {"DPoP " + token}, "DPoP": {proof(t, a.dpopKey, c)}}
}

func TestDPoPTokenFlow(t *testing.T) {
	s := newAPIServer(t, nil)
	s.AddGeneratedUsers(5, 0)
	a := newServiceApp(t, s, "svc", true)
	token := a.token(t, s, "okta.users.read")
	claims := jwtClaims(t, token)
	jkt, err := (&jose.JSONWebKey{Key: a.dpopKey.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	cnf, _ := claims["cnf"].(map[string]any)
	if cnf["jkt"] != b64.EncodeToString(jkt) || claims["sub"] != "svc" || claims["cid"] != "svc" {
		t.Errorf("access token claims = %v; want cnf.jkt %s", claims, b64.EncodeToString(jkt))
	}
	// Paginated calls: the proof's htu never has the query.
	u := s.URL + "/api/v1/users?limit=2"
	var n, pages int
	for ; u != ""; pages++ {
		resp, body := apiGet(t, s, u, a.apiHeader(t, token, u))
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s with DPoP = %d %s", u, resp.StatusCode, body)
		}
		var page []any
		json.Unmarshal(body, &page)
		n += len(page)
		u = links(t, resp)["next"]
	}
	if n != 5 || pages != 3 {
		t.Errorf("listed %d users in %d pages; want 5 in 3", n, pages)
	}
}

func TestDPoPRS256(t *testing.T) {
	s := newAPIServer(t, nil)
	a := newServiceApp(t, s, "svc", true)
	a.dpopKey = poolKey(0)
	token := a.token(t, s, "okta.users.read")
	resp, body := apiGet(t, s, "/api/v1/users", a.apiHeader(t, token, s.URL+"/api/v1/users"))
	if resp.StatusCode != 200 {
		t.Errorf("GET with an RS256 DPoP proof = %d %s", resp.StatusCode, body)
	}
}

func TestDPoPTokenErrors(t *testing.T) {
	s := newAPIServer(t, nil)
	a := newServiceApp(t, s, "svc", true)
	nonce := a.nonce(t, s)
	valid := func() map[string]any {
		c := proofClaims("POST", a.tokenURL)
		c["nonce"] = nonce
		return c
	}
	replayed := proof(t, a.dpopKey, valid())
	if status, m, _ := tokenRequest(t, s, a.tokenURL, a.tokenForm(t, "okta.users.read"), http.Header{"DPoP": {replayed}}); status != 200 {
		t.Fatalf("first use of a proof = %d %v", status, m)
	}
	tests := []struct {
		name      string
		proof     func() []string
		wantError string
	}{
		{"no proof", func() []string { return nil }, "invalid_dpop_proof"},
		{"no nonce", func() []string {
			c := valid()
			delete(c, "nonce")
			return []string{proof(t, a.dpopKey, c)}
		}, "use_dpop_nonce"},
		{"wrong nonce", func() []string {
			c := valid()
			c["nonce"] = "not-the-nonce"
			return []string{proof(t, a.dpopKey, c)}
		}, "use_dpop_nonce"},
		{"typ JWT", func() []string {
			return []string{joseSign(t, a.dpopKey, jose.ES256, (&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"), valid())}
		}, "invalid_dpop_proof"},
		{"no jwk", func() []string {
			return []string{joseSign(t, a.dpopKey, jose.ES256, (&jose.SignerOptions{}).WithType("dpop+jwt"), valid())}
		}, "invalid_dpop_proof"},
		{"private jwk", func() []string {
			opts := (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", jose.JSONWebKey{Key: a.dpopKey})
			return []string{joseSign(t, a.dpopKey, jose.ES256, opts, valid())}
		}, "invalid_dpop_proof"},
		{"htm GET", func() []string {
			c := valid()
			c["htm"] = "GET"
			return []string{proof(t, a.dpopKey, c)}
		}, "invalid_dpop_proof"},
		{"htu of another endpoint", func() []string {
			c := valid()
			c["htu"] = s.URL + "/oauth2/default/v1/token"
			return []string{proof(t, a.dpopKey, c)}
		}, "invalid_dpop_proof"},
		{"htu with a query", func() []string {
			c := valid()
			c["htu"] = a.tokenURL + "?x=1"
			return []string{proof(t, a.dpopKey, c)}
		}, "invalid_dpop_proof"},
		{"iat five minutes old", func() []string {
			c := valid()
			c["iat"] = time.Now().Add(-5 * time.Minute).Unix()
			return []string{proof(t, a.dpopKey, c)}
		}, "invalid_dpop_proof"},
		{"no jti", func() []string {
			c := valid()
			delete(c, "jti")
			return []string{proof(t, a.dpopKey, c)}
		}, "invalid_dpop_proof"},
		{"replayed jti", func() []string { return []string{replayed} }, "invalid_dpop_proof"},
		{"two proofs", func() []string {
			return []string{proof(t, a.dpopKey, valid()), proof(t, a.dpopKey, valid())}
		}, "invalid_dpop_proof"},
		{"bad signature", func() []string {
			p := proof(t, a.dpopKey, valid())
			return []string{p[:len(p)-4] + "AAAA"}
		}, "invalid_dpop_proof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m, _ := tokenRequest(t, s, a.tokenURL, a.tokenForm(t, "okta.users.read"), http.Header{"DPoP": tt.proof()})
			if status != 400 || m["error"] != tt.wantError {
				t.Errorf("token = %d %v; want 400 %s", status, m, tt.wantError)
			}
		})
	}
}

func TestDPoPAPIErrors(t *testing.T) {
	s := newAPIServer(t, nil)
	a := newServiceApp(t, s, "svc", true)
	token := a.token(t, s, "okta.users.read okta.groups.read")
	u := s.URL + "/api/v1/users?limit=1"
	htu := s.URL + "/api/v1/users"
	valid := func() map[string]any {
		c := proofClaims("GET", htu)
		c["ath"] = ath(token)
		return c
	}
	replayed := proof(t, a.dpopKey, valid())
	if resp, body := apiGet(t, s, u, http.Header{"Authorization": {"DPoP " + token}, "DPoP": {replayed}}); resp.StatusCode != 200 {
		t.Fatalf("first use of a proof = %d %s", resp.StatusCode, body)
	}
	bearer, _ := newBearerClient(t, s, "bearer", true, "okta.users.read")
	other := newECKey(t)
	tests := []struct {
		name   string
		header func() http.Header
	}{
		{"no proof", func() http.Header { return http.Header{"Authorization": {"DPoP " + token}} }},
		{"Bearer scheme", func() http.Header { return http.Header{"Authorization": {"Bearer " + token}} }},
		{"htu with the query", func() http.Header {
			c := valid()
			c["htu"] = u
			return http.Header{"Authorization": {"DPoP " + token}, "DPoP": {proof(t, a.dpopKey, c)}}
		}},
		{"wrong ath", func() http.Header {
			c := valid()
			c["ath"] = ath("another token")
			return http.Header{"Authorization": {"DPoP " + token}, "DPoP": {proof(t, a.dpopKey, c)}}
		}},
		{"no ath", func() http.Header {
			c := valid()
			delete(c, "ath")
			return http.Header{"Authorization": {"DPoP " + token}, "DPoP": {proof(t, a.dpopKey, c)}}
		}},
		{"wrong key", func() http.Header {
			return http.Header{"Authorization": {"DPoP " + token}, "DPoP": {proof(t, other, valid())}}
		}},
		{"htm POST", func() http.Header {
			c := valid()
			c["htm"] = "POST"
			return http.Header{"Authorization": {"DPoP " + token}, "DPoP": {proof(t, a.dpopKey, c)}}
		}},
		{"replayed jti", func() http.Header {
			return http.Header{"Authorization": {"DPoP " + token}, "DPoP": {replayed}}
		}},
		{"unbound token with DPoP scheme", func() http.Header {
			c := valid()
			c["ath"] = ath(bearer)
			return http.Header{"Authorization": {"DPoP " + bearer}, "DPoP": {proof(t, a.dpopKey, c)}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := apiGet(t, s, u, tt.header())
			if resp.StatusCode != 401 || errorCode(t, body) != "E0000011" {
				t.Errorf("GET = %d %s; want 401 E0000011", resp.StatusCode, body)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate challenge")
			}
		})
	}
}

func TestDPoPNonceExpiry(t *testing.T) {
	clock := newTestClock()
	clock.t = time.Now()
	s := newAPIServer(t, clock)
	a := newServiceApp(t, s, "svc", true)
	nonce := a.nonce(t, s)
	clock.Add(dpopNonceLifetime + time.Second)
	c := proofClaims("POST", a.tokenURL)
	c["nonce"] = nonce
	c["iat"] = clock.Now().Unix()
	assertion := assertionClaims(a.id, a.tokenURL, clock.Now())
	form := a.tokenForm(t, "okta.users.read")
	form.Set("client_assertion", signAssertion(t, a.key, assertion))
	status, m, h := tokenRequest(t, s, a.tokenURL, form, http.Header{"DPoP": {proof(t, a.dpopKey, c)}})
	if status != 400 || m["error"] != "use_dpop_nonce" || h.Get("DPoP-Nonce") == nonce || h.Get("DPoP-Nonce") == "" {
		t.Errorf("token with an expired nonce = %d %v, DPoP-Nonce %q; want use_dpop_nonce with a new nonce", status, m, h.Get("DPoP-Nonce"))
	}
}

func TestJWKThumbprint(t *testing.T) {
	for _, key := range []crypto.Signer{newECKey(t), poolKey(0)} {
		want, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got := jwkThumbprint(key.Public()); got != b64.EncodeToString(want) {
			t.Errorf("jwkThumbprint(%T) = %s; want %s", key.Public(), got, b64.EncodeToString(want))
		}
	}
}
