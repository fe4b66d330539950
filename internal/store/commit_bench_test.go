package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// One small committed write (synchronous=FULL: the WAL is fsynced before the commit
// returns), alone and with 8 writers at once. ROLEGATE_BENCH_DIR puts the database on the
// disk to measure (t.TempDir() may be a tmpfs, where fsync costs nothing).
func BenchmarkCommit(b *testing.B) {
	dir := os.Getenv("ROLEGATE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		dir, _ = os.MkdirTemp(dir, "bench")
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var n uint64
	write := func() {
		n++
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, n))
		if _, err := st.UseChallenge(ctx, h[:], time.Now().Add(time.Hour).Unix()); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			write()
		}
	})
	b.Run("parallel8", func(b *testing.B) {
		b.SetParallelism(4) // 2 cores × 4 = 8 writers
		var seq = make(chan uint64, 1)
		seq <- 1 << 40
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := <-seq
				seq <- i + 1
				h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, i))
				if _, err := st.UseChallenge(ctx, h[:], time.Now().Add(time.Hour).Unix()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
