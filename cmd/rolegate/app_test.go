package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rolegate app add/list/edit/enable/disable/remove: validated like the page, audited, listed.
func TestAppCommands(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROLEGATE_DB": filepath.Join(dir, "rolegate.db")}
	if _, err := runCmd(t, env, "setup", "--org", "Northside", "--name", "Ana Ruiz", "--email", "ana@example.org", "--password-file", pwFile); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, env, "app", "add", "--name", "Wiki", "--host", "https://wiki.example", "--org", "1", "--permission", "nope.key"); err == nil ||
		!strings.Contains(err.Error(), "--host") || !strings.Contains(err.Error(), "--permission") {
		t.Fatalf("bad add: %v", err)
	}
	out, err := runCmd(t, env, "app", "add", "--name", "Wiki", "--host", "Wiki.Example:8443", "--path", "/docs/", "--org", "1", "--permission", "billing.view", "--public", "/docs/health")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("add: %q %v", out, err)
	}
	out, err = runCmd(t, env, "app", "list")
	if err != nil || !strings.Contains(out, "wiki.example:8443/docs") || !strings.Contains(out, "billing.view") || !strings.Contains(out, "/docs/health") || !strings.Contains(out, "enabled") {
		t.Fatalf("list: %q %v", out, err)
	}
	// edit changes only the flags given.
	if _, err := runCmd(t, env, "app", "edit", "1", "--permission", "patients.contact", "--name", "Clinic wiki"); err != nil {
		t.Fatal(err)
	}
	out, _ = runCmd(t, env, "app", "list")
	if !strings.Contains(out, "Clinic wiki") || !strings.Contains(out, "patients.contact") || !strings.Contains(out, "wiki.example:8443/docs") || !strings.Contains(out, "/docs/health") {
		t.Fatalf("after edit: %q", out)
	}
	if _, err := runCmd(t, env, "app", "edit", "1", "--public", "/elsewhere"); err == nil || !strings.Contains(err.Error(), "--public") {
		t.Fatalf("bad edit: %v", err)
	}
	if _, err := runCmd(t, env, "app", "disable", "1"); err != nil {
		t.Fatal(err)
	}
	if out, _ := runCmd(t, env, "app", "list"); !strings.Contains(out, "disabled") {
		t.Fatalf("after disable: %q", out)
	}
	if _, err := runCmd(t, env, "app", "enable", "1"); err != nil {
		t.Fatal(err)
	}
	if out, _ := runCmd(t, env, "app", "list"); strings.Contains(out, "disabled") {
		t.Fatalf("after enable: %q", out)
	}
	if _, err := runCmd(t, env, "app", "disable", "7"); err == nil {
		t.Fatal("disable of an unknown application")
	}
	if out, err := runCmd(t, env, "audit", "verify"); err != nil {
		t.Fatalf("audit verify: %q %v", out, err)
	}
	if _, err := runCmd(t, env, "app", "remove", "x"); err == nil {
		t.Fatal("remove without an id")
	}
	if _, err := runCmd(t, env, "app", "remove", "1"); err != nil {
		t.Fatal(err)
	}
	if out, _ := runCmd(t, env, "app", "list"); strings.Contains(out, "Wiki") {
		t.Fatalf("still listed: %q", out)
	}
}
