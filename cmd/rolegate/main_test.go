package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

// demoDB writes the demo practice into a new database (many audit entries, through real
// changes) and returns the environment naming it, with its key file.
func demoDB(t *testing.T) (env map[string]string, db, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "rolegate.db")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env = map[string]string{"ROLEGATE_DB": db}
	if out, err := runCmd(t, env, "demo", "--password-file", pwFile); err != nil {
		t.Fatalf("demo: %q %v", out, err)
	}
	return env, db, filepath.Join(dir, "rolegate.audit-key")
}

var checkpointLine = regexp.MustCompile(`^rolegate-audit-checkpoint v1 entries=(\d+) head=[0-9a-f]{64} at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// Whoever holds only the database can drop the triggers and rewrite rows, and knows the old
// recipe of the chain. Every way of covering their tracks fails `audit verify --checkpoint`,
// naming the entry: an edit resealed the old way, a removal renumbered and resealed, a forged
// entry, and removing the newest entries (which only a checkpoint shows).
func TestAuditVerifyCommand(t *testing.T) {
	env, db, keyFile := demoDB(t)
	if _, err := runCmd(t, map[string]string{"ROLEGATE_DB": filepath.Join(t.TempDir(), "none.db")}, "audit", "verify"); err == nil {
		t.Fatal("verify of a missing database passed")
	}
	out, err := runCmd(t, env, "audit", "verify")
	if err != nil || !strings.Contains(out, "intact") || !strings.Contains(out, "newest entries could have been removed unnoticed") {
		t.Fatalf("verify of an untouched log: %q %v", out, err)
	}
	out, err = runCmd(t, env, "audit", "checkpoint")
	line := strings.TrimSpace(out)
	m := checkpointLine.FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("checkpoint: %q %v", out, err)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var count int64
	if err := raw.QueryRow("SELECT count(*) FROM audit_log").Scan(&count); err != nil || count != n || n < 10 {
		t.Fatalf("checkpoint of %d entries; the log has %d: %v", n, count, err)
	}
	out, err = runCmd(t, env, "audit", "verify", "--checkpoint", line)
	if err != nil || !strings.Contains(out, fmt.Sprintf("entry %d has the MAC of the checkpoint: nothing up to it was altered or removed", n)) {
		t.Fatalf("verify against the checkpoint: %q %v", out, err)
	}
	if _, err := runCmd(t, env, "audit", "verify", "--checkpoint", "entries=3"); err == nil {
		t.Fatal("a malformed checkpoint was accepted")
	}
	// The triggers refuse changes outright.
	if _, err := raw.Exec("UPDATE audit_log SET actor_name = 'Mallory' WHERE id = 3"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update allowed: %v", err)
	}
	if _, err := raw.Exec("DELETE FROM audit_log WHERE id = 3"); err == nil {
		t.Fatal("delete allowed")
	}
	for _, tc := range []struct {
		name   string
		tamper func(a *attacker)
		want   string
		// caught says whether the chain alone, without the checkpoint, shows it
		caught bool
	}{
		{"edited", func(a *attacker) { a.exec(`UPDATE audit_log SET after_json = '{"name":"Mallory"}' WHERE id = 4`) }, "entry 4 ", true},
		{"edited and resealed the old way", func(a *attacker) {
			a.exec(`UPDATE audit_log SET actor_name = 'Mallory' WHERE id = 4`)
			a.reseal(4)
		}, "entry 4 ", true},
		{"removed", func(a *attacker) { a.exec("DELETE FROM audit_log WHERE id = 3") }, "entry 4 ", true},
		{"removed, renumbered and resealed the old way", func(a *attacker) { a.remove(3); a.reseal(3) }, "entry 3 ", true},
		{"forged entry appended", func(a *attacker) { a.forge() }, fmt.Sprintf("entry %d ", n+1), true},
		{"newest entries removed", func(a *attacker) { a.exec("DELETE FROM audit_log WHERE id > ?", n-3) },
			fmt.Sprintf("entries %d to %d were removed: the log ends at entry %d", n-2, n, n-3), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			copyDB := filepath.Join(t.TempDir(), "copy.db")
			if out, err := runCmd(t, env, "backup", copyDB); err != nil {
				t.Fatalf("copy: %q %v", out, err)
			}
			tc.tamper(newAttacker(t, copyDB))
			_, err := runCmd(t, nil, "audit", "verify", "--db", copyDB, "--audit-key-file", keyFile, "--checkpoint", line)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify --checkpoint after tampering: %v; want %q", err, tc.want)
			}
			_, err = runCmd(t, nil, "audit", "verify", "--db", copyDB, "--audit-key-file", keyFile)
			if (err != nil) != tc.caught {
				t.Fatalf("verify without a checkpoint after tampering: %v", err)
			}
		})
	}
}

// The audit key must be the database's: a missing or different key file stops the portal at
// start. A database sealed the old unkeyed way is keyed at start when its chain is intact, and
// refused, naming the entry, when it is not, until an operator re-keys it by force.
func TestAuditKeyCommands(t *testing.T) {
	env, db, keyFile := demoDB(t)
	missing := filepath.Join(t.TempDir(), "missing.key")
	if _, err := startServe(t, env, "--addr", "127.0.0.1:0", "--audit-key-file", missing); err == nil ||
		!strings.Contains(err.Error(), "the audit key file "+missing+" does not match this database's audit log: the file does not exist") {
		t.Fatalf("serve without its key file: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("serve created a new key for a keyed database: %v", err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.key")
	if err := os.WriteFile(wrong, bytes.Repeat([]byte{9}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := startServe(t, map[string]string{"ROLEGATE_DB": db, "ROLEGATE_AUDIT_KEY_FILE": wrong}, "--addr", "127.0.0.1:0"); err == nil ||
		!strings.Contains(err.Error(), "does not match this database's audit log: it holds another key") {
		t.Fatalf("serve with another key: %v", err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", fi, err)
	}

	// The database as the version before keys left it: every entry plain SHA-256, no key.
	a := newAttacker(t, db)
	a.reseal(1)
	a.exec("DELETE FROM audit_key")
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	intact := filepath.Join(t.TempDir(), "intact.db")
	a.exec("VACUUM INTO ?", intact)
	a.exec("UPDATE audit_log SET actor_name = 'Mallory' WHERE id = 5")

	out, err := runCmd(t, nil, "audit", "verify", "--db", intact)
	if err != nil || !strings.Contains(out, "intact by the old unkeyed recipe") {
		t.Fatalf("verify of an unkeyed log: %q %v", out, err)
	}
	// Any command that opens it normally keys it.
	if out, err := runCmd(t, nil, "backup", filepath.Join(t.TempDir(), "b.db"), "--db", intact); err != nil {
		t.Fatalf("backup of an unkeyed log: %q %v", out, err)
	}
	out, err = runCmd(t, nil, "audit", "verify", "--db", intact)
	if err != nil || !strings.Contains(out, "every MAC and link matches") {
		t.Fatalf("verify after the upgrade: %q %v", out, err)
	}

	if _, err := startServe(t, env, "--addr", "127.0.0.1:0"); err == nil ||
		!strings.Contains(err.Error(), "entry 5 does not match") || !strings.Contains(err.Error(), "rolegate audit rekey --force") {
		t.Fatalf("serve on a broken unkeyed log: %v", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused upgrade left a key file: %v", err)
	}
	if _, err := runCmd(t, env, "audit", "verify"); err == nil || !strings.Contains(err.Error(), "entry 5 was tampered with") {
		t.Fatalf("verify of the broken unkeyed log: %v", err)
	}
	if _, err := runCmd(t, env, "audit", "rekey"); err == nil || !strings.Contains(err.Error(), "entry 5 does not match") {
		t.Fatalf("rekey without force: %v", err)
	}
	out, err = runCmd(t, env, "audit", "rekey", "--force")
	if err != nil || !strings.Contains(out, "Entry 5 did not match the old chain") || !strings.Contains(out, "a new audit key, written to "+keyFile) {
		t.Fatalf("rekey --force: %q %v", out, err)
	}
	if out, err := runCmd(t, env, "audit", "rekey"); err == nil {
		t.Fatalf("a second rekey: %q", out)
	}
	if out, err := runCmd(t, env, "audit", "verify"); err != nil {
		t.Fatalf("verify after rekey --force: %q %v", out, err)
	}
	s, err := startServe(t, env, "--addr", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("serve after rekey --force: %v", err)
	}
	if _, err := runCmd(t, env, "audit", "rekey", "--force"); err == nil || !strings.Contains(err.Error(), "is already serving") {
		t.Fatalf("rekey beside a running server: %v", err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
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
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, env, "setup", "--org", "Northside", "--name", "Ana Ruiz", "--email", "ana@example.org", "--password-file", pwFile); err != nil {
		t.Fatalf("setup: %q %v", out, err)
	}
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
	// The server logged an audit checkpoint at start; the log line, pasted whole, verifies.
	var logged string
	for l := range strings.Lines(first.logs.String()) {
		if strings.Contains(l, `"msg":"audit checkpoint"`) {
			logged = strings.TrimSpace(l)
		}
	}
	if !strings.Contains(logged, `"checkpoint":"rolegate-audit-checkpoint v1 entries=`) || strings.Contains(logged, "entries=0 ") {
		t.Fatalf("no audit checkpoint in the server's log:\n%s", first.logs.String())
	}
	if out, err := runCmd(t, env, "audit", "verify", "--checkpoint", logged); err != nil || !strings.Contains(out, "has the MAC of the checkpoint") {
		t.Fatalf("verify against the logged checkpoint: %q %v", out, err)
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

// `make demo` twice used to refuse with no way forward: --force replaces a demo practice
// (new password printed), and never a database that is not one.
func TestDemoForce(t *testing.T) {
	env, _, _ := demoDB(t)
	if out, err := runCmd(t, env, "demo"); err == nil || !strings.Contains(out+err.Error(), "--force") {
		t.Fatalf("second demo: %q %v; want a refusal that names --force", out, err)
	}
	out, err := runCmd(t, env, "demo", "--force")
	if err != nil || !strings.Contains(out, "Sign in as") {
		t.Fatalf("demo --force: %q %v", out, err)
	}
	// A real practice is never replaced.
	real := filepath.Join(t.TempDir(), "practice.db")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	realEnv := map[string]string{"ROLEGATE_DB": real}
	if out, err := runCmd(t, realEnv, "setup", "--org", "Northside", "--name", "Ana Ruiz", "--email", "ana@northside.example", "--password-file", pwFile); err != nil {
		t.Fatalf("setup: %q %v", out, err)
	}
	if out, err := runCmd(t, realEnv, "demo", "--force"); err == nil || !strings.Contains(err.Error(), "not a demo practice") {
		t.Fatalf("demo --force on a real practice: %q %v; want a refusal", out, err)
	}
	if _, err := os.Stat(real); err != nil {
		t.Fatalf("the real practice was removed: %v", err)
	}
}

// `rolegate token create|list|revoke`: the token alone on stdout, for a person who may make
// one; a list without secrets; revoke ends it.
func TestTokenCommands(t *testing.T) {
	env, _, _ := demoDB(t)
	out, err := runCmd(t, env, "token", "create", "--org", "1", "--name", "EHR bridge", "--scopes", "check,read", "--expires", "90d", "--as", "ana.ruiz@harbour-health.example")
	if err != nil || !regexp.MustCompile(`^rgt_[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Fatalf("token create: %q %v", out, err)
	}
	secret := strings.TrimSpace(out)
	list, err := runCmd(t, env, "token", "list")
	if err != nil || !strings.Contains(list, "EHR bridge") || !strings.Contains(list, "check,read") || strings.Contains(list, secret) {
		t.Fatalf("token list: %q %v", list, err)
	}
	for _, bad := range [][]string{
		{"--org", "1", "--name", "x", "--as", "nobody@example.org"},
		{"--org", "1", "--name", "x", "--scopes", "admin", "--as", "ana.ruiz@harbour-health.example"},
		{"--org", "1", "--name", "x", "--expires", "forever", "--as", "ana.ruiz@harbour-health.example"},
		{"--org", "1", "--name", "x"},
	} {
		if out, err := runCmd(t, env, append([]string{"token", "create"}, bad...)...); err == nil || strings.Contains(out, "rgt_") {
			t.Errorf("token create %v: %q %v; want a refusal", bad, out, err)
		}
	}
	if out, err := runCmd(t, env, "token", "revoke", "1"); err != nil {
		t.Fatalf("token revoke: %q %v", out, err)
	}
	if list, _ := runCmd(t, env, "token", "list"); !strings.Contains(list, "revoked") {
		t.Fatalf("after revoke: %q", list)
	}
}
