package rbac

import (
	"errors"
	"slices"
	"testing"
)

// Organisation defaults go through the escalation guard like overrides (PRODUCT.md §2.3).
func TestCheckOrgDefault(t *testing.T) {
	s := guardSnapshot()
	withDenyInO11 := guardData()
	withDenyInO11.OrgDefaults = append(slices.Clone(withDenyInO11.OrgDefaults), OrgDefault{OrgID: gO11, Perm: "billing.view", Effect: Deny})
	cases := []struct {
		name   string
		snap   *Snapshot
		actor  int64
		org    int64
		perm   string
		effect Effect
		reason string
		perms  []string
	}{
		{"global admin: allow anything", s, gRoot, gO, "billing.manage", Allow, "", nil},
		{"global admin: in P", s, gRoot, gP, "access.delegate", Allow, "", nil},
		{"deny only takes away, even unheld", s, gActor, gO, "billing.view", Deny, "", nil},
		{"deny by someone holding nothing there", s, gActor, gP, "billing.view", Deny, "", nil},
		{"allow of an unheld permission", s, gActor, gO, "billing.view", Allow, ReasonNotHeld, []string{"billing.view"}},
		{"allow of a held permission", s, gActor, gO, "scheduling.access", Allow, "", nil},
		{"allow of a held permission below", s, gActor, gO11, "staff.view", Allow, "", nil},
		{"allow that is already the default grants nothing new", s, gActor, gO, "audit.view", Allow, "", nil},
		{"removing a deny lets the allow above through: not held in O1", s, gActor, gO1, "audit.view", Inherit, ReasonNotHeld, []string{"audit.view"}},
		{"removing a deny with nothing above grants nothing", NewSnapshot(DefaultCatalog(), withDenyInO11), gActor, gO11, "billing.view", Inherit, "", nil},
		{"unknown permission", s, gActor, gO, "billing.teleport", Allow, ReasonUnknownPerm, []string{"billing.teleport"}},
		{"delegate: not if it reaches oneself", s, gAC, gO, "billing.view", Allow, ReasonRaisesSelf, []string{"billing.view"}},
		{"delegate: a permission held already", s, gAC, gO, "staff.view", Allow, "", nil},
		{"delegate only counts where held (P)", s, gAC, gP, "billing.view", Allow, ReasonNotHeld, []string{"billing.view"}},
		{"delegate denied in O1 by an override", s, gAC2, gO1, "billing.view", Allow, ReasonNotHeld, []string{"billing.view"}},
		{"disabled global admin holds nothing", s, gDisabledRoot, gO, "billing.view", Allow, ReasonNotHeld, []string{"billing.view"}},
		{"unknown actor holds nothing", s, gGhost, gO, "billing.view", Allow, ReasonNotHeld, []string{"billing.view"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkEscalation(t, tc.snap.CheckOrgDefault(tc.actor, tc.org, tc.perm, tc.effect), tc.reason, tc.perms)
		})
	}
	// The check reads the snapshot; it never changes it.
	if s.Can(gTarget, gO, "billing.view") || !s.Can(gActor, gO1, "staff.view") || s.Can(gActor, gO1, "audit.view") {
		t.Fatal("CheckOrgDefault changed the snapshot")
	}
}

// "Never to oneself" is about what the change does: an access controller whose own deny
// override keeps a permission from them may set an allow default for everyone else.
func TestCheckOrgDefaultDelegateNotReachingSelf(t *testing.T) {
	d := guardData()
	d.UserOverrides = append(slices.Clone(d.UserOverrides),
		UserOverride{UserID: gAC, OrgID: gO, Perm: "billing.view", Effect: Deny, SetBy: gRoot})
	s := NewSnapshot(DefaultCatalog(), d)
	checkEscalation(t, s.CheckOrgDefault(gAC, gO, "billing.view", Allow), "", nil)
	checkEscalation(t, s.CheckOrgDefault(gAC, gO, "billing.manage", Allow), ReasonRaisesSelf, []string{"billing.manage"})
}

func TestCheckMove(t *testing.T) {
	s := guardSnapshot()
	cases := []struct {
		name        string
		actor       int64
		org, parent int64
		want        error
		reason      string
		perms       []string
	}{
		{"under itself", gRoot, gO1, gO1, ErrMoveBelowItself, "", nil},
		{"under its child", gRoot, gO1, gO11, ErrMoveBelowItself, "", nil},
		{"top-level under its grandchild", gActor, gO, gO11, ErrMoveBelowItself, "", nil},
		{"global admin: a top-level organisation under another", gRoot, gP, gO11, nil, "", nil},
		{"global admin: a branch elsewhere", gRoot, gO11, gP, nil, "", nil},
		{"nothing changes for the actor", gActor, gO11, gO1, nil, "", nil},
		{"leaving the O1 default deny raises audit.view in O11", gActor, gO11, gO, nil, ReasonRaisesSelf, []string{"audit.view"}},
		{"moving away from one's roles only lowers access", gActor, gO11, gP, nil, "", nil},
		{"an access controller's move that raises nothing", gAC, gO11, gO, nil, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CheckMove(tc.actor, tc.org, tc.parent)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("CheckMove = %v, want %v", err, tc.want)
				}
				return
			}
			checkEscalation(t, err, tc.reason, tc.perms)
		})
	}
	if o, _ := s.Org(gO11); o.ParentID != gO1 {
		t.Fatal("CheckMove changed the snapshot")
	}
}

func TestInheritedDefault(t *testing.T) {
	s := guardSnapshot()
	cases := []struct {
		org    int64
		perm   string
		effect Effect
		from   int64
	}{
		{gO11, "audit.view", Deny, gO1}, // the nearest above wins
		{gO1, "audit.view", Allow, gO},  // its own deny does not count: it is what "inherit" would replace
		{gO, "audit.view", Inherit, 0},  // top-level: nothing above
		{gO11, "billing.view", Inherit, 0},
		{gO11, "no.such", Inherit, 0},
		{99, "audit.view", Inherit, 0},
	}
	for _, tc := range cases {
		if e, from := s.InheritedDefault(tc.org, tc.perm); e != tc.effect || from != tc.from {
			t.Errorf("InheritedDefault(%d, %q) = %v, %d; want %v, %d", tc.org, tc.perm, e, from, tc.effect, tc.from)
		}
	}
}

func TestRoleModeFacts(t *testing.T) {
	d := guardData()
	d.Orgs = slices.Clone(d.Orgs)
	d.Orgs[1].OneRole = true // O1
	d.Assignments = append(slices.Clone(d.Assignments), Assignment{UserID: gTarget, RoleID: grO1, OrgID: gO1},
		Assignment{UserID: gTarget, RoleID: grFront, OrgID: gO})
	s := NewSnapshot(DefaultCatalog(), d)
	if !s.OneRole(gO1) || s.OneRole(gO) || s.OneRole(99) {
		t.Errorf("OneRole: O1 %v, O %v, unknown %v", s.OneRole(gO1), s.OneRole(gO), s.OneRole(99))
	}
	if got := s.RolesIn(gTarget, gO1); !slices.Equal(got, []int64{grO1}) {
		t.Errorf("RolesIn(target, O1) = %v: only assignments made in O1 count", got)
	}
	if got := s.RolesIn(gTarget, gO11); got != nil {
		t.Errorf("RolesIn(target, O11) = %v", got)
	}
	if !s.IsGlobalAdmin(gRoot) || s.IsGlobalAdmin(gDisabledRoot) || s.IsGlobalAdmin(gActor) {
		t.Error("IsGlobalAdmin")
	}
}

// The hierarchy of PRODUCT.md §1.3 across A → A1 → A11 with a sibling A2 and another
// top-level B, told as the issue asks: an assignment in A grants in A11 but not in B; an
// organisation default deny in A1 loses to a role grant in A1 and wins over nothing; each
// explanation names the organisation that decided.
func TestHierarchyAcrossTheTree(t *testing.T) {
	const (
		a, a1, a11, a2, b              = 1, 2, 3, 4, 5
		inA, inA1, plain               = 10, 11, 12
		billingA, schedulerA1, member1 = 20, 21, 22
	)
	d := Data{
		Orgs: []Org{{ID: a, Name: "A"}, {ID: a1, ParentID: a, Name: "A1"}, {ID: a11, ParentID: a1, Name: "A11"},
			{ID: a2, ParentID: a, Name: "A2"}, {ID: b, Name: "B"}},
		Users: []User{{ID: inA, Name: "Holder in A"}, {ID: inA1, Name: "Holder in A1"}, {ID: plain, Name: "Plain member"}},
		Roles: []Role{
			{ID: billingA, OrgID: a, Code: "BILLING", Name: "Billing", Active: true, Permissions: []string{"patients.view", "billing.view"}},
			{ID: schedulerA1, OrgID: a1, Code: "SCHEDULER", Name: "Scheduler", Active: true, Permissions: []string{"patients.view", "scheduling.access"}},
			{ID: member1, OrgID: a, Code: "MEMBER", Name: "Member", Active: true, System: true, Permissions: []string{"patients.view"}},
		},
		Assignments: []Assignment{{UserID: inA, RoleID: billingA, OrgID: a}, {UserID: inA1, RoleID: schedulerA1, OrgID: a1},
			{UserID: plain, RoleID: member1, OrgID: a1}},
		OrgDefaults: []OrgDefault{{OrgID: a1, Perm: "scheduling.access", Effect: Deny}},
	}
	s := NewSnapshot(DefaultCatalog(), d)
	cases := []struct {
		name    string
		user    int64
		org     int64
		perm    string
		allowed bool
		step    Step
		orgName string
	}{
		{"assignment in A grants in A11", inA, a11, "billing.view", true, StepRoleGrant, "A"},
		{"assignment in A grants in the sibling A2", inA, a2, "billing.view", true, StepRoleGrant, "A"},
		{"assignment in A grants nothing in the other top-level B", inA, b, "billing.view", false, StepNotMember, ""},
		{"assignment in A1 grants nothing in A above it", inA1, a, "scheduling.access", false, StepNotMember, ""},
		{"default deny in A1 loses to a role grant in A1", inA1, a1, "scheduling.access", true, StepRoleGrant, "A1"},
		{"... and below it", inA1, a11, "scheduling.access", true, StepRoleGrant, "A1"},
		{"default deny in A1 wins over nothing", plain, a1, "scheduling.access", false, StepOrgDefault, "A1"},
		{"... and reaches A11", plain, a11, "scheduling.access", false, StepOrgDefault, "A1"},
		{"default deny in A1 does not reach A", inA, a, "scheduling.access", false, StepCatalogDefault, ""},
		{"default deny in A1 does not reach the sibling A2", inA, a2, "scheduling.access", false, StepCatalogDefault, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Explain(tc.user, tc.org, tc.perm)
			if got.Allowed != tc.allowed || got.Step != tc.step || got.OrgName != tc.orgName {
				t.Errorf("Explain = allowed %v, step %v, org %q; want %v, %v, %q", got.Allowed, got.Step, got.OrgName, tc.allowed, tc.step, tc.orgName)
			}
		})
	}
}
