package oktasso

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNotFound is returned by a Store for a key it does not hold (never
// stored, expired or deleted).
var ErrNotFound = errors.New("oktasso: not found")

// Store keeps oktasso's server-side state as opaque bytes under string keys:
// revoked session ids, the logout index, refreshed sessions and, with
// Config.Session.Storage, the sessions themselves. Keys are chosen by oktasso
// and never come from a request unauthenticated. Implementations must be
// safe for concurrent use; package redisstore has one for Redis, and
// NewMemoryStore one for a single process. Check an implementation with
// package storetest.
//
// A Store may also implement SetStore and LockStore; oktasso discovers them
// by type assertion.
type Store interface {
	// Get returns the value stored under key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl (> 0), replacing any value.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys; a missing key is not an error.
	Delete(ctx context.Context, keys ...string) error
}

// SetStore is a Store that also keeps sets of strings. oktasso indexes
// sessions by the provider's session id and by user with it, so that
// back- and front-channel logout can end them; without it those receivers
// can end only the sessions of this process.
type SetStore interface {
	Store
	// AddToSet adds member to the set at key and keeps the set at least
	// ttl (> 0) longer.
	AddToSet(ctx context.Context, key, member string, ttl time.Duration) error
	// Members returns the set's members (none for a missing key).
	Members(ctx context.Context, key string) ([]string, error)
}

// LockStore is a Store that can hold short locks, so that only one instance
// refreshes a session's tokens at a time.
type LockStore interface {
	Store
	// TryLock takes the lock key for ttl if it is free and reports whether
	// it did; token identifies the holder.
	TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	// Unlock releases the lock if token still holds it.
	Unlock(ctx context.Context, key, token string) error
}

// memoryStore is a Store, SetStore and LockStore in this process's memory,
// with expiry. It suits a single instance; several instances need a shared
// store such as package redisstore. Safe for concurrent use.
type memoryStore struct {
	now func() time.Time

	mu    sync.RWMutex
	items map[string]memItem
	sets  map[string]memSet
	ops   int // writes since the last sweep
}

type memItem struct {
	value   []byte
	expires time.Time
}

type memSet struct {
	members map[string]struct{}
	expires time.Time
}

// NewMemoryStore returns an empty Store in this process's memory, with
// expiry: the default Config.Store. It also implements SetStore and
// LockStore. It suits a single instance; several instances need a shared
// store such as package redisstore. It is safe for concurrent use. now may
// be nil for time.Now.
func NewMemoryStore(now func() time.Time) Store {
	if now == nil {
		now = time.Now
	}
	return &memoryStore{now: now, items: map[string]memItem{}, sets: map[string]memSet{}}
}

// Get implements Store.
func (m *memoryStore) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.RLock()
	it, ok := m.items[key]
	m.mu.RUnlock()
	if !ok || !m.now().Before(it.expires) {
		return nil, ErrNotFound
	}
	return append([]byte(nil), it.value...), nil
}

// Set implements Store.
func (m *memoryStore) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("oktasso: Set with a ttl that is not positive")
	}
	m.mu.Lock()
	m.items[key] = memItem{value: append([]byte(nil), value...), expires: m.now().Add(ttl)}
	m.sweepLocked()
	m.mu.Unlock()
	return nil
}

// Delete implements Store.
func (m *memoryStore) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	for _, k := range keys {
		delete(m.items, k)
		delete(m.sets, k)
	}
	m.mu.Unlock()
	return nil
}

// AddToSet implements SetStore.
func (m *memoryStore) AddToSet(_ context.Context, key, member string, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("oktasso: AddToSet with a ttl that is not positive")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	s, ok := m.sets[key]
	if !ok || !now.Before(s.expires) {
		s = memSet{members: map[string]struct{}{}}
	}
	s.members[member] = struct{}{}
	if exp := now.Add(ttl); exp.After(s.expires) {
		s.expires = exp
	}
	m.sets[key] = s
	m.sweepLocked()
	return nil
}

// Members implements SetStore.
func (m *memoryStore) Members(_ context.Context, key string) ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sets[key]
	if !ok || !m.now().Before(s.expires) {
		return nil, nil
	}
	out := make([]string, 0, len(s.members))
	for k := range s.members {
		out = append(out, k)
	}
	return out, nil
}

// TryLock implements LockStore.
func (m *memoryStore) TryLock(_ context.Context, key, token string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if it, ok := m.items[key]; ok && now.Before(it.expires) {
		return false, nil
	}
	m.items[key] = memItem{value: []byte(token), expires: now.Add(ttl)}
	return true, nil
}

// Unlock implements LockStore.
func (m *memoryStore) Unlock(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it, ok := m.items[key]; ok && string(it.value) == token {
		delete(m.items, key)
	}
	return nil
}

// sweepLocked drops expired entries every 1,024 writes, so memory follows
// the live sessions. m.mu must be held.
func (m *memoryStore) sweepLocked() {
	m.ops++
	if m.ops < 1024 {
		return
	}
	m.ops = 0
	now := m.now()
	for k, it := range m.items {
		if !now.Before(it.expires) {
			delete(m.items, k)
		}
	}
	for k, s := range m.sets {
		if !now.Before(s.expires) {
			delete(m.sets, k)
		}
	}
}
