package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
)

// keyedDB is a database with a few entries written through real changes, closed again.
func keyedDB(t *testing.T) (path string) {
	t.Helper()
	ctx := context.Background()
	st, path := openStore(t)
	if _, _, err := st.Setup(ctx, setupInput()); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"10", "20", "30"} {
		if err := st.SetSetting(ctx, "idle_timeout_minutes", v); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	return path
}

// entries reads the whole log through a store.
func entries(t *testing.T, st *store.Store) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	if err := st.EachAudit(context.Background(), store.AuditQuery{}, func(e audit.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// rawDB opens the file directly, as anyone holding it can, without the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func triggerCount(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// unkey turns a keyed database into one as the version before keys left it: every entry sealed
// with plain SHA-256, no key record, no key file. It returns the log as it then is.
func unkey(t *testing.T, path string) []audit.Entry {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	es := entries(t, st)
	keyFile := st.AuditKeyFile()
	st.Close()
	db := rawDB(t, path)
	mustExec(t, db, "DROP TRIGGER audit_log_no_update")
	var prev []byte
	for i := range es {
		if err := es[i].SealUnkeyed(prev); err != nil {
			t.Fatal(err)
		}
		prev = es[i].Hash
		mustExec(t, db, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", append([]byte{}, es[i].PrevHash...), es[i].Hash, es[i].ID)
	}
	mustExec(t, db, `CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`)
	mustExec(t, db, "DELETE FROM audit_key")
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	return es
}

func afterOf(t *testing.T, e audit.Entry) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.After, &m); err != nil {
		t.Fatalf("after of entry %d: %v", e.ID, err)
	}
	return m
}

func TestDefaultAuditKeyFile(t *testing.T) {
	for db, want := range map[string]string{
		"./data/rolegate.db":      "./data/rolegate.audit-key",
		"/srv/rg/portal.sqlite3":  "/srv/rg/portal.audit-key",
		"data/rolegate":           "data/rolegate.audit-key",
		"data.d/rolegate":         "data.d/rolegate.audit-key",
		"/var/lib/x/rolegate.db2": "/var/lib/x/rolegate.audit-key",
	} {
		if got := store.DefaultAuditKeyFile(db); got != want {
			t.Errorf("DefaultAuditKeyFile(%q) = %q, want %q", db, got, want)
		}
	}
}

// A new database gets a key file beside it: 32 random bytes, mode 0600. The database holds
// only the key's fingerprint, never the key.
func TestAuditKeyFileCreated(t *testing.T) {
	ctx := context.Background()
	old := umask(0o022)
	t.Cleanup(func() { umask(old) })
	st, path := openStore(t)
	if _, _, err := st.Setup(ctx, setupInput()); err != nil {
		t.Fatal(err)
	}
	keyFile := strings.TrimSuffix(path, ".db") + ".audit-key"
	if st.AuditKeyFile() != keyFile {
		t.Fatalf("key file %q, want %q", st.AuditKeyFile(), keyFile)
	}
	assertMode(t, keyFile, 0o600)
	key, err := os.ReadFile(keyFile)
	if err != nil || len(key) != audit.KeySize || bytes.Equal(key, make([]byte, audit.KeySize)) {
		t.Fatalf("key %x, %v", key, err)
	}
	var keyID []byte
	if err := rawDB(t, path).QueryRow("SELECT key_id FROM audit_key").Scan(&keyID); err != nil || !bytes.Equal(keyID, audit.KeyID(key)) {
		t.Fatalf("stored key id %x, %v; want %x", keyID, err, audit.KeyID(key))
	}
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, key) {
			t.Fatalf("the audit key is stored in %s", p)
		}
	}
	// The log is keyed: its MACs are not the old plain SHA-256.
	es := entries(t, st)
	u := audit.NewUnkeyedVerifier()
	if err := u.Check(es[0]); err == nil {
		t.Fatal("the first entry verifies by the unkeyed recipe")
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n != len(es) {
		t.Fatalf("verify: %d %v", n, err)
	}
	st.Close()
	// The same key on every open; a named key file is used instead of the default.
	st, err = store.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	st.Close()
	other := filepath.Join(t.TempDir(), "elsewhere.key")
	st, err = store.OpenWith(ctx, filepath.Join(t.TempDir(), "b.db"), store.Options{AuditKeyFile: other})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	assertMode(t, other, 0o600)
	if _, err := store.OpenWith(ctx, path, store.Options{AuditKeyFile: path}); err == nil {
		t.Fatal("the database accepted as its own key file")
	}
}

// Opening a keyed database with its key file missing, or with another key, is refused and
// changes nothing; the audit commands can open it to say so, and a lost key can be replaced
// by force, on the record.
func TestAuditKeyMismatchRefused(t *testing.T) {
	ctx := context.Background()
	path := keyedDB(t)
	keyFile := store.DefaultAuditKeyFile(path)
	saved := filepath.Join(t.TempDir(), "saved.key")
	if err := os.Rename(keyFile, saved); err != nil {
		t.Fatal(err)
	}
	var ke *store.AuditKeyError
	_, err := store.Open(ctx, path)
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), "the audit key file "+keyFile+" does not match this database's audit log: the file does not exist") {
		t.Fatalf("missing key file: %v", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a new key was created for a keyed database: %v", err)
	}
	for name, content := range map[string][]byte{
		"another key": bytes.Repeat([]byte{1}, audit.KeySize),
		"not a key":   []byte("hello"),
	} {
		if err := os.WriteFile(keyFile, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Open(ctx, path); !errors.As(err, &ke) || ke.File != keyFile {
			t.Fatalf("%s: %v", name, err)
		} else if name == "another key" && !strings.Contains(err.Error(), "it holds another key") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The right key, named: opens.
	st, err := store.OpenWith(ctx, path, store.Options{AuditKeyFile: saved})
	if err != nil {
		t.Fatalf("with the right key: %v", err)
	}
	n0 := len(entries(t, st))
	st.Close()

	// Inspecting with the wrong key: verify says why, nothing can be recorded.
	st, err = store.OpenWith(ctx, path, store.Options{AuditInspect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.VerifyAudit(ctx); !errors.As(err, &ke) {
		t.Fatalf("verify with the wrong key: %v", err)
	}
	if err := st.SetSetting(ctx, "idle_timeout_minutes", "40"); !errors.As(err, &ke) {
		t.Fatalf("a change recorded under the wrong key: %v", err)
	}
	if _, err := st.AuditCheckpoint(ctx); err == nil {
		t.Fatal("checkpoint under the wrong key")
	}
	if _, err := st.RekeyAudit(ctx, false); err == nil || !strings.Contains(err.Error(), "rekey --force") {
		t.Fatalf("rekey without force: %v", err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	r, err := st.RekeyAudit(ctx, true)
	if err != nil || !r.Unchecked || !r.KeyCreated || r.Entries != int64(n0) {
		t.Fatalf("forced rekey: %+v %v", r, err)
	}
	st.Close()
	st, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.VerifyAudit(ctx); err != nil || n != n0+1 {
		t.Fatalf("verify after the forced rekey: %d %v", n, err)
	}
	es := entries(t, st)
	last := es[len(es)-1]
	if a := afterOf(t, last); last.Action != audit.Rekeyed || a["previous_key_id"] == "" || a["unchecked"] == nil || a["forced"] != true {
		t.Fatalf("rekey entry %+v %v", last, a)
	}
}

// A database sealed the old unkeyed way is checked and re-keyed at open, in one transaction
// that leaves the triggers in place and records the re-keying.
func TestUnkeyedDatabaseUpgraded(t *testing.T) {
	ctx := context.Background()
	path := keyedDB(t)
	old := unkey(t, path)
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer st.Close()
	assertMode(t, st.AuditKeyFile(), 0o600)
	if n, err := st.VerifyAudit(ctx); err != nil || n != len(old)+1 {
		t.Fatalf("verify after the upgrade: %d %v", n, err)
	}
	es := entries(t, st)
	for i, e := range old {
		want, _ := e.Canonical()
		got, _ := es[i].Canonical()
		if !bytes.Equal(want, got) {
			t.Fatalf("entry %d changed content:\n%s\n%s", e.ID, want, got)
		}
	}
	last := es[len(es)-1]
	a := afterOf(t, last)
	if last.Action != audit.Rekeyed || a["entries"] != float64(len(old)) || a["unkeyed_head"] != hex.EncodeToString(old[len(old)-1].Hash) ||
		a["forced"] != nil || a["first_broken_entry"] != nil {
		t.Fatalf("rekey entry %+v %v", last, a)
	}
	db := rawDB(t, path)
	if n := triggerCount(t, db); n != 2 {
		t.Fatalf("%d triggers after the upgrade", n)
	}
	if _, err := db.Exec("UPDATE audit_log SET actor_name = 'x' WHERE id = 1"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update after the upgrade: %v", err)
	}
	cp, err := st.AuditCheckpoint(ctx)
	if err != nil || cp.Entries != last.ID || !bytes.Equal(cp.Head, last.Hash) {
		t.Fatalf("checkpoint %+v %v", cp, err)
	}
	if err := st.SetSetting(ctx, "idle_timeout_minutes", "45"); err != nil {
		t.Fatal(err)
	}
	if n, err := st.VerifyAudit(ctx, cp); err != nil || n != len(es)+1 {
		t.Fatalf("verify against an older checkpoint: %d %v", n, err)
	}
}

// A broken unkeyed chain is not keyed on its own: the portal refuses to start, naming the
// entry, until an operator who accepts the log re-keys it by force, which is recorded.
func TestUnkeyedBrokenChainRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, tamper string
		broken       float64
		missing      int64
	}{
		{"edited", "UPDATE audit_log SET actor_name = 'Mallory' WHERE id = 2", 2, 0},
		{"removed", "DELETE FROM audit_log WHERE id = 3", 4, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := keyedDB(t)
			old := unkey(t, path)
			db := rawDB(t, path)
			mustExec(t, db, "DROP TRIGGER audit_log_no_update")
			mustExec(t, db, "DROP TRIGGER audit_log_no_delete")
			mustExec(t, db, tc.tamper)
			keyFile := store.DefaultAuditKeyFile(path)

			_, err := store.Open(ctx, path)
			var ue *store.UnkeyedChainError
			if !errors.As(err, &ue) || ue.Broken.ID != int64(tc.broken) ||
				!strings.Contains(err.Error(), "run `rolegate audit verify` and, if you accept the log as it is, `rolegate audit rekey --force`") {
				t.Fatalf("open: %v", err)
			}
			if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a key file was left by the refused upgrade: %v", err)
			}
			var keyed int
			if err := db.QueryRow("SELECT count(*) FROM audit_key").Scan(&keyed); err != nil || keyed != 0 {
				t.Fatalf("audit_key rows %d %v", keyed, err)
			}

			st, err := store.OpenWith(ctx, path, store.Options{AuditInspect: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var te *audit.TamperedError
			if !st.AuditUnkeyed() {
				t.Fatal("not reported as unkeyed")
			}
			if _, err := st.VerifyAudit(ctx); !errors.As(err, &te) || te.ID != int64(tc.broken) {
				t.Fatalf("verify: %v", err)
			}
			if _, err := st.RekeyAudit(ctx, false); !errors.As(err, &ue) {
				t.Fatalf("rekey without force: %v", err)
			}
			r, err := st.RekeyAudit(ctx, true)
			if err != nil || r.FirstBroken != int64(tc.broken) || r.Missing != tc.missing || !r.KeyCreated {
				t.Fatalf("forced rekey: %+v %v", r, err)
			}
			if n := triggerCount(t, db); n != 2 {
				t.Fatalf("%d triggers after the rekey", n)
			}
			st.Close()
			st, err = store.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if n, err := st.VerifyAudit(ctx); err != nil || n != len(old)+1 {
				t.Fatalf("verify after the forced rekey: %d %v", n, err)
			}
			es := entries(t, st)
			last := es[len(es)-1]
			if a := afterOf(t, last); last.Action != audit.Rekeyed || a["first_broken_entry"] != tc.broken || a["forced"] != true {
				t.Fatalf("rekey entry %+v %v", last, a)
			}
			if tc.missing > 0 && es[2].Action != audit.EntryMissing {
				t.Fatalf("entry 3 after the rekey: %+v", es[2])
			}
		})
	}
}

// An unkeyed log beside an existing key file is not re-keyed on its own: that is what someone
// who rewrote the log and removed its key record would want. The operator re-keys it.
func TestUnkeyedBesideKeyFileRefused(t *testing.T) {
	ctx := context.Background()
	path := keyedDB(t)
	old := unkey(t, path)
	keyFile := store.DefaultAuditKeyFile(path)
	key := bytes.Repeat([]byte{3}, audit.KeySize)
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	var ke *store.AuditKeyError
	if _, err := store.Open(ctx, path); !errors.As(err, &ke) || !strings.Contains(err.Error(), "sealed the old unkeyed way, yet the key file exists") {
		t.Fatalf("open: %v", err)
	}
	st, err := store.OpenWith(ctx, path, store.Options{AuditInspect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.VerifyAudit(ctx); err != nil || n != len(old) {
		t.Fatalf("verify of the unkeyed log: %d %v", n, err)
	}
	r, err := st.RekeyAudit(ctx, false)
	if err != nil || r.KeyCreated || r.FirstBroken != 0 {
		t.Fatalf("rekey: %+v %v", r, err)
	}
	if _, err := st.RekeyAudit(ctx, false); !errors.Is(err, store.ErrAuditKeyed) {
		t.Fatalf("second rekey: %v", err)
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n != len(old)+1 {
		t.Fatalf("verify: %d %v", n, err)
	}
	if got, _ := os.ReadFile(keyFile); !bytes.Equal(got, key) {
		t.Fatal("the existing key file was replaced")
	}
}
