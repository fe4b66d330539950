package audit_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store/storetest"
)

func TestScope(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	for _, tc := range []struct {
		name     string
		reader   int64
		scope    []int64 // nil: every entry
		readable map[int64]bool
	}{
		{"global admin: everything, entries about no organisation too", p.Root, nil,
			map[int64]bool{p.Northside: true, p.Eastside: true, p.Harbour: true, 0: true}},
		{"audit.view in a practice reaches below it", p.NorthManager, []int64{p.Northside, p.Eastside},
			map[int64]bool{p.Northside: true, p.Eastside: true, p.Harbour: false, 0: false}},
		{"audit.view in a sub-organisation only", p.EastAuditor, []int64{p.Eastside},
			map[int64]bool{p.Northside: false, p.Eastside: true, 0: false}},
		{"no audit.view: nothing (not everything)", p.EastViewer, []int64{},
			map[int64]bool{p.Eastside: false, p.Northside: false, 0: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := audit.Scope(snap, tc.reader)
			if (got == nil) != (tc.scope == nil) || !slices.Equal(got, tc.scope) {
				t.Fatalf("Scope = %#v, want %#v", got, tc.scope)
			}
			for org, want := range tc.readable {
				if audit.Readable(snap, tc.reader, org) != want {
					t.Errorf("Readable(%d) = %v", org, !want)
				}
			}
		})
	}
}

func TestWithin(t *testing.T) {
	p := storetest.New(t)
	snap := p.Access.Now()
	for _, tc := range []struct {
		name        string
		reader, org int64
		want        []int64
		refused     string
	}{
		{"global admin, a practice and below", p.Root, p.Northside, []int64{p.Northside, p.Eastside}, ""},
		{"practice auditor, the sub-organisation", p.NorthManager, p.Eastside, []int64{p.Eastside}, ""},
		{"sub-organisation auditor, the practice above", p.EastAuditor, p.Northside, nil, "forbidden"},
		{"another practice", p.NorthManager, p.Harbour, nil, "forbidden"},
		{"no audit.view", p.EastViewer, p.Eastside, nil, "forbidden"},
		{"no such organisation", p.EastAuditor, 9999, nil, "not found"},
		{"no such organisation, to a global admin", p.Root, 9999, nil, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := audit.Within(snap, tc.reader, tc.org)
			var fe *rbac.ForbiddenError
			refused := ""
			switch {
			case errors.As(err, &fe):
				refused = "forbidden"
				if !slices.Equal(fe.Perms, []string{rbac.PermAuditView}) {
					t.Errorf("refusal names %v", fe.Perms)
				}
			case errors.Is(err, rbac.ErrNotFound):
				refused = "not found"
			case err != nil:
				t.Fatal(err)
			}
			if refused != tc.refused || !slices.Equal(got, tc.want) {
				t.Fatalf("Within = %v %q, want %v %q", got, refused, tc.want, tc.refused)
			}
		})
	}
}
