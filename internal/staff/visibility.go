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
