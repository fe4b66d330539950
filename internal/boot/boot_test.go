package boot

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
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
