package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
)

// ErrOrgNameTaken is returned when another organisation under the same parent (or another
// top-level one) already has the name, ignoring case.
var ErrOrgNameTaken = errors.New("store: another organisation there has that name")

// ErrMoveBelowItself is returned when asked to move an organisation under itself or one of
// its descendants.
var ErrMoveBelowItself = errors.New("store: an organisation cannot move under itself or below itself")

// ErrOneRole is returned when an assignment would give someone a second role in an
// organisation whose role mode is "one role per person".
var ErrOneRole = errors.New("store: this organisation gives each person one role")

// PersonRoles names one person and the roles they hold in one organisation.
type PersonRoles struct {
	UserID int64
	Name   string
	Roles  []string
}

// SeveralRolesError refuses "one role per person" while people hold several roles in the
// organisation; it names them.
type SeveralRolesError struct{ People []PersonRoles }

func (e *SeveralRolesError) Error() string {
	return fmt.Sprintf("store: %d people hold several roles in this organisation", len(e.People))
}

// ForeignRolesError refuses a move after which people would hold, in the moved
// organisations, roles of organisations no longer above them (such roles cannot apply there).
type ForeignRolesError struct {
	Holdings []string // "Ben Okafor holds Nurse (of Northside Practice) in Eastside Clinic"
}

func (e *ForeignRolesError) Error() string {
	return "store: the move would strand role assignments: " + strings.Join(e.Holdings, "; ")
}

// OrgRow is an organisation as the tree and its settings page show it.
type OrgRow struct {
	ID              int64
	ParentID        int64 // 0 for a top-level organisation
	Name            string
	OneRole         bool   // role mode "one role per person"
	LimitVisibility bool   // "Limit organisation members visibility"
	TwoStep         string // whom it requires two-step sign-in of (rbac.TwoStep…)
	SSORequired     bool   // its staff sign in through the identity provider
	Roles           int    // roles defined in it
}

const orgSelect = `SELECT o.id, coalesce(o.parent_id, 0), o.name, o.role_mode = 'one', o.limit_visibility, o.two_step, o.sso_required,
	(SELECT count(*) FROM roles WHERE org_id = o.id)
	FROM organisations o`

func scanOrg(row interface{ Scan(...any) error }) (OrgRow, error) {
	var o OrgRow
	err := row.Scan(&o.ID, &o.ParentID, &o.Name, &o.OneRole, &o.LimitVisibility, &o.TwoStep, &o.SSORequired, &o.Roles)
	if errors.Is(err, sql.ErrNoRows) {
		return o, ErrNotFound
	}
	return o, err
}

// Organisations returns every organisation with its counts, by name.
func (s *Store) Organisations(ctx context.Context) ([]OrgRow, error) {
	rows, err := s.r.QueryContext(ctx, orgSelect+" ORDER BY o.name COLLATE NOCASE, o.id")
	if err != nil {
		return nil, fmt.Errorf("store: organisations: %w", err)
	}
	defer rows.Close()
	var out []OrgRow
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("store: organisations: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Organisation returns one organisation with its counts.
func (s *Store) Organisation(ctx context.Context, id int64) (OrgRow, error) {
	o, err := scanOrg(s.r.QueryRowContext(ctx, orgSelect+" WHERE o.id = ?", id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return o, fmt.Errorf("store: organisation %d: %w", id, err)
	}
	return o, err
}

// NewOrganisation is what creating an organisation writes.
type NewOrganisation struct {
	Name     string
	ParentID int64 // 0 for a top-level organisation
	// SystemRoles are seeded in a new top-level organisation (PRODUCT.md §1.2); ignored for
	// one with a parent, which uses the roles above it.
	SystemRoles []rbac.RoleTemplate
}

// AddOrganisation creates an organisation, refusing a name its siblings already use
// (ErrOrgNameTaken) and an unknown parent (ErrNotFound). A new top-level organisation gets the
// system roles in the same transaction.
func (s *Store) AddOrganisation(ctx context.Context, in NewOrganisation) (int64, error) {
	var id int64
	err := s.withAccessTx(ctx, func(tx *sql.Tx) error {
		var parentName string
		if in.ParentID != 0 {
			var err error
			if _, parentName, err = orgState(ctx, tx, in.ParentID); err != nil {
				return err
			}
		}
		if err := nameFree(ctx, tx, in.ParentID, in.Name, 0); err != nil {
			return err
		}
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, "INSERT INTO organisations (name, parent_id, created_at) VALUES (?, ?, ?)", in.Name, nullID(in.ParentID), now)
		if err != nil {
			return fmt.Errorf("store: create organisation: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if in.ParentID == 0 {
			if err := seedSystemRoles(ctx, tx, id, in.SystemRoles, now); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, audit.Entry{OrgID: id, Action: audit.OrgCreated, TargetType: "organisation", TargetID: id,
			TargetName: in.Name, After: audit.JSON(map[string]any{"name": in.Name, "parent_id": in.ParentID, "parent": parentName})})
	})
	return id, err
}

// CreateOrganisation adds an organisation under parentID (0 for a top-level one) without
// seeding system roles: the demo and tests use it, and SeedSystemRoles (run at every start)
// seeds a top-level one. Pages create organisations through AddOrganisation.
func (s *Store) CreateOrganisation(ctx context.Context, name string, parentID int64) (int64, error) {
	return s.AddOrganisation(ctx, NewOrganisation{Name: name, ParentID: parentID})
}

// nameFree refuses name when another organisation with the same parent (except self) has it.
func nameFree(ctx context.Context, tx *sql.Tx, parentID int64, name string, self int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM organisations WHERE parent_id IS ? AND name = ? COLLATE NOCASE AND id <> ?`,
		nullID(parentID), name, self).Scan(&n); err != nil {
		return fmt.Errorf("store: organisation name: %w", err)
	}
	if n > 0 {
		return ErrOrgNameTaken
	}
	return nil
}

// orgState reads an organisation's parent and name inside tx.
func orgState(ctx context.Context, tx *sql.Tx, id int64) (parentID int64, name string, err error) {
	err = tx.QueryRowContext(ctx, "SELECT coalesce(parent_id, 0), name FROM organisations WHERE id = ?", id).Scan(&parentID, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", ErrNotFound
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: organisation %d: %w", id, err)
	}
	return parentID, name, nil
}

// RenameOrganisation renames an organisation; its siblings' names stay unique.
func (s *Store) RenameOrganisation(ctx context.Context, id int64, name string) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		parentID, before, err := orgState(ctx, tx, id)
		if err != nil {
			return err
		}
		if before == name {
			return nil
		}
		if err := nameFree(ctx, tx, parentID, name, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE organisations SET name = ? WHERE id = ?", name, id); err != nil {
			return fmt.Errorf("store: rename organisation: %w", err)
		}
		return s.appendAudit(ctx, tx, audit.Entry{OrgID: id, Action: audit.OrgRenamed, TargetType: "organisation", TargetID: id,
			TargetName: name, Before: audit.JSON(map[string]string{"name": before}), After: audit.JSON(map[string]string{"name": name})})
	})
}

// MoveOrganisation puts an organisation (and everything below it) under parentID. It refuses
// a parent that is the organisation itself or below it (ErrMoveBelowItself), an unknown one
// (ErrNotFound), a name the new siblings use (ErrOrgNameTaken), and a move after which someone
// would hold, in the moved organisations, a role of an organisation no longer above them
// (*ForeignRolesError).
func (s *Store) MoveOrganisation(ctx context.Context, id, parentID int64) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		before, name, err := orgState(ctx, tx, id)
		if err != nil {
			return err
		}
		if before == parentID {
			return nil
		}
		_, parentName, err := orgState(ctx, tx, parentID)
		if err != nil {
			return err
		}
		var below int
		if err := tx.QueryRowContext(ctx, `WITH RECURSIVE up(id) AS (SELECT ? UNION ALL
			SELECT o.parent_id FROM organisations o JOIN up ON o.id = up.id WHERE o.parent_id IS NOT NULL)
			SELECT count(*) FROM up WHERE id = ?`, parentID, id).Scan(&below); err != nil {
			return fmt.Errorf("store: move organisation: %w", err)
		}
		if below > 0 {
			return ErrMoveBelowItself
		}
		if err := nameFree(ctx, tx, parentID, name, id); err != nil {
			return err
		}
		beforeName := ""
		if before != 0 {
			if _, beforeName, err = orgState(ctx, tx, before); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE organisations SET parent_id = ? WHERE id = ?", parentID, id); err != nil {
			return fmt.Errorf("store: move organisation: %w", err)
		}
		if err := strandedRoles(ctx, tx, id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{OrgID: id, Action: audit.OrgMoved, TargetType: "organisation", TargetID: id, TargetName: name,
			Before: audit.JSON(map[string]any{"parent_id": before, "parent": beforeName}),
			After:  audit.JSON(map[string]any{"parent_id": parentID, "parent": parentName})})
	})
}

// strandedRoles refuses the tree as tx now has it when, in id or below it, someone holds a
// role whose organisation is not the one they hold it in nor above it.
func strandedRoles(ctx context.Context, tx *sql.Tx, id int64) error {
	rows, err := tx.QueryContext(ctx, `WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL
			SELECT o.id FROM organisations o JOIN sub ON o.parent_id = sub.id),
		anc(org, id) AS (SELECT id, id FROM sub UNION ALL
			SELECT anc.org, o.parent_id FROM anc JOIN organisations o ON o.id = anc.id WHERE o.parent_id IS NOT NULL)
		SELECT u.name, r.name, ro.name, o.name FROM role_assignments a JOIN sub ON sub.id = a.org_id
			JOIN roles r ON r.id = a.role_id JOIN organisations ro ON ro.id = r.org_id
			JOIN users u ON u.id = a.user_id JOIN organisations o ON o.id = a.org_id
		WHERE NOT EXISTS (SELECT 1 FROM anc WHERE anc.org = a.org_id AND anc.id = r.org_id)
		ORDER BY u.name COLLATE NOCASE, r.name`, id)
	if err != nil {
		return fmt.Errorf("store: move organisation: roles: %w", err)
	}
	defer rows.Close()
	var stranded []string
	for rows.Next() {
		var user, role, roleOrg, org string
		if err := rows.Scan(&user, &role, &roleOrg, &org); err != nil {
			return err
		}
		stranded = append(stranded, fmt.Sprintf("%s holds %s (of %s) in %s", user, role, roleOrg, org))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(stranded) > 0 {
		return &ForeignRolesError{Holdings: stranded}
	}
	return nil
}

// OrgSettings are an organisation's own settings (PRODUCT.md §2.6, §2.7).
type OrgSettings struct {
	OneRole         bool
	LimitVisibility bool
	TwoStep         string // rbac.TwoStep…; "" keeps what it is
	SSORequired     *bool  // nil keeps what it is
}

// SetOrgSettings saves an organisation's role mode and member visibility. Switching to one
// role per person is refused with *SeveralRolesError, naming them, while anyone holds several
// roles there; the check runs in the write transaction, so no assignment slips in between.
func (s *Store) SetOrgSettings(ctx context.Context, id int64, set OrgSettings) error {
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		var cur OrgSettings
		var name string
		var curSSO bool
		err := tx.QueryRowContext(ctx, "SELECT name, role_mode = 'one', limit_visibility, two_step, sso_required FROM organisations WHERE id = ?", id).
			Scan(&name, &cur.OneRole, &cur.LimitVisibility, &cur.TwoStep, &curSSO)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: organisation settings: %w", err)
		}
		if set.OneRole && !cur.OneRole {
			several, err := severalRoles(ctx, tx, id)
			if err != nil {
				return err
			}
			if len(several) > 0 {
				return &SeveralRolesError{People: several}
			}
		}
		mode := map[bool]string{false: "many", true: "one"}
		if set.TwoStep == "" {
			set.TwoStep = cur.TwoStep
		}
		sso := curSSO
		if set.SSORequired != nil {
			sso = *set.SSORequired
		}
		if set.TwoStep != cur.TwoStep || sso != curSSO {
			if err := audit.RequireFresh(ctx); err != nil { // changing the policy is a step-up action
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE organisations SET role_mode = ?, limit_visibility = ?, two_step = ?, sso_required = ? WHERE id = ?",
			mode[set.OneRole], set.LimitVisibility, set.TwoStep, sso, id); err != nil {
			return fmt.Errorf("store: organisation settings: %w", err)
		}
		entry := func(key string, before, after any) error {
			return s.appendAudit(ctx, tx, audit.Entry{OrgID: id, Action: audit.SettingChanged, TargetType: "organisation", TargetID: id,
				TargetName: name, Before: audit.JSON(map[string]any{key: before}), After: audit.JSON(map[string]any{key: after})})
		}
		if set.OneRole != cur.OneRole {
			if err := entry("role_mode", mode[cur.OneRole], mode[set.OneRole]); err != nil {
				return err
			}
		}
		if set.LimitVisibility != cur.LimitVisibility {
			if err := entry("limit_visibility", cur.LimitVisibility, set.LimitVisibility); err != nil {
				return err
			}
		}
		if set.TwoStep != cur.TwoStep {
			if err := entry("two_step", cur.TwoStep, set.TwoStep); err != nil {
				return err
			}
		}
		if sso != curSSO {
			return entry("sso_required", curSSO, sso)
		}
		return nil
	})
}

// severalRoles lists the people holding more than one role in org (assignments made there).
func severalRoles(ctx context.Context, tx *sql.Tx, orgID int64) ([]PersonRoles, error) {
	rows, err := tx.QueryContext(ctx, `SELECT u.id, u.name, r.name FROM role_assignments a
		JOIN users u ON u.id = a.user_id JOIN roles r ON r.id = a.role_id
		WHERE a.org_id = ? AND a.user_id IN (SELECT user_id FROM role_assignments WHERE org_id = ? GROUP BY user_id HAVING count(*) > 1)
		ORDER BY u.name COLLATE NOCASE, u.id, r.name COLLATE NOCASE`, orgID, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: several roles: %w", err)
	}
	defer rows.Close()
	var out []PersonRoles
	for rows.Next() {
		var id int64
		var name, role string
		if err := rows.Scan(&id, &name, &role); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].UserID != id {
			out = append(out, PersonRoles{UserID: id, Name: name})
		}
		out[len(out)-1].Roles = append(out[len(out)-1].Roles, role)
	}
	return out, rows.Err()
}

// OrgDefaults returns the permission defaults set on an organisation itself, by key.
func (s *Store) OrgDefaults(ctx context.Context, orgID int64) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT perm, effect FROM org_defaults WHERE org_id = ?", orgID)
	if err != nil {
		return nil, fmt.Errorf("store: organisation defaults: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, e string
		if err := rows.Scan(&k, &e); err != nil {
			return nil, err
		}
		out[k] = e
	}
	return out, rows.Err()
}

// SetOrgDefaults sets permission defaults of an organisation in one transaction: effects are
// "allow", "deny" or "inherit" (no default). Each change is one audit entry; unchanged keys
// write nothing. The actor recorded as having set them comes from the context.
func (s *Store) SetOrgDefaults(ctx context.Context, orgID int64, effects map[string]string) error {
	keys := make([]string, 0, len(effects))
	for k := range effects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return s.withAccessTx(ctx, func(tx *sql.Tx) error {
		_, name, err := orgState(ctx, tx, orgID)
		if err != nil {
			return err
		}
		actor := audit.ActorFrom(ctx).UserID
		for _, perm := range keys {
			effect := effects[perm]
			before := "inherit"
			if err := tx.QueryRowContext(ctx, "SELECT effect FROM org_defaults WHERE org_id = ? AND perm = ?", orgID, perm).
				Scan(&before); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: organisation default: %w", err)
			}
			if before == effect {
				continue
			}
			if effect == "inherit" {
				_, err = tx.ExecContext(ctx, "DELETE FROM org_defaults WHERE org_id = ? AND perm = ?", orgID, perm)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO org_defaults (org_id, perm, effect, set_by, set_at) VALUES (?, ?, ?, ?, ?)
					ON CONFLICT (org_id, perm) DO UPDATE SET effect = excluded.effect, set_by = excluded.set_by, set_at = excluded.set_at`,
					orgID, perm, effect, nullID(actor), s.now().Unix())
			}
			if err != nil {
				return fmt.Errorf("store: organisation default: %w", err)
			}
			if err := s.appendAudit(ctx, tx, audit.Entry{OrgID: orgID, Action: audit.OrgDefaultSet, TargetType: "organisation", TargetID: orgID,
				TargetName: name, Before: audit.JSON(map[string]string{perm: before}), After: audit.JSON(map[string]string{perm: effect})}); err != nil {
				return err
			}
		}
		return nil
	})
}
