package store_test

import (
	"context"
	"testing"

	"github.com/oktasso/oktasso/store"
	"github.com/oktasso/oktasso/storetest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	if err := storetest.CheckStore(context.Background(), store.NewMemory(nil)); err != nil {
		t.Fatal(err)
	}
}
