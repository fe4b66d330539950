package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadTarget is one server a side-by-side benchmark sends requests to.
type loadTarget struct {
	name string
	url  string // the server's base URL (http://127.0.0.1:port)
	// request appends the i-th request to buf, built with getRequest; answers must be 200.
	request func(buf []byte, i uint64) []byte
}

// getRequest appends a keep-alive HTTP/1.1 GET of target with the given header lines
// ("Name: value") to buf.
func getRequest(buf []byte, target string, header ...string) []byte {
	buf = append(buf, "GET "...)
	buf = append(buf, target...)
	buf = append(buf, " HTTP/1.1\r\nHost: bench\r\n"...)
	for _, h := range header {
		buf = append(buf, h...)
		buf = append(buf, "\r\n"...)
	}
	return append(buf, "\r\n"...)
}

// sideBySide sends b.N requests to each target over conns keep-alive loopback connections at
// once, alternating between the targets in ten rounds, so a slow moment of the machine
// (another process, the collector) falls on both alike. It reports each target's
// requests/s, 99th-percentile latency and allocations per request, and the last target's
// requests/s as a share of the first's (ratio-%).
//
// It runs twice, as two sub-benchmarks, because the client shares the two cores with the
// servers and its own cost dilutes the difference between them:
//   - net-http: Go's net/http client, as a practice's tool written in Go would ask (two
//     goroutines and about fifty allocations per request of its own, counted in
//     allocs/req for both targets alike);
//   - lean: a few lines over raw connections (the request bytes written, the status line
//     and Content-Length or chunk sizes read, the body skipped), close to what wrk does; it allocates
//     next to nothing, so its allocs/req and B/req are the servers' and its ratio is the
//     stricter figure.
func sideBySide(b *testing.B, conns int, targets ...loadTarget) {
	b.Run("net-http", func(b *testing.B) { measure(b, conns, true, targets) })
	b.Run("lean", func(b *testing.B) { measure(b, conns, false, targets) })
}

func measure(b *testing.B, conns int, netHTTP bool, targets []loadTarget) {
	type tally struct {
		elapsed       time.Duration
		lat           []time.Duration
		mallocs, heap uint64
	}
	tallies := make([]tally, len(targets))
	pools := make([][]*loadConn, len(targets))
	for i, t := range targets {
		u, err := url.Parse(t.url)
		if err != nil {
			b.Fatal(err)
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
		for range conns {
			lc := &loadConn{base: t.url}
			if netHTTP {
				lc.client = client
			} else {
				if lc.c, err = net.Dial("tcp", u.Host); err != nil {
					b.Fatal(err)
				}
				lc.r = bufio.NewReaderSize(lc.c, 16<<10)
			}
			pools[i] = append(pools[i], lc)
		}
		defer func() {
			client.CloseIdleConnections()
			for _, c := range pools[i] {
				if c.c != nil {
					c.c.Close()
				}
			}
		}()
		// Open the connections and warm the server before anything is timed.
		burst(b, pools[i], t, conns)
	}
	const rounds = 10
	chunk := max(b.N/rounds, conns)
	b.ResetTimer()
	for range rounds {
		for i, t := range targets {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			lat := burst(b, pools[i], t, chunk)
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

// loadConn is one keep-alive connection of the load client: a raw one (c, r) or one of
// client's.
type loadConn struct {
	c      net.Conn
	r      *bufio.Reader
	client *http.Client
	base   string
	buf    []byte
}

// burst sends n requests to t over the connections at once and returns their latencies.
func burst(b *testing.B, pool []*loadConn, t loadTarget, n int) []time.Duration {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, c := range pool {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c.buf = t.request(c.buf[:0], uint64(i))
				t0 := time.Now()
				status, err := c.roundTrip()
				lat[i] = time.Since(t0)
				if err == nil && status != 200 {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					b.Errorf("%s: %v", t.name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return lat
}

// roundTrip sends the request in c.buf and reads its answer, returning its status.
func (c *loadConn) roundTrip() (int, error) {
	if c.client != nil {
		return c.netHTTP()
	}
	if _, err := c.c.Write(c.buf); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("not an HTTP/1.1 answer: %q", line)
	}
	status, ok := digits(line[9:12])
	if !ok {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		switch {
		case !ok:
			return 0, fmt.Errorf("bad header line %q", line)
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, ok = digits(bytes.TrimSpace(value)); !ok {
				return 0, fmt.Errorf("bad header line %q", line)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(bytes.TrimSpace(value), []byte("chunked"))
		}
	}
	if chunked {
		return status, c.skipChunks()
	}
	if length < 0 {
		return 0, fmt.Errorf("no Content-Length")
	}
	_, err = c.r.Discard(length)
	return status, err
}

// skipChunks reads past a chunked body (pages are streamed as they render).
func (c *loadConn) skipChunks() error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 32)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, then the empty line
				if line, err = c.r.ReadSlice('\n'); err != nil || len(line) <= 2 {
					return err
				}
			}
		}
		if _, err := c.r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

// digits reads a decimal number (strconv.Atoi would want a string: one allocation each).
func digits(b []byte) (int, bool) {
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, len(b) > 0
}

// netHTTP sends the request in c.buf through c.client.
func (c *loadConn) netHTTP() (int, error) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(c.buf)))
	if err != nil {
		return 0, err
	}
	if req.URL, err = url.Parse(c.base + req.RequestURI); err != nil {
		return 0, err
	}
	req.RequestURI, req.Host = "", ""
	req.Header.Del("Host")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}
