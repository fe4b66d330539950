package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
)

// LoadAccess reads every fact the permission rule needs, in one read transaction so the
// snapshot built from it is consistent.
func (s *Store) LoadAccess(ctx context.Context) (rbac.Data, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rbac.Data{}, fmt.Errorf("store: load access: %w", err)
	}
	defer tx.Rollback()
	return loadAccess(ctx, tx)
}

// loadAccess reads the access facts through tx (a read transaction, or a write transaction
// to see what it is about to commit).
func loadAccess(ctx context.Context, tx *sql.Tx) (rbac.Data, error) {
	var d rbac.Data
	var err error
	each := func(query string, scan func(*sql.Rows) error) error { return eachRow(ctx, tx, query, nil, scan) }
	// The counter first, in the same read: the data is at least as new as the number says.
	if err := tx.QueryRowContext(ctx, "SELECT access FROM versions WHERE id = 1").Scan(&d.Version); err != nil {
		return d, err
	}
	orgs, err := loadOrgs(ctx, tx)
	d.Orgs, d.OrgDefaults = orgs.Orgs, orgs.OrgDefaults
	if err == nil {
		err = each("SELECT id, name, email, global_admin, status = 'disabled' FROM users", func(r *sql.Rows) error {
			var u rbac.User
			err := r.Scan(&u.ID, &u.Name, &u.Email, &u.GlobalAdmin, &u.Disabled)
			d.Users = append(d.Users, u)
			return err
		})
	}
	if err == nil {
		byID := map[int64]int{}
		err = each("SELECT id, org_id, code, name, active, system FROM roles ORDER BY id", func(r *sql.Rows) error {
			var ro rbac.Role
			err := r.Scan(&ro.ID, &ro.OrgID, &ro.Code, &ro.Name, &ro.Active, &ro.System)
			byID[ro.ID] = len(d.Roles)
			d.Roles = append(d.Roles, ro)
			return err
		})
		if err == nil {
			err = each("SELECT role_id, perm FROM role_permissions", func(r *sql.Rows) error {
				var id int64
				var p string
				if err := r.Scan(&id, &p); err != nil {
					return err
				}
				if i, ok := byID[id]; ok {
					d.Roles[i].Permissions = append(d.Roles[i].Permissions, p)
				}
				return nil
			})
		}
	}
	if err == nil {
		err = each("SELECT user_id, role_id, org_id, coalesce(until, 0) FROM role_assignments", func(r *sql.Rows) error {
			var a rbac.Assignment
			err := r.Scan(&a.UserID, &a.RoleID, &a.OrgID, &a.Until)
			d.Assignments = append(d.Assignments, a)
			return err
		})
	}
	if err == nil {
		err = each("SELECT user_id, org_id FROM staff", func(r *sql.Rows) error {
			var m rbac.Membership
			err := r.Scan(&m.UserID, &m.OrgID)
			d.Members = append(d.Members, m)
			return err
		})
	}
	if err == nil {
		err = each("SELECT user_id, org_id, perm, effect, coalesce(set_by, 0), coalesce(until, 0) FROM user_overrides", func(r *sql.Rows) error {
			o, err := scanOverride(r)
			d.UserOverrides = append(d.UserOverrides, o)
			return err
		})
	}
	if err == nil {
		err = each(`SELECT DISTINCT accepted_by, invited_by FROM invitations
			WHERE accepted_at IS NOT NULL AND accepted_by IS NOT NULL AND invited_by IS NOT NULL`, func(r *sql.Rows) error {
			var inv rbac.Invited
			err := r.Scan(&inv.UserID, &inv.InviterID)
			d.Invitations = append(d.Invitations, inv)
			return err
		})
	}
	if err == nil {
		err = each("SELECT id, user_id, org_id, perms, ends_at FROM emergency_uses WHERE ended_at IS NULL", func(r *sql.Rows) error {
			e, err := scanEmergency(r)
			d.Emergencies = append(d.Emergencies, e)
			return err
		})
	}
	if err != nil {
		return d, fmt.Errorf("store: load access: %w", err)
	}
	return d, nil
}

// scanEmergency reads a row of id, user_id, org_id, perms, ends_at.
func scanEmergency(r *sql.Rows) (rbac.Emergency, error) {
	var e rbac.Emergency
	var perms string
	err := r.Scan(&e.ID, &e.UserID, &e.OrgID, &perms, &e.Until)
	e.Perms = strings.Fields(perms)
	return e, err
}

// loadOrgs reads every organisation and every organisation default.
func loadOrgs(ctx context.Context, tx *sql.Tx) (rbac.Data, error) {
	var d rbac.Data
	err := eachRow(ctx, tx, "SELECT id, coalesce(parent_id, 0), name, role_mode = 'one', limit_visibility, two_step, sso_required FROM organisations", nil, func(r *sql.Rows) error {
		var o rbac.Org
		err := r.Scan(&o.ID, &o.ParentID, &o.Name, &o.OneRole, &o.LimitVisibility, &o.TwoStep, &o.SSORequired)
		d.Orgs = append(d.Orgs, o)
		return err
	})
	if err == nil {
		err = eachRow(ctx, tx, "SELECT org_id, perm, effect FROM org_defaults", nil, func(r *sql.Rows) error {
			var o rbac.OrgDefault
			var effect string
			if err := r.Scan(&o.OrgID, &o.Perm, &effect); err != nil {
				return err
			}
			e, perr := rbac.ParseEffect(effect)
			if perr != nil {
				return fmt.Errorf("default of organisation %d: %w", o.OrgID, perr)
			}
			o.Effect = e
			d.OrgDefaults = append(d.OrgDefaults, o)
			return nil
		})
	}
	return d, err
}

// scanOverride reads a row of user_id, org_id, perm, effect, set_by, until.
func scanOverride(r *sql.Rows) (rbac.UserOverride, error) {
	var o rbac.UserOverride
	var effect string
	if err := r.Scan(&o.UserID, &o.OrgID, &o.Perm, &effect, &o.SetBy, &o.Until); err != nil {
		return o, err
	}
	// A value the schema's CHECK should make impossible is a broken database, not an
	// "inherit" to skip quietly.
	e, err := rbac.ParseEffect(effect)
	if err != nil {
		return o, fmt.Errorf("override of user %d in %d: %w", o.UserID, o.OrgID, err)
	}
	o.Effect = e
	return o, nil
}

// Candidate is a person who may be picked as a holder of a role.
type Candidate struct {
	UserID int64
	Name   string
	Email  string
	Holds  bool // holds the role already
}

// placeholders returns "?, ?, ?" for n values; only ever counts, never data, go into SQL.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Scope is whose people a query may return: every user in the portal, or the staff of the
// organisations OrgIDs. Member visibility (PRODUCT.md §2.6) is decided by the caller and
// enforced here, in the query, never by filtering a page afterwards.
type Scope struct {
	Everyone bool
	OrgIDs   []int64
}

// MemberCandidates returns one page of the people in scope (and those who hold the role
// already), matching q by name or email, with whether each holds roleID; and how many match,
// up to CountCap (CountCap+1: more than that). Those who hold it come first, then everyone
// by name: each of the two is read in order up to the page's end, never sorted or counted
// whole.
func (s *Store) MemberCandidates(ctx context.Context, roleID int64, scope Scope, q string, limit, offset int) ([]Candidate, int, error) {
	orgIDs := scope.OrgIDs
	if len(orgIDs) == 0 && !scope.Everyone {
		return nil, 0, nil
	}
	// The text filter comes first so the membership lookups run only for matching people.
	var args []any
	where := " WHERE 1"
	if q != "" {
		where += ` AND (u.name LIKE ? ESCAPE '\' OR u.email LIKE ? ESCAPE '\')`
		args = append(args, likePattern(q), likePattern(q))
	}
	holds := "u.id IN (SELECT a.user_id FROM role_assignments a WHERE a.role_id = ?)"
	holders := "SELECT u.id, u.name, u.email, 1 AS holds FROM users u" + where + " AND " + holds + " ORDER BY u.name COLLATE NOCASE, u.id"
	holderArgs := append(slices.Clone(args), roleID)
	others := "SELECT u.id, u.name, u.email, 0 AS holds FROM users u" + where + " AND NOT " + holds
	otherArgs := append(slices.Clone(args), roleID)
	if !scope.Everyone {
		others += ` AND EXISTS (SELECT 1 FROM staff s WHERE s.user_id = u.id AND s.org_id IN (` + placeholders(len(orgIDs)) + `))`
		for _, id := range orgIDs {
			otherArgs = append(otherArgs, id)
		}
	}
	others += " ORDER BY u.name COLLATE NOCASE, u.id"
	end := offset + limit
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, email, holds FROM (
		SELECT * FROM (`+holders+` LIMIT ?) UNION ALL SELECT * FROM (`+others+` LIMIT ?))
		ORDER BY holds DESC, name COLLATE NOCASE, id LIMIT ? OFFSET ?`,
		slices.Concat(holderArgs, []any{end}, otherArgs, []any{end, limit, offset})...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: candidates: %w", err)
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		if err := rows.Scan(&c.UserID, &c.Name, &c.Email, &c.Holds); err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	total := 0
	if err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM (`+holders+` LIMIT ?)) + (SELECT count(*) FROM (`+others+` LIMIT ?))`,
		slices.Concat(holderArgs, []any{CountCap + 1}, otherArgs, []any{CountCap + 1})...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count candidates: %w", err)
	}
	return out, min(total, CountCap+1), nil
}

// SetRoleHolders adds and removes holders of a role in one transaction. Additions are made in
// orgID (the role's organisation); in an organisation with one role per person they move the
// person from the role they held there. Removals end every assignment of the role to that
// person.
func (s *Store) SetRoleHolders(ctx context.Context, roleID, orgID int64, add, remove []int64, actorID int64) error {
	return s.SetRoleHoldersUntil(ctx, roleID, orgID, add, remove, actorID, 0)
}

// SetRoleHoldersUntil is SetRoleHolders with an end for those added (0: none).
func (s *Store) SetRoleHoldersUntil(ctx context.Context, roleID, orgID int64, add, remove []int64, actorID, until int64) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		for _, u := range add {
			if err := s.giveRole(ctx, tx, actorID, u, roleID, orgID, until); err != nil {
				return err
			}
		}
		for _, u := range remove {
			orgs, err := queryInts(ctx, tx, "SELECT org_id FROM role_assignments WHERE user_id = ? AND role_id = ?", u, roleID)
			if err != nil {
				return err
			}
			for _, o := range orgs {
				if err := s.removeAssignment(ctx, tx, actorID, u, roleID, o); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// auditedAssignment is what the audit log records of one role held in one organisation.
type auditedAssignment struct {
	RoleID int64  `json:"role_id"`
	Role   string `json:"role"`
	OrgID  int64  `json:"org_id"`
	Org    string `json:"org"`
	Until  int64  `json:"until,omitempty"`
}

func (s *Store) auditAssignment(ctx context.Context, tx *sql.Tx, action string, actorID, userID, roleID, orgID int64) error {
	return s.auditAssignmentUntil(ctx, tx, action, actorID, userID, roleID, orgID, 0, 0)
}

// auditAssignmentUntil records an assignment given, taken, changed or ended; was and until
// are its end before and after (0: none).
func (s *Store) auditAssignmentUntil(ctx context.Context, tx *sql.Tx, action string, actorID, userID, roleID, orgID, was, until int64) error {
	a := auditedAssignment{RoleID: roleID, OrgID: orgID}
	var user string
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT name FROM users WHERE id = ?), coalesce((SELECT name FROM roles WHERE id = ?), ''),
		(SELECT name FROM organisations WHERE id = ?)`, userID, roleID, orgID).Scan(&user, &a.Role, &a.Org); err != nil {
		return fmt.Errorf("store: audit assignment: %w", err)
	}
	e := audit.Entry{ActorID: actorID, OrgID: orgID, Action: action, TargetType: "user", TargetID: userID, TargetName: user}
	switch action {
	case audit.AssignmentAdded:
		a.Until = until
		e.After = audit.JSON(a)
	case audit.AssignmentChanged:
		b := a
		b.Until, a.Until = was, until
		e.Before, e.After = audit.JSON(b), audit.JSON(a)
	default:
		a.Until = was
		e.Before = audit.JSON(a)
	}
	return s.appendAudit(ctx, tx, e)
}

// addAssignmentUntil gives userID roleID in orgID until an end (0: none), and records it.
// Someone who holds the role there already keeps it with the new end (extended, shortened or
// made permanent). In an organisation with one role per person it refuses a second role
// (ErrOneRole).
func (s *Store) addAssignmentUntil(ctx context.Context, tx *sql.Tx, actorID, userID, roleID, orgID, until int64) error {
	var was sql.NullInt64
	err := tx.QueryRowContext(ctx, "SELECT until FROM role_assignments WHERE user_id = ? AND role_id = ? AND org_id = ?", userID, roleID, orgID).Scan(&was)
	switch {
	case err == nil:
		if was.Int64 == until {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE role_assignments SET until = ? WHERE user_id = ? AND role_id = ? AND org_id = ?",
			nullID(until), userID, roleID, orgID); err != nil {
			return fmt.Errorf("store: assign role: %w", err)
		}
		return s.auditAssignmentUntil(ctx, tx, audit.AssignmentChanged, actorID, userID, roleID, orgID, was.Int64, until)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: assign role: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO role_assignments (user_id, role_id, org_id, created_by, created_at, until)
		VALUES (?, ?, ?, ?, ?, ?)`, userID, roleID, orgID, nullID(actorID), s.now().Unix(), nullID(until)); err != nil {
		return fmt.Errorf("store: assign role: %w", err)
	}
	var others int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM role_assignments a JOIN organisations o ON o.id = a.org_id
		WHERE a.user_id = ? AND a.org_id = ? AND a.role_id <> ? AND o.role_mode = 'one'`, userID, orgID, roleID).Scan(&others); err != nil {
		return fmt.Errorf("store: assign role: %w", err)
	}
	if others > 0 {
		return ErrOneRole
	}
	return s.auditAssignmentUntil(ctx, tx, audit.AssignmentAdded, actorID, userID, roleID, orgID, 0, until)
}

// giveRole gives userID roleID in orgID following the organisation's role mode: with one role
// per person, the role they held there is taken away first (a move, recorded as a removal
// and an addition); otherwise it is added beside their others.
func (s *Store) giveRole(ctx context.Context, tx *sql.Tx, actorID, userID, roleID, orgID, until int64) error {
	others, err := queryInts(ctx, tx, `SELECT a.role_id FROM role_assignments a JOIN organisations o ON o.id = a.org_id
		WHERE a.user_id = ? AND a.org_id = ? AND a.role_id <> ? AND o.role_mode = 'one'`, userID, orgID, roleID)
	if err != nil {
		return err
	}
	for _, r := range others {
		if err := s.removeAssignment(ctx, tx, actorID, userID, r, orgID); err != nil {
			return err
		}
	}
	return s.addAssignmentUntil(ctx, tx, actorID, userID, roleID, orgID, until)
}

// removeAssignment takes roleID in orgID from userID (if held) and records it; it reports
// whether anything was removed.
func (s *Store) removeAssignment(ctx context.Context, tx *sql.Tx, actorID, userID, roleID, orgID int64) error {
	res, err := tx.ExecContext(ctx, "DELETE FROM role_assignments WHERE user_id = ? AND role_id = ? AND org_id = ?", userID, roleID, orgID)
	if err != nil {
		return fmt.Errorf("store: remove role: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return s.auditAssignment(ctx, tx, audit.AssignmentRemoved, actorID, userID, roleID, orgID)
}
