package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/store"
)

// Past CountCap the list stops counting (it says "more than"), and still pages in name
// order, case aside, people and invitations merged, to the very last page.
func TestListStaffCountsUpToTheCap(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	u, o, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	n := store.CountCap + 30
	var people []store.NewStaff
	for i := range n {
		name := fmt.Sprintf("person %04d", i)
		if i%2 == 0 {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		people = append(people, store.NewStaff{Email: fmt.Sprintf("p%04d@example.org", i), Name: name, PasswordHash: "x", OrgID: o.ID})
	}
	if _, err := st.AddStaff(ctx, people); err != nil {
		t.Fatal(err)
	}
	_, total, err := st.ListStaff(ctx, store.StaffQuery{OrgIDs: []int64{o.ID}, Limit: 25})
	if err != nil || total != store.CountCap+1 {
		t.Fatalf("total %d, %v; want %d (more than the cap)", total, err, store.CountCap+1)
	}
	var names []string
	for off := 0; ; off += 100 {
		rows, _, err := st.ListStaff(ctx, store.StaffQuery{OrgIDs: []int64{o.ID}, Limit: 100, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			names = append(names, r.Name)
		}
		if len(rows) < 100 {
			break
		}
	}
	if len(names) != n+1 { // and Ana
		t.Fatalf("paged through %d people, want %d", len(names), n+1)
	}
	if !slices.IsSortedFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
		t.Fatal("pages are not in name order")
	}
	rows, total, err := st.ListStaff(ctx, store.StaffQuery{OrgIDs: []int64{o.ID}, Q: "person 000", Limit: 25})
	if err != nil || total != 10 || len(rows) != 10 {
		t.Fatalf("a search: %d rows of %d, %v", len(rows), total, err)
	}
	_ = u
}

// Select members: holders first, then the others, each by name; counted up to the cap.
func TestMemberCandidatesOrderAndCap(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	u, o, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	var people []store.NewStaff
	for i := range store.CountCap + 10 {
		people = append(people, store.NewStaff{Email: fmt.Sprintf("c%04d@example.org", i), Name: fmt.Sprintf("Candidate %04d", i), PasswordHash: "x", OrgID: o.ID})
	}
	ids, err := st.AddStaff(ctx, people)
	if err != nil {
		t.Fatal(err)
	}
	role, err := st.CreateRole(ctx, store.RoleInput{OrgID: o.ID, Code: "NURSE", Name: "Nurse", Active: true, ActorID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetRoleHolders(ctx, role, o.ID, []int64{ids[700], ids[5]}, nil, u.ID); err != nil {
		t.Fatal(err)
	}
	got, total, err := st.MemberCandidates(ctx, role, store.Scope{OrgIDs: []int64{o.ID}}, "", 4, 0)
	if err != nil || total != store.CountCap+1 {
		t.Fatalf("total %d, %v", total, err)
	}
	want := []string{"Candidate 0005", "Candidate 0700", "Ana Ruiz", "Candidate 0000"}
	for i, c := range got {
		if c.Name != want[i] || c.Holds != (i < 2) {
			t.Fatalf("row %d: %+v, want %s", i, c, want[i])
		}
	}
	if got, total, _ := st.MemberCandidates(ctx, role, store.Scope{OrgIDs: []int64{o.ID}}, "candidate 070", 25, 0); total != 10 || len(got) != 10 || !got[0].Holds {
		t.Fatalf("a search: %d of %d, first %+v", len(got), total, got)
	}
}
