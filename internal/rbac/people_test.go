package rbac

import (
	"errors"
	"slices"
	"testing"
)

// The people world: top-level O with O1 below it, a separate top-level P.
const (
	pRoot     int64 = 1  // global admin
	pAdminO   int64 = 2  // Admin role in O
	pAdminP   int64 = 3  // Admin role in P
	pAdminO1  int64 = 4  // Admin role (of O) held in O1, staff of O1
	pDesk     int64 = 5  // staff.manage + staff.view in O
	pMember   int64 = 6  // Member in O
	pNurse    int64 = 7  // Nurse in O
	pAC       int64 = 8  // Access Controller in O
	pDual     int64 = 9  // Member in O and in P
	pLoner    int64 = 10 // belongs to no organisation
	pInvitee  int64 = 11 // invited by pAC; Desk in O
	pInvitee2 int64 = 12 // invited by pInvitee; Delegate in O (the Access Controller's permissions and billing.view)
)

const (
	prAdmin    int64 = 301
	prAdminP   int64 = 302
	prDesk     int64 = 303
	prMember   int64 = 304
	prNurse    int64 = 305
	prAC       int64 = 306
	prMemberP  int64 = 307
	prDelegate int64 = 308
)

func peopleData() Data {
	cat := DefaultCatalog()
	return Data{
		Orgs: []Org{{ID: 1, Name: "O"}, {ID: 2, ParentID: 1, Name: "O1"}, {ID: 3, Name: "P"}},
		Users: []User{{ID: pRoot, Name: "Root", GlobalAdmin: true}, {ID: pAdminO, Name: "Admin O"}, {ID: pAdminP, Name: "Admin P"},
			{ID: pAdminO1, Name: "Admin O1"}, {ID: pDesk, Name: "Desk"}, {ID: pMember, Name: "Member"}, {ID: pNurse, Name: "Nurse"},
			{ID: pAC, Name: "AC"}, {ID: pDual, Name: "Dual"}, {ID: pLoner, Name: "Loner"}, {ID: pInvitee, Name: "Invitee"},
			{ID: pInvitee2, Name: "Invitee of invitee"}},
		Roles: []Role{
			{ID: prAdmin, OrgID: 1, Code: "ADMIN", Name: "Administrator", Active: true, System: true, Permissions: cat.Keys()},
			{ID: prAdminP, OrgID: 3, Code: "ADMIN", Name: "Administrator", Active: true, System: true, Permissions: cat.Keys()},
			{ID: prDesk, OrgID: 1, Code: "DESK", Name: "Desk", Active: true, Permissions: []string{"patients.view", "staff.manage", "staff.view"}},
			{ID: prMember, OrgID: 1, Code: "MEMBER", Name: "Member", Active: true, System: true, Permissions: []string{"patients.view"}},
			{ID: prNurse, OrgID: 1, Code: "NURSE", Name: "Nurse", Active: true, System: true,
				Permissions: []string{"patients.view", "patients.identifiers", "patients.contact", "scheduling.access", "clinical.drug_interactions"}},
			{ID: prAC, OrgID: 1, Code: "ACCESS_CONTROLLER", Name: "Access Controller", Active: true, System: true, Permissions: acPerms},
			{ID: prMemberP, OrgID: 3, Code: "MEMBER", Name: "Member", Active: true, System: true, Permissions: []string{"patients.view"}},
			{ID: prDelegate, OrgID: 1, Code: "DELEGATE", Name: "Delegate", Active: true, Permissions: append(slices.Clone(acPerms), "billing.view")},
		},
		Assignments: []Assignment{
			{UserID: pRoot, RoleID: prAdmin, OrgID: 1}, {UserID: pAdminO, RoleID: prAdmin, OrgID: 1}, {UserID: pAdminP, RoleID: prAdminP, OrgID: 3},
			{UserID: pAdminO1, RoleID: prAdmin, OrgID: 2}, {UserID: pDesk, RoleID: prDesk, OrgID: 1}, {UserID: pMember, RoleID: prMember, OrgID: 1},
			{UserID: pNurse, RoleID: prNurse, OrgID: 1}, {UserID: pAC, RoleID: prAC, OrgID: 1},
			{UserID: pDual, RoleID: prMember, OrgID: 1}, {UserID: pDual, RoleID: prMemberP, OrgID: 3},
			{UserID: pInvitee, RoleID: prDesk, OrgID: 1}, {UserID: pInvitee2, RoleID: prDelegate, OrgID: 1},
		},
		Invitations: []Invited{{UserID: pInvitee, InviterID: pAC}, {UserID: pInvitee2, InviterID: pInvitee}},
	}
}

func peopleSnapshot() *Snapshot { return NewSnapshot(DefaultCatalog(), peopleData()) }

func TestCheckActOn(t *testing.T) {
	s := peopleSnapshot()
	cases := []struct {
		name          string
		actor, target int64
		orgs          []int64
		reason        string
		perms         []string
	}{
		{"the global admin acts on anyone", pRoot, pAdminO, []int64{1}, "", nil},
		{"an administrator on a nurse", pAdminO, pNurse, []int64{1}, "", nil},
		{"an administrator on another administrator", pAdminO, pAdminO1, []int64{1, 2}, "", nil},
		{"nobody but a global admin on a global admin", pAdminO, pRoot, []int64{1}, ReasonTargetGlobal, nil},
		{"the desk on a member", pDesk, pMember, []int64{1}, "", nil},
		{"the desk on a nurse: clinical access it lacks", pDesk, pNurse, []int64{1}, ReasonTargetExceeds,
			[]string{"patients.identifiers", "patients.contact", "scheduling.access", "clinical.drug_interactions"}},
		{"the desk on an administrator", pDesk, pAdminO, []int64{1}, ReasonTargetExceeds, nil},
		{"access.delegate covers a nurse's data permissions", pAC, pNurse, []int64{1}, "", nil},
		{"but not an administrator's administration permissions", pAC, pAdminO, []int64{1}, ReasonTargetExceeds, []string{"orgs.manage"}},
		{"oneself is always within one's access", pDesk, pDesk, []int64{1}, "", nil},
		{"a disabled person counts as enabled (enabling gives it back)", pDesk, pNurse, []int64{1}, ReasonTargetExceeds, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := s
			if tc.name == "a disabled person counts as enabled (enabling gives it back)" {
				d := peopleData()
				for i := range d.Users {
					if d.Users[i].ID == pNurse {
						d.Users[i].Disabled = true
					}
				}
				snap = NewSnapshot(DefaultCatalog(), d)
			}
			err := snap.CheckActOn(tc.actor, tc.target, tc.orgs...)
			if tc.perms == nil && tc.reason == ReasonTargetExceeds {
				asEscalation(t, err)
				return
			}
			checkEscalation(t, err, tc.reason, tc.perms)
		})
	}
}

func TestCheckPersonChange(t *testing.T) {
	s := peopleSnapshot()
	forbidden := func(t *testing.T, err error, org int64) {
		t.Helper()
		var fe *ForbiddenError
		if !errors.As(err, &fe) || fe.OrgID != org || !slices.Contains(fe.Perms, PermStaffManage) {
			t.Fatalf("got %v, want a ForbiddenError for staff.manage in %d", err, org)
		}
	}
	// Another practice's administrator, from one's own organisation: not staff there.
	if err := s.CheckPersonChange(pAdminO, pAdminP, 1); !errors.Is(err, ErrNotStaffThere) {
		t.Errorf("Admin O changes Admin P in O: %v", err)
	}
	// ... or in theirs: no staff.manage there.
	forbidden(t, s.CheckPersonChange(pAdminO, pAdminP, 3), 3)
	// The sub-organisation's admin on the parent's admin: not staff of O1, no staff.manage in O.
	if err := s.CheckPersonChange(pAdminO1, pAdminO, 2); !errors.Is(err, ErrNotStaffThere) {
		t.Errorf("Admin O1 changes Admin O in O1: %v", err)
	}
	forbidden(t, s.CheckPersonChange(pAdminO1, pAdminO, 1), 1)
	// The parent's admin acts in the sub-organisation (staff.manage is inherited).
	if err := s.CheckPersonChange(pAdminO, pAdminO1, 2); err != nil {
		t.Errorf("Admin O changes Admin O1 in O1: %v", err)
	}
	checkEscalation(t, s.CheckPersonChange(pDesk, pAdminO, 1), ReasonTargetExceeds,
		[]string{"patients.identifiers", "patients.manage", "patients.contact", "patients.export", "patients.offboard", "patients.share",
			"scheduling.access", "scheduling.all_providers", "clinical.drug_interactions", "clinical.erx", "billing.view", "billing.manage",
			"roles.manage", "orgs.manage", "audit.view", "access.delegate", "integrations.manage", "emergency.request"})
	if err := s.CheckPersonChange(pDesk, pMember, 1); err != nil {
		t.Errorf("Desk changes a member: %v", err)
	}
}

func TestCheckAccountChange(t *testing.T) {
	s := peopleSnapshot()
	var fe *ForbiddenError
	// Someone staff of O and P: an administrator of O alone cannot disable them.
	if err := s.CheckAccountChange(pAdminO, pDual); !errors.As(err, &fe) || fe.OrgID != 3 || fe.OrgName != "P" {
		t.Errorf("Admin O disables someone also in P: %v", err)
	}
	if err := s.CheckAccountChange(pRoot, pDual); err != nil {
		t.Errorf("the global admin disables them: %v", err)
	}
	// Someone of no organisation: a global admin's alone.
	if err := s.CheckAccountChange(pAdminO, pLoner); !errors.As(err, &fe) || fe.OrgID != 0 {
		t.Errorf("Admin O disables someone of no organisation: %v", err)
	}
	// Across practices and upwards.
	if err := s.CheckAccountChange(pAdminO, pAdminP); !errors.As(err, &fe) || fe.OrgID != 3 {
		t.Errorf("Admin O disables Admin P: %v", err)
	}
	if err := s.CheckAccountChange(pAdminO1, pAdminO); !errors.As(err, &fe) || fe.OrgID != 1 {
		t.Errorf("Admin O1 disables Admin O: %v", err)
	}
	checkEscalation(t, s.CheckAccountChange(pDesk, pRoot), ReasonTargetGlobal, nil)
	if err := s.CheckAccountChange(pAdminO, pAdminO1); err != nil {
		t.Errorf("Admin O disables Admin O1: %v", err)
	}
	if err := s.CheckAccountChange(pAC, pNurse); err != nil {
		t.Errorf("the access controller disables a nurse: %v", err)
	}
}

// Finding 3 of the hardening issue: an account someone invited (which may be their own second
// account, since the inviter saw the link) never raises its inviter, directly or through
// accounts it invited in turn.
func TestInvitationChainIsNeverRaised(t *testing.T) {
	s := peopleSnapshot()
	if got := s.Upline(pInvitee2); !slices.Equal(got, []int64{pInvitee, pAC}) {
		t.Fatalf("Upline(invitee of invitee) = %v", got)
	}
	if got := s.Upline(pAC); got != nil {
		t.Fatalf("Upline(AC) = %v", got)
	}
	// The invitee of the invitee holds access.delegate, like the inviter at the top. Giving the inviter the Administrator role would raise them: refused, at any depth.
	for _, actor := range []int64{pInvitee2} {
		checkEscalation(t, s.CheckAssignments(actor, []Assignment{{UserID: pAC, RoleID: prAdmin, OrgID: 1}}), ReasonRaisesInviter, []string{
			"patients.identifiers", "patients.manage", "patients.contact", "patients.export", "patients.offboard", "patients.share",
			"scheduling.access", "scheduling.all_providers", "clinical.drug_interactions", "clinical.erx", "billing.view", "billing.manage", "orgs.manage", "integrations.manage", "emergency.request"})
		checkEscalation(t, s.CheckAssignments(actor, []Assignment{{UserID: pInvitee, RoleID: prNurse, OrgID: 1}}), ReasonRaisesInviter,
			[]string{"patients.identifiers", "patients.contact", "scheduling.access", "clinical.drug_interactions"})
	}
	// Nor by an override, nor by editing a role the inviter holds, nor by an organisation default.
	checkEscalation(t, s.CheckOverride(pInvitee2, pAC, 1, "billing.view", Allow), ReasonRaisesInviter, []string{"billing.view"})
	checkEscalation(t, s.CheckRoleChange(pInvitee2, prAC, 1, acPerms, append(slices.Clone(acPerms), "billing.view")), ReasonRaisesInviter, []string{"billing.view"})
	checkEscalation(t, s.CheckOrgDefault(pInvitee2, 1, "billing.view", Allow), ReasonRaisesInviter, []string{"billing.view"})
	// What does not raise them stays allowed: a role they already cover, and anyone else.
	if err := s.CheckAssignments(pInvitee2, []Assignment{{UserID: pAC, RoleID: prMember, OrgID: 1}}); err != nil {
		t.Errorf("a role the inviter already covers: %v", err)
	}
	if err := s.CheckAssignments(pInvitee2, []Assignment{{UserID: pMember, RoleID: prNurse, OrgID: 1}}); err != nil {
		t.Errorf("a nurse role for someone else: %v", err)
	}
	// The chain only points up: the inviter may still raise the people they invited.
	if err := s.CheckAssignments(pAC, []Assignment{{UserID: pInvitee, RoleID: prNurse, OrgID: 1}}); err != nil {
		t.Errorf("the inviter gives the invitee a role: %v", err)
	}
}
