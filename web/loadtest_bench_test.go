package web_test

import (
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadTarget is one server a side-by-side benchmark sends requests to.
type loadTarget struct {
	name string
	// request builds the i-th request; answers must be 200.
	request func(i uint64) *http.Request
}

// sideBySide sends b.N requests to each target over conns keep-alive loopback connections at
// once, alternating between the targets in ten rounds, so a slow moment of the machine
// (another process, the collector) falls on both alike. It reports each target's
// requests/s, 99th-percentile latency and allocations per request (client included: the
// difference between targets is the servers'), and the last target's requests/s as a
// share of the first's (ratio-%).
func sideBySide(b *testing.B, conns int, targets ...loadTarget) {
	type tally struct {
		elapsed       time.Duration
		lat           []time.Duration
		mallocs, heap uint64
	}
	tallies := make([]tally, len(targets))
	clients := make([]*http.Client, len(targets))
	for i := range targets {
		clients[i] = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
		// Open the connections before anything is timed.
		burst(b, clients[i], targets[i], conns, conns)
	}
	const rounds = 10
	chunk := max(b.N/rounds, conns)
	b.ResetTimer()
	for range rounds {
		for i, t := range targets {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			lat := burst(b, clients[i], t, chunk, conns)
			tallies[i].elapsed += time.Since(start)
			runtime.ReadMemStats(&after)
			tallies[i].lat = append(tallies[i].lat, lat...)
			tallies[i].mallocs += after.Mallocs - before.Mallocs
			tallies[i].heap += after.TotalAlloc - before.TotalAlloc
		}
	}
	b.StopTimer()
	var first float64
	for i, t := range targets {
		n := float64(len(tallies[i].lat))
		rps := n / tallies[i].elapsed.Seconds()
		slices.Sort(tallies[i].lat)
		p99 := tallies[i].lat[len(tallies[i].lat)*99/100]
		b.ReportMetric(rps, t.name+"-req/s")
		b.ReportMetric(float64(p99.Microseconds())/1000, t.name+"-p99-ms")
		b.ReportMetric(float64(tallies[i].mallocs)/n, t.name+"-allocs/req")
		b.ReportMetric(float64(tallies[i].heap)/n, t.name+"-B/req")
		if i == 0 {
			first = rps
		}
		if i == len(targets)-1 && i > 0 {
			b.ReportMetric(100*rps/first, "ratio-%")
		}
	}
}

// burst sends n requests to t over conns connections at once and returns their latencies.
func burst(b *testing.B, c *http.Client, t loadTarget, n, conns int) []time.Duration {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				req := t.request(uint64(i))
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					b.Errorf("%s: status %d", t.name, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	return lat
}
