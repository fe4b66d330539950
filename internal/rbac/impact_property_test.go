package rbac_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// The impact preview of a change equals the difference between the snapshot before it and
// the snapshot read back from the database once the same change is saved, compared over
// every person, organisation and permission (PRODUCT.md §2.12): role edits, deletions with
// and without reassignment, members added and removed (one role per person included) and
// organisation defaults, on a random practice with inherited grants, overrides, defaults
// and time-bound roles.
func TestImpactPreviewEqualsSavedDifference(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "impact.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewSource(16))
	cat := rbac.DefaultCatalog()
	keys := cat.Keys()
	root, top, err := st.Setup(ctx, store.SetupInput{OrgName: "Northside Practice", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x"})
	must(err)
	orgs := []int64{top.ID}
	for i, parent := range []int{0, 0, 1, -1, 3} {
		var p int64
		if parent >= 0 {
			p = orgs[parent]
		}
		id, err := st.CreateOrganisation(ctx, fmt.Sprintf("Clinic %d — 診療所", i), p)
		must(err)
		orgs = append(orgs, id)
	}
	must(st.SetOrgSettings(ctx, orgs[2], store.OrgSettings{OneRole: true, LimitVisibility: true}))
	randomPerms := func() []string {
		var out []string
		for _, k := range keys {
			if rng.Intn(4) == 0 {
				out = append(out, k)
			}
		}
		return out
	}
	roleN := 0
	newRole := func() int64 {
		roleN++
		id, err := st.CreateRole(ctx, store.RoleInput{OrgID: orgs[rng.Intn(len(orgs))], Code: fmt.Sprintf("R%d", roleN),
			Name: fmt.Sprintf("Role %d", roleN), Active: true, Permissions: randomPerms(), ActorID: root.ID})
		must(err)
		return id
	}
	for range 10 {
		newRole()
	}
	var users []int64
	for i := range 30 {
		ids, err := st.AddStaff(ctx, []store.NewStaff{{Email: fmt.Sprintf("p%d@example.org", i), Name: fmt.Sprintf("Person %02d Łukasz", i),
			PasswordHash: "x", OrgID: orgs[rng.Intn(len(orgs))]}})
		must(err)
		users = append(users, ids[0])
	}
	e, err := rbac.NewEngine(ctx, cat, st.LoadAccess, nil)
	must(err)
	later := time.Now().Add(48 * time.Hour).Unix()
	randomUntil := func() int64 {
		if rng.Intn(4) == 0 {
			return later + int64(rng.Intn(1000))
		}
		return 0
	}
	// Start with a spread of assignments, overrides and defaults.
	snap := e.Now()
	for _, u := range users {
		for range 2 {
			r := snap.Roles()[rng.Intn(len(snap.Roles()))]
			sub := snap.Subtree(r.OrgID)
			_ = st.AssignRoleUntil(ctx, u, r.ID, sub[rng.Intn(len(sub))], 0, root.ID, randomUntil()) // a second role in a one-role clinic is refused
		}
		if rng.Intn(3) == 0 {
			must(st.SetOverrideUntil(ctx, u, orgs[rng.Intn(len(orgs))], keys[1+rng.Intn(len(keys)-1)], []string{"allow", "deny"}[rng.Intn(2)], root.ID, randomUntil()))
		}
	}
	must(st.SetOrgDefaults(ctx, orgs[1], map[string]string{keys[3]: "allow", keys[5]: "deny"}))
	must(st.SetDisabled(ctx, users[0], []int64{orgs[0]}, true, root.ID))
	must(e.Reload(ctx))

	compared, changed := 0, 0
	for step := 0; compared < 1000; step++ {
		if step > 5000 {
			t.Fatalf("only %d cases compared in %d steps", compared, step)
		}
		before := e.Now()
		var custom []rbac.Role
		for _, r := range before.Roles() {
			if !r.System {
				custom = append(custom, r)
			}
		}
		if len(custom) < 4 {
			newRole()
			must(e.Reload(ctx))
			continue
		}
		r := custom[rng.Intn(len(custom))]
		var preview rbac.Impact
		var what string
		switch rng.Intn(4) {
		case 0:
			perms := randomPerms()
			what = fmt.Sprintf("role %d gets %v", r.ID, perms)
			preview = before.PreviewRole(r.ID, perms)
			row, err := st.Role(ctx, r.ID)
			must(err)
			err = st.UpdateRole(ctx, r.ID, row.Version, store.RoleInput{Name: r.Name, Active: r.Active, Permissions: perms, ActorID: root.ID})
			if refused(err) {
				continue
			}
			must(err)
		case 1:
			var to int64
			for _, o := range custom {
				if o.OrgID == r.OrgID && o.ID != r.ID && rng.Intn(2) == 0 {
					to = o.ID
				}
			}
			what = fmt.Sprintf("role %d deleted, holders to %d", r.ID, to)
			preview = before.PreviewDeletion(r.ID, to)
			err := st.DeleteRole(ctx, r.ID, to, to == 0, root.ID)
			if refused(err) {
				continue
			}
			must(err)
			newRole()
		case 2:
			var add, remove []int64
			for _, u := range users {
				switch holds := before.HoldsRole(u, r.ID); {
				case holds && rng.Intn(3) == 0:
					remove = append(remove, u)
				case !holds && rng.Intn(5) == 0:
					add = append(add, u)
				}
			}
			until := randomUntil()
			what = fmt.Sprintf("role %d: add %v remove %v until %d", r.ID, add, remove, until)
			preview = before.PreviewHolders(r.ID, add, remove, until)
			err := st.SetRoleHoldersUntil(ctx, r.ID, r.OrgID, add, remove, root.ID, until)
			if refused(err) {
				continue
			}
			must(err)
		case 3:
			org := orgs[rng.Intn(len(orgs))]
			effects := map[string]rbac.Effect{}
			saved := map[string]string{}
			for range 1 + rng.Intn(3) {
				k := keys[1+rng.Intn(len(keys)-1)]
				if p, _ := cat.Get(k); p.Mandatory {
					continue
				}
				eff := rbac.Effect(rng.Intn(3))
				effects[k], saved[k] = eff, eff.String()
			}
			what = fmt.Sprintf("org %d defaults %v", org, saved)
			preview = before.PreviewDefaults(org, effects)
			err := st.SetOrgDefaults(ctx, org, saved)
			if refused(err) {
				continue
			}
			must(err)
		}
		must(e.Reload(ctx))
		after := e.Now()
		if got, want := describe(preview), describe(everyDifference(before, after)); got != want {
			t.Fatalf("case %d (%s):\npreview:\n%s\nsaved:\n%s", compared, what, got, want)
		}
		compared++
		if !preview.Empty() {
			changed++
		}
	}
	// Most cases give or take something, or the comparison proves little.
	if changed < compared/2 {
		t.Fatalf("only %d of %d cases changed anything", changed, compared)
	}
	t.Logf("%d cases, %d changed someone's access", compared, changed)
}

// refused: the lock-out guard in the store said no; the case is not compared.
func refused(err error) bool {
	var le *rbac.LockoutError
	return errors.As(err, &le)
}

// everyDifference compares two snapshots over every person, organisation and permission,
// naming for each change the topmost organisations where it shows.
func everyDifference(before, after *rbac.Snapshot) rbac.Impact {
	var im rbac.Impact
	people := before.Data().Users
	slices.SortFunc(people, func(a, b rbac.User) int { return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	for _, p := range before.Catalog().Permissions() {
		pi := rbac.PermImpact{Perm: p}
		for _, u := range people {
			var up, down []int64
			for _, o := range before.AllOrgs() {
				was, is := before.Can(u.ID, o, p.Key), after.Can(u.ID, o, p.Key)
				switch {
				case !was && is:
					up = append(up, o)
				case was && !is:
					down = append(down, o)
				}
			}
			if up = topmost(before, up); len(up) > 0 {
				pi.Gain = append(pi.Gain, rbac.Affected{UserID: u.ID, Name: u.Name, Orgs: up})
			}
			if down = topmost(before, down); len(down) > 0 {
				pi.Lose = append(pi.Lose, rbac.Affected{UserID: u.ID, Name: u.Name, Orgs: down})
			}
		}
		if len(pi.Gain)+len(pi.Lose) > 0 {
			im.Perms = append(im.Perms, pi)
		}
	}
	return im
}

// topmost keeps the organisations none of whose ancestors is in orgs.
func topmost(s *rbac.Snapshot, orgs []int64) []int64 {
	var out []int64
	for _, o := range orgs {
		if !slices.ContainsFunc(orgs, func(a int64) bool { return a != o && s.IsWithin(o, a) }) {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

func describe(im rbac.Impact) string {
	var b strings.Builder
	line := func(sign string, as []rbac.Affected, key string) {
		for _, a := range as {
			orgs := slices.Clone(a.Orgs)
			slices.Sort(orgs)
			fmt.Fprintf(&b, "%s %s %d %v\n", sign, key, a.UserID, orgs)
		}
	}
	for _, p := range im.Perms {
		line("+", p.Gain, p.Perm.Key)
		line("-", p.Lose, p.Perm.Key)
	}
	return b.String()
}
