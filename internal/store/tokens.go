package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
)

// Token is an API token as stored: never the token itself, only its hash and a prefix to
// recognise it by.
type Token struct {
	ID          int64
	Name        string
	Prefix      string
	OrgID       int64
	OrgName     string
	CreatedBy   int64
	CreatorName string
	Scopes      []string
	CreatedAt   int64
	ExpiresAt   int64 // 0: never
	LastUsedAt  int64 // 0: never used
	RevokedAt   int64 // 0: live
}

// NewToken is what creating a token writes.
type NewToken struct {
	Name      string
	Hash      []byte
	Prefix    string
	OrgID     int64
	CreatedBy int64
	Scopes    []string
	ExpiresAt int64
}

const tokenSelect = `SELECT t.id, t.name, t.prefix, t.org_id, o.name, t.created_by, u.name, t.scopes, t.created_at,
	coalesce(t.expires_at, 0), coalesce(t.last_used_at, 0), coalesce(t.revoked_at, 0)
	FROM api_tokens t JOIN organisations o ON o.id = t.org_id JOIN users u ON u.id = t.created_by`

func scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var scopes string
	err := row.Scan(&t.ID, &t.Name, &t.Prefix, &t.OrgID, &t.OrgName, &t.CreatedBy, &t.CreatorName, &scopes, &t.CreatedAt,
		&t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	t.Scopes = strings.Split(scopes, ",")
	return t, err
}

// CreateToken stores a new token and records it in the audit log, in one transaction.
func (s *Store) CreateToken(ctx context.Context, in NewToken) (int64, error) {
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (name, token_hash, prefix, org_id, created_by, scopes, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, in.Name, in.Hash, in.Prefix, in.OrgID, in.CreatedBy, strings.Join(in.Scopes, ","),
			s.now().Unix(), nullID(in.ExpiresAt))
		if err != nil {
			return fmt.Errorf("store: create token: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if err := bump(ctx, tx, countTokens); err != nil {
			return err
		}
		after := map[string]string{"scopes": strings.Join(in.Scopes, ","), "prefix": in.Prefix}
		if in.ExpiresAt != 0 {
			after["expires"] = time.Unix(in.ExpiresAt, 0).UTC().Format(time.DateOnly)
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: in.CreatedBy, OrgID: in.OrgID, Action: audit.TokenCreated,
			TargetType: "token", TargetID: id, TargetName: in.Name, After: audit.JSON(after)})
	})
	return id, err
}

// TokenByHash finds the token with that hash, live or not (the caller decides).
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, tokenSelect+" WHERE t.token_hash = ?", hash))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("store: token: %w", err)
	}
	return t, err
}

// LiveTokens returns every token not revoked, by the hash of its secret, and the tokens
// counter they were read at (with access: the organisations tokens belong to go with it).
func (s *Store) LiveTokens(ctx context.Context) (map[string]Token, Versions, error) {
	out := map[string]Token{}
	var v Versions
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, v, fmt.Errorf("store: live tokens: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, versionsQuery).Scan(&v.Access, &v.Tokens, &v.Apps, &v.Sessions, &v.Settings); err != nil {
		return nil, v, fmt.Errorf("store: live tokens: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT t.token_hash, "+strings.TrimPrefix(tokenSelect, "SELECT ")+" WHERE t.revoked_at IS NULL")
	if err != nil {
		return nil, v, fmt.Errorf("store: live tokens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var hash []byte
		t, err := scanToken(prefixed{rows, &hash})
		if err != nil {
			return nil, v, fmt.Errorf("store: live tokens: %w", err)
		}
		out[string(hash)] = t
	}
	return out, v, rows.Err()
}

// prefixed scans one leading column into first, then the rest as the wrapped scanner would.
type prefixed struct {
	rows  *sql.Rows
	first any
}

func (p prefixed) Scan(dest ...any) error { return p.rows.Scan(append([]any{p.first}, dest...)...) }

// TokenByID finds one token.
func (s *Store) TokenByID(ctx context.Context, id int64) (Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, tokenSelect+" WHERE t.id = ?", id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("store: token %d: %w", id, err)
	}
	return t, err
}

// ListTokens returns the tokens of these organisations (nil: all), newest first.
func (s *Store) ListTokens(ctx context.Context, orgIDs []int64) ([]Token, error) {
	q, args := tokenSelect, []any{}
	if orgIDs != nil {
		q += " WHERE t.org_id IN (" + placeholders(max(len(orgIDs), 1)) + ")"
		if len(orgIDs) == 0 {
			args = append(args, -1)
		}
		for _, id := range orgIDs {
			args = append(args, id)
		}
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY t.id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken ends a token for good, audited; revoking one already revoked changes nothing.
func (s *Store) RevokeToken(ctx context.Context, id, actorID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var name string
		var orgID int64
		err := tx.QueryRowContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING name, org_id",
			s.now().Unix(), id).Scan(&name, &orgID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		if err := bump(ctx, tx, countTokens); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: orgID, Action: audit.TokenRevoked,
			TargetType: "token", TargetID: id, TargetName: name})
	})
}

// TouchToken records a token's last use. Callers coalesce: this is not a write per request.
func (s *Store) TouchToken(ctx context.Context, id, at int64) error {
	if _, err := s.w.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", at, id); err != nil {
		return fmt.Errorf("store: touch token: %w", err)
	}
	return nil
}
