// Package storetest checks implementations of store.Store, like
// testing/fstest checks file systems. Run it from a test of your own store:
//
//	func TestMyStore(t *testing.T) {
//		if err := storetest.CheckStore(context.Background(), newMyStore(t)); err != nil {
//			t.Fatal(err)
//		}
//	}
//
// It also checks store.SetStore, store.LockStore and store.MultiGetStore
// when the store implements them. It writes only keys under a random prefix, and waits
// about a second in all for expiry checks.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/oktasso/oktasso/store"
)

// ttlShort is the expiry the checks wait out; stores must honour
// millisecond-precision expiry of this size.
const ttlShort = 400 * time.Millisecond

// CheckStore runs the conformance checks against s and returns every
// failure found, joined, or nil.
func CheckStore(ctx context.Context, s store.Store) error {
	c := &checker{ctx: ctx, s: s, prefix: "storetest:" + randomHex(6) + ":"}
	c.basic()
	c.values()
	c.concurrent()
	if ss, ok := s.(store.SetStore); ok {
		c.sets(ss)
	}
	if ls, ok := s.(store.LockStore); ok {
		c.locks(ls)
	}
	if ms, ok := s.(store.MultiGetStore); ok {
		c.multiGet(ms)
	}
	c.expiry()
	return errors.Join(c.errs...)
}

type checker struct {
	ctx    context.Context
	s      store.Store
	prefix string
	mu     sync.Mutex
	errs   []error
}

func (c *checker) fail(format string, args ...any) {
	c.mu.Lock()
	c.errs = append(c.errs, fmt.Errorf("storetest: "+format, args...))
	c.mu.Unlock()
}

func (c *checker) key(name string) string { return c.prefix + name }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *checker) basic() {
	k := c.key("basic")
	if _, err := c.s.Get(c.ctx, k); !errors.Is(err, store.ErrNotFound) {
		c.fail("Get(missing key) error = %v; want store.ErrNotFound", err)
	}
	if err := c.s.Set(c.ctx, k, []byte("one"), time.Minute); err != nil {
		c.fail("Set = %v", err)
		return
	}
	if got, err := c.s.Get(c.ctx, k); err != nil || string(got) != "one" {
		c.fail("Get after Set = %q, %v; want \"one\"", got, err)
	}
	if err := c.s.Set(c.ctx, k, []byte("two"), time.Minute); err != nil {
		c.fail("Set (overwrite) = %v", err)
	}
	if got, err := c.s.Get(c.ctx, k); err != nil || string(got) != "two" {
		c.fail("Get after overwrite = %q, %v; want \"two\"", got, err)
	}
	k2 := c.key("basic2")
	c.s.Set(c.ctx, k2, []byte("x"), time.Minute)
	if err := c.s.Delete(c.ctx, k, k2, c.key("never-set")); err != nil {
		c.fail("Delete(two keys and a missing one) = %v; want nil", err)
	}
	for _, key := range []string{k, k2} {
		if _, err := c.s.Get(c.ctx, key); !errors.Is(err, store.ErrNotFound) {
			c.fail("Get after Delete error = %v; want store.ErrNotFound", err)
		}
	}
}

func (c *checker) values() {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name  string
		key   string
		value []byte
	}{
		{"empty value", c.key("empty"), []byte{}},
		{"every byte value", c.key("binary"), all},
		{"64 KiB value", c.key("large"), bytes.Repeat([]byte("0123456789abcdef"), 4096)},
		{"key with separators", c.key("a:b|c/d e"), []byte("sep")},
		{"unicode key", c.key("ключ-鍵"), []byte("uni")},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.value)
		if err := c.s.Set(c.ctx, tt.key, in, time.Minute); err != nil {
			c.fail("%s: Set = %v", tt.name, err)
			continue
		}
		if len(in) > 0 {
			in[0] ^= 0xff // the store must have copied it
		}
		got, err := c.s.Get(c.ctx, tt.key)
		switch {
		case err == nil && len(in) > 0 && bytes.Equal(got, in):
			c.fail("%s: the store kept the caller's slice: changing it after Set changed the stored value; copy it", tt.name)
			continue
		case err != nil || !bytes.Equal(got, tt.value):
			c.fail("%s: Get = %d bytes, %v; want the %d bytes stored", tt.name, len(got), err, len(tt.value))
			continue
		}
		if len(got) > 0 {
			got[0] ^= 0xff
			if again, _ := c.s.Get(c.ctx, tt.key); !bytes.Equal(again, tt.value) {
				c.fail("%s: changing the slice Get returned changed the stored value", tt.name)
			}
		}
		c.s.Delete(c.ctx, tt.key)
	}
}

func (c *checker) concurrent() {
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := c.key(fmt.Sprintf("conc-%d", i))
			v := []byte(fmt.Sprintf("value-%d", i))
			for j := 0; j < 10; j++ {
				if err := c.s.Set(c.ctx, k, v, time.Minute); err != nil {
					c.fail("concurrent Set = %v", err)
					return
				}
				if got, err := c.s.Get(c.ctx, k); err != nil || !bytes.Equal(got, v) {
					c.fail("concurrent Get(%s) = %q, %v; want %q", k, got, err, v)
					return
				}
			}
			c.s.Delete(c.ctx, k)
		}()
	}
	wg.Wait()
}

func (c *checker) sets(s store.SetStore) {
	k := c.key("set")
	if m, err := s.Members(c.ctx, k); err != nil || len(m) != 0 {
		c.fail("Members(missing set) = %v, %v; want none", m, err)
	}
	for _, m := range []string{"a", "b", "a", "c"} {
		if err := s.AddToSet(c.ctx, k, m, time.Minute); err != nil {
			c.fail("AddToSet = %v", err)
			return
		}
	}
	m, err := s.Members(c.ctx, k)
	slices.Sort(m)
	if err != nil || !slices.Equal(m, []string{"a", "b", "c"}) {
		c.fail("Members = %v, %v; want [a b c]", m, err)
	}
	if err := s.Delete(c.ctx, k); err != nil {
		c.fail("Delete(set) = %v", err)
	}
	if m, _ := s.Members(c.ctx, k); len(m) != 0 {
		c.fail("Members after Delete = %v; want none", m)
	}
}

func (c *checker) locks(s store.LockStore) {
	k := c.key("lock")
	if ok, err := s.TryLock(c.ctx, k, "t1", time.Minute); !ok || err != nil {
		c.fail("TryLock(free) = %v, %v; want true", ok, err)
		return
	}
	if ok, _ := s.TryLock(c.ctx, k, "t2", time.Minute); ok {
		c.fail("TryLock(held) = true; want false")
	}
	s.Unlock(c.ctx, k, "t2")
	if ok, _ := s.TryLock(c.ctx, k, "t3", time.Minute); ok {
		c.fail("Unlock with another holder's token released the lock")
	}
	if err := s.Unlock(c.ctx, k, "t1"); err != nil {
		c.fail("Unlock = %v", err)
	}
	// Twenty contenders: exactly one wins.
	var wins sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := 0; i < 20; i++ {
		wins.Add(1)
		go func() {
			defer wins.Done()
			if ok, err := s.TryLock(c.ctx, k, fmt.Sprint("c", i), time.Minute); ok && err == nil {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}()
	}
	wins.Wait()
	if winners != 1 {
		c.fail("20 concurrent TryLock on a free lock: %d winners; want 1", winners)
	}
	s.Delete(c.ctx, k)
}

// multiGet checks that GetMulti reads what Get reads: present values,
// nil for missing or deleted keys.
func (c *checker) multiGet(s store.MultiGetStore) {
	a, b, missing := c.key("mg-a"), c.key("mg-b"), c.key("mg-missing")
	if err := s.Set(c.ctx, a, []byte("va"), time.Minute); err != nil {
		c.fail("Set = %v", err)
		return
	}
	s.Set(c.ctx, b, []byte("vb"), time.Minute)
	s.Delete(c.ctx, b)
	vals := [][]byte{[]byte("stale"), []byte("stale"), []byte("stale"), nil}
	if err := s.GetMulti(c.ctx, []string{a, b, missing, a}, vals); err != nil {
		c.fail("GetMulti = %v", err)
		return
	}
	if string(vals[0]) != "va" || vals[1] != nil || vals[2] != nil || string(vals[3]) != "va" {
		c.fail("GetMulti(present, deleted, missing, present) = %q; want [va <nil> <nil> va]", vals)
	}
	s.Delete(c.ctx, a)
}

// expiry checks every kind of entry at once, so the wait is paid once.
func (c *checker) expiry() {
	k, sk, lk := c.key("exp"), c.key("exp-set"), c.key("exp-lock")
	if err := c.s.Set(c.ctx, k, []byte("v"), ttlShort); err != nil {
		c.fail("Set(short ttl) = %v", err)
		return
	}
	ss, isSet := c.s.(store.SetStore)
	if isSet {
		ss.AddToSet(c.ctx, sk, "m", ttlShort)
	}
	ls, isLock := c.s.(store.LockStore)
	if isLock {
		ls.TryLock(c.ctx, lk, "t", ttlShort)
	}
	if _, err := c.s.Get(c.ctx, k); err != nil {
		c.fail("Get before the ttl passed = %v; want the value", err)
	}
	time.Sleep(ttlShort + 300*time.Millisecond)
	if _, err := c.s.Get(c.ctx, k); !errors.Is(err, store.ErrNotFound) {
		c.fail("Get after the ttl passed error = %v; want store.ErrNotFound", err)
	}
	if isSet {
		if m, _ := ss.Members(c.ctx, sk); len(m) != 0 {
			c.fail("Members after the set's ttl passed = %v; want none", m)
		}
	}
	if isLock {
		if ok, _ := ls.TryLock(c.ctx, lk, "t2", time.Minute); !ok {
			c.fail("TryLock after the lock's ttl passed = false; want true (expired locks free)")
		}
		ls.Unlock(c.ctx, lk, "t2")
	}
}
