package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/config"
)

// On shutdown (SIGTERM cancels the context in main) a request in flight still gets its answer.
func TestGracefulShutdownFinishesRequests(t *testing.T) {
	cfg := config.Config{DB: filepath.Join(t.TempDir(), "rolegate.db")}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, err := Open(ctx, cfg, logger, "test")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	app.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln, cfg, logger) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel() // as SIGTERM does
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Fatalf("request in flight during shutdown: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

// The serve lock is the kernel's, not the file's: a lock file left by a crashed server (its pid
// still inside) does not block a restart, and a held lock is refused naming its holder.
func TestServeLock(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rolegate.db")
	if err := os.WriteFile(LockFile(db), []byte("999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock, err := LockServe(db)
	if err != nil {
		t.Fatalf("a stale lock file blocked serving: %v", err)
	}
	var busy *AlreadyServingError
	if _, err := LockServe(db); !errors.As(err, &busy) || busy.PID != os.Getpid() || busy.DB != db {
		t.Fatalf("second lock: %v", err)
	}
	if fi, err := os.Stat(LockFile(db)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", fi, err)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	lock, err = LockServe(db)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
}
