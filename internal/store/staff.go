package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
)

// HeldRole is one role a person holds in one organisation.
type HeldRole struct {
	RoleID   int64
	RoleName string
	RoleCode string
	OrgID    int64
	OrgName  string
	Until    int64 // when it ends (Unix seconds; 0: never)
}

// StaffRow is one person in the staff list: someone with an account, or someone invited.
type StaffRow struct {
	UserID       int64 // 0 for an invitation
	InvitationID int64 // 0 for a person with an account
	Name         string
	Email        string
	Status       string // active, disabled or invited
	ExpiresAt    int64  // when an invitation's link stops working
	Roles        []HeldRole
}

// StaffQuery selects people for the staff list.
type StaffQuery struct {
	OrgIDs []int64 // people who are staff of (or hold a role in, or are invited to) any of these
	// Everyone lists every user in the portal (member visibility "No"); invitations are
	// still only those to OrgIDs.
	Everyone bool
	Q        string
	Status   string // "", "active", "disabled", "invited"
	Limit    int
	Offset   int
}

// CountCap is as far as the lists of people (staff, Select members) count their matches:
// past it they say "more than" (CountCap+1), so a page at 50,000 people never counts them
// all.
const CountCap = 1000

// ListStaff returns one page of people and pending invitations, by name, and how many match
// in all, up to CountCap (CountCap+1: more than that). Each part reads its rows in
// name order from an index and stops at the page's end; nothing sorts or counts every row.
func (s *Store) ListStaff(ctx context.Context, q StaffQuery) ([]StaffRow, int, error) {
	if len(q.OrgIDs) == 0 && !q.Everyone {
		return nil, 0, nil
	}
	in := placeholders(max(len(q.OrgIDs), 1))
	type part struct {
		sql  string
		args []any
	}
	var parts []part
	orgArgs := func(args []any) []any {
		if len(q.OrgIDs) == 0 {
			args = append(args, -1) // IN (?) with no organisation matches nothing
		}
		for _, id := range q.OrgIDs {
			args = append(args, id)
		}
		return args
	}
	if q.Status != "invited" {
		p := part{sql: `SELECT 0 AS kind, u.id, u.name, u.email, u.status, 0 AS expires_at FROM users u WHERE 1`}
		if q.Q != "" {
			p.sql += ` AND (u.name LIKE ? ESCAPE '\' OR u.email LIKE ? ESCAPE '\')`
			p.args = append(p.args, likePattern(q.Q), likePattern(q.Q))
		}
		if q.Status == "active" || q.Status == "disabled" {
			p.sql += " AND u.status = ?"
			p.args = append(p.args, q.Status)
		}
		if !q.Everyone {
			p.sql += ` AND (EXISTS (SELECT 1 FROM staff st WHERE st.user_id = u.id AND st.org_id IN (` + in + `))
			OR EXISTS (SELECT 1 FROM role_assignments a WHERE a.user_id = u.id AND a.org_id IN (` + in + `)))`
			p.args = orgArgs(orgArgs(p.args))
		}
		p.sql += " ORDER BY u.name COLLATE NOCASE, u.id"
		parts = append(parts, p)
	}
	if q.Status == "" || q.Status == "invited" {
		p := part{sql: `SELECT 1 AS kind, i.id, i.name, i.email, 'invited' AS status, i.expires_at FROM invitations i
			WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.org_id IN (` + in + `)`}
		p.args = orgArgs(p.args)
		if q.Q != "" {
			p.sql += ` AND (i.name LIKE ? ESCAPE '\' OR i.email LIKE ? ESCAPE '\')`
			p.args = append(p.args, likePattern(q.Q), likePattern(q.Q))
		}
		p.sql += " ORDER BY i.name COLLATE NOCASE, i.id"
		parts = append(parts, p)
	}
	if q.Limit <= 0 {
		q.Limit = 25
	}
	// Each part gives at most the rows up to the page's end, in order; the page is merged
	// from those, and each part is counted up to the cap.
	var page, count []string
	var pageArgs, countArgs []any
	for _, p := range parts {
		page = append(page, "SELECT * FROM ("+p.sql+" LIMIT ?)")
		pageArgs = append(append(pageArgs, p.args...), q.Offset+q.Limit)
		count = append(count, "(SELECT count(*) FROM ("+p.sql+" LIMIT ?))")
		countArgs = append(append(countArgs, p.args...), CountCap+1)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, id, name, email, status, expires_at FROM (`+strings.Join(page, " UNION ALL ")+`)
		ORDER BY name COLLATE NOCASE, kind, id LIMIT ? OFFSET ?`, append(pageArgs, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list staff: %w", err)
	}
	defer rows.Close()
	var out []StaffRow
	for rows.Next() {
		var r StaffRow
		var kind, id int64
		if err := rows.Scan(&kind, &id, &r.Name, &r.Email, &r.Status, &r.ExpiresAt); err != nil {
			return nil, 0, err
		}
		if kind == 0 {
			r.UserID = id
		} else {
			r.InvitationID = id
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	total := 0
	if err := s.r.QueryRowContext(ctx, "SELECT "+strings.Join(count, " + "), countArgs...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count staff: %w", err)
	}
	total = min(total, CountCap+1)
	if err := s.fillStaffRoles(ctx, out); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// fillStaffRoles adds the roles people hold, and the role each invitation offers.
func (s *Store) fillStaffRoles(ctx context.Context, out []StaffRow) error {
	var users, invs []any
	index := map[[2]int64]int{}
	for i, r := range out {
		if r.UserID != 0 {
			users = append(users, r.UserID)
			index[[2]int64{0, r.UserID}] = i
		} else {
			invs = append(invs, r.InvitationID)
			index[[2]int64{1, r.InvitationID}] = i
		}
	}
	if len(users) > 0 {
		held, err := s.heldRoles(ctx, "a.user_id IN ("+placeholders(len(users))+")", users...)
		if err != nil {
			return err
		}
		for uid, roles := range held {
			out[index[[2]int64{0, uid}]].Roles = roles
		}
	}
	if len(invs) == 0 {
		return nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT i.id, coalesce(r.id, 0), coalesce(r.name, ''), coalesce(r.code, ''), o.id, o.name
		FROM invitations i JOIN organisations o ON o.id = i.org_id LEFT JOIN roles r ON r.id = i.role_id
		WHERE i.id IN (`+placeholders(len(invs))+`)`, invs...)
	if err != nil {
		return fmt.Errorf("store: invitation roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var h HeldRole
		if err := rows.Scan(&id, &h.RoleID, &h.RoleName, &h.RoleCode, &h.OrgID, &h.OrgName); err != nil {
			return err
		}
		i := index[[2]int64{1, id}]
		out[i].Roles = append(out[i].Roles, h)
	}
	return rows.Err()
}

// heldRoles returns the roles held by the users the condition selects, by user.
func (s *Store) heldRoles(ctx context.Context, cond string, args ...any) (map[int64][]HeldRole, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.user_id, r.id, r.name, r.code, o.id, o.name, coalesce(a.until, 0)
		FROM role_assignments a JOIN roles r ON r.id = a.role_id JOIN organisations o ON o.id = a.org_id
		WHERE `+cond+` ORDER BY o.name, r.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: held roles: %w", err)
	}
	defer rows.Close()
	out := map[int64][]HeldRole{}
	for rows.Next() {
		var uid int64
		var h HeldRole
		if err := rows.Scan(&uid, &h.RoleID, &h.RoleName, &h.RoleCode, &h.OrgID, &h.OrgName, &h.Until); err != nil {
			return nil, err
		}
		out[uid] = append(out[uid], h)
	}
	return out, rows.Err()
}

// Override is a user-level override as the person page shows it.
type Override struct {
	OrgID   int64
	OrgName string
	Perm    string
	Effect  string // allow or deny
	SetBy   string
	SetAt   int64
	Until   int64 // when an allow ends (0: never)
}

// Person is everything the person page shows about someone.
type Person struct {
	User      User
	Orgs      []Organisation // staff of
	Roles     []HeldRole
	Overrides []Override
}

// Person loads one person.
func (s *Store) Person(ctx context.Context, userID int64) (Person, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return Person{}, err
	}
	p := Person{User: u}
	if p.Orgs, err = s.OrganisationsOf(ctx, userID); err != nil {
		return p, err
	}
	held, err := s.heldRoles(ctx, "a.user_id = ?", userID)
	if err != nil {
		return p, err
	}
	p.Roles = held[userID]
	rows, err := s.r.QueryContext(ctx, `SELECT ov.org_id, o.name, ov.perm, ov.effect, coalesce(u.name, ''), ov.set_at, coalesce(ov.until, 0)
		FROM user_overrides ov JOIN organisations o ON o.id = ov.org_id LEFT JOIN users u ON u.id = ov.set_by
		WHERE ov.user_id = ? ORDER BY o.name, ov.perm`, userID)
	if err != nil {
		return p, fmt.Errorf("store: overrides: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o Override
		if err := rows.Scan(&o.OrgID, &o.OrgName, &o.Perm, &o.Effect, &o.SetBy, &o.SetAt, &o.Until); err != nil {
			return p, err
		}
		p.Overrides = append(p.Overrides, o)
	}
	return p, rows.Err()
}

// AssignRole gives userID roleID in orgID; when replaceRoleID is not 0 that role is taken
// away in orgID in the same transaction ("move from Nurse to Staff").
func (s *Store) AssignRole(ctx context.Context, userID, roleID, orgID, replaceRoleID, actorID int64) error {
	return s.AssignRoleUntil(ctx, userID, roleID, orgID, replaceRoleID, actorID, 0)
}

// AssignRoleUntil is AssignRole with an end (Unix seconds; 0: none); giving a role someone
// holds there already sets its end.
func (s *Store) AssignRoleUntil(ctx context.Context, userID, roleID, orgID, replaceRoleID, actorID, until int64) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		if replaceRoleID != 0 {
			if err := s.removeAssignment(ctx, tx, actorID, userID, replaceRoleID, orgID); err != nil {
				return err
			}
		}
		return s.addAssignmentUntil(ctx, tx, actorID, userID, roleID, orgID, until)
	})
}

// UnassignRole takes roleID in orgID away from userID.
func (s *Store) UnassignRole(ctx context.Context, userID, roleID, orgID, actorID int64) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		return s.removeAssignment(ctx, tx, actorID, userID, roleID, orgID)
	})
}

// SetOverride sets a user-level override (effect "allow" or "deny"), or removes it ("inherit").
func (s *Store) SetOverride(ctx context.Context, userID, orgID int64, perm, effect string, actorID int64) error {
	return s.SetOverrideUntil(ctx, userID, orgID, perm, effect, actorID, 0)
}

// SetOverrideUntil is SetOverride with an end for an allow (Unix seconds; 0: none).
func (s *Store) SetOverrideUntil(ctx context.Context, userID, orgID int64, perm, effect string, actorID, until int64) error {
	if effect != "allow" {
		until = 0
	}
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		return s.setOverrideTx(ctx, tx, userID, orgID, perm, effect, actorID, until)
	})
}

// setOverrideTx sets (or, with "inherit", removes) an override through tx and records it;
// setting what is there already changes and records nothing.
func (s *Store) setOverrideTx(ctx context.Context, tx *sql.Tx, userID, orgID int64, perm, effect string, actorID, until int64) error {
	before := "inherit"
	var was sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT effect, until FROM user_overrides WHERE user_id = ? AND org_id = ? AND perm = ?", userID, orgID, perm).
		Scan(&before, &was); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: set override: %w", err)
	}
	if before == effect && was.Int64 == until {
		return nil // nothing changes, nothing to record
	}
	var err error
	if effect == "inherit" {
		_, err = tx.ExecContext(ctx, "DELETE FROM user_overrides WHERE user_id = ? AND org_id = ? AND perm = ?", userID, orgID, perm)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO user_overrides (user_id, org_id, perm, effect, set_by, set_at, until) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, org_id, perm) DO UPDATE SET effect = excluded.effect, set_by = excluded.set_by, set_at = excluded.set_at, until = excluded.until`,
			userID, orgID, perm, effect, nullID(actorID), s.now().Unix(), nullID(until))
	}
	if err != nil {
		return fmt.Errorf("store: set override: %w", err)
	}
	return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: orgID, Action: audit.OverrideSet, TargetType: "user",
		TargetID: userID, Before: audit.JSON(overrideState(perm, before, was.Int64)), After: audit.JSON(overrideState(perm, effect, until))})
}

// SetDisabled disables or enables a user; disabling ends every session of theirs at once.
// The account is the person's in every organisation, so the change is recorded once under
// each organisation of orgIDs (those the person belongs to), for each one's auditors.
func (s *Store) SetDisabled(ctx context.Context, userID int64, orgIDs []int64, disabled bool, actorID int64) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		status := "active"
		if disabled {
			status = "disabled"
		}
		res, err := tx.ExecContext(ctx, "UPDATE users SET status = ?, updated_at = ? WHERE id = ?", status, s.now().Unix(), userID)
		if err != nil {
			return fmt.Errorf("store: set status: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID); err != nil {
				return fmt.Errorf("store: end sessions: %w", err)
			}
		}
		action, before := audit.StaffEnabled, "disabled"
		if disabled {
			action, before = audit.StaffDisabled, "active"
		}
		return s.appendAuditIn(ctx, tx, orgIDs, audit.Entry{ActorID: actorID, Action: action, TargetType: "user", TargetID: userID,
			Before: audit.JSON(map[string]string{"status": before}), After: audit.JSON(map[string]string{"status": status})})
	})
}

// RemoveFromOrganisation ends userID's membership of the organisations orgIDs (an
// organisation and those below it): staff rows, role assignments and overrides there.
func (s *Store) RemoveFromOrganisation(ctx context.Context, userID int64, orgIDs []int64, actorID int64) error {
	if len(orgIDs) == 0 {
		return ErrNotFound
	}
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		args := []any{userID}
		for _, id := range orgIDs {
			args = append(args, id)
		}
		in := "(" + placeholders(len(orgIDs)) + ")"
		held, err := s.heldRolesTx(ctx, tx, userID, in, args[1:])
		if err != nil {
			return err
		}
		var total int64
		for _, table := range []string{"staff", "role_assignments", "user_overrides"} {
			// table comes from the fixed list above, never from input.
			res, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE user_id = ? AND org_id IN "+in, args...)
			if err != nil {
				return fmt.Errorf("store: remove from organisation: %w", err)
			}
			n, _ := res.RowsAffected()
			total += n
		}
		if total == 0 {
			return ErrNotFound
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: orgIDs[0], Action: audit.StaffRemoved, TargetType: "user", TargetID: userID,
			Before: audit.JSON(map[string]any{"roles": held}), After: nil})
	})
}

// heldRolesTx lists "Role in Organisation" for the roles userID holds in the organisations
// of the placeholder list in.
func (s *Store) heldRolesTx(ctx context.Context, tx *sql.Tx, userID int64, in string, orgs []any) ([]string, error) {
	out, err := queryStrings(ctx, tx, `SELECT r.name || ' in ' || o.name FROM role_assignments a JOIN roles r ON r.id = a.role_id
		JOIN organisations o ON o.id = a.org_id WHERE a.user_id = ? AND a.org_id IN `+in+` ORDER BY o.name, r.name`, append([]any{userID}, orgs...)...)
	if out == nil {
		out = []string{}
	}
	return out, err
}

// overrideState is how the audit log records an override: {"perm": "allow"}, with "until"
// when it ends.
func overrideState(perm, effect string, until int64) map[string]any {
	m := map[string]any{perm: effect}
	if until != 0 {
		m["until"] = until
	}
	return m
}

// ExpireEnded deletes the role assignments and overrides whose end has come (they already
// granted nothing from that second on), recording each as ended in the audit log, in one
// transaction: a grant is deleted once, so it is recorded once, whenever and however often
// this runs. It returns how many it ended.
func (s *Store) ExpireEnded(ctx context.Context) (int, error) {
	now := s.now().Unix()
	n := 0
	err := s.withAccessTx(ctx, func(tx *sql.Tx) error {
		n = 0
		type ended struct{ user, role, org, until int64 }
		var as []ended
		err := eachRow(ctx, tx, "SELECT user_id, role_id, org_id, until FROM role_assignments WHERE until IS NOT NULL AND until <= ?", []any{now}, func(r *sql.Rows) error {
			var e ended
			err := r.Scan(&e.user, &e.role, &e.org, &e.until)
			as = append(as, e)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: expire: %w", err)
		}
		for _, a := range as {
			if _, err := tx.ExecContext(ctx, "DELETE FROM role_assignments WHERE user_id = ? AND role_id = ? AND org_id = ?", a.user, a.role, a.org); err != nil {
				return fmt.Errorf("store: expire: %w", err)
			}
			if err := s.auditAssignmentUntil(ctx, tx, audit.AssignmentExpired, 0, a.user, a.role, a.org, a.until, 0); err != nil {
				return err
			}
		}
		var ovs []rbac.UserOverride
		err = eachRow(ctx, tx, "SELECT user_id, org_id, perm, effect, coalesce(set_by, 0), until FROM user_overrides WHERE until IS NOT NULL AND until <= ?", []any{now}, func(r *sql.Rows) error {
			o, err := scanOverride(r)
			ovs = append(ovs, o)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: expire: %w", err)
		}
		for _, o := range ovs {
			if _, err := tx.ExecContext(ctx, "DELETE FROM user_overrides WHERE user_id = ? AND org_id = ? AND perm = ?", o.UserID, o.OrgID, o.Perm); err != nil {
				return fmt.Errorf("store: expire: %w", err)
			}
			var name string
			if err := tx.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", o.UserID).Scan(&name); err != nil {
				return fmt.Errorf("store: expire: %w", err)
			}
			if err := s.appendAudit(ctx, tx, audit.Entry{OrgID: o.OrgID, Action: audit.OverrideExpired, TargetType: "user", TargetID: o.UserID,
				TargetName: name, Before: audit.JSON(overrideState(o.Perm, o.Effect.String(), o.Until))}); err != nil {
				return err
			}
		}
		uses, err := s.endTimedOut(ctx, tx, now)
		if err != nil {
			return err
		}
		n = len(as) + len(ovs) + uses
		if n == 0 {
			return errNothingExpired
		}
		return nil
	})
	if errors.Is(err, errNothingExpired) {
		return 0, nil
	}
	return n, err
}

// errNothingExpired rolls back a sweep that found nothing, so it moves no counter and logs
// no change.
var errNothingExpired = errors.New("store: nothing expired")

// Ending is a time-bound grant whose end is near, as the home page lists it.
type Ending struct {
	UserID   int64
	UserName string
	What     string // the role's name, or the permission key of an allow override
	Override bool
	OrgID    int64
	OrgName  string
	Until    int64
}

// EndingSoon lists the role assignments and allow overrides made in orgIDs that end after
// from and by to, soonest first, at most limit.
func (s *Store) EndingSoon(ctx context.Context, orgIDs []int64, from, to int64, limit int) ([]Ending, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	in := placeholders(len(orgIDs))
	args := []any{from, to}
	for _, id := range orgIDs {
		args = append(args, id)
	}
	all := append(append(append([]any{}, args...), args...), limit)
	var out []Ending
	err := eachRow(ctx, s.r, `SELECT * FROM (
		SELECT a.user_id, u.name, r.name, 0, a.org_id, o.name, a.until FROM role_assignments a
			JOIN users u ON u.id = a.user_id JOIN roles r ON r.id = a.role_id JOIN organisations o ON o.id = a.org_id
			WHERE a.until > ? AND a.until <= ? AND a.org_id IN (`+in+`)
		UNION ALL
		SELECT v.user_id, u.name, v.perm, 1, v.org_id, o.name, v.until FROM user_overrides v
			JOIN users u ON u.id = v.user_id JOIN organisations o ON o.id = v.org_id
			WHERE v.until > ? AND v.until <= ? AND v.org_id IN (`+in+`))
		ORDER BY 7, 2 LIMIT ?`, all, func(r *sql.Rows) error {
		var e Ending
		err := r.Scan(&e.UserID, &e.UserName, &e.What, &e.Override, &e.OrgID, &e.OrgName, &e.Until)
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: ending soon: %w", err)
	}
	return out, nil
}
