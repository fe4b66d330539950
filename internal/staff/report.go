package staff

import (
	"context"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/orgs"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// The access report (PRODUCT.md §2.12): roles × members × permissions of an organisation and
// those below it, what an auditor asks for.

// Report is the access report of Root and the organisations below it.
type Report struct {
	Root int64
	Orgs []OrgReport // Root first, then the tree below it
	// People is how many different people it lists; Assignments, Overrides and Defaults
	// count its lines.
	People, Assignments, Overrides, Defaults int
}

// OrgReport is one organisation of a Report.
type OrgReport struct {
	Org       rbac.Org
	Roles     []RoleReport // the roles given here, by name
	Overrides []OverrideLine
	Defaults  []rbac.OrgDefault // in catalog order
}

// RoleReport is a role given in an organisation, with whom it was given to there.
type RoleReport struct {
	Role    rbac.Role
	Members []ReportMember // by name
}

// ReportMember is one holder of a role: since when, and until when if it ends.
type ReportMember struct {
	User         rbac.User
	Since, Until int64 // Unix seconds; Until 0: it does not end
}

// OverrideLine is one user-level override.
type OverrideLine struct {
	User   rbac.User
	Perm   string
	Effect rbac.Effect
	SetBy  string // who set it ("" when unknown)
	Until  int64
}

// ReportPermissions are the permissions the report needs in the organisation: it lists people
// and their roles, which staff.view lets one see (the staff list and the person page show
// both). Viewing roles needs roles.manage or staff.view (roles.ViewPermissions), so staff.view
// alone covers the roles too, and someone who only edits roles sees no people here.
var ReportPermissions = []string{rbac.PermStaffView}

// BuildReport is the access report of orgID for viewer. Viewer needs staff.view in orgID; the
// organisations below where they do not hold it (a deny there) are left out, and so is anyone
// ListScope hides. Ended grants are left out.
func (s *Service) BuildReport(ctx context.Context, viewerID, orgID int64) (Report, error) {
	snap := s.Access.Now()
	if err := CanReport(snap, viewerID, orgID); err != nil {
		return Report{}, err
	}
	var orgIDs []int64
	for _, id := range orgs.TreeOrder(snap, snap.Subtree(orgID)) {
		if snap.Can(viewerID, id, rbac.PermStaffView) {
			orgIDs = append(orgIDs, id)
		}
	}
	since, err := s.Store.AssignedSince(ctx, orgIDs)
	if err != nil {
		return Report{}, err
	}
	return ReportOf(snap, viewerID, orgID, orgIDs, since), nil
}

// CanReport refuses (rbac.ErrNotFound, *rbac.ForbiddenError) a viewer who may not have the
// report of orgID.
func CanReport(snap *rbac.Snapshot, viewerID, orgID int64) error {
	if _, ok := snap.Org(orgID); !ok {
		return rbac.ErrNotFound
	}
	for _, p := range ReportPermissions {
		if !snap.Can(viewerID, orgID, p) {
			return snap.Forbidden(orgID, ReportPermissions...)
		}
	}
	return nil
}

// ReportOf builds the report of root over orgIDs (root and the organisations below it the
// viewer may see, as BuildReport chose them) from the snapshot; since gives when each
// assignment was made (store.AssignedSince; nil leaves the dates out).
func ReportOf(snap *rbac.Snapshot, viewerID, root int64, orgIDs []int64, since map[store.AssignmentKey]int64) Report {
	scope := ListScope(snap, viewerID)
	visible := map[int64]bool{}
	seen := func(id int64) bool {
		v, ok := visible[id]
		if !ok {
			v = scope.Everyone || InScope(snap, scope, id)
			visible[id] = v
		}
		return v
	}
	index := make(map[int64]int, len(orgIDs))
	rep := Report{Root: root, Orgs: make([]OrgReport, len(orgIDs))}
	for i, id := range orgIDs {
		o, _ := snap.Org(id)
		rep.Orgs[i].Org = o
		index[id] = i
	}
	byRole := make([]map[int64]int, len(orgIDs)) // per organisation: role id → index in Roles
	people := map[int64]bool{}
	for a := range snap.Assignments() {
		i, ok := index[a.OrgID]
		if !ok || !snap.Live(a.Until) || !seen(a.UserID) {
			continue
		}
		r, ok := snap.Role(a.RoleID)
		if !ok {
			continue
		}
		or := &rep.Orgs[i]
		if byRole[i] == nil {
			byRole[i] = map[int64]int{}
		}
		ri, ok := byRole[i][r.ID]
		if !ok {
			ri = len(or.Roles)
			byRole[i][r.ID] = ri
			or.Roles = append(or.Roles, RoleReport{Role: r})
		}
		u, _ := snap.User(a.UserID)
		or.Roles[ri].Members = append(or.Roles[ri].Members, ReportMember{User: u, Since: since[store.AssignmentKey{UserID: a.UserID, RoleID: a.RoleID, OrgID: a.OrgID}], Until: a.Until})
		people[a.UserID] = true
		rep.Assignments++
	}
	for ov := range snap.UserOverrides() {
		i, ok := index[ov.OrgID]
		if !ok || !snap.Live(ov.Until) || !seen(ov.UserID) {
			continue
		}
		u, _ := snap.User(ov.UserID)
		line := OverrideLine{User: u, Perm: ov.Perm, Effect: ov.Effect, Until: ov.Until}
		if by, ok := snap.User(ov.SetBy); ok {
			line.SetBy = by.Name
		}
		rep.Orgs[i].Overrides = append(rep.Orgs[i].Overrides, line)
		people[ov.UserID] = true
		rep.Overrides++
	}
	order := map[string]int{}
	for i, k := range snap.Catalog().Keys() {
		order[k] = i
	}
	for _, d := range snap.OrgDefaults() {
		if i, ok := index[d.OrgID]; ok {
			rep.Orgs[i].Defaults = append(rep.Orgs[i].Defaults, d)
			rep.Defaults++
		}
	}
	byName := func(a, b rbac.User) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	}
	for i := range rep.Orgs {
		or := &rep.Orgs[i]
		slices.SortFunc(or.Roles, func(a, b RoleReport) int {
			return strings.Compare(strings.ToLower(a.Role.Name), strings.ToLower(b.Role.Name))
		})
		for _, r := range or.Roles {
			slices.SortFunc(r.Members, func(a, b ReportMember) int { return byName(a.User, b.User) })
		}
		slices.SortFunc(or.Overrides, func(a, b OverrideLine) int {
			if c := byName(a.User, b.User); c != 0 {
				return c
			}
			return order[a.Perm] - order[b.Perm]
		})
		slices.SortFunc(or.Defaults, func(a, b rbac.OrgDefault) int { return order[a.Perm] - order[b.Perm] })
	}
	rep.People = len(people)
	return rep
}
