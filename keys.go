package oktasso

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oktasso/oktasso/internal/httpjson"
)

// jwksRefreshInterval is the least time between two JWKS fetches triggered
// by unknown key ids, so tokens with random kids cannot make oktasso hammer
// the provider.
const jwksRefreshInterval = 30 * time.Second

// signingAlgs are the only algorithms accepted on tokens: Okta signs with
// RS256 alone. "none" and HMAC are never accepted.
var signingAlgs = []jose.SignatureAlgorithm{jose.RS256}

// keySet is the provider's JWKS: fetched from the discovered jwks_uri only,
// refetched on an unknown kid (one fetch in flight, at most one per
// jwksRefreshInterval), ignoring keys it cannot use. It implements
// oidc.KeySet. Safe for concurrent use.
type keySet struct {
	uri    string
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	fetched  time.Time // last fetch attempt, successful or not
	inflight chan struct{}
	fetches  int // attempts, for tests and metrics
}

func newKeySet(uri string, client *http.Client, now func() time.Time, log *slog.Logger) *keySet {
	return &keySet{uri: uri, client: client, now: now, log: log}
}

// VerifySignature verifies a compact JWS signed with RS256 by a key in the
// set and returns its payload.
func (ks *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed or unsupported signature: %w", ErrInvalidToken, err)
	}
	return ks.verifyJWS(ctx, jws)
}

// verifyJWS verifies an already parsed RS256 JWS by a key in the set and
// returns its payload, so callers that read the unverified payload first
// (the bearer guard checks the issuer before any key fetch) parse once.
func (ks *keySet) verifyJWS(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrInvalidToken)
	}
	kid := jws.Signatures[0].Header.KeyID
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
			return nil, fmt.Errorf("%w: token has no kid and the key set has %d keys", ErrInvalidToken, len(keys))
		}
		return nil, fmt.Errorf("%w: no key with kid %q", ErrInvalidToken, kid)
	}
	for i := range cands {
		if payload, err := jws.Verify(&cands[i]); err == nil {
			return payload, nil
		}
	}
	return nil, fmt.Errorf("%w: bad signature", ErrInvalidToken)
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
		return nil, fmt.Errorf("%w: the provider publishes no signing keys", ErrInvalidToken)
	}
	ks.mu.Lock()
	if ks.keys != nil && (!refresh || ks.now().Sub(ks.fetched) < jwksRefreshInterval) {
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
	ctx, cancel := context.WithTimeout(ctx, DefaultHTTPTimeout)
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
	keys, skipped, err := parseJWKS(body)
	if skipped > 0 {
		ks.log.Debug("oktasso: ignored unusable keys in JWKS", "jwks_uri", ks.uri, "count", skipped)
	}
	return keys, err
}

// parseJWKS keeps the RSA signing keys of at least 2048 bits that may be used
// with RS256, and counts the keys it had to skip.
func parseJWKS(body []byte) (keys []jose.JSONWebKey, skipped int, err error) {
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
		if priv, ok := k.Key.(*rsa.PrivateKey); ok {
			k.Key = &priv.PublicKey
		}
		pub, ok := k.Key.(*rsa.PublicKey)
		if !ok || pub.N.BitLen() < 2048 || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != string(jose.RS256)) {
			skipped++
			continue
		}
		k.Certificates = nil
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, errors.New("JWKS has no usable RS256 keys")
	}
	return keys, skipped, nil
}
