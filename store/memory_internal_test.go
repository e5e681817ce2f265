package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// entries counts what m holds: values and locks, sets, set members.
func (m *Memory) entries() (items, sets, size int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.items), len(m.sets), m.size
}

// stateKey is shaped like the key oktasso writes for a consumed sign-in
// state.
func stateKey(i int) string { return fmt.Sprintf("st:%043d", i) }

// A sign-in callback takes a lock per state, for the flow's ten minutes;
// a day later the next write finds none of them.
func TestMemoryTryLockSweeps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	m := NewMemory(c.now)
	for i := range 3000 {
		if ok, err := m.TryLock(ctx, stateKey(i), "1", 10*time.Minute); !ok || err != nil {
			t.Fatalf("TryLock(%d) = %v, %v; want true", i, ok, err)
		}
	}
	if items, _, size := m.entries(); items != 3000 || size != 3000 {
		t.Fatalf("after 3,000 locks: %d items, index size %d; want 3000, 3000", items, size)
	}
	c.advance(24 * time.Hour)
	if ok, _ := m.TryLock(ctx, "st:next", "1", 10*time.Minute); !ok {
		t.Fatal("TryLock(st:next) = false; want true")
	}
	if items, _, size := m.entries(); items != 1 || size != 1 {
		t.Errorf("a day later, after one more TryLock: %d items, index size %d; want 1, 1 (the new lock)", items, size)
	}
}

// Every write path sweeps: Set, Delete, AddToSet, TryLock and Unlock.
func TestMemoryEveryWriteSweeps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	writes := map[string]func(m *Memory){
		"Set":      func(m *Memory) { m.Set(ctx, "other", []byte("v"), time.Hour) },
		"Delete":   func(m *Memory) { m.Delete(ctx, "other") },
		"AddToSet": func(m *Memory) { m.AddToSet(ctx, "other", "m", time.Hour) },
		"TryLock":  func(m *Memory) { m.TryLock(ctx, "other", "t", time.Hour) },
		"Unlock":   func(m *Memory) { m.Unlock(ctx, "other", "t") },
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			m := NewMemory(c.now)
			for i := range 100 {
				m.Set(ctx, fmt.Sprint("v", i), []byte("x"), time.Minute)
				m.AddToSet(ctx, fmt.Sprint("s", i), "a", time.Minute)
				m.AddToSet(ctx, fmt.Sprint("s", i), "b", time.Minute)
				m.TryLock(ctx, fmt.Sprint("l", i), "t", time.Minute)
			}
			c.advance(time.Minute)
			write(m)
			items, sets, size := m.entries()
			if items > 1 || sets > 1 || size > 1 || len(m.extra) != 0 {
				t.Errorf("after %s: %d items, %d sets, index size %d, %d sets with several members; want the expired ones gone", name, items, sets, size, len(m.extra))
			}
		})
	}
}

// warnings collects the store's log records.
type warnings struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *warnings) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *warnings) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Split(strings.TrimSpace(w.buf.String()), "\n")
}

func TestMemoryMaxEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	var w warnings
	m := NewMemoryWith(MemoryOptions{Now: c.now, MaxEntries: 100, Logger: slog.New(slog.NewTextHandler(&w, nil))})
	// 250 sessions signed in 100 ms apart, each indexed for a day.
	for i := range 250 {
		if err := m.AddToSet(ctx, fmt.Sprint("ix:sub:", i), fmt.Sprint("session", i), 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		c.advance(100 * time.Millisecond)
	}
	if _, _, size := m.entries(); size > 100 {
		t.Errorf("index size after 250 sets = %d; want at most 100", size)
	}
	for _, i := range []int{0, 1, 149} {
		if got, _ := m.Members(ctx, fmt.Sprint("ix:sub:", i)); len(got) != 0 {
			t.Errorf("Members(ix:sub:%d) = %v; want none: the oldest go first", i, got)
		}
	}
	for _, i := range []int{150, 200, 249} {
		if got, _ := m.Members(ctx, fmt.Sprint("ix:sub:", i)); len(got) != 1 || got[0] != fmt.Sprint("session", i) {
			t.Errorf("Members(ix:sub:%d) = %v; want [session%d]", i, got, i)
		}
	}
	lines := w.lines()
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "may leave the data of those stored sessions") || !strings.Contains(lines[0], "dropped=1 ") {
		t.Fatalf("log = %q; want one warning that stored sessions' data may stay (dropped=1)", lines)
	}
	// A minute later, the next eviction is reported again, with the count
	// of every entry dropped in between.
	c.advance(time.Minute)
	m.AddToSet(ctx, "ix:sub:late", "session-late", 24*time.Hour)
	if lines := w.lines(); len(lines) != 2 || !strings.Contains(lines[1], "dropped=150 ") {
		t.Errorf("log a minute after the first warning = %q; want a second warning", lines)
	}
	// Values are never dropped to make room.
	for i := range 300 {
		m.Set(ctx, fmt.Sprint("rv:", i), []byte{1}, time.Hour)
	}
	if v, err := m.Get(ctx, "rv:0"); err != nil || len(v) != 1 {
		t.Errorf("Get(rv:0) after 300 values = %v, %v; want the value", v, err)
	}
}

// Locks count too: a flood of them cannot grow the store past its bound,
// and the locks nearest their expiry go first.
func TestMemoryMaxEntriesLocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	m := NewMemoryWith(MemoryOptions{Now: c.now, MaxEntries: 50, Logger: slog.New(slog.DiscardHandler)})
	m.AddToSet(ctx, "ix:sid:real", "session", 24*time.Hour)
	for i := range 1000 {
		m.TryLock(ctx, stateKey(i), "1", 10*time.Minute)
	}
	if _, _, size := m.entries(); size != 50 {
		t.Errorf("index size after 1,000 locks = %d; want 50", size)
	}
	if got, _ := m.Members(ctx, "ix:sid:real"); len(got) != 1 {
		t.Errorf("Members(ix:sid:real) = %v; want [session]: the locks expire sooner and go first", got)
	}
}

func TestMemorySetMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(nil)
	want := map[string]bool{}
	for i := range 100 {
		member := fmt.Sprint("m", i%40)
		want[member] = true
		m.AddToSet(ctx, "set", member, time.Hour)
	}
	got, _ := m.Members(ctx, "set")
	if len(got) != len(want) {
		t.Fatalf("Members = %d members; want %d", len(got), len(want))
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("Members has %q; want only m0 to m39", g)
		}
	}
	if _, _, size := m.entries(); size != 40 {
		t.Errorf("index size = %d; want 40", size)
	}
	m.Delete(ctx, "set")
	if _, sets, size := m.entries(); sets != 0 || size != 0 || len(m.extra) != 0 {
		t.Errorf("after Delete: %d sets, index size %d, %d extra; want 0", sets, size, len(m.extra))
	}
}

func TestMemoryKinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	m := NewMemory(c.now)
	// A value written over a lock takes its place and leaves the index.
	m.TryLock(ctx, "k", "t", time.Minute)
	m.Set(ctx, "k", []byte("v"), time.Hour)
	if items, _, size := m.entries(); items != 1 || size != 0 {
		t.Errorf("Set over a lock: %d items, index size %d; want 1, 0", items, size)
	}
	if ok, _ := m.TryLock(ctx, "k", "t", time.Minute); ok {
		t.Error("TryLock on a key holding a value = true; want false")
	}
	c.advance(time.Minute)
	if v, _ := m.Get(ctx, "k"); string(v) != "v" {
		t.Errorf("Get(k) after a minute = %q; want v (the lock's expiry is gone)", v)
	}
	// A value and a set may share a key; Delete removes both.
	m.AddToSet(ctx, "k", "m", time.Hour)
	m.Delete(ctx, "k")
	if items, sets, size := m.entries(); items+sets+size != 0 {
		t.Errorf("after Delete: %d items, %d sets, index size %d; want none", items, sets, size)
	}
	// A ttl too long for the clock saturates instead of expiring at once.
	m.Set(ctx, "forever", []byte("v"), time.Duration(1<<63-1))
	if _, err := m.Get(ctx, "forever"); err != nil {
		t.Errorf("Get(forever) = %v; want the value", err)
	}
}

// indexSession writes what oktasso writes for a session signed in: its
// logout index by the provider's session id and by user.
func indexSession(ctx context.Context, m *Memory, i int) {
	const app = "0oa1b2c3d4e5f6g7h8i9|__Host-oktasso|https://example.okta.com/oauth2/default"
	id := fmt.Sprintf("%022d", i)
	m.AddToSet(ctx, fmt.Sprintf("ix:sid:%s|102%017d", app, i), id, 24*time.Hour)
	m.AddToSet(ctx, fmt.Sprintf("ix:sub:%s|00u%017d", app, i), id, 24*time.Hour)
}

// heapBytes is the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The logout index of a live session costs at most about 300 bytes.
func TestMemoryBytesPerSession(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 sessions")
	}
	const n = 100_000
	ctx := context.Background()
	before := heapBytes()
	m := NewMemory(nil)
	for i := range n {
		indexSession(ctx, m, i)
	}
	per := float64(heapBytes()-before) / n
	runtime.KeepAlive(m)
	t.Logf("logout index: %.0f bytes per live session (%d sessions)", per, n)
	if per > 300 {
		t.Errorf("logout index = %.0f bytes per live session; want at most 300", per)
	}
}

func BenchmarkMemoryIndex(b *testing.B) {
	ctx := context.Background()
	before := heapBytes()
	m := NewMemory(nil)
	for i := 0; b.Loop(); i++ {
		indexSession(ctx, m, i)
	}
	b.StopTimer()
	b.ReportMetric(float64(heapBytes()-before)/float64(b.N), "B/session")
	runtime.KeepAlive(m)
}

// TestMemoryGetMultiExpiry: GetMulti, which reads the clock only when a key
// is found, returns nothing past a value's expiry, and reads nothing when
// no key is found.
func TestMemoryGetMultiExpiry(t *testing.T) {
	c := newClock()
	reads := 0
	m := NewMemory(func() time.Time { reads++; return c.now() })
	ctx := context.Background()
	if err := m.Set(ctx, "a", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		advance   time.Duration
		keys      []string
		want      []string // "-" for nil
		wantReads int
	}{
		{"none found: no clock read", 0, []string{"x", "y"}, []string{"-", "-"}, 0},
		{"found before expiry", 59 * time.Second, []string{"x", "a", "a"}, []string{"-", "1", "1"}, 1},
		{"found at expiry: gone", time.Second, []string{"a", "y"}, []string{"-", "-"}, 1},
	}
	for _, tt := range tests {
		c.advance(tt.advance)
		reads = 0
		vals := make([][]byte, len(tt.keys))
		if err := m.GetMulti(ctx, tt.keys, vals); err != nil {
			t.Fatalf("%s: GetMulti = %v", tt.name, err)
		}
		for i, v := range vals {
			got := "-"
			if v != nil {
				got = string(v)
			}
			if got != tt.want[i] {
				t.Errorf("%s: GetMulti(%q)[%d] = %q; want %q", tt.name, tt.keys, i, got, tt.want[i])
			}
		}
		if reads != tt.wantReads {
			t.Errorf("%s: GetMulti read the clock %d times; want %d", tt.name, reads, tt.wantReads)
		}
	}
}
