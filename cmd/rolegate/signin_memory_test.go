package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain turns the test binary into `rolegate serve` when TestSignInMemoryBound runs it
// again with ROLEGATE_HELPER_SERVE set, so that child's peak memory is the server's alone.
func TestMain(m *testing.M) {
	if args := os.Getenv("ROLEGATE_HELPER_SERVE"); args != "" {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }() // the parent closes stdin to stop it
		if err := run(ctx, strings.Fields(args), func(string) string { return "" }, os.Stdout, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Finding 4 of the hardening issue: each password check takes 19 MiB and nothing bounded how
// many ran at once (200 simultaneous sign-ins reached 3.8 GiB). With the hashing slots, 500
// simultaneous sign-ins, every one of which passes the throttle (500 accounts, 500 addresses
// through a trusted proxy), keep the server's peak resident memory within 200 MiB.
func TestSignInMemoryBound(t *testing.T) {
	peak, answers := signInBurst(t, 500)
	t.Logf("500 simultaneous sign-ins: peak RSS %d MiB; answers %v", peak>>20, answers)
	if peak > 200<<20 {
		t.Fatalf("peak RSS %d MiB with 500 simultaneous sign-ins; want at most 200 MiB", peak>>20)
	}
	if answers[http.StatusUnauthorized] == 0 {
		t.Fatalf("no password was checked at all: %v", answers)
	}
	for code := range answers {
		if code != http.StatusUnauthorized && code != http.StatusServiceUnavailable {
			t.Fatalf("answers %v: want only 401 (checked) and 503 (busy, Retry-After)", answers)
		}
	}
}

// BenchmarkSignInPeakRSS reports the server's peak RSS for bursts of simultaneous sign-ins.
func BenchmarkSignInPeakRSS(b *testing.B) {
	for _, n := range []int{100, 500} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var peak int64
			for range b.N {
				p, _ := signInBurst(b, n)
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}

func signInBurst(t testing.TB, n int) (int64, map[int]int) {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "rolegate.db")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"setup", "--db", db, "--org", "Northside", "--name", "Ana Ruiz", "--email", "ana@example.org", "--password-file", pwFile},
		func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("setup: %v %s", err, out.String())
	}
	base, pid := serveChild(t, db)
	// Every client first fetches the form (its CSRF cookie and token), then all post at once.
	token := regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	transport := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	type client struct {
		c   *http.Client
		tok string
	}
	clients := make([]client, n)
	for i := range clients {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: transport, Timeout: time.Minute}
		resp, err := c.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := token.FindSubmatch(body)
		if m == nil {
			t.Fatal("no CSRF token on /login")
		}
		clients[i] = client{c, string(m[1])}
	}
	start := make(chan struct{})
	var mu sync.Mutex
	answers := map[int]int{}
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() {
			form := url.Values{"_csrf": {cl.tok}, "email": {fmt.Sprintf("guess%d@example.org", i)}, "password": {"not the password at all"}}
			req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.1", i/250, i%250))
			<-start
			resp, err := cl.c.Do(req)
			code := -1
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			answers[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return peakRSS(t, pid), answers
}

// serveChild runs `rolegate serve` on db in a process of its own (this test binary, turned
// into the server by TestMain), on a loopback port, trusting loopback proxies; it is stopped
// when the test ends. It returns the server's address and process id.
func serveChild(t testing.TB, db string) (string, int) {
	t.Helper()
	base, pid, stop := startChild(t, db)
	t.Cleanup(stop)
	return base, pid
}

// startChild is serveChild with the stopping left to the caller.
func startChild(t testing.TB, db string) (base string, pid int, stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "ROLEGATE_HELPER_SERVE=serve --db "+db+" --addr 127.0.0.1:0 --trusted-proxy 127.0.0.1/32")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() { stdin.Close(); _ = cmd.Wait() }
	sc := bufio.NewScanner(stdout)
	for base == "" && sc.Scan() {
		var line struct{ Msg, URL string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "Rolegate is serving" {
			base = line.URL
		}
	}
	if base == "" {
		stop()
		t.Fatal("the server did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return base, cmd.Process.Pid, stop
}

// procStatus reads one "kB" field of a process's /proc status (Linux), in bytes.
func procStatus(t testing.TB, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("memory figures need Linux /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc status", field)
	return 0
}

// peakRSS reads the high-water mark of a process's resident memory (Linux).
func peakRSS(t testing.TB, pid int) int64 { return procStatus(t, pid, "VmHWM") }
