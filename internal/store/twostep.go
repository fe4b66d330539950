package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rolegate/rolegate/internal/audit"
)

// TwoStep is what a person has set up as the second step of signing in.
type TwoStep struct {
	TOTP         bool // an authenticator app, confirmed
	Passkeys     int  // passkeys and security keys registered
	RecoveryLeft int  // recovery codes not yet used
}

// On reports whether the person has any second step to pass.
func (t TwoStep) On() bool { return t.TOTP || t.Passkeys > 0 }

// ErrTwoStepOn refuses to start a new authenticator enrolment while one is confirmed: it is
// turned off first, with a code from it.
var ErrTwoStepOn = errors.New("store: two-step sign-in is already on")

// TwoStepOf reads what userID has set up.
func (s *Store) TwoStepOf(ctx context.Context, userID int64) (TwoStep, error) {
	var t TwoStep
	err := s.r.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = ? AND confirmed_at IS NOT NULL),
		(SELECT count(*) FROM passkeys WHERE user_id = ?),
		(SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL)`, userID, userID, userID).Scan(&t.TOTP, &t.Passkeys, &t.RecoveryLeft)
	if err != nil {
		return t, fmt.Errorf("store: two-step of %d: %w", userID, err)
	}
	return t, nil
}

// StartTOTP keeps secret as userID's pending authenticator enrolment, replacing an earlier
// pending one; ErrTwoStepOn when one is confirmed.
func (s *Store) StartTOTP(ctx context.Context, userID int64, secret string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO totp_secrets (user_id, secret, created_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
			WHERE totp_secrets.confirmed_at IS NULL`, userID, secret, s.now().Unix())
		if err != nil {
			return fmt.Errorf("store: start totp: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrTwoStepOn
		}
		return nil
	})
}

// TOTPSecret returns userID's authenticator secret: the confirmed one, or the pending one
// when confirmed is false. ErrNotFound when there is none such.
func (s *Store) TOTPSecret(ctx context.Context, userID int64, confirmed bool) (string, error) {
	var secret string
	err := s.r.QueryRowContext(ctx, "SELECT secret FROM totp_secrets WHERE user_id = ? AND (confirmed_at IS NOT NULL) = ?", userID, confirmed).Scan(&secret)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: totp secret: %w", err)
	}
	return secret, nil
}

// ConfirmTOTP turns userID's pending enrolment on, having taken a code of time step step,
// and replaces their recovery codes with these (SHA-256 of each), audited in the same
// transaction. ErrNotFound when nothing is pending (confirmed meanwhile, or never started).
func (s *Store) ConfirmTOTP(ctx context.Context, userID, step int64, recoveryHashes [][]byte) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, "UPDATE totp_secrets SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at IS NULL", now, step, userID)
		if err != nil {
			return fmt.Errorf("store: confirm totp: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if err := replaceRecoveryCodes(ctx, tx, userID, recoveryHashes, now); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{Action: audit.TwoStepEnrolled, TargetType: "user", TargetID: userID,
			After: audit.JSON(map[string]int{"recovery_codes": len(recoveryHashes)})})
	})
}

func replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64, hashes [][]byte, now int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("store: recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)", userID, h, now); err != nil {
			return fmt.Errorf("store: recovery code: %w", err)
		}
	}
	return nil
}

// UseTOTPStep records that userID's code of time step step was taken, and reports false
// when that step, or a later one, was taken before: a code works once, even when two
// requests bring it at the same moment.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, "UPDATE totp_secrets SET last_step = ? WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?", step, userID, step)
	if err != nil {
		return false, fmt.Errorf("store: use totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseRecoveryCode spends userID's unused recovery code whose SHA-256 is hash, audited with
// how many remain. ok is false when there is no such unused code.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (remaining int, ok bool, err error) {
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL", s.now().Unix(), userID, hash)
		if err != nil {
			return fmt.Errorf("store: use recovery code: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ok = true
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", userID).Scan(&remaining); err != nil {
			return fmt.Errorf("store: recovery codes left: %w", err)
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: userID, Action: audit.RecoveryCodeUsed, TargetType: "user", TargetID: userID,
			After: audit.JSON(map[string]int{"remaining": remaining})})
	})
	return remaining, ok, err
}

// RenewRecoveryCodes replaces userID's recovery codes (SHA-256 of each), audited.
func (s *Store) RenewRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if err := replaceRecoveryCodes(ctx, tx, userID, hashes, s.now().Unix()); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{Action: audit.RecoveryCodesRenewed, TargetType: "user", TargetID: userID})
	})
}

// RemoveTwoStep turns off userID's authenticator app, audited under each of orgIDs (the
// person's organisations, whose auditors should know). With passkeys (an admin resetting a
// lost second step) their passkeys go too. The recovery codes go once nothing is left that
// they stand in for. Nothing set up is nothing to do. Whoever acts is the context's actor:
// the person, or an admin resetting it.
func (s *Store) RemoveTwoStep(ctx context.Context, userID int64, orgIDs []int64, passkeys bool) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM totp_secrets WHERE user_id = ? AND confirmed_at IS NOT NULL", userID)
		if err != nil {
			return fmt.Errorf("store: remove totp: %w", err)
		}
		n, _ := res.RowsAffected()
		after := map[string]int{}
		if passkeys {
			res, err := tx.ExecContext(ctx, "DELETE FROM passkeys WHERE user_id = ?", userID)
			if err != nil {
				return fmt.Errorf("store: remove passkeys: %w", err)
			}
			k, _ := res.RowsAffected()
			if k > 0 {
				after["passkeys_removed"] = int(k)
			}
			n += k
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?)", userID, userID); err != nil {
			return fmt.Errorf("store: remove recovery codes: %w", err)
		}
		if err := bump(ctx, tx, countSessions); err != nil { // their sessions' caches reload
			return err
		}
		e := audit.Entry{Action: audit.TwoStepRemoved, TargetType: "user", TargetID: userID}
		if len(after) > 0 {
			e.After = audit.JSON(after)
		}
		return s.appendAuditIn(ctx, tx, orgIDs, e)
	})
}

// AuditTwoStepFailed records a wrong code typed at the second step for userID.
func (s *Store) AuditTwoStepFailed(ctx context.Context, userID int64, client string) error {
	return s.Audit(ctx, audit.Entry{Action: audit.TwoStepFailed, TargetType: "user", TargetID: userID, Client: client})
}
