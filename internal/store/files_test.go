package store_test

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/rolegate/rolegate/internal/store"
)

// umask sets the process's umask, so a test sees what a typical 022 system does rather than
// passing by luck under a strict one.
func umask(m int) int { return syscall.Umask(m) }

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", filepath.Base(path), got, want)
	}
}

// The database holds password hashes and who may see patient data: nobody but the portal's own
// user may read it, its WAL (which holds recent changes) or its backups, whatever the umask.
func TestFileModes(t *testing.T) {
	ctx := context.Background()
	old := umask(0o022)
	t.Cleanup(func() { umask(old) })

	t.Run("new database, WAL and shared memory", func(t *testing.T) {
		st, path := openStore(t)
		if _, _, err := st.Setup(ctx, setupInput()); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			assertMode(t, p, 0o600)
		}
	})

	t.Run("an existing database is tightened at open", func(t *testing.T) {
		st, path := openStore(t)
		if _, _, err := st.Setup(ctx, setupInput()); err != nil {
			t.Fatal(err)
		}
		st.Close()
		// Another connection keeps the WAL and shared-memory files in place, as a database
		// left by an older Rolegate (or a crash) would have them.
		raw, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var n int
		if err := raw.QueryRow("SELECT count(*) FROM users").Scan(&n); err != nil || n != 1 {
			t.Fatalf("users: %d %v", n, err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		st2, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer st2.Close()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			assertMode(t, p, 0o600)
		}
	})

	t.Run("backup", func(t *testing.T) {
		st, _ := openStore(t)
		if _, _, err := st.Setup(ctx, setupInput()); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(t.TempDir(), "backup.db")
		if err := st.Backup(ctx, dest); err != nil {
			t.Fatal(err)
		}
		assertMode(t, dest, 0o600)
		// A refused backup leaves what was there alone.
		if err := st.Backup(ctx, dest); err == nil {
			t.Fatal("backup over an existing file accepted")
		}
		assertMode(t, dest, 0o600)
	})
}
