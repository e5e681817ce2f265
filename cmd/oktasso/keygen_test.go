package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestKeygenSessionKey(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 3 {
		out, errOut, code := cli(t, env(), "keygen")
		if code != exitOK || errOut != "" {
			t.Fatalf("keygen = %d, stderr %q; want 0 and nothing", code, errOut)
		}
		first, _, _ := strings.Cut(out, "\n")
		b, err := base64.StdEncoding.DecodeString(first)
		if err != nil || len(b) != 32 {
			t.Errorf("keygen's first line %q decodes to %d bytes, %v; want 32 bytes of std base64", first, len(b), err)
		}
		if seen[first] {
			t.Errorf("keygen printed %q twice", first)
		}
		seen[first] = true
		if want := "OKTASSO_SESSION_KEYS=" + first + ",<current keys>"; !strings.Contains(out, want) {
			t.Errorf("keygen output lacks the rotation example %q:\n%s", want, out)
		}
	}
}

func TestKeygenJWK(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantAlg string
		check   func(t *testing.T, priv any, pub *jose.JSONWebKey)
	}{
		{name: "default RS256", wantAlg: "RS256", check: func(t *testing.T, priv any, pub *jose.JSONWebKey) {
			k, ok := priv.(*rsa.PrivateKey)
			if !ok || k.N.BitLen() != 2048 {
				t.Fatalf("private key is %T; want a 2048-bit RSA key", priv)
			}
			if !k.PublicKey.Equal(pub.Key) {
				t.Error("the JWK is not the private key's public key")
			}
		}},
		{name: "ES256", args: []string{"--alg", "ES256"}, wantAlg: "ES256", check: func(t *testing.T, priv any, pub *jose.JSONWebKey) {
			k, ok := priv.(*ecdsa.PrivateKey)
			if !ok || k.Curve.Params().Name != "P-256" {
				t.Fatalf("private key is %T; want a P-256 ECDSA key", priv)
			}
			if !k.PublicKey.Equal(pub.Key) {
				t.Error("the JWK is not the private key's public key")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "key.pem")
			args := append([]string{"keygen", "--jwk", "--out", path}, tt.args...)
			out, errOut, code := cli(t, env(), args...)
			if code != exitOK {
				t.Fatalf("keygen %q = %d, %q; want 0", args, code, errOut)
			}

			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("private key file mode = %v; want 0600", fi.Mode().Perm())
			}
			data, _ := os.ReadFile(path)
			block, _ := pem.Decode(data)
			if block == nil || block.Type != "PRIVATE KEY" {
				t.Fatalf("private key file is not a PKCS#8 PEM block:\n%s", data)
			}
			priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				t.Fatalf("ParsePKCS8PrivateKey = %v", err)
			}

			i, j := strings.Index(out, "\n{"), strings.Index(out, "\n}")
			if i < 0 || j < i {
				t.Fatalf("keygen printed no JWK:\n%s", out)
			}
			raw := out[i+1 : j+2]
			var pub jose.JSONWebKey
			if err := json.Unmarshal([]byte(raw), &pub); err != nil {
				t.Fatalf("the printed JWK %s does not parse: %v", raw, err)
			}
			if !pub.IsPublic() || pub.Use != "sig" || pub.Algorithm != tt.wantAlg {
				t.Errorf("JWK public %t use %q alg %q; want public, sig, %s", pub.IsPublic(), pub.Use, pub.Algorithm, tt.wantAlg)
			}
			thumb, err := pub.Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(thumb); pub.KeyID != want {
				t.Errorf("JWK kid = %q; want the RFC 7638 thumbprint %q", pub.KeyID, want)
			}
			tt.check(t, priv, &pub)
			for _, want := range []string{"  OKTA_CLIENT_AUTH_METHOD=private_key_jwt\n", "  OKTA_PRIVATE_KEY=" + path + "\n", "  OKTA_PRIVATE_KEY_ID=" + pub.KeyID + "\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("keygen output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "PRIVATE KEY") || strings.Contains(raw, `"d"`) {
				t.Errorf("keygen printed private key material:\n%s", out)
			}
		})
	}
}

func TestKeygenRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "existing.pem")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, env(), "keygen", "--jwk", "--out", path)
	if code != exitFail || !strings.Contains(errOut, "exists") || strings.Count(errOut, "\n") != 1 || out != "" {
		t.Errorf("keygen --jwk over an existing file = %d, stdout %q, stderr %q; want 1, nothing, one line", code, out, errOut)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Errorf("the existing file now holds %q", b)
	}
}

func TestKeygenUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "unknown alg", args: []string{"--jwk", "--alg", "HS256"}, wantErr: `--alg "HS256" is not supported`},
		{name: "--out without --jwk", args: []string{"--out", "x.pem"}, wantErr: "--out needs --jwk"},
		{name: "--alg without --jwk", args: []string{"--alg", "ES256"}, wantErr: "--alg needs --jwk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := cli(t, env(), append([]string{"keygen"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("keygen %q = %d, %q; want %d and %q", tt.args, code, errOut, exitUsage, tt.wantErr)
			}
		})
	}
}
