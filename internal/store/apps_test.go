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

	// Editing: the fields and public paths replaced, audited with both sides; the same again
	// writes nothing; another application's address is refused with nothing written.
	other, err := st.CreateApp(ctx, store.NewApp{Name: "Reports", Host: "reports.clinic.example", PathPrefix: "/", OrgID: org.ID, Permission: "billing.view"})
	if err != nil {
		t.Fatal(err)
	}
	edited := store.NewApp{Name: "Clinic wiki", Host: "wiki.clinic.example", PathPrefix: "/docs", OrgID: org.ID, Permission: "billing.view", PublicPaths: []string{"/docs/health"}}
	vEdit := version()
	for range 2 {
		if err := st.UpdateApp(ctx, id, edited, admin.ID); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := st.AppByID(ctx, id); a.Name != "Clinic wiki" || a.Rule() != "wiki.clinic.example/docs" || a.Permission != "billing.view" ||
		!slices.Equal(a.PublicPaths, []string{"/docs/health"}) || a.Enabled {
		t.Fatalf("after the edit: %+v", a)
	}
	if e := entries(audit.AppUpdated); len(e) != 2 || e[0].TargetName != "Clinic wiki" ||
		string(e[0].Before) != `{"name":"Wiki","organisation":"Northside Practice","permission":"patients.view","public":"/health, /static","rule":"wiki.clinic.example/","status":"disabled"}` ||
		string(e[0].After) != `{"name":"Clinic wiki","organisation":"Northside Practice","permission":"billing.view","public":"/docs/health","rule":"wiki.clinic.example/docs","status":"disabled"}` {
		t.Fatalf("edit audit %+v", e)
	}
	if version() == vEdit {
		t.Fatal("the edit did not change the version")
	}
	vClash := version()
	clash := edited
	clash.Host, clash.PathPrefix = "reports.clinic.example", "/"
	if err := st.UpdateApp(ctx, id, clash, admin.ID); !errors.Is(err, store.ErrAppExists) {
		t.Fatalf("clash: %v", err)
	}
	if a, _ := st.AppByID(ctx, id); a.Rule() != "wiki.clinic.example/docs" || version() != vClash || len(entries(audit.AppUpdated)) != 2 {
		t.Fatal("a refused edit wrote something")
	}
	if err := st.UpdateApp(ctx, 9999, edited, admin.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
	_ = other

	v2 := version()
	if err := st.RemoveApp(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppByID(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after removal: %v", err)
	}
	if e := entries(audit.AppRemoved); len(e) != 1 || e[0].ActorID != 0 || e[0].TargetName != "Clinic wiki" {
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
