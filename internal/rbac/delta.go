package rbac

import (
	"cmp"
	"iter"
	"maps"
	"slices"
	"sync"
)

// A committed change reaches the permission engine as a Delta: the facts, as they now are, of
// everything the change touched. Apply makes the next snapshot from the current one by
// replacing only those parts and sharing the rest:
//
//   - people live in a persistent table of id chunks (table.go): a change to a few people
//     copies the chunk list and their chunks, a few kilobytes in a practice of 100,000;
//   - roles, organisations and their defaults are few (hundreds, not tens of thousands), so a
//     change to one of them copies that map whole;
//   - the index the lock-out guard reads (how many people can manage roles and staff in each
//     top-level organisation, and how many active global admins there are) is carried
//     forward by looking at the people the change touched before and after it (and at the
//     holders of a role that gained or lost roles.manage or staff.manage). A change that can
//     move it for anyone (an organisation default, a moved organisation) leaves it to be
//     counted again when first asked.
//
// Snapshots are immutable once made, so readers holding the previous one go on lock-free and
// never see half a change. NewSnapshot, the full build, remains for start-up, for a change
// the log of changes no longer reaches back to, and for the consistency check that compares
// the two.

// Person is everything the rule looks at about one person.
type Person struct {
	User        User
	Staff       []int64 // the organisations they are staff of (not those where they only hold a role)
	Assignments []Assignment
	Overrides   []UserOverride
	Inviters    []int64 // who sent the invitations they accepted
	Emergencies []Emergency
}

// Delta is what one or more committed changes touched, each part as it is after them.
type Delta struct {
	// Version is the access counter the facts were read at (0: a change not yet saved).
	Version int64
	// Full, when set, replaces everything: the changes reach back beyond what the log keeps.
	Full *Data
	// OrgsChanged: Orgs and OrgDefaults are every organisation and every default.
	OrgsChanged bool
	Orgs        []Org
	OrgDefaults []OrgDefault
	Roles       []Role  // roles made or changed
	RolesGone   []int64 // roles deleted
	People      []Person
	PeopleGone  []int64
}

// Empty reports whether d changes nothing.
func (d Delta) Empty() bool {
	return d.Full == nil && !d.OrgsChanged && len(d.Roles)+len(d.RolesGone)+len(d.People)+len(d.PeopleGone) == 0
}

// Apply returns the snapshot after d; s is unchanged.
func (s *Snapshot) Apply(d Delta) *Snapshot {
	if d.Full != nil {
		full := *d.Full
		if d.Version > full.Version {
			full.Version = d.Version
		}
		return NewSnapshot(s.cat, full)
	}
	n := *s
	n.version = max(s.version, d.Version)
	recount := false
	if d.OrgsChanged {
		n.setOrgs(d.Orgs, d.OrgDefaults)
		recount = true
	}
	var flipped []int64 // roles that gained or lost roles.manage or staff.manage
	if len(d.Roles)+len(d.RolesGone) > 0 {
		n.roles = maps.Clone(s.roles)
		for _, id := range d.RolesGone {
			if managesBits(s.cat, s.roles[id]) != 0 {
				flipped = append(flipped, id)
			}
			delete(n.roles, id)
		}
		for _, r := range d.Roles {
			e := newRoleEntry(s.cat, r)
			if managesBits(s.cat, s.roles[r.ID]) != managesBits(s.cat, e) {
				flipped = append(flipped, r.ID)
			}
			n.roles[r.ID] = e
		}
		n.indexRoles()
	}
	touched := make(map[int64]bool, len(d.People)+len(d.PeopleGone))
	if len(flipped) > 0 && !recount {
		// Only their holders can become or stop being managers through them.
		for u := range s.users.all() {
			if slices.ContainsFunc(u.assignments, func(a Assignment) bool { return slices.Contains(flipped, a.RoleID) }) {
				touched[u.ID] = true
			}
		}
	}
	if len(d.People)+len(d.PeopleGone) > 0 {
		te, ee := s.users.edit(), s.byEmail.edit()
		// Each person once, as the delta last gives them: first everyone's old entry out,
		// then the new ones in.
		last := make(map[int64]*userEntry, len(d.People)+len(d.PeopleGone))
		for _, id := range d.PeopleGone {
			last[id] = nil
		}
		for _, p := range d.People {
			last[p.User.ID] = newUserEntry(s.cat, n.roles, p)
		}
		for id := range last {
			if old := s.users.get(id); old != nil {
				ee.drop(old.Email, id)
				if old.GlobalAdmin && !old.Disabled {
					n.globalAdmins--
				}
			}
			touched[id] = true
		}
		for id, e := range last {
			te.set(id, e)
			if e != nil {
				ee.put(e.Email, id)
				if e.GlobalAdmin && !e.Disabled {
					n.globalAdmins++
				}
			}
		}
		n.users, n.byEmail = te.done(), ee.x
	}
	switch {
	case recount:
		n.mgr = &managers{}
	case len(touched) > 0:
		counts := maps.Clone(s.managerCounts())
		was, is := s.forever(), n.forever()
		for id := range touched {
			for _, t := range was.managedTops(s.users.get(id)) {
				counts[t]--
			}
			for _, t := range is.managedTops(n.users.get(id)) {
				counts[t]++
			}
		}
		n.mgr = &managers{counts: counts}
	}
	return &n
}

// managesBits says which of roles.manage and staff.manage a role grants: a change to a role
// that keeps both as they were cannot change who manages anything.
func managesBits(c *Catalog, r *roleEntry) int {
	if r == nil {
		return 0
	}
	b := 0
	if i, ok := c.index[PermRolesManage]; ok && r.perms.has(i) {
		b |= 1
	}
	if i, ok := c.index[PermStaffManage]; ok && r.perms.has(i) {
		b |= 2
	}
	return b
}

// managers counts, for each top-level organisation, the active people (global admins aside)
// who hold both roles.manage and staff.manage there for good (through no grant that ends):
// what the lock-out guard protects. Someone whose access ends is counted as gone already, so
// a change that would leave nobody once it ends is refused now.
type managers struct {
	once   sync.Once
	counts map[int64]int
}

func (s *Snapshot) managerCounts() map[int64]int {
	s.mgr.once.Do(func() {
		if s.mgr.counts != nil {
			return
		}
		counts := map[int64]int{}
		f := s.forever()
		for u := range s.users.all() {
			for _, t := range f.managedTops(u) {
				counts[t]++
			}
		}
		s.mgr.counts = counts
	})
	return s.mgr.counts
}

// managedTops lists the top-level organisations u is counted as a manager of. Holding
// anything in a top-level organisation takes being staff of it (it has nothing above).
func (s *Snapshot) managedTops(u *userEntry) []int64 {
	if u == nil || u.Disabled || u.GlobalAdmin {
		return nil
	}
	rm, ok1 := s.cat.index[PermRolesManage]
	sm, ok2 := s.cat.index[PermStaffManage]
	if !ok1 || !ok2 {
		return nil
	}
	var out []int64
	for _, id := range u.memberOrgs {
		o := s.orgs[id]
		if o == nil || o.ParentID != 0 {
			continue
		}
		if s.decideEntry(Decision{}, u, o, rm, false, false).Allowed && s.decideEntry(Decision{}, u, o, sm, false, false).Allowed {
			out = append(out, id)
		}
	}
	return out
}

func newRoleEntry(c *Catalog, r Role) *roleEntry {
	e := &roleEntry{Role: r, perms: newSet(c.Len())}
	for _, k := range r.Permissions {
		if i, ok := c.index[k]; ok {
			e.perms.add(i)
		} else {
			e.unknown = append(e.unknown, k)
		}
	}
	return e
}

// indexRoles lists the roles in id order and the warnings about them.
func (s *Snapshot) indexRoles() {
	s.roleList = make([]Role, 0, len(s.roles))
	for _, r := range s.roles {
		s.roleList = append(s.roleList, r.Role)
	}
	slices.SortFunc(s.roleList, func(a, b Role) int { return cmp.Compare(a.ID, b.ID) })
	s.Warnings = nil
	for _, r := range s.roleList {
		if e := s.roles[r.ID]; len(e.unknown) > 0 {
			s.Warnings = append(s.Warnings, unknownWarning(e))
		}
	}
}

// setOrgs replaces the organisations and their defaults.
func (s *Snapshot) setOrgs(orgs []Org, defaults []OrgDefault) {
	s.orgList, s.defaults = orgs, defaults
	s.orgs = make(map[int64]*orgEntry, len(orgs))
	s.twoStepPolicy = false
	for _, o := range orgs {
		s.orgs[o.ID] = &orgEntry{Org: o}
		s.twoStepPolicy = s.twoStepPolicy || o.TwoStep == TwoStepAdmins || o.TwoStep == TwoStepEveryone
	}
	for _, o := range s.orgs {
		seen := map[int64]bool{}
		// Walk up while the parent exists; a missing parent ends the chain (and a cycle,
		// which the store never makes, cannot loop).
		for id := o.ID; id != 0 && !seen[id]; {
			p, ok := s.orgs[id]
			if !ok {
				break
			}
			seen[id] = true
			o.chain = append(o.chain, id)
			id = p.ParentID
		}
	}
	for _, od := range defaults {
		o := s.orgs[od.OrgID]
		i, ok := s.cat.index[od.Perm]
		if o == nil || !ok || od.Effect == Inherit {
			continue
		}
		if o.defaults == nil {
			o.defaults = map[int]Effect{}
		}
		o.defaults[i] = od.Effect
	}
}

// newUserEntry indexes one person's facts; an assignment of a role that roles lacks grants
// nothing and is left out.
func newUserEntry(c *Catalog, roles map[int64]*roleEntry, p Person) *userEntry {
	u := &userEntry{User: p.User, overrideList: p.Overrides}
	u.staff = slices.Clone(p.Staff)
	slices.Sort(u.staff)
	u.staff = slices.Compact(u.staff)
	u.memberOrgs = slices.Clone(u.staff)
	for _, a := range p.Assignments {
		if a.UserID == u.ID && roles[a.RoleID] != nil {
			u.assignments = append(u.assignments, a)
			u.memberOrgs = append(u.memberOrgs, a.OrgID) // holding a role somewhere makes one staff there
		}
	}
	slices.Sort(u.memberOrgs)
	u.memberOrgs = slices.Compact(u.memberOrgs)
	for _, ov := range p.Overrides {
		i, ok := c.index[ov.Perm]
		if !ok || ov.Effect == Inherit || ov.UserID != u.ID {
			continue
		}
		if u.overrides == nil {
			u.overrides = map[int64]map[int]UserOverride{}
		}
		if u.overrides[ov.OrgID] == nil {
			u.overrides[ov.OrgID] = map[int]UserOverride{}
		}
		u.overrides[ov.OrgID][i] = ov
	}
	for _, inv := range p.Inviters {
		if inv != u.ID && !slices.Contains(u.inviters, inv) {
			u.inviters = append(u.inviters, inv)
		}
	}
	for _, e := range p.Emergencies {
		if e.UserID != u.ID {
			continue
		}
		entry := emergencyEntry{Emergency: e, perms: newSet(c.Len())}
		for _, k := range e.Perms {
			if i, ok := c.index[k]; ok {
				entry.perms.add(i)
			}
		}
		u.emergencies = append(u.emergencies, entry)
	}
	return u
}

// person gives back the facts u was made of.
func (u *userEntry) person() Person {
	p := Person{User: u.User, Staff: u.staff, Assignments: u.assignments, Overrides: u.overrideList, Inviters: u.inviters}
	for _, e := range u.emergencies {
		p.Emergencies = append(p.Emergencies, e.Emergency)
	}
	return p
}

// Version is the database's access counter the snapshot is at.
func (s *Snapshot) Version() int64 { return s.version }

// Roles returns every role in id order. Callers must not modify it.
func (s *Snapshot) Roles() []Role { return s.roleList }

// OrgDefaults returns every organisation default. Callers must not modify it.
func (s *Snapshot) OrgDefaults() []OrgDefault { return s.defaults }

// Assignments yields every role assignment, by person in id order.
func (s *Snapshot) Assignments() iter.Seq[Assignment] {
	return func(yield func(Assignment) bool) {
		for u := range s.users.all() {
			for _, a := range u.assignments {
				if !yield(a) {
					return
				}
			}
		}
	}
}

// Data rebuilds the facts the snapshot holds, walking everyone: for consistency checks and
// tests, not for requests.
func (s *Snapshot) Data() Data {
	d := Data{Version: s.version, Orgs: slices.Clone(s.orgList), OrgDefaults: slices.Clone(s.defaults), Roles: slices.Clone(s.roleList)}
	for u := range s.users.all() {
		d.Users = append(d.Users, u.User)
		for _, o := range u.staff {
			d.Members = append(d.Members, Membership{UserID: u.ID, OrgID: o})
		}
		d.Assignments = append(d.Assignments, u.assignments...)
		d.UserOverrides = append(d.UserOverrides, u.overrideList...)
		for _, inv := range u.inviters {
			d.Invitations = append(d.Invitations, Invited{UserID: u.ID, InviterID: inv})
		}
		for _, e := range u.emergencies {
			d.Emergencies = append(d.Emergencies, e.Emergency)
		}
	}
	return d
}

// withPeople is s with the given people's facts replaced, for the guards' "what would this
// change do" questions.
func (s *Snapshot) withPeople(people ...Person) *Snapshot {
	return s.Apply(Delta{People: people})
}

// WithRolePermissions is s with role's permissions replaced by perms (nothing is saved).
func (s *Snapshot) WithRolePermissions(roleID int64, perms []string) *Snapshot {
	r, ok := s.roles[roleID]
	if !ok {
		return s
	}
	next := r.Role
	next.Permissions = perms
	return s.Apply(Delta{Roles: []Role{next}})
}

// WithoutRole is s after deleting role, its holders moved to reassignTo (0: removed) where
// they held it (nothing is saved).
func (s *Snapshot) WithoutRole(roleID, reassignTo int64) *Snapshot {
	next, _ := s.withoutRole(roleID, reassignTo)
	return next
}

// withoutRole is WithoutRole, and the people it moved or removed.
func (s *Snapshot) withoutRole(roleID, reassignTo int64) (*Snapshot, []int64) {
	var people []Person
	var ids []int64
	for u := range s.users.all() {
		if !slices.ContainsFunc(u.assignments, func(a Assignment) bool { return a.RoleID == roleID }) {
			continue
		}
		p := u.person()
		p.Assignments = nil
		for _, a := range u.assignments {
			if a.RoleID == roleID {
				if reassignTo == 0 {
					continue
				}
				a.RoleID = reassignTo
			}
			p.Assignments = append(p.Assignments, a)
		}
		people = append(people, p)
		ids = append(ids, u.ID)
	}
	return s.Apply(Delta{RolesGone: []int64{roleID}, People: people}), ids
}
