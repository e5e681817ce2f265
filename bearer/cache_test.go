package bearer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/audit"
)

// TestBearerJunkJWTsNotCached: JWTs with a bad signature are refused
// without being cached, so a flood of them cannot evict a verified token,
// even from a cache of one entry per shard.
func TestBearerJunkJWTsNotCached(t *testing.T) {
	f := newAPIFixture(t)
	g := f.guard(func(c *Config) { c.CacheSize = cacheShards })
	tok := userToken(t, f.fake, f.fake.CustomIssuer("default"), spaClientID, nil)
	ctx := context.Background()
	first, err := g.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	// The real header and claims, a junk signature: refused only by the
	// signature check, with the key at hand.
	signed := tok[:strings.LastIndexByte(tok, '.')+1]
	for i := range 1_000 {
		_, err := g.Verify(ctx, signed+randomString(256))
		if te, ok := errors.AsType[*oktasso.TokenError](err); !ok || te.Reason != audit.ReasonSignatureInvalid {
			t.Fatalf("junk JWT %d: Verify = %v; want a signature_invalid refusal", i, err)
		}
	}
	if n := g.cache.len(); n != 1 {
		t.Errorf("after 1,000 junk JWTs the cache holds %d entries; want 1", n)
	}
	if again, err := g.Verify(ctx, tok); err != nil || again != first {
		t.Errorf("Verify(real token) after 1,000 junk JWTs = %p, %v; want the cached %p", again, err, first)
	}
}
