package roles_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/roles"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/store/storetest"
)

// outcome names what a rule answered: "" (allowed), "forbidden" or "not found".
func outcome(t *testing.T, err error) string {
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

func TestGetAndView(t *testing.T) {
	p := storetest.New(t)
	s := &roles.Service{Store: p.Store, Access: p.Access}
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		actor, role int64
		perms       []string
		get, view   string
	}{
		{"the practice's manager, a sub-organisation's role", p.NorthManager, p.EastPlain, []string{rbac.PermStaffManage}, "", ""},
		{"staff.view only: sees, does not manage", p.EastViewer, p.EastPlain, []string{rbac.PermStaffManage}, "forbidden", ""},
		{"a role above one's organisation applies there: seen", p.EastViewer, p.NorthManage, []string{rbac.PermRolesManage}, "forbidden", ""},
		{"another practice's role", p.HarbourManager, p.EastPlain, []string{rbac.PermRolesManage}, "forbidden", "forbidden"},
		{"audit.view alone sees no roles", p.EastAuditor, p.EastPlain, roles.ViewPermissions, "forbidden", "forbidden"},
		{"no such role", p.Root, 9999, []string{rbac.PermRolesManage}, "not found", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Get(ctx, tc.actor, tc.role, tc.perms...)
			if got := outcome(t, err); got != tc.get {
				t.Fatalf("Get: %q (%v), want %q", got, err, tc.get)
			}
			var fe *rbac.ForbiddenError
			if errors.As(err, &fe) && (fe.OrgID != r.OrgID || fe.OrgName != r.OrgName || !slices.Equal(fe.Perms, tc.perms)) {
				t.Errorf("Get's refusal %+v does not name the role's organisation %d %q", fe, r.OrgID, r.OrgName)
			}
			r, err = s.View(ctx, tc.actor, tc.role)
			if got := outcome(t, err); got != tc.view || (got == "" && r.ID != tc.role) {
				t.Fatalf("View: %q (%v), want %q", got, err, tc.view)
			}
		})
	}
}

func TestCheckEditableAndDeletable(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	custom := store.RoleRow{ID: p.EastPlain, OrgID: p.Eastside}
	system := store.RoleRow{ID: 1, OrgID: p.Eastside, System: true}
	for _, tc := range []struct {
		name   string
		actor  int64
		role   store.RoleRow
		reason string // "" allowed; "perm" missing roles.manage; else the reason given
	}{
		{"roles.manage above, a custom role", p.NorthManager, custom, ""},
		{"a global admin, a system role", p.Root, system, "system"},
		{"roles.manage, a system role", p.NorthManager, system, "system"},
		{"without roles.manage", p.EastViewer, custom, "perm"},
		{"without roles.manage, a system role: the permission first", p.EastViewer, system, "perm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, check := range []struct {
				fn     func(*rbac.Snapshot, int64, store.RoleRow) error
				reason string
			}{{roles.CheckEditable, roles.ReasonSystemEdit}, {roles.CheckDeletable, roles.ReasonSystemDelete}} {
				err := check.fn(snap, tc.actor, tc.role)
				var fe *rbac.ForbiddenError
				switch tc.reason {
				case "":
					if err != nil {
						t.Fatal(err)
					}
				case "perm":
					if !errors.As(err, &fe) || fe.OrgID != p.Eastside || !slices.Equal(fe.Perms, []string{rbac.PermRolesManage}) {
						t.Fatalf("got %v", err)
					}
				case "system":
					if !errors.As(err, &fe) || fe.Reason != check.reason || !errors.Is(err, store.ErrSystemRole) {
						t.Fatalf("got %v", err)
					}
				}
			}
		})
	}
}

func TestCandidatesAndSetHoldersVisibility(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		actor      func(*storetest.Practice) int64
		role       func(*storetest.Practice) int64
		candidates func(*storetest.Practice) []int64 // by name
		add        func(*storetest.Practice) int64
		refused    bool
	}{
		{"the sub-organisation's staff, a holder first",
			func(p *storetest.Practice) int64 { return p.NorthManager },
			func(p *storetest.Practice) int64 { return p.EastPlain },
			func(p *storetest.Practice) []int64 { return []int64{p.EastNurse, p.EastAuditor, p.EastViewer} },
			func(p *storetest.Practice) int64 { return p.EastViewer }, false},
		{"someone outside the organisation is refused",
			func(p *storetest.Practice) int64 { return p.NorthManager },
			func(p *storetest.Practice) int64 { return p.EastPlain },
			func(p *storetest.Practice) []int64 { return []int64{p.EastNurse, p.EastAuditor, p.EastViewer} },
			func(p *storetest.Practice) int64 { return p.HarbourNurse }, true},
		{"someone of the practice above, where the sub-organisation limits visibility",
			func(p *storetest.Practice) int64 { return p.NorthManager },
			func(p *storetest.Practice) int64 { return p.EastPlain },
			func(p *storetest.Practice) []int64 { return []int64{p.EastNurse, p.EastAuditor, p.EastViewer} },
			func(p *storetest.Practice) int64 { return p.NorthManager }, true},
		{"a global admin sees and names anyone",
			func(p *storetest.Practice) int64 { return p.Root },
			func(p *storetest.Practice) int64 { return p.HarbourManage },
			func(p *storetest.Practice) []int64 {
				return []int64{p.HarbourManager, p.Root, p.EastAuditor, p.EastViewer, p.HarbourNurse, p.EastNurse, p.NorthManager, p.OpenViewer}
			},
			func(p *storetest.Practice) int64 { return p.EastNurse }, false},
		{"nobody by that id",
			func(p *storetest.Practice) int64 { return p.Root },
			func(p *storetest.Practice) int64 { return p.EastPlain },
			nil,
			func(p *storetest.Practice) int64 { return 9999 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := storetest.New(t)
			s := &roles.Service{Store: p.Store, Access: p.Access}
			actor := tc.actor(p)
			role, err := p.Store.Role(ctx, tc.role(p))
			if err != nil {
				t.Fatal(err)
			}
			if tc.candidates != nil {
				cands, total, err := s.Candidates(ctx, actor, role, "", 50, 0)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, c := range cands {
					got = append(got, c.UserID)
				}
				if want := tc.candidates(p); !slices.Equal(got, want) || total != len(want) {
					t.Fatalf("Candidates = %v (%d), want %v", got, total, want)
				}
			}
			id := tc.add(p)
			problems, err := s.SetHolders(ctx, actor, role, []int64{id}, nil, 0, rbac.Confirmation{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.refused != (problems["members"] != "") {
				t.Fatalf("SetHolders problems %v, refused want %v", problems, tc.refused)
			}
			if holds := p.Reload(t).HoldsRole(id, role.ID); holds == tc.refused {
				t.Fatalf("holds the role: %v, after refused=%v", holds, tc.refused)
			}
		})
	}
}
