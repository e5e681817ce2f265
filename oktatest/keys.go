package oktatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
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

// ecRogue is the process-wide unpublished P-256 key, the rogue key of
// authorization servers that sign with ES256.
var ecRogue = sync.OnceValue(func() *ecdsa.PrivateKey { return newP256Key() })

// newP256Key returns a new P-256 key.
func newP256Key() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("oktatest: generating EC key: " + err.Error())
	}
	return k
}

// signingKey is one key of an authorization server, with its kid: an RSA
// key (RS256) or, when ec is set, a P-256 key (ES256).
type signingKey struct {
	kid string
	key *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}

// alg returns the algorithm the key signs with.
func (k signingKey) alg() string {
	if k.ec != nil {
		return "ES256"
	}
	return "RS256"
}

// public returns the public key.
func (k signingKey) public() crypto.PublicKey {
	if k.ec != nil {
		return &k.ec.PublicKey
	}
	return &k.key.PublicKey
}

// sign returns the signature of signingInput with the key's algorithm.
func (k signingKey) sign(signingInput string) []byte {
	if k.ec == nil {
		return rs256(k.key, signingInput)
	}
	sum := sha256.Sum256([]byte(signingInput))
	r, sv, err := ecdsa.Sign(rand.Reader, k.ec, sum[:])
	if err != nil {
		panic("oktatest: signing JWT: " + err.Error())
	}
	sig := make([]byte, 64) // RFC 7518 section 3.4: R and S, 32 bytes each
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return sig
}

// verify checks a signature made with the key's algorithm.
func (k signingKey) verify(signingInput string, sig []byte) bool {
	sum := sha256.Sum256([]byte(signingInput))
	if k.ec == nil {
		return rsa.VerifyPKCS1v15(&k.key.PublicKey, crypto.SHA256, sum[:], sig) == nil
	}
	return len(sig) == 64 && ecdsa.Verify(&k.ec.PublicKey, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// newKid returns a random key id shaped like Okta's (43 base64url chars).
func newKid() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// jwk returns the public JSON Web Key for k.
func (k signingKey) jwk() map[string]any {
	if k.ec != nil {
		x, y := make([]byte, 32), make([]byte, 32)
		k.ec.X.FillBytes(x)
		k.ec.Y.FillBytes(y)
		return map[string]any{
			"kty": "EC",
			"alg": "ES256",
			"kid": k.kid,
			"use": "sig",
			"crv": "P-256",
			"x":   base64.RawURLEncoding.EncodeToString(x),
			"y":   base64.RawURLEncoding.EncodeToString(y),
		}
	}
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
