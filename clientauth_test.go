package oktasso

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

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oktasso/oktasso/oktatest"
)

// newECKeyPEM returns a P-256 key and its PKCS#8 PEM.
func newECKeyPEM(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestPrivateKeyJWTLogin signs in end to end with a confidential client
// that authenticates with private_key_jwt, the key given as PEM (ES256) or
// as a JWK (RS256): code exchange and refresh each carry a fresh assertion
// (the fake refuses a reused jti and checks aud = its token endpoint).
func TestPrivateKeyJWTLogin(t *testing.T) {
	ecKey, ecPEM := newECKeyPEM(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK, _ := json.Marshal(jose.JSONWebKey{Key: rsaKey, KeyID: "rsa-1", Algorithm: "RS256"})
	_, strangerPEM := newECKeyPEM(t)
	tests := []struct {
		name       string
		registered oktatest.PublicKey
		key        string
		kid        string
		wantStatus int // of the callback
	}{
		{"ES256 PEM", oktatest.PublicKey{KeyID: "ec-1", Key: &ecKey.PublicKey}, ecPEM, "ec-1", 302},
		{"RS256 JWK, kid from the JWK", oktatest.PublicKey{KeyID: "rsa-1", Key: &rsaKey.PublicKey}, string(rsaJWK), "", 302},
		{"key not registered", oktatest.PublicKey{KeyID: "ec-1", Key: &ecKey.PublicKey}, strangerPEM, "ec-1", 502},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clientID := "0oapkj" + string(rune('a'+i))
			h := newHarness(t, func(c *Config) {
				c.Client.ID, c.Client.Secret, c.Client.PrivateKey, c.Client.PrivateKeyID = clientID, "", Secret(tt.key), tt.kid
				c.Scopes = []string{"profile", "email", "offline_access"}
			})
			h.fake.AddClient(oktatest.Client{ID: clientID, RedirectURIs: []string{h.app.URL + CallbackPath}, PublicKeys: []oktatest.PublicKey{tt.registered}})
			if h.auth.Config().Client.AuthMethod != PrivateKeyJWT {
				t.Fatalf("ClientAuth = %q; want private_key_jwt chosen by the key", h.auth.Config().Client.AuthMethod)
			}
			b := h.browser()
			r := h.login(b, alice, "/webapp")
			if r.status != tt.wantStatus {
				t.Fatalf("callback = %d %s; want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantStatus != 302 {
				return
			}
			if r := b.get(h.app.URL + "/webapp"); r.body != "user:"+alice {
				t.Fatalf("GET /webapp = %d %q; want alice", r.status, r.body)
			}
			// A second sign-in needs a new jti; the fake refuses a replay.
			if r := h.login(b, alice, "/webapp"); r.status != 302 {
				t.Fatalf("second sign-in = %d; want 302", r.status)
			}
			before := h.fake.TokenRequests()
			h.clock.Add(56 * time.Minute) // within the refresh margin (refreshBefore, 5 minutes) of expiry
			if r := b.get(h.app.URL + "/webapp"); r.body != "user:"+alice {
				t.Fatalf("GET /webapp after refresh = %d %q; want alice", r.status, r.body)
			}
			if got := h.fake.TokenRequests() - before; got != 1 {
				t.Errorf("token requests for the refresh = %d; want 1", got)
			}
			if r := b.get(h.app.URL + "/webapp"); r.body != "user:"+alice {
				t.Errorf("GET /webapp after refresh = %d %q; want alice still signed in", r.status, r.body)
			}
		})
	}
}

// TestPublicClientLogin signs in with a public client: no secret, PKCE
// only (token_endpoint_auth_method none). The fake refuses any secret or
// assertion from a client registered without one.
func TestPublicClientLogin(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Client.ID, c.Client.Secret = "0oapublic", "" })
	h.fake.AddClient(oktatest.Client{ID: "0oapublic", RedirectURIs: []string{h.app.URL + CallbackPath}})
	if got := h.auth.Config().Client.AuthMethod; got != ClientAuthNone {
		t.Errorf("ClientAuth = %q; want none", got)
	}
	b := h.browser()
	if r := h.login(b, alice, "/webapp"); r.status != 302 || r.location != h.app.URL+"/webapp" {
		t.Fatalf("callback = %d to %q; want 302 to /webapp", r.status, r.location)
	}
	if r := b.get(h.app.URL + "/webapp"); r.body != "user:"+alice {
		t.Errorf("GET /webapp = %d %q; want alice", r.status, r.body)
	}
}

func TestClientAuthConfig(t *testing.T) {
	_, ecPEM := newECKeyPEM(t)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, []byte(ecPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{Issuer: "https://dev-1.okta.com", Client: ClientConfig{ID: "0oa1"}}
	tests := []struct {
		name     string
		edit     func(*Config)
		want     ClientAuthMethod
		wantErr  string
		mustHide string // never in the error
	}{
		{"secret", func(c *Config) { c.Client.Secret = "s" }, ClientSecretBasic, "", ""},
		{"post", func(c *Config) { c.Client.Secret, c.Client.AuthMethod = "s", ClientSecretPost }, ClientSecretPost, "", ""},
		{"nothing: public", func(c *Config) {}, ClientAuthNone, "", ""},
		{"PEM", func(c *Config) { c.Client.PrivateKey = Secret(ecPEM) }, PrivateKeyJWT, "", ""},
		{"file", func(c *Config) { c.Client.PrivateKey = Secret(keyFile) }, PrivateKeyJWT, "", ""},
		{"missing file", func(c *Config) { c.Client.PrivateKey = "/nonexistent/MIIEvQIBADANBg" }, "", "PrivateKey: is neither a PEM key", "MIIEvQ"},
		{"bad PEM", func(c *Config) { c.Client.PrivateKey = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }, "", "PrivateKey: is not a usable key", "AAAA"},
		{"public JWK", func(c *Config) {
			c.Client.PrivateKey = `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`
		}, "", "public key", ""},
		{"key and secret", func(c *Config) { c.Client.PrivateKey, c.Client.Secret = Secret(ecPEM), "s" }, "", "Client.Secret: is set but", ""},
		{"key with basic", func(c *Config) {
			c.Client.PrivateKey, c.Client.Secret, c.Client.AuthMethod = Secret(ecPEM), "s", ClientSecretBasic
		}, "", "PrivateKey: is set but", ""},
		{"private_key_jwt without key", func(c *Config) { c.Client.AuthMethod = PrivateKeyJWT }, "", "Client.AuthMethod: private_key_jwt needs a private key", ""},
		{"none with a secret", func(c *Config) { c.Client.AuthMethod, c.Client.Secret = ClientAuthNone, "s" }, "", "Client.AuthMethod: is none", ""},
		{"unknown", func(c *Config) { c.Client.AuthMethod = "client_secret_jwt" }, "", "not supported", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			n, err := c.Normalize()
			if tt.wantErr == "" {
				if err != nil || n.Client.AuthMethod != tt.want {
					t.Errorf("Normalize() = %q, %v; want %q", n.Client.AuthMethod, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Normalize() error = %v; want %q", err, tt.wantErr)
			}
			if tt.mustHide != "" && strings.Contains(err.Error(), tt.mustHide) {
				t.Errorf("error %q repeats the configured value", err)
			}
		})
	}
}

func TestPrivateKeyFromEnv(t *testing.T) {
	_, ecPEM := newECKeyPEM(t)
	// A service app's key in the environment (directory sync, Okta's SDKs)
	// does not switch the web app to private_key_jwt by itself.
	env := map[string]string{"OKTA_DOMAIN": "dev-1.okta.com", "OKTA_CLIENT_ID": "0oa1", "OKTA_CLIENT_SECRET": "s", "OKTA_PRIVATE_KEY": ecPEM, "OKTA_PRIVATE_KEY_ID": "k9"}
	if c, err := ConfigFromLookup(lookupFrom(env)); err != nil || c.Client.PrivateKey != "" {
		t.Fatalf("without OKTA_CLIENT_AUTH_METHOD: PrivateKey set = %v, err %v; want the key ignored", c.Client.PrivateKey != "", err)
	}
	delete(env, "OKTA_CLIENT_SECRET")
	env["OKTA_CLIENT_AUTH_METHOD"] = "private_key_jwt"
	c, err := ConfigFromLookup(lookupFrom(env))
	if err == nil {
		c, err = c.Normalize()
	}
	if err != nil || c.Client.AuthMethod != PrivateKeyJWT || c.Client.PrivateKeyID != "k9" {
		t.Errorf("ConfigFromLookup = %q %q, %v; want private_key_jwt with kid k9", c.Client.AuthMethod, c.Client.PrivateKeyID, err)
	}
	env["OKTA_PRIVATE_KEY"] = "/nonexistent"
	if _, err := ConfigFromLookup(lookupFrom(env)); err == nil || !strings.Contains(err.Error(), "OKTA_PRIVATE_KEY: ") {
		t.Errorf("ConfigFromLookup(bad key) error = %v; want it to name OKTA_PRIVATE_KEY", err)
	}
}
