package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
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

func TestLoadCatalog(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin := `{"key": "roles.manage", "category": "Administration", "label": "Edit roles"},
	{"key": "staff.manage", "category": "Administration", "label": "Staff"},
	{"key": "staff.view", "category": "Administration", "label": "View staff"},
	{"key": "orgs.manage", "category": "Administration", "label": "Organisations"},
	{"key": "audit.view", "category": "Administration", "label": "Audit"},
	{"key": "access.delegate", "category": "Administration", "label": "Grant any permission"}`
	travel := write("travel.json", `[
	{"key": "trips.view", "category": "Trips", "label": "View trips", "mandatory": true},
	{"key": "trips.book", "category": "Trips", "label": "Book trips", "suggests": ["trips.view"]},
	`+admin+`]`)
	cat, err := LoadCatalog(config.Config{Catalog: travel})
	if err != nil || cat.Len() != 8 {
		t.Fatalf("travel catalog: %v", err)
	}
	for name, body := range map[string]string{
		"dup.json":     "[\n" + `{"key": "a.b", "category": "C", "label": "L"},` + "\n" + `{"key": "a.b", "category": "C", "label": "L"},` + admin + "]",
		"noadmin.json": `[{"key": "trips.view", "category": "Trips", "label": "View trips"}]`,
		"broken.json":  "[\n{\"key\": ",
	} {
		if _, err := LoadCatalog(config.Config{Catalog: write(name, body)}); err == nil {
			t.Errorf("%s accepted", name)
		} else if name == "dup.json" && !strings.Contains(err.Error(), `line 3, key "a.b": duplicate key`) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A portal whose stored roles name keys the catalog lost starts, and warns.
	cfg := config.Config{DB: filepath.Join(dir, "r.db")}
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	st, cat0, _, err := OpenStore(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	_, org, err := st.Setup(ctx, store.SetupInput{OrgName: "N", Name: "A", Email: "a@example.org", PasswordHash: "x", SystemRoles: rbac.SystemRoles(cat0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRole(ctx, store.RoleInput{OrgID: org.ID, Code: "BILLER", Name: "Biller", Active: true, Permissions: []string{"billing.view"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg.Catalog = travel
	st, _, engine, err := OpenStore(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("restart with a smaller catalog: %v", err)
	}
	defer st.Close()
	// System roles follow the new catalog; the custom role keeps its lost key, reported.
	if w := engine.Now().Warnings; len(w) != 1 || !strings.Contains(w[0], "BILLER") || !strings.Contains(logs.String(), "unknown permission") {
		t.Fatalf("warnings %v, log %q", w, logs.String())
	}
	if engine.Now().Can(1, org.ID, "trips.book") != true {
		t.Fatal("the global admin does not hold the new catalog's permissions")
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
