package rbac

import (
	"strings"
	"testing"
	"time"
)

// Time-bound grants (issue 15), read against a clock the test moves: a grant holds until the
// second before its end and is absent from its end on, with nothing run in between.
func TestUntil(t *testing.T) {
	const end = int64(1_800_000_000)
	d := ruleData()
	// A locum: Scheduler in A until end, an allow of billing.view in A1 until end; Dave (staff
	// of A11) holds Biller given in A until end, so inherited into A11.
	d.Users = append(d.Users, User{ID: 90, Name: "Locum"})
	d.Members = append(d.Members, Membership{UserID: 90, OrgID: orgA})
	d.Assignments = append(d.Assignments,
		Assignment{UserID: 90, RoleID: rScheduler, OrgID: orgA, Until: end},
		Assignment{UserID: uDave, RoleID: rBiller, OrgID: orgA, Until: end})
	d.UserOverrides = append(d.UserOverrides, UserOverride{UserID: 90, OrgID: orgA1, Perm: "billing.view", Effect: Allow, SetBy: setterAdmin, Until: end})
	utc := func() *time.Location { return time.UTC }
	at := func(unix int64) *Snapshot {
		return NewSnapshot(DefaultCatalog(), d).WithClock(&Clock{Now: func() time.Time { return time.Unix(unix, 0) }, Zone: utc})
	}
	cases := []struct {
		name       string
		user, org  int64
		perm       string
		before     bool // a second before the end
		after      bool // at the end, and after it
		stepBefore Step
	}{
		{"role until", 90, orgA, "scheduling.access", true, false, StepRoleGrant},
		{"role until, in an organisation below", 90, orgA2, "scheduling.access", true, false, StepRoleGrant},
		{"override until", 90, orgA1, "billing.view", true, false, StepUserOverride},
		{"inherited expiry", uDave, orgA11, "billing.manage", true, false, StepRoleGrant},
		{"a grant without end is untouched", uAlice, orgA, "billing.manage", true, true, StepRoleGrant},
	}
	for _, tc := range cases {
		for _, when := range []int64{end - 1, end, end + 1} {
			s := at(when)
			want := tc.before
			if when >= end {
				want = tc.after
			}
			got := s.Explain(tc.user, tc.org, tc.perm)
			if got.Allowed != want || s.Can(tc.user, tc.org, tc.perm) != want {
				t.Errorf("%s at end%+d: allowed %v (Can %v), want %v", tc.name, when-end, got.Allowed, s.Can(tc.user, tc.org, tc.perm), want)
			}
			if when < end && got.Step != tc.stepBefore {
				t.Errorf("%s before the end: step %v, want %v", tc.name, got.Step, tc.stepBefore)
			}
		}
	}
	// The explanations say until when, and that a grant ended.
	r := at(end-1).Reason(at(end-1).Explain(90, orgA, "scheduling.access"), orgA)
	if !strings.Contains(r, "until 15 Jan 2027 08:00") {
		t.Errorf("before the end the reason is %q", r)
	}
	s := at(end)
	if r := s.Reason(s.Explain(90, orgA, "scheduling.access"), orgA); !strings.Contains(r, "ended 15 Jan 2027 08:00") {
		t.Errorf("after the end the reason is %q", r)
	}
	if r := s.Reason(s.Explain(90, orgA1, "billing.view"), orgA1); !strings.Contains(r, "ended 15 Jan 2027 08:00") {
		t.Errorf("after the override's end the reason is %q", r)
	}
	// The nearest grant that lasts is the one explained: Alice's Biller in A has no end.
	d2 := d
	d2.Assignments = append(append([]Assignment(nil), d.Assignments...), Assignment{UserID: uAlice, RoleID: rBillViewA, OrgID: orgA, Until: end})
	if got := NewSnapshot(DefaultCatalog(), d2).Explain(uAlice, orgA, "billing.view"); got.Until != 0 || got.RoleID != rBiller {
		t.Errorf("two grants as near: explained by %d until %d, want the lasting Biller", got.RoleID, got.Until)
	}
}

// The lock-out guard counts a manager whose access ends as already gone: giving the last one
// an end is refused now, not discovered when it comes.
func TestLockoutCountsEndingManagersAsGone(t *testing.T) {
	c := DefaultCatalog()
	d := Data{Orgs: []Org{{ID: 1, Name: "Northside"}},
		Users:       []User{{ID: 1, Name: "Admin"}, {ID: 2, Name: "Locum admin"}},
		Roles:       []Role{{ID: 10, OrgID: 1, Code: "ADMIN", Name: "Administrator", Active: true, Permissions: c.Keys()}},
		Assignments: []Assignment{{UserID: 1, RoleID: 10, OrgID: 1}, {UserID: 2, RoleID: 10, OrgID: 1, Until: 1_900_000_000}}}
	before := NewSnapshot(c, d)
	ending := before.Apply(Delta{People: []Person{{User: d.Users[0], Assignments: []Assignment{{UserID: 1, RoleID: 10, OrgID: 1, Until: 1_900_000_000}}}}})
	if err := CheckLockoutSnapshots(before, ending); err == nil {
		t.Fatal("the last admin without an end was given one, and the guard let it through")
	}
	removed := before.Apply(Delta{People: []Person{{User: d.Users[0]}}})
	if err := CheckLockoutSnapshots(before, removed); err == nil {
		t.Fatal("the last admin without an end was removed, leaving only one whose access ends")
	}
	if err := CheckLockoutSnapshots(before, before.Apply(Delta{People: []Person{{User: d.Users[1]}}})); err != nil {
		t.Fatalf("removing the admin whose access ends: %v", err)
	}
}
