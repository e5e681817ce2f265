package bearer

import "sync"

// cacheShards spreads the token cache over locks, so parallel requests
// with different tokens rarely wait on each other.
const cacheShards = 16

// tokenCache remembers verification results by key until a deadline. A
// Guard has one for verified tokens, by the exact token string, until they
// expire (introspected ones for less), and with introspection one for
// refusals, by the token's hash, for NegativeCacheAge: refusals never
// evict verified tokens. Refused JWTs are not stored at all, so
// unauthenticated clients cannot fill either cache faster than they can
// make the provider answer. It is bounded: a full shard drops its expired
// entries, then arbitrary ones. A nil *tokenCache caches nothing. Safe
// for concurrent use.
type tokenCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]tokenEntry
	_  [40]byte // keep shards on separate cache lines
}

// tokenEntry is a verified token, or a refusal, valid until until, in
// Unix nanoseconds.
type tokenEntry struct {
	tok   *Token
	err   error
	until int64
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{perShard: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]tokenEntry)
	}
	return c
}

// shard picks a shard from the key's last bytes: the signature of a
// JWT, random characters of an opaque token, bytes of a hash.
func (c *tokenCache) shard(raw string) *cacheShard {
	var h uint32
	for i := max(len(raw)-8, 0); i < len(raw); i++ {
		h = h*31 + uint32(raw[i])
	}
	return &c.shards[h%cacheShards]
}

// get returns the live entry for raw at now (Unix nanoseconds).
func (c *tokenCache) get(raw string, now int64) (tokenEntry, bool) {
	if c == nil {
		return tokenEntry{}, false
	}
	s := c.shard(raw)
	s.mu.RLock()
	e, ok := s.m[raw]
	s.mu.RUnlock()
	if !ok || now >= e.until {
		return tokenEntry{}, false
	}
	return e, true
}

// put stores e for raw, making room when the shard is full.
func (c *tokenCache) put(raw string, e tokenEntry, now int64) {
	if c == nil || e.until <= now {
		return
	}
	s := c.shard(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		for k, x := range s.m {
			if x.until <= now {
				delete(s.m, k)
			}
		}
		// Still full: drop an eighth, in map order (arbitrary).
		for k := range s.m {
			if len(s.m) < c.perShard-c.perShard/8 {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[raw] = e
}

// len returns the number of entries, live or not.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
