package staff

import (
	"slices"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// Member visibility (PRODUCT.md §2.6): whom a person may see. It widens what pages list,
// never what anyone may change: every change checks rbac's rules of who may act on whom.

// VisibleOrgs are the organisations whose staff viewer may see: where they hold staff.view,
// and everything below those, in id order.
func VisibleOrgs(snap *rbac.Snapshot, viewerID int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, o := range snap.OrgsWhere(viewerID, rbac.PermStaffView) {
		for _, id := range snap.Subtree(o) {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// ListScope is whom the staff list shows viewer: the staff of VisibleOrgs; everyone when
// they are a global admin or one of the organisations where they hold staff.view does not
// limit its members visibility.
func ListScope(snap *rbac.Snapshot, viewerID int64) store.Scope {
	sc := store.Scope{OrgIDs: VisibleOrgs(snap, viewerID), Everyone: snap.IsGlobalAdmin(viewerID)}
	for _, o := range snap.OrgsWhere(viewerID, rbac.PermStaffView) {
		if org, _ := snap.Org(o); !org.LimitVisibility {
			sc.Everyone = true
		}
	}
	return sc
}

// MemberScope is whom someone choosing people for orgID (members of one of its roles, an
// invitation to it) may see: the staff of orgID and below it, or everyone when orgID does not
// limit visibility, or for a global admin.
func MemberScope(snap *rbac.Snapshot, viewerID, orgID int64) store.Scope {
	org, _ := snap.Org(orgID)
	return store.Scope{Everyone: snap.IsGlobalAdmin(viewerID) || !org.LimitVisibility, OrgIDs: snap.Subtree(orgID)}
}

// InScope reports whether person is among those scope lets one see.
func InScope(snap *rbac.Snapshot, scope store.Scope, personID int64) bool {
	if _, known := snap.User(personID); !known {
		return false
	}
	if scope.Everyone {
		return true
	}
	return slices.ContainsFunc(snap.MemberOrgs(personID), func(o int64) bool { return slices.Contains(scope.OrgIDs, o) })
}

// Sees is where viewer sees person, for the person page and every change made from it: the
// organisations, among VisibleOrgs, that the page shows them in. Someone staff of one of the
// viewer's organisations (or below it) is shown in each of those where they are a member,
// below an organisation they are staff of included (grants apply downwards). Someone outside
// them, visible because an organisation where the viewer holds staff.view does not limit its
// members visibility (or to a global admin), is shown from those organisations. It is
// rbac.ErrNotFound for nobody, and *rbac.ForbiddenError (staff.view) for a person the viewer
// may not see.
func Sees(snap *rbac.Snapshot, viewerID, personID int64) ([]int64, error) {
	visible := VisibleOrgs(snap, viewerID)
	seen := slices.ContainsFunc(visible, func(o int64) bool { return snap.MemberWithin(personID, o) })
	var where []int64
	for _, o := range visible {
		if seen && (snap.MemberWithin(personID, o) || snap.MemberAt(personID, o)) {
			where = append(where, o)
		}
	}
	_, known := snap.User(personID)
	if len(where) == 0 && known && ListScope(snap, viewerID).Everyone {
		for _, o := range snap.OrgsWhere(viewerID, rbac.PermStaffView) {
			if org, _ := snap.Org(o); snap.IsGlobalAdmin(viewerID) || !org.LimitVisibility {
				where = append(where, o)
			}
		}
	}
	if len(where) == 0 {
		if known {
			return nil, rbac.NeedsAny(rbac.PermStaffView)
		}
		return nil, rbac.ErrNotFound
	}
	return where, nil
}

// Choosable reports whether actor, choosing the holders of roleID (a role of orgID), may name
// person: someone who holds the role already, or is staff of orgID or below it, or anyone at
// all when MemberScope lets the actor see everyone. It is the visibility of Select members'
// list, applied again when the choice is saved.
func Choosable(snap *rbac.Snapshot, actorID, orgID, roleID, personID int64) bool {
	_, known := snap.User(personID)
	return snap.HoldsRole(personID, roleID) || snap.MemberWithin(personID, orgID) ||
		(known && MemberScope(snap, actorID, orgID).Everyone)
}

// Assignable is the roles that can be given in orgID: the active roles of orgID and of the
// organisations above it, orgID's first. The person page offers them (the domain decides
// again, with the escalation guard, when one is chosen).
func Assignable(snap *rbac.Snapshot, orgID int64) []rbac.Role {
	var out []rbac.Role
	for _, anc := range snap.Ancestry(orgID) {
		for _, r := range snap.Roles() {
			if r.OrgID == anc && r.Active {
				out = append(out, r)
			}
		}
	}
	return out
}

// Grantable is the Assignable roles of orgID that actor may give there (the escalation
// guard, for someone not yet staff): the choices of the invitation form.
func Grantable(snap *rbac.Snapshot, actorID, orgID int64) []rbac.Role {
	var out []rbac.Role
	for _, r := range Assignable(snap, orgID) {
		if snap.CheckAssignments(actorID, []rbac.Assignment{{RoleID: r.ID, OrgID: orgID}}) == nil {
			out = append(out, r)
		}
	}
	return out
}

// Readable is the impact preview im as viewer, changing access in orgID, may read it: the
// people Select members would not show them (MemberScope) are counted but not named.
func Readable(snap *rbac.Snapshot, viewerID, orgID int64, im rbac.Impact) rbac.Impact {
	scope := MemberScope(snap, viewerID, orgID)
	return im.Hide(func(id int64) bool { return InScope(snap, scope, id) })
}
