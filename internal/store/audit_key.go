package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rolegate/rolegate/internal/audit"
)

// Options are Open's settings beyond the database path.
type Options struct {
	// AuditKeyFile is the file holding the key the audit log is sealed with; "" means
	// DefaultAuditKeyFile of the database path.
	AuditKeyFile string
	// AuditInspect opens a database whose audit log cannot be extended as it stands (sealed
	// the old unkeyed way, or keyed with another key than AuditKeyFile's, or with none at
	// hand) without refusing, re-keying it or creating a key file, so that `rolegate audit
	// verify` can report on it and `rolegate audit rekey` can key it. Until it is keyed every
	// write that records an audit entry fails.
	AuditInspect bool
}

// DefaultAuditKeyFile is where the audit key lives when no file is named: beside the database,
// the database's extension replaced by .audit-key (./data/rolegate.db → ./data/rolegate.audit-key),
// so each database has its own key and a copy of the database alone does not carry it.
func DefaultAuditKeyFile(dbPath string) string {
	return strings.TrimSuffix(dbPath, filepath.Ext(dbPath)) + ".audit-key"
}

// AuditKeyError says that the audit key file at hand cannot seal this database's audit log.
// Open refuses with it rather than start a second chain under another key, which would make
// the log unverifiable from that point on.
type AuditKeyError struct {
	File   string
	Reason string
}

func (e *AuditKeyError) Error() string {
	return fmt.Sprintf("the audit key file %s does not match this database's audit log: %s", e.File, e.Reason)
}

// UnkeyedChainError says that a log sealed the old unkeyed way is broken. Open does not key it
// on its own: sealing it with the key would vouch for entries nobody can vouch for.
type UnkeyedChainError struct {
	DB     string
	Broken *audit.TamperedError
}

func (e *UnkeyedChainError) Error() string {
	return fmt.Sprintf("the audit log of %s is sealed the old unkeyed way and entry %d does not match (%s), so it is not keyed "+
		"on its own: run `rolegate audit verify` and, if you accept the log as it is, `rolegate audit rekey --force`, which keys "+
		"it anyway and records entry %d in its rekey entry", e.DB, e.Broken.ID, e.Broken.Reason, e.Broken.ID)
}

func (e *UnkeyedChainError) Unwrap() error { return e.Broken }

// ErrAuditNotKeyed is returned when the log would be extended or checkpointed before it is
// keyed (a database opened with Options.AuditInspect).
var ErrAuditNotKeyed = errors.New("store: the audit log is not keyed yet; `rolegate audit rekey` keys it")

// ErrAuditKeyed is returned by RekeyAudit when the log is already keyed with the key file at
// hand: re-sealing it would only make every checkpoint taken so far useless.
var ErrAuditKeyed = errors.New("store: the audit log is already keyed with this key file; there is nothing to re-key")

// auditTriggers make the log append-only; they are the ones of migration 0004, re-created
// here because re-keying drops them for the length of its transaction.
var auditTriggers = []string{
	`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END`,
	`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END`,
}

// AuditKeyFile is the key file this store seals its audit log with, for messages that tell
// the operator which file to keep safe.
func (s *Store) AuditKeyFile() string { return s.auditKeyFile }

// AuditUnkeyed reports whether the log is still sealed the old unkeyed way; only a store
// opened with Options.AuditInspect can be, since Open re-keys such a log.
func (s *Store) AuditUnkeyed() bool {
	s.auditMu.RLock()
	defer s.auditMu.RUnlock()
	return s.auditUnkeyed
}

// auditKeyNow returns the key to seal with, or why there is none.
func (s *Store) auditKeyNow() ([]byte, error) {
	s.auditMu.RLock()
	defer s.auditMu.RUnlock()
	if s.auditKey != nil {
		return s.auditKey, nil
	}
	if s.auditProblem != nil {
		return nil, s.auditProblem
	}
	return nil, ErrAuditNotKeyed
}

// openAuditKey decides, in one write transaction so that two processes opening a new database
// agree, which key seals the log: the key file's when the database names it by fingerprint; a
// new (or already present) key for a database without entries; and for a log sealed the old
// unkeyed way, a new key it is re-keyed with once its old chain has been checked.
func (s *Store) openAuditKey(ctx context.Context, opt Options) error {
	s.auditKeyFile = opt.AuditKeyFile
	if s.auditKeyFile == "" {
		s.auditKeyFile = DefaultAuditKeyFile(s.path)
	}
	if filepath.Clean(s.auditKeyFile) == filepath.Clean(s.path) {
		return fmt.Errorf("store: the audit key file must be another file than the database %s", s.path)
	}
	var created bool
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		keyID, entries, err := auditKeyState(ctx, tx)
		if err != nil {
			return err
		}
		switch {
		case keyID != nil:
			key, err := readAuditKey(s.auditKeyFile)
			if errors.Is(err, fs.ErrNotExist) {
				err = &AuditKeyError{File: s.auditKeyFile, Reason: "the file does not exist: put the key file this database was " +
					"keyed with there, or name it with --audit-key-file (the log can only be checked and extended with that key)"}
			} else if err == nil && !hmac.Equal(audit.KeyID(key), keyID) {
				err = &AuditKeyError{File: s.auditKeyFile, Reason: fmt.Sprintf("it holds another key (fingerprint %x…, while "+
					"the log was sealed with %x…): name the right one with --audit-key-file", audit.KeyID(key)[:8], keyID[:8])}
			}
			if err != nil {
				if opt.AuditInspect {
					s.auditProblem = err
					return nil
				}
				return err
			}
			s.auditKey = key
			return nil
		case opt.AuditInspect:
			s.auditUnkeyed = true
			return nil
		case entries == 0:
			key, c, err := loadOrCreateAuditKey(s.auditKeyFile)
			created = c
			if err != nil {
				return err
			}
			s.auditKey = key
			return s.setAuditKeyID(ctx, tx, key)
		}
		// Entries sealed the old unkeyed way. A key file already there means either an old
		// backup restored beside a newer key, or someone who removed the log's key record so
		// that a log they rewrote would be re-keyed for them: an operator decides which.
		if _, err := os.Stat(s.auditKeyFile); err == nil {
			return &AuditKeyError{File: s.auditKeyFile, Reason: "the log is sealed the old unkeyed way, yet the key file " +
				"exists: either an old backup was restored beside a newer key, or the log's key record was removed to have " +
				"a rewritten log re-keyed. Run `rolegate audit verify` and, if you accept the log, `rolegate audit rekey`"}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: audit key file: %w", err)
		}
		s.auditUnkeyed = true
		key, c, err := loadOrCreateAuditKey(s.auditKeyFile)
		created = c
		if err != nil {
			return err
		}
		if _, err := s.rekeyTx(ctx, tx, key, false); err != nil {
			return err
		}
		s.auditKey, s.auditUnkeyed = key, false
		return nil
	})
	if err != nil && created {
		// Nothing was sealed with it; leaving it would later read as a key of this database.
		err = errors.Join(err, os.Remove(s.auditKeyFile))
	}
	return err
}

// auditKeyState returns the fingerprint of the key the log is sealed with (nil: not keyed)
// and how many entries the log has.
func auditKeyState(ctx context.Context, tx *sql.Tx) ([]byte, int64, error) {
	var keyID []byte
	err := tx.QueryRowContext(ctx, "SELECT key_id FROM audit_key WHERE id = 1").Scan(&keyID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("store: audit key: %w", err)
	}
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM audit_log").Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("store: audit entries: %w", err)
	}
	return keyID, n, nil
}

func (s *Store) setAuditKeyID(ctx context.Context, tx *sql.Tx, key []byte) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_key (id, key_id, keyed_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, keyed_at = excluded.keyed_at`, audit.KeyID(key), s.now().Unix())
	if err != nil {
		return fmt.Errorf("store: audit key: %w", err)
	}
	return nil
}

// readAuditKey reads the key file; a missing file is an error that matches fs.ErrNotExist.
func readAuditKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("store: audit key file: %w", err)
	}
	if len(b) != audit.KeySize {
		return nil, &AuditKeyError{File: path, Reason: fmt.Sprintf("it holds %d bytes, not a %d-byte audit key", len(b), audit.KeySize)}
	}
	return b, nil
}

// loadOrCreateAuditKey reads the key file, or creates it with a new random key; created says
// which, so a caller whose transaction fails can remove a key nothing was sealed with.
func loadOrCreateAuditKey(path string) (key []byte, created bool, err error) {
	key, err = readAuditKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key = make([]byte, audit.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("store: audit key: %w", err)
	}
	// O_EXCL: never overwrite a key, even one that appeared since it was found missing.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, privateMode)
	if err != nil {
		return nil, false, fmt.Errorf("store: create audit key file: %w", err)
	}
	_, err = f.Write(key)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return nil, false, errors.Join(fmt.Errorf("store: write audit key file %s: %w", path, err), os.Remove(path))
	}
	return key, true, nil
}

// syncDir makes a new file's directory entry durable: the database's fingerprint of a key is
// committed with synchronous=FULL, and a key file lost to a power cut would leave a log
// nobody can verify.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// Rekey is what RekeyAudit did, for the command to report.
type Rekey struct {
	Entries     int64 // entries re-sealed; the rekey entry that records it comes after them
	FirstBroken int64 // forced: the first entry that did not match the old chain (0: none)
	Missing     int64 // forced: entries already missing, now stand-ins (audit.EntryMissing)
	Unchecked   bool  // forced: the old chain could not be checked, its key was not at hand
	KeyCreated  bool  // the key file was created for it
}

// RekeyAudit seals the log with the key file (created if missing) when Open could not: a log
// sealed the old unkeyed way beside an existing key file; with force, also an old chain that
// is broken (its first broken entry is recorded) or a log whose key is lost (recorded as
// unchecked). Every entry is re-sealed in one transaction, which ends with an audit.Rekeyed
// entry. It refuses a log already keyed with the key file.
func (s *Store) RekeyAudit(ctx context.Context, force bool) (Rekey, error) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if s.auditKey != nil {
		return Rekey{}, ErrAuditKeyed
	}
	if !s.auditUnkeyed && !force {
		return Rekey{}, fmt.Errorf("%w. If that key is lost for good, `rolegate audit rekey --force` re-seals the log with this "+
			"key file; its entries can then no longer be checked against the old key, and the rekey entry says so", s.auditProblem)
	}
	key, created, err := loadOrCreateAuditKey(s.auditKeyFile)
	if err != nil {
		return Rekey{}, err
	}
	var r Rekey
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = s.rekeyTx(ctx, tx, key, force)
		return err
	})
	if err != nil {
		if created {
			err = errors.Join(err, os.Remove(s.auditKeyFile))
		}
		return Rekey{}, err
	}
	r.KeyCreated = created
	s.auditKey, s.auditUnkeyed, s.auditProblem = key, false, nil
	return r, nil
}

// rekeyBatch is how many entries re-keying holds in memory at once.
const rekeyBatch = 500

// rekeyTx re-seals every entry with key, in id order, inside tx. A log sealed the old unkeyed
// way is checked on the way: unless forced, its first broken entry stops the whole. The
// append-only triggers are dropped for the updates and re-created before the end, inside the
// same transaction, so after commit they exist whatever happened (even if a tamperer had
// dropped them). The rekey entry and the key's fingerprint are written last.
func (s *Store) rekeyTx(ctx context.Context, tx *sql.Tx, key []byte, force bool) (Rekey, error) {
	r := Rekey{Unchecked: !s.auditUnkeyed}
	oldKeyID, _, err := auditKeyState(ctx, tx)
	if err != nil {
		return r, err
	}
	for _, q := range []string{"DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete"} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return r, fmt.Errorf("store: rekey: %w", err)
		}
	}
	var check *audit.Verifier
	if s.auditUnkeyed {
		check = audit.NewUnkeyedVerifier()
	}
	var prev, oldHead []byte
	next, now := int64(1), s.now().Unix()
	for {
		batch, err := auditBatch(ctx, tx, next-1)
		if err != nil {
			return r, err
		}
		for _, e := range batch {
			if check != nil && r.FirstBroken == 0 {
				if err := check.Check(e); err != nil {
					var te *audit.TamperedError
					if !errors.As(err, &te) {
						return r, err
					}
					if !force {
						return r, &UnkeyedChainError{DB: s.path, Broken: te}
					}
					r.FirstBroken = te.ID
				}
			}
			for ; next < e.ID; next++ {
				m := audit.Entry{ID: next, At: now, Action: audit.EntryMissing, TargetType: "audit_log", TargetID: next,
					TargetName: fmt.Sprintf("entry %d", next), After: audit.JSON(map[string]string{"missing": "not in the log when it was re-keyed"})}
				if err := m.Seal(key, prev); err != nil {
					return r, err
				}
				if err := insertAudit(ctx, tx, m); err != nil {
					return r, err
				}
				prev = m.Hash
				r.Missing++
			}
			oldHead = e.Hash
			if err := e.Seal(key, prev); err != nil {
				return r, err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", linkOf(e), e.Hash, e.ID); err != nil {
				return r, fmt.Errorf("store: rekey entry %d: %w", e.ID, err)
			}
			prev, next = e.Hash, e.ID+1
			r.Entries++
		}
		if len(batch) < rekeyBatch {
			break
		}
	}
	for _, q := range auditTriggers {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return r, fmt.Errorf("store: rekey: %w", err)
		}
	}
	after := map[string]any{"entries": r.Entries, "key_id": hex.EncodeToString(audit.KeyID(key))}
	if r.Unchecked {
		after["previous_head"] = hex.EncodeToString(oldHead)
		after["previous_key_id"] = hex.EncodeToString(oldKeyID)
		after["unchecked"] = "the key the log was sealed with was not at hand"
	} else {
		after["unkeyed_head"] = hex.EncodeToString(oldHead)
	}
	if r.FirstBroken != 0 {
		after["first_broken_entry"] = r.FirstBroken
	}
	if r.Missing != 0 {
		after["missing_entries"] = r.Missing
	}
	if force {
		after["forced"] = true
	}
	if err := s.appendSealed(ctx, tx, key, audit.Entry{Action: audit.Rekeyed, TargetType: "audit_log", TargetName: "audit log",
		After: audit.JSON(after)}); err != nil {
		return r, err
	}
	return r, s.setAuditKeyID(ctx, tx, key)
}

// auditBatch returns up to rekeyBatch entries after id afterID, oldest first.
func auditBatch(ctx context.Context, tx *sql.Tx, afterID int64) ([]audit.Entry, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+auditColumns+" FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", afterID, rekeyBatch)
	if err != nil {
		return nil, fmt.Errorf("store: rekey: %w", err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("store: rekey: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditCheckpoint is the newest entry's number and MAC now. Kept outside the database, it lets
// `rolegate audit verify --checkpoint` show that nothing up to it was altered or removed.
func (s *Store) AuditCheckpoint(ctx context.Context) (audit.Checkpoint, error) {
	if _, err := s.auditKeyNow(); err != nil {
		return audit.Checkpoint{}, err
	}
	cp := audit.Checkpoint{At: s.now()}
	err := s.r.QueryRowContext(ctx, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").Scan(&cp.Entries, &cp.Head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return audit.Checkpoint{}, fmt.Errorf("store: audit checkpoint: %w", err)
	}
	return cp, nil
}
