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
