package oktatest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"sync"
)

// RSA key generation is slow, especially under the race detector, so every
// Server in the process draws its keys from one lazily grown pool. Index 0 is
// reserved for the "rogue" key used by SignUnknownKey and
// SignWrongKeySameKid, which no Server ever publishes.
var keyPool struct {
	mu   sync.Mutex
	keys []*pooledKey
}

type pooledKey struct {
	once sync.Once
	key  *rsa.PrivateKey
}

// poolKey returns the i-th key of the process-wide pool, generating it on
// first use.
func poolKey(i int) *rsa.PrivateKey {
	keyPool.mu.Lock()
	for len(keyPool.keys) <= i {
		keyPool.keys = append(keyPool.keys, new(pooledKey))
	}
	pk := keyPool.keys[i]
	keyPool.mu.Unlock()
	pk.once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("oktatest: generating RSA key: " + err.Error())
		}
		pk.key = k
	})
	return pk.key
}

// warmKeys generates pool keys [from, to) in parallel.
func warmKeys(from, to int) {
	var wg sync.WaitGroup
	for i := from; i < to; i++ {
		wg.Go(func() { poolKey(i) })
	}
	wg.Wait()
}

// signingKey is one key of an authorization server, with its kid.
type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// newKid returns a random key id shaped like Okta's (43 base64url chars).
func newKid() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// jwk returns the public JSON Web Key for k.
func (k signingKey) jwk() map[string]any {
	pub := k.key.PublicKey
	return map[string]any{
		"kty": "RSA",
		"alg": "RS256",
		"kid": k.kid,
		"use": "sig",
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// randomID returns prefix followed by random alphanumerics, total length n,
// like Okta's object ids ("00u…", 20 chars).
func randomID(prefix string, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n-len(prefix))
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// randomToken returns 32 random bytes, base64url encoded.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// s256 returns the PKCE S256 challenge for verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
