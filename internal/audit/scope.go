package audit

import (
	"slices"

	"github.com/rolegate/rolegate/internal/rbac"
)

// Who may read which entries (PRODUCT.md §2.8): a global admin every entry; anyone else the
// entries of the organisations where they hold audit.view and of those below. Entries about
// no organisation (sign-ins, portal settings) are for global admins only. The audit page, its
// exports, the home page's recent changes and the History panels all read through these.

// Scope is the organisations whose entries reader may read: nil for every entry (a global
// admin), else those where they hold audit.view and those below, in id order (empty, never
// nil, when there are none).
func Scope(snap *rbac.Snapshot, readerID int64) []int64 {
	if snap.IsGlobalAdmin(readerID) {
		return nil
	}
	out := []int64{}
	for _, o := range snap.OrgsWhere(readerID, rbac.PermAuditView) {
		for _, id := range snap.Subtree(o) {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Readable reports whether reader may read the entries about orgID.
func Readable(snap *rbac.Snapshot, readerID, orgID int64) bool {
	scope := Scope(snap, readerID)
	return scope == nil || slices.Contains(scope, orgID)
}

// Within is what reader reads when filtering on orgID: orgID and the organisations below it.
// It is rbac.ErrNotFound when orgID names no organisation, and *rbac.ForbiddenError when
// reader may not read orgID's entries.
func Within(snap *rbac.Snapshot, readerID, orgID int64) ([]int64, error) {
	if _, known := snap.Org(orgID); !known {
		return nil, rbac.ErrNotFound
	}
	if !Readable(snap, readerID, orgID) {
		return nil, rbac.NeedsAny(rbac.PermAuditView)
	}
	return snap.Subtree(orgID), nil
}
