// Package clientkey loads the private key of an OAuth 2.0 client that
// authenticates with private_key_jwt (RFC 7523) and signs its client
// assertions. oktasso's root package uses it for confidential web apps, and
// package directory for Okta API Services apps.
package clientkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// AssertionType is the client_assertion_type of a private_key_jwt request.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionTTL is how long a client assertion is valid. Okta refuses
// assertions valid for more than an hour; five minutes covers clock skew.
const AssertionTTL = 5 * time.Minute

// maxKeyBytes bounds a key read from a file.
const maxKeyBytes = 64 << 10

// Key is a client's private key with its key id and algorithm.
type Key struct {
	signer crypto.Signer
	kid    string
	alg    jose.SignatureAlgorithm
	jose   jose.Signer
}

// Load reads a key from value, which is either the key itself (PEM or a
// JWK in JSON) or the path of a file holding it. kid, when not empty, is
// the key id; otherwise the JWK's "kid", or else the key's RFC 7638
// thumbprint (what `oktasso keygen --jwk` prints and Okta shows).
func Load(value, kid string) (*Key, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, errors.New("clientkey: no key")
	}
	if !strings.HasPrefix(v, "-----BEGIN") && !strings.HasPrefix(v, "{") {
		f, err := os.Open(v)
		if err != nil {
			return nil, fmt.Errorf("clientkey: the value is neither a PEM key, a JWK nor a readable file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxKeyBytes+1))
		if err != nil {
			return nil, fmt.Errorf("clientkey: reading %s: %w", v, err)
		}
		if len(b) > maxKeyBytes {
			return nil, fmt.Errorf("clientkey: %s is larger than %d bytes", v, maxKeyBytes)
		}
		return Parse(b, kid)
	}
	return Parse([]byte(v), kid)
}

// Parse reads a private key from PEM (PKCS#8, PKCS#1 "RSA PRIVATE KEY" or
// SEC 1 "EC PRIVATE KEY") or from a JWK. RSA keys of 2048 bits or more sign
// with RS256, P-256 keys with ES256; anything else is refused.
func Parse(data []byte, kid string) (*Key, error) {
	data = []byte(strings.TrimSpace(string(data)))
	var (
		priv crypto.Signer
		err  error
	)
	if len(data) > 0 && data[0] == '{' {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(data, &jwk); err != nil {
			return nil, fmt.Errorf("clientkey: not a JWK: %w", err)
		}
		if jwk.IsPublic() {
			return nil, errors.New("clientkey: the JWK is a public key; the private key (with \"d\") is needed")
		}
		s, ok := jwk.Key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("clientkey: unsupported JWK key type %T", jwk.Key)
		}
		priv = s
		if kid == "" {
			kid = jwk.KeyID
		}
	} else {
		priv, err = parsePEM(data)
		if err != nil {
			return nil, err
		}
	}
	k := &Key{signer: priv, kid: kid}
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if p.N.BitLen() < 2048 {
			return nil, fmt.Errorf("clientkey: RSA key of %d bits; at least 2048 are needed", p.N.BitLen())
		}
		k.alg = jose.RS256
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, errors.New("clientkey: only P-256 EC keys (ES256) are supported")
		}
		k.alg = jose.ES256
	default:
		return nil, fmt.Errorf("clientkey: unsupported key type %T (use RSA or P-256)", priv)
	}
	if k.kid == "" {
		k.kid, err = Thumbprint(priv.Public())
		if err != nil {
			return nil, err
		}
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.kid)
	k.jose, err = jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: priv}, opts)
	if err != nil {
		return nil, fmt.Errorf("clientkey: %w", err)
	}
	return k, nil
}

func parsePEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("clientkey: no PEM block found")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("clientkey: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("clientkey: unsupported key type %T", k)
		}
		return s, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("clientkey: %w", err)
		}
		return k, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("clientkey: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("clientkey: PEM block %q is not a private key", block.Type)
}

// Thumbprint returns a public key's RFC 7638 SHA-256 thumbprint, base64url.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	t, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("clientkey: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

// KeyID returns the key id put in every assertion's header.
func (k *Key) KeyID() string { return k.kid }

// Algorithm returns "RS256" or "ES256".
func (k *Key) Algorithm() string { return string(k.alg) }

// Signer returns the private key, e.g. to sign DPoP proofs.
func (k *Key) Signer() crypto.Signer { return k.signer }

// PublicJWK returns the public key as a JWK with kid, alg and use "sig",
// the form Okta's app settings take.
func (k *Key) PublicJWK() ([]byte, error) {
	return json.Marshal(jose.JSONWebKey{Key: k.signer.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
}

// Assertion returns a signed client assertion for clientID, valid for
// AssertionTTL from now, with audience (the token endpoint URL) and a
// random unique jti.
func (k *Key) Assertion(clientID, audience string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := jwt.Claims{
		Issuer: clientID, Subject: clientID, Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
		Expiry: jwt.NewNumericDate(now.Add(AssertionTTL)), ID: base64.RawURLEncoding.EncodeToString(jti),
	}
	s, err := jwt.Signed(k.jose).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("clientkey: signing the assertion: %w", err)
	}
	return s, nil
}
