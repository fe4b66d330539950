package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
