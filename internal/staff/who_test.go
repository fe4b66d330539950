package staff_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store/storetest"
)

// Holders names only people the viewer may see, and only to a viewer holding staff.view in
// the organisation asked about.
func TestHoldersByViewer(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	for _, tc := range []struct {
		name   string
		viewer int64
		org    int64
		perm   string
		want   []int64
		err    string
	}{
		// Noor, Northside's manager, holds staff.view in Eastside through her role above it.
		{"global admin sees everyone, themselves included", p.Root, p.Eastside, rbac.PermStaffView, []int64{p.Root, p.NorthManager, p.EastViewer}, ""},
		{"a viewer of Eastside does not see the global admin of Northside", p.EastViewer, p.Eastside, rbac.PermStaffView, []int64{p.EastViewer}, ""},
		{"Northside's manager sees Northside's staff below it too", p.NorthManager, p.Eastside, rbac.PermAuditView, []int64{p.Root, p.NorthManager, p.EastAuditor}, ""},
		{"a viewer of Eastside asking about Northside", p.EastViewer, p.Northside, rbac.PermStaffView, nil, "forbidden"},
		{"another practice's manager", p.HarbourManager, p.Eastside, rbac.PermStaffView, nil, "forbidden"},
		{"no staff.view at all", p.EastAuditor, p.Eastside, rbac.PermAuditView, nil, "forbidden"},
		{"an organisation that does not exist", p.Root, 9999, rbac.PermStaffView, nil, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := staff.Holders(snap, tc.viewer, tc.org, tc.perm)
			if got := refusal(t, err); got != tc.err {
				t.Fatalf("refusal %q, want %q", got, tc.err)
			}
			var ids []int64
			for _, h := range hs {
				ids = append(ids, h.UserID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("holders %v, want %v", ids, tc.want)
			}
		})
	}
	if _, err := staff.Holders(snap, p.Root, p.Eastside, "patients.teleport"); !errors.Is(err, staff.ErrUnknownPermission) {
		t.Errorf("unknown permission: %v", err)
	}
}

// Who's reasons and filters, emergency access included, on a snapshot built from facts.
func TestWhoReasonsAndFilters(t *testing.T) {
	now := time.Now()
	d := rbac.Data{
		Orgs:          []rbac.Org{{ID: 1, Name: "Northside Practice", LimitVisibility: true}, {ID: 2, ParentID: 1, Name: "Eastside Clinic", LimitVisibility: true}},
		Users:         []rbac.User{{ID: 1, Name: "Ana Ruiz", Email: "ana@example.org", GlobalAdmin: true}, {ID: 2, Name: "Bea Role", Email: "bea@example.org"}, {ID: 3, Name: "Cai Glass", Email: "cai@example.org"}, {ID: 4, Name: "Dee Default", Email: "dee@example.org"}, {ID: 5, Name: "Eli Denied", Email: "eli@example.org"}, {ID: 6, Name: "Fay Gone", Email: "fay@example.org", Disabled: true}},
		Roles:         []rbac.Role{{ID: 10, OrgID: 1, Code: "BILLING", Name: "Billing", Active: true, Permissions: []string{"billing.view"}}},
		Members:       []rbac.Membership{{UserID: 1, OrgID: 1}, {UserID: 2, OrgID: 2}, {UserID: 3, OrgID: 2}, {UserID: 4, OrgID: 2}, {UserID: 5, OrgID: 2}, {UserID: 6, OrgID: 2}},
		Assignments:   []rbac.Assignment{{UserID: 2, RoleID: 10, OrgID: 1}, {UserID: 5, RoleID: 10, OrgID: 2}, {UserID: 6, RoleID: 10, OrgID: 2}},
		UserOverrides: []rbac.UserOverride{{UserID: 5, OrgID: 2, Perm: "billing.view", Effect: rbac.Deny, SetBy: 1}},
		OrgDefaults:   []rbac.OrgDefault{{OrgID: 2, Perm: "billing.view", Effect: rbac.Allow}},
		Emergencies:   []rbac.Emergency{{ID: 7, UserID: 3, OrgID: 2, Perms: []string{"billing.view"}, Until: now.Add(time.Hour).Unix()}},
	}
	snap := rbac.NewSnapshot(rbac.DefaultCatalog(), d)
	ans, err := staff.Who(snap, 1, staff.WhoQuery{OrgID: 2, Perm: "billing.view"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range ans.Rows {
		got[r.User.Name] = r.Kind
	}
	want := map[string]string{"Ana Ruiz": staff.KindGlobalAdmin, "Bea Role": staff.KindRole, "Cai Glass": staff.KindEmergency, "Dee Default": staff.KindDefault}
	if len(got) != len(want) || ans.Total != 4 {
		t.Errorf("holders %v (total %d), want %v: the denied and the disabled hold nothing", got, ans.Total, want)
	}
	for n, k := range want {
		if got[n] != k {
			t.Errorf("%s: kind %q, want %q", n, got[n], k)
		}
	}
	if ans.Rows[0].User.Name != "Ana Ruiz" || ans.Rows[3].User.Name != "Dee Default" {
		t.Errorf("not by name: %v", ans.Rows)
	}
	for _, tc := range []struct {
		q    staff.WhoQuery
		want []string
	}{
		{staff.WhoQuery{Kind: staff.KindEmergency}, []string{"Cai Glass"}},
		{staff.WhoQuery{Kind: staff.KindDefault}, []string{"Dee Default"}},
		{staff.WhoQuery{Q: "BEA@"}, []string{"Bea Role"}},
		{staff.WhoQuery{Q: "  glass "}, []string{"Cai Glass"}},
		{staff.WhoQuery{Q: "role", Kind: staff.KindDefault}, nil},
	} {
		tc.q.OrgID, tc.q.Perm = 2, "billing.view"
		ans, err := staff.Who(snap, 1, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range ans.Rows {
			names = append(names, r.User.Name)
		}
		if !slices.Equal(names, tc.want) || ans.Total != 4 {
			t.Errorf("%+v: %v (total %d), want %v", tc.q, names, ans.Total, tc.want)
		}
	}
	if r := ans.Rows[2]; r.Reason != "Emergency access taken in Eastside Clinic, until "+snap.When(d.Emergencies[0].Until)+"." {
		t.Errorf("emergency reason %q", r.Reason)
	}
}

// The report lists the roles given in the organisation and below, with their holders; never
// an organisation where the viewer lacks staff.view, nor another practice's people.
func TestBuildReport(t *testing.T) {
	p := storetest.New(t)
	ctx := context.Background()
	svc := &staff.Service{Store: p.Store, Access: p.Access}
	rep, err := svc.BuildReport(ctx, p.NorthManager, p.Northside)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64][]string{}
	for _, o := range rep.Orgs {
		for _, r := range o.Roles {
			for _, m := range r.Members {
				got[o.Org.ID] = append(got[o.Org.ID], r.Role.Code+":"+m.User.Name)
				if m.Since == 0 {
					t.Errorf("%s holds %s since an unknown time", m.User.Name, r.Role.Code)
				}
			}
		}
	}
	if len(rep.Orgs) != 2 || rep.Orgs[0].Org.ID != p.Northside || rep.Orgs[1].Org.ID != p.Eastside {
		t.Fatalf("organisations %+v", rep.Orgs)
	}
	if w := []string{"NORTH_MANAGE:Noor Haddad"}; !slices.Equal(got[p.Northside], w) {
		t.Errorf("Northside %v, want %v", got[p.Northside], w)
	}
	if w := []string{"EAST_AUDIT:Audrey Lind", "EAST_PLAIN:Nina Park", "EAST_VIEW:Eva Stone"}; !slices.Equal(got[p.Eastside], w) {
		t.Errorf("Eastside %v, want %v", got[p.Eastside], w)
	}
	if rep.People != 4 || rep.Assignments != 4 {
		t.Errorf("summary %d people, %d assignments", rep.People, rep.Assignments)
	}
	for _, tc := range []struct {
		viewer, org int64
		err         string
	}{
		{p.EastViewer, p.Northside, "forbidden"},
		{p.HarbourManager, p.Northside, "forbidden"},
		{p.EastAuditor, p.Eastside, "forbidden"},
		{p.Root, 9999, "not found"},
		{p.EastViewer, p.Eastside, ""},
	} {
		_, err := svc.BuildReport(ctx, tc.viewer, tc.org)
		if got := refusal(t, err); got != tc.err {
			t.Errorf("viewer %d org %d: %q, want %q", tc.viewer, tc.org, got, tc.err)
		}
	}
	// Denied staff.view in Eastside, Northside's manager no longer gets Eastside's section.
	if err := p.Store.SetOverride(ctx, p.NorthManager, p.Eastside, rbac.PermStaffView, "deny", p.Root); err != nil {
		t.Fatal(err)
	}
	p.Reload(t)
	rep, err = svc.BuildReport(ctx, p.NorthManager, p.Northside)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Orgs) != 1 {
		t.Errorf("with staff.view denied in Eastside the report still has %d organisations", len(rep.Orgs))
	}
}
