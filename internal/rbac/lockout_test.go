package rbac

import (
	"errors"
	"testing"
)

func TestCheckLockout(t *testing.T) {
	cat := DefaultCatalog()
	base := Data{
		Orgs:  []Org{{ID: 1, Name: "Northside"}, {ID: 2, ParentID: 1, Name: "Clinic"}, {ID: 3, Name: "Empty Practice"}},
		Users: []User{{ID: 1, Name: "Root", GlobalAdmin: true}, {ID: 2, Name: "Ana"}, {ID: 3, Name: "Ben"}},
		Roles: []Role{{ID: 10, OrgID: 1, Code: "ADMIN", Active: true, Permissions: cat.Keys()},
			{ID: 11, OrgID: 1, Code: "STAFF", Active: true, Permissions: []string{"patients.view"}}},
		Assignments: []Assignment{{UserID: 2, RoleID: 10, OrgID: 1}, {UserID: 3, RoleID: 10, OrgID: 1}},
	}
	without := func(d Data, userID int64) Data {
		out := d
		out.Assignments = nil
		for _, a := range d.Assignments {
			if a.UserID != userID {
				out.Assignments = append(out.Assignments, a)
			}
		}
		return out
	}
	disable := func(d Data, userID int64) Data {
		out := d
		out.Users = append([]User(nil), d.Users...)
		for i := range out.Users {
			if out.Users[i].ID == userID {
				out.Users[i].Disabled = true
			}
		}
		return out
	}
	one := without(base, 3)
	tests := []struct {
		name          string
		before, after Data
		org           string
		global        bool
	}{
		{"demote one of two managers", base, one, "", false},
		{"demote the last manager", one, without(one, 2), "Northside", false},
		{"disable the last manager", one, disable(one, 2), "Northside", false},
		{"strip the last manager's role of staff.manage", one, func() Data {
			d := one
			d.Roles = []Role{{ID: 10, OrgID: 1, Code: "ADMIN", Active: true, Permissions: []string{"roles.manage"}}, base.Roles[1]}
			return d
		}(), "Northside", false},
		{"an organisation that never had a manager", without(one, 2), without(one, 2), "", false},
		{"disable the last global admin", base, disable(base, 1), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLockout(cat, tc.before, tc.after)
			var le *LockoutError
			switch {
			case tc.org == "" && !tc.global:
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case !errors.As(err, &le) || le.OrgName != tc.org || le.GlobalAdmin != tc.global:
				t.Fatalf("got %v; want lockout of %q (global %v)", err, tc.org, tc.global)
			}
		})
	}
}
