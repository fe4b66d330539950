package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// orgAudit lists "action before → after" for the entries about an organisation, oldest first.
func orgAudit(t *testing.T, st *store.Store, id int64) []string {
	t.Helper()
	var out []string
	err := st.EachAudit(context.Background(), store.AuditQuery{TargetType: "organisation", TargetID: id}, func(e audit.Entry) error {
		out = append(out, e.Action+" "+string(e.Before)+" → "+string(e.After))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOrganisationTreeStore(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	templates := rbac.SystemRoles(rbac.DefaultCatalog())
	in := setupInput()
	in.SystemRoles = templates
	_, north, err := st.Setup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	east, err := st.AddOrganisation(ctx, store.NewOrganisation{Name: "Eastside", ParentID: north.ID, SystemRoles: templates})
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.AddOrganisation(ctx, store.NewOrganisation{Name: "Elsewhere Clinic", SystemRoles: templates})
	if err != nil {
		t.Fatal(err)
	}
	// A new top-level organisation gets the system roles; a sub-organisation uses those above.
	for _, tc := range []struct {
		id    int64
		roles int
	}{{north.ID, 8}, {east, 0}, {other, 8}} {
		if o, err := st.Organisation(ctx, tc.id); err != nil || o.Roles != tc.roles {
			t.Errorf("organisation %d: %d roles, %v; want %d", tc.id, o.Roles, err, tc.roles)
		}
	}
	if got := orgAudit(t, st, east); len(got) != 1 || got[0] != `org.create  → {"name":"Eastside","parent":"Northside Practice","parent_id":1}` {
		t.Errorf("audit of the creation: %q", got)
	}

	// Names are unique among siblings, ignoring case; elsewhere they may repeat.
	if _, err := st.AddOrganisation(ctx, store.NewOrganisation{Name: "EASTSIDE", ParentID: north.ID}); !errors.Is(err, store.ErrOrgNameTaken) {
		t.Errorf("sibling with the same name: %v", err)
	}
	if _, err := st.AddOrganisation(ctx, store.NewOrganisation{Name: "Eastside", ParentID: other}); err != nil {
		t.Errorf("same name under another parent: %v", err)
	}
	if _, err := st.AddOrganisation(ctx, store.NewOrganisation{Name: "Lost", ParentID: 999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown parent: %v", err)
	}

	// Rename.
	if err := st.RenameOrganisation(ctx, east, "Eastside Clinic"); err != nil {
		t.Fatal(err)
	}
	if err := st.RenameOrganisation(ctx, east, "Eastside Clinic"); err != nil { // unchanged: no entry
		t.Fatal(err)
	}
	if err := st.RenameOrganisation(ctx, 999, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rename unknown: %v", err)
	}
	east2, _ := st.CreateOrganisation(ctx, "Eastside Annex", east)
	if err := st.RenameOrganisation(ctx, east2, "eastside annex"); err != nil {
		t.Errorf("changing only the case of one's own name: %v", err)
	}

	// Move: never below itself.
	for _, parent := range []int64{east, east2} {
		if err := st.MoveOrganisation(ctx, east, parent); !errors.Is(err, store.ErrMoveBelowItself) {
			t.Errorf("move under %d: %v", parent, err)
		}
	}
	if err := st.MoveOrganisation(ctx, east, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("move under unknown: %v", err)
	}
	// Someone holding a role of Northside in Eastside: moving Eastside to another practice
	// would leave that role applying where its organisation is not above: refused.
	ids, err := st.AddStaff(ctx, []store.NewStaff{{Email: "ben@example.org", Name: "Ben Okafor", PasswordHash: "x", OrgID: east}})
	if err != nil {
		t.Fatal(err)
	}
	nurse := roleByCode(t, st, north.ID, "NURSE")
	if err := st.AssignRole(ctx, ids[0], nurse, east, 0, 1); err != nil {
		t.Fatal(err)
	}
	var fe *store.ForeignRolesError
	if err := st.MoveOrganisation(ctx, east, other); !errors.As(err, &fe) || len(fe.Holdings) != 1 ||
		fe.Holdings[0] != "Ben Okafor holds Nurse (of Northside Practice) in Eastside Clinic" {
		t.Fatalf("move stranding a role: %v", err)
	}
	if o, _ := st.Organisation(ctx, east); o.ParentID != north.ID {
		t.Fatal("a refused move moved")
	}
	if err := st.UnassignRole(ctx, ids[0], nurse, east, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.MoveOrganisation(ctx, east, other); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`org.create  → {"name":"Eastside","parent":"Northside Practice","parent_id":1}`,
		`org.rename {"name":"Eastside"} → {"name":"Eastside Clinic"}`,
		`org.move {"parent":"Northside Practice","parent_id":1} → {"parent":"Elsewhere Clinic","parent_id":3}`,
	}
	if got := orgAudit(t, st, east); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit of Eastside:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The tree is what was asked: Eastside with its annex under Elsewhere.
	all, err := st.Organisations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string]int64{}
	for _, o := range all {
		parents[o.Name] = o.ParentID
	}
	if parents["Eastside Clinic"] != other || parents["eastside annex"] != east || parents["Northside Practice"] != 0 {
		t.Errorf("tree after the move: %v", parents)
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n == 0 {
		t.Fatalf("audit chain: %d, %v", n, err)
	}
}

func roleByCode(t *testing.T, st *store.Store, org int64, code string) int64 {
	t.Helper()
	rows, _, err := st.ListRoles(context.Background(), store.RoleQuery{OrgID: org, Q: code})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Code == code {
			return r.ID
		}
	}
	t.Fatalf("no role %s in %d", code, org)
	return 0
}

func TestRoleModeStore(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	in := setupInput()
	in.SystemRoles = rbac.SystemRoles(rbac.DefaultCatalog())
	admin, org, err := st.Setup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st.AddStaff(ctx, []store.NewStaff{{Email: "ben@example.org", Name: "Ben Okafor", PasswordHash: "x", OrgID: org.ID},
		{Email: "chloe@example.org", Name: "Chloé Martin", PasswordHash: "x", OrgID: org.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ben, chloe := ids[0], ids[1]
	nurse, staff, billing := roleByCode(t, st, org.ID, "NURSE"), roleByCode(t, st, org.ID, "STAFF"), roleByCode(t, st, org.ID, "BILLING_STAFF")
	for _, r := range []int64{nurse, staff} {
		if err := st.SetRoleHolders(ctx, r, org.ID, []int64{ben}, nil, admin.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetRoleHolders(ctx, billing, org.ID, []int64{chloe}, nil, admin.ID); err != nil {
		t.Fatal(err)
	}

	// One role per person is refused while Ben holds two, naming him and them; nothing written.
	before := len(orgAudit(t, st, org.ID))
	err = st.SetOrgSettings(ctx, org.ID, store.OrgSettings{OneRole: true, LimitVisibility: false})
	var se *store.SeveralRolesError
	if !errors.As(err, &se) || len(se.People) != 1 || se.People[0].Name != "Ben Okafor" || strings.Join(se.People[0].Roles, ",") != "Nurse,Staff" {
		t.Fatalf("switch with several roles held: %v (%+v)", err, se)
	}
	if o, _ := st.Organisation(ctx, org.ID); o.OneRole || !o.LimitVisibility || len(orgAudit(t, st, org.ID)) != before {
		t.Fatalf("a refused switch wrote something: %+v", o)
	}
	if err := st.UnassignRole(ctx, ben, staff, org.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.SetOrgSettings(ctx, org.ID, store.OrgSettings{OneRole: true, LimitVisibility: false}); err != nil {
		t.Fatal(err)
	}
	got := orgAudit(t, st, org.ID)[before:]
	if strings.Join(got, "\n") != "settings.change {\"role_mode\":\"many\"} → {\"role_mode\":\"one\"}\n"+
		"settings.change {\"limit_visibility\":true} → {\"limit_visibility\":false}" {
		t.Fatalf("settings audit: %q", got)
	}

	// In one-role mode a second role is refused; a replacement is a move.
	if err := st.AssignRole(ctx, ben, staff, org.ID, 0, admin.ID); !errors.Is(err, store.ErrOneRole) {
		t.Fatalf("second role: %v", err)
	}
	if err := st.AssignRole(ctx, ben, staff, org.ID, nurse, admin.ID); err != nil {
		t.Fatalf("replace: %v", err)
	}
	// Select members moves people: Chloé from Billing Staff to Staff, Ben stays on Staff.
	if err := st.SetRoleHolders(ctx, staff, org.ID, []int64{ben, chloe}, nil, admin.ID); err != nil {
		t.Fatal(err)
	}
	p, err := st.Person(ctx, chloe)
	if err != nil || len(p.Roles) != 1 || p.Roles[0].RoleCode != "STAFF" {
		t.Fatalf("Chloé after the move: %+v, %v", p.Roles, err)
	}
	p, _ = st.Person(ctx, ben)
	if len(p.Roles) != 1 || p.Roles[0].RoleCode != "STAFF" {
		t.Fatalf("Ben: %+v", p.Roles)
	}
	var moves []string
	st.EachAudit(ctx, store.AuditQuery{TargetType: "user", TargetID: chloe}, func(e audit.Entry) error {
		moves = append(moves, e.Action)
		return nil
	})
	if strings.Join(moves, ",") != "staff.add,assignment.add,assignment.remove,assignment.add" {
		t.Fatalf("Chloé's audit: %v", moves)
	}
	// An invitation accepted by someone who holds a role there moves them too.
	if _, err := st.CreateInvitation(ctx, store.NewInvitation{TokenHash: []byte("hash-ben"), Email: "ben@example.org", Name: "Ben Okafor",
		OrgID: org.ID, RoleID: nurse, InvitedBy: admin.ID, ExpiresAt: time.Now().Add(time.Hour).Unix()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcceptInvitation(ctx, []byte("hash-ben"), store.Acceptance{UserID: ben}); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if p, _ := st.Person(ctx, ben); len(p.Roles) != 1 || p.Roles[0].RoleCode != "NURSE" {
		t.Fatalf("Ben after accepting: %+v", p.Roles)
	}
}

func TestOrgDefaultsStore(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	_, org, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	ctx = audit.WithActor(ctx, audit.Actor{UserID: 1})
	if err := st.SetOrgDefaults(ctx, org.ID, map[string]string{"billing.view": "allow", "clinical.erx": "deny", "audit.view": "inherit"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetOrgDefaults(ctx, org.ID, map[string]string{"billing.view": "allow", "clinical.erx": "inherit"}); err != nil {
		t.Fatal(err)
	}
	d, err := st.OrgDefaults(ctx, org.ID)
	if err != nil || len(d) != 1 || d["billing.view"] != "allow" {
		t.Fatalf("defaults: %v, %v", d, err)
	}
	want := []string{`org.default {"billing.view":"inherit"} → {"billing.view":"allow"}`,
		`org.default {"clinical.erx":"inherit"} → {"clinical.erx":"deny"}`,
		`org.default {"clinical.erx":"deny"} → {"clinical.erx":"inherit"}`}
	if got := orgAudit(t, st, org.ID); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s", strings.Join(got, "\n"))
	}
	access, err := st.LoadAccess(ctx)
	if err != nil || len(access.OrgDefaults) != 1 || access.OrgDefaults[0].Effect != rbac.Allow {
		t.Fatalf("access data: %+v, %v", access.OrgDefaults, err)
	}
	if err := st.SetOrgDefaults(ctx, 999, map[string]string{"billing.view": "allow"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown organisation: %v", err)
	}
}
