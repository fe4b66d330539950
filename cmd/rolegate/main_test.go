package main

import (
	"bytes"
	"context"
	"database/sql"
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
