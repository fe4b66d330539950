// Package store holds every SQL statement of Rolegate. It talks to one SQLite file through a
// single writer connection (so concurrent writers queue instead of failing with "database is
// locked") and a pool of read-only connections (so reads never wait for writes, thanks to WAL).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/rolegate/rolegate/db"
	"github.com/rolegate/rolegate/internal/rbac"
)

// ErrNotFound is returned when the row asked for does not exist. It wraps rbac.ErrNotFound,
// which the rules answer from the snapshot, so a transport maps both with one errors.Is.
var ErrNotFound = fmt.Errorf("store: %w", rbac.ErrNotFound)

// ErrAlreadySetUp is returned by Setup once the portal has its first admin.
var ErrAlreadySetUp = errors.New("store: setup already completed")

// ErrEmailTaken is returned when another user already has the email address.
var ErrEmailTaken = errors.New("store: email already in use")

// Store is the handle on the database. It is safe for concurrent use.
type Store struct {
	w *sql.DB // exactly one connection: every write goes through it
	// writeTurn queues the transactions waiting for w in the order they came: database/sql
	// hands a freed connection to a waiter picked at random, which under fifty writers at
	// once left some waiting ten times longer than the rest. A channel's waiters are served
	// first come, first served.
	writeTurn chan struct{}
	r         *sql.DB // read-only pool
	now       func() time.Time
	// accessChanged runs after each committed write that changes who holds what, so the
	// in-memory permission snapshot is rebuilt before the next request.
	accessChanged func(context.Context)
	// accessGuard, when set, sees the access data a write would leave and may refuse it;
	// it runs inside the transaction, so concurrent writes cannot slip past it together.
	// What it returns runs once the write is committed, in place of accessChanged: the data
	// the guard saw is what was committed, so nothing needs reading again.
	accessGuard func(ctx context.Context, tx AccessTx) (committed func(), err error)

	versions *versionsReader // reads the versions row each request checks

	// settings caches the settings table, tagged with the settings counter it was read at.
	settings atomic.Pointer[settingsCache]

	path         string
	auditKeyFile string
	auditMu      sync.RWMutex // guards the audit key state, which RekeyAudit changes
	auditKey     []byte       // the key the log is sealed with; nil until it is keyed
	auditUnkeyed bool         // the log is sealed the old unkeyed way (only with Options.AuditInspect)
	auditProblem error        // why a keyed log has no key at hand (only with Options.AuditInspect)
}

// Open opens (creating if needed) the SQLite file at path, applies pending migrations, makes
// sure its audit log is keyed with the key file beside it (DefaultAuditKeyFile) and returns a
// ready Store.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with settings: another audit key file (--audit-key-file), or opening for
// inspection by the audit commands. A database whose log is keyed with another key than the
// key file's, or whose key file is missing, is refused (*AuditKeyError); a log sealed the old
// unkeyed way is checked and re-keyed, or refused when its chain is broken
// (*UnkeyedChainError).
func OpenWith(ctx context.Context, path string, opt Options) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
		}
	}
	if err := prepareDatabaseFile(path); err != nil {
		return nil, err
	}
	// synchronous=FULL: an acknowledged change survives power loss, which matters more
	// here than write throughput. _txlock=immediate: every transaction on the writer takes
	// the write lock at BEGIN, so two writers never deadlock upgrading a read lock.
	// _stmt_cache_size: each connection keeps the statements it prepared and reuses them
	// (preparing was a tenth of a page's time); the dynamic IN (?, …) lists make a few
	// variants each, which the bound keeps from growing without end.
	common := "_journal_mode=WAL&_synchronous=FULL&_foreign_keys=on&_busy_timeout=10000&_stmt_cache_size=256"
	w, err := sql.Open("sqlite3", dsn(path, common+"&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, writeTurn: make(chan struct{}, 1), now: time.Now, path: path}
	// The writer must exist (and create the file in WAL mode) before readers open it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.openAuditKey(ctx, opt); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite3", dsn(path, common+"&_query_only=1"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open readers: %w", err)
	}
	// Eight for reads, and one kept by the versions reader.
	r.SetMaxOpenConns(9)
	r.SetMaxIdleConns(9)
	s.r = r
	if s.versions, err = newVersionsReader(ctx, r, path); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: prepare versions: %w", err)
	}
	return s, nil
}

func dsn(path, params string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params
}

// Close releases both pools.
func (s *Store) Close() error {
	if s.versions != nil {
		s.versions.close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Ping checks that the database answers a query; /healthz uses it.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// SetClock replaces the time source; tests use it to move through timeouts.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Now is the store's clock, so expiry decisions elsewhere agree with what the store records.
func (s *Store) Now() time.Time { return s.now() }

// withTx runs fn in one write transaction (BEGIN IMMEDIATE through the DSN), committing when
// fn returns nil and rolling back otherwise.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case s.writeTurn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("store: begin: %w", ctx.Err())
	}
	defer func() { <-s.writeTurn }()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// OnAccessChange sets the function run after every committed write that changes access.
func (s *Store) OnAccessChange(fn func(context.Context)) { s.accessChanged = fn }

// GuardAccess sets the check every access-changing write must pass before it commits; the
// function it returns runs after the commit (nil: accessChanged runs instead).
func (s *Store) GuardAccess(fn func(ctx context.Context, tx AccessTx) (committed func(), err error)) {
	s.accessGuard = fn
}

// withAccessTx is withTx for writes that change access: the guard checks the result before
// the commit, and after the commit the permission engine is told, so the change is visible
// on the very next request. The access counter is bumped first, so the change log's rows
// (written by triggers as fn changes things) carry the version this transaction makes.
func (s *Store) withAccessTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var committed func()
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		committed = nil
		var version int64
		if err := tx.QueryRowContext(ctx, "UPDATE versions SET access = access + 1 WHERE id = 1 RETURNING access").Scan(&version); err != nil {
			return fmt.Errorf("store: bump access: %w", err)
		}
		if err := fn(tx); err != nil {
			return err
		}
		if err := pruneChanges(ctx, tx, version); err != nil {
			return err
		}
		if s.accessGuard == nil {
			return nil
		}
		var err error
		committed, err = s.accessGuard(ctx, AccessTx{tx: tx, version: version})
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case committed != nil:
		committed()
	case s.accessChanged != nil:
		s.accessChanged(ctx)
	}
	return nil
}

// migrate applies every embedded migration newer than the recorded schema version, each in
// its own transaction together with its version row, so a failed step leaves nothing behind.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	files, err := fs.Glob(db.Migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimPrefix(f, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("store: migration %s: name must start with a number and _", name)
		}
		body, err := db.Migrations.ReadFile(f)
		if err != nil {
			return fmt.Errorf("store: read migration %s: %w", name, err)
		}
		err = s.withTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				version, name, s.now().Unix())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
	}
	return nil
}

// Backup writes a consistent copy of the live database to path (which must not exist yet).
// VACUUM INTO reads one snapshot; it runs on the writer connection because the readers are
// query-only, and another process (a running server) keeps working meanwhile thanks to WAL.
// The file is created empty with privateMode first (SQLite writes into an empty file), so the
// copy is never readable by others, not even while it is being written.
func (s *Store) Backup(ctx context.Context, path string) error {
	if err := createPrivate(path); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: backup: %s already exists", path)
	} else if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return errors.Join(fmt.Errorf("store: backup to %s: %w", path, err), os.Remove(path))
	}
	return nil
}

// isConstraint reports whether err is a UNIQUE, PRIMARY KEY or CHECK constraint failure.
func isConstraint(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint &&
		(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey ||
			se.ExtendedCode == sqlite3.ErrConstraintCheck)
}

// nullID stores 0 (no one, e.g. the system) as NULL in a column that references a row.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
