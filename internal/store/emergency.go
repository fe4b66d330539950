package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/rolegate/rolegate/internal/audit"
)

// EmergencySettings is whether an organisation offers emergency access, what may be taken
// and for how long at most (PRODUCT.md §2.11).
type EmergencySettings struct {
	OrgID      int64
	Enabled    bool
	Perms      []string
	MaxMinutes int
}

// DefaultEmergencyMinutes is the longest use an organisation allows until it says otherwise.
const DefaultEmergencyMinutes = 240

// EmergencySettingsOf reads an organisation's settings (off, nothing, 4 h when never set).
func (s *Store) EmergencySettingsOf(ctx context.Context, orgID int64) (EmergencySettings, error) {
	set := EmergencySettings{OrgID: orgID, MaxMinutes: DefaultEmergencyMinutes}
	err := s.r.QueryRowContext(ctx, "SELECT enabled, max_minutes FROM emergency_settings WHERE org_id = ?", orgID).Scan(&set.Enabled, &set.MaxMinutes)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return set, fmt.Errorf("store: emergency settings: %w", err)
	}
	set.Perms, err = queryStrings(ctx, s.r, "SELECT perm FROM emergency_permissions WHERE org_id = ? ORDER BY perm", orgID)
	return set, err
}

// SetEmergencySettings replaces an organisation's settings, recording before and after.
func (s *Store) SetEmergencySettings(ctx context.Context, set EmergencySettings, actorID int64) error {
	before, err := s.EmergencySettingsOf(ctx, set.OrgID)
	if err != nil {
		return err
	}
	return s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO emergency_settings (org_id, enabled, max_minutes, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET enabled = excluded.enabled, max_minutes = excluded.max_minutes, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			set.OrgID, set.Enabled, set.MaxMinutes, nullID(actorID), s.now().Unix()); err != nil {
			return fmt.Errorf("store: emergency settings: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM emergency_permissions WHERE org_id = ?", set.OrgID); err != nil {
			return fmt.Errorf("store: emergency settings: %w", err)
		}
		for _, p := range set.Perms {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO emergency_permissions (org_id, perm) VALUES (?, ?)", set.OrgID, p); err != nil {
				return fmt.Errorf("store: emergency settings: %w", err)
			}
		}
		state := func(e EmergencySettings) map[string]any {
			return map[string]any{"enabled": e.Enabled, "permissions": e.Perms, "max_minutes": e.MaxMinutes}
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: set.OrgID, Action: audit.EmergencySettings, TargetType: "organisation",
			TargetID: set.OrgID, Before: audit.JSON(state(before)), After: audit.JSON(state(set))})
	})
}

// EmergencyUse is one use of emergency access, with the names pages show.
type EmergencyUse struct {
	ID           int64
	UserID       int64
	UserName     string
	OrgID        int64
	OrgName      string
	Perms        []string
	Reason       string
	StartedAt    int64
	EndsAt       int64
	EndedAt      int64 // 0 while it lasts
	EndedByName  string
	Decision     string // "", "justified" or "not_justified"
	Note         string
	ReviewedName string
	ReviewedAt   int64
}

// StartEmergency records a use and grants it in the same transaction (the permission
// snapshot reads open uses), with the reason in the audit log.
// One open use per person and organisation (ErrEmergencyOpen while one lasts); a use whose
// time is up but not yet swept is closed first, recorded as ended by its time.
func (s *Store) StartEmergency(ctx context.Context, userID, orgID int64, perms []string, reason string, endsAt int64) (int64, error) {
	var id int64
	err := s.withAccessTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		if _, err := s.endTimedOut(ctx, tx, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO emergency_uses (user_id, org_id, perms, reason, started_at, ends_at) VALUES (?, ?, ?, ?, ?, ?)`,
			userID, orgID, strings.Join(perms, " "), reason, now, endsAt)
		if isConstraint(err) {
			return ErrEmergencyOpen
		}
		if err != nil {
			return fmt.Errorf("store: start emergency: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.auditEmergency(ctx, tx, audit.EmergencyStarted, userID, id, nil, map[string]any{"permissions": perms, "reason": reason, "until": endsAt})
	})
	return id, err
}

// ErrEmergencyOpen refuses a second use in an organisation while one lasts.
var ErrEmergencyOpen = errors.New("store: emergency access is already open there")

// ErrEmergencyOver refuses ending or reviewing a use in the wrong state: ending one that
// ended already, reviewing one reviewed already.
var ErrEmergencyOver = errors.New("store: that emergency access is over or was reviewed already")

// EndEmergency ends a use now, by actorID.
func (s *Store) EndEmergency(ctx context.Context, id, actorID int64) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, "UPDATE emergency_uses SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL AND ends_at > ?", now, nullID(actorID), id, now)
		if err != nil {
			return fmt.Errorf("store: end emergency: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrEmergencyOver
		}
		return s.auditEmergency(ctx, tx, audit.EmergencyEnded, actorID, id, nil, map[string]any{"ended_at": now})
	})
}

// ReviewEmergency records the review of a use: "justified" or "not_justified", with a note.
func (s *Store) ReviewEmergency(ctx context.Context, id, actorID int64, decision, note string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE emergency_uses SET decision = ?, note = ?, reviewed_by = ?, reviewed_at = ? WHERE id = ? AND decision IS NULL",
			decision, note, nullID(actorID), s.now().Unix(), id)
		if err != nil {
			return fmt.Errorf("store: review emergency: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrEmergencyOver
		}
		return s.auditEmergency(ctx, tx, audit.EmergencyReviewed, actorID, id, nil, map[string]any{"decision": decision, "note": note})
	})
}

// auditEmergency records an entry about use id, naming the person who used it.
func (s *Store) auditEmergency(ctx context.Context, tx *sql.Tx, action string, actorID, id int64, before, after any) error {
	var userID, orgID int64
	var name, reason string
	if err := tx.QueryRowContext(ctx, `SELECT e.user_id, e.org_id, u.name, e.reason FROM emergency_uses e JOIN users u ON u.id = e.user_id WHERE e.id = ?`, id).
		Scan(&userID, &orgID, &name, &reason); err != nil {
		return fmt.Errorf("store: audit emergency: %w", err)
	}
	if m, ok := after.(map[string]any); ok && action != audit.EmergencyStarted {
		m["use"], m["reason"] = id, reason
	}
	return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: orgID, Action: action, TargetType: "user", TargetID: userID,
		TargetName: name, Before: audit.JSON(before), After: audit.JSON(after)})
}

const emergencySelect = `SELECT e.id, e.user_id, u.name, e.org_id, o.name, e.perms, e.reason, e.started_at, e.ends_at, coalesce(e.ended_at, 0),
	coalesce(eb.name, ''), coalesce(e.decision, ''), coalesce(e.note, ''), coalesce(rb.name, ''), coalesce(e.reviewed_at, 0)
	FROM emergency_uses e JOIN users u ON u.id = e.user_id JOIN organisations o ON o.id = e.org_id
	LEFT JOIN users eb ON eb.id = e.ended_by LEFT JOIN users rb ON rb.id = e.reviewed_by`

func scanEmergencyUse(r interface{ Scan(...any) error }) (EmergencyUse, error) {
	var e EmergencyUse
	var perms string
	err := r.Scan(&e.ID, &e.UserID, &e.UserName, &e.OrgID, &e.OrgName, &perms, &e.Reason, &e.StartedAt, &e.EndsAt, &e.EndedAt,
		&e.EndedByName, &e.Decision, &e.Note, &e.ReviewedName, &e.ReviewedAt)
	e.Perms = strings.Fields(perms)
	return e, err
}

// EmergencyUseByID loads one use.
func (s *Store) EmergencyUseByID(ctx context.Context, id int64) (EmergencyUse, error) {
	e, err := scanEmergencyUse(s.r.QueryRowContext(ctx, emergencySelect+" WHERE e.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, err
}

// EmergencyUses lists the uses in orgIDs, unreviewed first, then newest first; with
// unreviewed, only those.
func (s *Store) EmergencyUses(ctx context.Context, orgIDs []int64, unreviewed bool, limit int) ([]EmergencyUse, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(orgIDs)+1)
	for _, id := range orgIDs {
		args = append(args, id)
	}
	where := " WHERE e.org_id IN (" + placeholders(len(orgIDs)) + ")"
	if unreviewed {
		where += " AND e.decision IS NULL"
	}
	var out []EmergencyUse
	err := eachRow(ctx, s.r, emergencySelect+where+" ORDER BY e.decision IS NOT NULL, e.id DESC LIMIT ?", append(args, limit), func(r *sql.Rows) error {
		e, err := scanEmergencyUse(r)
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: emergency uses: %w", err)
	}
	return out, nil
}

// endTimedOut closes, through tx, the uses whose time is up, each recorded once as ended by
// its time (they granted nothing from their end on already). It returns how many.
func (s *Store) endTimedOut(ctx context.Context, tx *sql.Tx, now int64) (int, error) {
	ids, err := queryInts(ctx, tx, "SELECT id FROM emergency_uses WHERE ended_at IS NULL AND ends_at <= ?", now)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, "UPDATE emergency_uses SET ended_at = ends_at WHERE id = ?", id); err != nil {
			return 0, fmt.Errorf("store: end emergency: %w", err)
		}
		var ends int64
		if err := tx.QueryRowContext(ctx, "SELECT ends_at FROM emergency_uses WHERE id = ?", id).Scan(&ends); err != nil {
			return 0, err
		}
		if err := s.auditEmergency(ctx, tx, audit.EmergencyEnded, 0, id, nil, map[string]any{"ended_at": ends, "by_time": true}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
