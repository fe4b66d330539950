package roles

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

func service(t testing.TB) *Service {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := rbac.NewEngine(ctx, rbac.DefaultCatalog(), st.LoadAccess, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Store: st, Access: e}
}

func FuzzValidate(f *testing.F) {
	s := service(f)
	f.Add("Travel Coordinator", "Plans trips.", "active", "billing.view")
	f.Add("", "", "", "")
	f.Add("\x00\u202e", strings.Repeat("d", 501), "inactive", "no.such")
	f.Fuzz(func(t *testing.T, name, desc, status, perm string) {
		form := Form{Name: name, Description: desc, Status: status, Permissions: []string{perm}}
		p := s.Validate(&form)
		if len(p) > 0 {
			return
		}
		if form.Name == "" || utf8.RuneCountInString(form.Name) > MaxName || utf8.RuneCountInString(form.Description) > MaxDescription {
			t.Fatalf("accepted %+v", form)
		}
		if form.Status != "active" && form.Status != "inactive" {
			t.Fatalf("accepted status %q", form.Status)
		}
		cat := s.Access.Catalog()
		for _, k := range form.Permissions {
			if !cat.Has(k) {
				t.Fatalf("accepted unknown permission %q", k)
			}
		}
		if !strings.Contains(strings.Join(form.Permissions, " "), "patients.view") {
			t.Fatal("mandatory permission missing after Validate")
		}
	})
}

// Names in any script are accepted; the preview tells the code Create will give, including
// the reserved ones and the numbered fallback for letters with no Latin form.
func TestPreviewCodeAndCreateAgree(t *testing.T) {
	s := service(t)
	ctx := context.Background()
	admin, org, err := s.Store.Setup(ctx, store.SetupInput{OrgName: "Northside", Name: "Ana", Email: "ana@example.org", PasswordHash: "x",
		SystemRoles: rbac.SystemRoles(s.Access.Catalog())})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Access.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, code, problem string }{
		{"ممرضة الطوارئ", "MMRD_LTWRY", ""},
		{"אחות ראשית", "KHVT_RSHYT", ""},
		{"Zoë's Ångström team", "ZOE_S_ANGSTROM_TEAM", ""},
		{"𞤀𞤁𞤂", "ROLE_1", ""}, // Adlam: no Latin form → numbered
		{"ⴰⵣⵓⵍ", "ROLE_2", ""},
		{"Admin", "ADMIN", "reserved"},
		{"Member", "MEMBER", "reserved"},
		{"!!! ???", "", "letter or digit"},
	} {
		pv := PreviewCode(tc.name)
		if tc.problem != "" {
			if !strings.Contains(pv.Problem, tc.problem) {
				t.Errorf("PreviewCode(%q) = %+v; want a problem saying %q", tc.name, pv, tc.problem)
			}
		} else if pv.Problem != "" || (pv.Code != tc.code && !strings.HasPrefix(tc.code, "ROLE_")) || pv.Note == "" {
			t.Errorf("PreviewCode(%q) = %+v; want code %s and a note", tc.name, pv, tc.code)
		}
		id, problems, err := s.Create(ctx, admin.ID, org.ID, Form{Name: tc.name, Status: "active"})
		if err != nil {
			t.Fatal(err)
		}
		if tc.problem != "" {
			if !strings.Contains(problems["name"], tc.problem) {
				t.Errorf("Create(%q) problems %v; want %q beside the name", tc.name, problems, tc.problem)
			}
			continue
		}
		if len(problems) > 0 {
			t.Fatalf("Create(%q): %v", tc.name, problems)
		}
		if err := s.Access.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Access.Now().Role(id); r.Code != tc.code || r.Name != tc.name {
			t.Errorf("Create(%q) saved code %q name %q; want %q", tc.name, r.Code, r.Name, tc.code)
		}
	}
}

func TestReadSelection(t *testing.T) {
	holds := func(id int64) bool { return id == 1 || id == 2 }
	for _, tc := range []struct {
		name          string
		shown, ticked []int64
		add, remove   []int64
	}{
		{"nothing changed", []int64{1, 2, 3}, []int64{1, 2}, nil, nil},
		{"tick and untick", []int64{1, 2, 3}, []int64{2, 3}, []int64{3}, []int64{1}},
		{"ticked elsewhere, not shown here", []int64{1}, []int64{1, 5, 4}, []int64{4, 5}, nil},
		{"unticked elsewhere", []int64{2, 7}, nil, nil, []int64{2}},
		{"duplicates", []int64{3, 3}, []int64{3, 3}, []int64{3}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel := ReadSelection(tc.shown, tc.ticked, holds)
			if fmt.Sprint(sel.Add) != fmt.Sprint(tc.add) || fmt.Sprint(sel.Remove) != fmt.Sprint(tc.remove) {
				t.Fatalf("got add %v remove %v, want %v %v", sel.Add, sel.Remove, tc.add, tc.remove)
			}
			for _, id := range tc.add {
				if !sel.Ticked(id, false) {
					t.Errorf("%d to add is not ticked", id)
				}
			}
			for _, id := range tc.remove {
				if sel.Ticked(id, true) {
					t.Errorf("%d to remove is ticked", id)
				}
			}
			if !sel.Ticked(1, true) && !slices.Contains(tc.remove, 1) {
				t.Error("a holder left alone is not ticked")
			}
		})
	}
}

func TestConfirmMatches(t *testing.T) {
	for typed, want := range map[string]bool{"NIGHT_SHIFT": true, "night_shift": true, " Night_Shift ": true, "NIGHT": false, "": false, "NIGHT SHIFT": false} {
		if ConfirmMatches(typed, "NIGHT_SHIFT") != want {
			t.Errorf("ConfirmMatches(%q) = %v", typed, !want)
		}
	}
}
