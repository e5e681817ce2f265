package clientkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func pemOf(t *testing.T, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestParse(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	smallRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pkcs8 := func(k any) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	privJWK, _ := json.Marshal(jose.JSONWebKey{Key: ecKey, KeyID: "from-jwk"})
	pubJWK, _ := json.Marshal(jose.JSONWebKey{Key: ecKey.Public(), KeyID: "pub"})
	rsaThumb, _ := Thumbprint(rsaKey.Public())

	tests := []struct {
		name, data, kid  string
		wantAlg, wantKid string
		wantErr          string
	}{
		{name: "PKCS#8 RSA, thumbprint kid", data: pemOf(t, "PRIVATE KEY", pkcs8(rsaKey)), wantAlg: "RS256", wantKid: rsaThumb},
		{name: "PKCS#1 RSA, given kid", data: pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), kid: "k1", wantAlg: "RS256", wantKid: "k1"},
		{name: "SEC 1 EC", data: pemOf(t, "EC PRIVATE KEY", ecDER), kid: "e", wantAlg: "ES256", wantKid: "e"},
		{name: "PKCS#8 EC", data: pemOf(t, "PRIVATE KEY", pkcs8(ecKey)), kid: "e", wantAlg: "ES256", wantKid: "e"},
		{name: "private JWK keeps its kid", data: string(privJWK), wantAlg: "ES256", wantKid: "from-jwk"},
		{name: "given kid beats the JWK's", data: string(privJWK), kid: "over", wantAlg: "ES256", wantKid: "over"},
		{name: "public JWK", data: string(pubJWK), wantErr: "public key"},
		{name: "RSA 1024", data: pemOf(t, "PRIVATE KEY", pkcs8(smallRSA)), wantErr: "at least 2048"},
		{name: "P-384", data: pemOf(t, "PRIVATE KEY", pkcs8(p384)), wantErr: "P-256"},
		{name: "certificate block", data: pemOf(t, "CERTIFICATE", []byte{1, 2}), wantErr: "not a private key"},
		{name: "garbage PEM", data: "-----BEGIN nothing", wantErr: "no PEM block"},
		{name: "broken JWK", data: "{", wantErr: "not a JWK"},
		{name: "empty", data: "  ", wantErr: "no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Load(tt.data, tt.kid)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Algorithm() != tt.wantAlg || k.KeyID() != tt.wantKid {
				t.Fatalf("alg, kid = %s, %s; want %s, %s", k.Algorithm(), k.KeyID(), tt.wantAlg, tt.wantKid)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	path := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(path, []byte(pemOf(t, "PRIVATE KEY", der)), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !k.Signer().Public().(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Fatal("loaded another key")
	}
	if _, err := Load(filepath.Join(dir, "missing.pem"), ""); err == nil || !strings.Contains(err.Error(), "readable file") {
		t.Fatalf("missing file: err = %v", err)
	}
	big := filepath.Join(dir, "big.pem")
	os.WriteFile(big, make([]byte, maxKeyBytes+10), 0o600)
	if _, err := Load(big, ""); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: err = %v", err)
	}
}

func TestAssertion(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			var der []byte
			if alg == "RS256" {
				k, _ := rsa.GenerateKey(rand.Reader, 2048)
				der, _ = x509.MarshalPKCS8PrivateKey(k)
			} else {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				der, _ = x509.MarshalPKCS8PrivateKey(k)
			}
			k, err := Parse(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), "kid-1")
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(1_800_000_000, 0)
			aud := "https://example.okta.com/oauth2/v1/token"
			seen := map[string]bool{}
			for range 3 {
				raw, err := k.Assertion("0oaclient", aud, now)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					t.Fatal(err)
				}
				if h := tok.Headers[0]; h.KeyID != "kid-1" || h.Algorithm != alg {
					t.Fatalf("header kid=%q alg=%q", h.KeyID, h.Algorithm)
				}
				var c jwt.Claims
				if err := tok.Claims(k.Signer().Public(), &c); err != nil {
					t.Fatalf("signature: %v", err)
				}
				if err := c.ValidateWithLeeway(jwt.Expected{Issuer: "0oaclient", Subject: "0oaclient", AnyAudience: jwt.Audience{aud}, Time: now}, 0); err != nil {
					t.Fatal(err)
				}
				if got := c.Expiry.Time().Sub(now); got != AssertionTTL {
					t.Fatalf("lifetime %v", got)
				}
				if c.ID == "" || seen[c.ID] {
					t.Fatalf("jti %q not unique", c.ID)
				}
				seen[c.ID] = true
			}
			pub, err := k.PublicJWK()
			if err != nil {
				t.Fatal(err)
			}
			var j jose.JSONWebKey
			if err := j.UnmarshalJSON(pub); err != nil || !j.IsPublic() || j.KeyID != "kid-1" || j.Algorithm != alg {
				t.Fatalf("public JWK %s (err %v)", pub, err)
			}
		})
	}
}
