package demo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

func TestSeed(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pw, err := Seed(ctx, st, rbac.DefaultCatalog(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) < 20 {
		t.Fatalf("weak generated password %q", pw)
	}
	svc := &auth.Service{Store: st, Throttle: auth.NewThrottle(nil)}
	if _, err := svc.Authenticate(ctx, auth.Credentials{Email: AdminEmail, Password: pw, Addr: "127.0.0.1"}); err != nil {
		t.Fatalf("demo admin cannot sign in: %v", err)
	}
	d, err := st.LoadAccess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Orgs) != 3 || len(d.Users) != 41 || len(d.Roles) != 8+len(customRoles) || len(d.UserOverrides) == 0 {
		t.Fatalf("demo has %d orgs, %d users, %d roles, %d overrides", len(d.Orgs), len(d.Users), len(d.Roles), len(d.UserOverrides))
	}
	snap := rbac.NewSnapshot(rbac.DefaultCatalog(), d)
	if len(snap.Warnings) > 0 {
		t.Fatalf("demo roles name unknown permissions: %v", snap.Warnings)
	}
	holders := 0
	for _, u := range d.Users {
		if !u.GlobalAdmin && len(snap.Effective(u.ID, 2)) > 1 {
			holders++
		}
	}
	if holders < 10 {
		t.Fatalf("only %d staff hold more than the mandatory permission in Northside", holders)
	}
	if _, err := Seed(ctx, st, rbac.DefaultCatalog(), "", 0); err == nil {
		t.Fatal("demo seeded a database that was not empty")
	}
}

// A large demo spreads its staff over clinics of about five hundred, each clinic with
// people, and every person staff somewhere with a role.
func TestSeedLarge(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := Seed(ctx, st, rbac.DefaultCatalog(), "", 2600); err != nil {
		t.Fatal(err)
	}
	d, err := st.LoadAccess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != 2601 || len(d.Orgs) != 1+6 {
		t.Fatalf("%d users, %d organisations", len(d.Users), len(d.Orgs))
	}
	perOrg := map[int64]int{}
	for _, s := range d.Members {
		perOrg[s.OrgID]++
	}
	for _, o := range d.Orgs {
		if perOrg[o.ID] == 0 {
			t.Errorf("%s has no staff", o.Name)
		}
	}
	if _, err := Seed(ctx, st, rbac.DefaultCatalog(), "", MaxStaff+1); err == nil {
		t.Error("more than MaxStaff was accepted")
	}
}
