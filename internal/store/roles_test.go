package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

func TestRolesStore(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	in := setupInput()
	in.SystemRoles = rbac.SystemRoles(rbac.DefaultCatalog())
	admin, org, err := st.Setup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// Seeding again is idempotent.
	for range 2 {
		if err := st.SeedSystemRoles(ctx, in.SystemRoles); err != nil {
			t.Fatal(err)
		}
	}
	if rows, _, _ := st.ListRoles(ctx, store.RoleQuery{OrgID: org.ID}); rows[0].Members != 0 {
		t.Fatalf("holders counted when not asked: %+v", rows[0])
	}
	rows, total, err := st.ListRoles(ctx, store.RoleQuery{OrgID: org.ID, Members: true})
	if err != nil || total != 8 || len(rows) != 8 {
		t.Fatalf("system roles: %d rows, total %d, %v", len(rows), total, err)
	}
	var adminRole store.RoleRow
	for _, r := range rows {
		if r.Code == rbac.CodeAdmin {
			adminRole = r
		}
	}
	if adminRole.Members != 1 || !adminRole.System {
		t.Fatalf("ADMIN role %+v: want system, held by the first admin", adminRole)
	}

	id, err := st.CreateRole(ctx, store.RoleInput{OrgID: org.ID, Code: "NIGHT_NURSE", Name: "Night Nurse", Active: true,
		Permissions: []string{"patients.view", "scheduling.access"}, ActorID: admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRole(ctx, store.RoleInput{OrgID: org.ID, Code: "NIGHT_NURSE", Name: "Night  Nurse", ActorID: admin.ID}); !errors.Is(err, store.ErrCodeTaken) {
		t.Fatalf("duplicate code: %v", err)
	}
	// Filters.
	for _, tc := range []struct {
		q     store.RoleQuery
		total int
	}{
		{store.RoleQuery{OrgID: org.ID, Kind: "custom"}, 1},
		{store.RoleQuery{OrgID: org.ID, Kind: "system"}, 8},
		{store.RoleQuery{OrgID: org.ID, Q: "nurse"}, 2},
		{store.RoleQuery{OrgID: org.ID, Q: "%"}, 0}, // typed text is literal, not a pattern
		{store.RoleQuery{OrgID: org.ID, Status: "inactive"}, 0},
		{store.RoleQuery{OrgID: org.ID, Limit: 3, Offset: 6}, 9},
	} {
		rows, total, err := st.ListRoles(ctx, tc.q)
		if err != nil || total != tc.total {
			t.Errorf("%+v: total %d (%d rows), %v; want %d", tc.q, total, len(rows), err, tc.total)
		}
	}
	r, err := st.Role(ctx, id)
	if err != nil || r.Version != 1 || len(r.Permissions) != 2 || r.CreatedByName != "Ana Ruiz" {
		t.Fatalf("role %+v, %v", r, err)
	}
	upd := store.RoleInput{Name: "Night Nurse", Active: false, Permissions: []string{"patients.view"}, ActorID: admin.ID}
	if err := st.UpdateRole(ctx, id, 1, upd); err != nil {
		t.Fatal(err)
	}
	var stale *store.StaleError
	if err := st.UpdateRole(ctx, id, 1, upd); !errors.As(err, &stale) || stale.ByName != "Ana Ruiz" {
		t.Fatalf("stale update: %v", err)
	}
	if err := st.UpdateRole(ctx, adminRole.ID, 1, upd); !errors.Is(err, store.ErrSystemRole) {
		t.Fatalf("update system role: %v", err)
	}
	if err := st.DeleteRole(ctx, adminRole.ID, 0, true, admin.ID); !errors.Is(err, store.ErrSystemRole) {
		t.Fatalf("delete system role: %v", err)
	}

	// Holders, candidates and deletion.
	ids, err := st.AddStaff(ctx, []store.NewStaff{{Email: "ben@example.org", Name: "Ben Okafor", PasswordHash: "x", OrgID: org.ID},
		{Email: "chloe@example.org", Name: "Chloé Martin", PasswordHash: "x", OrgID: org.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddStaff(ctx, []store.NewStaff{{Email: "BEN@example.org", Name: "Dup", PasswordHash: "x", OrgID: org.ID}}); !errors.Is(err, store.ErrEmailTaken) {
		t.Fatalf("duplicate email: %v", err)
	}
	if err := st.SetRoleHolders(ctx, id, org.ID, ids, nil, admin.ID); err != nil {
		t.Fatal(err)
	}
	cands, total, err := st.MemberCandidates(ctx, id, store.Scope{OrgIDs: []int64{org.ID}}, "okafor", 10, 0)
	if err != nil || total != 1 || len(cands) != 1 || !cands[0].Holds {
		t.Fatalf("candidates %+v total %d %v", cands, total, err)
	}
	if _, total, _ := st.MemberCandidates(ctx, id, store.Scope{OrgIDs: []int64{org.ID}}, "", 1, 5); total != 3 {
		t.Fatalf("total past the last page = %d, want 3", total)
	}
	var hm *store.HasMembersError
	if err := st.DeleteRole(ctx, id, 0, false, admin.ID); !errors.As(err, &hm) || hm.N != 2 {
		t.Fatalf("delete with holders: %v", err)
	}
	if err := st.DeleteRole(ctx, id, adminRole.ID+999, false, admin.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reassign to a missing role: %v", err)
	}
	if err := st.DeleteRole(ctx, id, adminRole.ID, false, admin.ID); err != nil {
		t.Fatal(err)
	}
	if r, _ := st.Role(ctx, adminRole.ID); r.Members != 3 {
		t.Fatalf("ADMIN holders after reassigning = %d, want 3", r.Members)
	}
	if _, err := st.Role(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted role: %v", err)
	}
}

func TestAccessChangeHookRunsAfterCommit(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	calls := 0
	st.OnAccessChange(func(context.Context) { calls++ })
	in := setupInput()
	if _, _, err := st.Setup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Setup(ctx, in); err == nil {
		t.Fatal("second setup")
	}
	if calls != 1 {
		t.Fatalf("hook ran %d times; want once (never for a rolled-back write)", calls)
	}
}
