package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rolegate/rolegate/internal/audit"
)

// appendAudit adds e to the log inside tx, the transaction of the change it records, so a
// rolled-back change leaves no entry and a committed one always has its entry. Names (of the
// actor, a person targeted, the organisation) are looked up now when not given; the actor
// defaults to the one the context carries. A log that is not keyed (see Options.AuditInspect)
// takes no entry, so the change it would record fails too.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, e audit.Entry) error {
	key, err := s.auditKeyNow()
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return s.appendSealed(ctx, tx, key, e)
}

// appendSealed is appendAudit with the key given, for re-keying, which seals its own entry
// with the new key before the store holds it.
func (s *Store) appendSealed(ctx context.Context, tx *sql.Tx, key []byte, e audit.Entry) error {
	actor := audit.ActorFrom(ctx)
	if e.ActorID == 0 {
		e.ActorID = actor.UserID
	}
	if e.Client == "" {
		e.Client = actor.Client
	}
	if e.ActorID != 0 && e.ActorName == "" {
		if err := tx.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", e.ActorID).Scan(&e.ActorName); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: audit actor: %w", err)
		}
		if actor.Via != "" && e.ActorID == actor.UserID {
			e.ActorName += " via token " + actor.Via
		}
	}
	if e.TargetType == "user" && e.TargetID != 0 && e.TargetName == "" {
		// A person is named as they are called now; the entry keeps that name for good.
		if err := tx.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", e.TargetID).Scan(&e.TargetName); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: audit target: %w", err)
		}
	}
	if e.OrgID != 0 && e.OrgName == "" {
		if err := tx.QueryRowContext(ctx, "SELECT name FROM organisations WHERE id = ?", e.OrgID).Scan(&e.OrgName); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: audit organisation: %w", err)
		}
	}
	var prev []byte
	var lastID int64
	err := tx.QueryRowContext(ctx, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").Scan(&lastID, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: audit chain: %w", err)
	}
	e.ID, e.At = lastID+1, s.now().Unix()
	if err := e.Seal(key, prev); err != nil {
		return err
	}
	return insertAudit(ctx, tx, e)
}

// insertAudit writes a sealed entry as it is.
func insertAudit(ctx context.Context, tx *sql.Tx, e audit.Entry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor_id, actor_name, org_id, org_name, action, target_type, target_id,
		target_name, before_json, after_json, client, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.At, nullID(e.ActorID), e.ActorName, nullID(e.OrgID), e.OrgName, e.Action, e.TargetType, e.TargetID, e.TargetName,
		rawOrNull(e.Before), rawOrNull(e.After), e.Client, linkOf(e), e.Hash)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// linkOf is the entry's link to the previous one as stored: the column is NOT NULL, and the
// first entry links to nothing, an empty value.
func linkOf(e audit.Entry) []byte {
	if e.PrevHash == nil {
		return []byte{}
	}
	return e.PrevHash
}

func rawOrNull(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

// appendAuditIn writes e once for each organisation of orgIDs (once, about no organisation,
// when there is none), so that each organisation's auditors see a change that reached it.
func (s *Store) appendAuditIn(ctx context.Context, tx *sql.Tx, orgIDs []int64, e audit.Entry) error {
	if len(orgIDs) == 0 {
		return s.appendAudit(ctx, tx, e)
	}
	for _, o := range orgIDs {
		e.OrgID, e.OrgName = o, ""
		if err := s.appendAudit(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// Audit records an event that changes nothing else: a sign-in, a failed sign-in, a denied
// request.
func (s *Store) Audit(ctx context.Context, e audit.Entry) error {
	return s.withTx(ctx, func(tx *sql.Tx) error { return s.appendAudit(ctx, tx, e) })
}

// AuditQuery selects entries for the audit page and its exports.
type AuditQuery struct {
	ActorID    int64
	PersonID   int64   // entries by or about this person
	RoleID     int64   // entries about this role, its holders included
	OrgIDs     []int64 // entries about any of these organisations (nil: every entry)
	Action     string
	From, To   int64 // Unix seconds, inclusive; 0 for open
	TargetType string
	TargetID   int64
	BeforeID   int64 // keyset paging: entries older than this id
	AfterID    int64 // keyset paging the other way (the API): entries newer than this id
	Limit      int
	// ChangesOnly leaves out sign-ins, sign-outs and refused requests: what changed access.
	ChangesOnly bool
	// NewestFirst makes EachAudit go newest first, as the audit page lists entries (the
	// exports keep the page's order); ListAudit always does.
	NewestFirst bool
}

func (q AuditQuery) where() (string, []any) {
	w := " WHERE 1"
	var args []any
	if q.ActorID != 0 {
		w += " AND actor_id = ?"
		args = append(args, q.ActorID)
	}
	if q.PersonID != 0 {
		w += " AND (actor_id = ? OR (target_type = 'user' AND target_id = ?))"
		args = append(args, q.PersonID, q.PersonID)
	}
	if q.RoleID != 0 {
		w += ` AND ((target_type = 'role' AND target_id = ?) OR (action IN ('assignment.add', 'assignment.remove')
			AND json_extract(coalesce(after_json, before_json), '$.role_id') = ?))`
		args = append(args, q.RoleID, q.RoleID)
	}
	if q.OrgIDs != nil {
		w += " AND org_id IN (" + placeholders(max(len(q.OrgIDs), 1)) + ")"
		if len(q.OrgIDs) == 0 {
			args = append(args, -1)
		}
		for _, id := range q.OrgIDs {
			args = append(args, id)
		}
	}
	if q.Action != "" {
		w += " AND action = ?"
		args = append(args, q.Action)
	}
	if q.ChangesOnly {
		w += " AND action NOT LIKE 'auth.%' AND action <> ?"
		args = append(args, audit.Denied)
	}
	if q.From != 0 {
		w += " AND at >= ?"
		args = append(args, q.From)
	}
	if q.To != 0 {
		w += " AND at <= ?"
		args = append(args, q.To)
	}
	if q.TargetType != "" {
		w += " AND target_type = ? AND target_id = ?"
		args = append(args, q.TargetType, q.TargetID)
	}
	if q.AfterID != 0 {
		w += " AND id > ?"
		args = append(args, q.AfterID)
	}
	if q.BeforeID != 0 {
		w += " AND id < ?"
		args = append(args, q.BeforeID)
	}
	return w, args
}

const auditColumns = `id, at, coalesce(actor_id, 0), actor_name, coalesce(org_id, 0), org_name, action, target_type, target_id, target_name,
	coalesce(before_json, ''), coalesce(after_json, ''), client, prev_hash, hash`

func scanAudit(rows *sql.Rows) (audit.Entry, error) {
	var e audit.Entry
	var before, after string
	err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.OrgID, &e.OrgName, &e.Action, &e.TargetType, &e.TargetID, &e.TargetName,
		&before, &after, &e.Client, &e.PrevHash, &e.Hash)
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return e, err
}

// ListAudit returns entries matching q, newest first.
func (s *Store) ListAudit(ctx context.Context, q AuditQuery) ([]audit.Entry, error) {
	w, args := q.where()
	if q.Limit <= 0 {
		q.Limit = 50
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+auditColumns+" FROM audit_log"+w+" ORDER BY id DESC LIMIT ?", append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EachAudit calls fn for every entry matching q, oldest first (verification), or newest first
// with q.NewestFirst (exports).
func (s *Store) EachAudit(ctx context.Context, q AuditQuery, fn func(audit.Entry) error) error {
	w, args := q.where()
	order := " ORDER BY id"
	if q.NewestFirst {
		order = " ORDER BY id DESC"
	}
	if q.Limit > 0 {
		order += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+auditColumns+" FROM audit_log"+w+order, args...)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// VerifyAudit checks the whole chain with the audit key and, for each checkpoint given, that
// the entry it names is there with exactly its MAC, so nothing up to it was altered or removed.
// It returns how many entries were checked and a *audit.TamperedError naming the first entry
// that does not match, or a *audit.TruncatedError when the log ends before a checkpoint. A log
// still sealed the old unkeyed way (AuditUnkeyed) is checked by the old recipe, which only
// shows clumsy edits: anyone can reseal such a chain.
func (s *Store) VerifyAudit(ctx context.Context, checkpoints ...audit.Checkpoint) (int, error) {
	var v *audit.Verifier
	if key, err := s.auditKeyNow(); err == nil {
		v = audit.NewVerifier(key)
	} else if s.AuditUnkeyed() {
		if len(checkpoints) > 0 {
			return 0, errors.New("store: checkpoints hold MACs of a keyed log, and this log is not keyed yet")
		}
		v = audit.NewUnkeyedVerifier()
	} else {
		return 0, err
	}
	v.Expect(checkpoints...)
	err := s.EachAudit(ctx, AuditQuery{}, v.Check)
	if err == nil {
		err = v.Finish()
	}
	return v.Count(), err
}
