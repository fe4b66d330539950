package orgs_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/internal/orgs"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store/storetest"
)

func TestChoose(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	view := []string{rbac.PermRolesManage, rbac.PermStaffView}
	for _, tc := range []struct {
		name      string
		actor     int64
		requested int64
		perms     []string
		ids       []int64
		chosen    int64
		refused   string
	}{
		{"global admin: every organisation in tree order, the first by id chosen", p.Root, 0, []string{rbac.PermRolesManage},
			[]int64{p.Harbour, p.Northside, p.Eastside, p.Open}, p.Northside, ""},
		{"a sub-organisation named", p.NorthManager, p.Eastside, view, []int64{p.Northside, p.Eastside}, p.Eastside, ""},
		{"any of the permissions will do", p.EastViewer, 0, view, []int64{p.Eastside}, p.Eastside, ""},
		{"an organisation outside them", p.NorthManager, p.Harbour, view, nil, 0, "forbidden"},
		{"the practice above one's own", p.EastViewer, p.Northside, view, nil, 0, "forbidden"},
		{"none at all", p.EastNurse, 0, []string{rbac.PermStaffManage}, nil, 0, "forbidden"},
		{"none at all, an organisation named", p.EastNurse, p.Eastside, []string{rbac.PermStaffManage}, nil, 0, "forbidden"},
		{"no such organisation", p.NorthManager, 9999, view, nil, 0, "not found"},
		{"not an id", p.NorthManager, orgs.RequestedID("x"), view, nil, 0, "not found"},
		{"zero is not an id either", p.NorthManager, orgs.RequestedID("0"), view, nil, 0, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := orgs.Choose(snap, tc.actor, tc.requested, tc.perms...)
			var fe *rbac.ForbiddenError
			refused := ""
			switch {
			case errors.As(err, &fe):
				refused = "forbidden"
				if !slices.Equal(fe.Perms, tc.perms) {
					t.Errorf("refusal names %v", fe.Perms)
				}
			case errors.Is(err, rbac.ErrNotFound):
				refused = "not found"
			case err != nil:
				t.Fatal(err)
			}
			if refused != tc.refused || !slices.Equal(ch.IDs, tc.ids) || ch.Chosen != tc.chosen {
				t.Fatalf("Choose = %+v %q, want %v %d %q", ch, refused, tc.ids, tc.chosen, tc.refused)
			}
		})
	}
	if got := orgs.Label(snap, p.Eastside); got != "Northside Practice › Eastside Clinic" {
		t.Errorf("Label = %q", got)
	}
	for raw, want := range map[string]int64{"": 0, "7": 7, "-3": -1, "0": -1, "1e3": -1, "99999999999999999999": -1} {
		if got := orgs.RequestedID(raw); got != want {
			t.Errorf("RequestedID(%q) = %d, want %d", raw, got, want)
		}
	}
}
