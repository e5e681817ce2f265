package store

import (
	"container/heap"
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
)

// DefaultMaxEntries is how many index entries a Memory holds unless told
// otherwise, sized for one machine: at about 100 to 125 bytes an entry
// (BenchmarkMemoryIndex measures 208 to 251 bytes for two), at most 100 to
// 125 MB. oktasso indexes only the sessions that keep data in the store
// (SessionInStore, refreshed tokens: one or two entries each, by user and
// verified email); a cookie session is indexed nowhere (logouts end it with
// "not before" marks, values written at logout time). Each sign-in also
// holds a lock on its state for the ten minutes of its flow.
const DefaultMaxEntries = 1_000_000

// warnEvery spaces out the warning that the index is full.
const warnEvery = time.Minute

// MemoryOptions configures a Memory made with NewMemoryWith. The zero value
// is what NewMemory(nil) uses.
type MemoryOptions struct {
	// Now is the clock that expiry follows. Default time.Now.
	Now func() time.Time
	// MaxEntries bounds the index: the members of sets (SetStore, the
	// index of sessions kept in the store) and the locks (LockStore). When
	// it is full, the entries nearest their expiry go first: for the
	// index, whose entries all live as long as a session, the oldest.
	// Ending a user's sessions then still ends them (marks do), but may
	// leave the data of those stored sessions until it expires. A warning
	// is logged, at most once a minute. Values (Store.Set: revocations and
	// not-before marks, sessions kept in the store) are never dropped
	// before they expire and do not count. Each entry takes about
	// 100 bytes. Zero or less means DefaultMaxEntries.
	MaxEntries int
	// Logger receives the warning that the index is full. Default
	// slog.Default().
	Logger *slog.Logger
}

// Memory is a Store, SetStore and LockStore in this process's memory, with
// expiry: the default oktasso.Config.Store. It suits a single instance;
// several instances need a shared store such as package redisstore. It is
// safe for concurrent use. Create one with NewMemory or NewMemoryWith; the
// zero Memory is not usable.
//
// Its memory follows the live entries: every write first drops whatever
// has expired (no background goroutine, nothing to close), keys are kept
// as 128-bit hashes, and the index is bounded (MemoryOptions.MaxEntries).
// A cookie session signed in costs it nothing after its flow's lock
// expires.
type Memory struct {
	now    func() time.Time
	max    int
	logger *slog.Logger
	seeds  [2]maphash.Seed

	mu     sync.RWMutex
	items  map[hkey]*entry   // values (Set) and locks (TryLock)
	sets   map[hkey]*entry   // sets (AddToSet), with their first member
	extra  map[hkey]*members // the other members of sets that have several
	values expiryHeap        // the values, soonest to expire first
	index  expiryHeap        // the locks and the sets
	size   int               // locks plus set members: what max bounds
	last   string            // the member added last, shared by the next add of it
	quiet  int64             // no warning before this (UnixNano)
	lost   int               // index entries dropped and not yet reported
}

// hkey is a key's 128-bit hash, under the store's random seeds.
type hkey struct{ a, b uint64 }

type entryKind uint8

const (
	kindValue entryKind = iota
	kindLock
	kindSet
)

// entry is a value, a lock or a set (48 bytes).
type entry struct {
	key     hkey
	value   string // the value, the lock's token, or the set's first member
	expires int64  // UnixNano
	pos     int32  // in its heap
	kind    entryKind
}

// members are a set's members after the first, in the order added.
type members struct {
	list []string
	seen map[string]struct{} // past linearMembers members
}

// linearMembers is how many members a set searches one by one.
const linearMembers = 16

var (
	_ SetStore      = (*Memory)(nil)
	_ LockStore     = (*Memory)(nil)
	_ MultiGetStore = (*Memory)(nil)
)

// NewMemory returns an empty Memory whose expiry follows the clock now;
// now may be nil for time.Now. Its index holds at most DefaultMaxEntries.
func NewMemory(now func() time.Time) *Memory {
	return NewMemoryWith(MemoryOptions{Now: now})
}

// NewMemoryWith returns an empty Memory configured by o.
func NewMemoryWith(o MemoryOptions) *Memory {
	m := &Memory{now: o.Now, max: o.MaxEntries, logger: o.Logger, quiet: math.MinInt64,
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		items: map[hkey]*entry{}, sets: map[hkey]*entry{}, extra: map[hkey]*members{}}
	if m.now == nil {
		m.now = time.Now
	}
	if m.max <= 0 {
		m.max = DefaultMaxEntries
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	return m
}

func (m *Memory) hash(key string) hkey {
	return hkey{maphash.String(m.seeds[0], key), maphash.String(m.seeds[1], key)}
}

// expiry is now+ttl in UnixNano, saturated.
func expiry(now int64, ttl time.Duration) int64 {
	if int64(ttl) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	k := m.hash(key)
	m.mu.RLock()
	e := m.items[k]
	var v []byte
	ok := e != nil && m.now().UnixNano() < e.expires
	if ok {
		v = []byte(e.value)
	}
	m.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	return v, nil
}

// GetMulti implements MultiGetStore, under one read lock. The clock is
// read only when a key is found: oktasso's revocation check usually finds
// none.
func (m *Memory) GetMulti(_ context.Context, keys []string, values [][]byte) error {
	if len(values) != len(keys) {
		return errors.New("oktasso: GetMulti with as many values as keys")
	}
	m.mu.RLock()
	now, read := int64(0), false
	for i, key := range keys {
		values[i] = nil
		e := m.items[m.hash(key)]
		if e == nil {
			continue
		}
		if !read {
			now, read = m.now().UnixNano(), true
		}
		if now < e.expires {
			values[i] = []byte(e.value)
		}
	}
	m.mu.RUnlock()
	return nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("oktasso: Set with a ttl that is not positive")
	}
	k := m.hash(key)
	m.mu.Lock()
	now := m.now().UnixNano()
	m.sweepLocked(now)
	if e := m.items[k]; e != nil {
		m.removeLocked(e)
	}
	e := &entry{key: k, value: string(value), expires: expiry(now, ttl), kind: kindValue}
	m.items[k] = e
	heap.Push(&m.values, e)
	m.mu.Unlock()
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	m.sweepLocked(m.now().UnixNano())
	for _, key := range keys {
		k := m.hash(key)
		if e := m.items[k]; e != nil {
			m.removeLocked(e)
		}
		if e := m.sets[k]; e != nil {
			m.removeLocked(e)
		}
	}
	m.mu.Unlock()
	return nil
}

// AddToSet implements SetStore.
func (m *Memory) AddToSet(_ context.Context, key, member string, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("oktasso: AddToSet with a ttl that is not positive")
	}
	k := m.hash(key)
	m.mu.Lock()
	now := m.now().UnixNano()
	m.sweepLocked(now)
	exp := expiry(now, ttl)
	if e := m.sets[k]; e == nil {
		e = &entry{key: k, value: m.share(member), expires: exp, kind: kindSet}
		m.sets[k] = e
		heap.Push(&m.index, e)
		m.size++
	} else {
		if m.addMemberLocked(e, member) {
			m.size++
		}
		if exp > e.expires {
			e.expires = exp
			heap.Fix(&m.index, int(e.pos))
		}
	}
	lost := m.evictLocked(now)
	m.mu.Unlock()
	m.warn(lost)
	return nil
}

// share returns a copy of member that the previous call returned if it
// was the same: oktasso indexes a stored session under two keys in a row.
func (m *Memory) share(member string) string {
	if member != m.last {
		m.last = strings.Clone(member)
	}
	return m.last
}

// addMemberLocked adds member to the set e and reports whether it is new.
func (m *Memory) addMemberLocked(e *entry, member string) bool {
	if e.value == member {
		return false
	}
	ms := m.extra[e.key]
	if ms == nil {
		ms = &members{}
		m.extra[e.key] = ms
	}
	if ms.seen != nil {
		if _, ok := ms.seen[member]; ok {
			return false
		}
	} else {
		for _, v := range ms.list {
			if v == member {
				return false
			}
		}
	}
	member = m.share(member)
	ms.list = append(ms.list, member)
	if ms.seen != nil {
		ms.seen[member] = struct{}{}
	} else if len(ms.list) > linearMembers {
		ms.seen = make(map[string]struct{}, len(ms.list))
		for _, v := range ms.list {
			ms.seen[v] = struct{}{}
		}
	}
	return true
}

// Members implements SetStore.
func (m *Memory) Members(_ context.Context, key string) ([]string, error) {
	k := m.hash(key)
	m.mu.RLock()
	defer m.mu.RUnlock()
	e := m.sets[k]
	if e == nil || m.now().UnixNano() >= e.expires {
		return nil, nil
	}
	out := []string{e.value}
	if ms := m.extra[k]; ms != nil {
		out = append(out, ms.list...)
	}
	return out, nil
}

// TryLock implements LockStore.
func (m *Memory) TryLock(_ context.Context, key, token string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errors.New("oktasso: TryLock with a ttl that is not positive")
	}
	k := m.hash(key)
	m.mu.Lock()
	now := m.now().UnixNano()
	m.sweepLocked(now)
	if m.items[k] != nil { // unexpired: the sweep dropped the others
		m.mu.Unlock()
		return false, nil
	}
	e := &entry{key: k, value: token, expires: expiry(now, ttl), kind: kindLock}
	m.items[k] = e
	heap.Push(&m.index, e)
	m.size++
	lost := m.evictLocked(now)
	m.mu.Unlock()
	m.warn(lost)
	return true, nil
}

// Unlock implements LockStore.
func (m *Memory) Unlock(_ context.Context, key, token string) error {
	k := m.hash(key)
	m.mu.Lock()
	m.sweepLocked(m.now().UnixNano())
	if e := m.items[k]; e != nil && e.value == token {
		m.removeLocked(e)
	}
	m.mu.Unlock()
	return nil
}

// sweepLocked drops every entry expired at now, soonest first: each entry
// is visited once in its life, so a write pays for the entries it made.
// m.mu must be held.
func (m *Memory) sweepLocked(now int64) {
	for len(m.values) > 0 && m.values[0].expires <= now {
		m.removeLocked(m.values[0])
	}
	for len(m.index) > 0 && m.index[0].expires <= now {
		m.removeLocked(m.index[0])
	}
}

// removeLocked drops e from its map and heap. m.mu must be held.
func (m *Memory) removeLocked(e *entry) {
	switch e.kind {
	case kindValue:
		heap.Remove(&m.values, int(e.pos))
		delete(m.items, e.key)
	case kindLock:
		heap.Remove(&m.index, int(e.pos))
		delete(m.items, e.key)
		m.size--
	case kindSet:
		heap.Remove(&m.index, int(e.pos))
		delete(m.sets, e.key)
		m.size--
		if ms := m.extra[e.key]; ms != nil {
			m.size -= len(ms.list)
			delete(m.extra, e.key)
		}
	}
}

// evictLocked drops the index entries nearest their expiry until the index
// fits, and returns how many to report now (0: nothing, or not yet). m.mu
// must be held.
func (m *Memory) evictLocked(now int64) int {
	for m.size > m.max && len(m.index) > 0 {
		n := m.size
		m.removeLocked(m.index[0])
		m.lost += n - m.size
	}
	if m.lost == 0 || now < m.quiet {
		return 0
	}
	lost := m.lost
	m.lost, m.quiet = 0, expiry(now, warnEvery)
	return lost
}

// warn logs that lost index entries were dropped to keep the index within
// its bound.
func (m *Memory) warn(lost int) {
	if lost == 0 {
		return
	}
	m.logger.Warn("oktasso: the in-memory store's index is full; dropped the entries nearest their expiry, so ending a user's sessions may leave the data of those stored sessions until it expires (they still end). Raise store.MemoryOptions.MaxEntries or share a store such as redisstore",
		"dropped", lost, "max_entries", m.max)
}

// expiryHeap orders entries by expiry (container/heap).
type expiryHeap []*entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = int32(i), int32(j)
}
func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.pos = int32(len(*h))
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
