package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rolegate/rolegate/internal/audit"
)

// ErrPasskeyTaken refuses to register a credential a second time (for anyone).
var ErrPasskeyTaken = errors.New("store: that passkey is registered already")

// Passkey is one passkey or security key a person registered (WebAuthn).
type Passkey struct {
	ID           int64
	UserID       int64
	Name         string // the person's own name for it ("Work laptop", "YubiKey on my keys")
	CredentialID []byte // the authenticator's id for it
	Credential   []byte // the WebAuthn library's record of it, as JSON
	CreatedAt    int64
	LastUsedAt   int64 // 0: never used to sign in
}

const passkeyColumns = "id, user_id, name, credential_id, credential, created_at, last_used_at"

func scanPasskey(row interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var cred string
	err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.CredentialID, &cred, &p.CreatedAt, &p.LastUsedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Passkey{}, ErrNotFound
	}
	p.Credential = []byte(cred)
	return p, err
}

// Passkeys lists userID's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID int64) ([]Passkey, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE user_id = ? ORDER BY created_at, id", userID)
	if err != nil {
		return nil, fmt.Errorf("store: passkeys of %d: %w", userID, err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: passkeys of %d: %w", userID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyByCredentialID finds the passkey an authenticator calls credID; ErrNotFound when
// nobody registered it (or it was removed).
func (s *Store) PasskeyByCredentialID(ctx context.Context, credID []byte) (Passkey, error) {
	p, err := scanPasskey(s.r.QueryRowContext(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE credential_id = ?", credID))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Passkey{}, fmt.Errorf("store: passkey: %w", err)
	}
	return p, err
}

// AddPasskey registers p for p.UserID, audited. recoveryHashes, when not nil, become the
// person's recovery codes if this is their first second step (decided here, in the
// transaction: of two first passkeys added at once, only one sets the codes); codes says
// whether they did. ErrPasskeyTaken when that credential is registered already.
func (s *Store) AddPasskey(ctx context.Context, p Passkey, recoveryHashes [][]byte) (_ Passkey, codes bool, err error) {
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		codes = false
		if recoveryHashes != nil {
			var first bool
			if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?)
				AND NOT EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = ? AND confirmed_at IS NOT NULL)`, p.UserID, p.UserID).Scan(&first); err != nil {
				return fmt.Errorf("store: add passkey: %w", err)
			}
			if !first {
				recoveryHashes = nil
			}
		}
		p.CreatedAt = s.now().Unix()
		res, err := tx.ExecContext(ctx, "INSERT INTO passkeys (user_id, name, credential_id, credential, created_at) VALUES (?, ?, ?, ?, ?)",
			p.UserID, p.Name, p.CredentialID, string(p.Credential), p.CreatedAt)
		if isConstraint(err) {
			return ErrPasskeyTaken
		}
		if err != nil {
			return fmt.Errorf("store: add passkey: %w", err)
		}
		if p.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		after := map[string]any{"name": p.Name}
		if recoveryHashes != nil {
			if err := replaceRecoveryCodes(ctx, tx, p.UserID, recoveryHashes, p.CreatedAt); err != nil {
				return err
			}
			after["recovery_codes"] = len(recoveryHashes)
			codes = true
		}
		return s.appendAudit(ctx, tx, audit.Entry{Action: audit.PasskeyAdded, TargetType: "user", TargetID: p.UserID, After: audit.JSON(after)})
	})
	return p, codes, err
}

// UsePasskey keeps what a sign-in with passkey id taught about it (its signature counter,
// its flags) and when it was used.
func (s *Store) UsePasskey(ctx context.Context, id int64, credential []byte) error {
	if _, err := s.w.ExecContext(ctx, "UPDATE passkeys SET credential = ?, last_used_at = ? WHERE id = ?", string(credential), s.now().Unix(), id); err != nil {
		return fmt.Errorf("store: use passkey: %w", err)
	}
	return nil
}

// RemovePasskey removes userID's passkey id, audited under orgIDs (the person's
// organisations). When it was their last second step, the recovery codes go with it: they
// were the way back to a second step that no longer exists. ErrNotFound when userID has no
// such passkey.
func (s *Store) RemovePasskey(ctx context.Context, userID, id int64, orgIDs []int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, "DELETE FROM passkeys WHERE id = ? AND user_id = ? RETURNING name", id, userID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: remove passkey: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?
			AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?)
			AND NOT EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = ? AND confirmed_at IS NOT NULL)`, userID, userID, userID); err != nil {
			return fmt.Errorf("store: recovery codes: %w", err)
		}
		if err := bump(ctx, tx, countSessions); err != nil {
			return err
		}
		return s.appendAuditIn(ctx, tx, orgIDs, audit.Entry{Action: audit.PasskeyRemoved, TargetType: "user", TargetID: userID,
			Before: audit.JSON(map[string]string{"name": name})})
	})
}

// UseChallenge records that the WebAuthn challenge whose SHA-256 is hash was answered, to be
// remembered until expires (Unix seconds); false when it was answered before. Two requests
// bringing the same answer at once: one gets true.
func (s *Store) UseChallenge(ctx context.Context, hash []byte, expires int64) (bool, error) {
	var fresh bool
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM passkey_challenges_used WHERE expires_at < ?", s.now().Unix()); err != nil {
			return fmt.Errorf("store: forget challenges: %w", err)
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO passkey_challenges_used (challenge_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING", hash, expires)
		if err != nil {
			return fmt.Errorf("store: use challenge: %w", err)
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	return fresh, err
}
