package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Versions are the counters of the versions table (migration 0010): each changes with every
// committed change to what it counts, made by this process or any other. What a process keeps
// in memory (the permission snapshot, tokens, applications, sessions, settings) is tagged
// with the counter it was read at and trusted only while the counter still says so.
type Versions struct {
	Access   int64
	Tokens   int64
	Apps     int64
	Sessions int64
	Settings int64
}

type versionsKey struct{}

// WithVersions reads the counters once and attaches them to ctx, so everything a request
// consults that is cached checks its freshness against one read, not one read each.
func (s *Store) WithVersions(ctx context.Context) (context.Context, Versions, error) {
	v, err := s.readVersions(ctx)
	if err != nil {
		return ctx, v, err
	}
	return context.WithValue(ctx, versionsKey{}, v), v, nil
}

// Versions returns the counters the request read (WithVersions), or reads them now. A
// request's own writes bump counters after it read them; the caches such a write makes stale
// are dropped by the process that wrote (for the rest of that request) and by every other
// process at its next read.
func (s *Store) Versions(ctx context.Context) (Versions, error) {
	if v, ok := ctx.Value(versionsKey{}).(Versions); ok {
		return v, nil
	}
	return s.readVersions(ctx)
}

const versionsQuery = "SELECT access, tokens, apps, sessions, settings FROM versions WHERE id = 1"

// versionsReader reads the versions row on a connection of its own, through the driver's
// prepared statement: every request pays for this read, and database/sql's pool, statement
// cache and cancellation hooks cost more than the read itself (2.1 µs here against 6.0 µs).
//
// Most requests need no query at all: see walProbe. Requests that arrive while a read is
// under way share the next one: a read that began before a request arrived might miss a
// commit made since, but one that begins after it cannot, and under load one read serves
// many requests.
type versionsReader struct {
	probe *walProbe // nil when the database has no WAL index file to look at

	seenMu sync.Mutex
	seen   walHeader // the WAL index header as it was just before the query that read seenV
	seenV  Versions
	seenOK bool

	queries atomic.Int64 // how many times the row was read (for the tests)

	mu       sync.Mutex
	inflight *versionsCall // the read under way, if any
	next     *versionsCall // the read that starts when it ends, shared by whoever waits for it

	qmu    sync.Mutex // held by query and close: one statement on the connection at a time
	closed bool
	conn   *sql.Conn
	stmt   driver.Stmt
	dest   []driver.Value
}

type versionsCall struct {
	done chan struct{}
	v    Versions
	err  error
}

func newVersionsReader(ctx context.Context, pool *sql.DB, path string) (*versionsReader, error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	r := &versionsReader{conn: conn, dest: make([]driver.Value, 5)}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("driver connection %T", dc)
		}
		r.stmt, err = c.Prepare(versionsQuery)
		return err
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	// The first read creates the WAL index file if this process is the first to open the
	// database; the probe opens it after that.
	if _, err := r.query(); err != nil {
		r.close()
		return nil, err
	}
	r.probe = openWALProbe(path)
	return r, nil
}

// read returns counters as new as a query begun after read was called would see.
func (r *versionsReader) read() (Versions, error) {
	if h, ok := r.probe.header(); ok {
		r.seenMu.Lock()
		v, hit := r.seenV, r.seenOK && h == r.seen
		r.seenMu.Unlock()
		if hit {
			return v, nil
		}
	}
	r.mu.Lock()
	if r.inflight == nil && r.next == nil {
		c := &versionsCall{done: make(chan struct{})}
		r.inflight = c
		r.mu.Unlock()
		r.run(c)
		return c.v, c.err
	}
	c, lead := r.next, false
	if c == nil {
		c, lead = &versionsCall{done: make(chan struct{})}, true
		r.next = c
	}
	prev := r.inflight
	r.mu.Unlock()
	if lead {
		// The first to wait starts the shared read once the one under way has ended;
		// whoever arrives until then joins it.
		if prev != nil {
			<-prev.done
		}
		r.mu.Lock()
		r.inflight, r.next = c, nil
		r.mu.Unlock()
		r.run(c)
	} else {
		<-c.done
	}
	return c.v, c.err
}

func (r *versionsReader) run(c *versionsCall) {
	h, probed := r.probe.header()
	c.v, c.err = r.query()
	if probed && c.err == nil {
		// Nothing committed since h was read is missing from c.v, so while the header
		// still reads h, c.v is what a query would return.
		r.seenMu.Lock()
		r.seen, r.seenV, r.seenOK = h, c.v, true
		r.seenMu.Unlock()
	}
	r.mu.Lock()
	if r.inflight == c {
		r.inflight = nil
	}
	r.mu.Unlock()
	close(c.done)
}

// query runs the statement.
func (r *versionsReader) query() (Versions, error) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	var v Versions
	if r.closed {
		return v, sql.ErrConnDone
	}
	r.queries.Add(1)
	err := r.conn.Raw(func(any) error {
		// No context: a read of one row is not worth cancelling, and a cancellable one
		// makes the driver arrange for it on every row.
		q, ok := r.stmt.(driver.StmtQueryContext)
		if !ok {
			return fmt.Errorf("driver statement %T cannot query", r.stmt)
		}
		rows, err := q.QueryContext(context.Background(), nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := rows.Next(r.dest); err != nil {
			return err
		}
		for i, p := range []*int64{&v.Access, &v.Tokens, &v.Apps, &v.Sessions, &v.Settings} {
			n, ok := r.dest[i].(int64)
			if !ok {
				return fmt.Errorf("column %d is %T", i, r.dest[i])
			}
			*p = n
		}
		return nil
	})
	return v, err
}

func (r *versionsReader) close() {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	r.probe.close()
	r.closed = true
	r.stmt.Close()
	r.conn.Close()
}

func (s *Store) readVersions(context.Context) (Versions, error) {
	v, err := s.versions.read()
	if err != nil {
		return v, fmt.Errorf("store: versions: %w", err)
	}
	return v, nil
}

// bump moves one counter on, inside the transaction of the change it counts. The column is
// one of the constants below, never input.
func bump(ctx context.Context, tx *sql.Tx, column string) error {
	if _, err := tx.ExecContext(ctx, "UPDATE versions SET "+column+" = "+column+" + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("store: bump %s: %w", column, err)
	}
	return nil
}

// The counters' columns, for bump.
const (
	countAccess   = "access"
	countTokens   = "tokens"
	countApps     = "apps"
	countSessions = "sessions"
	countSettings = "settings"
)

// walProbe tells, without a query, whether anything was committed since a moment it was
// asked before. In WAL mode every commit, from any process, rewrites the header at the start
// of the WAL index file (database-shm): its change counter moves on with each transaction,
// and its frame count and salts identify the log's contents (https://sqlite.org/walformat.html,
// "The WAL-Index Header"; the format is shared by every SQLite version that opens the file,
// so it does not change). A commit is visible to readers once that header is written, and
// a query begun later cannot miss it: so while the header reads as it did just before a
// query, that query's answer still stands. Reading 96 bytes with pread costs a system call;
// beginning and ending a read transaction costs four lock calls and the statement.
//
// The file is read, never mapped: a mapped file that another process truncates would kill
// this one. It stays valid while this process keeps a connection open (the versions
// reader's own), since SQLite only resets the index when no connection has it open.
type walProbe struct {
	f *os.File
}

// walHeader is the two copies of the WAL index header (48 bytes each).
type walHeader [96]byte

func openWALProbe(dbPath string) *walProbe {
	f, err := os.Open(dbPath + "-shm")
	if err != nil {
		return nil // not in WAL mode, or an index kept in memory: every read queries
	}
	p := &walProbe{f: f}
	if _, ok := p.header(); !ok {
		f.Close()
		return nil
	}
	return p
}

// header reads the WAL index header; ok is false when it cannot be trusted as a whole: not
// readable, not initialised, or being rewritten (its two copies differ).
func (p *walProbe) header() (h walHeader, ok bool) {
	if p == nil {
		return h, false
	}
	if n, err := p.f.ReadAt(h[:], 0); n != len(h) || err != nil {
		return h, false
	}
	const isInit = 12 // offset of the isInit byte in a copy
	return h, h[isInit] == 1 && bytes.Equal(h[:48], h[48:])
}

func (p *walProbe) close() {
	if p != nil {
		p.f.Close()
	}
}
