package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/rolegate/rolegate/internal/rbac"
)

// The log of what access-changing transactions touched (migration 0015): triggers write it,
// withAccessTx bumps the access counter first so the rows carry the version being made, and
// pruning keeps the last logKept versions.
const (
	logKept       = 4096
	logPruneEvery = 512
	// Past this many people touched at once (a practice imported), reading everything is
	// no slower than reading each person's facts.
	logMaxPeople = 20_000
)

// AccessTx is an access-changing transaction as its guard sees it, before it commits.
type AccessTx struct {
	tx      *sql.Tx
	version int64
}

// Version is the access counter this transaction commits.
func (t AccessTx) Version() int64 { return t.version }

// Changes is what the versions after since, up to and including this transaction's, touched,
// as it stands in the transaction.
func (t AccessTx) Changes(ctx context.Context, since int64) (rbac.Delta, error) {
	return readChanges(ctx, t.tx, since, t.version)
}

// LoadChanges is what was committed after version since, in one read transaction: how a
// process catches up with changes another one made.
func (s *Store) LoadChanges(ctx context.Context, since int64) (rbac.Delta, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rbac.Delta{}, fmt.Errorf("store: load changes: %w", err)
	}
	defer tx.Rollback()
	var now int64
	if err := tx.QueryRowContext(ctx, "SELECT access FROM versions WHERE id = 1").Scan(&now); err != nil {
		return rbac.Delta{}, fmt.Errorf("store: load changes: %w", err)
	}
	return readChanges(ctx, tx, since, now)
}

// readChanges reads, through tx, the facts of everything touched by versions (since, upto];
// tx must see the database as it is at upto. When the log no longer reaches back to since,
// or the change touched a great many people, the delta is everything (Full).
func readChanges(ctx context.Context, tx *sql.Tx, since, upto int64) (rbac.Delta, error) {
	d := rbac.Delta{Version: upto}
	full := func() (rbac.Delta, error) {
		all, err := loadAccess(ctx, tx)
		if err != nil {
			return d, err
		}
		all.Version = upto
		d.Full = &all
		return d, nil
	}
	var from int64
	if err := tx.QueryRowContext(ctx, "SELECT access_log_from FROM versions WHERE id = 1").Scan(&from); err != nil {
		return d, fmt.Errorf("store: read changes: %w", err)
	}
	if since < from {
		return full()
	}
	var people, roles []int64
	orgs := false
	err := eachRow(ctx, tx, "SELECT kind, id FROM access_changes WHERE version > ? AND version <= ?", []any{since, upto}, func(r *sql.Rows) error {
		var kind string
		var id int64
		if err := r.Scan(&kind, &id); err != nil {
			return err
		}
		switch kind {
		case "user":
			people = append(people, id)
		case "role":
			roles = append(roles, id)
		case "orgs":
			orgs = true
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("store: read changes: %w", err)
	}
	if len(people) > logMaxPeople {
		return full()
	}
	if err := readTouched(ctx, tx, &d, since, upto, dedupe(people), dedupe(roles), orgs); err != nil {
		return d, fmt.Errorf("store: read changes: %w", err)
	}
	return d, nil
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// touchedIn is the subquery naming the ids of one kind the versions (?, ?] touched.
const touchedIn = "(SELECT id FROM access_changes WHERE kind = ? AND version > ? AND version <= ?)"

func readTouched(ctx context.Context, tx *sql.Tx, d *rbac.Delta, since, upto int64, people, roles []int64, orgs bool) error {
	if orgs {
		all, err := loadOrgs(ctx, tx)
		if err != nil {
			return err
		}
		d.OrgsChanged, d.Orgs, d.OrgDefaults = true, all.Orgs, all.OrgDefaults
	}
	if len(roles) > 0 {
		args := []any{"role", since, upto}
		byID := map[int64]int{}
		err := eachRow(ctx, tx, "SELECT id, org_id, code, name, active, system FROM roles WHERE id IN "+touchedIn+" ORDER BY id", args, func(r *sql.Rows) error {
			var ro rbac.Role
			err := r.Scan(&ro.ID, &ro.OrgID, &ro.Code, &ro.Name, &ro.Active, &ro.System)
			byID[ro.ID] = len(d.Roles)
			d.Roles = append(d.Roles, ro)
			return err
		})
		if err == nil {
			err = eachRow(ctx, tx, "SELECT role_id, perm FROM role_permissions WHERE role_id IN "+touchedIn, args, func(r *sql.Rows) error {
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
		if err != nil {
			return err
		}
		for _, id := range roles {
			if _, ok := byID[id]; !ok {
				d.RolesGone = append(d.RolesGone, id)
			}
		}
	}
	if len(people) == 0 {
		return nil
	}
	args := []any{"user", since, upto}
	byID := map[int64]*rbac.Person{}
	var order []int64
	err := eachRow(ctx, tx, "SELECT id, name, email, global_admin, status = 'disabled' FROM users WHERE id IN "+touchedIn, args, func(r *sql.Rows) error {
		var u rbac.User
		if err := r.Scan(&u.ID, &u.Name, &u.Email, &u.GlobalAdmin, &u.Disabled); err != nil {
			return err
		}
		byID[u.ID] = &rbac.Person{User: u}
		order = append(order, u.ID)
		return nil
	})
	if err == nil {
		err = eachRow(ctx, tx, "SELECT user_id, org_id FROM staff WHERE user_id IN "+touchedIn, args, func(r *sql.Rows) error {
			var m rbac.Membership
			if err := r.Scan(&m.UserID, &m.OrgID); err != nil {
				return err
			}
			if p := byID[m.UserID]; p != nil {
				p.Staff = append(p.Staff, m.OrgID)
			}
			return nil
		})
	}
	if err == nil {
		err = eachRow(ctx, tx, "SELECT user_id, role_id, org_id, coalesce(until, 0) FROM role_assignments WHERE user_id IN "+touchedIn, args, func(r *sql.Rows) error {
			var a rbac.Assignment
			if err := r.Scan(&a.UserID, &a.RoleID, &a.OrgID, &a.Until); err != nil {
				return err
			}
			if p := byID[a.UserID]; p != nil {
				p.Assignments = append(p.Assignments, a)
			}
			return nil
		})
	}
	if err == nil {
		err = eachRow(ctx, tx, "SELECT user_id, org_id, perm, effect, coalesce(set_by, 0), coalesce(until, 0) FROM user_overrides WHERE user_id IN "+touchedIn, args, func(r *sql.Rows) error {
			o, err := scanOverride(r)
			if p := byID[o.UserID]; err == nil && p != nil {
				p.Overrides = append(p.Overrides, o)
			}
			return err
		})
	}
	if err == nil {
		err = eachRow(ctx, tx, `SELECT DISTINCT accepted_by, invited_by FROM invitations
			WHERE accepted_by IN `+touchedIn+` AND accepted_at IS NOT NULL AND invited_by IS NOT NULL`, args, func(r *sql.Rows) error {
			var inv rbac.Invited
			if err := r.Scan(&inv.UserID, &inv.InviterID); err != nil {
				return err
			}
			if p := byID[inv.UserID]; p != nil {
				p.Inviters = append(p.Inviters, inv.InviterID)
			}
			return nil
		})
	}
	if err == nil {
		err = eachRow(ctx, tx, "SELECT id, user_id, org_id, perms, ends_at FROM emergency_uses WHERE ended_at IS NULL AND user_id IN "+touchedIn, args, func(r *sql.Rows) error {
			e, err := scanEmergency(r)
			if p := byID[e.UserID]; err == nil && p != nil {
				p.Emergencies = append(p.Emergencies, e)
			}
			return err
		})
	}
	if err != nil {
		return err
	}
	for _, id := range order {
		d.People = append(d.People, *byID[id])
	}
	for _, id := range people {
		if byID[id] == nil {
			d.PeopleGone = append(d.PeopleGone, id)
		}
	}
	return nil
}

// eachRow runs query through q (a transaction or a pool) and calls scan for each row.
func eachRow(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// pruneChanges keeps the log to the last logKept versions, every logPruneEvery versions.
func pruneChanges(ctx context.Context, tx *sql.Tx, version int64) error {
	if version%logPruneEvery != 0 || version <= logKept {
		return nil
	}
	keepFrom := version - logKept
	if _, err := tx.ExecContext(ctx, "DELETE FROM access_changes WHERE version <= ?", keepFrom); err != nil {
		return fmt.Errorf("store: prune changes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE versions SET access_log_from = max(access_log_from, ?) WHERE id = 1", keepFrom); err != nil {
		return fmt.Errorf("store: prune changes: %w", err)
	}
	return nil
}
