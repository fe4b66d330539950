package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
)

// User is a person with an account.
type User struct {
	ID           int64
	Email        string
	Name         string
	PasswordHash string
	GlobalAdmin  bool
	Disabled     bool
	CreatedAt    int64
}

// Organisation is a practice or one of its sub-units.
type Organisation struct {
	ID       int64
	ParentID int64 // 0 for a top-level organisation
	Name     string
}

// SetupInput is what the first-run setup records.
type SetupInput struct {
	OrgName      string
	Name         string
	Email        string
	PasswordHash string
	// SystemRoles are seeded in the new organisation; the admin is given the ADMIN one.
	SystemRoles []rbac.RoleTemplate
}

const userColumns = "id, email, name, password_hash, global_admin, status = 'disabled', created_at"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.GlobalAdmin, &u.Disabled, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// NeedsSetup reports whether the portal still has no user, i.e. setup has not run.
func (s *Store) NeedsSetup(ctx context.Context) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM setup").Scan(&n); err != nil {
		return false, fmt.Errorf("store: needs setup: %w", err)
	}
	return n == 0, nil
}

// Setup creates the first organisation and its global admin, exactly once: the setup row's
// CHECK (id = 1) and the transaction's write lock make a second or racing call fail with
// ErrAlreadySetUp.
func (s *Store) Setup(ctx context.Context, in SetupInput) (User, Organisation, error) {
	var u User
	var o Organisation
	err := s.withAccessTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		if _, err := tx.ExecContext(ctx, "INSERT INTO setup (id, completed_at) VALUES (1, ?)", now); err != nil {
			if isConstraint(err) {
				return ErrAlreadySetUp
			}
			return fmt.Errorf("store: setup: %w", err)
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO organisations (name, created_at) VALUES (?, ?)", in.OrgName, now)
		if err != nil {
			return fmt.Errorf("store: setup organisation: %w", err)
		}
		o = Organisation{Name: in.OrgName}
		if o.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO users (email, name, password_hash, global_admin, created_at, updated_at)
			VALUES (?, ?, ?, 1, ?, ?)`, in.Email, in.Name, in.PasswordHash, now, now)
		if err != nil {
			return fmt.Errorf("store: setup admin: %w", err)
		}
		u = User{Email: in.Email, Name: in.Name, PasswordHash: in.PasswordHash, GlobalAdmin: true, CreatedAt: now}
		if u.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO staff (user_id, org_id, created_at) VALUES (?, ?, ?)", u.ID, o.ID, now); err != nil {
			return fmt.Errorf("store: setup staff: %w", err)
		}
		if err := seedSystemRoles(ctx, tx, o.ID, in.SystemRoles, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO role_assignments (user_id, role_id, org_id, created_by, created_at)
			SELECT ?, id, org_id, ?, ? FROM roles WHERE org_id = ? AND code = ?`, u.ID, u.ID, now, o.ID, rbac.CodeAdmin)
		if err != nil {
			return fmt.Errorf("store: setup admin role: %w", err)
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: u.ID, OrgID: o.ID, Action: audit.Setup, TargetType: "user", TargetID: u.ID,
			TargetName: u.Name, After: audit.JSON(map[string]any{"organisation": o.Name, "admin": u.Name, "email": u.Email, "global_admin": true})})
	})
	return u, o, err
}

// UserByEmail finds a user by email address, ignoring case.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", email))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("store: user by email: %w", err)
	}
	return u, err
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, err
}

// SetPassword replaces a user's password hash and ends every session of theirs except keep
// (0 keeps none), in one transaction: a stolen session dies with the old password.
func (s *Store) SetPassword(ctx context.Context, userID int64, hash string, keepSessionID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, s.now().Unix(), userID)
		if err != nil {
			return fmt.Errorf("store: set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ? AND id <> ?", userID, keepSessionID); err != nil {
			return fmt.Errorf("store: end sessions: %w", err)
		}
		if err := bump(ctx, tx, countSessions); err != nil {
			return err
		}
		// Never the hash itself: the log says that it changed, not to what.
		return s.appendAudit(ctx, tx, audit.Entry{Action: audit.PasswordChanged, TargetType: "user", TargetID: userID})
	})
}

// SetName renames a user, recording the old and new name in the audit log. It goes through
// the access path only so the permission snapshot, which names people, reloads.
func (s *Store) SetName(ctx context.Context, userID int64, name string) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", userID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: rename user: %w", err)
		}
		if old == name {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET name = ?, updated_at = ? WHERE id = ?", name, s.now().Unix(), userID); err != nil {
			return fmt.Errorf("store: rename user: %w", err)
		}
		return s.appendAudit(ctx, tx, audit.Entry{Action: audit.UserRenamed, TargetType: "user", TargetID: userID,
			Before: audit.JSON(map[string]string{"name": old}), After: audit.JSON(map[string]string{"name": name})})
	})
}

// OrganisationsOf lists the organisations a user is staff of, top-level ones first.
func (s *Store) OrganisationsOf(ctx context.Context, userID int64) ([]Organisation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.id, coalesce(o.parent_id, 0), o.name
		FROM staff st JOIN organisations o ON o.id = st.org_id
		WHERE st.user_id = ? ORDER BY o.parent_id IS NOT NULL, o.name, o.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: organisations of %d: %w", userID, err)
	}
	defer rows.Close()
	var out []Organisation
	for rows.Next() {
		var o Organisation
		if err := rows.Scan(&o.ID, &o.ParentID, &o.Name); err != nil {
			return nil, fmt.Errorf("store: organisations of %d: %w", userID, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// NewStaff is a person added directly as staff of an organisation (demo data, tests; the
// invitation flow adds people the same way once they accept).
type NewStaff struct {
	Email        string
	Name         string
	PasswordHash string
	OrgID        int64
}

// AddStaff creates users and makes them staff of their organisation, in one transaction.
func (s *Store) AddStaff(ctx context.Context, people []NewStaff) ([]int64, error) {
	ids := make([]int64, 0, len(people))
	err := s.withAccessTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		for _, p := range people {
			res, err := tx.ExecContext(ctx, `INSERT INTO users (email, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				p.Email, p.Name, p.PasswordHash, now, now)
			if isConstraint(err) {
				return ErrEmailTaken
			}
			if err != nil {
				return fmt.Errorf("store: add staff: %w", err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO staff (user_id, org_id, created_at) VALUES (?, ?, ?)", id, p.OrgID, now); err != nil {
				return fmt.Errorf("store: add staff: %w", err)
			}
			if err := s.appendAudit(ctx, tx, audit.Entry{OrgID: p.OrgID, Action: audit.StaffAdded, TargetType: "user", TargetID: id,
				TargetName: p.Name, After: audit.JSON(map[string]string{"email": p.Email, "name": p.Name})}); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}
