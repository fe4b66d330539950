package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/rolegate/rolegate/internal/audit"
)

// Session is one signed-in browser of a user.
type Session struct {
	ID         int64
	UserID     int64
	CreatedAt  int64
	LastSeenAt int64
	ExpiresAt  int64 // absolute end, whatever the activity
	UserAgent  string
	ClientIP   string
	// AMR is how it was signed in: "pwd", or "pwd otp" after the second step.
	AMR string
	// SecondStepAt is when it last passed the second step (0: never).
	SecondStepAt int64
}

// Ways a session was signed in (OpenID Connect's amr values, space-separated).
const (
	AMRPassword = "pwd"
	AMRTwoStep  = "pwd otp"
	AMRSSO      = "sso"     // the practice's identity provider, which asked for a password
	AMRSSOMFA   = "sso mfa" // … and said it asked for more
	// AMRPasswordPasskey is a password, then a passkey as the second step.
	AMRPasswordPasskey = "pwd hwk"
	// AMRPasskey is a passkey alone, which verified the person itself (their fingerprint,
	// face or PIN on the device): two factors in one gesture.
	AMRPasskey = "hwk mfa"
)

// The second steps a session can pass, as amr values.
const (
	MethodCode    = "otp" // an authenticator app's code, or a recovery code
	MethodPasskey = "hwk" // a passkey or security key
)

// SecondStep reports whether the session passed the second step of signing in: ours, or the
// identity provider's.
func (s Session) SecondStep() bool {
	for _, m := range strings.Fields(s.AMR) {
		if m == MethodCode || m == MethodPasskey || m == "mfa" {
			return true
		}
	}
	return false
}

const sessionColumns = "id, user_id, created_at, last_seen_at, expires_at, user_agent, client_ip, amr, second_step_at"

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var s Session
	err := row.Scan(&s.ID, &s.UserID, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.UserAgent, &s.ClientIP, &s.AMR, &s.SecondStepAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	return s, err
}

// CreateSession records a new session under the hash of its token. When replaceID is not 0
// that session is deleted in the same transaction, which is how sign-in rotates the id.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, sess Session, replaceID int64) (Session, error) {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if replaceID != 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id = ?", replaceID); err != nil {
				return fmt.Errorf("store: replace session: %w", err)
			}
			if err := bump(ctx, tx, countSessions); err != nil {
				return err
			}
		}
		if sess.AMR == "" {
			sess.AMR = AMRPassword
		}
		if sess.SecondStep() {
			sess.SecondStepAt = sess.CreatedAt
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, client_ip, amr, second_step_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tokenHash, sess.UserID, sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt, sess.UserAgent, sess.ClientIP,
			sess.AMR, sess.SecondStepAt)
		if err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
		if sess.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: sess.UserID, Action: audit.SignIn, TargetType: "user", TargetID: sess.UserID,
			Client: sess.ClientIP, After: audit.JSON(map[string]string{"user_agent": sess.UserAgent, "amr": sess.AMR})})
	})
	return sess, err
}

// MarkSecondStep records that session id passed the second step now by method (MethodCode,
// MethodPasskey): two-step sign-in was set up in it, or it was asked again before a
// dangerous action. A session that had not passed one yet says so in its amr from now on.
// It moves the sessions counter, so every cache of it reloads.
func (s *Store) MarkSecondStep(ctx context.Context, id int64, method string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET second_step_at = ?,
			amr = CASE WHEN amr IN (?, ?) THEN amr || ' ' || ? ELSE amr END WHERE id = ?`,
			s.now().Unix(), AMRPassword, AMRSSO, method, id); err != nil {
			return fmt.Errorf("store: mark second step: %w", err)
		}
		return bump(ctx, tx, countSessions)
	})
}

// SecondStepSetUp records that userID set up a second step in session sessionID (which so
// passed it, by method) and signs out their other sessions that never passed one: signed
// in before it existed, they would otherwise go on as if it did not. Audited under orgIDs
// when any ended; it moves the sessions counter, so every cache of them reloads.
func (s *Store) SecondStepSetUp(ctx context.Context, userID, sessionID int64, method string, orgIDs []int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET second_step_at = ?,
			amr = CASE WHEN amr IN (?, ?) THEN amr || ' ' || ? ELSE amr END WHERE id = ? AND user_id = ?`,
			s.now().Unix(), AMRPassword, AMRSSO, method, sessionID, userID); err != nil {
			return fmt.Errorf("store: second step set up: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?
			AND ' ' || amr || ' ' NOT LIKE '% otp %' AND ' ' || amr || ' ' NOT LIKE '% hwk %' AND ' ' || amr || ' ' NOT LIKE '% mfa %'`, userID, sessionID)
		if err != nil {
			return fmt.Errorf("store: end sessions without a second step: %w", err)
		}
		if err := bump(ctx, tx, countSessions); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return s.appendAuditIn(ctx, tx, orgIDs, audit.Entry{ActorID: userID, Action: audit.SessionsEnded, TargetType: "user", TargetID: userID,
				Before: audit.JSON(map[string]int64{"sessions": n})})
		}
		return nil
	})
}

// SessionByTokenHash finds the session with that token hash.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash []byte) (Session, error) {
	sess, err := scanSession(s.r.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE token_hash = ?", tokenHash))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	return sess, err
}

// TouchSession moves a session's last activity forward (the idle timeout counts from it).
func (s *Store) TouchSession(ctx context.Context, id, at int64) error {
	if _, err := s.w.ExecContext(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?", at, id, at); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session. Deleting one that is already gone is not an error: the
// outcome the caller wants holds.
func (s *Store) DeleteSession(ctx context.Context, id int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, "DELETE FROM sessions WHERE id = ? RETURNING user_id", id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: delete session: %w", err)
		}
		if err := bump(ctx, tx, countSessions); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{Action: audit.SignOut, TargetType: "user", TargetID: userID})
	})
}

// DeleteUserSession ends one session of a user; ErrNotFound when that user has no such
// session, so nobody can end another person's session by guessing ids.
func (s *Store) DeleteUserSession(ctx context.Context, userID, id int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id = ? AND user_id = ?", id, userID)
		if err != nil {
			return fmt.Errorf("store: delete session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if err := bump(ctx, tx, countSessions); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{Action: audit.SessionsEnded, TargetType: "user", TargetID: userID,
			Before: audit.JSON(map[string]int64{"session": id})})
	})
}

// DeleteUserSessions ends every session of a user ("sign out everywhere"), recorded once
// under each organisation of orgIDs (those the person belongs to).
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, orgIDs []int64, actorID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID)
		if err != nil {
			return fmt.Errorf("store: delete sessions: %w", err)
		}
		n, _ := res.RowsAffected()
		if err := bump(ctx, tx, countSessions); err != nil {
			return err
		}
		return s.appendAuditIn(ctx, tx, orgIDs, audit.Entry{ActorID: actorID, Action: audit.SessionsEnded, TargetType: "user", TargetID: userID,
			Before: audit.JSON(map[string]int64{"sessions": n})})
	})
}

// UserSessions lists a user's sessions, most recently active first.
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]Session, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC, id DESC", userID)
	if err != nil {
		return nil, fmt.Errorf("store: sessions of %d: %w", userID, err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: sessions of %d: %w", userID, err)
		}
		out = append(out, sess)
	}
	return out, rows.Err()
}

// DeleteExpiredSessions removes sessions past their absolute end or idle since before idleCutoff.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleCutoff int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?", now, idleCutoff)
		if err != nil {
			return fmt.Errorf("store: delete expired sessions: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return bump(ctx, tx, countSessions)
	})
}

// Secret returns the named random secret, generating and saving size bytes on first use.
// Cookie keys live here so that restarts keep people signed in without a key in the code.
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	var v []byte
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT value FROM secrets WHERE name = ?", name).Scan(&v)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v = make([]byte, size)
		if _, err := rand.Read(v); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)", name, v, s.now().Unix())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return v, nil
}

// Setting returns the value of a setting, or def when it was never set. Settings are read
// on every request (the session timeouts, the time zone), so the whole table is kept in
// memory and re-read only when the settings counter has moved.
func (s *Store) Setting(ctx context.Context, key, def string) (string, error) {
	v, err := s.Versions(ctx)
	if err != nil {
		return "", err
	}
	c := s.settings.Load()
	if c == nil || c.version < v.Settings {
		if c, err = s.loadSettings(ctx); err != nil {
			return "", err
		}
		// A request's counters may be older than what loadSettings read: keep the newer.
		if old := s.settings.Load(); old == nil || old.version <= c.version {
			s.settings.Store(c)
		}
	}
	if val, ok := c.values[key]; ok {
		return val, nil
	}
	return def, nil
}

// settingsCache is the settings table as read at one settings counter.
type settingsCache struct {
	version int64
	values  map[string]string
}

func (s *Store) loadSettings(ctx context.Context) (*settingsCache, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store: settings: %w", err)
	}
	defer tx.Rollback()
	c := &settingsCache{values: map[string]string{}}
	if err := tx.QueryRowContext(ctx, "SELECT settings FROM versions WHERE id = 1").Scan(&c.version); err != nil {
		return nil, fmt.Errorf("store: settings: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT key, value FROM settings")
	if err != nil {
		return nil, fmt.Errorf("store: settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, val string
		if err := rows.Scan(&k, &val); err != nil {
			return nil, fmt.Errorf("store: settings: %w", err)
		}
		c.values[k] = val
	}
	return c, rows.Err()
}

// SetSetting saves the value of a setting; the audit entry names the actor the context carries.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	return s.SetSettingBy(ctx, key, value, 0)
}

// SetSettingBy saves the value of a setting, changed by actorID (0: the context's actor), with
// its settings.change entry in the same transaction; an unchanged value records nothing.
func (s *Store) SetSettingBy(ctx context.Context, key, value string, actorID int64) error {
	// Dropped whatever happens: the rest of this request reads the table afresh.
	defer s.settings.Store(nil)
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var before *string
		if err := tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&before); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: set setting %s: %w", key, err)
		}
		if before != nil && *before == value {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
			return fmt.Errorf("store: set setting %s: %w", key, err)
		}
		if err := bump(ctx, tx, countSettings); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, Action: audit.SettingChanged, TargetType: "setting", TargetName: key,
			Before: audit.JSON(map[string]*string{key: before}), After: audit.JSON(map[string]string{key: value})})
	})
}
