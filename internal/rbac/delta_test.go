package rbac

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"
)

// deltaClock is the moment the differential test asks at; some grants end before it.
const deltaClockNow = int64(1_800_000_000)

var deltaClock = &Clock{Now: func() time.Time { return time.Unix(deltaClockNow, 0) }, Zone: func() *time.Location { return time.UTC }}

// personOf gathers one person's facts from d, as the store's change log reader does.
func personOf(d Data, id int64) (Person, bool) {
	var p Person
	found := false
	for _, u := range d.Users {
		if u.ID == id {
			p.User, found = u, true
		}
	}
	for _, m := range d.Members {
		if m.UserID == id {
			p.Staff = append(p.Staff, m.OrgID)
		}
	}
	for _, a := range d.Assignments {
		if a.UserID == id {
			p.Assignments = append(p.Assignments, a)
		}
	}
	for _, o := range d.UserOverrides {
		if o.UserID == id {
			p.Overrides = append(p.Overrides, o)
		}
	}
	for _, inv := range d.Invitations {
		if inv.UserID == id {
			p.Inviters = append(p.Inviters, inv.InviterID)
		}
	}
	for _, e := range d.Emergencies {
		if e.UserID == id {
			p.Emergencies = append(p.Emergencies, e)
		}
	}
	return p, found
}

// deltaStep makes one random change to d and returns the Delta that describes it.
func deltaStep(rng *rand.Rand, w *propWorld, d *Data) (Delta, string) {
	var dl Delta
	touch := func(ids ...int64) {
		for _, id := range ids {
			if p, ok := personOf(*d, id); ok {
				dl.People = append(dl.People, p)
			} else {
				dl.PeopleGone = append(dl.PeopleGone, id)
			}
		}
	}
	orgs := func() {
		dl.OrgsChanged, dl.Orgs, dl.OrgDefaults = true, slices.Clone(d.Orgs), slices.Clone(d.OrgDefaults)
	}
	user := func() int64 { return d.Users[rng.Intn(len(d.Users))].ID }
	org := func() int64 { return d.Orgs[rng.Intn(len(d.Orgs))].ID }
	keys := w.cat.Keys()
	switch k := rng.Intn(12); k {
	case 0: // a flag
		i := rng.Intn(len(d.Users))
		if rng.Intn(2) == 0 {
			d.Users[i].GlobalAdmin = !d.Users[i].GlobalAdmin
		} else {
			d.Users[i].Disabled = !d.Users[i].Disabled
		}
		touch(d.Users[i].ID)
		return dl, "flag"
	case 1: // staff of an organisation, or no longer
		u, o := user(), org()
		i := slices.Index(d.Members, Membership{u, o})
		if i >= 0 {
			d.Members = slices.Delete(d.Members, i, i+1)
		} else {
			d.Members = append(d.Members, Membership{u, o})
		}
		touch(u)
		return dl, "member"
	case 2: // a role given or taken
		u := user()
		if i := slices.IndexFunc(d.Assignments, func(a Assignment) bool { return a.UserID == u }); i >= 0 && rng.Intn(2) == 0 {
			d.Assignments = slices.Delete(d.Assignments, i, i+1)
		} else if len(d.Roles) > 0 {
			r := d.Roles[rng.Intn(len(d.Roles))]
			sub := NewSnapshot(w.cat, *d).Subtree(r.OrgID)
			var until int64
			if rng.Intn(3) == 0 { // ended already, or ending later
				until = deltaClockNow + int64(rng.Intn(2001)-1000)
			}
			d.Assignments = append(d.Assignments, Assignment{UserID: u, RoleID: r.ID, OrgID: sub[rng.Intn(len(sub))], Until: until})
		}
		touch(u)
		return dl, "assign"
	case 3: // an override
		u, o, key := user(), org(), keys[rng.Intn(len(keys))]
		d.UserOverrides = slices.DeleteFunc(d.UserOverrides, func(ov UserOverride) bool { return ov.UserID == u && ov.OrgID == o && ov.Perm == key })
		if rng.Intn(3) != 0 {
			ov := UserOverride{UserID: u, OrgID: o, Perm: key, Effect: randEffect(rng), SetBy: 99}
			if ov.Effect == Allow && rng.Intn(2) == 0 {
				ov.Until = deltaClockNow + int64(rng.Intn(2001)-1000)
			}
			d.UserOverrides = append(d.UserOverrides, ov)
		}
		touch(u)
		return dl, "override"
	case 4: // a role edited
		if len(d.Roles) == 0 {
			return dl, "none"
		}
		i := rng.Intn(len(d.Roles))
		d.Roles[i].Permissions = mutatePerms(rng, w.cat, d.Roles[i].Permissions)
		d.Roles[i].Active = rng.Intn(4) != 0
		dl.Roles = append(dl.Roles, d.Roles[i])
		return dl, "edit role"
	case 5: // a role made
		r := Role{ID: w.nextRole, OrgID: org(), Code: fmt.Sprintf("R%d", w.nextRole), Name: "new", Active: true, Permissions: randPerms(rng, w.cat)}
		w.nextRole++
		d.Roles = append(d.Roles, r)
		dl.Roles = append(dl.Roles, r)
		return dl, "new role"
	case 6: // a role deleted, its holders' assignments with it
		if len(d.Roles) == 0 {
			return dl, "none"
		}
		r := d.Roles[rng.Intn(len(d.Roles))]
		d.Roles = slices.DeleteFunc(d.Roles, func(x Role) bool { return x.ID == r.ID })
		var holders []int64
		d.Assignments = slices.DeleteFunc(d.Assignments, func(a Assignment) bool {
			if a.RoleID == r.ID {
				holders = append(holders, a.UserID)
				return true
			}
			return false
		})
		slices.Sort(holders)
		touch(slices.Compact(holders)...)
		dl.RolesGone = append(dl.RolesGone, r.ID)
		return dl, "delete role"
	case 7: // an organisation default
		o, key := org(), keys[rng.Intn(len(keys))]
		d.OrgDefaults = slices.DeleteFunc(d.OrgDefaults, func(od OrgDefault) bool { return od.OrgID == o && od.Perm == key })
		if rng.Intn(3) != 0 {
			d.OrgDefaults = append(d.OrgDefaults, OrgDefault{OrgID: o, Perm: key, Effect: randEffect(rng)})
		}
		orgs()
		return dl, "default"
	case 8: // an organisation moved to the top or under an earlier one
		i := rng.Intn(len(d.Orgs))
		d.Orgs[i].ParentID = 0
		if i > 0 && rng.Intn(2) == 0 {
			d.Orgs[i].ParentID = d.Orgs[rng.Intn(i)].ID
		}
		orgs()
		return dl, "move"
	case 9: // someone new
		id := d.Users[len(d.Users)-1].ID + 1 + int64(rng.Intn(700))
		d.Users = append(d.Users, User{ID: id, Name: "new", Email: fmt.Sprintf("user%d@example.org", id)})
		d.Members = append(d.Members, Membership{id, org()})
		touch(id)
		return dl, "new person"
	case 10: // someone deleted, with everything of theirs
		if len(d.Users) < 3 {
			return dl, "none"
		}
		u := user()
		d.Users = slices.DeleteFunc(d.Users, func(x User) bool { return x.ID == u })
		d.Members = slices.DeleteFunc(d.Members, func(m Membership) bool { return m.UserID == u })
		d.Assignments = slices.DeleteFunc(d.Assignments, func(a Assignment) bool { return a.UserID == u })
		d.UserOverrides = slices.DeleteFunc(d.UserOverrides, func(o UserOverride) bool { return o.UserID == u })
		var invited []int64
		d.Invitations = slices.DeleteFunc(d.Invitations, func(inv Invited) bool {
			if inv.InviterID == u {
				invited = append(invited, inv.UserID)
			}
			return inv.UserID == u || inv.InviterID == u
		})
		touch(u)
		touch(invited...)
		return dl, "delete person"
	default: // an invitation accepted, or an address changed
		u := user()
		if rng.Intn(2) == 0 {
			d.Invitations = append(d.Invitations, Invited{UserID: u, InviterID: user()})
		} else {
			i := slices.IndexFunc(d.Users, func(x User) bool { return x.ID == u })
			d.Users[i].Email = fmt.Sprintf("moved%d.%d@example.org", u, rng.Intn(1000)) // addresses are unique, as the database makes them
		}
		touch(u)
		return dl, "invited or email"
	}
}

// sameSnapshots reports the first difference between got and want: every decision with its
// explanation, the lock-out guard's counts, and the look-ups by email and by invitation.
func sameSnapshots(got, want *Snapshot, d Data) error {
	got, want = got.WithClock(deltaClock), want.WithClock(deltaClock)
	for _, u := range d.Users {
		for _, o := range d.Orgs {
			for _, p := range want.cat.Keys() {
				if g, w := got.Explain(u.ID, o.ID, p), want.Explain(u.ID, o.ID, p); g != w {
					return fmt.Errorf("user %d org %d %s: %+v, rebuilt %+v", u.ID, o.ID, p, g, w)
				}
			}
		}
		if g, w := got.MemberOrgs(u.ID), want.MemberOrgs(u.ID); !slices.Equal(g, w) {
			return fmt.Errorf("user %d member of %v, rebuilt %v", u.ID, g, w)
		}
		if g, w := got.Upline(u.ID), want.Upline(u.ID); !slices.Equal(g, w) {
			return fmt.Errorf("user %d upline %v, rebuilt %v", u.ID, g, w)
		}
		if u.Email != "" {
			g, _ := got.UserByEmail(u.Email)
			w, _ := want.UserByEmail(u.Email)
			if g != w {
				return fmt.Errorf("email %s: %+v, rebuilt %+v", u.Email, g, w)
			}
		}
	}
	for _, o := range d.Orgs {
		if g, w := got.managerCounts()[o.ID], want.managerCounts()[o.ID]; g != w {
			return fmt.Errorf("org %d: %d managers, rebuilt %d", o.ID, g, w)
		}
	}
	if got.globalAdmins != want.globalAdmins || got.users.n != want.users.n {
		return fmt.Errorf("%d global admins of %d people, rebuilt %d of %d", got.globalAdmins, got.users.n, want.globalAdmins, want.users.n)
	}
	if !slices.Equal(got.Warnings, want.Warnings) {
		return fmt.Errorf("warnings %q, rebuilt %q", got.Warnings, want.Warnings)
	}
	g, w := got.Roles(), want.Roles()
	if len(g) != len(w) {
		return fmt.Errorf("%d roles, rebuilt %d", len(g), len(w))
	}
	for i := range g {
		if g[i].ID != w[i].ID || g[i].Active != w[i].Active || !slices.Equal(g[i].Permissions, w[i].Permissions) {
			return fmt.Errorf("role %+v, rebuilt %+v", g[i], w[i])
		}
	}
	return nil
}

// The snapshot Apply makes from the last one answers exactly as one built from scratch,
// after every step of random sequences of changes (10,000 steps over 500 worlds), and the
// snapshots it started from are left as they were.
func TestApplyEqualsRebuild(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	kinds := map[string]int{}
	for world := range 500 {
		w := genWorld(rng)
		d := cloneData(w.d)
		for i := range d.Users {
			if rng.Intn(2) == 0 {
				d.Users[i].Email = fmt.Sprintf("user%d@example.org", d.Users[i].ID)
			}
		}
		cur := NewSnapshot(w.cat, d)
		for step := range 20 {
			before, beforeData := cur, cloneData(d)
			dl, kind := deltaStep(rng, w, &d)
			kinds[kind]++
			cur = cur.Apply(dl)
			if err := sameSnapshots(cur, NewSnapshot(w.cat, d), d); err != nil {
				t.Fatalf("world %d step %d (%s): %v", world, step, kind, err)
			}
			if err := sameSnapshots(before, NewSnapshot(w.cat, beforeData), beforeData); err != nil {
				t.Fatalf("world %d step %d (%s): the snapshot before changed: %v", world, step, kind, err)
			}
		}
	}
	t.Logf("steps by kind: %v", kinds)
}

// A person's entry in a table of many chunks: found, replaced and removed without touching
// the table it came from.
func TestUserTablePersistent(t *testing.T) {
	var t0 userTable
	e := t0.edit()
	for id := int64(1); id <= 2000; id++ {
		e.set(id, &userEntry{User: User{ID: id}})
	}
	t1 := e.done()
	e = t1.edit()
	e.set(700, &userEntry{User: User{ID: 700, Name: "new"}})
	e.set(5000, &userEntry{User: User{ID: 5000}})
	e.set(3, nil)
	t2 := e.done()
	if t1.n != 2000 || t2.n != 2000 {
		t.Fatalf("sizes %d, %d", t1.n, t2.n)
	}
	if t1.get(700).Name != "" || t2.get(700).Name != "new" || t1.get(3) == nil || t2.get(3) != nil || t1.get(5000) != nil || t2.get(5000) == nil {
		t.Fatal("an edit reached the table it came from, or missed the new one")
	}
	if t1.chunks[3] != t2.chunks[3] {
		t.Error("an untouched chunk was copied")
	}
	var ids []int64
	for u := range t2.all() {
		ids = append(ids, u.ID)
	}
	if len(ids) != 2000 || !slices.IsSorted(ids) {
		t.Errorf("all: %d people, sorted %v", len(ids), slices.IsSorted(ids))
	}
}
