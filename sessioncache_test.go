package oktasso

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// signedInRequest signs alice in through h and returns a request carrying
// her session cookie.
func signedInRequest(t *testing.T, h *harness) *http.Request {
	t.Helper()
	b := h.browser()
	h.login(b, alice, "/")
	req := httptest.NewRequest("GET", h.app.URL+"/workspace", nil)
	req.Header.Set("Cookie", h.cookieHeader(b))
	return req
}

func TestSessionCacheHit(t *testing.T) {
	h := newHarness(t, nil)
	req := signedInRequest(t, h)
	ctx := context.Background()
	s1, u1, _ := h.auth.loadSession(ctx, req)
	s2, u2, _ := h.auth.loadSession(ctx, req)
	if s1 == nil || s2 != s1 || u2 != u1 {
		t.Fatalf("second loadSession = %p, %p; want the cached %p, %p", s2, u2, s1, u1)
	}
	if u1.Email != alice || !u1.Internal {
		t.Errorf("cached user = %+v; want alice, internal", u1)
	}

	// Exact match only: a value one byte off is a miss, and refused.
	v, _ := h.auth.cookies.readChunks(req)
	last := byte('A')
	if v[len(v)-1] == 'A' {
		last = 'B'
	}
	forged := httptest.NewRequest("GET", h.app.URL+"/workspace", nil)
	forged.AddCookie(&http.Cookie{Name: h.auth.cookies.sessionName(), Value: v[:len(v)-1] + string(last)})
	if s, _, _ := h.auth.loadSession(ctx, forged); s != nil {
		t.Error("a cookie one byte off the cached one was admitted")
	}
}

func TestSessionCacheExpiry(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		ok      bool
	}{
		{"fresh", time.Minute, true},
		{"idle timeout passed", 8*time.Hour + time.Minute, false},
		{"absolute end passed", 24*time.Hour + time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Idle 8h, absolute 24h; "absolute" stays active every 4h.
			h := newHarness(t, nil)
			req := signedInRequest(t, h)
			if s, _, _ := h.auth.loadSession(context.Background(), req); s == nil {
				t.Fatal("fresh session refused")
			}
			if tt.name == "absolute end passed" {
				h.cfg.SessionIdleTimeout = 48 * time.Hour
				h.auth.cfg.SessionIdleTimeout = 48 * time.Hour
			}
			h.clock.Add(tt.advance)
			s, _, _ := h.auth.loadSession(context.Background(), req)
			if (s != nil) != tt.ok {
				t.Errorf("cached session after %v = %v; want ok=%v", tt.advance, s != nil, tt.ok)
			}
			if !tt.ok && h.auth.cache.len() != 0 {
				t.Errorf("expired entry still cached (%d entries)", h.auth.cache.len())
			}
		})
	}
}

// TestSessionCacheRevocation: a session ended here leaves the cache at once;
// one ended by another instance sharing the store is refused on the next
// request, or, with RevocationCacheTTL, once that TTL has passed.
func TestSessionCacheRevocation(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		elsewhere bool // ended by another instance
		stale     bool // still admitted right after
	}{
		{"here, no TTL", 0, false, false},
		{"here, TTL", time.Hour, false, false},
		{"elsewhere, no TTL", 0, true, false},
		{"elsewhere, TTL", time.Second, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemoryStore(nil)
			h := newHarness(t, func(c *Config) { c.Store = store; c.RevocationCacheTTL = tt.ttl })
			req := signedInRequest(t, h)
			ctx := context.Background()
			s, _, _ := h.auth.loadSession(ctx, req)
			if s == nil {
				t.Fatal("fresh session refused")
			}
			ender := h.auth
			if tt.elsewhere {
				other, err := New(ctx, h.cfg)
				if err != nil {
					t.Fatal(err)
				}
				ender = other
			}
			if err := ender.endSessions(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			got, _, _ := h.auth.loadSession(ctx, req)
			if (got != nil) != tt.stale {
				t.Fatalf("session right after it was ended = %v; want admitted=%v", got != nil, tt.stale)
			}
			h.clock.Add(tt.ttl + time.Second)
			if got, _, _ := h.auth.loadSession(ctx, req); got != nil {
				t.Errorf("ended session admitted %v later", tt.ttl+time.Second)
			}
		})
	}
}

// TestSessionCacheCopyOnWrite: rolling the idle clock forward writes a new
// cookie from a copy; the cached session is never modified.
func TestSessionCacheCopyOnWrite(t *testing.T) {
	h := newHarness(t, nil)
	req := signedInRequest(t, h)
	cached, _, _ := h.auth.loadSession(context.Background(), req)
	seen := cached.Seen
	h.clock.Add(time.Hour) // past 1/20 of the 8h idle timeout
	rec := httptest.NewRecorder()
	s, u := h.auth.currentSession(rec, req)
	if s == nil || u == nil {
		t.Fatal("session refused")
	}
	if s == cached || s.Seen == seen {
		t.Errorf("currentSession returned Seen=%d (same value: %v); want a rolled copy", s.Seen, s == cached)
	}
	if cached.Seen != seen {
		t.Errorf("cached session's Seen changed from %d to %d", seen, cached.Seen)
	}
	if len(rec.Result().Cookies()) == 0 {
		t.Error("no cookie written when rolling the idle clock")
	}
	if again, _, _ := h.auth.loadSession(context.Background(), req); again != cached {
		t.Error("the old cookie value no longer hits the cache")
	}
}

func TestSessionCacheBounded(t *testing.T) {
	c := newSessionCache(3)
	for i := range 10 {
		c.add(string(rune('a'+i)), &session{ID: "id"}, &User{}, true, c.generation(), 0)
	}
	if c.len() != 3 {
		t.Errorf("cache of 3 holds %d entries after 10 adds", c.len())
	}
	// An add racing a purge (its revocation check started before) is dropped.
	gen := c.generation()
	c.purge("id")
	c.add("z", &session{ID: "id"}, &User{}, true, gen, 0)
	if c.len() != 0 {
		t.Errorf("cache holds %d entries after purge and a stale add; want 0", c.len())
	}
	if newSessionCache(-1) != nil || newSessionCache(0) != nil {
		t.Error("newSessionCache(<=0) caches; want nil")
	}
}

func TestSessionCacheOff(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SessionCacheSize = -1 })
	req := signedInRequest(t, h)
	s1, _, _ := h.auth.loadSession(context.Background(), req)
	s2, _, _ := h.auth.loadSession(context.Background(), req)
	if s1 == nil || s2 == nil || s1 == s2 {
		t.Errorf("loadSession twice without a cache = %p, %p; want two decoded sessions", s1, s2)
	}
}

func TestSessionCacheHitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	h := newHarness(t, nil)
	req := signedInRequest(t, h)
	ctx := context.Background()
	h.auth.loadSession(ctx, req)
	if n := testing.AllocsPerRun(100, func() { h.auth.loadSession(ctx, req) }); n != 0 {
		t.Errorf("loadSession on a cache hit = %v allocs; want 0", n)
	}
}
