package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rolegate/rolegate/internal/store"
)

// The freshness check every request makes (issue 14: ≤ 5 µs): one read of the versions row,
// from a request's context (which can be cancelled) and from one that cannot.
func BenchmarkVersions(b *testing.B) {
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "rolegate.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := st.WithVersions(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
