package rbac

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// The escalation property (PRODUCT.md §2.3): whatever sequence of role creations, role edits
// and assignments a non-global actor attempts, applying only what the guard accepts,
//
//	(a) the actor's own effective permissions never grow in any organisation, and
//	(b) every permission newly granted to anyone else was held by the actor, or the actor held
//	    access.delegate, in the organisation the change was made in (the edited role's, or the
//	    assignment's).
//
// The worlds are small and random: 2-4 organisations in a forest, 3-6 users (user 1 is the
// actor), random roles, assignments, memberships, user overrides and organisation defaults.

const propSmallCatalog = `[
  {"key": "patients.view", "category": "P", "label": "View", "mandatory": true},
  {"key": "p.one", "category": "P", "label": "One"},
  {"key": "p.two", "category": "P", "label": "Two"},
  {"key": "p.three", "category": "Q", "label": "Three"},
  {"key": "p.four", "category": "Q", "label": "Four"},
  {"key": "access.delegate", "category": "Administration", "label": "Grant any permission"}
]`

const propActor int64 = 1

var propCatalog = func() *Catalog {
	c, err := ParseCatalog([]byte(propSmallCatalog))
	if err != nil {
		panic(err)
	}
	return c
}()

type propWorld struct {
	cat      *Catalog
	d        Data
	nextRole int64
}

func cloneData(d Data) Data {
	out := d
	out.Orgs = slices.Clone(d.Orgs)
	out.Users = slices.Clone(d.Users)
	out.Roles = make([]Role, len(d.Roles))
	for i, r := range d.Roles {
		r.Permissions = slices.Clone(r.Permissions)
		out.Roles[i] = r
	}
	out.Assignments = slices.Clone(d.Assignments)
	out.Members = slices.Clone(d.Members)
	out.UserOverrides = slices.Clone(d.UserOverrides)
	out.OrgDefaults = slices.Clone(d.OrgDefaults)
	out.Invitations = slices.Clone(d.Invitations)
	return out
}

// randPerms returns the mandatory keys plus a random subset of the others, in catalog order.
func randPerms(rng *rand.Rand, c *Catalog) []string {
	out := slices.Clone(c.Mandatory())
	for _, p := range c.Permissions() {
		if p.Mandatory {
			continue
		}
		prob := 0.4
		if p.Key == PermDelegate {
			prob = 0.2
		}
		if rng.Float64() < prob {
			out = append(out, p.Key)
		}
	}
	return c.Sort(out)
}

// mutatePerms toggles one or two non-mandatory keys of perms.
func mutatePerms(rng *rand.Rand, c *Catalog, perms []string) []string {
	set := map[string]bool{}
	for _, k := range perms {
		set[k] = true
	}
	var optional []string
	for _, p := range c.Permissions() {
		if !p.Mandatory {
			optional = append(optional, p.Key)
		}
	}
	for n := 1 + rng.Intn(2); n > 0; n-- {
		k := optional[rng.Intn(len(optional))]
		set[k] = !set[k]
	}
	var out []string
	for k, on := range set {
		if on {
			out = append(out, k)
		}
	}
	return c.Sort(out)
}

func randEffect(rng *rand.Rand) Effect {
	if rng.Intn(2) == 0 {
		return Allow
	}
	return Deny
}

func genWorld(rng *rand.Rand) *propWorld {
	w := &propWorld{cat: propCatalog, nextRole: 100}
	if rng.Intn(4) == 0 {
		w.cat = DefaultCatalog()
	}
	keys := w.cat.Keys()
	randKey := func() string {
		if rng.Intn(4) == 0 {
			return PermDelegate
		}
		return keys[rng.Intn(len(keys))]
	}
	nOrgs := 2 + rng.Intn(3)
	for i := 1; i <= nOrgs; i++ {
		var parent int64
		if i > 1 && rng.Intn(4) != 0 {
			parent = int64(1 + rng.Intn(i-1))
		}
		w.d.Orgs = append(w.d.Orgs, Org{ID: int64(i), ParentID: parent, Name: fmt.Sprintf("org%d", i)})
	}
	nUsers := 3 + rng.Intn(4)
	for i := 1; i <= nUsers; i++ {
		u := User{ID: int64(i), Name: fmt.Sprintf("user%d", i)}
		if int64(i) != propActor {
			u.GlobalAdmin = rng.Intn(10) == 0
			u.Disabled = rng.Intn(10) == 0
		}
		w.d.Users = append(w.d.Users, u)
	}
	tmp := NewSnapshot(w.cat, w.d) // for Subtree
	for n := 1 + rng.Intn(5); n > 0; n-- {
		w.d.Roles = append(w.d.Roles, Role{ID: w.nextRole, OrgID: int64(1 + rng.Intn(nOrgs)), Code: fmt.Sprintf("R%d", w.nextRole),
			Name: fmt.Sprintf("role %d", w.nextRole), Active: rng.Intn(5) != 0, Permissions: randPerms(rng, w.cat)})
		w.nextRole++
	}
	for _, u := range w.d.Users {
		for n := rng.Intn(3); n > 0; n-- {
			r := w.d.Roles[rng.Intn(len(w.d.Roles))]
			sub := tmp.Subtree(r.OrgID)
			w.d.Assignments = append(w.d.Assignments, Assignment{UserID: u.ID, RoleID: r.ID, OrgID: sub[rng.Intn(len(sub))]})
		}
		for _, o := range w.d.Orgs {
			if rng.Intn(4) == 0 {
				w.d.Members = append(w.d.Members, Membership{UserID: u.ID, OrgID: o.ID})
			}
		}
	}
	for n := rng.Intn(6); n > 0; n-- {
		user := int64(1 + rng.Intn(nUsers))
		if rng.Intn(2) == 0 {
			user = propActor
		}
		w.d.UserOverrides = append(w.d.UserOverrides, UserOverride{UserID: user, OrgID: int64(1 + rng.Intn(nOrgs)), Perm: randKey(), Effect: randEffect(rng), SetBy: 99})
	}
	for n := rng.Intn(5); n > 0; n-- {
		w.d.OrgDefaults = append(w.d.OrgDefaults, OrgDefault{OrgID: int64(1 + rng.Intn(nOrgs)), Perm: randKey(), Effect: randEffect(rng)})
	}
	// Often the actor is using emergency access: what it gives is theirs for its hours,
	// never theirs to grant or to act on others with.
	if rng.Intn(3) == 0 {
		w.d.Emergencies = append(w.d.Emergencies, Emergency{ID: 1, UserID: propActor, OrgID: int64(1 + rng.Intn(nOrgs)),
			Perms: randPerms(rng, w.cat), Until: 1 << 40})
	}
	// Often plant the hierarchy trap: allow by default in an organisation, deny in a child.
	if rng.Intn(2) == 0 {
		for _, o := range w.d.Orgs {
			if o.ParentID != 0 {
				k := keys[rng.Intn(len(keys))]
				w.d.OrgDefaults = append(w.d.OrgDefaults, OrgDefault{OrgID: o.ParentID, Perm: k, Effect: Allow}, OrgDefault{OrgID: o.ID, Perm: k, Effect: Deny})
				w.d.Members = append(w.d.Members, Membership{UserID: propActor, OrgID: o.ParentID})
				w.d.Roles = append(w.d.Roles, Role{ID: w.nextRole, OrgID: o.ParentID, Code: fmt.Sprintf("R%d", w.nextRole),
					Name: "trap", Active: true, Permissions: w.cat.Sort(append(w.cat.Mandatory(), k))})
				w.nextRole++
				break
			}
		}
	}
	return w
}

type propStats struct {
	sequences, ops                 int
	accepted                       map[string]int
	refused                        map[string]int
	acceptedSelf, acceptedDelegate int
	newGrants, membershipGrants    int
	grantsBelowWhereActorLacks     int
	exampleBelow                   string
	unexpectedErrors               int
	ignoreGuard                    bool
	membershipActorLacks           int
	exampleMembership              string
	violations                     map[string]int
	actorDelegateWorlds            int
}

func TestEscalationProperty(t *testing.T) {
	const sequences = 3000
	st := &propStats{accepted: map[string]int{}, refused: map[string]int{}}
	for seq := 0; seq < sequences; seq++ {
		seed := int64(1_000_003*seq + 17)
		if !runSequence(t, seed, st) {
			return
		}
	}
	t.Logf("sequences %d, ops %d, accepted %v, refused %v", st.sequences, st.ops, st.accepted, st.refused)
	t.Logf("accepted self-assignments %d, accepted with delegate %d, worlds where the actor held delegate somewhere %d",
		st.acceptedSelf, st.acceptedDelegate, st.actorDelegateWorlds)
	t.Logf("new grants to others %d, of which through new membership (overrides/defaults/mandatory) %d; "+
		"grants reaching an organisation below where the actor lacks the permission %d",
		st.newGrants, st.membershipGrants, st.grantsBelowWhereActorLacks)
	t.Logf("grants through new membership of a permission the actor neither held nor could delegate in the assignment's org: %d", st.membershipActorLacks)
	if st.exampleMembership != "" {
		t.Logf("example: %s", st.exampleMembership)
	}
	if st.exampleBelow != "" {
		t.Logf("example: %s", st.exampleBelow)
	}

	// The generator must exercise every route, or the property proves little.
	mins := map[string]int{"create": 200, "edit": 200, "assign": 200}
	for k, n := range mins {
		if st.accepted[k] < n {
			t.Errorf("only %d accepted %s ops (want >= %d): generator too weak", st.accepted[k], k, n)
		}
	}
	for _, r := range []string{ReasonNotHeld, ReasonOwnRole, ReasonSelfAssign, ReasonRaisesSelf, ReasonWrongOrg, ReasonInactive} {
		if st.refused[r] < 10 {
			t.Errorf("no op refused with %q: generator too weak", r)
		}
	}
	if st.acceptedSelf < 20 || st.acceptedDelegate < 100 || st.newGrants < 500 {
		t.Errorf("too few interesting accepted ops: self %d, delegate %d, new grants %d", st.acceptedSelf, st.acceptedDelegate, st.newGrants)
	}
	if st.unexpectedErrors > 0 {
		t.Errorf("%d guard errors that are not *EscalationError", st.unexpectedErrors)
	}
}

// runSequence runs one random world and op sequence; it returns false after a failure.
func runSequence(t *testing.T, seed int64, st *propStats) bool {
	rng := rand.New(rand.NewSource(seed))
	w := genWorld(rng)
	s := NewSnapshot(w.cat, w.d)
	st.sequences++
	if len(s.OrgsWhere(propActor, PermDelegate)) > 0 {
		st.actorDelegateWorlds++
	}
	nOrgs := len(w.d.Orgs)
	nUsers := len(w.d.Users)
	var log []string
	fail := func(format string, args ...any) bool {
		if st.ignoreGuard { // checking that the checks have teeth: count, do not fail
			st.violations[format[:3]]++
			return true
		}
		t.Errorf("seed %d: "+format, append([]any{seed}, args...)...)
		t.Logf("world: %+v", w.d)
		for _, l := range log {
			t.Logf("  %s", l)
		}
		return false
	}
	for n := 3 + rng.Intn(6); n > 0; n-- {
		st.ops++
		d := cloneData(w.d)
		var kind string
		var err error
		var relevant func(user, org int64, perm string) []int64 // orgs the change was made in
		switch op := rng.Intn(3); op {
		case 0:
			kind = "create"
			org := int64(1 + rng.Intn(nOrgs))
			perms := randPerms(rng, w.cat)
			err = s.CheckRoleChange(propActor, 0, org, nil, perms)
			log = append(log, fmt.Sprintf("create in org %d %v -> %v", org, perms, err))
			d.Roles = append(d.Roles, Role{ID: w.nextRole, OrgID: org, Code: fmt.Sprintf("R%d", w.nextRole), Name: "new",
				Active: rng.Intn(5) != 0, Permissions: perms})
			relevant = func(int64, int64, string) []int64 { return nil } // a new role has no holders
		case 1:
			kind = "edit"
			i := rng.Intn(len(d.Roles))
			r := d.Roles[i]
			next := randPerms(rng, w.cat)
			if rng.Intn(2) == 0 {
				next = mutatePerms(rng, w.cat, r.Permissions)
			}
			err = s.CheckRoleChange(propActor, r.ID, r.OrgID, r.Permissions, next)
			log = append(log, fmt.Sprintf("edit role %d (org %d) %v -> %v: %v", r.ID, r.OrgID, r.Permissions, next, err))
			d.Roles[i].Permissions = next
			relevant = func(int64, int64, string) []int64 { return []int64{r.OrgID} }
		default:
			kind = "assign"
			var add []Assignment
			for k := 1 + rng.Intn(2); k > 0; k-- {
				user := int64(1 + rng.Intn(nUsers))
				if rng.Intn(3) == 0 {
					user = propActor
				}
				r := d.Roles[rng.Intn(len(d.Roles))]
				org := int64(1 + rng.Intn(nOrgs))
				if sub := s.Subtree(r.OrgID); rng.Intn(8) != 0 {
					org = sub[rng.Intn(len(sub))]
				}
				add = append(add, Assignment{UserID: user, RoleID: r.ID, OrgID: org})
			}
			err = s.CheckAssignments(propActor, add)
			log = append(log, fmt.Sprintf("assign %+v -> %v", add, err))
			d.Assignments = append(d.Assignments, add...)
			relevant = func(user, org int64, perm string) []int64 {
				var out []int64
				for _, a := range add {
					r, _ := s.Role(a.RoleID)
					if a.UserID == user && s.IsWithin(org, a.OrgID) && slices.Contains(r.Permissions, perm) {
						out = append(out, a.OrgID)
					}
				}
				return out
			}
			if err == nil {
				for _, a := range add {
					if a.UserID == propActor {
						st.acceptedSelf++
						break
					}
				}
			}
		}
		if err != nil && st.ignoreGuard {
			err = nil
		}
		if err != nil {
			var ee *EscalationError
			if !errors.As(err, &ee) {
				st.unexpectedErrors++
				return fail("%s: error %T %v", kind, err, err)
			}
			st.refused[ee.Reason]++
			continue
		}
		st.accepted[kind]++
		if kind == "create" {
			w.nextRole++
		}

		after := NewSnapshot(w.cat, d)
		usedDelegate := false
		g := s.forGuard() // what the actor holds to grant: emergency access aside
		// (a) the actor never gains anything anywhere.
		for _, o := range d.Orgs {
			before, now := s.Effective(propActor, o.ID), after.Effective(propActor, o.ID)
			for _, k := range now {
				if !slices.Contains(before, k) {
					return fail("(a) after an accepted %s the actor gained %q in org %d: before %v, after %v (%+v)",
						kind, k, o.ID, before, now, after.Explain(propActor, o.ID, k))
				}
			}
		}
		// (b) what others gain, the actor could grant where the change was made.
		for _, u := range d.Users {
			if u.ID == propActor {
				continue
			}
			for _, o := range d.Orgs {
				for _, p := range w.cat.Permissions() {
					if s.Can(u.ID, o.ID, p.Key) || !after.Can(u.ID, o.ID, p.Key) {
						continue
					}
					st.newGrants++
					why := after.Explain(u.ID, o.ID, p.Key)
					if why.Step != StepRoleGrant {
						// Only a new membership lets an existing override, org default or the
						// catalog default start counting for this user.
						if prev := s.Explain(u.ID, o.ID, p.Key); prev.Step != StepNotMember {
							return fail("(b) user %d gained %q in org %d through step %d, but was already a member (before: %+v)",
								u.ID, p.Key, o.ID, why.Step, prev)
						}
						st.membershipGrants++
						if kind == "assign" {
							lacks := true
							for _, a := range d.Assignments[len(w.d.Assignments):] {
								if a.UserID == u.ID && s.IsWithin(o.ID, a.OrgID) &&
									(g.Can(propActor, a.OrgID, p.Key) || g.Can(propActor, a.OrgID, PermDelegate)) {
									lacks = false
								}
							}
							if lacks {
								st.membershipActorLacks++
								if st.exampleMembership == "" {
									st.exampleMembership = fmt.Sprintf("seed %d: after %q user %d gained %q in org %d through %+v; the actor held neither it nor delegate in the assignment's org",
										seed, log[len(log)-1], u.ID, p.Key, o.ID, why)
								}
							}
						}
						continue
					}
					ok := false
					for _, r := range relevant(u.ID, o.ID, p.Key) {
						if g.Can(propActor, r, PermDelegate) {
							ok, usedDelegate = true, true
						} else if g.Can(propActor, r, p.Key) {
							ok = true
						}
					}
					if !ok {
						return fail("(b) after an accepted %s user %d gained %q in org %d (%+v), which the actor neither held nor could delegate where the change was made",
							kind, u.ID, p.Key, o.ID, why)
					}
					if !g.Can(propActor, o.ID, p.Key) && !g.Can(propActor, o.ID, PermDelegate) {
						st.grantsBelowWhereActorLacks++
						if st.exampleBelow == "" {
							st.exampleBelow = fmt.Sprintf("seed %d: after %q user %d gained %q in org %d where the actor holds neither it nor delegate (%+v)",
								seed, log[len(log)-1], u.ID, p.Key, o.ID, why)
						}
					}
				}
			}
		}
		if usedDelegate {
			st.acceptedDelegate++
		}
		w.d = d
		s = after
	}
	return true
}

// The checks of the property must catch escalations: applying every op, accepted or not,
// has to trip both (a) and (b).
func TestEscalationPropertyHasTeeth(t *testing.T) {
	st := &propStats{accepted: map[string]int{}, refused: map[string]int{}, ignoreGuard: true, violations: map[string]int{}}
	for seq := 0; seq < 500; seq++ {
		runSequence(t, int64(7_919*seq+3), st)
	}
	t.Logf("violations without the guard: %v", st.violations)
	if st.violations["(a)"] < 10 || st.violations["(b)"] < 10 {
		t.Errorf("without the guard the property found too few violations: %v", st.violations)
	}
}
