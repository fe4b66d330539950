// Package staff is the domain of people in organisations: their roles, overrides, status
// and membership, each change checked against the escalation guard. It knows nothing of HTTP.
package staff

import (
	"context"
	"errors"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// ErrForbidden is returned when the actor lacks staff.manage in the organisation concerned.
var ErrForbidden = errors.New("staff: not allowed in this organisation")

// Service changes people's access.
type Service struct {
	Store  *store.Store
	Access *rbac.Engine
	Mail   Mailer // nil when mail is off
}

func (s *Service) allowed(snap *rbac.Snapshot, actorID, orgID int64) error {
	if !snap.Can(actorID, orgID, rbac.PermStaffManage) {
		return ErrForbidden
	}
	return nil
}

// refusal turns a guard refusal into a message for the page.
func refusal(cat *rbac.Catalog, err error) (valid.Problems, bool) {
	msg, ok := rbac.RefusalMessage(cat, err)
	if !ok {
		return nil, false
	}
	return valid.Problems{"role": msg}, true
}

// AssignRole gives user role in org, optionally replacing another role there. In an
// organisation whose role mode is "one role per person" someone who holds a role there can
// only be moved to another: the caller passes the current role as replaceRoleID, and adding a
// second role is refused.
func (s *Service) AssignRole(ctx context.Context, actorID, userID, roleID, orgID, replaceRoleID int64) (valid.Problems, error) {
	snap := s.Access.Now()
	if err := s.allowed(snap, actorID, orgID); err != nil {
		return nil, err
	}
	if !snap.MemberWithin(userID, orgID) && !snap.MemberAt(userID, orgID) {
		return valid.Problems{"role": "This person is not staff of that organisation."}, nil
	}
	if replaceRoleID == roleID {
		return valid.Problems{"role": "They already hold that role."}, nil
	}
	if snap.OneRole(orgID) && replaceRoleID == 0 && len(snap.RolesIn(userID, orgID)) > 0 {
		return oneRoleProblem(snap, orgID), nil
	}
	if err := snap.CheckAssignments(actorID, []rbac.Assignment{{UserID: userID, RoleID: roleID, OrgID: orgID}}); err != nil {
		if p, ok := refusal(snap.Catalog(), err); ok {
			return p, nil
		}
		return nil, err
	}
	err := s.Store.AssignRole(ctx, userID, roleID, orgID, replaceRoleID, actorID)
	if errors.Is(err, store.ErrOneRole) { // the role mode changed since the snapshot
		return oneRoleProblem(snap, orgID), nil
	}
	return nil, err
}

func oneRoleProblem(snap *rbac.Snapshot, orgID int64) valid.Problems {
	o, _ := snap.Org(orgID)
	return valid.Problems{"role": "In " + o.Name + " each person holds one role: change their role instead of adding another."}
}

// RemoveRole takes role in org away from user.
func (s *Service) RemoveRole(ctx context.Context, actorID, userID, roleID, orgID int64) error {
	if err := s.allowed(s.Access.Now(), actorID, orgID); err != nil {
		return err
	}
	return s.Store.UnassignRole(ctx, userID, roleID, orgID)
}

// SetOverride sets user's override of perm in org.
func (s *Service) SetOverride(ctx context.Context, actorID, userID, orgID int64, perm, effect string) (valid.Problems, error) {
	snap := s.Access.Now()
	if err := s.allowed(snap, actorID, orgID); err != nil {
		return nil, err
	}
	e, err := rbac.ParseEffect(effect)
	if err != nil {
		return valid.Problems{"effect": "Choose inherit, allow or deny."}, nil
	}
	if !snap.Catalog().Has(perm) {
		return valid.Problems{"effect": "Unknown permission " + perm + "."}, nil
	}
	if err := snap.CheckOverride(actorID, userID, orgID, perm, e); err != nil {
		if p, ok := refusal(snap.Catalog(), err); ok {
			return valid.Problems{"effect": p["role"]}, nil
		}
		return nil, err
	}
	return nil, s.Store.SetOverride(ctx, userID, orgID, perm, e.String(), actorID)
}

// SetDisabled disables or enables user. The actor needs staff.manage in an organisation the
// person is staff of; nobody disables themselves.
func (s *Service) SetDisabled(ctx context.Context, actorID, userID int64, orgID int64, disabled bool) (valid.Problems, error) {
	if err := s.allowed(s.Access.Now(), actorID, orgID); err != nil {
		return nil, err
	}
	if disabled && actorID == userID {
		return valid.Problems{"status": "You cannot disable your own account."}, nil
	}
	return nil, s.Store.SetDisabled(ctx, userID, orgID, disabled)
}

// RemoveFromOrganisation ends user's membership of org and everything below it.
func (s *Service) RemoveFromOrganisation(ctx context.Context, actorID, userID, orgID int64) error {
	snap := s.Access.Now()
	if err := s.allowed(snap, actorID, orgID); err != nil {
		return err
	}
	return s.Store.RemoveFromOrganisation(ctx, userID, snap.Subtree(orgID))
}
