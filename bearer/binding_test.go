package bearer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oktasso/oktasso/internal/clientauth"
	"github.com/oktasso/oktasso/oktatest"
)

func signDPoP(t *testing.T, key *ecdsa.PrivateKey, claims map[string]any) string {
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	o, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := o.CompactSerialize()
	return c
}

// TestBearerRefusesKeyBoundToken: a DPoP-bound access token (cnf.jkt)
// presented as a plain Bearer token is refused: stolen, it would be
// replayable without the proof.
func TestBearerRefusesKeyBoundToken(t *testing.T) {
	f := newAPIFixture(t)
	f.fake.AddScopes("default", "orders:read")
	authKey, keyPEM := newECKeyPEM(t)
	f.fake.AddClient(oktatest.Client{ID: "0oadpop", PublicKeys: []oktatest.PublicKey{{KeyID: "k1", Key: &authKey.PublicKey}}})
	creds, err := clientauth.New("0oadpop", "", "", keyPEM, "k1", "", f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	dpopKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tokenURL := endpointOf(f.fake.CustomIssuer("default"), "token")
	call := func(nonce string) (int, map[string]any, http.Header) {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		creds.Apply(form, h, tokenURL)
		pc := map[string]any{"htm": "POST", "htu": tokenURL, "iat": f.clock.Now().Unix(), "jti": randomString(16)}
		if nonce != "" {
			pc["nonce"] = nonce
		}
		h.Set("DPoP", signDPoP(t, dpopKey, pc))
		req, _ := http.NewRequest("POST", tokenURL, strings.NewReader(form.Encode()))
		req.Header = h
		resp, err := f.fake.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m, resp.Header
	}
	_, _, h := call("")
	st, m, _ := call(h.Get("DPoP-Nonce"))
	if st != 200 || m["token_type"] != "DPoP" {
		t.Fatalf("token = %d %v", st, m)
	}
	tok := m["access_token"].(string)
	g := f.guard(func(c *Config) { c.ClientIDs = []string{"0oadpop"} })
	if rec := callAPI(g, []string{"orders:read"}, "Bearer "+tok); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("DPoP-bound token as Bearer = %d %s; want 401 invalid_token", rec.Code, rec.Body)
	}
}

// TestClaimNamesCaseSensitive: a reader matching names without regard to
// case (encoding/json, for structs) could take a custom claim "Scp" for
// scp; such tokens are refused.
func TestClaimNamesCaseSensitive(t *testing.T) {
	for _, tc := range []struct {
		payload string
		ok      bool
	}{
		{`{"iss":"x","scp":["openid"],"cid":"0oaspa","Scp":["admin"]}`, false},
		{`{"iss":"x","CID":"0oaother"}`, false},
		{`{"iss":"x","cnf":{"jkt":"abc"}}`, false},
		{`{"iss":"x","scp":["openid"],"Department":"R&D","groups":["a"]}`, true},
	} {
		var all map[string]any
		if err := json.Unmarshal([]byte(tc.payload), &all); err != nil {
			t.Fatal(err)
		}
		if err := checkClaimNames(all); (err == nil) != tc.ok {
			t.Errorf("checkClaimNames(%s) = %v; want ok=%v", tc.payload, err, tc.ok)
		}
	}
}
