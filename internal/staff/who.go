package staff

import (
	"errors"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/rbac"
)

// "Who can…" (PRODUCT.md §2.12): everyone who holds a permission in an organisation, and why,
// as far as the viewer may see people. The page, its CSV and the API's holders all ask here.

// ErrUnknownPermission is a permission key the catalog does not have.
var ErrUnknownPermission = errors.New("staff: unknown permission")

// Reason kinds a holder's access comes from: the API's decided_by values.
const (
	KindRole        = "role"
	KindOverride    = "override"
	KindDefault     = "org_default"
	KindEmergency   = "emergency"
	KindGlobalAdmin = "global_admin"
	KindCatalog     = "catalog" // a mandatory permission: every member holds it
)

// Kinds are the reason kinds in the order a filter offers them.
var Kinds = []string{KindRole, KindOverride, KindDefault, KindEmergency, KindGlobalAdmin, KindCatalog}

// KindLabel names a reason kind for people.
func KindLabel(kind string) string {
	switch kind {
	case KindRole:
		return "Role"
	case KindOverride:
		return "Override"
	case KindDefault:
		return "Organisation default"
	case KindEmergency:
		return "Emergency access"
	case KindGlobalAdmin:
		return "Global admin"
	case KindCatalog:
		return "Always granted"
	}
	return kind
}

// Holders is who holds perm in orgID, each with the decision that grants it, as viewer may
// see them: viewer needs staff.view in orgID, and people outside ListScope are left out, so
// the answer never names someone the staff list would not show them. Unknown organisation:
// rbac.ErrNotFound; unknown permission: ErrUnknownPermission.
func Holders(snap *rbac.Snapshot, viewerID, orgID int64, perm string) ([]rbac.Holder, error) {
	if _, ok := snap.Org(orgID); !ok {
		return nil, rbac.ErrNotFound
	}
	if !snap.Catalog().Has(perm) {
		return nil, ErrUnknownPermission
	}
	if !snap.Can(viewerID, orgID, rbac.PermStaffView) {
		return nil, snap.Forbidden(orgID, rbac.PermStaffView)
	}
	scope := ListScope(snap, viewerID)
	hs := snap.HoldersOf(orgID, perm)
	if scope.Everyone {
		return hs, nil
	}
	return slices.DeleteFunc(hs, func(h rbac.Holder) bool { return !InScope(snap, scope, h.UserID) }), nil
}

// WhoQuery is a "Who can…" question: the permission, the organisation, and the filters.
type WhoQuery struct {
	OrgID int64
	Perm  string
	Q     string // part of a name or email, any case
	Kind  string // one of Kinds, or "" for all
}

// WhoRow is one holder as the page and its CSV show them.
type WhoRow struct {
	User   rbac.User
	Orgs   []int64 // where they are staff, among the organisation asked about, above and below it
	Kind   string
	Reason string
}

// WhoAnswer is the holders matching a WhoQuery, by name, and how many hold it before the
// filters.
type WhoAnswer struct {
	Rows  []WhoRow
	Total int
}

// Who answers q for viewer (Holders, then the filters).
func Who(snap *rbac.Snapshot, viewerID int64, q WhoQuery) (WhoAnswer, error) {
	hs, err := Holders(snap, viewerID, q.OrgID, q.Perm)
	if err != nil {
		return WhoAnswer{}, err
	}
	near := map[int64]bool{}
	for _, id := range snap.Subtree(q.OrgID) {
		near[id] = true
	}
	for _, id := range snap.Ancestry(q.OrgID) {
		near[id] = true
	}
	text := strings.ToLower(strings.TrimSpace(q.Q))
	// Most holders share a handful of reasons (the same role, the same default): each
	// sentence is written once.
	reasons := map[rbac.Decision]string{}
	out := WhoAnswer{Total: len(hs)}
	for _, h := range hs {
		u, _ := snap.User(h.UserID)
		kind := h.Decision.DecidedBy()
		if q.Kind != "" && kind != q.Kind {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(u.Name), text) && !strings.Contains(u.Email, text) {
			continue
		}
		reason, ok := reasons[h.Decision]
		if !ok {
			reason = snap.Reason(h.Decision, q.OrgID)
			reasons[h.Decision] = reason
		}
		row := WhoRow{User: u, Kind: kind, Reason: reason}
		for _, o := range snap.MemberOrgs(u.ID) {
			if near[o] {
				row.Orgs = append(row.Orgs, o)
			}
		}
		out.Rows = append(out.Rows, row)
	}
	slices.SortStableFunc(out.Rows, func(a, b WhoRow) int {
		if c := strings.Compare(strings.ToLower(a.User.Name), strings.ToLower(b.User.Name)); c != 0 {
			return c
		}
		return int(a.User.ID - b.User.ID)
	})
	return out, nil
}

// ValidKind reports whether kind is "" or one of Kinds.
func ValidKind(kind string) bool { return kind == "" || slices.Contains(Kinds, kind) }
