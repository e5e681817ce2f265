package directory

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

// countSink counts what a sync gives it, keeping nothing.
type countSink struct{ users, groups, members, deactivated int }

func (s *countSink) UpsertUser(context.Context, User) error { s.users++; return nil }
func (s *countSink) DeactivateUser(context.Context, string, Reason) error {
	s.deactivated++
	return nil
}
func (s *countSink) UpsertGroup(context.Context, Group) error { s.groups++; return nil }
func (s *countSink) SetMembers(_ context.Context, _ string, ids []string) error {
	s.members += len(ids)
	return nil
}

// heapSampler records, every few milliseconds, the largest heap (live
// and not yet collected objects) and the largest live heap as of the
// last GC (runtime/metrics).
type heapSampler struct {
	stop       chan struct{}
	done       sync.WaitGroup
	peak, live uint64
}

func heapNow() (objects, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			objects, live := heapNow()
			h.peak, h.live = max(h.peak, objects), max(h.live, live)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() (peak, live uint64) {
	close(h.stop)
	h.done.Wait()
	return h.peak, h.live
}

// BenchmarkSync100k syncs an org of 100,000 users in 5,000 groups (two
// groups each, 200,000 memberships) from the fake Okta in one full run,
// with private_key_jwt and DPoP, and reports the time, pages/s, and peak
// memory: the heap with uncollected garbage (peak-heap-MB) and the live
// heap after each GC (peak-live-MB) of the whole process, the fake's
// directory included, and the live heap the sync added to it
// (sync-live-MB). OKTASSO_BENCH_USERS and OKTASSO_BENCH_GROUPS change the
// size (the smoke run in CI uses the default).
func BenchmarkSync100k(b *testing.B) {
	users, groups := envInt(b, "OKTASSO_BENCH_USERS", 100_000), envInt(b, "OKTASSO_BENCH_GROUPS", 5_000)
	f := newFake(b)
	f.srv.SetRateLimit(1<<30, time.Minute) // Okta's would make this a 10-minute run; see docs/DIRECTORY.md
	f.srv.AddGeneratedGroups(groups)
	f.srv.AddGeneratedUsers(users, 2)
	c := f.client(b, f.config())
	c.sleep = sleepCtx
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		_, base := heapNow()
		sampler := startHeapSampler()
		sink := &countSink{}
		b.StartTimer()
		start := time.Now()
		sum, err := Sync(context.Background(), c, sink, SyncOptions{State: FileState(filepath.Join(dir, strconv.Itoa(i)+".json"))})
		elapsed := time.Since(start)
		b.StopTimer()
		peak, live := sampler.Stop()
		if err != nil {
			b.Fatal(err)
		}
		if sink.users != users || sink.groups != groups+1 || sink.members != 2*users {
			b.Fatalf("synced %d users, %d groups, %d memberships; want %d, %d, %d", sink.users, sink.groups, sink.members, users, groups+1, 2*users)
		}
		b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
		b.ReportMetric(float64(live)/1e6, "peak-live-MB")
		b.ReportMetric(float64(live-min(base, live))/1e6, "sync-live-MB")
		b.ReportMetric(float64(sum.Pages)/elapsed.Seconds(), "pages/s")
		b.ReportMetric(float64(sum.Users)/elapsed.Seconds(), "users/s")
		b.StartTimer()
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
