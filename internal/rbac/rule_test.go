package rbac

import (
	"slices"
	"strings"
	"testing"
)

// The rule world: A → A1 → A11, A → A2, and a separate top-level B.
const (
	orgA   int64 = 1
	orgA1  int64 = 2
	orgA11 int64 = 3
	orgA2  int64 = 4
	orgB   int64 = 5
	orgNo  int64 = 99 // does not exist
)

// Users of the rule world.
const (
	uRoot         int64 = 1  // global admin
	uRootDisabled int64 = 2  // global admin, disabled
	uDisabled     int64 = 3  // disabled, holds a role in A
	uNobody       int64 = 4  // no membership anywhere (but an override, which must not count)
	uAlice        int64 = 5  // Biller in A; user override deny billing.view in A1
	uBob          int64 = 6  // member of A, no roles; overrides on clinical.erx
	uCarol        int64 = 7  // Scheduler in A; inactive Clinician in A1
	uDave         int64 = 8  // member of A11 only
	uErin         int64 = 9  // Legacy role with unknown keys in A
	uFrank        int64 = 10 // billing viewer in A and in A1
	uGina         int64 = 11 // B admin in B
	uNoSuch       int64 = 999
)

// Roles of the rule world.
const (
	rBiller      int64 = 101
	rScheduler   int64 = 102
	rClinician   int64 = 103 // inactive
	rLegacy      int64 = 104 // unknown keys
	rBillViewA   int64 = 105
	rBillViewA1  int64 = 106
	rBAdmin      int64 = 107
	rUnassigned  int64 = 108
	rNoSuchRole  int64 = 999
	setterAdmin  int64 = uRoot
	setterCarol  int64 = uCarol
	legacyKeyOne       = "legacy.thing"
	legacyKeyTwo       = "old.key"
)

func ruleData() Data {
	return Data{
		Orgs: []Org{
			{ID: orgA, Name: "A"},
			{ID: orgA1, ParentID: orgA, Name: "A1"},
			{ID: orgA11, ParentID: orgA1, Name: "A11"},
			{ID: orgA2, ParentID: orgA, Name: "A2"},
			{ID: orgB, Name: "B"},
		},
		Users: []User{
			{ID: uRoot, Name: "Root", GlobalAdmin: true},
			{ID: uRootDisabled, Name: "Old root", GlobalAdmin: true, Disabled: true},
			{ID: uDisabled, Name: "Disabled", Disabled: true},
			{ID: uNobody, Name: "Nobody"},
			{ID: uAlice, Name: "Alice"},
			{ID: uBob, Name: "Bob"},
			{ID: uCarol, Name: "Carol"},
			{ID: uDave, Name: "Dave"},
			{ID: uErin, Name: "Erin"},
			{ID: uFrank, Name: "Frank"},
			{ID: uGina, Name: "Gina"},
		},
		Roles: []Role{
			{ID: rBiller, OrgID: orgA, Code: "BILLER", Name: "Biller", Active: true, Permissions: []string{"patients.view", "billing.view", "billing.manage"}},
			{ID: rScheduler, OrgID: orgA, Code: "SCHEDULER", Name: "Scheduler", Active: true, Permissions: []string{"patients.view", "scheduling.access"}},
			{ID: rClinician, OrgID: orgA1, Code: "CLINICIAN", Name: "Clinician", Active: false, Permissions: []string{"patients.view", "clinical.drug_interactions"}},
			{ID: rLegacy, OrgID: orgA, Code: "LEGACY", Name: "Legacy", Active: true, Permissions: []string{"patients.view", legacyKeyOne, "billing.view", legacyKeyTwo}},
			{ID: rBillViewA, OrgID: orgA, Code: "BILL_VIEW", Name: "Bill viewer A", Active: true, Permissions: []string{"patients.view", "billing.view"}},
			{ID: rBillViewA1, OrgID: orgA1, Code: "BILL_VIEW", Name: "Bill viewer A1", Active: true, Permissions: []string{"patients.view", "billing.view"}},
			{ID: rBAdmin, OrgID: orgB, Code: "ADMIN", Name: "Administrator", Active: true, System: true, Permissions: DefaultCatalog().Keys()},
			{ID: rUnassigned, OrgID: orgA, Code: "UNUSED", Name: "Unused", Active: true, Permissions: []string{"patients.view", "audit.view"}},
		},
		Assignments: []Assignment{
			{UserID: uDisabled, RoleID: rBiller, OrgID: orgA},
			{UserID: uRootDisabled, RoleID: rBiller, OrgID: orgA},
			{UserID: uAlice, RoleID: rBiller, OrgID: orgA},
			{UserID: uCarol, RoleID: rScheduler, OrgID: orgA},
			{UserID: uCarol, RoleID: rClinician, OrgID: orgA1},
			{UserID: uErin, RoleID: rLegacy, OrgID: orgA},
			{UserID: uFrank, RoleID: rBillViewA, OrgID: orgA},
			{UserID: uFrank, RoleID: rBillViewA1, OrgID: orgA1},
			{UserID: uGina, RoleID: rBAdmin, OrgID: orgB},
			{UserID: uBob, RoleID: rNoSuchRole, OrgID: orgB}, // dangling: ignored, no membership in B
		},
		Members: []Membership{
			{UserID: uBob, OrgID: orgA},
			{UserID: uDave, OrgID: orgA11},
			{UserID: uNoSuch, OrgID: orgA}, // dangling: ignored
		},
		UserOverrides: []UserOverride{
			{UserID: uAlice, OrgID: orgA1, Perm: "billing.view", Effect: Deny, SetBy: setterAdmin},
			{UserID: uBob, OrgID: orgA, Perm: "clinical.erx", Effect: Deny, SetBy: setterAdmin},
			{UserID: uBob, OrgID: orgA11, Perm: "clinical.erx", Effect: Allow, SetBy: setterCarol},
			{UserID: uBob, OrgID: orgA1, Perm: "clinical.erx", Effect: Inherit, SetBy: setterCarol}, // inherit = no setting
			{UserID: uNobody, OrgID: orgA, Perm: "billing.view", Effect: Allow, SetBy: setterAdmin},
			{UserID: uCarol, OrgID: orgA, Perm: "no.such.perm", Effect: Allow, SetBy: setterAdmin}, // unknown key: ignored
			{UserID: uDisabled, OrgID: orgA, Perm: "audit.view", Effect: Allow, SetBy: setterAdmin},
		},
		OrgDefaults: []OrgDefault{
			{OrgID: orgA1, Perm: "scheduling.access", Effect: Deny},
			{OrgID: orgA, Perm: "staff.view", Effect: Allow},
			{OrgID: orgA11, Perm: "patients.view", Effect: Deny},
			{OrgID: orgA, Perm: "audit.view", Effect: Deny},
			{OrgID: orgA11, Perm: "audit.view", Effect: Allow},
			{OrgID: orgA2, Perm: "orgs.manage", Effect: Inherit}, // inherit = no setting
			{OrgID: orgNo, Perm: "orgs.manage", Effect: Allow},   // unknown org: ignored
		},
	}
}

func ruleSnapshot() *Snapshot { return NewSnapshot(DefaultCatalog(), ruleData()) }

func TestRuleExplain(t *testing.T) {
	s := ruleSnapshot()
	type want struct {
		allowed   bool
		step      Step
		roleID    int64
		roleName  string
		roleOrgID int64
		orgID     int64
		orgName   string
		setBy     int64
	}
	cases := []struct {
		name string
		user int64
		org  int64
		perm string
		want want
	}{
		// Step 2: a role in A applies in A, below A (A1, A11, A2), but not in B.
		{"role in A grants in A", uAlice, orgA, "billing.manage", want{true, StepRoleGrant, rBiller, "Biller", orgA, orgA, "A", 0}},
		{"role in A grants in A1", uAlice, orgA1, "billing.manage", want{true, StepRoleGrant, rBiller, "Biller", orgA, orgA, "A", 0}},
		{"role in A grants in A11", uAlice, orgA11, "billing.manage", want{true, StepRoleGrant, rBiller, "Biller", orgA, orgA, "A", 0}},
		{"role in A grants in sibling branch A2 (still under A)", uAlice, orgA2, "billing.manage", want{true, StepRoleGrant, rBiller, "Biller", orgA, orgA, "A", 0}},
		{"role in A grants nothing in B", uAlice, orgB, "billing.manage", want{false, StepNotMember, 0, "", 0, 0, "", 0}},
		{"role does not grant what it lacks", uAlice, orgA, "clinical.erx", want{false, StepCatalogDefault, 0, "", 0, 0, "", 0}},
		{"nearest assignment explains", uFrank, orgA11, "billing.view", want{true, StepRoleGrant, rBillViewA1, "Bill viewer A1", orgA1, orgA1, "A1", 0}},
		{"nearest assignment explains (A)", uFrank, orgA, "billing.view", want{true, StepRoleGrant, rBillViewA, "Bill viewer A", orgA, orgA, "A", 0}},
		{"nearest assignment explains (A2)", uFrank, orgA2, "billing.view", want{true, StepRoleGrant, rBillViewA, "Bill viewer A", orgA, orgA, "A", 0}},

		// Step 1: user overrides.
		{"override deny in A1 beats role grant in A", uAlice, orgA1, "billing.view", want{false, StepUserOverride, 0, "", 0, orgA1, "A1", setterAdmin}},
		{"override deny in A1 applies in A11", uAlice, orgA11, "billing.view", want{false, StepUserOverride, 0, "", 0, orgA1, "A1", setterAdmin}},
		{"override in A1 does not reach A", uAlice, orgA, "billing.view", want{true, StepRoleGrant, rBiller, "Biller", orgA, orgA, "A", 0}},
		{"override in A1 does not reach sibling A2", uAlice, orgA2, "billing.view", want{true, StepRoleGrant, rBiller, "Biller", orgA, orgA, "A", 0}},
		{"nearest override wins: allow in A11 over deny in A", uBob, orgA11, "clinical.erx", want{true, StepUserOverride, 0, "", 0, orgA11, "A11", setterCarol}},
		{"deny in A applies in A1 (inherit there is no setting)", uBob, orgA1, "clinical.erx", want{false, StepUserOverride, 0, "", 0, orgA, "A", setterAdmin}},
		{"deny in A applies in A", uBob, orgA, "clinical.erx", want{false, StepUserOverride, 0, "", 0, orgA, "A", setterAdmin}},
		{"override with unknown key is ignored", uCarol, orgA, "audit.view", want{false, StepOrgDefault, 0, "", 0, orgA, "A", 0}},

		// Step 3: organisation defaults.
		{"org default deny in A1 loses to a role grant", uCarol, orgA11, "scheduling.access", want{true, StepRoleGrant, rScheduler, "Scheduler", orgA, orgA, "A", 0}},
		{"org default deny in A1 wins over nothing", uBob, orgA11, "scheduling.access", want{false, StepOrgDefault, 0, "", 0, orgA1, "A1", 0}},
		{"org default deny in A1 in A1 itself", uBob, orgA1, "scheduling.access", want{false, StepOrgDefault, 0, "", 0, orgA1, "A1", 0}},
		{"org default in A1 does not reach A", uBob, orgA, "scheduling.access", want{false, StepCatalogDefault, 0, "", 0, 0, "", 0}},
		{"org default allow in A", uBob, orgA, "staff.view", want{true, StepOrgDefault, 0, "", 0, orgA, "A", 0}},
		{"org default allow in A reaches A11", uBob, orgA11, "staff.view", want{true, StepOrgDefault, 0, "", 0, orgA, "A", 0}},
		{"org default allow in A reaches A2", uBob, orgA2, "staff.view", want{true, StepOrgDefault, 0, "", 0, orgA, "A", 0}},
		{"nearest org default: allow in A11 over deny in A", uBob, orgA11, "audit.view", want{true, StepOrgDefault, 0, "", 0, orgA11, "A11", 0}},
		{"nearest org default: deny in A in A1", uBob, orgA1, "audit.view", want{false, StepOrgDefault, 0, "", 0, orgA, "A", 0}},
		// Mandatory means always (hardening finding 15): a stored deny default or override on it
		// counts for nothing.
		{"org default deny on a mandatory key is ignored", uBob, orgA11, "patients.view", want{true, StepCatalogDefault, 0, "", 0, 0, "", 0}},
		{"mandatory: always granted, not through the role", uAlice, orgA11, "patients.view", want{true, StepCatalogDefault, 0, "", 0, 0, "", 0}},
		{"inherit org default is no setting", uBob, orgA2, "orgs.manage", want{false, StepCatalogDefault, 0, "", 0, 0, "", 0}},

		// Step 4: catalog default.
		{"mandatory allowed for a member", uBob, orgA, "patients.view", want{true, StepCatalogDefault, 0, "", 0, 0, "", 0}},
		{"mandatory allowed for a member below", uBob, orgA1, "patients.view", want{true, StepCatalogDefault, 0, "", 0, 0, "", 0}},
		{"non-mandatory denied for a member", uBob, orgA, "billing.view", want{false, StepCatalogDefault, 0, "", 0, 0, "", 0}},

		// Membership.
		{"no membership: denied even for mandatory", uNobody, orgA, "patients.view", want{false, StepNotMember, 0, "", 0, 0, "", 0}},
		{"no membership: override allow does not count", uNobody, orgA, "billing.view", want{false, StepNotMember, 0, "", 0, 0, "", 0}},
		{"membership only in a descendant: nothing in the ancestor", uDave, orgA, "patients.view", want{false, StepNotMember, 0, "", 0, 0, "", 0}},
		{"membership only in a descendant: nothing in A1", uDave, orgA1, "patients.view", want{false, StepNotMember, 0, "", 0, 0, "", 0}},
		{"membership only in a descendant: nothing in a sibling", uDave, orgA2, "patients.view", want{false, StepNotMember, 0, "", 0, 0, "", 0}},
		{"member of A11 gets org defaults there", uDave, orgA11, "staff.view", want{true, StepOrgDefault, 0, "", 0, orgA, "A", 0}},
		{"member of A11 and org default deny on mandatory: still granted", uDave, orgA11, "patients.view", want{true, StepCatalogDefault, 0, "", 0, 0, "", 0}},
		{"membership in A does not reach B", uBob, orgB, "patients.view", want{false, StepNotMember, 0, "", 0, 0, "", 0}},
		{"dangling assignment gives no membership", uBob, orgB, "staff.view", want{false, StepNotMember, 0, "", 0, 0, "", 0}},
		{"a role makes one staff in B", uGina, orgB, "access.delegate", want{true, StepRoleGrant, rBAdmin, "Administrator", orgB, orgB, "B", 0}},
		{"a role in B gives nothing in A", uGina, orgA, "patients.view", want{false, StepNotMember, 0, "", 0, 0, "", 0}},

		// Global admin and disabled users.
		{"global admin in A", uRoot, orgA, "access.delegate", want{true, StepGlobalAdmin, 0, "", 0, 0, "", 0}},
		{"global admin in A11", uRoot, orgA11, "patients.view", want{true, StepGlobalAdmin, 0, "", 0, 0, "", 0}},
		{"global admin in B without membership", uRoot, orgB, "billing.manage", want{true, StepGlobalAdmin, 0, "", 0, 0, "", 0}},
		{"disabled user holds nothing despite a role", uDisabled, orgA, "billing.view", want{false, StepDisabled, 0, "", 0, 0, "", 0}},
		{"disabled user holds nothing despite an override", uDisabled, orgA, "audit.view", want{false, StepDisabled, 0, "", 0, 0, "", 0}},
		{"disabled user: not even mandatory", uDisabled, orgA, "patients.view", want{false, StepDisabled, 0, "", 0, 0, "", 0}},
		{"disabled global admin holds nothing", uRootDisabled, orgA, "patients.view", want{false, StepDisabled, 0, "", 0, 0, "", 0}},
		{"disabled global admin holds nothing in B", uRootDisabled, orgB, "access.delegate", want{false, StepDisabled, 0, "", 0, 0, "", 0}},

		// Inactive roles still grant.
		{"inactive role still grants", uCarol, orgA1, "clinical.drug_interactions", want{true, StepRoleGrant, rClinician, "Clinician", orgA1, orgA1, "A1", 0}},
		{"inactive role still grants below", uCarol, orgA11, "clinical.drug_interactions", want{true, StepRoleGrant, rClinician, "Clinician", orgA1, orgA1, "A1", 0}},
		{"inactive role in A1 not in A", uCarol, orgA, "clinical.drug_interactions", want{false, StepCatalogDefault, 0, "", 0, 0, "", 0}},

		// Unknown roles' keys.
		{"legacy role still grants its known keys", uErin, orgA, "billing.view", want{true, StepRoleGrant, rLegacy, "Legacy", orgA, orgA, "A", 0}},

		// Unknown user / org.
		{"unknown user", uNoSuch, orgA, "patients.view", want{false, StepNoUser, 0, "", 0, 0, "", 0}},
		{"unknown org", uAlice, orgNo, "patients.view", want{false, StepNoUser, 0, "", 0, 0, "", 0}},
		{"unknown org for global admin", uRoot, orgNo, "patients.view", want{false, StepNoUser, 0, "", 0, 0, "", 0}},
		{"org 0", uAlice, 0, "patients.view", want{false, StepNoUser, 0, "", 0, 0, "", 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := s.Explain(tc.user, tc.org, tc.perm)
			got := want{d.Allowed, d.Step, d.RoleID, d.RoleName, d.RoleOrgID, d.OrgID, d.OrgName, d.SetBy}
			if got != tc.want {
				t.Errorf("Explain(%d, %d, %q)\n got %+v\nwant %+v", tc.user, tc.org, tc.perm, got, tc.want)
			}
			if d.Perm != tc.perm {
				t.Errorf("Perm = %q, want %q", d.Perm, tc.perm)
			}
			if can := s.Can(tc.user, tc.org, tc.perm); can != tc.want.allowed {
				t.Errorf("Can(%d, %d, %q) = %v, Explain says %v", tc.user, tc.org, tc.perm, can, tc.want.allowed)
			}
		})
	}
}

func TestRuleUnknownPermission(t *testing.T) {
	s := ruleSnapshot()
	for _, perm := range []string{"no.such", "", legacyKeyOne, legacyKeyTwo, "PATIENTS.VIEW"} {
		for _, user := range []int64{uRoot, uErin, uAlice} {
			if s.Can(user, orgA, perm) {
				t.Errorf("Can(%d, A, %q) = true for a key the catalog lacks", user, perm)
			}
			d := s.Explain(user, orgA, perm)
			if d.Allowed {
				t.Errorf("Explain(%d, A, %q).Allowed = true", user, perm)
			}
			if d.Perm != perm {
				t.Errorf("Explain(%d, A, %q).Perm = %q", user, perm, d.Perm)
			}
		}
	}
}

func TestRuleUnknownRolePermissions(t *testing.T) {
	s := ruleSnapshot()
	if len(s.Warnings) != 1 {
		t.Fatalf("Warnings = %q, want one about role %d", s.Warnings, rLegacy)
	}
	w := s.Warnings[0]
	for _, part := range []string{"104", "LEGACY", legacyKeyOne, legacyKeyTwo} {
		if !strings.Contains(w, part) {
			t.Errorf("warning %q does not name %q", w, part)
		}
	}
	if got := s.UnknownPermissions(rLegacy); !slices.Equal(got, []string{legacyKeyOne, legacyKeyTwo}) {
		t.Errorf("UnknownPermissions(legacy) = %v", got)
	}
	if got := s.UnknownPermissions(rBiller); len(got) != 0 {
		t.Errorf("UnknownPermissions(biller) = %v, want none", got)
	}
	if got := s.UnknownPermissions(rNoSuchRole); got != nil {
		t.Errorf("UnknownPermissions(unknown role) = %v", got)
	}
	want := []string{"patients.view", "billing.view", "staff.view"} // staff.view: org default allow in A
	if got := s.Effective(uErin, orgA); !slices.Equal(got, want) {
		t.Errorf("Effective(erin, A) = %v, want %v (unknown keys grant nothing)", got, want)
	}
	// The stored role keeps its keys as they were.
	r, ok := s.Role(rLegacy)
	if !ok || !slices.Equal(r.Permissions, []string{"patients.view", legacyKeyOne, "billing.view", legacyKeyTwo}) {
		t.Errorf("Role(legacy) = %+v, %v", r, ok)
	}

	t.Run("no warnings for a clean world", func(t *testing.T) {
		d := ruleData()
		d.Roles = slices.DeleteFunc(slices.Clone(d.Roles), func(r Role) bool { return r.ID == rLegacy })
		if w := NewSnapshot(DefaultCatalog(), d).Warnings; len(w) != 0 {
			t.Errorf("Warnings = %q", w)
		}
	})
	t.Run("another catalog turns keys unknown", func(t *testing.T) {
		s := NewSnapshot(mustCatalog(t, travelCatalog), ruleData())
		if len(s.Warnings) != 8 { // every role names patients.* which the travel catalog lacks
			t.Errorf("Warnings = %d (%q), want 8", len(s.Warnings), s.Warnings)
		}
		if s.Can(uAlice, orgA, "billing.view") {
			t.Errorf("billing.view granted under a catalog without it")
		}
		if !s.Can(uGina, orgB, "access.delegate") {
			t.Errorf("keys the catalogs share must still work")
		}
	})
}

func TestRuleEffective(t *testing.T) {
	s := ruleSnapshot()
	all := DefaultCatalog().Keys()
	cases := []struct {
		name string
		user int64
		org  int64
		want []string
	}{
		{"alice in A", uAlice, orgA, []string{"patients.view", "billing.view", "billing.manage", "staff.view"}},
		{"alice in A1 (billing.view denied)", uAlice, orgA1, []string{"patients.view", "billing.manage", "staff.view"}},
		{"alice in A11", uAlice, orgA11, []string{"patients.view", "billing.manage", "staff.view", "audit.view"}},
		{"alice in B", uAlice, orgB, nil},
		{"bob in A", uBob, orgA, []string{"patients.view", "staff.view"}},
		{"bob in A11", uBob, orgA11, []string{"patients.view", "clinical.erx", "staff.view", "audit.view"}},
		{"carol in A1", uCarol, orgA1, []string{"patients.view", "scheduling.access", "clinical.drug_interactions", "staff.view"}},
		{"root in B", uRoot, orgB, all},
		{"gina in B", uGina, orgB, all},
		{"disabled root", uRootDisabled, orgA, nil},
		{"nobody", uNobody, orgA, nil},
		{"unknown user", uNoSuch, orgA, nil},
		{"unknown org", uRoot, orgNo, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Effective(tc.user, tc.org)
			if !sameKeys(got, tc.want) {
				t.Errorf("Effective = %v, want %v", got, tc.want)
			}
			for _, k := range DefaultCatalog().Keys() {
				if s.Can(tc.user, tc.org, k) != slices.Contains(got, k) {
					t.Errorf("Effective and Can disagree on %q", k)
				}
			}
		})
	}
}

func TestRuleTreeHelpers(t *testing.T) {
	s := ruleSnapshot()
	t.Run("Ancestry", func(t *testing.T) {
		cases := []struct {
			org  int64
			want []int64
		}{
			{orgA, []int64{orgA}},
			{orgA1, []int64{orgA1, orgA}},
			{orgA11, []int64{orgA11, orgA1, orgA}},
			{orgA2, []int64{orgA2, orgA}},
			{orgB, []int64{orgB}},
			{orgNo, nil},
		}
		for _, tc := range cases {
			if got := s.Ancestry(tc.org); !slices.Equal(got, tc.want) {
				t.Errorf("Ancestry(%d) = %v, want %v", tc.org, got, tc.want)
			}
		}
	})
	t.Run("Subtree", func(t *testing.T) {
		cases := []struct {
			org  int64
			want []int64
		}{
			{orgA, []int64{orgA, orgA1, orgA11, orgA2}},
			{orgA1, []int64{orgA1, orgA11}},
			{orgA11, []int64{orgA11}},
			{orgA2, []int64{orgA2}},
			{orgB, []int64{orgB}},
			{orgNo, nil},
		}
		for _, tc := range cases {
			if got := s.Subtree(tc.org); !slices.Equal(got, tc.want) {
				t.Errorf("Subtree(%d) = %v, want %v", tc.org, got, tc.want)
			}
		}
	})
	t.Run("IsWithin", func(t *testing.T) {
		cases := []struct {
			org, anc int64
			want     bool
		}{
			{orgA, orgA, true},
			{orgA1, orgA, true},
			{orgA11, orgA, true},
			{orgA11, orgA1, true},
			{orgA2, orgA, true},
			{orgA, orgA1, false},
			{orgA1, orgA11, false},
			{orgA2, orgA1, false},
			{orgA11, orgA2, false},
			{orgB, orgA, false},
			{orgA, orgB, false},
			{orgNo, orgA, false},
			{orgA, orgNo, false},
			{orgNo, orgNo, false},
		}
		for _, tc := range cases {
			if got := s.IsWithin(tc.org, tc.anc); got != tc.want {
				t.Errorf("IsWithin(%d, %d) = %v, want %v", tc.org, tc.anc, got, tc.want)
			}
		}
	})
	t.Run("HoldsRole", func(t *testing.T) {
		cases := []struct {
			user, role int64
			want       bool
		}{
			{uAlice, rBiller, true},
			{uAlice, rScheduler, false},
			{uCarol, rClinician, true}, // inactive still held
			{uFrank, rBillViewA1, true},
			{uBob, rNoSuchRole, false}, // dangling assignment
			{uRoot, rBiller, false},    // global admin holds no role unless assigned
			{uDisabled, rBiller, true}, // holding is a fact, access is another matter
			{uNoSuch, rBiller, false},
			{uAlice, rUnassigned, false},
		}
		for _, tc := range cases {
			if got := s.HoldsRole(tc.user, tc.role); got != tc.want {
				t.Errorf("HoldsRole(%d, %d) = %v, want %v", tc.user, tc.role, got, tc.want)
			}
		}
	})
	t.Run("lookups", func(t *testing.T) {
		if o, ok := s.Org(orgA11); !ok || o.Name != "A11" || o.ParentID != orgA1 {
			t.Errorf("Org(A11) = %+v, %v", o, ok)
		}
		if _, ok := s.Org(orgNo); ok {
			t.Errorf("Org(unknown) found")
		}
		if u, ok := s.User(uAlice); !ok || u.Name != "Alice" {
			t.Errorf("User(alice) = %+v, %v", u, ok)
		}
		if _, ok := s.User(uNoSuch); ok {
			t.Errorf("User(unknown) found")
		}
		if r, ok := s.Role(rClinician); !ok || r.Active || r.Code != "CLINICIAN" {
			t.Errorf("Role(clinician) = %+v, %v", r, ok)
		}
		if _, ok := s.Role(rNoSuchRole); ok {
			t.Errorf("Role(unknown) found")
		}
		if s.Catalog() != DefaultCatalog() {
			t.Errorf("Catalog() is not the catalog given")
		}
		if d := s.Data(); len(d.Orgs) != 5 || len(d.Users) != 11 {
			t.Errorf("Data() = %d orgs, %d users", len(d.Orgs), len(d.Users))
		}
	})
	t.Run("OrgsWhere", func(t *testing.T) {
		cases := []struct {
			user int64
			perm string
			want []int64
		}{
			{uAlice, "billing.view", []int64{orgA, orgA2}},
			{uAlice, "billing.manage", []int64{orgA, orgA1, orgA11, orgA2}},
			{uRoot, "orgs.manage", []int64{orgA, orgA1, orgA11, orgA2, orgB}},
			{uBob, "clinical.erx", []int64{orgA11}},
			{uNobody, "patients.view", nil},
			{uAlice, "no.such", nil},
		}
		for _, tc := range cases {
			if got := s.OrgsWhere(tc.user, tc.perm); !slices.Equal(got, tc.want) {
				t.Errorf("OrgsWhere(%d, %q) = %v, want %v", tc.user, tc.perm, got, tc.want)
			}
		}
	})
}

// Changes take effect on the very next request: a new snapshot answers with the new facts,
// and the old one keeps answering with the old ones (snapshots are immutable).
func TestRuleSnapshotsAreIndependent(t *testing.T) {
	d := ruleData()
	before := NewSnapshot(DefaultCatalog(), d)
	d2 := d
	d2.Assignments = append(slices.Clone(d.Assignments), Assignment{UserID: uBob, RoleID: rBiller, OrgID: orgA})
	after := NewSnapshot(DefaultCatalog(), d2)
	if before.Can(uBob, orgA, "billing.manage") {
		t.Errorf("old snapshot changed")
	}
	if !after.Can(uBob, orgA, "billing.manage") {
		t.Errorf("new snapshot lacks the new assignment")
	}
}

func TestRuleCycleAndDanglingParent(t *testing.T) {
	t.Run("cycle terminates", func(t *testing.T) {
		s := NewSnapshot(DefaultCatalog(), Data{
			Orgs:    []Org{{ID: 1, ParentID: 2, Name: "x"}, {ID: 2, ParentID: 1, Name: "y"}},
			Users:   []User{{ID: 1}},
			Members: []Membership{{UserID: 1, OrgID: 1}},
		})
		if got := s.Ancestry(1); !slices.Equal(got, []int64{1, 2}) {
			t.Errorf("Ancestry(1) = %v", got)
		}
		if !s.Can(1, 2, "patients.view") || s.Can(1, 2, "billing.view") {
			t.Errorf("wrong answers in a cyclic tree")
		}
	})
	t.Run("dangling parent", func(t *testing.T) {
		// An organisation whose parent is missing from the data (a partial load, a row
		// deleted under it) must not crash the check.
		s := NewSnapshot(DefaultCatalog(), Data{
			Orgs:    []Org{{ID: 2, ParentID: 77, Name: "orphan"}},
			Users:   []User{{ID: 1}},
			Members: []Membership{{UserID: 1, OrgID: 2}},
		})
		var panicked any
		var got bool
		func() {
			defer func() { panicked = recover() }()
			got = s.Can(1, 2, "billing.view")
		}()
		if panicked != nil {
			regression(t, "Can on an org whose ParentID names a missing org panics at step 3 (s.orgs[id] is nil in the ancestry loop): %v", panicked)
			return
		}
		if got {
			t.Errorf("billing.view allowed")
		}
	})
}

// Can is on every request's path: it must not allocate.
func TestCanDoesNotAllocate(t *testing.T) {
	s := ruleSnapshot()
	queries := []struct {
		u, o int64
		p    string
	}{
		{uAlice, orgA11, "billing.manage"}, {uBob, orgA11, "clinical.erx"}, {uBob, orgA11, "scheduling.access"},
		{uBob, orgA, "patients.view"}, {uNobody, orgA, "patients.view"}, {uRoot, orgA, "audit.view"}, {uAlice, orgA, "no.such"},
	}
	allocs := testing.AllocsPerRun(200, func() {
		for _, q := range queries {
			s.Can(q.u, q.o, q.p)
		}
	})
	if allocs != 0 {
		t.Errorf("Can allocates %.1f times per run, want 0", allocs)
	}
}
