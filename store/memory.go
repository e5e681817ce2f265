package store

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Memory is a Store, SetStore and LockStore in this process's memory, with
// expiry: the default oktasso.Config.Store. It suits a single instance;
// several instances need a shared store such as package redisstore. It is
// safe for concurrent use. Create one with NewMemory; the zero Memory is not
// usable.
type Memory struct {
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

var (
	_ SetStore  = (*Memory)(nil)
	_ LockStore = (*Memory)(nil)
)

// NewMemory returns an empty Memory whose expiry follows the clock now;
// now may be nil for time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, items: map[string]memItem{}, sets: map[string]memSet{}}
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.RLock()
	it, ok := m.items[key]
	m.mu.RUnlock()
	if !ok || !m.now().Before(it.expires) {
		return nil, ErrNotFound
	}
	return append([]byte(nil), it.value...), nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
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
func (m *Memory) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	for _, k := range keys {
		delete(m.items, k)
		delete(m.sets, k)
	}
	m.mu.Unlock()
	return nil
}

// AddToSet implements SetStore.
func (m *Memory) AddToSet(_ context.Context, key, member string, ttl time.Duration) error {
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
func (m *Memory) Members(_ context.Context, key string) ([]string, error) {
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
func (m *Memory) TryLock(_ context.Context, key, token string, ttl time.Duration) (bool, error) {
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
func (m *Memory) Unlock(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it, ok := m.items[key]; ok && string(it.value) == token {
		delete(m.items, key)
	}
	return nil
}

// sweepLocked drops expired entries every 1,024 writes, so memory follows
// the live sessions. m.mu must be held.
func (m *Memory) sweepLocked() {
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
