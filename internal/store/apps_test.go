package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
)

// Every change to a protected application is audited in its transaction and bumps the
// version running servers compare; a duplicate host and prefix is refused with nothing written.
func TestAppsStoreAudited(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	admin, org, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	version := func() int64 {
		v, err := st.AppsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	entries := func(action string) []audit.Entry {
		list, err := st.ListAudit(ctx, store.AuditQuery{Action: action, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	v0 := version()
	id, err := st.CreateApp(ctx, store.NewApp{Name: "Wiki", Host: "wiki.clinic.example", PathPrefix: "/", OrgID: org.ID, Permission: "patients.view",
		PublicPaths: []string{"/health", "/static"}, CreatedBy: admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.AppByID(ctx, id)
	if err != nil || !a.Enabled || a.OrgName == "" || !slices.Equal(a.PublicPaths, []string{"/health", "/static"}) || a.Rule() != "wiki.clinic.example/" {
		t.Fatalf("stored %+v %v", a, err)
	}
	if e := entries(audit.AppCreated); len(e) != 1 || e[0].ActorID != admin.ID || e[0].OrgID != org.ID || e[0].TargetID != id ||
		string(e[0].After) != `{"permission":"patients.view","public":"/health, /static","rule":"wiki.clinic.example/","status":"enabled"}` {
		t.Fatalf("create audit %+v", e)
	}
	if version() == v0 {
		t.Fatal("the version did not change")
	}

	v1 := version()
	if _, err := st.CreateApp(ctx, store.NewApp{Name: "Again", Host: "wiki.clinic.example", PathPrefix: "/", OrgID: org.ID, Permission: "patients.view"}); !errors.Is(err, store.ErrAppExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if version() != v1 || len(entries(audit.AppCreated)) != 1 {
		t.Fatal("a refused duplicate wrote something")
	}

	if err := st.SetAppEnabled(ctx, id, false, admin.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.SetAppEnabled(ctx, id, false, admin.ID); err != nil { // already so: nothing
		t.Fatal(err)
	}
	if e := entries(audit.AppUpdated); len(e) != 1 || string(e[0].Before) != `{"status":"enabled"}` || string(e[0].After) != `{"status":"disabled"}` {
		t.Fatalf("update audit %+v", e)
	}
	if a, _ := st.AppByID(ctx, id); a.Enabled {
		t.Fatal("still enabled")
	}

	v2 := version()
	if err := st.RemoveApp(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppByID(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after removal: %v", err)
	}
	if e := entries(audit.AppRemoved); len(e) != 1 || e[0].ActorID != 0 || e[0].TargetName != "Wiki" {
		t.Fatalf("remove audit %+v", e)
	}
	if version() == v2 {
		t.Fatal("removal did not change the version")
	}
	if err := st.RemoveApp(ctx, id, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n == 0 {
		t.Fatalf("audit chain: %d %v", n, err)
	}
}
