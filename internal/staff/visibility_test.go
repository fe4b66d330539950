package staff_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/store/storetest"
)

// refusal names what a rule answered: "" (allowed), "forbidden" or "not found".
func refusal(t *testing.T, err error) string {
	t.Helper()
	var fe *rbac.ForbiddenError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &fe):
		return "forbidden"
	case errors.Is(err, rbac.ErrNotFound):
		return "not found"
	}
	t.Fatalf("unexpected error %v", err)
	return ""
}

func TestVisibleOrgsAndScopes(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	all := []int64{p.Northside, p.Eastside, p.Harbour, p.Open}
	for _, tc := range []struct {
		name     string
		viewer   int64
		visible  []int64
		everyone bool
	}{
		{"global admin", p.Root, all, true},
		{"staff.view in a practice reaches below it", p.NorthManager, []int64{p.Northside, p.Eastside}, false},
		{"staff.view in a sub-organisation only", p.EastViewer, []int64{p.Eastside}, false},
		{"no staff.view", p.EastNurse, nil, false},
		{"no staff.view but audit.view", p.EastAuditor, nil, false},
		{"staff.view where visibility is not limited sees everyone", p.OpenViewer, []int64{p.Open}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := staff.VisibleOrgs(snap, tc.viewer); !slices.Equal(got, tc.visible) {
				t.Errorf("VisibleOrgs = %v, want %v", got, tc.visible)
			}
			sc := staff.ListScope(snap, tc.viewer)
			if !slices.Equal(sc.OrgIDs, tc.visible) || sc.Everyone != tc.everyone {
				t.Errorf("ListScope = %+v, want %v everyone=%v", sc, tc.visible, tc.everyone)
			}
		})
	}
	for _, tc := range []struct {
		name      string
		viewer    int64
		org       int64
		everyone  bool
		sees, not []int64
	}{
		{"a limited organisation: its staff and below", p.NorthManager, p.Northside, false,
			[]int64{p.NorthManager, p.EastNurse}, []int64{p.HarbourNurse, p.OpenViewer, 9999}},
		{"a sub-organisation: its own staff only", p.NorthManager, p.Eastside, false,
			[]int64{p.EastNurse, p.EastViewer}, []int64{p.NorthManager, p.HarbourNurse}},
		{"an organisation that does not limit: everyone known", p.OpenViewer, p.Open, true,
			[]int64{p.HarbourNurse, p.EastNurse, p.OpenViewer}, []int64{9999}},
		{"a global admin: everyone known", p.Root, p.Harbour, true,
			[]int64{p.EastNurse, p.HarbourNurse}, []int64{9999}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := staff.MemberScope(snap, tc.viewer, tc.org)
			if sc.Everyone != tc.everyone || !slices.Equal(sc.OrgIDs, snap.Subtree(tc.org)) {
				t.Fatalf("MemberScope = %+v", sc)
			}
			for _, id := range tc.sees {
				if !staff.InScope(snap, sc, id) {
					t.Errorf("%d not in scope", id)
				}
			}
			for _, id := range tc.not {
				if staff.InScope(snap, sc, id) {
					t.Errorf("%d in scope", id)
				}
			}
		})
	}
}

func TestSees(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	for _, tc := range []struct {
		name           string
		viewer, person int64
		where          []int64
		refused        string
	}{
		{"global admin: wherever the person is a member", p.Root, p.EastNurse, []int64{p.Northside, p.Eastside}, ""},
		{"global admin, another practice", p.Root, p.HarbourNurse, []int64{p.Harbour}, ""},
		{"practice viewer: the practice and the sub-organisation", p.NorthManager, p.EastNurse, []int64{p.Northside, p.Eastside}, ""},
		{"staff of the practice reach below it", p.NorthManager, p.NorthManager, []int64{p.Northside, p.Eastside}, ""},
		{"sub-organisation viewer", p.EastViewer, p.EastNurse, []int64{p.Eastside}, ""},
		{"sub-organisation viewer, someone of the practice above", p.EastViewer, p.NorthManager, nil, "forbidden"},
		{"another practice", p.HarbourManager, p.EastNurse, nil, "forbidden"},
		{"no staff.view at all", p.EastNurse, p.EastViewer, nil, "forbidden"},
		{"unlimited organisation: anyone, shown from it", p.OpenViewer, p.EastNurse, []int64{p.Open}, ""},
		{"nobody by that id", p.OpenViewer, 9999, nil, "not found"},
		{"nobody by that id, to a global admin", p.Root, 9999, nil, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			where, err := staff.Sees(snap, tc.viewer, tc.person)
			if got := refusal(t, err); got != tc.refused || !slices.Equal(where, tc.where) {
				t.Fatalf("Sees = %v %q, want %v %q", where, got, tc.where, tc.refused)
			}
			var fe *rbac.ForbiddenError
			if errors.As(err, &fe) && !slices.Equal(fe.Perms, []string{rbac.PermStaffView}) {
				t.Errorf("refusal names %v", fe.Perms)
			}
			s := &staff.Service{Store: p.Store, Access: p.Access}
			person, where2, err := s.Person(context.Background(), tc.viewer, tc.person)
			if refusal(t, err) != tc.refused || !slices.Equal(where2, tc.where) || (tc.refused == "" && person.User.ID != tc.person) {
				t.Fatalf("Service.Person = %d %v %v", person.User.ID, where2, err)
			}
		})
	}
}

func TestChoosable(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	for _, tc := range []struct {
		name                 string
		actor, org, role, id int64
		want                 bool
	}{
		{"staff of the role's organisation", p.NorthManager, p.Eastside, p.EastPlain, p.EastViewer, true},
		{"someone above it, where it limits visibility", p.NorthManager, p.Eastside, p.EastPlain, p.NorthManager, false},
		{"another practice", p.NorthManager, p.Eastside, p.EastPlain, p.HarbourNurse, false},
		{"staff below the role's organisation", p.NorthManager, p.Northside, p.NorthManage, p.EastNurse, true},
		{"anyone, for a global admin", p.Root, p.Eastside, p.EastPlain, p.HarbourNurse, true},
		{"anyone, where visibility is not limited", p.OpenViewer, p.Open, p.OpenView, p.HarbourNurse, true},
		{"a holder of the role", p.HarbourManager, p.Harbour, p.HarbourManage, p.HarbourManager, true},
		{"nobody by that id, even seeing everyone", p.Root, p.Eastside, p.EastPlain, 9999, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := staff.Choosable(snap, tc.actor, tc.org, tc.role, tc.id); got != tc.want {
				t.Fatalf("Choosable = %v, want %v", got, tc.want)
			}
		})
	}
}

func roleIDs(rs []rbac.Role) []int64 {
	out := []int64{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestAssignableAndGrantable(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	east := []int64{p.EastView, p.EastAudit, p.EastPlain, p.NorthManage} // the organisation's own first, no inactive role
	for _, tc := range []struct {
		name       string
		actor, org int64
		assignable []int64
		grantable  []int64
	}{
		{"global admin gives every active role", p.Root, p.Eastside, east, east},
		{"a practice's manager, in the sub-organisation", p.NorthManager, p.Eastside, east, east},
		{"someone holding staff.view only: what they hold", p.EastViewer, p.Eastside, east, []int64{p.EastView, p.EastPlain}},
		{"the practice: its own roles only", p.NorthManager, p.Northside, []int64{p.NorthManage}, []int64{p.NorthManage}},
		{"another practice's manager", p.HarbourManager, p.Eastside, east, []int64{p.EastPlain}},
		{"no such organisation", p.Root, 9999, []int64{}, []int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := roleIDs(staff.Assignable(snap, tc.org)); !slices.Equal(got, tc.assignable) {
				t.Errorf("Assignable = %v, want %v", got, tc.assignable)
			}
			if got := roleIDs(staff.Grantable(snap, tc.actor, tc.org)); !slices.Equal(got, tc.grantable) {
				t.Errorf("Grantable = %v, want %v", got, tc.grantable)
			}
		})
	}
}

func TestList(t *testing.T) {
	p := storetest.New(t)
	s := &staff.Service{Store: p.Store, Access: p.Access}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		viewer int64
		want   []int64
	}{
		{"sub-organisation viewer: its staff", p.EastViewer, []int64{p.EastAuditor, p.EastViewer, p.EastNurse}},
		{"no staff.view: nobody, whatever was asked", p.EastNurse, nil},
		{"unlimited organisation: everyone", p.OpenViewer, []int64{p.Root, p.EastAuditor, p.EastViewer, p.HarbourManager, p.HarbourNurse, p.EastNurse, p.NorthManager, p.OpenViewer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Whatever scope the caller passes is replaced by the viewer's.
			rows, total, err := s.List(ctx, tc.viewer, store.StaffQuery{Everyone: true, OrgIDs: []int64{p.Harbour}, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range rows {
				got = append(got, r.UserID)
			}
			if !slices.Equal(got, tc.want) || total != len(tc.want) {
				t.Fatalf("List = %v (%d), want %v", got, total, tc.want)
			}
			if _, n, err := s.Invited(ctx, tc.viewer, 5); err != nil || n != 0 {
				t.Fatalf("Invited = %d %v", n, err)
			}
		})
	}
}

// An impact preview names only the people the reader would be shown choosing members of the
// organisation changed: a default set in Eastside (which limits visibility) reaches Noor,
// staff of Northside above it, whom an Eastside reader is not shown; she is counted, not
// named. In Open Clinic, which does not limit it, everyone is named.
func TestReadableImpactHidesWhomTheReaderMayNotSee(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	im := snap.PreviewDefaults(p.Eastside, map[string]rbac.Effect{"billing.view": rbac.Allow})
	names := func(im rbac.Impact) (named []int64, hidden int) {
		for _, pi := range im.Perms {
			for _, a := range pi.Gain {
				named = append(named, a.UserID)
			}
			hidden += pi.HiddenGain
		}
		slices.Sort(named)
		return named, hidden
	}
	all, _ := names(im)
	if !slices.Contains(all, p.NorthManager) || !slices.Contains(all, p.EastNurse) {
		t.Fatalf("the default reaches %v", all)
	}
	for _, tc := range []struct {
		name   string
		reader int64
		hidden bool // Noor is hidden
	}{
		{"an Eastside viewer", p.EastViewer, true},
		{"the North manager", p.NorthManager, true}, // choosing members of Eastside shows its own staff
		{"the global admin", p.Root, false},
	} {
		named, hidden := names(staff.Readable(snap, tc.reader, p.Eastside, im))
		if got := !slices.Contains(named, p.NorthManager); got != tc.hidden || (tc.hidden && hidden == 0) {
			t.Errorf("%s: named %v, %d hidden", tc.name, named, hidden)
		}
		if !slices.Contains(named, p.EastNurse) {
			t.Errorf("%s: Eastside's own nurse is not named", tc.name)
		}
	}
	open := snap.PreviewDefaults(p.Open, map[string]rbac.Effect{"billing.view": rbac.Allow})
	if _, hidden := names(staff.Readable(snap, p.OpenViewer, p.Open, open)); hidden != 0 {
		t.Errorf("Open Clinic hides %d", hidden)
	}
}
