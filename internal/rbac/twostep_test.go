package rbac

import "testing"

// Whom a two-step policy covers: the strictest over a person's organisations and those
// above; "admins" means an Administration permission (or integrations.manage) there; a
// global admin is covered by any policy other than optional.
func TestTwoStepRequired(t *testing.T) {
	cat := DefaultCatalog()
	build := func(policy map[int64]string) *Snapshot {
		d := Data{
			Orgs: []Org{{ID: 1, Name: "Northside"}, {ID: 2, ParentID: 1, Name: "Northside East"}, {ID: 3, Name: "Bayview"}},
			Users: []User{{ID: 1, Name: "Root", GlobalAdmin: true}, {ID: 2, Name: "Admin"}, {ID: 3, Name: "Nurse"}, {ID: 4, Name: "East nurse"},
				{ID: 5, Name: "Bay nurse"}, {ID: 6, Name: "Integrator"}},
			Roles: []Role{{ID: 10, OrgID: 1, Name: "Admin", Active: true, Permissions: []string{PermRolesManage, PermStaffManage}},
				{ID: 11, OrgID: 1, Name: "Nurse", Active: true, Permissions: []string{"patients.view"}},
				{ID: 12, OrgID: 1, Name: "Integrations", Active: true, Permissions: []string{PermIntegrations}}},
			Assignments: []Assignment{{UserID: 2, RoleID: 10, OrgID: 1}, {UserID: 3, RoleID: 11, OrgID: 1}, {UserID: 4, RoleID: 11, OrgID: 2},
				{UserID: 5, RoleID: 11, OrgID: 3}, {UserID: 6, RoleID: 12, OrgID: 1}},
			Members: []Membership{{UserID: 2, OrgID: 1}, {UserID: 3, OrgID: 1}, {UserID: 4, OrgID: 2}, {UserID: 5, OrgID: 3}, {UserID: 6, OrgID: 1}},
		}
		for i := range d.Orgs {
			d.Orgs[i].TwoStep = policy[d.Orgs[i].ID]
		}
		return NewSnapshot(cat, d)
	}
	cases := []struct {
		name   string
		policy map[int64]string
		want   map[int64]bool // user → required
	}{
		{"none set", nil, map[int64]bool{1: false, 2: false, 3: false, 4: false, 5: false, 6: false}},
		{"optional", map[int64]string{1: TwoStepOptional}, map[int64]bool{1: false, 2: false, 3: false}},
		{"admins at the top", map[int64]string{1: TwoStepAdmins}, map[int64]bool{1: true, 2: true, 3: false, 4: false, 5: false, 6: true}},
		{"everyone at the top covers below", map[int64]string{1: TwoStepEveryone}, map[int64]bool{1: true, 2: true, 3: true, 4: true, 5: false, 6: true}},
		{"everyone below only", map[int64]string{2: TwoStepEveryone}, map[int64]bool{1: true, 2: false, 3: false, 4: true, 5: false}},
		{"admins below: the admin above holds it there", map[int64]string{2: TwoStepAdmins}, map[int64]bool{1: true, 2: true, 3: false, 4: false}},
		{"another practice", map[int64]string{3: TwoStepEveryone}, map[int64]bool{1: true, 2: false, 3: false, 5: true}},
	}
	for _, tc := range cases {
		s := build(tc.policy)
		for user, want := range tc.want {
			if got := s.TwoStepRequired(user); got != want {
				t.Errorf("%s: user %d: %v, want %v", tc.name, user, got, want)
			}
		}
	}
	for _, p := range []string{"", "Admins", "all", "optional "} {
		if ValidTwoStep(p) {
			t.Errorf("ValidTwoStep(%q)", p)
		}
	}
}
