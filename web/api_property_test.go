package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/internal/rbac"
)

// The API write path under the escalation and lock-out rules: random role changes through
// tokens of non-global creators (a staff desk with integrations, an access controller with
// access.delegate) never raise the creator, never take from someone whose access exceeds
// the creator's, never give what the creator lacks (unless they hold access.delegate,
// which may grant anything, §2.3), and never leave a practice without someone who manages roles and
// staff. Every refusal leaves the data as it was.
func TestAPIWritesKeepTheRules(t *testing.T) {
	w := newAttackWorld(t)
	ctx := context.Background()
	deskInt := w.p.customRole("Desk and Integrations", "staff.manage", "staff.view", "integrations.manage")
	acInt := w.p.customRole("Access and Integrations", "roles.manage", "staff.manage", "staff.view", "audit.view", "access.delegate", "integrations.manage")
	for name, role := range map[string]int64{"Desk Manager": deskInt, "Access Controller": acInt} {
		if err := w.p.store.SetRoleHolders(ctx, role, w.a, []int64{w.id[name]}, nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	actors := []string{"Desk Manager", "Access Controller"}
	toks := map[string]string{}
	for _, name := range actors {
		toks[name] = w.p.token(w.id[name], w.a, "write")
	}
	var people []int64
	for _, id := range w.id {
		people = append(people, id)
	}
	slices.Sort(people)
	roleIDs := []int64{}
	for _, r := range w.p.app.Access.Now().Data().Roles {
		roleIDs = append(roleIDs, r.ID)
	}
	orgs := []int64{w.a, w.a1, w.b}
	rng := rand.New(rand.NewPCG(11, 13))
	changed, refused := 0, 0
	for step := range 300 {
		actorName := actors[rng.IntN(len(actors))]
		actor := w.id[actorName]
		before := w.p.app.Access.Now()
		target := people[rng.IntN(len(people))]
		org := orgs[rng.IntN(len(orgs))]
		role := roleIDs[rng.IntN(len(roleIDs))]
		if rng.IntN(4) > 0 { // mostly a role that applies there, so changes are made as well as refused
			var applies []int64
			for _, r := range before.Data().Roles {
				if slices.Contains(before.Ancestry(org), r.OrgID) {
					applies = append(applies, r.ID)
				}
			}
			role = applies[rng.IntN(len(applies))]
		}
		var r apiResponse
		if rng.IntN(2) == 0 {
			r = w.p.api(toks[actorName], "POST", fmt.Sprintf("/api/v1/users/%d/roles", target), fmt.Sprintf(`{"role": %d, "org": %d}`, role, org))
		} else {
			r = w.p.api(toks[actorName], "DELETE", fmt.Sprintf("/api/v1/users/%d/roles/%d?org=%d", target, role, org), "")
		}
		after := w.p.app.Access.Now()
		if r.status >= 500 {
			t.Fatalf("step %d: %d %s", step, r.status, r.body)
		}
		if r.status >= 400 {
			refused++
			if fmt.Sprint(before.Data().Assignments) != fmt.Sprint(after.Data().Assignments) {
				t.Fatalf("step %d: refused (%d) yet the assignments changed", step, r.status)
			}
			continue
		}
		if fmt.Sprint(before.Data().Assignments) == fmt.Sprint(after.Data().Assignments) {
			continue
		}
		changed++
		for _, o := range after.AllOrgs() {
			// The creator never gains anything.
			if gained := minus(after.Effective(actor, o), before.Effective(actor, o)); len(gained) > 0 {
				t.Fatalf("step %d: %s raised themselves in %d through the API: %v", step, actorName, o, gained)
			}
			// Nobody gains what the creator lacked there (Administration never; the rest only
			// with access.delegate).
			for _, k := range minus(after.Effective(target, o), before.Effective(target, o)) {
				if before.Can(actor, o, k) {
					continue
				}
				if before.Can(actor, o, rbac.PermDelegate) {
					continue // with access.delegate one may grant anything (§2.3), never to oneself
				}
				t.Fatalf("step %d: %s gave %d %s in %d, which they lack", step, actorName, target, k, o)
			}
		}
		// Nothing is taken from someone whose access exceeded the creator's where the change was
		// made (giving them a role takes nothing, and is allowed).
		lost := len(after.RolesIn(target, org)) < len(before.RolesIn(target, org))
		if lost && exceeds(before, target, actor, org) {
			t.Fatalf("step %d: %s took a role from %d in %d, whose access exceeds theirs", step, actorName, target, org)
		}
		for _, top := range []int64{w.a, w.b} {
			if after.Managers(top) == 0 {
				t.Fatalf("step %d: organisation %d was left without anyone who manages roles and staff", step, top)
			}
		}
	}
	if changed == 0 || refused == 0 {
		t.Fatalf("the run proves little: %d changes, %d refusals", changed, refused)
	}
	t.Logf("%d changes made and %d refused through the API", changed, refused)
}

func minus(a, b []string) []string {
	var out []string
	for _, k := range a {
		if !slices.Contains(b, k) {
			out = append(out, k)
		}
	}
	return out
}

// exceeds reports whether target holds, in org, a permission actor lacks there that
// actor's delegation does not cover.
func exceeds(s *rbac.Snapshot, target, actor, org int64) bool {
	if s.IsGlobalAdmin(target) && !s.IsGlobalAdmin(actor) {
		return true
	}
	for _, k := range minus(s.Effective(target, org), s.Effective(actor, org)) {
		if !s.Can(actor, org, rbac.PermDelegate) || slices.Contains(rbac.AdminPermissions, k) {
			return true
		}
	}
	return false
}
