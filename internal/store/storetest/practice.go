// Package storetest builds a small group practice in a real SQLite store in t.TempDir(), for
// the table tests of the domain packages (staff, roles, orgs, audit): one fixture whose
// people and organisations each test names, no mocked SQL.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// Practice is the fixture: organisations, roles and people, by what they are for.
//
//	Northside Practice (limits members visibility)
//	  Eastside Clinic (limits)
//	Harbour Practice (limits)
//	Open Clinic (does not limit members visibility)
//
// Roles are custom and hold exactly the permissions named (mandatory ones aside), so what
// each person holds is plain: NorthManage (staff.view, staff.manage, roles.manage,
// audit.view) in Northside; EastView (staff.view), EastAudit (audit.view), EastPlain
// (nothing) and EastInactive (nothing, inactive) in Eastside; HarbourManage (staff.view,
// staff.manage, roles.manage) in Harbour; OpenView (staff.view) in Open.
type Practice struct {
	Store  *store.Store
	Access *rbac.Engine

	Northside, Eastside, Harbour, Open int64

	NorthManage, EastView, EastAudit, EastPlain, EastInactive, HarbourManage, OpenView int64

	Root           int64 // the global admin, staff of Northside
	NorthManager   int64 // NorthManage in Northside
	EastViewer     int64 // EastView in Eastside
	EastAuditor    int64 // EastAudit in Eastside
	EastNurse      int64 // EastPlain in Eastside
	HarbourManager int64 // HarbourManage in Harbour
	HarbourNurse   int64 // staff of Harbour, no role
	OpenViewer     int64 // OpenView in Open
}

// New builds the practice and loads its snapshot.
func New(t testing.TB) *Practice {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "practice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	root, north, err := st.Setup(ctx, store.SetupInput{OrgName: "Northside Practice", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x"})
	must(err)
	p := &Practice{Store: st, Root: root.ID, Northside: north.ID}
	org := func(name string, parent int64) int64 {
		id, err := st.CreateOrganisation(ctx, name, parent)
		must(err)
		return id
	}
	p.Eastside = org("Eastside Clinic", p.Northside)
	p.Harbour = org("Harbour Practice", 0)
	p.Open = org("Open Clinic", 0)
	must(st.SetOrgSettings(ctx, p.Open, store.OrgSettings{LimitVisibility: false}))
	role := func(orgID int64, code, name string, active bool, perms ...string) int64 {
		id, err := st.CreateRole(ctx, store.RoleInput{OrgID: orgID, Code: code, Name: name, Active: active, Permissions: perms, ActorID: root.ID})
		must(err)
		return id
	}
	p.NorthManage = role(p.Northside, "NORTH_MANAGE", "North Manager", true, rbac.PermStaffView, rbac.PermStaffManage, rbac.PermRolesManage, rbac.PermAuditView)
	p.EastView = role(p.Eastside, "EAST_VIEW", "East Viewer", true, rbac.PermStaffView)
	p.EastAudit = role(p.Eastside, "EAST_AUDIT", "East Auditor", true, rbac.PermAuditView)
	p.EastPlain = role(p.Eastside, "EAST_PLAIN", "East Plain", true)
	p.EastInactive = role(p.Eastside, "EAST_INACTIVE", "East Inactive", false)
	p.HarbourManage = role(p.Harbour, "HARBOUR_MANAGE", "Harbour Manager", true, rbac.PermStaffView, rbac.PermStaffManage, rbac.PermRolesManage)
	p.OpenView = role(p.Open, "OPEN_VIEW", "Open Viewer", true, rbac.PermStaffView)
	people := []struct {
		id          *int64
		email, name string
		org, role   int64
	}{
		{&p.NorthManager, "noor@example.org", "Noor Haddad", p.Northside, p.NorthManage},
		{&p.EastViewer, "eva@example.org", "Eva Stone", p.Eastside, p.EastView},
		{&p.EastAuditor, "aud@example.org", "Audrey Lind", p.Eastside, p.EastAudit},
		{&p.EastNurse, "nina@example.org", "Nina Park", p.Eastside, p.EastPlain},
		{&p.HarbourManager, "hal@example.org", "Hal Berg", p.Harbour, p.HarbourManage},
		{&p.HarbourNurse, "hana@example.org", "Hana Ito", p.Harbour, 0},
		{&p.OpenViewer, "olga@example.org", "Olga Petrova", p.Open, p.OpenView},
	}
	for _, x := range people {
		ids, err := st.AddStaff(ctx, []store.NewStaff{{Email: x.email, Name: x.name, PasswordHash: "x", OrgID: x.org}})
		must(err)
		*x.id = ids[0]
		if x.role != 0 {
			must(st.AssignRole(ctx, ids[0], x.role, x.org, 0, root.ID))
		}
	}
	p.Access, err = rbac.NewEngine(ctx, rbac.DefaultCatalog(), st.LoadAccess, nil)
	must(err)
	return p
}

// Reload makes the snapshot current after a write.
func (p *Practice) Reload(t testing.TB) *rbac.Snapshot {
	t.Helper()
	if err := p.Access.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p.Access.Now()
}
