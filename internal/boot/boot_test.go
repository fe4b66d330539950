package boot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
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

// After every write the engine adopts the snapshot the guard made inside the write's
// transaction from the last one and what the change log says the write touched; it must
// equal a full rebuild from the database (issue 14's differential test): the facts after
// every one of 10,000 random writes of every kind (the guards refuse some, which must leave
// both alike too), and every decision with its explanation, for everyone, every
// organisation and every permission, after every 25th. A second engine that only follows
// the log from another connection (another process) must agree as well.
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
	for _, name := range []string{"North", "South", "North East"} {
		id, err := st.CreateOrganisation(ctx, name, orgs[len(orgs)/2])
		if err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, id)
	}
	var people []store.NewStaff
	for i := range 30 {
		people = append(people, store.NewStaff{Email: fmt.Sprintf("p%d@example.org", i), Name: fmt.Sprintf("Person %d", i), PasswordHash: "x", OrgID: orgs[i%len(orgs)]})
	}
	users, err := st.AddStaff(ctx, people)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: group.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var roles []int64 // the custom and system roles of the group but Administrator
	for _, r := range rows {
		if r.Code != rbac.CodeAdmin {
			roles = append(roles, r.ID)
		}
	}
	follower, err := rbac.NewEngine(ctx, cat, st.LoadAccess, nil)
	if err != nil {
		t.Fatal(err)
	}
	follower.FollowChanges(st.LoadChanges)
	perms := cat.Keys()
	effects := []string{"allow", "deny", "inherit"}
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := map[string]int{}
	refused := 0
	for step := range 10_000 {
		u, o := users[rng.IntN(len(users))], orgs[rng.IntN(len(orgs))]
		r := roles[rng.IntN(len(roles))]
		var kind string
		switch k := rng.IntN(14); k {
		case 0, 1:
			kind, err = "assign", st.AssignRole(ctx, u, r, group.ID, 0, admin.ID)
		case 2:
			kind, err = "unassign", st.UnassignRole(ctx, u, r, group.ID, admin.ID)
		case 3, 4:
			kind, err = "override", st.SetOverride(ctx, u, o, perms[rng.IntN(len(perms))], effects[rng.IntN(3)], admin.ID)
		case 5:
			var add, remove []int64
			for range 1 + rng.IntN(6) {
				add = append(add, users[rng.IntN(len(users))])
				remove = append(remove, users[rng.IntN(len(users))])
			}
			kind, err = "holders", st.SetRoleHolders(ctx, r, group.ID, dedupe(add), without(dedupe(remove), add), admin.ID)
		case 6:
			var id int64
			id, err = st.CreateRole(ctx, store.RoleInput{OrgID: group.ID, Code: fmt.Sprintf("R%d", step), Name: fmt.Sprintf("Role %d", step), Active: true,
				Permissions: randomPerms(rng, perms), ActorID: admin.ID})
			if err == nil {
				roles = append(roles, id)
			}
			kind = "create role"
		case 7:
			var row store.RoleRow
			if row, err = st.Role(ctx, r); err == nil && !row.System {
				err = st.UpdateRole(ctx, r, row.Version, store.RoleInput{Name: row.Name, Active: rng.IntN(4) != 0, Permissions: randomPerms(rng, perms), ActorID: admin.ID})
			}
			kind = "edit role"
		case 8:
			var row store.RoleRow
			if row, err = st.Role(ctx, r); err == nil && !row.System {
				if err = st.DeleteRole(ctx, r, 0, true, admin.ID); err == nil {
					roles = without(roles, []int64{r})
				}
			}
			kind = "delete role"
		case 9:
			kind, err = "defaults", st.SetOrgDefaults(ctx, o, map[string]string{perms[rng.IntN(len(perms))]: effects[rng.IntN(3)]})
		case 10:
			kind, err = "disable", st.SetDisabled(ctx, u, []int64{group.ID}, rng.IntN(3) == 0, admin.ID)
		case 11:
			kind, err = "remove", st.RemoveFromOrganisation(ctx, u, []int64{o}, admin.ID)
		case 12:
			if len(users) >= 50 {
				kind, err = "move", st.MoveOrganisation(ctx, orgs[3], orgs[1+rng.IntN(2)])
				break
			}
			var ids []int64
			ids, err = st.AddStaff(ctx, []store.NewStaff{{Email: fmt.Sprintf("new%d@example.org", step), Name: fmt.Sprintf("New %d", step), PasswordHash: "x", OrgID: o}})
			users = append(users, ids...)
			kind = "add staff"
		default:
			kind, err = "rename", st.SetName(ctx, u, fmt.Sprintf("Person %d renamed %d", u, step))
		}
		kinds[kind]++
		var lockout *rbac.LockoutError
		switch {
		case err == nil:
		case errors.Is(err, store.ErrNotFound), errors.As(err, &lockout):
			refused++
		default:
			var hm *store.HasMembersError
			var fr *store.ForeignRolesError
			if !errors.As(err, &hm) && !errors.As(err, &fr) {
				t.Fatalf("step %d (%s): %v", step, kind, err)
			}
			refused++
		}
		d, err := st.LoadAccess(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := engine.Now()
		if got.Version() != d.Version {
			t.Fatalf("step %d (%s): engine at version %d, database at %d", step, kind, got.Version(), d.Version)
		}
		if diff := diffData(got.Data(), d); diff != "" {
			t.Fatalf("step %d (%s): the engine's facts differ from the database's: %s", step, kind, diff)
		}
		if step%25 != 0 {
			continue
		}
		if err := follower.CatchUp(ctx, d.Version); err != nil {
			t.Fatal(err)
		}
		// Each role's holder count, kept by triggers, is the number of people holding it.
		for _, r := range roles {
			row, err := st.Role(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			held := map[int64]bool{}
			for _, a := range d.Assignments {
				if a.RoleID == r {
					held[a.UserID] = true
				}
			}
			if row.Members != len(held) {
				t.Fatalf("step %d (%s): role %d counts %d holders, %d hold it", step, kind, r, row.Members, len(held))
			}
		}
		want := rbac.NewSnapshot(cat, d)
		for _, s := range []*rbac.Snapshot{got, follower.Now()} {
			for _, u := range append(users, admin.ID) {
				for _, o := range orgs {
					for _, p := range perms {
						if g, w := s.Explain(u, o, p), want.Explain(u, o, p); !reflect.DeepEqual(g, w) {
							t.Fatalf("step %d (%s): user %d, org %d, %s: engine %+v, rebuild %+v", step, kind, u, o, p, g, w)
						}
					}
				}
			}
			for _, o := range orgs {
				if s.Managers(o) != want.Managers(o) {
					t.Fatalf("step %d: %d managers of org %d, rebuild %d", step, s.Managers(o), o, want.Managers(o))
				}
			}
		}
	}
	t.Logf("writes by kind: %v; refused by a guard: %d", kinds, refused)
}

func randomPerms(rng *rand.Rand, perms []string) []string {
	var out []string
	for _, p := range perms {
		if rng.IntN(4) == 0 {
			out = append(out, p)
		}
	}
	return out
}

func dedupe(ids []int64) []int64 {
	slices.Sort(ids)
	return slices.Compact(ids)
}

func without(ids, drop []int64) []int64 {
	return slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return slices.Contains(drop, id) })
}

// diffData says how two sets of facts differ, whatever order they were read in.
func diffData(a, b rbac.Data) string {
	norm := func(d rbac.Data) rbac.Data {
		d.Version = 0
		slices.SortFunc(d.Orgs, func(x, y rbac.Org) int { return cmp.Compare(x.ID, y.ID) })
		slices.SortFunc(d.Users, func(x, y rbac.User) int { return cmp.Compare(x.ID, y.ID) })
		d.Roles = slices.Clone(d.Roles)
		for i := range d.Roles {
			d.Roles[i].Permissions = slices.Sorted(slices.Values(d.Roles[i].Permissions))
		}
		slices.SortFunc(d.Roles, func(x, y rbac.Role) int { return cmp.Compare(x.ID, y.ID) })
		slices.SortFunc(d.Assignments, func(x, y rbac.Assignment) int {
			return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.RoleID, y.RoleID), cmp.Compare(x.OrgID, y.OrgID))
		})
		slices.SortFunc(d.Members, func(x, y rbac.Membership) int {
			return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.OrgID, y.OrgID))
		})
		slices.SortFunc(d.UserOverrides, func(x, y rbac.UserOverride) int {
			return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.OrgID, y.OrgID), cmp.Compare(x.Perm, y.Perm))
		})
		slices.SortFunc(d.OrgDefaults, func(x, y rbac.OrgDefault) int {
			return cmp.Or(cmp.Compare(x.OrgID, y.OrgID), cmp.Compare(x.Perm, y.Perm))
		})
		slices.SortFunc(d.Invitations, func(x, y rbac.Invited) int {
			return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.InviterID, y.InviterID))
		})
		return d
	}
	a, b = norm(a), norm(b)
	if reflect.DeepEqual(a, b) {
		return ""
	}
	return fmt.Sprintf("\n engine   %+v\n database %+v", a, b)
}

// Time-bound grants (issue 15): the sweep records each ended grant once, "ended", and takes
// it off the database, however often it runs and across a restart; the engine stops
// granting at the end itself, before any sweep.
func TestSweepRecordsEachEndedGrantOnce(t *testing.T) {
	ctx := context.Background()
	cfg := config.Config{DB: filepath.Join(t.TempDir(), "rolegate.db")}
	open := func(now *time.Time) (*store.Store, *rbac.Engine) {
		st, _, engine, err := OpenStore(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		st.SetClock(func() time.Time { return *now })
		return st, engine
	}
	now := time.Unix(1_800_000_000, 0)
	st, engine := open(&now)
	admin, org, err := st.Setup(ctx, store.SetupInput{OrgName: "Northside", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x",
		SystemRoles: rbac.SystemRoles(engine.Catalog())})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st.AddStaff(ctx, []store.NewStaff{{Email: "locum@example.org", Name: "Lena Locum", PasswordHash: "x", OrgID: org.ID},
		{Email: "student@example.org", Name: "Sam Student", PasswordHash: "x", OrgID: org.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: org.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var nurse int64
	for _, r := range rows {
		if r.Code == "NURSE" {
			nurse = r.ID
		}
	}
	end := now.Unix() + 3600
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.AssignRoleUntil(ctx, ids[0], nurse, org.ID, 0, admin.ID, end))
	must(st.SetOverrideUntil(ctx, ids[1], org.ID, "billing.view", "allow", admin.ID, end+7200))
	if !engine.Now().Can(ids[0], org.ID, "patients.contact") || !engine.Now().Can(ids[1], org.ID, "billing.view") {
		t.Fatal("the grants do not hold before their end")
	}
	ended := func(st *store.Store) int {
		es, err := st.ListAudit(ctx, store.AuditQuery{Limit: 100})
		must(err)
		n := 0
		for _, e := range es {
			if e.Action == audit.AssignmentExpired || e.Action == audit.OverrideExpired {
				n++
			}
		}
		return n
	}
	// Before the end: nothing to record.
	if n, err := st.ExpireEnded(ctx); err != nil || n != 0 {
		t.Fatalf("before the end the sweep ended %d: %v", n, err)
	}
	now = time.Unix(end, 0)
	if engine.Now().Can(ids[0], org.ID, "patients.contact") {
		t.Fatal("the role still grants at its end, before any sweep")
	}
	for range 3 {
		if _, err := st.ExpireEnded(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := ended(st); n != 1 {
		t.Fatalf("%d ended entries after the role's end, want 1", n)
	}
	// The override ends while the server is down; after the restart it is recorded once.
	st.Close()
	now = time.Unix(end+7200, 0)
	st, engine = open(&now)
	defer st.Close()
	if engine.Now().Can(ids[1], org.ID, "billing.view") {
		t.Fatal("the override still grants after its end")
	}
	for range 2 {
		if _, err := st.ExpireEnded(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := ended(st); n != 2 {
		t.Fatalf("%d ended entries after both ends and a restart, want 2", n)
	}
	p, err := st.Person(ctx, ids[0])
	must(err)
	if len(p.Roles) != 0 {
		t.Fatalf("the ended role is still listed: %+v", p.Roles)
	}
}
