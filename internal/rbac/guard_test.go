package rbac

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// The guard world: O → O1 → O11, and a separate top-level P.
const (
	gO   int64 = 1
	gO1  int64 = 2
	gO11 int64 = 3
	gP   int64 = 4
)

// Users of the guard world.
const (
	gRoot         int64 = 1 // global admin
	gActor        int64 = 2 // Manager in O; no access.delegate; audit.view in O only through an org default
	gAC           int64 = 3 // Access Controller in O (access.delegate)
	gTarget       int64 = 4 // member of O; a stored user override deny patients.view in O (ignored: mandatory)
	gOther        int64 = 5 // member of P
	gDisabledRoot int64 = 6 // disabled global admin
	gAC2          int64 = 7 // Access Controller in O, but access.delegate denied to them in O1
	gGhost        int64 = 99
)

// Roles of the guard world.
const (
	grFront      int64 = 201
	grManager    int64 = 202
	grBilling    int64 = 203
	grOld        int64 = 204 // inactive
	grP          int64 = 205
	grAC         int64 = 206
	grO1         int64 = 207
	grAudit      int64 = 208
	grMemberOnly int64 = 209
	grNoSuch     int64 = 999
)

var (
	managerPerms = []string{"patients.view", "patients.identifiers", "scheduling.access", "roles.manage", "staff.manage", "staff.view"}
	acPerms      = []string{"patients.view", "roles.manage", "staff.manage", "staff.view", "audit.view", "access.delegate"}
)

func guardData() Data {
	return Data{
		Orgs: []Org{
			{ID: gO, Name: "O"},
			{ID: gO1, ParentID: gO, Name: "O1"},
			{ID: gO11, ParentID: gO1, Name: "O11"},
			{ID: gP, Name: "P"},
		},
		Users: []User{
			{ID: gRoot, Name: "Root", GlobalAdmin: true},
			{ID: gActor, Name: "Actor"},
			{ID: gAC, Name: "Access controller"},
			{ID: gTarget, Name: "Target"},
			{ID: gOther, Name: "Other"},
			{ID: gDisabledRoot, Name: "Old root", GlobalAdmin: true, Disabled: true},
			{ID: gAC2, Name: "Limited access controller"},
		},
		Roles: []Role{
			{ID: grFront, OrgID: gO, Code: "FRONT", Name: "Front", Active: true, Permissions: []string{"patients.view", "patients.identifiers", "scheduling.access"}},
			{ID: grManager, OrgID: gO, Code: "MANAGERISH", Name: "Manager-ish", Active: true, Permissions: managerPerms},
			{ID: grBilling, OrgID: gO, Code: "BILLING", Name: "Billing", Active: true, Permissions: []string{"patients.view", "billing.view"}},
			{ID: grOld, OrgID: gO, Code: "OLD", Name: "Old", Active: false, Permissions: []string{"patients.view"}},
			{ID: grP, OrgID: gP, Code: "P_ROLE", Name: "P role", Active: true, Permissions: []string{"patients.view"}},
			{ID: grAC, OrgID: gO, Code: "ACCESS_CONTROLLER", Name: "Access Controller", Active: true, System: true, Permissions: acPerms},
			{ID: grO1, OrgID: gO1, Code: "O1_ROLE", Name: "O1 role", Active: true, Permissions: []string{"patients.view", "scheduling.access"}},
			{ID: grAudit, OrgID: gO, Code: "AUDITOR", Name: "Auditor", Active: true, Permissions: []string{"patients.view", "audit.view"}},
			{ID: grMemberOnly, OrgID: gO, Code: "MEMBER", Name: "Member", Active: true, System: true, Permissions: []string{"patients.view"}},
		},
		Assignments: []Assignment{
			{UserID: gActor, RoleID: grManager, OrgID: gO},
			{UserID: gAC, RoleID: grAC, OrgID: gO},
			{UserID: gAC2, RoleID: grAC, OrgID: gO},
		},
		Members: []Membership{
			{UserID: gTarget, OrgID: gO},
			{UserID: gOther, OrgID: gP},
		},
		UserOverrides: []UserOverride{
			{UserID: gTarget, OrgID: gO, Perm: "patients.view", Effect: Deny, SetBy: gRoot},
			{UserID: gAC2, OrgID: gO1, Perm: "access.delegate", Effect: Deny, SetBy: gRoot},
		},
		OrgDefaults: []OrgDefault{
			{OrgID: gO, Perm: "audit.view", Effect: Allow},
			{OrgID: gO1, Perm: "audit.view", Effect: Deny},
		},
	}
}

func guardSnapshot() *Snapshot { return NewSnapshot(DefaultCatalog(), guardData()) }

// checkEscalation asserts err against an expected reason ("" = no error) and permission list.
func checkEscalation(t *testing.T, err error, reason string, perms []string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	ee := asEscalation(t, err)
	if ee.Reason != reason {
		t.Errorf("Reason = %q, want %q (%v)", ee.Reason, reason, err)
	}
	if !sameKeys(ee.Perms, perms) {
		t.Errorf("Perms = %v, want exactly %v", ee.Perms, perms)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("message %q does not contain the reason", err.Error())
	}
}

func TestGuardWorldSanity(t *testing.T) {
	s := guardSnapshot()
	cases := []struct {
		user, org int64
		perm      string
		want      bool
	}{
		{gActor, gO, "audit.view", true},
		{gActor, gO1, "audit.view", false},
		{gActor, gO11, "audit.view", false},
		{gActor, gO1, "staff.manage", true},
		{gActor, gO, "access.delegate", false},
		{gAC, gO11, "access.delegate", true},
		{gAC2, gO, "access.delegate", true},
		{gAC2, gO1, "access.delegate", false},
		{gTarget, gO, "patients.view", true}, // mandatory: the stored deny override counts for nothing
		{gActor, gP, "patients.view", false},
	}
	for _, tc := range cases {
		if got := s.Can(tc.user, tc.org, tc.perm); got != tc.want {
			t.Errorf("Can(%d, %d, %q) = %v, want %v", tc.user, tc.org, tc.perm, got, tc.want)
		}
	}
	if len(s.Warnings) != 0 {
		t.Errorf("Warnings: %q", s.Warnings)
	}
}

func TestCheckRoleChange(t *testing.T) {
	s := guardSnapshot()
	billing := []string{"patients.view", "billing.view"}
	cases := []struct {
		name       string
		actor      int64
		role       int64
		org        int64
		prev, next []string
		reason     string
		perms      []string
	}{
		// Without access.delegate: only held permissions may be added.
		{"new role with held permissions", gActor, 0, gO, nil, []string{"scheduling.access", "patients.view", "patients.identifiers"}, "", nil},
		{"new role with unheld permissions lists exactly the missing ones, in catalog order", gActor, 0, gO, nil,
			[]string{"patients.view", "billing.manage", "scheduling.access", "billing.view", "clinical.erx", "staff.view"},
			ReasonNotHeld, []string{"clinical.erx", "billing.view", "billing.manage"}},
		{"duplicates in next are counted once", gActor, 0, gO, nil, []string{"billing.view", "billing.view"}, ReasonNotHeld, []string{"billing.view"}},
		{"removing is fine, even permissions the actor lacks", gActor, grBilling, gO, billing, []string{"patients.view"}, "", nil},
		{"removing everything is fine", gActor, grBilling, gO, billing, nil, "", nil},
		{"remove one, add a held one", gActor, grBilling, gO, billing, []string{"patients.view", "staff.view"}, "", nil},
		{"unchanged role with unheld permissions", gActor, grBilling, gO, billing, billing, "", nil},
		{"reordered role is no change", gActor, grBilling, gO, billing, []string{"billing.view", "patients.view"}, "", nil},
		{"keeping unheld, adding unheld", gActor, grBilling, gO, billing, []string{"patients.view", "billing.view", "billing.manage"}, ReasonNotHeld, []string{"billing.manage"}},
		{"mandatory keys never count as added", gTarget, 0, gO, nil, []string{"patients.view"}, "", nil},
		{"mandatory re-added to an existing role", gActor, grBilling, gO, []string{"billing.view"}, billing, "", nil},
		{"keys the catalog lacks are not permissions", gActor, 0, gO, nil, []string{"patients.view", "no.such"}, "", nil},
		{"held through an org default in O", gActor, 0, gO, nil, []string{"patients.view", "audit.view"}, "", nil},
		{"org default deny in O1 means not held there", gActor, 0, gO1, nil, []string{"patients.view", "audit.view"}, ReasonNotHeld, []string{"audit.view"}},
		{"role held in O applies in O11", gActor, 0, gO11, nil, []string{"patients.view", "staff.manage"}, "", nil},
		{"no membership in P", gActor, 0, gP, nil, []string{"patients.view", "patients.identifiers"}, ReasonNotHeld, []string{"patients.identifiers"}},
		{"disabled global admin holds nothing", gDisabledRoot, 0, gO, nil, []string{"billing.view"}, ReasonNotHeld, []string{"billing.view"}},
		{"unknown actor holds nothing", gGhost, 0, gO, nil, []string{"billing.view"}, ReasonNotHeld, []string{"billing.view"}},
		// Per §2.3 the actor needs the permission "in that organisation" (the role's): the
		// others who hold the role lower down get it even where the actor's default is deny.
		{"role not held by the actor: org default counts in the role's org", gActor, grFront, gO,
			[]string{"patients.view", "patients.identifiers", "scheduling.access"},
			[]string{"patients.view", "patients.identifiers", "scheduling.access", "audit.view"}, "", nil},

		// Nobody raises their own access.
		{"own role: adding a permission held only through an org default in O raises access in O1", gActor, grManager, gO,
			managerPerms, append(slices.Clone(managerPerms), "audit.view"), ReasonRaisesSelf, []string{"audit.view"}},
		{"own role: removing is fine", gActor, grManager, gO, managerPerms, []string{"patients.view", "staff.view"}, "", nil},
		{"own role: adding unheld is not held", gActor, grManager, gO, managerPerms, append(slices.Clone(managerPerms), "billing.view"), ReasonNotHeld, []string{"billing.view"}},

		// With access.delegate.
		{"delegate: anything to a role not held", gAC, grBilling, gO, billing, []string{"patients.view", "billing.view", "billing.manage", "clinical.erx"}, "", nil},
		{"delegate: a new role with everything", gAC, 0, gO, nil, DefaultCatalog().Keys(), "", nil},
		{"delegate: new role in O11", gAC, 0, gO11, nil, []string{"patients.view", "clinical.erx"}, "", nil},
		{"delegate: not to a role they hold", gAC, grAC, gO, acPerms, append(slices.Clone(acPerms), "billing.view"), ReasonOwnRole, []string{"billing.view"}},
		{"delegate: not to a role they hold, even held permissions", gAC, grAC, gO, []string{"patients.view", "roles.manage"},
			[]string{"patients.view", "roles.manage", "staff.view", "clinical.erx"}, ReasonOwnRole, []string{"clinical.erx", "staff.view"}},
		{"delegate: removing from a role they hold is fine", gAC, grAC, gO, acPerms, []string{"patients.view", "audit.view"}, "", nil},
		{"delegate only counts where held (P)", gAC, 0, gP, nil, []string{"patients.view", "billing.view"}, ReasonNotHeld, []string{"billing.view"}},
		{"delegate denied in O1 by an override", gAC2, 0, gO1, nil, []string{"patients.view", "billing.view"}, ReasonNotHeld, []string{"billing.view"}},
		{"delegate still held in O by the same person", gAC2, 0, gO, nil, []string{"patients.view", "billing.view"}, "", nil},

		// Global admin.
		{"global admin: anything", gRoot, 0, gO, nil, DefaultCatalog().Keys(), "", nil},
		{"global admin: anything anywhere", gRoot, grP, gP, []string{"patients.view"}, DefaultCatalog().Keys(), "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Reported keys come in catalog order.
			err := s.CheckRoleChange(tc.actor, tc.role, tc.org, tc.prev, tc.next)
			checkEscalation(t, err, tc.reason, tc.perms)
		})
	}
}

func TestCheckAssignments(t *testing.T) {
	s := guardSnapshot()
	a := func(user, role, org int64) Assignment { return Assignment{UserID: user, RoleID: role, OrgID: org} }
	cases := []struct {
		name   string
		actor  int64
		add    []Assignment
		reason string
		perms  []string
	}{
		{"nothing to add", gActor, nil, "", nil},
		// Structure.
		{"role of another branch", gActor, []Assignment{a(gTarget, grP, gO)}, ReasonWrongOrg, []string{"P_ROLE"}},
		{"role of O assigned in P", gActor, []Assignment{a(gOther, grFront, gP)}, ReasonWrongOrg, []string{"FRONT"}},
		{"role of O1 assigned above it in O", gActor, []Assignment{a(gTarget, grO1, gO)}, ReasonWrongOrg, []string{"O1_ROLE"}},
		{"role of O1 assigned in O11", gActor, []Assignment{a(gTarget, grO1, gO11)}, "", nil},
		{"inactive role", gActor, []Assignment{a(gTarget, grOld, gO)}, ReasonInactive, []string{"OLD"}},
		{"unknown role", gActor, []Assignment{a(gTarget, grNoSuch, gO)}, ReasonUnknownRole, nil},
		{"unknown org", gActor, []Assignment{a(gTarget, grFront, 77)}, ReasonWrongOrg, []string{"FRONT"}},

		// Without access.delegate: the role's permissions must all be held there.
		{"all held", gActor, []Assignment{a(gTarget, grFront, gO)}, "", nil},
		{"all held below", gActor, []Assignment{a(gTarget, grFront, gO11)}, "", nil},
		{"system MEMBER role", gActor, []Assignment{a(gTarget, grMemberOnly, gO)}, "", nil},
		{"not all held", gActor, []Assignment{a(gTarget, grBilling, gO)}, ReasonNotHeld, []string{"billing.view"}},
		{"held through an org default in O", gActor, []Assignment{a(gTarget, grAudit, gO)}, "", nil},
		{"org default deny in O1: not held there", gActor, []Assignment{a(gTarget, grAudit, gO1)}, ReasonNotHeld, []string{"audit.view"}},
		{"access controller role lists what is missing", gActor, []Assignment{a(gTarget, grAC, gO)}, ReasonNotHeld, []string{"access.delegate"}},
		{"self, all held, nothing raised", gActor, []Assignment{a(gActor, grFront, gO)}, "", nil},
		{"self, all held, below", gActor, []Assignment{a(gActor, grFront, gO11)}, "", nil},
		{"self, not held", gActor, []Assignment{a(gActor, grBilling, gO)}, ReasonNotHeld, []string{"billing.view"}},
		// The hierarchy edge case: audit.view is held in O only through the org default allow
		// there; O1 has an org default deny. Assigning oneself a role granting audit.view in O
		// would raise one's access in O1 (and O11).
		{"self, held only by org default, raises access below", gActor, []Assignment{a(gActor, grAudit, gO)}, ReasonRaisesSelf, []string{"audit.view"}},
		{"disabled global admin holds nothing", gDisabledRoot, []Assignment{a(gTarget, grFront, gO)}, ReasonNotHeld, []string{"patients.view", "patients.identifiers", "scheduling.access"}},
		{"disabled global admin, self", gDisabledRoot, []Assignment{a(gDisabledRoot, grMemberOnly, gO)}, ReasonNotHeld, []string{"patients.view"}},

		// With access.delegate.
		{"delegate: any role to another", gAC, []Assignment{a(gTarget, grBilling, gO)}, "", nil},
		{"delegate: access controller role to another", gAC, []Assignment{a(gTarget, grAC, gO11)}, "", nil},
		{"delegate: never to oneself", gAC, []Assignment{a(gAC, grBilling, gO)}, ReasonSelfAssign, []string{"BILLING"}},
		{"delegate: never to oneself, even a role with held permissions", gAC, []Assignment{a(gAC, grMemberOnly, gO)}, ReasonSelfAssign, []string{"MEMBER"}},
		{"delegate: never to oneself below", gAC, []Assignment{a(gAC, grO1, gO11)}, ReasonSelfAssign, []string{"O1_ROLE"}},
		{"delegate not held in P", gAC, []Assignment{a(gOther, grP, gP)}, ReasonNotHeld, []string{"patients.view"}},
		{"delegate denied in O1 by an override", gAC2, []Assignment{a(gTarget, grBilling, gO1)}, ReasonNotHeld, []string{"billing.view"}},
		{"delegate kept in O", gAC2, []Assignment{a(gTarget, grBilling, gO)}, "", nil},
		{"delegate still refused an inactive role", gAC, []Assignment{a(gTarget, grOld, gO)}, ReasonInactive, []string{"OLD"}},

		// Batches.
		{"batch: a bad one refuses all", gActor, []Assignment{a(gTarget, grFront, gO), a(gTarget, grBilling, gO)}, ReasonNotHeld, []string{"billing.view"}},
		{"batch: good ones", gActor, []Assignment{a(gTarget, grFront, gO), a(gOther, grMemberOnly, gO1)}, "", nil},
		{"batch: self raise hidden among others", gActor, []Assignment{a(gTarget, grFront, gO), a(gActor, grAudit, gO)}, ReasonRaisesSelf, []string{"audit.view"}},
		{"batch: delegate, one to self", gAC, []Assignment{a(gTarget, grBilling, gO), a(gAC, grFront, gO)}, ReasonSelfAssign, []string{"FRONT"}},

		// Global admin.
		{"global admin: any role to another", gRoot, []Assignment{a(gTarget, grAC, gO)}, "", nil},
		{"global admin: any role to self", gRoot, []Assignment{a(gRoot, grBilling, gO)}, "", nil},
		{"global admin: in P", gRoot, []Assignment{a(gRoot, grP, gP), a(gOther, grP, gP)}, "", nil},
		{"global admin: structure still applies (inactive)", gRoot, []Assignment{a(gTarget, grOld, gO)}, ReasonInactive, []string{"OLD"}},
		{"global admin: structure still applies (branch)", gRoot, []Assignment{a(gTarget, grP, gO)}, ReasonWrongOrg, []string{"P_ROLE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CheckAssignments(tc.actor, tc.add)
			checkEscalation(t, err, tc.reason, tc.perms)
		})
	}
}

func TestCanGrant(t *testing.T) {
	s := guardSnapshot()
	cases := []struct {
		actor, org int64
		perm       string
		want       bool
	}{
		{gActor, gO, "staff.manage", true},
		{gActor, gO, "audit.view", true},
		{gActor, gO1, "audit.view", false},
		{gActor, gO, "billing.view", false},
		{gActor, gP, "patients.view", false},
		{gAC, gO, "billing.manage", true},
		{gAC, gO11, "clinical.erx", true},
		{gAC, gP, "billing.manage", false},
		{gAC2, gO1, "billing.manage", false},
		{gAC2, gO1, "audit.view", true},
		{gRoot, gP, "access.delegate", true},
		{gDisabledRoot, gO, "patients.view", false},
		{gGhost, gO, "patients.view", false},
	}
	for _, tc := range cases {
		if got := s.CanGrant(tc.actor, tc.org, tc.perm); got != tc.want {
			t.Errorf("CanGrant(%d, %d, %q) = %v, want %v", tc.actor, tc.org, tc.perm, got, tc.want)
		}
	}
}

func TestEscalationErrorMessage(t *testing.T) {
	err := error(&EscalationError{Perms: []string{"billing.view", "billing.manage"}, Reason: ReasonNotHeld})
	want := "rbac: " + ReasonNotHeld + ": billing.view, billing.manage"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	var ee *EscalationError
	if !errors.As(err, &ee) || ee.Reason != ReasonNotHeld {
		t.Errorf("errors.As failed")
	}
}

// Mandatory means always (hardening finding 15): a member holds a mandatory permission
// whatever overrides or defaults were stored for it, so no role change can "raise" it either.
func TestMandatoryCannotBeDenied(t *testing.T) {
	d := guardData()
	d.Roles = append(d.Roles, Role{ID: 300, OrgID: gO, Code: "LEGACY", Name: "Legacy", Active: true, Permissions: []string{"staff.view"}})
	d.Assignments = append(d.Assignments, Assignment{UserID: gTarget, RoleID: 300, OrgID: gO})
	d.OrgDefaults = append(d.OrgDefaults, OrgDefault{OrgID: gO, Perm: "patients.view", Effect: Deny})
	s := NewSnapshot(DefaultCatalog(), d)
	for _, org := range []int64{gO, gO1, gO11} {
		if e := s.Explain(gTarget, org, "patients.view"); !e.Allowed || e.Step != StepCatalogDefault {
			t.Errorf("patients.view of a member in %d with a deny override and a deny default: %+v, want always granted", org, e)
		}
	}
	if e := s.Explain(gOther, gO, "patients.view"); e.Allowed {
		t.Errorf("a non-member holds the mandatory permission: %+v", e)
	}
	if err := s.CheckRoleChange(gTarget, 300, gO, []string{"staff.view"}, []string{"patients.view", "staff.view"}); err != nil {
		t.Errorf("adding the mandatory key back to a legacy role: %v", err)
	}
}

func TestEngine(t *testing.T) {
	var calls atomic.Int32
	data := ruleData()
	var warnings [][]string
	load := func(context.Context) (Data, error) {
		calls.Add(1)
		return data, nil
	}
	e, err := NewEngine(context.Background(), DefaultCatalog(), load, func(w []string) { warnings = append(warnings, w) })
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("load called %d times, want 1", calls.Load())
	}
	if e.Catalog() != DefaultCatalog() || e.Now() == nil {
		t.Fatalf("engine not set up")
	}
	if len(warnings) != 1 || len(warnings[0]) != 1 {
		t.Errorf("warnings = %q, want the legacy role's", warnings)
	}
	first := e.Now()
	if first.Can(uBob, orgA, "billing.manage") {
		t.Fatalf("bob has billing.manage before")
	}
	// A committed write, then a reload: the very next check sees it.
	data.Assignments = append(slices.Clone(data.Assignments), Assignment{UserID: uBob, RoleID: rBiller, OrgID: orgA})
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !e.Now().Can(uBob, orgA, "billing.manage") {
		t.Errorf("reload did not take effect")
	}
	if first.Can(uBob, orgA, "billing.manage") {
		t.Errorf("the previous snapshot changed")
	}
	if len(warnings) != 1 {
		t.Errorf("same warnings reported again: %q", warnings)
	}

	t.Run("load error", func(t *testing.T) {
		boom := errors.New("boom")
		e2, err := NewEngine(context.Background(), DefaultCatalog(), func(context.Context) (Data, error) { return Data{}, boom }, nil)
		if e2 != nil || !errors.Is(err, boom) || !strings.Contains(err.Error(), "rbac: load") {
			t.Errorf("NewEngine = %v, %v", e2, err)
		}
		fail := false
		e3, err := NewEngine(context.Background(), DefaultCatalog(), func(context.Context) (Data, error) {
			if fail {
				return Data{}, boom
			}
			return ruleData(), nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := e3.Now()
		fail = true
		if err := e3.Reload(context.Background()); !errors.Is(err, boom) {
			t.Errorf("Reload = %v", err)
		}
		if e3.Now() != before {
			t.Errorf("a failed reload replaced the snapshot")
		}
	})
}
