package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartup100k: `rolegate serve` on a demo practice of 100,000 staff (issue 14),
// from starting the process to the first 200 from /healthz (target ≤ 1 s), and its resident
// memory once serving (target ≤ 150 MB; peak beside it). The demo is seeded once, before
// the timing (seed-s reports how long that took).
func BenchmarkStartup100k(b *testing.B) {
	dir := b.TempDir()
	if d := os.Getenv("ROLEGATE_BENCH_DIR"); d != "" {
		dir = d
	}
	db := filepath.Join(dir, "startup100k.db")
	var out strings.Builder
	t0 := time.Now()
	if err := run(context.Background(), []string{"demo", "--db", db, "--staff", "100000", "--force"}, func(string) string { return "" }, &out, &out); err != nil {
		b.Fatalf("demo: %v %s", err, out.String())
	}
	seeded := time.Since(t0)
	var worst time.Duration
	var rss, peak int64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		base, pid, stop := startChild(b, db)
		for {
			resp, err := http.Get(base + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
		}
		worst = max(worst, time.Since(start))
		rss, peak = max(rss, procStatus(b, pid, "VmRSS")), max(peak, procStatus(b, pid, "VmHWM"))
		stop()
	}
	b.ReportMetric(seeded.Seconds(), "seed-s")
	b.ReportMetric(worst.Seconds(), "to-healthz-s")
	b.ReportMetric(float64(rss)/1e6, "rss-MB")
	b.ReportMetric(float64(peak)/1e6, "peak-MB")
}
