package oktasso

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"github.com/oktasso/oktasso/audit"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oktasso/oktasso/internal/httpjson"
)

// jwksRefreshInterval is the least time between two JWKS fetches triggered
// by unknown key ids: short enough that a key a provider starts signing
// with right after publishing it is found within seconds, long enough that
// tokens with random kids cause at most one fetch per interval.
const jwksRefreshInterval = 5 * time.Second

// signingAlgs are the algorithms a token may be signed with, kept here
// alone: RSA (PKCS #1 v1.5 and PSS), ECDSA and EdDSA. "none" and HMAC are
// never accepted; keyFits must know the key type of any algorithm added.
// A provider's tokens are held to the ones of these it advertises
// (providerAlgs); Okta signs with RS256.
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// defaultAlgs are a provider's algorithms when its discovery document
// lists none: RS256, which every OpenID provider supports (OpenID Connect
// Discovery 1.0 section 3).
var defaultAlgs = []jose.SignatureAlgorithm{jose.RS256}

// providerAlgs returns the algorithms of signingAlgs that a provider
// advertises in id_token_signing_alg_values_supported: defaultAlgs when it
// lists none, and an error naming what it lists when none of them is one
// oktasso accepts (such as only HS256 or none).
func providerAlgs(advertised []string) ([]jose.SignatureAlgorithm, error) {
	if len(advertised) == 0 {
		return defaultAlgs, nil
	}
	var algs []jose.SignatureAlgorithm
	for _, alg := range signingAlgs {
		if slices.Contains(advertised, string(alg)) {
			algs = append(algs, alg)
		}
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("id_token_signing_alg_values_supported lists %s, none of which oktasso accepts; "+
			"configure the provider (or this client at the provider) to sign ID tokens with one of %s",
			strings.Join(advertised, ", "), algList(signingAlgs))
	}
	return algs, nil
}

// algList writes algs as "RS256, ES256".
func algList(algs []jose.SignatureAlgorithm) string {
	s := make([]string, len(algs))
	for i, a := range algs {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// keySet is the provider's JWKS: fetched from the discovered jwks_uri only,
// refetched on an unknown kid (one fetch in flight, at most one per
// jwksRefreshInterval), ignoring keys it cannot use. It accepts the
// algorithms the provider advertises (algs). Safe for concurrent use.
type keySet struct {
	uri    string
	algs   []jose.SignatureAlgorithm // a subset of signingAlgs, never empty
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	fetched  time.Time // last fetch attempt, successful or not
	inflight chan struct{}
	fetches  int // attempts, for tests and metrics
}

// newKeySet returns the key set at uri for tokens signed with one of algs
// (defaultAlgs when empty).
func newKeySet(uri string, algs []jose.SignatureAlgorithm, client *http.Client, now func() time.Time, log *slog.Logger) *keySet {
	if len(algs) == 0 {
		algs = defaultAlgs
	}
	return &keySet{uri: uri, algs: algs, client: client, now: now, log: log}
}

// verify is the signature step of verifyJWT: the alg is one the provider
// advertises, and there is exactly one signature, by the key with the
// token's kid (the set is refetched once for an unknown kid), whose type
// fits the token's alg. It returns the verified payload. A token without a
// kid is accepted only when the set holds exactly one key.
func (ks *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	if len(jws.Signatures) != 1 {
		return nil, tokenErrorf(audit.ReasonSignatureInvalid, "want exactly one signature, got %d", len(jws.Signatures))
	}
	h := jws.Signatures[0].Header
	kid, alg := h.KeyID, h.Algorithm
	if !slices.Contains(ks.algs, jose.SignatureAlgorithm(alg)) {
		return nil, tokenErrorf(audit.ReasonTokenInvalid, "alg %s is not one the provider advertises (%s)", alg, algList(ks.algs))
	}
	keys, err := ks.get(ctx, false)
	if err != nil {
		return nil, err
	}
	cands := candidates(keys, kid)
	if len(cands) == 0 && kid != "" {
		if keys, err = ks.get(ctx, true); err != nil {
			return nil, err
		}
		cands = candidates(keys, kid)
	}
	if len(cands) == 0 {
		if kid == "" {
			return nil, tokenErrorf(audit.ReasonSignatureInvalid, "token has no kid and the key set has %d keys", len(keys))
		}
		return nil, tokenErrorf(audit.ReasonSignatureInvalid, "no key with kid %q", kid)
	}
	for i := range cands {
		if !keyFits(&cands[i], alg) {
			return nil, tokenErrorf(audit.ReasonSignatureInvalid, "key %q does not fit alg %s", cands[i].KeyID, alg)
		}
		if payload, err := jws.Verify(&cands[i]); err == nil {
			return payload, nil
		}
	}
	return nil, tokenErrorf(audit.ReasonSignatureInvalid, "bad signature")
}

// keyFits reports whether k may verify a signature made with alg: its
// type and curve match the algorithm, and its own "alg", when it has one,
// is alg.
func keyFits(k *jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return (alg == "ES256" && pub.Curve == elliptic.P256()) ||
			(alg == "ES384" && pub.Curve == elliptic.P384()) ||
			(alg == "ES512" && pub.Curve == elliptic.P521())
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// candidates returns the keys that may have signed a token with kid. A token
// without a kid is accepted only when the set holds exactly one key.
func candidates(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	if kid == "" {
		if len(keys) == 1 {
			return keys
		}
		return nil
	}
	for i := range keys {
		if keys[i].KeyID == kid {
			return keys[i : i+1]
		}
	}
	return nil
}

// get returns the cached keys, fetching them when there are none yet or when
// refresh is asked and the rate limit allows. Waiters honour ctx.
func (ks *keySet) get(ctx context.Context, refresh bool) ([]jose.JSONWebKey, error) {
	if ks.uri == "" { // a plain OAuth 2.0 provider: nothing it signs is accepted
		return nil, tokenErrorf(audit.ReasonTokenInvalid, "the provider publishes no signing keys")
	}
	ks.mu.Lock()
	// Known keys are used at once, even while a refetch runs; an unknown
	// kid joins the fetch in flight, or starts one when the last is at
	// least jwksRefreshInterval old.
	if ks.keys != nil && (!refresh || (ks.inflight == nil && ks.now().Sub(ks.fetched) < jwksRefreshInterval)) {
		keys := ks.keys
		ks.mu.Unlock()
		return keys, nil
	}
	if ks.keys == nil && ks.inflight == nil && !ks.fetched.IsZero() && ks.now().Sub(ks.fetched) < minRetryBackoff {
		ks.mu.Unlock()
		return nil, fmt.Errorf("%w: signing keys unavailable", ErrProviderUnavailable)
	}
	wait := ks.inflight
	if wait == nil {
		wait = make(chan struct{})
		ks.inflight = wait
		ks.fetched = ks.now()
		ks.fetches++
		go ks.fetch(context.WithoutCancel(ctx), wait)
	}
	ks.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait:
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.keys == nil {
		return nil, fmt.Errorf("%w: signing keys unavailable", ErrProviderUnavailable)
	}
	return ks.keys, nil
}

func (ks *keySet) fetch(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, defaultHTTPTimeout)
	defer cancel()
	keys, err := ks.download(ctx)
	ks.mu.Lock()
	if err != nil {
		ks.log.Warn("oktasso: fetching signing keys failed", "jwks_uri", ks.uri, "err", err.Error())
	} else {
		ks.keys = keys
	}
	ks.inflight = nil
	ks.mu.Unlock()
	close(done)
}

func (ks *keySet) download(ctx context.Context) ([]jose.JSONWebKey, error) {
	body, err := httpjson.Get(ctx, ks.client, ks.uri, maxJWKSBytes)
	if err != nil {
		return nil, err
	}
	keys, skipped, err := parseJWKS(body, ks.algs)
	if skipped > 0 {
		ks.log.Debug("oktasso: ignored unusable keys in JWKS", "jwks_uri", ks.uri, "count", skipped)
	}
	return keys, err
}

// parseJWKS keeps the public signing keys that fit one of algs (RSA keys
// of at least 2048 bits), and counts the keys it had to skip.
func parseJWKS(body []byte, algs []jose.SignatureAlgorithm) (keys []jose.JSONWebKey, skipped int, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, fmt.Errorf("JWKS is not JSON: %w", err)
	}
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || !k.Valid() {
			skipped++
			continue
		}
		if !k.IsPublic() {
			k = k.Public()
		}
		rsaKey, isRSA := k.Key.(*rsa.PublicKey)
		usable := k.Key != nil && (k.Use == "" || k.Use == "sig") && (!isRSA || rsaKey.N.BitLen() >= 2048) &&
			slices.ContainsFunc(algs, func(alg jose.SignatureAlgorithm) bool { return keyFits(&k, string(alg)) })
		if !usable {
			skipped++
			continue
		}
		k.Certificates = nil
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, fmt.Errorf("JWKS has no usable keys for %s", algList(algs))
	}
	return keys, skipped, nil
}
