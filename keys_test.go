package oktasso

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

var (
	rsaOnce sync.Once
	rsaKeys [3]*rsa.PrivateKey
)

// testRSAKeys returns three RSA keys made once per test binary.
func testRSAKeys(t testing.TB) [3]*rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		for i := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[i] = k
		}
	})
	return rsaKeys
}

func sign(t testing.TB, key *rsa.PrivateKey, kid string, payload []byte) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jwksServer serves a JWKS document that tests can change, and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	doc     []byte
	fetches atomic.Int32
	delay   time.Duration
}

func newJWKSServer(t testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		time.Sleep(s.delay)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(t testing.TB, keys ...jose.JSONWebKey) {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	s.setRaw(b)
}

func (s *jwksServer) setRaw(b []byte) {
	s.mu.Lock()
	s.doc = b
	s.mu.Unlock()
}

func pubJWK(k *rsa.PrivateKey, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// verifySig runs the signature step of verifyJWT on a compact token.
func verifySig(ctx context.Context, ks *keySet, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return nil, err
	}
	return ks.verify(ctx, jws)
}

func TestKeySetVerify(t *testing.T) {
	keys := testRSAKeys(t)
	payload := []byte(`{"sub":"00u1"}`)
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"), pubJWK(keys[1], "k1"))
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), time.Now, quietLogger())
	ctx := context.Background()

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"kid k0", sign(t, keys[0], "k0", payload), true},
		{"kid k1", sign(t, keys[1], "k1", payload), true},
		{"wrong key, known kid", sign(t, keys[2], "k0", payload), false},
		{"no kid with two keys", sign(t, keys[0], "", payload), false},
		{"garbage", "a.b.c", false},
		{"alg none", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIwMHUxIn0.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifySig(ctx, ks, tt.token)
			if tt.ok && (err != nil || string(got) != string(payload)) {
				t.Errorf("verify = %q, %v; want payload", got, err)
			}
			if !tt.ok && err == nil {
				t.Errorf("verify = %q, nil; want error", got)
			}
		})
	}
}

func TestKeySetNoKidWithOneKey(t *testing.T) {
	keys := testRSAKeys(t)
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"))
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), time.Now, quietLogger())
	if _, err := verifySig(context.Background(), ks, sign(t, keys[0], "", []byte(`{}`))); err != nil {
		t.Errorf("verify(no kid, one key) = %v; want ok", err)
	}
}

func TestKeySetIgnoresUnusableKeys(t *testing.T) {
	keys := testRSAKeys(t)
	good, _ := json.Marshal(pubJWK(keys[0], "good"))
	doc := `{"keys":[{"kty":"RSA","kid":"broken","n":"!!!","e":"AQAB"},` +
		`{"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},` +
		`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"},` + string(good) + `]}`
	srv := newJWKSServer(t)
	srv.setRaw([]byte(doc))
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), time.Now, quietLogger())
	if _, err := verifySig(context.Background(), ks, sign(t, keys[0], "good", []byte(`{}`))); err != nil {
		t.Fatalf("verify with a usable key among broken ones = %v; want ok", err)
	}
	got, skipped, err := parseJWKS([]byte(doc), defaultAlgs)
	if err != nil || len(got) != 1 || skipped != 3 {
		t.Errorf("parseJWKS = %d keys, %d skipped, %v; want 1 key, 3 skipped", len(got), skipped, err)
	}
	if _, _, err := parseJWKS([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), defaultAlgs); err == nil {
		t.Error("parseJWKS with no usable key = nil error; want error")
	}
}

func TestKeySetRotationAndRateLimit(t *testing.T) {
	keys := testRSAKeys(t)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"))
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), clock.Now, quietLogger())
	ctx := context.Background()
	if _, err := verifySig(ctx, ks, sign(t, keys[0], "k0", []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	// The provider publishes k1 and starts signing with it: one refetch finds it.
	srv.set(t, pubJWK(keys[0], "k0"), pubJWK(keys[1], "k1"))
	clock.Add(jwksRefreshInterval)
	if _, err := verifySig(ctx, ks, sign(t, keys[1], "k1", []byte(`{}`))); err != nil {
		t.Fatalf("token signed by a newly published key = %v; want ok after refetch", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d; want 2", n)
	}
	// A storm of random kids within the window causes no further fetch.
	for i := 0; i < 50; i++ {
		if _, err := verifySig(ctx, ks, sign(t, keys[2], randomString(8), []byte(`{}`))); err == nil {
			t.Fatal("token with unknown kid verified")
		}
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("fetches after 50 unknown kids = %d; want 2 (rate limited)", n)
	}
	clock.Add(jwksRefreshInterval)
	verifySig(ctx, ks, sign(t, keys[2], "new", []byte(`{}`)))
	if n := srv.fetches.Load(); n != 3 {
		t.Errorf("fetches after the window = %d; want 3", n)
	}
}

func TestKeySetSingleFlight(t *testing.T) {
	keys := testRSAKeys(t)
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"))
	srv.delay = 100 * time.Millisecond
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), time.Now, quietLogger())
	tok := sign(t, keys[0], "k0", []byte(`{}`))
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := verifySig(context.Background(), ks, tok); err != nil {
				failures.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := srv.fetches.Load(); n != 1 || failures.Load() != 0 {
		t.Errorf("20 concurrent first verifications: %d fetches, %d failures; want 1 fetch, 0 failures", n, failures.Load())
	}
}

func TestKeySetWaiterHonoursContext(t *testing.T) {
	keys := testRSAKeys(t)
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"))
	srv.delay = 2 * time.Second
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), time.Now, quietLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := verifySig(ctx, ks, sign(t, keys[0], "k0", []byte(`{}`)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("verify with a slow JWKS and a 50ms context = %v; want deadline exceeded", err)
	}
}

func FuzzParseJWKS(f *testing.F) {
	keys := testRSAKeys(f)
	good, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pubJWK(keys[0], "k0")}})
	f.Add(good)
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`<html>`))
	f.Add([]byte(`{"keys":[{"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, algs := range [][]jose.SignatureAlgorithm{defaultAlgs, signingAlgs} {
			got, _, err := parseJWKS(doc, algs)
			if err == nil && len(got) == 0 {
				t.Fatal("parseJWKS = no keys and no error")
			}
			for _, k := range got {
				fits := slices.ContainsFunc(algs, func(a jose.SignatureAlgorithm) bool { return keyFits(&k, string(a)) })
				if pub, ok := k.Key.(*rsa.PublicKey); !fits || (ok && pub.N.BitLen() < 2048) || !k.IsPublic() {
					t.Fatalf("parseJWKS(algs %s) kept an unusable key %T", algList(algs), k.Key)
				}
			}
		}
	})
}

// TestKeySetRotationWithinSeconds: a key the provider starts signing with
// soon after the last JWKS fetch is found once that fetch is 5 s old, and a
// flood of random kids still causes at most one fetch per 5 s.
func TestKeySetRotationWithinSeconds(t *testing.T) {
	keys := testRSAKeys(t)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"))
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), clock.Now, quietLogger())
	ctx := context.Background()
	if _, err := verifySig(ctx, ks, sign(t, keys[0], "k0", []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	srv.set(t, pubJWK(keys[0], "k0"), pubJWK(keys[1], "k1"))
	clock.Add(5 * time.Second)
	if _, err := verifySig(ctx, ks, sign(t, keys[1], "k1", []byte(`{}`))); err != nil {
		t.Fatalf("a key rotated 5 s after the last fetch: verify = %v; want ok", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d; want 2", n)
	}
	// 30 s of random kids, ten a second: one fetch per 5 s window.
	for range 30 {
		clock.Add(time.Second)
		for range 10 {
			if _, err := verifySig(ctx, ks, sign(t, keys[2], randomString(8), []byte(`{}`))); err == nil {
				t.Fatal("a token with an unknown kid verified")
			}
		}
	}
	if n := srv.fetches.Load(); n != 2+6 {
		t.Errorf("fetches after 30 s of random kids = %d; want %d (one per 5 s)", n, 2+6)
	}
}

// TestKeySetUnknownKidJoinsFetchInFlight: tokens with a new kid that arrive
// while its refetch runs wait for that one fetch instead of failing on the
// old keys; tokens with a known kid do not wait.
func TestKeySetUnknownKidJoinsFetchInFlight(t *testing.T) {
	keys := testRSAKeys(t)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"))
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), clock.Now, quietLogger())
	ctx := context.Background()
	if _, err := verifySig(ctx, ks, sign(t, keys[0], "k0", []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	srv.set(t, pubJWK(keys[0], "k0"), pubJWK(keys[1], "k1"))
	release := make(chan struct{})
	srv.Config.Handler = gate(srv.Config.Handler, release)
	clock.Add(jwksRefreshInterval)
	tok := sign(t, keys[1], "k1", []byte(`{}`))
	var wg sync.WaitGroup
	var failures atomic.Int32
	for range 20 {
		wg.Go(func() {
			if _, err := verifySig(ctx, ks, tok); err != nil {
				failures.Add(1)
			}
		})
	}
	// A known kid is served from the old keys while the fetch is held.
	if _, err := verifySig(ctx, ks, sign(t, keys[0], "k0", []byte(`{}`))); err != nil {
		t.Errorf("known kid during a refetch: verify = %v; want ok", err)
	}
	close(release)
	wg.Wait()
	if n := srv.fetches.Load(); n != 2 || failures.Load() != 0 {
		t.Errorf("20 concurrent tokens with a new kid: %d fetches, %d failures; want 2 fetches, 0 failures", n, failures.Load())
	}
}

// gate holds every request to h until release is closed.
func gate(h http.Handler, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		h.ServeHTTP(w, r)
	})
}
