// Package orgs is the domain of the organisation tree: creating, renaming and moving
// organisations, their role mode and member visibility, and their permission defaults
// (PRODUCT.md §1.3 step 3, §2.7), each checked against orgs.manage and the escalation guard.
// It knows nothing of HTTP.
package orgs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// MaxName is the longest organisation name, as at setup.
const MaxName = 100

// ErrGlobalAdminOnly is behind the refusal (*rbac.ForbiddenError, errors.Is finds it) when
// someone other than a global admin creates a top-level organisation or moves one.
var ErrGlobalAdminOnly = errors.New("orgs: only a global admin may create or move a top-level organisation")

// topLevelRefusal is the refusal of creating or moving a top-level organisation.
func topLevelRefusal() error {
	return rbac.GlobalAdminOnly("Only a global admin can create a top-level organisation or move one.", ErrGlobalAdminOnly)
}

// Service changes the organisation tree and organisation settings.
type Service struct {
	Store  *store.Store
	Access *rbac.Engine
	// SystemRoles are seeded in every new top-level organisation.
	SystemRoles []rbac.RoleTemplate
}

// manage loads org from the snapshot and checks the actor holds orgs.manage there.
func manage(snap *rbac.Snapshot, actorID, orgID int64) (rbac.Org, error) {
	o, ok := snap.Org(orgID)
	if !ok {
		return o, store.ErrNotFound
	}
	if !snap.Can(actorID, orgID, rbac.PermOrgsManage) {
		return o, snap.Forbidden(orgID, rbac.PermOrgsManage)
	}
	return o, nil
}

// Manageable lists the organisations in which actor holds orgs.manage, in id order.
func (s *Service) Manageable(actorID int64) []int64 {
	return s.Access.Now().OrgsWhere(actorID, rbac.PermOrgsManage)
}

// Create adds an organisation named name under parentID, or a top-level one when parentID is
// 0 (global admins only; it gets the system roles). Problems are keyed by "name".
func (s *Service) Create(ctx context.Context, actorID, parentID int64, name string) (int64, valid.Problems, error) {
	snap := s.Access.Now()
	if parentID == 0 {
		if !snap.IsGlobalAdmin(actorID) {
			return 0, nil, topLevelRefusal()
		}
	} else if _, err := manage(snap, actorID, parentID); err != nil {
		return 0, nil, err
	}
	name, msg := valid.Text(name, true, MaxName)
	if msg != "" {
		return 0, valid.Problems{"name": msg}, nil
	}
	id, err := s.Store.AddOrganisation(ctx, store.NewOrganisation{Name: name, ParentID: parentID, SystemRoles: s.SystemRoles})
	if errors.Is(err, store.ErrOrgNameTaken) {
		return 0, valid.Problems{"name": takenText(snap, parentID, name)}, nil
	}
	return id, nil, err
}

func takenText(snap *rbac.Snapshot, parentID int64, name string) string {
	if p, ok := snap.Org(parentID); ok {
		return fmt.Sprintf("%s already has an organisation called %s.", p.Name, name)
	}
	return fmt.Sprintf("There is already a top-level organisation called %s.", name)
}

// Rename renames org. Problems are keyed by "name".
func (s *Service) Rename(ctx context.Context, actorID, orgID int64, name string) (valid.Problems, error) {
	snap := s.Access.Now()
	o, err := manage(snap, actorID, orgID)
	if err != nil {
		return nil, err
	}
	name, msg := valid.Text(name, true, MaxName)
	if msg != "" {
		return valid.Problems{"name": msg}, nil
	}
	err = s.Store.RenameOrganisation(ctx, orgID, name)
	if errors.Is(err, store.ErrOrgNameTaken) {
		return valid.Problems{"name": takenText(snap, o.ParentID, name)}, nil
	}
	return nil, err
}

// Move puts org (with everything below it) under parentID. The actor needs orgs.manage in
// the organisation, where it is now and where it goes; only a global admin moves a top-level
// organisation. Problems are keyed by "parent".
func (s *Service) Move(ctx context.Context, actorID, orgID, parentID int64) (valid.Problems, error) {
	snap := s.Access.Now()
	o, err := manage(snap, actorID, orgID)
	if err != nil {
		return nil, err
	}
	if parentID <= 0 {
		return valid.Problems{"parent": "Choose the organisation to move it under."}, nil
	}
	if o.ParentID == 0 && !snap.IsGlobalAdmin(actorID) {
		return nil, topLevelRefusal()
	}
	if o.ParentID != 0 {
		if _, err := manage(snap, actorID, o.ParentID); err != nil {
			return nil, err
		}
	}
	if _, err := manage(snap, actorID, parentID); err != nil {
		return nil, err
	}
	if err := snap.CheckMove(actorID, orgID, parentID); err != nil {
		return moveProblem(snap.Catalog(), err)
	}
	err = s.Store.MoveOrganisation(ctx, orgID, parentID)
	var fe *store.ForeignRolesError
	switch {
	case errors.Is(err, store.ErrOrgNameTaken):
		return valid.Problems{"parent": takenText(snap, parentID, o.Name)}, nil
	case errors.Is(err, store.ErrMoveBelowItself):
		return moveProblem(snap.Catalog(), rbac.ErrMoveBelowItself)
	case errors.As(err, &fe):
		return valid.Problems{"parent": "Some people hold roles of an organisation that would no longer be above them: " +
			listed(fe.Holdings) + ". Change or remove those roles first."}, nil
	}
	return nil, err
}

func moveProblem(cat *rbac.Catalog, err error) (valid.Problems, error) {
	if errors.Is(err, rbac.ErrMoveBelowItself) {
		return valid.Problems{"parent": "An organisation cannot move under itself or under an organisation below it."}, nil
	}
	if p, ok := escalation(cat, err); ok {
		return valid.Problems{"parent": p}, nil
	}
	return nil, err
}

// listed joins up to ten items, saying how many more there are.
func listed(items []string) string {
	if len(items) > 10 {
		return strings.Join(items[:10], "; ") + fmt.Sprintf("; and %d more", len(items)-10)
	}
	return strings.Join(items, "; ")
}

// escalation turns a guard refusal into a sentence naming the permissions by label.
func escalation(cat *rbac.Catalog, err error) (string, bool) { return rbac.RefusalMessage(cat, err) }

// Settings is what the settings form sends: role mode "many" or "one", and member visibility
// limited "yes" or "no".
type Settings struct {
	RoleMode        string
	LimitVisibility string
	TwoStep         string // whom two-step sign-in is required of: rbac.TwoStep…; "" keeps it
	SSORequired     string // "yes" or "no": staff sign in through the identity provider; "" keeps it
}

// SaveSettings saves org's role mode and member visibility. Switching to one role per person
// is refused while anyone holds several roles there, naming them (nothing is written).
// Problems are keyed by "role_mode", "limit_visibility" and "two_step".
func (s *Service) SaveSettings(ctx context.Context, actorID, orgID int64, f Settings) (valid.Problems, error) {
	if _, err := manage(s.Access.Now(), actorID, orgID); err != nil {
		return nil, err
	}
	p := valid.Problems{}
	if f.RoleMode != "many" && f.RoleMode != "one" {
		p.Add("role_mode", "Choose several roles per person or one role per person.")
	}
	if f.LimitVisibility != "yes" && f.LimitVisibility != "no" {
		p.Add("limit_visibility", "Choose Yes or No.")
	}
	var sso *bool
	switch f.SSORequired {
	case "":
	case "yes", "no":
		v := f.SSORequired == "yes"
		sso = &v
	default:
		p.Add("sso_required", "Choose Yes or No.")
	}
	if f.TwoStep != "" && !rbac.ValidTwoStep(f.TwoStep) { // "" keeps it as it is
		p.Add("two_step", "Choose optional, required for admins or required for everyone.")
	}
	if len(p) > 0 {
		return p, nil
	}
	err := s.Store.SetOrgSettings(ctx, orgID, store.OrgSettings{OneRole: f.RoleMode == "one", LimitVisibility: f.LimitVisibility == "yes",
		TwoStep: f.TwoStep, SSORequired: sso})
	var se *store.SeveralRolesError
	if errors.As(err, &se) {
		people := make([]string, len(se.People))
		for i, pr := range se.People {
			people[i] = pr.Name + " (" + strings.Join(pr.Roles, ", ") + ")"
		}
		return valid.Problems{"role_mode": "One role per person needs everyone here to hold at most one role. These people hold several: " +
			listed(people) + ". Change their roles first."}, nil
	}
	return nil, err
}

// PreviewDefaults is the impact of saving effects (as SaveDefaults takes them) as orgID's
// defaults, for someone who may change them; keys the catalog does not know, effects it
// cannot read and mandatory permissions change nothing.
func (s *Service) PreviewDefaults(actorID, orgID int64, effects map[string]string) (rbac.Impact, error) {
	snap := s.Access.Now()
	if _, err := manage(snap, actorID, orgID); err != nil {
		return rbac.Impact{}, err
	}
	return snap.PreviewDefaults(orgID, parsedEffects(snap.Catalog(), effects)), nil
}

func parsedEffects(cat *rbac.Catalog, effects map[string]string) map[string]rbac.Effect {
	out := make(map[string]rbac.Effect, len(effects))
	for k, v := range effects {
		if p, ok := cat.Get(k); ok && p.Mandatory {
			continue
		}
		if e, err := rbac.ParseEffect(v); err == nil && v != "" {
			out[k] = e
		}
	}
	return out
}

// DefaultFieldPrefix starts the form field of each permission's default on the settings page.
const DefaultFieldPrefix = "perm."

// DefaultField is the form field of perm's default on the settings page.
func DefaultField(perm string) string { return DefaultFieldPrefix + perm }

// SaveDefaults sets org's permission defaults from effects (catalog key → "inherit", "allow"
// or "deny"); keys left out keep their default. Every change passes the escalation guard;
// mandatory permissions have no default (they are always granted). Problems are keyed by
// DefaultField(key), or "defaults" for keys the catalog does not know; with any problem
// nothing is written.
func (s *Service) SaveDefaults(ctx context.Context, actorID, orgID int64, effects map[string]string, confirm rbac.Confirmation) (valid.Problems, error) {
	snap := s.Access.Now()
	if _, err := manage(snap, actorID, orgID); err != nil {
		return nil, err
	}
	cat := snap.Catalog()
	current := map[string]rbac.Effect{}
	for _, d := range snap.OrgDefaults() {
		if d.OrgID == orgID {
			current[d.Perm] = d.Effect
		}
	}
	keys := make([]string, 0, len(effects))
	for k := range effects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p := valid.Problems{}
	var unknown []string
	changes := map[string]string{}
	for _, k := range keys {
		perm, ok := cat.Get(k)
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		e, err := rbac.ParseEffect(effects[k])
		if err != nil || effects[k] == "" {
			p.Add(DefaultField(k), "Choose inherit, allow or deny.")
			continue
		}
		if e == current[k] {
			continue
		}
		if perm.Mandatory && e != rbac.Inherit {
			p.Add(DefaultField(k), perm.Label+" is always granted; it has no default.")
			continue
		}
		if err := snap.CheckOrgDefault(actorID, orgID, k, e); err != nil {
			msg, ok := escalation(cat, err)
			if !ok {
				return nil, err
			}
			p.Add(DefaultField(k), msg)
			continue
		}
		changes[k] = e.String()
	}
	if len(unknown) > 0 {
		p.Add("defaults", "Unknown permissions: "+strings.Join(unknown, ", ")+".")
	}
	if len(p) > 0 {
		return p, nil
	}
	if len(changes) == 0 {
		return nil, nil
	}
	if err := confirm.Allows(snap.PreviewDefaults(orgID, parsedEffects(cat, changes))); err != nil {
		return nil, err
	}
	return nil, s.Store.SetOrgDefaults(ctx, orgID, changes)
}
