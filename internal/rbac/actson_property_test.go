package rbac

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// The acting-on property (hardening issue, findings 2 and 3): whatever sequence of changes a
// non-global actor attempts — assignments, removals, overrides, disabling and enabling, role
// edits and deletions, organisation defaults — applying only what the rules accept,
//
//	(c) nobody whose access exceeds the actor's where a change is weighed loses anything
//	    there, and
//	(d) neither the actor nor anyone up their invitation chain gains anything anywhere.
//
// The worlds are genWorld's, plus random invitation edges, some of them leading up from the
// actor.

type actsOnStats struct {
	accepted, refused map[string]int
	ignoreRules       bool
	violations        map[string]int
	losses, upline    int
}

// enabled is s's data with user enabled, for what enabling them would give back.
func enabledView(s *Snapshot, user int64) *Snapshot {
	d := cloneData(s.Data())
	for i := range d.Users {
		if d.Users[i].ID == user {
			d.Users[i].Disabled = false
		}
	}
	return NewSnapshot(s.Catalog(), d)
}

// exceedsIn restates, for the test, when target's access exceeds actor's in org: a global
// admin exceeds everyone but a global admin; otherwise target holds (enabled) a permission
// the actor does not, that access.delegate does not cover.
func exceedsIn(s *Snapshot, actor, target, org int64) bool {
	if actor == target || s.IsGlobalAdmin(actor) {
		return false
	}
	if u, ok := s.User(target); ok && u.GlobalAdmin {
		return true
	}
	e := enabledView(s, target)
	delegate := s.Can(actor, org, PermDelegate)
	for _, p := range s.Catalog().Permissions() {
		if e.Can(target, org, p.Key) && !s.Can(actor, org, p.Key) && !(delegate && !slices.Contains(AdminPermissions, p.Key)) {
			return true
		}
	}
	return false
}

func TestActsOnProperty(t *testing.T) {
	st := &actsOnStats{accepted: map[string]int{}, refused: map[string]int{}}
	for seq := 0; seq < 2000; seq++ {
		if !runActsOn(t, int64(104_729*seq+11), st) {
			return
		}
	}
	t.Logf("accepted %v", st.accepted)
	t.Logf("refused %v", st.refused)
	t.Logf("accepted changes that took access from someone %d; worlds with an invitation chain above the actor %d", st.losses, st.upline)
	for _, k := range []string{"unassign", "override", "disable", "enable", "edit", "delete", "assign", "default"} {
		if st.accepted[k] < 50 {
			t.Errorf("only %d accepted %s ops: generator too weak", st.accepted[k], k)
		}
	}
	for _, r := range []string{ReasonTargetExceeds, ReasonTargetGlobal, ReasonHolderExceeds, ReasonRaisesInviter} {
		if st.refused[r] < 10 {
			t.Errorf("only %d ops refused with %q: generator too weak", st.refused[r], r)
		}
	}
	if st.losses < 300 || st.upline < 300 {
		t.Errorf("too few interesting cases: losses %d, upline worlds %d", st.losses, st.upline)
	}
}

// Without the rules, the same sequences must break (c) and (d): the property has teeth.
func TestActsOnPropertyHasTeeth(t *testing.T) {
	st := &actsOnStats{accepted: map[string]int{}, refused: map[string]int{}, ignoreRules: true, violations: map[string]int{}}
	for seq := 0; seq < 500; seq++ {
		runActsOn(t, int64(7_907*seq+5), st)
	}
	t.Logf("violations without the rules: %v", st.violations)
	if st.violations["(c)"] < 10 || st.violations["(d)"] < 10 {
		t.Errorf("without the rules the property found too few violations: %v", st.violations)
	}
}

func runActsOn(t *testing.T, seed int64, st *actsOnStats) bool {
	rng := rand.New(rand.NewSource(seed))
	w := genWorld(rng)
	for w.cat != DefaultCatalog() { // staff actions need the administration permissions
		w = genWorld(rng)
	}
	nUsers, nOrgs := len(w.d.Users), len(w.d.Orgs)
	// The actor mostly manages staff somewhere, with a random share of the rest.
	if rng.Intn(5) != 0 {
		perms := append(randPerms(rng, w.cat), PermStaffManage, PermStaffView)
		org := int64(1 + rng.Intn(nOrgs))
		w.d.Roles = append(w.d.Roles, Role{ID: w.nextRole, OrgID: org, Code: "MANAGER_ISH", Name: "manager-ish", Active: true, Permissions: w.cat.Sort(perms)})
		w.d.Assignments = append(w.d.Assignments, Assignment{UserID: propActor, RoleID: w.nextRole, OrgID: org})
		w.nextRole++
	}
	// Invitation edges: often a chain above the actor, sometimes others.
	if rng.Intn(3) != 0 {
		cur := propActor
		for n := 1 + rng.Intn(2); n > 0; n-- {
			inviter := int64(1 + rng.Intn(nUsers))
			if inviter == cur {
				continue
			}
			w.d.Invitations = append(w.d.Invitations, Invited{UserID: cur, InviterID: inviter})
			cur = inviter
		}
	}
	for n := rng.Intn(3); n > 0; n-- {
		w.d.Invitations = append(w.d.Invitations, Invited{UserID: int64(1 + rng.Intn(nUsers)), InviterID: int64(1 + rng.Intn(nUsers))})
	}
	s := NewSnapshot(w.cat, w.d)
	if len(s.Upline(propActor)) > 0 {
		st.upline++
	}
	var log []string
	fail := func(format string, args ...any) bool {
		if st.ignoreRules {
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
	keys := w.cat.Keys()
	for n := 4 + rng.Intn(6); n > 0; n-- {
		d := cloneData(w.d)
		var kind string
		var err error
		var weighed []struct{ user, org int64 } // who a change takes from, and where it is weighed
		user := int64(1 + rng.Intn(nUsers))
		org := int64(1 + rng.Intn(nOrgs))
		switch rng.Intn(8) {
		case 0:
			kind = "unassign"
			if len(d.Assignments) == 0 {
				continue
			}
			i := rng.Intn(len(d.Assignments))
			a := d.Assignments[i]
			err = s.CheckPersonChange(propActor, a.UserID, a.OrgID)
			d.Assignments = slices.Delete(d.Assignments, i, i+1)
			weighed = append(weighed, struct{ user, org int64 }{a.UserID, a.OrgID})
			log = append(log, fmt.Sprintf("unassign %+v -> %v", a, err))
		case 1:
			kind = "override"
			perm := keys[rng.Intn(len(keys))]
			if p, _ := w.cat.Get(perm); p.Mandatory {
				continue
			}
			e := Effect(rng.Intn(3))
			err = s.CheckPersonChange(propActor, user, org)
			if err == nil {
				err = s.CheckOverride(propActor, user, org, perm, e)
			}
			var ovs []UserOverride
			for _, ov := range d.UserOverrides {
				if !(ov.UserID == user && ov.OrgID == org && ov.Perm == perm) {
					ovs = append(ovs, ov)
				}
			}
			if e != Inherit {
				ovs = append(ovs, UserOverride{UserID: user, OrgID: org, Perm: perm, Effect: e, SetBy: propActor})
			}
			d.UserOverrides = ovs
			weighed = append(weighed, struct{ user, org int64 }{user, org})
			log = append(log, fmt.Sprintf("override user %d org %d %s=%v -> %v", user, org, perm, e, err))
		case 2, 3:
			u, _ := s.User(user)
			kind = "disable"
			if u.Disabled {
				kind = "enable"
			} else if user == propActor {
				continue // never yourself: the staff domain refuses it before the rules
			}
			if u.Disabled {
				err = s.CheckEnable(propActor, user)
			} else {
				err = s.CheckAccountChange(propActor, user)
			}
			for i := range d.Users {
				if d.Users[i].ID == user {
					d.Users[i].Disabled = !u.Disabled
				}
			}
			for _, o := range s.MemberOrgs(user) {
				weighed = append(weighed, struct{ user, org int64 }{user, o})
			}
			log = append(log, fmt.Sprintf("%s user %d -> %v", kind, user, err))
		case 4:
			kind = "edit"
			i := rng.Intn(len(d.Roles))
			r := d.Roles[i]
			next := mutatePerms(rng, w.cat, r.Permissions)
			err = s.CheckRoleChange(propActor, r.ID, r.OrgID, r.Permissions, next)
			d.Roles[i].Permissions = next
			if err == nil {
				err = s.CheckRoleHolders(propActor, r.ID, NewSnapshot(w.cat, d))
			}
			for _, a := range d.Assignments {
				if a.RoleID == r.ID {
					weighed = append(weighed, struct{ user, org int64 }{a.UserID, a.OrgID})
				}
			}
			log = append(log, fmt.Sprintf("edit role %d %v -> %v: %v", r.ID, r.Permissions, next, err))
		case 5:
			kind = "delete"
			r := d.Roles[rng.Intn(len(d.Roles))]
			var keep []Assignment
			for _, a := range d.Assignments {
				if a.RoleID == r.ID {
					weighed = append(weighed, struct{ user, org int64 }{a.UserID, a.OrgID})
				} else {
					keep = append(keep, a)
				}
			}
			d.Assignments = keep
			err = s.CheckRoleHolders(propActor, r.ID, NewSnapshot(w.cat, d))
			log = append(log, fmt.Sprintf("delete role %d -> %v", r.ID, err))
		case 6:
			kind = "assign"
			r := d.Roles[rng.Intn(len(d.Roles))]
			if rng.Intn(3) == 0 {
				if up := s.Upline(propActor); len(up) > 0 {
					user = up[rng.Intn(len(up))]
				}
			}
			sub := s.Subtree(r.OrgID)
			a := Assignment{UserID: user, RoleID: r.ID, OrgID: sub[rng.Intn(len(sub))]}
			err = s.CheckAssignments(propActor, []Assignment{a})
			d.Assignments = append(d.Assignments, a)
			log = append(log, fmt.Sprintf("assign %+v -> %v", a, err))
		default:
			kind = "default"
			perm := keys[rng.Intn(len(keys))]
			e := Effect(rng.Intn(3))
			err = s.CheckOrgDefault(propActor, org, perm, e)
			var ods []OrgDefault
			for _, od := range d.OrgDefaults {
				if !(od.OrgID == org && od.Perm == perm) {
					ods = append(ods, od)
				}
			}
			if e != Inherit {
				ods = append(ods, OrgDefault{OrgID: org, Perm: perm, Effect: e})
			}
			d.OrgDefaults = ods
			log = append(log, fmt.Sprintf("default org %d %s=%v -> %v", org, perm, e, err))
		}
		if err != nil && st.ignoreRules {
			err = nil
		}
		if err != nil {
			var ee *EscalationError
			var fe *ForbiddenError
			switch {
			case errors.As(err, &ee):
				st.refused[ee.Reason]++
			case errors.As(err, &fe):
				st.refused["forbidden"]++
			case errors.Is(err, ErrNotStaffThere):
				st.refused["not staff there"]++
			default:
				return fail("(?) %s: unexpected error %T %v", kind, err, err)
			}
			continue
		}
		st.accepted[kind]++
		after := NewSnapshot(w.cat, d)
		// (c) whoever the change took from, where it is weighed, did not exceed the actor.
		took := false
		for _, x := range weighed {
			for _, o := range s.comparedIn(x.user, []int64{x.org}) {
				lost := ""
				for _, p := range w.cat.Permissions() {
					if s.Can(x.user, o, p.Key) && !after.Can(x.user, o, p.Key) {
						lost = p.Key
						break
					}
				}
				if lost == "" {
					continue
				}
				took = true
				if exceedsIn(s, propActor, x.user, o) {
					return fail("(c) after an accepted %s user %d lost %q in org %d, though their access there exceeds the actor's", kind, x.user, lost, o)
				}
			}
		}
		if took {
			st.losses++
		}
		// (d) the actor and their invitation chain gain nothing anywhere.
		for _, who := range append([]int64{propActor}, s.Upline(propActor)...) {
			for _, o := range d.Orgs {
				for _, p := range w.cat.Permissions() {
					if !s.Can(who, o.ID, p.Key) && after.Can(who, o.ID, p.Key) {
						return fail("(d) after an accepted %s user %d (the actor or up their invitation chain) gained %q in org %d", kind, who, p.Key, o.ID)
					}
				}
			}
		}
		w.d = d
		s = after
	}
	return true
}
