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

// ErrCodeTaken is returned when another role of the organisation has the code.
var ErrCodeTaken = errors.New("store: role code already used in this organisation")

// ErrSystemRole is returned when asked to change or delete a system role.
var ErrSystemRole = errors.New("store: system roles cannot be changed")

// StaleError refuses an update based on an old version of a role: someone saved in between.
type StaleError struct {
	ByName string // who saved the newer version ("" if unknown)
	At     int64  // when, unix seconds
}

func (e *StaleError) Error() string {
	return "store: role changed by " + e.ByName + " since it was loaded"
}

// HasMembersError refuses to delete a role people still hold.
type HasMembersError struct{ N int }

func (e *HasMembersError) Error() string { return fmt.Sprintf("store: %d users hold this role", e.N) }

// RoleRow is a role as lists and forms show it.
type RoleRow struct {
	ID            int64
	OrgID         int64
	OrgName       string
	Code          string
	Name          string
	Description   string
	Active        bool
	System        bool
	Members       int
	CreatedByName string // "" for system roles
	CreatedAt     int64
	UpdatedByName string
	UpdatedAt     int64
	Version       int64
	Permissions   []string // filled by Role, not by ListRoles
}

// RoleQuery selects roles for the roles list.
type RoleQuery struct {
	OrgID  int64
	Q      string // matches name or code
	Kind   string // "", "system", "custom"
	Status string // "", "active", "inactive"
	Limit  int
	Offset int
	// Members: count each listed role's holders (the roles list shows them; the grid and the
	// pickers do not, and a role held by thousands costs a scan of its holders).
	Members bool
}

// RoleInput is what a create or update writes.
type RoleInput struct {
	OrgID       int64
	Code        string // create only: never changes afterwards
	Name        string
	Description string
	Active      bool
	Permissions []string
	ActorID     int64
}

const roleSelect = `SELECT r.id, r.org_id, o.name, r.code, r.name, r.description, r.active, r.system,
	r.holders,
	coalesce(cu.name, ''), r.created_at, coalesce(uu.name, ''), r.updated_at, r.version
	FROM roles r JOIN organisations o ON o.id = r.org_id
	LEFT JOIN users cu ON cu.id = r.created_by LEFT JOIN users uu ON uu.id = r.updated_by`

// roleListSelect is roleSelect without the holders' count (0), for lists that do not show it.
const roleListSelect = `SELECT r.id, r.org_id, o.name, r.code, r.name, r.description, r.active, r.system, 0,
	coalesce(cu.name, ''), r.created_at, coalesce(uu.name, ''), r.updated_at, r.version
	FROM roles r JOIN organisations o ON o.id = r.org_id
	LEFT JOIN users cu ON cu.id = r.created_by LEFT JOIN users uu ON uu.id = r.updated_by`

func scanRole(row interface{ Scan(...any) error }) (RoleRow, error) {
	var r RoleRow
	err := row.Scan(&r.ID, &r.OrgID, &r.OrgName, &r.Code, &r.Name, &r.Description, &r.Active, &r.System, &r.Members,
		&r.CreatedByName, &r.CreatedAt, &r.UpdatedByName, &r.UpdatedAt, &r.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return RoleRow{}, ErrNotFound
	}
	return r, err
}

// likePattern turns typed text into a LIKE pattern matching it anywhere, literally.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// ListRoles returns one page of the roles of an organisation and how many match in all.
func (s *Store) ListRoles(ctx context.Context, q RoleQuery) ([]RoleRow, int, error) {
	where := " WHERE r.org_id = ?"
	args := []any{q.OrgID}
	if q.Q != "" {
		where += ` AND (r.name LIKE ? ESCAPE '\' OR r.code LIKE ? ESCAPE '\')`
		args = append(args, likePattern(q.Q), likePattern(q.Q))
	}
	switch q.Kind {
	case "system":
		where += " AND r.system = 1"
	case "custom":
		where += " AND r.system = 0"
	}
	switch q.Status {
	case "active":
		where += " AND r.active = 1"
	case "inactive":
		where += " AND r.active = 0"
	}
	var total int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM roles r"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count roles: %w", err)
	}
	if q.Limit <= 0 {
		q.Limit = 25
	}
	sel := roleListSelect
	if q.Members {
		sel = roleSelect
	}
	// The page is chosen first, on the roles alone (an index in that order); only its rows
	// are then joined and have their holders counted.
	const order = " ORDER BY r.system DESC, r.name COLLATE NOCASE, r.id"
	rows, err := s.r.QueryContext(ctx, sel+" WHERE r.id IN (SELECT r.id FROM roles r"+where+order+" LIMIT ? OFFSET ?)"+order,
		append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list roles: %w", err)
	}
	defer rows.Close()
	var out []RoleRow
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list roles: %w", err)
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Role returns one role with its permissions.
func (s *Store) Role(ctx context.Context, id int64) (RoleRow, error) {
	r, err := scanRole(s.r.QueryRowContext(ctx, roleSelect+" WHERE r.id = ?", id))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return r, err
		}
		return r, fmt.Errorf("store: role %d: %w", id, err)
	}
	r.Permissions, err = queryStrings(ctx, s.r, "SELECT perm FROM role_permissions WHERE role_id = ? ORDER BY perm", id)
	return r, err
}

// RolesWithPermissions returns every role of the organisations, with permissions, ordered
// system first then by name; the permission grid uses it.
func (s *Store) RolesWithPermissions(ctx context.Context, orgID int64) ([]RoleRow, error) {
	rows, _, err := s.ListRoles(ctx, RoleQuery{OrgID: orgID, Limit: 1 << 30})
	if err != nil {
		return nil, err
	}
	perms, err := s.r.QueryContext(ctx, `SELECT p.role_id, p.perm FROM role_permissions p JOIN roles r ON r.id = p.role_id WHERE r.org_id = ?`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: role permissions: %w", err)
	}
	defer perms.Close()
	byID := map[int64][]string{}
	for perms.Next() {
		var id int64
		var p string
		if err := perms.Scan(&id, &p); err != nil {
			return nil, err
		}
		byID[id] = append(byID[id], p)
	}
	if err := perms.Err(); err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Permissions = byID[rows[i].ID]
	}
	return rows, nil
}

func queryStrings(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func setPermissions(ctx context.Context, tx *sql.Tx, roleID int64, perms []string) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM role_permissions WHERE role_id = ?", roleID); err != nil {
		return err
	}
	for _, p := range perms {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO role_permissions (role_id, perm) VALUES (?, ?)", roleID, p); err != nil {
			return err
		}
	}
	return nil
}

// CreateRole saves a new custom role and returns its id.
func (s *Store) CreateRole(ctx context.Context, in RoleInput) (int64, error) {
	var id int64
	err := s.withAccessTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, `INSERT INTO roles (org_id, code, name, description, active, system, created_by, created_at, updated_by, updated_at)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`, in.OrgID, in.Code, in.Name, in.Description, in.Active, nullID(in.ActorID), now, nullID(in.ActorID), now)
		if isConstraint(err) {
			return ErrCodeTaken
		}
		if err != nil {
			return fmt.Errorf("store: create role: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if err := setPermissions(ctx, tx, id, in.Permissions); err != nil {
			return err
		}
		after, err := roleState(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: in.ActorID, OrgID: in.OrgID, Action: audit.RoleCreated, TargetType: "role",
			TargetID: id, TargetName: in.Name, After: audit.JSON(after)})
	})
	return id, err
}

// auditedRole is what the audit log records of a role, before and after a change.
type auditedRole struct {
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Active      bool     `json:"active"`
	Permissions []string `json:"permissions"`
	Holders     int      `json:"holders"`
}

func roleState(ctx context.Context, tx *sql.Tx, id int64) (auditedRole, error) {
	var r auditedRole
	err := tx.QueryRowContext(ctx, `SELECT code, name, description, active, holders
		FROM roles WHERE id = ?`, id).Scan(&r.Code, &r.Name, &r.Description, &r.Active, &r.Holders)
	if err != nil {
		return r, fmt.Errorf("store: role state: %w", err)
	}
	r.Permissions, err = queryStrings(ctx, tx, "SELECT perm FROM role_permissions WHERE role_id = ? ORDER BY perm", id)
	return r, err
}

// UpdateRole saves a custom role's name, description, status and permissions, provided it is
// still at version; otherwise it returns a *StaleError naming who saved in between.
func (s *Store) UpdateRole(ctx context.Context, id, version int64, in RoleInput) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		var system bool
		var cur int64
		var by string
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT r.system, r.version, coalesce(u.name, ''), r.updated_at FROM roles r
			LEFT JOIN users u ON u.id = r.updated_by WHERE r.id = ?`, id).Scan(&system, &cur, &by, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: update role: %w", err)
		}
		if system {
			return ErrSystemRole
		}
		if cur != version {
			return &StaleError{ByName: by, At: at}
		}
		before, err := roleState(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE roles SET name = ?, description = ?, active = ?, updated_by = ?, updated_at = ?,
			version = version + 1 WHERE id = ?`, in.Name, in.Description, in.Active, nullID(in.ActorID), s.now().Unix(), id); err != nil {
			return fmt.Errorf("store: update role: %w", err)
		}
		if err := setPermissions(ctx, tx, id, in.Permissions); err != nil {
			return err
		}
		// Editing a role moves nobody: the holders counted before are the holders after.
		after := auditedRole{Code: before.Code, Name: in.Name, Description: in.Description, Active: in.Active, Holders: before.Holders}
		if after.Permissions, err = queryStrings(ctx, tx, "SELECT perm FROM role_permissions WHERE role_id = ? ORDER BY perm", id); err != nil {
			return err
		}
		var orgID int64
		if err := tx.QueryRowContext(ctx, "SELECT org_id FROM roles WHERE id = ?", id).Scan(&orgID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: in.ActorID, OrgID: orgID, Action: audit.RoleUpdated, TargetType: "role",
			TargetID: id, TargetName: in.Name, Before: audit.JSON(before), After: audit.JSON(after)})
	})
}

// DeleteRole deletes a custom role. When people hold it, it refuses with *HasMembersError
// unless reassignTo names another role (of the same organisation) to move them to, or
// removeAll is set. Each holder moved or removed gets their own assignment entries in the log,
// and the deletion's entry names them all.
func (s *Store) DeleteRole(ctx context.Context, id, reassignTo int64, removeAll bool, actorID int64) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		var system bool
		var orgID int64
		err := tx.QueryRowContext(ctx, "SELECT system, org_id FROM roles WHERE id = ?", id).Scan(&system, &orgID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: delete role: %w", err)
		}
		if system {
			return ErrSystemRole
		}
		holders, err := roleHolders(ctx, tx, id)
		if err != nil {
			return err
		}
		before, err := roleState(ctx, tx, id)
		if err != nil {
			return err
		}
		var after any
		switch {
		case len(holders) == 0:
		case removeAll:
			for _, h := range holders {
				if err := s.removeAssignment(ctx, tx, actorID, h.UserID, id, h.OrgID); err != nil {
					return err
				}
			}
			after = map[string]any{"holders_removed": holderNames(holders)}
		case reassignTo != 0:
			var target int64
			var targetName string
			err := tx.QueryRowContext(ctx, "SELECT org_id, name FROM roles WHERE id = ? AND id <> ?", reassignTo, id).Scan(&target, &targetName)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return fmt.Errorf("store: reassign: %w", err)
			}
			if target != orgID {
				return ErrNotFound
			}
			for _, h := range holders {
				if err := s.removeAssignment(ctx, tx, actorID, h.UserID, id, h.OrgID); err != nil {
					return err
				}
				if err := s.giveRole(ctx, tx, actorID, h.UserID, reassignTo, h.OrgID, h.Until); err != nil {
					return err
				}
			}
			after = map[string]any{"holders_moved_to": map[string]any{"role_id": reassignTo, "role": targetName}, "holders": holderNames(holders)}
		default:
			return &HasMembersError{N: distinctUsers(holders)}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM roles WHERE id = ?", id); err != nil {
			return fmt.Errorf("store: delete role: %w", err)
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: orgID, Action: audit.RoleDeleted, TargetType: "role",
			TargetID: id, TargetName: before.Name, Before: audit.JSON(before), After: audit.JSON(after)})
	})
}

// holding is one assignment of a role, with the names the log shows.
type holding struct {
	UserID, OrgID int64
	Name, OrgName string
	Until         int64 // when it ends (0: never); a reassigned holder keeps it
}

func roleHolders(ctx context.Context, tx *sql.Tx, roleID int64) ([]holding, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.user_id, a.org_id, u.name, o.name, coalesce(a.until, 0) FROM role_assignments a
		JOIN users u ON u.id = a.user_id JOIN organisations o ON o.id = a.org_id WHERE a.role_id = ? ORDER BY u.name, a.user_id, o.name`, roleID)
	if err != nil {
		return nil, fmt.Errorf("store: role holders: %w", err)
	}
	defer rows.Close()
	var out []holding
	for rows.Next() {
		var h holding
		if err := rows.Scan(&h.UserID, &h.OrgID, &h.Name, &h.OrgName, &h.Until); err != nil {
			return nil, fmt.Errorf("store: role holders: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// holderNames is "Ben Okafor in Northside Practice" for each holding.
func holderNames(hs []holding) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name + " in " + h.OrgName
	}
	return out
}

func distinctUsers(hs []holding) int {
	seen := map[int64]bool{}
	for _, h := range hs {
		seen[h.UserID] = true
	}
	return len(seen)
}

// SeedSystemRoles makes sure every top-level organisation has the system roles of the
// templates, with exactly their permissions. It is idempotent and runs at every start, so a
// changed catalog reaches the system roles.
func (s *Store) SeedSystemRoles(ctx context.Context, templates []rbac.RoleTemplate) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		orgs, err := queryInts(ctx, tx, "SELECT id FROM organisations WHERE parent_id IS NULL")
		if err != nil {
			return err
		}
		for _, org := range orgs {
			if err := seedSystemRoles(ctx, tx, org, templates, s.now().Unix()); err != nil {
				return err
			}
		}
		return nil
	})
}

func seedSystemRoles(ctx context.Context, tx *sql.Tx, orgID int64, templates []rbac.RoleTemplate, now int64) error {
	for _, t := range templates {
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM roles WHERE org_id = ? AND code = ?", orgID, t.Code).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, `INSERT INTO roles (org_id, code, name, description, active, system, created_at, updated_at)
				VALUES (?, ?, ?, ?, 1, 1, ?, ?)`, orgID, t.Code, t.Name, t.Description, now, now)
			if err != nil {
				return fmt.Errorf("store: seed %s: %w", t.Code, err)
			}
			if id, err = res.LastInsertId(); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("store: seed %s: %w", t.Code, err)
		default:
			if _, err := tx.ExecContext(ctx, "UPDATE roles SET name = ?, description = ?, system = 1, active = 1 WHERE id = ?",
				t.Name, t.Description, id); err != nil {
				return fmt.Errorf("store: seed %s: %w", t.Code, err)
			}
		}
		if err := setPermissions(ctx, tx, id, t.Permissions); err != nil {
			return fmt.Errorf("store: seed %s: %w", t.Code, err)
		}
	}
	return nil
}

func queryInts(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
