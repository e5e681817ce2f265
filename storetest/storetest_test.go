package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso/store"
)

// leaky is a broken store: it never expires, shares its slices, and never
// reports a missing key.
type leaky struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (l *leaky) Get(_ context.Context, k string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[k], nil
}

func (l *leaky) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[k] = v
	return nil
}

func (l *leaky) Delete(context.Context, ...string) error { return nil }

func TestCheckStoreFindsBrokenStores(t *testing.T) {
	err := CheckStore(context.Background(), &leaky{m: map[string][]byte{}})
	if err == nil {
		t.Fatal("CheckStore(broken store) = nil; want failures")
	}
	for _, want := range []string{"Get(missing key) error = <nil>; want store.ErrNotFound", "kept the caller's slice", "Get after the ttl passed", "Get after Delete"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckStore error lacks %q:\n%v", want, err)
		}
	}
}

func TestCheckStorePassesMemory(t *testing.T) {
	if err := CheckStore(context.Background(), store.NewMemory(nil)); err != nil {
		t.Fatal(err)
	}
}
