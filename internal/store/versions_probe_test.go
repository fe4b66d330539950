package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// While nothing is committed the counters are answered without a query; a commit from
// anywhere (this store, another pool on the file, a plain connection as another program
// would open it) makes the next read query again and return the new counters.
func TestVersionsProbeSkipsTheQueryOnlyWhileNothingWasCommitted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rolegate.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.versions.probe == nil {
		t.Fatal("no WAL index probe on a database in WAL mode")
	}
	other, err := sql.Open("sqlite3", dsn(path, "_journal_mode=WAL&_busy_timeout=10000"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	read := func() Versions {
		t.Helper()
		v, err := st.Versions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := read()
	q := st.versions.queries.Load()
	for range 100 {
		if read() != before {
			t.Fatal("counters moved with nothing committed")
		}
	}
	if n := st.versions.queries.Load() - q; n != 0 {
		t.Fatalf("%d queries for 100 reads with nothing committed", n)
	}

	changes := []struct {
		name   string
		commit func() error
		moved  func(Versions) bool
	}{
		{"this store", func() error { return st.SetSetting(ctx, "time_zone", "Europe/Madrid") },
			func(v Versions) bool { return v.Settings == before.Settings+1 }},
		{"another program", func() error {
			_, err := other.ExecContext(ctx, "UPDATE versions SET apps = apps + 1 WHERE id = 1")
			return err
		}, func(v Versions) bool { return v.Apps == before.Apps+1 }},
		{"a commit that changes no counter", func() error {
			_, err := other.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ('probe_test', '1')")
			return err
		}, func(Versions) bool { return true }},
	}
	for _, c := range changes {
		q := st.versions.queries.Load()
		if err := c.commit(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if v := read(); !c.moved(v) {
			t.Errorf("after a commit by %s: %+v, was %+v", c.name, v, before)
		}
		if st.versions.queries.Load() == q {
			t.Errorf("after a commit by %s the counters were not read again", c.name)
		}
		before = read()
	}
}
