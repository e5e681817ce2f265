package oktasso_test

import (
	"context"
	"testing"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	if err := storetest.CheckStore(context.Background(), oktasso.NewMemoryStore(nil)); err != nil {
		t.Fatal(err)
	}
}
