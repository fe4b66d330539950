package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestVersion(t *testing.T) {
	out, err := runCmd(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "rolegate ") {
		t.Fatalf("version: %q %v", out, err)
	}
}

func TestUnknownCommand(t *testing.T) {
	if _, err := runCmd(t, nil, "frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func TestSetupAndBackupCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "rolegate.db")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROLEGATE_DB": db} // the variable, not the flag, names the database
	if _, err := runCmd(t, env, "setup", "--org", "Northside", "--name", "Ana Ruiz", "--email", "ana@example.org"); err == nil ||
		!strings.Contains(err.Error(), "--password-file") {
		t.Fatalf("setup without a password file: %v", err)
	}
	if _, err := runCmd(t, env, "setup", "--org", "Northside", "--name", "Ana Ruiz", "--email", "bad", "--password-file", pwFile); err == nil ||
		!strings.Contains(err.Error(), "--email") {
		t.Fatalf("setup with a bad email: %v", err)
	}
	out, err := runCmd(t, env, "setup", "--org", "Northside", "--name", "Ana Ruiz", "--email", "ana@example.org", "--password-file", pwFile)
	if err != nil || !strings.Contains(out, "ana@example.org") {
		t.Fatalf("setup: %q %v", out, err)
	}
	if _, err := runCmd(t, env, "setup", "--org", "Again", "--name", "Eve", "--email", "eve@example.org", "--password-file", pwFile); err == nil ||
		!strings.Contains(err.Error(), "already set up") {
		t.Fatalf("second setup: %v", err)
	}

	dest := filepath.Join(dir, "backup.db")
	if _, err := runCmd(t, env, "backup"); err == nil {
		t.Fatal("backup without a file accepted")
	}
	if out, err := runCmd(t, env, "backup", dest); err != nil {
		t.Fatalf("backup: %q %v", out, err)
	}
	for _, p := range []string{db, dest} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v; want mode 0600", p, fi.Mode(), err)
		}
	}
	raw, err := sql.Open("sqlite3", dest)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var ok, email string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check %q %v", ok, err)
	}
	if err := raw.QueryRow("SELECT email FROM users WHERE global_admin = 1").Scan(&email); err != nil || email != "ana@example.org" {
		t.Fatalf("backup lacks the admin: %q %v", email, err)
	}
	if _, err := runCmd(t, nil, "backup", dest, "--db", db); err == nil {
		t.Fatal("backup over an existing file accepted")
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--tls-cert", "x.pem"},
		{"serve", "--base-url", "ftp://x"},
		{"serve", "--trusted-proxy", "not-an-ip"},
	} {
		if _, err := runCmd(t, map[string]string{"ROLEGATE_DB": filepath.Join(t.TempDir(), "x.db")}, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// Editing any past entry directly in SQLite (dropping the trigger first, as a tamperer
// would) makes `audit verify` fail naming that entry.
func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "rolegate.db")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROLEGATE_DB": db}
	if _, err := runCmd(t, env, "audit", "verify"); err == nil {
		t.Fatal("verify of a missing database passed")
	}
	if out, err := runCmd(t, env, "demo", "--password-file", pwFile); err != nil {
		t.Fatalf("demo: %q %v", out, err)
	}
	out, err := runCmd(t, env, "audit", "verify")
	if err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("verify of an untouched log: %q %v", out, err)
	}
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM audit_log").Scan(&n); err != nil || n < 5 {
		t.Fatalf("the demo wrote %d audit entries: %v", n, err)
	}
	// The triggers refuse changes outright.
	if _, err := raw.Exec("UPDATE audit_log SET actor_name = 'Mallory' WHERE id = 3"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update allowed: %v", err)
	}
	if _, err := raw.Exec("DELETE FROM audit_log WHERE id = 3"); err == nil {
		t.Fatal("delete allowed")
	}
	for _, tc := range []struct {
		name, sql string
		id        int
	}{
		{"content", "UPDATE audit_log SET after_json = '{\"name\":\"Mallory\"}' WHERE id = 4", 4},
		{"actor", "UPDATE audit_log SET actor_name = 'Mallory' WHERE id = 2", 2},
		{"removed", "DELETE FROM audit_log WHERE id = 3", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			copyDB := filepath.Join(t.TempDir(), "copy.db")
			if out, err := runCmd(t, nil, "backup", copyDB, "--db", db); err != nil {
				t.Fatalf("copy: %q %v", out, err)
			}
			c, err := sql.Open("sqlite3", copyDB)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, q := range []string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete", tc.sql} {
				if _, err := c.Exec(q); err != nil {
					t.Fatal(q, err)
				}
			}
			_, err = runCmd(t, nil, "audit", "verify", "--db", copyDB)
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entry %d ", tc.id)) {
				t.Fatalf("verify after tampering with %s: %v", tc.name, err)
			}
		})
	}
}

// served is a `rolegate serve` running in the test process, as main runs it.
type served struct {
	url  string
	logs *lockedBuffer
	stop func() error // cancels its context, as SIGTERM does, and returns what serve returned
}

// lockedBuffer collects serve's log while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs `rolegate serve` with args and returns once it listens (its log says where)
// or with serve's error when it stops before that.
func startServe(t *testing.T, env map[string]string, args ...string) (*served, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"serve"}, args...), func(k string) string { return env[k] }, io.Discard, pw)
		pw.Close()
		done <- err
	}()
	logs := &lockedBuffer{}
	listening := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.add(sc.Text())
			var line struct{ Msg, URL string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "Rolegate is serving" {
				listening <- line.URL
			}
		}
	}()
	select {
	case url := <-listening:
		s := &served{url: url, logs: logs, stop: func() error {
			cancel()
			err := <-done
			<-scanned
			return err
		}}
		t.Cleanup(func() { cancel() })
		return s, nil
	case err := <-done:
		cancel()
		<-scanned
		return nil, fmt.Errorf("%w (log: %s)", err, logs.String())
	}
}

// A second `serve` on the same database would answer from its own, stale, permission snapshot:
// it is refused at start naming the first one, while the maintenance commands keep working.
func TestSecondServeRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "rolegate.db")
	env := map[string]string{"ROLEGATE_DB": db}
	first, err := startServe(t, env, "--addr", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("first serve: %v", err)
	}
	resp, err := http.Get(first.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}

	second, err := startServe(t, env, "--addr", "127.0.0.1:0")
	if err == nil {
		second.stop()
		t.Fatalf("a second serve started on the same database at %s", second.url)
	}
	want := fmt.Sprintf("another rolegate serve (pid %d) is already serving %s; stop it first", os.Getpid(), db)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("second serve: %v\nwant %q", err, want)
	}

	// The maintenance commands do not take the lock.
	if out, err := runCmd(t, env, "backup", filepath.Join(dir, "copy.db")); err != nil {
		t.Fatalf("backup alongside serve: %q %v", out, err)
	}
	if out, err := runCmd(t, env, "audit", "verify"); err != nil {
		t.Fatalf("audit verify alongside serve: %q %v", out, err)
	}

	if err := first.stop(); err != nil {
		t.Fatalf("first serve: %v", err)
	}
	// Stopping releases the lock.
	again, err := startServe(t, env, "--addr", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("serve after the first stopped: %v", err)
	}
	if err := again.stop(); err != nil {
		t.Fatal(err)
	}
}
