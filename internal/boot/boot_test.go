package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

func TestLoadCatalog(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin := `{"key": "roles.manage", "category": "Administration", "label": "Edit roles"},
	{"key": "staff.manage", "category": "Administration", "label": "Staff"},
	{"key": "staff.view", "category": "Administration", "label": "View staff"},
	{"key": "orgs.manage", "category": "Administration", "label": "Organisations"},
	{"key": "audit.view", "category": "Administration", "label": "Audit"},
	{"key": "access.delegate", "category": "Administration", "label": "Grant any permission"}`
	travel := write("travel.json", `[
	{"key": "trips.view", "category": "Trips", "label": "View trips", "mandatory": true},
	{"key": "trips.book", "category": "Trips", "label": "Book trips", "suggests": ["trips.view"]},
	`+admin+`]`)
	cat, err := LoadCatalog(config.Config{Catalog: travel})
	if err != nil || cat.Len() != 8 {
		t.Fatalf("travel catalog: %v", err)
	}
	for name, body := range map[string]string{
		"dup.json":     "[\n" + `{"key": "a.b", "category": "C", "label": "L"},` + "\n" + `{"key": "a.b", "category": "C", "label": "L"},` + admin + "]",
		"noadmin.json": `[{"key": "trips.view", "category": "Trips", "label": "View trips"}]`,
		"broken.json":  "[\n{\"key\": ",
	} {
		if _, err := LoadCatalog(config.Config{Catalog: write(name, body)}); err == nil {
			t.Errorf("%s accepted", name)
		} else if name == "dup.json" && !strings.Contains(err.Error(), `line 3, key "a.b": duplicate key`) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A portal whose stored roles name keys the catalog lost starts, and warns.
	cfg := config.Config{DB: filepath.Join(dir, "r.db")}
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	st, cat0, _, err := OpenStore(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	_, org, err := st.Setup(ctx, store.SetupInput{OrgName: "N", Name: "A", Email: "a@example.org", PasswordHash: "x", SystemRoles: rbac.SystemRoles(cat0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRole(ctx, store.RoleInput{OrgID: org.ID, Code: "BILLER", Name: "Biller", Active: true, Permissions: []string{"billing.view"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg.Catalog = travel
	st, _, engine, err := OpenStore(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("restart with a smaller catalog: %v", err)
	}
	defer st.Close()
	// System roles follow the new catalog; the custom role keeps its lost key, reported.
	if w := engine.Now().Warnings; len(w) != 1 || !strings.Contains(w[0], "BILLER") || !strings.Contains(logs.String(), "unknown permission") {
		t.Fatalf("warnings %v, log %q", w, logs.String())
	}
	if engine.Now().Can(1, org.ID, "trips.book") != true {
		t.Fatal("the global admin does not hold the new catalog's permissions")
	}
}

// After every write the engine adopts the snapshot the guard built inside the write's
// transaction; it must equal a full rebuild from the database: every person, organisation
// and permission, over a long random sequence of writes (issue 14's differential test, for
// what is built so far).
func TestAdoptedSnapshotEqualsRebuild(t *testing.T) {
	ctx := context.Background()
	cfg := config.Config{DB: filepath.Join(t.TempDir(), "rolegate.db")}
	st, cat, engine, err := OpenStore(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin, group, err := st.Setup(ctx, store.SetupInput{OrgName: "Group", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x",
		SystemRoles: rbac.SystemRoles(cat)})
	if err != nil {
		t.Fatal(err)
	}
	orgs := []int64{group.ID}
	for _, name := range []string{"North", "South"} {
		id, err := st.CreateOrganisation(ctx, name, group.ID)
		if err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, id)
	}
	var people []store.NewStaff
	for i := range 30 {
		people = append(people, store.NewStaff{Email: fmt.Sprintf("p%d@example.org", i), Name: fmt.Sprintf("Person %d", i), PasswordHash: "x", OrgID: orgs[i%3]})
	}
	users, err := st.AddStaff(ctx, people)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: group.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var roles []int64
	for _, r := range rows {
		if r.Code != rbac.CodeAdmin {
			roles = append(roles, r.ID)
		}
	}
	perms := cat.Keys()
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 300 {
		u, o := users[rng.IntN(len(users))], orgs[rng.IntN(len(orgs))]
		switch rng.IntN(3) {
		case 0:
			err = st.AssignRole(ctx, u, roles[rng.IntN(len(roles))], group.ID, 0, admin.ID)
		case 1:
			err = st.UnassignRole(ctx, u, roles[rng.IntN(len(roles))], group.ID, admin.ID)
		default:
			err = st.SetOverride(ctx, u, o, perms[rng.IntN(len(perms))], []string{"allow", "deny", "inherit"}[rng.IntN(3)], admin.ID)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("step %d: %v", step, err)
		}
		d, err := st.LoadAccess(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, got := rbac.NewSnapshot(cat, d), engine.Now()
		if got.Data().Version != d.Version {
			t.Fatalf("step %d: engine at version %d, database at %d", step, got.Data().Version, d.Version)
		}
		for _, u := range append(users, admin.ID) {
			for _, o := range orgs {
				for _, p := range perms {
					if g, w := got.Explain(u, o, p), want.Explain(u, o, p); !reflect.DeepEqual(g, w) {
						t.Fatalf("step %d: user %d, org %d, %s: engine %+v, rebuild %+v", step, u, o, p, g, w)
					}
				}
			}
		}
	}
}
