package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/rolegate/rolegate/internal/audit"
)

// App is a protected application as stored: one forward-auth rule (PRODUCT.md §2.9).
type App struct {
	ID          int64
	Name        string
	Host        string // lower-case, ":port" when the rule is for that port only
	PathPrefix  string
	OrgID       int64
	OrgName     string
	Permission  string
	PublicPaths []string
	Enabled     bool
	// RequireTwoStep: only sessions that passed the second step of signing in get in.
	RequireTwoStep bool
	CreatedAt      int64
	UpdatedAt      int64
}

// Rule is how the audit log and lists name where an application is: host and path prefix.
func (a App) Rule() string { return a.Host + a.PathPrefix }

// NewApp is what adding a protected application writes; the caller has validated it.
type NewApp struct {
	Name           string
	Host           string
	PathPrefix     string
	OrgID          int64
	Permission     string
	PublicPaths    []string
	RequireTwoStep bool
	CreatedBy      int64 // 0: the command line
}

// ErrAppExists refuses a second application with the same host and path prefix.
var ErrAppExists = errors.New("store: an application already has that host and path prefix")

const appSelect = `SELECT a.id, a.name, a.host, a.path_prefix, a.org_id, o.name, a.permission, a.enabled, a.require_two_step, a.created_at, a.updated_at,
	coalesce((SELECT group_concat(p.path_prefix, char(10)) FROM (SELECT path_prefix FROM protected_app_public_paths
		WHERE app_id = a.id ORDER BY path_prefix) p), '')
	FROM protected_apps a JOIN organisations o ON o.id = a.org_id`

func scanApp(row interface{ Scan(...any) error }) (App, error) {
	var a App
	var public string
	err := row.Scan(&a.ID, &a.Name, &a.Host, &a.PathPrefix, &a.OrgID, &a.OrgName, &a.Permission, &a.Enabled, &a.RequireTwoStep, &a.CreatedAt, &a.UpdatedAt, &public)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if public != "" {
		a.PublicPaths = strings.Split(public, "\n")
	}
	return a, err
}

func appAudit(a App) map[string]string {
	m := map[string]string{"rule": a.Rule(), "permission": a.Permission, "status": "disabled"}
	if a.OrgName != "" {
		m["organisation"] = a.OrgName
	}
	if a.RequireTwoStep {
		m["two_step"] = "required"
	}
	if a.Enabled {
		m["status"] = "enabled"
	}
	if len(a.PublicPaths) > 0 {
		m["public"] = strings.Join(a.PublicPaths, ", ")
	}
	return m
}

func bumpAppsVersion(ctx context.Context, tx *sql.Tx) error { return bump(ctx, tx, countApps) }

// CreateApp stores a protected application, enabled, and records it in the audit log, in one
// transaction.
func (s *Store) CreateApp(ctx context.Context, in NewApp) (int64, error) {
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, `INSERT INTO protected_apps (name, host, path_prefix, org_id, permission, enabled, require_two_step, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`, in.Name, in.Host, in.PathPrefix, in.OrgID, in.Permission, in.RequireTwoStep, nullID(in.CreatedBy), now, now)
		if isConstraint(err) {
			return ErrAppExists
		}
		if err != nil {
			return fmt.Errorf("store: create app: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, p := range in.PublicPaths {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO protected_app_public_paths (app_id, path_prefix) VALUES (?, ?)", id, p); err != nil {
				return fmt.Errorf("store: app public path: %w", err)
			}
		}
		if err := bumpAppsVersion(ctx, tx); err != nil {
			return err
		}
		a := App{Host: in.Host, PathPrefix: in.PathPrefix, Permission: in.Permission, PublicPaths: in.PublicPaths, Enabled: true, RequireTwoStep: in.RequireTwoStep}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: in.CreatedBy, OrgID: in.OrgID, Action: audit.AppCreated,
			TargetType: "app", TargetID: id, TargetName: in.Name, After: audit.JSON(appAudit(a))})
	})
	return id, err
}

// AppByID finds one protected application.
func (s *Store) AppByID(ctx context.Context, id int64) (App, error) {
	a, err := scanApp(s.r.QueryRowContext(ctx, appSelect+" WHERE a.id = ?", id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return a, fmt.Errorf("store: app %d: %w", id, err)
	}
	return a, err
}

// ListApps returns the applications of these organisations (nil: all), by host and prefix.
func (s *Store) ListApps(ctx context.Context, orgIDs []int64) ([]App, error) {
	q, args := appSelect, []any{}
	if orgIDs != nil {
		q += " WHERE a.org_id IN (" + placeholders(max(len(orgIDs), 1)) + ")"
		if len(orgIDs) == 0 {
			args = append(args, -1)
		}
		for _, id := range orgIDs {
			args = append(args, id)
		}
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY a.host, a.path_prefix, a.id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: apps: %w", err)
	}
	defer rows.Close()
	var out []App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("store: apps: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AppsVersion is a number that changes with every change to the protected applications, by
// this process or another: a running server compares it before each decision.
func (s *Store) AppsVersion(ctx context.Context) (int64, error) {
	v, err := s.Versions(ctx)
	return v.Apps, err
}

// SetAppEnabled enables or disables an application, audited; setting what it already is
// changes nothing and writes nothing.
func (s *Store) SetAppEnabled(ctx context.Context, id int64, enabled bool, actorID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		a, err := scanApp(tx.QueryRowContext(ctx, appSelect+" WHERE a.id = ?", id))
		if err != nil {
			return err
		}
		if a.Enabled == enabled {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE protected_apps SET enabled = ?, updated_at = ? WHERE id = ?", enabled, s.now().Unix(), id); err != nil {
			return fmt.Errorf("store: app enabled: %w", err)
		}
		if err := bumpAppsVersion(ctx, tx); err != nil {
			return err
		}
		before, after := map[string]string{"status": "enabled"}, map[string]string{"status": "disabled"}
		if enabled {
			before, after = after, before
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: a.OrgID, Action: audit.AppUpdated,
			TargetType: "app", TargetID: id, TargetName: a.Name, Before: audit.JSON(before), After: audit.JSON(after)})
	})
}

// UpdateApp changes an application's name, address, organisation, permission and public
// paths, audited with what they were and are (under both organisations when it moves);
// saving what is already there writes nothing. Enabled stays as it is (SetAppEnabled).
func (s *Store) UpdateApp(ctx context.Context, id int64, in NewApp, actorID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		was, err := scanApp(tx.QueryRowContext(ctx, appSelect+" WHERE a.id = ?", id))
		if err != nil {
			return err
		}
		is := was
		is.Name, is.Host, is.PathPrefix, is.OrgID, is.Permission, is.PublicPaths = in.Name, in.Host, in.PathPrefix, in.OrgID, in.Permission, in.PublicPaths
		is.RequireTwoStep = in.RequireTwoStep
		if err := tx.QueryRowContext(ctx, "SELECT name FROM organisations WHERE id = ?", in.OrgID).Scan(&is.OrgName); err != nil {
			return fmt.Errorf("store: app organisation: %w", err)
		}
		before, after := appAudit(was), appAudit(is)
		before["name"], after["name"] = was.Name, is.Name
		if maps.Equal(before, after) {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE protected_apps SET name = ?, host = ?, path_prefix = ?, org_id = ?, permission = ?, require_two_step = ?,
			updated_at = ? WHERE id = ?`, in.Name, in.Host, in.PathPrefix, in.OrgID, in.Permission, in.RequireTwoStep, s.now().Unix(), id)
		if isConstraint(err) {
			return ErrAppExists
		}
		if err != nil {
			return fmt.Errorf("store: update app: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM protected_app_public_paths WHERE app_id = ?", id); err != nil {
			return fmt.Errorf("store: app public paths: %w", err)
		}
		for _, p := range in.PublicPaths {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO protected_app_public_paths (app_id, path_prefix) VALUES (?, ?)", id, p); err != nil {
				return fmt.Errorf("store: app public path: %w", err)
			}
		}
		if err := bumpAppsVersion(ctx, tx); err != nil {
			return err
		}
		orgs := []int64{was.OrgID}
		if is.OrgID != was.OrgID {
			orgs = append(orgs, is.OrgID) // both organisations' auditors see the tool move
		}
		for _, org := range orgs {
			if err := s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: org, Action: audit.AppUpdated,
				TargetType: "app", TargetID: id, TargetName: is.Name, Before: audit.JSON(before), After: audit.JSON(after)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveApp deletes an application and its public paths, audited.
func (s *Store) RemoveApp(ctx context.Context, id, actorID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		a, err := scanApp(tx.QueryRowContext(ctx, appSelect+" WHERE a.id = ?", id))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM protected_apps WHERE id = ?", id); err != nil {
			return fmt.Errorf("store: remove app: %w", err)
		}
		if err := bumpAppsVersion(ctx, tx); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: a.OrgID, Action: audit.AppRemoved,
			TargetType: "app", TargetID: id, TargetName: a.Name, Before: audit.JSON(appAudit(a))})
	})
}
