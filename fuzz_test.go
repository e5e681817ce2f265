package oktasso

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzChunks feeds arbitrary session cookie sets to the chunk reassembly:
// it must never panic, never read past its caps, and never accept a value
// it did not seal.
func FuzzChunks(f *testing.F) {
	c := testCookies(f, false, key1)
	now := time.Unix(1_800_000_000, 0)
	f.Add("~2"+string(make([]byte, 10)), "tail", "")
	f.Add("~9abc", "", "")
	f.Add("plain", "x", "y")
	f.Add("~3", "", "")
	f.Fuzz(func(t *testing.T, first, second, third string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "oktasso="+first+"; oktasso-1="+second+"; oktasso-2="+third)
		v, n := c.readChunks(req)
		if n > c.maxChunks || len(v) > c.maxChunks*maxChunkBytes {
			t.Fatalf("readChunks = %d bytes in %d chunks; caps are %d chunks", len(v), n, c.maxChunks)
		}
		// Seeds in testdata/fuzz hold sessions this key sealed (one and two
		// chunks, some of the two-part format with the ID token): those are
		// the only ones that may be accepted.
		if s := c.readSession(req, now, time.Hour); s != nil && (s.Subject != "00u1abcd" || (s.IDToken != "" && s.IDToken != "eyJhbGciOi.fake.token")) {
			t.Fatalf("accepted a session it did not seal: %+v", s)
		}
	})
}

// FuzzLogoutToken feeds arbitrary logout tokens to the checks verifyJWT
// makes before any key fetch (parseJWT): no panic, and nothing passes that
// lacks the required claims.
func FuzzLogoutToken(f *testing.F) {
	const iss = "https://dev-1.okta.com"
	now := time.Now()
	f.Add(jwtUnsigned(map[string]any{"alg": "RS256", "typ": "logout+jwt"}, map[string]any{"iss": iss, "aud": testClientID, "iat": now.Unix(), "sub": "00u1", "events": map[string]any{backchannelEvent: map[string]any{}}}))
	f.Add("a.b.c")
	f.Add("")
	f.Add(jwtUnsigned(map[string]any{"alg": "none"}, map[string]any{}))
	f.Fuzz(func(t *testing.T, raw string) {
		var c logoutClaims
		if _, err := parseJWT(raw, iss, expect{kind: logoutToken, audience: testClientID, now: now}, &c); err != nil {
			if _, ok := errors.AsType[*TokenError](err); !ok {
				t.Fatalf("parseJWT(%q) error = %v; want a *TokenError", raw, err)
			}
			return
		}
		if c.Issuer != iss || (c.Subject == "" && c.SessionID == "") || c.Nonce != nil || c.IssuedAt == 0 {
			t.Fatalf("parseJWT passed a logout token without the required claims: %+v", c)
		}
	})
}

// FuzzTokenSignature feeds arbitrary strings to verifyJWT, the path every
// token takes (ID tokens, logout tokens, access tokens): no panic, and
// nothing verifies without a real signature by the key.
func FuzzTokenSignature(f *testing.F) {
	const iss = "https://dev-1.okta.com"
	keys := testRSAKeys(f)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	// A provider advertising RS256 and ES256, with a key of each.
	ks := newKeySet("http://127.0.0.1:1/keys", []jose.SignatureAlgorithm{jose.RS256, jose.ES256}, &http.Client{Timeout: time.Millisecond}, time.Now, quietLogger())
	ks.keys = []jose.JSONWebKey{pubJWK(keys[0], "k0"), {Key: &ecKey.PublicKey, KeyID: "ec", Use: "sig"}}
	ks.fetched = time.Now()
	p := &Provider{issuer: iss, now: time.Now}
	p.ready.Store(&discovered{keys: ks})
	goodPayload := `{"iss":"` + iss + `","sub":"00u1"}`
	good := sign(f, keys[0], "k0", []byte(goodPayload))
	goodEC := signJWT(f, ecKey, jose.ES256, "ec", "", map[string]any{"iss": iss, "sub": "00u1"})
	f.Add(good)
	f.Add(goodEC)
	f.Add(good[:len(good)-3] + "AAA")
	f.Add(goodEC[:len(goodEC)-3] + "AAA")
	f.Add(signJWT(f, keys[0], jose.PS256, "k0", "", map[string]any{"iss": iss, "sub": "00u1"}))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("....")
	f.Fuzz(func(t *testing.T, raw string) {
		payload, err := p.VerifyAccessToken(context.Background(), raw)
		if err == nil && raw != good && raw != goodEC && string(payload) != goodPayload {
			t.Fatalf("verified a token the keys did not sign: %q", raw)
		}
		if err == nil {
			if alg := headerAlg(raw); alg != "RS256" && alg != "ES256" {
				t.Fatalf("verified a token with the unadvertised alg %q: %q", alg, raw)
			}
		}
	})
}

// headerAlg returns the alg of a compact JWS's header, or "".
func headerAlg(raw string) string {
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return ""
	}
	return jws.Signatures[0].Header.Algorithm
}
