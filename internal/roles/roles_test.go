package roles

import (
	"context"
	"path/filepath"
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
