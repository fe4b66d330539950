package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/rolegate/rolegate/internal/store"
)

func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rolegate.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func setupInput() store.SetupInput {
	return store.SetupInput{OrgName: "Northside Practice", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x"}
}

func TestOpenTwiceKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db", "rolegate.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Setup(ctx, setupInput()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = store.Open(ctx, path) // migrations already applied: must be a no-op
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	need, err := st.NeedsSetup(ctx)
	if err != nil || need {
		t.Fatalf("NeedsSetup after reopen = %v, %v; want false", need, err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n < 1 {
		t.Fatalf("schema_migrations rows = %d, %v", n, err)
	}
}

func TestSetupRunsOnce(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	need, err := st.NeedsSetup(ctx)
	if err != nil || !need {
		t.Fatalf("fresh NeedsSetup = %v, %v", need, err)
	}
	u, o, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	if !u.GlobalAdmin || u.ID == 0 || o.ID == 0 {
		t.Fatalf("setup returned %+v %+v", u, o)
	}
	in := setupInput()
	in.Email = "other@example.org"
	if _, _, err := st.Setup(ctx, in); !errors.Is(err, store.ErrAlreadySetUp) {
		t.Fatalf("second setup err = %v, want ErrAlreadySetUp", err)
	}
	if _, err := st.UserByEmail(ctx, "other@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second setup left a user behind: %v", err)
	}
	got, err := st.UserByEmail(ctx, "ANA@example.org")
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByEmail is not case-insensitive: %+v %v", got, err)
	}
	orgs, err := st.OrganisationsOf(ctx, u.ID)
	if err != nil || len(orgs) != 1 || orgs[0].Name != "Northside Practice" {
		t.Fatalf("OrganisationsOf = %+v, %v", orgs, err)
	}
}

func TestSetupRace(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			in := setupInput()
			in.Email = fmt.Sprintf("admin%d@example.org", i)
			_, _, errs[i] = st.Setup(ctx, in)
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrAlreadySetUp):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d setups won, want exactly 1", wins)
	}
}

func TestConcurrentWritersNeverLocked(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	u, _, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	// A second process-like handle on the same file writes too, as a backup or CLI would.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for g := range 50 {
		wg.Go(func() {
			for i := range 10 {
				tok := []byte(fmt.Sprintf("token-%d-%d", g, i))
				_, err := st.CreateSession(ctx, tok, store.Session{UserID: u.ID, CreatedAt: 1, LastSeenAt: 1, ExpiresAt: 2}, 0)
				if err == nil {
					err = st.SetSetting(ctx, fmt.Sprintf("k%d", g), fmt.Sprint(i))
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, err := range failures {
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			t.Errorf("database locked: %v", err)
		} else {
			t.Errorf("write failed: %v", err)
		}
	}
	sessions, err := st.UserSessions(ctx, u.ID)
	if err != nil || len(sessions) != 500 {
		t.Fatalf("sessions = %d, %v; want 500", len(sessions), err)
	}
}

func TestBackupRestoresIntact(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	u, _, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := st.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	if err := st.Backup(ctx, dest); err == nil {
		t.Fatal("backup over an existing file succeeded; want refusal")
	}
	raw, err := sql.Open("sqlite3", dest)
	if err != nil {
		t.Fatal(err)
	}
	var ok string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	raw.Close()
	// The copy does not carry the audit key: restored without it, it is refused; with the key
	// file named, it opens and its log verifies.
	var keyErr *store.AuditKeyError
	if _, err := store.Open(ctx, dest); !errors.As(err, &keyErr) {
		t.Fatalf("a backup opened without its audit key: %v", err)
	}
	restored, err := store.OpenWith(ctx, dest, store.Options{AuditKeyFile: st.AuditKeyFile()})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if n, err := restored.VerifyAudit(ctx); err != nil || n == 0 {
		t.Fatalf("restored audit log: %d %v", n, err)
	}
	got, err := restored.UserByID(ctx, u.ID)
	if err != nil || got.Email != "ana@example.org" || !got.GlobalAdmin {
		t.Fatalf("restored user = %+v, %v", got, err)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	u, _, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateSession(ctx, []byte("a"), store.Session{UserID: u.ID, CreatedAt: 10, LastSeenAt: 10, ExpiresAt: 100, UserAgent: "ua", ClientIP: "1.2.3.4"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateSession(ctx, []byte("b"), store.Session{UserID: u.ID, CreatedAt: 20, LastSeenAt: 20, ExpiresAt: 100}, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SessionByTokenHash(ctx, []byte("a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replaced session still there: %v", err)
	}
	if err := st.TouchSession(ctx, b.ID, 50); err != nil {
		t.Fatal(err)
	}
	got, err := st.SessionByTokenHash(ctx, []byte("b"))
	if err != nil || got.LastSeenAt != 50 {
		t.Fatalf("touched session = %+v, %v", got, err)
	}
	if err := st.DeleteUserSession(ctx, u.ID+1, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting another user's session: %v, want ErrNotFound", err)
	}
	if err := st.DeleteExpiredSessions(ctx, 100, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SessionByTokenHash(ctx, []byte("b")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session survived the sweep: %v", err)
	}
	if err := st.SetPassword(ctx, u.ID, "new", 0); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(ctx, 9999, "new", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPassword on a missing user: %v", err)
	}
}

func TestSecretsAndSettings(t *testing.T) {
	ctx := context.Background()
	st, path := openStore(t)
	k1, err := st.Secret(ctx, "key", 32)
	if err != nil || len(k1) != 32 {
		t.Fatalf("secret = %x, %v", k1, err)
	}
	k2, _ := st.Secret(ctx, "key", 32)
	if string(k1) != string(k2) {
		t.Fatal("secret changed between calls")
	}
	st.Close()
	st2, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	k3, _ := st2.Secret(ctx, "key", 32)
	if string(k1) != string(k3) {
		t.Fatal("secret changed across restarts")
	}
	if v, _ := st2.Setting(ctx, "missing", "def"); v != "def" {
		t.Fatalf("default setting = %q", v)
	}
	if err := st2.SetSetting(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	if err := st2.SetSetting(ctx, "a", "2"); err != nil {
		t.Fatal(err)
	}
	if v, _ := st2.Setting(ctx, "a", ""); v != "2" {
		t.Fatalf("setting = %q, want 2", v)
	}
}
