// Package staff is the domain of people in organisations: their roles, overrides, status
// and membership, each change checked against the guards of internal/rbac (who may act on
// whom, the escalation guard). It knows nothing of HTTP.
package staff

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/mail"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// Service changes people's access.
type Service struct {
	Store  *store.Store
	Access *rbac.Engine
	Mail   mail.Notifier // nil when mail is off
}

// Person loads person for viewer, with the organisations the viewer sees them in (Sees).
func (s *Service) Person(ctx context.Context, viewerID, personID int64) (store.Person, []int64, error) {
	where, err := Sees(s.Access.Now(), viewerID, personID)
	if err != nil {
		return store.Person{}, nil, err
	}
	p, err := s.Store.Person(ctx, personID)
	return p, where, err
}

// List is one page of the staff list for viewer: the people and pending invitations of
// ListScope (q's OrgIDs and Everyone are set from it, whatever they were), and how many match.
func (s *Service) List(ctx context.Context, viewerID int64, q store.StaffQuery) ([]store.StaffRow, int, error) {
	scope := ListScope(s.Access.Now(), viewerID)
	q.OrgIDs, q.Everyone = scope.OrgIDs, scope.Everyone
	return s.Store.ListStaff(ctx, q)
}

// Invited is the first limit pending invitations to the organisations whose staff viewer
// sees (VisibleOrgs; never everyone's), and how many there are: the home page's list.
func (s *Service) Invited(ctx context.Context, viewerID int64, limit int) ([]store.StaffRow, int, error) {
	return s.Store.ListStaff(ctx, store.StaffQuery{OrgIDs: VisibleOrgs(s.Access.Now(), viewerID), Status: "invited", Limit: limit})
}

// refused turns a guard's answer into what the page shows: problems beside field for a
// refusal with a reason, the *rbac.ForbiddenError itself (the caller's 403) for a missing
// permission, and other errors unchanged.
func refused(snap *rbac.Snapshot, field string, userID, orgID int64, err error) (valid.Problems, error) {
	if err == nil {
		return nil, nil
	}
	if errors.Is(err, rbac.ErrNotStaffThere) {
		u, _ := snap.User(userID)
		o, _ := snap.Org(orgID)
		return valid.Problems{field: u.Name + " is not staff of " + o.Name + "."}, nil
	}
	if msg, ok := rbac.RefusalMessage(snap.Catalog(), err); ok {
		return valid.Problems{field: msg}, nil
	}
	return nil, err
}

// AssignRole gives user role in org, optionally replacing another role there. In an
// organisation whose role mode is "one role per person" someone who holds a role there can
// only be moved to another: the caller passes the current role as replaceRoleID, and adding a
// second role is refused. Giving a role is granting (the escalation guard decides); replacing
// one also takes access away (the actor must be able to act on the person there).
//
// until, when not 0, is when the role ends (Unix seconds): it must be in the future. Giving
// a role the person holds there already changes its end; an earlier end takes access away
// sooner, so the actor must be able to act on the person.
func (s *Service) AssignRole(ctx context.Context, actorID, userID, roleID, orgID, replaceRoleID, until int64) (valid.Problems, error) {
	snap := s.Access.Now()
	if until != 0 && until <= s.Store.Now().Unix() {
		return valid.Problems{"until": "Choose an end in the future."}, nil
	}
	if !snap.Can(actorID, orgID, rbac.PermStaffManage) {
		return nil, snap.Forbidden(orgID, rbac.PermStaffManage)
	}
	if _, ok := snap.Role(roleID); !ok || roleID <= 0 {
		// No default: a role picker starts on "Choose a role…", and choosing is the admin's.
		return valid.Problems{"role": "Choose a role."}, nil
	}
	if !snap.MemberWithin(userID, orgID) && !snap.MemberAt(userID, orgID) {
		return refused(snap, "role", userID, orgID, rbac.ErrNotStaffThere)
	}
	if replaceRoleID == roleID {
		return valid.Problems{"role": "They already hold that role."}, nil
	}
	held, holds := snap.AssignmentOf(userID, roleID, orgID)
	if holds && replaceRoleID == 0 {
		if held.Until == until {
			return nil, nil // as asked already
		}
		if rbac.Shortens(held.Until, until) {
			if p, err := refused(snap, "until", userID, orgID, snap.CheckPersonChange(actorID, userID, orgID)); p != nil || err != nil {
				return p, err
			}
		}
	}
	holdsHere := len(snap.RolesIn(userID, orgID)) > 0
	if snap.OneRole(orgID) && replaceRoleID == 0 && holdsHere && !holds {
		return oneRoleProblem(snap, orgID), nil
	}
	if replaceRoleID != 0 {
		if p, err := refused(snap, "role", userID, orgID, snap.CheckPersonChange(actorID, userID, orgID)); p != nil || err != nil {
			return p, err
		}
	}
	if p, err := refused(snap, "role", userID, orgID, snap.CheckAssignments(actorID, []rbac.Assignment{{UserID: userID, RoleID: roleID, OrgID: orgID}})); p != nil || err != nil {
		return p, err
	}
	err := s.Store.AssignRoleUntil(ctx, userID, roleID, orgID, replaceRoleID, actorID, until)
	if errors.Is(err, store.ErrOneRole) { // the role mode changed since the snapshot
		return oneRoleProblem(snap, orgID), nil
	}
	return nil, err
}

func oneRoleProblem(snap *rbac.Snapshot, orgID int64) valid.Problems {
	o, _ := snap.Org(orgID)
	return valid.Problems{"role": "In " + o.Name + " each person holds one role: change their role instead of adding another."}
}

// CheckRemoveRole is the guard of taking a role in org away from user: the person page's
// Remove and an access review's Revoke both ask it.
func CheckRemoveRole(snap *rbac.Snapshot, actorID, userID, orgID int64) error {
	return snap.CheckPersonChange(actorID, userID, orgID)
}

// CheckRemoveOverride is the guard of setting user's override of perm in org back to
// inherit, as the person page's override form asks it: removing a deny grants, so the
// escalation guard has its say too.
func CheckRemoveOverride(snap *rbac.Snapshot, actorID, userID, orgID int64, perm string) error {
	if err := snap.CheckPersonChange(actorID, userID, orgID); err != nil {
		return err
	}
	return snap.CheckOverride(actorID, userID, orgID, perm, rbac.Inherit)
}

// Refusal words a guard's refusal of a change to user's access in org as a page shows it;
// a missing permission and other errors come back as the error.
func Refusal(snap *rbac.Snapshot, userID, orgID int64, err error) (string, error) {
	p, err := refused(snap, "x", userID, orgID, err)
	return p["x"], err
}

// RemoveRole takes role in org away from user.
func (s *Service) RemoveRole(ctx context.Context, actorID, userID, roleID, orgID int64) (valid.Problems, error) {
	snap := s.Access.Now()
	if p, err := refused(snap, "role", userID, orgID, CheckRemoveRole(snap, actorID, userID, orgID)); p != nil || err != nil {
		return p, err
	}
	return nil, s.Store.UnassignRole(ctx, userID, roleID, orgID, actorID)
}

// SetOverride sets user's override of perm in org. Mandatory permissions have none: they
// are always granted.
//
// until, when not 0, is when an allow ends (Unix seconds, in the future); a deny has none.
func (s *Service) SetOverride(ctx context.Context, actorID, userID, orgID int64, perm, effect string, until int64) (valid.Problems, error) {
	snap := s.Access.Now()
	if until != 0 && effect != "allow" {
		return valid.Problems{"until": "Only an allow can have an end."}, nil
	}
	if until != 0 && until <= s.Store.Now().Unix() {
		return valid.Problems{"until": "Choose an end in the future."}, nil
	}
	if p, err := refused(snap, "effect", userID, orgID, snap.CheckPersonChange(actorID, userID, orgID)); p != nil || err != nil {
		return p, err
	}
	e, err := rbac.ParseEffect(effect)
	if err != nil {
		return valid.Problems{"effect": "Choose inherit, allow or deny."}, nil
	}
	p, ok := snap.Catalog().Get(perm)
	if !ok {
		return valid.Problems{"effect": "Unknown permission " + perm + "."}, nil
	}
	if p.Mandatory && e != rbac.Inherit {
		return valid.Problems{"effect": p.Label + " is always granted to every member; it has no override."}, nil
	}
	if pr, err := refused(snap, "effect", userID, orgID, snap.CheckOverride(actorID, userID, orgID, perm, e)); pr != nil || err != nil {
		return pr, err
	}
	return nil, s.Store.SetOverrideUntil(ctx, userID, orgID, perm, e.String(), actorID, until)
}

// SetDisabled disables or enables user's account, which is theirs in every organisation they
// belong to: the actor needs staff.manage in each of them and must be able to act on the
// person there (rbac.CheckAccountChange). Nobody disables themselves.
func (s *Service) SetDisabled(ctx context.Context, actorID, userID int64, disabled bool) (valid.Problems, error) {
	snap := s.Access.Now()
	if _, ok := snap.User(userID); !ok {
		return nil, store.ErrNotFound
	}
	if disabled && actorID == userID {
		return valid.Problems{"status": "You cannot disable your own account."}, nil
	}
	check := snap.CheckAccountChange
	if !disabled {
		check = snap.CheckEnable
	}
	if p, err := refused(snap, "status", userID, 0, check(actorID, userID)); p != nil || err != nil {
		return p, err
	}
	return nil, s.Store.SetDisabled(ctx, userID, snap.MemberOrgs(userID), disabled, actorID)
}

// ResetTwoStep turns off user's second step of signing in (a lost phone and no recovery
// code left): the same rule as disabling applies, it asks for the actor's own fresh second
// step, and their sessions end, so the next sign-in is theirs to set up again.
func (s *Service) ResetTwoStep(ctx context.Context, actorID, userID int64) (valid.Problems, error) {
	snap := s.Access.Now()
	if _, ok := snap.User(userID); !ok {
		return nil, store.ErrNotFound
	}
	if actorID == userID {
		return valid.Problems{"two_step": "Turn your own off on your Account page, with a code."}, nil
	}
	if p, err := refused(snap, "two_step", userID, 0, snap.CheckAccountChange(actorID, userID)); p != nil || err != nil {
		return p, err
	}
	if err := audit.RequireFresh(ctx); err != nil {
		return nil, err
	}
	orgs := snap.MemberOrgs(userID)
	if err := s.Store.RemoveTwoStep(ctx, userID, orgs, true); err != nil {
		return nil, err
	}
	return nil, s.Store.DeleteUserSessions(ctx, userID, orgs, actorID)
}

// EndSessions signs user out everywhere; the same rule as disabling applies.
func (s *Service) EndSessions(ctx context.Context, actorID, userID int64) (valid.Problems, error) {
	snap := s.Access.Now()
	if _, ok := snap.User(userID); !ok {
		return nil, store.ErrNotFound
	}
	if p, err := refused(snap, "status", userID, 0, snap.CheckAccountChange(actorID, userID)); p != nil || err != nil {
		return p, err
	}
	return nil, s.Store.DeleteUserSessions(ctx, userID, snap.MemberOrgs(userID), actorID)
}

// RemoveFromOrganisation ends user's membership of org and everything below it. The actor
// must be able to act on them in each of those organisations they belong to.
func (s *Service) RemoveFromOrganisation(ctx context.Context, actorID, userID, orgID int64) (valid.Problems, error) {
	if actorID == userID {
		return valid.Problems{"org": "You cannot remove yourself."}, nil
	}
	snap := s.Access.Now()
	if p, err := refused(snap, "org", userID, orgID, snap.CheckPersonChange(actorID, userID, orgID)); p != nil || err != nil {
		return p, err
	}
	sub := snap.Subtree(orgID)
	var theirs []int64
	for _, o := range snap.MemberOrgs(userID) {
		if slices.Contains(sub, o) {
			theirs = append(theirs, o)
		}
	}
	if p, err := refused(snap, "org", userID, orgID, snap.CheckActOn(actorID, userID, theirs...)); p != nil || err != nil {
		return p, err
	}
	return nil, s.Store.RemoveFromOrganisation(ctx, userID, sub, actorID)
}

// EndingSoon lists the time-bound grants ending within the coming 7 days in the
// organisations where viewer holds staff.manage (and those below them), soonest first.
func (s *Service) EndingSoon(ctx context.Context, viewerID int64, limit int) ([]store.Ending, error) {
	snap := s.Access.Now()
	orgs := snap.OrgsWhere(viewerID, rbac.PermStaffManage)
	now := s.Store.Now()
	return s.Store.EndingSoon(ctx, orgs, now.Unix(), now.Add(7*24*time.Hour).Unix(), limit)
}
