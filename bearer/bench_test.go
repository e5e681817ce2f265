package bearer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchToken returns a Guard (edited by edit) and a fresh user access
// token of the fake's default custom authorization server. Its comparison,
// go-oidc's verifier on an equivalent token, is BenchmarkGoOIDCAccessToken
// in internal/comparebench.
func benchToken(b *testing.B, edit func(*Config)) (*Guard, string) {
	b.Helper()
	f := newAPIFixture(b)
	tok := userToken(b, f.fake, f.fake.CustomIssuer("default"), spaClientID, nil)
	br := f.guard(func(c *Config) {
		c.Now = time.Now // the real clock: the fixture's is behind a mutex
		if edit != nil {
			edit(c)
		}
	})
	if _, err := br.Verify(context.Background(), tok); err != nil { // discovery and keys
		b.Fatal(err)
	}
	return br, tok
}

// BenchmarkBearerVerifyMiss is a full verification: parse, issuer, RS256
// signature, claims, User (the cache is off).
func BenchmarkBearerVerifyMiss(b *testing.B) {
	br, tok := benchToken(b, func(c *Config) { c.CacheSize = -1 })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBearerVerifyHit is a repeated token, answered from the cache.
func BenchmarkBearerVerifyHit(b *testing.B) {
	br, tok := benchToken(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBearerVerifyHitParallel is the cache under parallel requests.
func BenchmarkBearerVerifyHitParallel(b *testing.B) {
	br, tok := benchToken(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := br.Verify(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBearerRequireHit is the whole middleware on a cached token:
// header parsing, the scope check and the request context.
func BenchmarkBearerRequireHit(b *testing.B) {
	br, tok := benchToken(b, nil)
	h := br.Require("openid")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("GET", "/api", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.Code != 200 {
		b.Fatalf("status %d", w.Code)
	}
}
