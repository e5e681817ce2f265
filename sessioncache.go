package oktasso

import (
	"sync"
	"sync/atomic"
)

// DefaultSessionCacheSize is the default Config.Session.CacheSize.
const defaultSessionCacheSize = 4096

// sessionCache remembers cookie values that were verified and decoded, so a
// repeat request with the same value skips the base64 decode, the
// decryption and the decoding. It matches the exact value (a value differing
// in one byte is a miss and goes through the full check), holds at most max
// entries (a random one is evicted to make room), and holds cookie sessions
// only: a stub's data lives in the Store, which is read each time.
//
// What is cached never changes: entries hold the decoded session and its
// User, which callers must treat as read-only and copy before modifying.
// Lifetimes are checked on every hit by the caller, and revocation too
// (see Auth.loadSession); sessions ended in this process are purged. Safe
// for concurrent use.
type sessionCache struct {
	max int

	mu      sync.RWMutex
	entries map[string]*cacheEntry
	gen     uint64 // bumped by purge: an add that started before is dropped
}

type cacheEntry struct {
	s       *session
	u       *User
	newest  bool         // sealed with the newest key in the current format
	revKeys revKeys      // Auth.revocationKeys(s), built once
	checked atomic.Int64 // when the Store last said "not revoked" (unix ns); 0: never
}

// newSessionCache returns a cache of max entries, or nil (no caching) for
// max <= 0. A nil *sessionCache is valid and caches nothing.
func newSessionCache(max int) *sessionCache {
	if max <= 0 {
		return nil
	}
	return &sessionCache{max: max, entries: make(map[string]*cacheEntry, min(max, 1024))}
}

// get returns the entry for the exact cookie value v, or nil.
func (c *sessionCache) get(v string) *cacheEntry {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e := c.entries[v]
	c.mu.RUnlock()
	return e
}

// generation is read before a revocation check whose result add will
// cache; see add.
func (c *sessionCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// add caches a verified value whose revocation check (made at checkedNs)
// started at generation gen; if a purge ran since, the session might be one
// it ended, so nothing is cached. v must be the caller's own copy, not a
// slice of a request's header that the entry would keep alive.
func (c *sessionCache) add(v string, s *session, u *User, revKeys revKeys, newest bool, gen uint64, checkedNs int64) {
	if c == nil {
		return
	}
	e := &cacheEntry{s: s, u: u, newest: newest, revKeys: revKeys}
	e.checked.Store(checkedNs)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.entries[v]; !ok && len(c.entries) >= c.max {
		for k := range c.entries { // map order: a random victim
			delete(c.entries, k)
			break
		}
	}
	c.entries[v] = e
}

// remove drops the entry for v if it is still e.
func (c *sessionCache) remove(v string, e *cacheEntry) {
	c.mu.Lock()
	if c.entries[v] == e {
		delete(c.entries, v)
	}
	c.mu.Unlock()
}

// purge drops every entry of the sessions ids, so a session ended in this
// process is never served from the cache.
func (c *sessionCache) purge(ids ...string) {
	if c == nil || len(ids) == 0 {
		return
	}
	set := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	c.purgeWhere(func(s *session) bool {
		_, ok := set[s.ID]
		return ok
	})
}

// purgeWhere drops every entry whose session ended matches, so a session
// ended in this process by a mark is never served from the cache.
func (c *sessionCache) purgeWhere(ended func(*session) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if ended(e.s) {
			delete(c.entries, k)
		}
	}
}

// len reports the number of entries.
func (c *sessionCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
