package rbac

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Effect is the setting of an override or organisation default.
type Effect int8

// Effects. Inherit is the absence of a setting.
const (
	Inherit Effect = iota
	Allow
	Deny
)

// String is how effects are stored and shown.
func (e Effect) String() string {
	switch e {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return "inherit"
}

// ParseEffect reads "allow", "deny" or "inherit".
func ParseEffect(s string) (Effect, error) {
	switch s {
	case "allow":
		return Allow, nil
	case "deny":
		return Deny, nil
	case "inherit", "":
		return Inherit, nil
	}
	return Inherit, fmt.Errorf("rbac: unknown effect %q", s)
}

// The raw facts a snapshot is built from, as the store loads them.
type (
	// Org is an organisation and its parent (0 for a top-level one).
	Org struct {
		ID, ParentID int64
		Name         string
		// OneRole: each person holds at most one role here (role mode "one role per person").
		OneRole bool
		// LimitVisibility: its admins see only the staff of this organisation and below.
		LimitVisibility bool
		// TwoStep is whom it requires the second step of signing in of (TwoStep… values).
		TwoStep string
		// SSORequired: its staff sign in through the identity provider, not with a password.
		SSORequired bool
	}
	// User is a person, as far as access is concerned.
	User struct {
		ID          int64
		Name        string
		Email       string // lower-case, as stored; the API names people by it
		GlobalAdmin bool
		Disabled    bool
	}
	// Role is a named set of permissions defined in one organisation.
	Role struct {
		ID          int64
		OrgID       int64
		Code        string
		Name        string
		Active      bool
		System      bool
		Permissions []string
	}
	// Assignment says UserID holds RoleID in OrgID (and below it).
	Assignment struct {
		UserID, RoleID, OrgID int64
		// Until is when it ends (Unix seconds; 0: never): from that second on it grants nothing.
		Until int64
	}
	// Membership says UserID is staff of OrgID.
	Membership struct{ UserID, OrgID int64 }
	// UserOverride allows or denies one permission to one user in an organisation and below.
	UserOverride struct {
		UserID, OrgID int64
		Perm          string
		Effect        Effect
		SetBy         int64
		Until         int64 // as Assignment.Until (only an allow has one)
	}
	// OrgDefault allows or denies one permission by default in an organisation and below.
	OrgDefault struct {
		OrgID  int64
		Perm   string
		Effect Effect
	}
	// Emergency is a use of emergency access (PRODUCT.md §2.11): UserID holds Perms in OrgID
	// and below until Until, whatever else decides.
	Emergency struct {
		ID, UserID, OrgID int64
		Perms             []string
		Until             int64
	}
	// Invited says UserID accepted an invitation InviterID sent. Whoever sent an invitation
	// saw its link, so may hold the account it made: the guard never lets an account raise
	// anyone up its chain of inviters.
	Invited struct{ UserID, InviterID int64 }
)

// Data is everything the rule of §1.3 looks at.
type Data struct {
	Orgs          []Org
	Users         []User
	Roles         []Role
	Assignments   []Assignment
	Members       []Membership
	UserOverrides []UserOverride
	OrgDefaults   []OrgDefault
	Invitations   []Invited
	Emergencies   []Emergency // the open ones
	// Version is the database's access counter the data was read at (0 when not read from
	// a database): a request that sees a higher one catches up before deciding.
	Version int64
}

// set is a bitset over catalog indices.
type set []uint64

func newSet(n int) set       { return make(set, (n+63)/64) }
func (s set) has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }
func (s set) add(i int)      { s[i>>6] |= 1 << (uint(i) & 63) }

type orgEntry struct {
	Org
	chain    []int64 // the org itself, then its ancestors, nearest first
	defaults map[int]Effect
}

type roleEntry struct {
	Role
	perms   set
	unknown []string // stored keys the catalog no longer has
}

type userEntry struct {
	User
	staff        []int64 // the organisations of their staff rows, in id order
	memberOrgs   []int64 // where they are staff or hold a role, in id order (a handful: a slice beats a map)
	assignments  []Assignment
	overrides    map[int64]map[int]UserOverride // org → perm index → override
	overrideList []UserOverride                 // the overrides as loaded
	inviters     []int64                        // who sent the invitations this user accepted
	emergencies  []emergencyEntry
}

type emergencyEntry struct {
	Emergency
	perms set
}

// Snapshot is an immutable view of who holds what. Every check is answered from one, so a
// permission check never touches the database; each committed write makes a new one from
// the last (Apply, delta.go).
type Snapshot struct {
	// twoStepPolicy: some organisation requires two-step sign-in of someone (most practices
	// have none, and every request asks TwoStepRequired).
	twoStepPolicy bool
	cat           *Catalog
	version       int64
	orgs          map[int64]*orgEntry
	orgList       []Org
	defaults      []OrgDefault
	roles         map[int64]*roleEntry
	roleList      []Role // in id order
	users         userTable
	byEmail       emailIndex
	globalAdmins  int // active ones
	mgr           *managers
	clock         *Clock
	// asGrantor: emergency access is left out, as when what the actor holds decides what
	// they may grant (forGuard).
	asGrantor bool
	// Warnings lists problems found while building (unknown permission keys in stored roles).
	Warnings []string
}

// NewSnapshot indexes d for checks against catalog c. Roles naming keys that c lacks keep
// them as "unknown" (reported in Warnings) and grant nothing through them.
func NewSnapshot(c *Catalog, d Data) *Snapshot {
	s := &Snapshot{cat: c, version: d.Version, roles: make(map[int64]*roleEntry, len(d.Roles)), mgr: &managers{}, clock: systemClock}
	s.setOrgs(slices.Clone(d.Orgs), slices.Clone(d.OrgDefaults))
	for _, r := range d.Roles {
		s.roles[r.ID] = newRoleEntry(c, r)
	}
	s.indexRoles()
	people := make(map[int64]*Person, len(d.Users))
	for _, u := range d.Users {
		people[u.ID] = &Person{User: u}
	}
	for _, m := range d.Members {
		if p := people[m.UserID]; p != nil {
			p.Staff = append(p.Staff, m.OrgID)
		}
	}
	for _, a := range d.Assignments {
		if p := people[a.UserID]; p != nil {
			p.Assignments = append(p.Assignments, a)
		}
	}
	for _, ov := range d.UserOverrides {
		if p := people[ov.UserID]; p != nil {
			p.Overrides = append(p.Overrides, ov)
		}
	}
	for _, inv := range d.Invitations {
		if p := people[inv.UserID]; p != nil {
			p.Inviters = append(p.Inviters, inv.InviterID)
		}
	}
	for _, e := range d.Emergencies {
		if p := people[e.UserID]; p != nil {
			p.Emergencies = append(p.Emergencies, e)
		}
	}
	te, ee := s.users.edit(), s.byEmail.edit()
	for _, p := range people {
		e := newUserEntry(c, s.roles, *p)
		te.set(e.ID, e)
		ee.put(e.Email, e.ID)
		if e.GlobalAdmin && !e.Disabled {
			s.globalAdmins++
		}
	}
	s.users, s.byEmail = te.done(), ee.x
	return s
}

func unknownWarning(r *roleEntry) string {
	return fmt.Sprintf("role %d (%s) has permissions the catalog does not know: %v", r.ID, r.Code, r.unknown)
}

// Catalog is the catalog the snapshot checks against.
func (s *Snapshot) Catalog() *Catalog { return s.cat }

// Step names which part of the rule decided.
type Step int

// The steps of PRODUCT.md §1.3, plus the cases decided before them.
const (
	StepNoUser         Step = iota // unknown user or organisation
	StepDisabled                   // a disabled user holds nothing
	StepNotMember                  // no membership in the organisation or above it
	StepGlobalAdmin                // a global admin holds everything
	StepEmergency                  // emergency access, while it lasts (before the rule's steps)
	StepUserOverride               // 1. user-level override
	StepRoleGrant                  // 2. a role held here or above
	StepOrgDefault                 // 3. organisation default
	StepCatalogDefault             // 4. catalog default; a mandatory permission always ends here
)

// Decision is the answer to "may U do P in O?" with its reason.
type Decision struct {
	Allowed bool
	Step    Step
	Perm    string
	// Role and RoleOrg name the role that granted (StepRoleGrant), Org the organisation the
	// deciding override, assignment or default was set on, SetBy who set a user override.
	RoleID, RoleOrgID, OrgID, SetBy int64
	EmergencyID                     int64 // the use that granted (StepEmergency)
	RoleName, OrgName               string
	// Until is when the deciding grant ends (0: never); Ended, when a grant that would have
	// decided has ended, is when it did (the explanation says "ended …").
	Until, Ended int64
}

// Can answers whether user holds perm in org. It allocates nothing.
func (s *Snapshot) Can(userID, orgID int64, perm string) bool {
	i, ok := s.cat.index[perm]
	if !ok {
		return false
	}
	return s.decide(userID, orgID, i, false).Allowed
}

// Explain answers like Can and says why.
func (s *Snapshot) Explain(userID, orgID int64, perm string) Decision {
	i, ok := s.cat.index[perm]
	if !ok {
		return Decision{Perm: perm, Step: StepNoUser}
	}
	return s.decide(userID, orgID, i, true)
}

func (s *Snapshot) decide(userID, orgID int64, p int, explain bool) Decision {
	return s.decideFor(userID, orgID, p, explain, false)
}

// decideFor is decide; asEnabled answers for a disabled user as if they were enabled (what
// enabling them would give back).
func (s *Snapshot) decideFor(userID, orgID int64, p int, explain, asEnabled bool) Decision {
	d := Decision{}
	if explain {
		d.Perm = s.cat.perms[p].Key
	}
	u, o := s.users.get(userID), s.orgs[orgID]
	if u == nil || o == nil {
		d.Step = StepNoUser
		return d
	}
	return s.decideEntry(d, u, o, p, explain, asEnabled)
}

// decideEntry is decideFor once the person and the organisation are found; the loops over
// everyone call it directly.
func (s *Snapshot) decideEntry(d Decision, u *userEntry, o *orgEntry, p int, explain, asEnabled bool) Decision {
	if u.Disabled && !asEnabled {
		d.Step = StepDisabled
		return d
	}
	if u.GlobalAdmin {
		d.Allowed, d.Step = true, StepGlobalAdmin
		return d
	}
	member := false
	for _, id := range o.chain {
		if u.memberOf(id) {
			member = true
			break
		}
	}
	if !member {
		d.Step = StepNotMember
		return d
	}
	// Mandatory means always: no override, role or default can take it from a member.
	if s.cat.perms[p].Mandatory {
		d.Allowed, d.Step = true, StepCatalogDefault
		return d
	}
	// Emergency access grants what it took, here and below, until its time is up.
	for _, e := range u.emergencies {
		if s.asGrantor || !e.perms.has(p) || !slices.Contains(o.chain, e.OrgID) {
			continue
		}
		if !s.live(e.Until) {
			d.Ended = max(d.Ended, e.Until)
			continue
		}
		d.Allowed, d.Step, d.OrgID, d.Until, d.EmergencyID = true, StepEmergency, e.OrgID, e.Until, e.ID
		if explain {
			d.OrgName = s.orgs[e.OrgID].Name
		}
		return d
	}
	// 1. the nearest user-level override.
	for _, id := range o.chain {
		if len(u.overrides) == 0 {
			break
		}
		if ov, ok := u.overrides[id][p]; ok {
			if !s.live(ov.Until) {
				d.Ended = max(d.Ended, ov.Until)
				continue
			}
			d.Allowed, d.Step, d.OrgID, d.SetBy, d.Until = ov.Effect == Allow, StepUserOverride, id, ov.SetBy, ov.Until
			if explain {
				d.OrgName = s.orgs[id].Name
			}
			return d
		}
	}
	// 2. any role held here or above that grants it; the nearest assignment explains it.
	best := -1
	for ai, a := range u.assignments {
		depth := -1
		for di, id := range o.chain {
			if id == a.OrgID {
				depth = di
				break
			}
		}
		r := s.roles[a.RoleID]
		if depth < 0 || r == nil || !r.perms.has(p) {
			continue
		}
		if !s.live(a.Until) {
			d.Ended = max(d.Ended, a.Until)
			continue
		}
		if !explain {
			d.Allowed, d.Step = true, StepRoleGrant
			return d
		}
		// The nearest assignment explains it; of two as near, the one that lasts longer.
		if best < 0 || depth < best || depth == best && outlasts(a.Until, d.Until) {
			best = depth
			d.Allowed, d.Step, d.RoleID, d.RoleName, d.RoleOrgID, d.OrgID, d.Until = true, StepRoleGrant, r.ID, r.Name, r.OrgID, u.assignments[ai].OrgID, a.Until
			d.OrgName = s.orgs[a.OrgID].Name
		}
	}
	if d.Allowed {
		return d
	}
	// 3. the nearest organisation default.
	for _, id := range o.chain {
		if e, ok := s.orgs[id].defaults[p]; ok {
			d.Allowed, d.Step, d.OrgID = e == Allow, StepOrgDefault, id
			if explain {
				d.OrgName = s.orgs[id].Name
			}
			return d
		}
	}
	// 4. the catalog default: deny (mandatory permissions were granted above).
	d.Step = StepCatalogDefault
	return d
}

// Effective returns the keys user holds in org, in catalog order.
func (s *Snapshot) Effective(userID, orgID int64) []string {
	var out []string
	for i, p := range s.cat.perms {
		if s.decide(userID, orgID, i, false).Allowed {
			out = append(out, p.Key)
		}
	}
	return out
}

// Role returns a role by id.
func (s *Snapshot) Role(id int64) (Role, bool) {
	r, ok := s.roles[id]
	if !ok {
		return Role{}, false
	}
	return r.Role, true
}

// UnknownPermissions returns the stored keys of a role that the catalog does not know.
func (s *Snapshot) UnknownPermissions(roleID int64) []string {
	if r, ok := s.roles[roleID]; ok {
		return r.unknown
	}
	return nil
}

// Org returns an organisation by id.
func (s *Snapshot) Org(id int64) (Org, bool) {
	o, ok := s.orgs[id]
	if !ok {
		return Org{}, false
	}
	return o.Org, true
}

// Ancestry returns org and its ancestors, nearest first.
func (s *Snapshot) Ancestry(orgID int64) []int64 {
	if o, ok := s.orgs[orgID]; ok {
		return o.chain
	}
	return nil
}

// Subtree returns org and every organisation below it.
func (s *Snapshot) Subtree(orgID int64) []int64 {
	var out []int64
	for id, o := range s.orgs {
		for _, a := range o.chain {
			if a == orgID {
				out = append(out, id)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// IsWithin reports whether orgID is ancestorID or below it.
func (s *Snapshot) IsWithin(orgID, ancestorID int64) bool {
	for _, id := range s.Ancestry(orgID) {
		if id == ancestorID {
			return true
		}
	}
	return false
}

// UserByEmail finds a user by their (lower-case) email.
func (s *Snapshot) UserByEmail(email string) (User, bool) {
	id, ok := s.byEmail.get(email)
	if !ok {
		return User{}, false
	}
	return s.User(id)
}

// User returns a user by id.
func (s *Snapshot) User(id int64) (User, bool) {
	u := s.users.get(id)
	if u == nil {
		return User{}, false
	}
	return u.User, true
}

// HoldsRole reports whether user holds role anywhere.
func (s *Snapshot) HoldsRole(userID, roleID int64) bool {
	if u := s.users.get(userID); u != nil {
		for _, a := range u.assignments {
			if a.RoleID == roleID {
				return true
			}
		}
	}
	return false
}

// OrgsWhere returns the organisations in which user holds perm, in id order. The roles list
// uses it to offer the organisations a person may work on.
func (s *Snapshot) OrgsWhere(userID int64, perm string) []int64 {
	var out []int64
	for id := range s.orgs {
		if s.Can(userID, id, perm) {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// MemberWithin reports whether user is staff of rootOrg or of an organisation below it, or
// holds a role there.
func (s *Snapshot) MemberWithin(userID, rootOrg int64) bool {
	u := s.users.get(userID)
	if u == nil {
		return false
	}
	for _, org := range u.memberOrgs {
		if s.IsWithin(org, rootOrg) {
			return true
		}
	}
	return false
}

// AllOrgs returns every organisation id in id order.
func (s *Snapshot) AllOrgs() []int64 {
	out := make([]int64, 0, len(s.orgs))
	for id := range s.orgs {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// WhoCan returns the active people who hold perm in org, in id order: global admins (who
// hold everything everywhere) and the people whose membership reaches org (there or in an
// organisation above it) and whom the rule allows it there.
func (s *Snapshot) WhoCan(orgID int64, perm string) []int64 {
	hs := s.HoldersOf(orgID, perm)
	out := make([]int64, len(hs))
	for i, h := range hs {
		out[i] = h.UserID
	}
	return out
}

// Holder is one person who holds a permission somewhere, and the decision that says why.
type Holder struct {
	UserID   int64
	Decision Decision
}

// HoldersOf is WhoCan with each person's decision, in one pass over everyone: the reverse
// look-up of the API (PRODUCT.md §2.9).
func (s *Snapshot) HoldersOf(orgID int64, perm string) []Holder {
	i, ok := s.cat.index[perm]
	o := s.orgs[orgID]
	if !ok || o == nil {
		return nil
	}
	var out []Holder
	for u := range s.users.all() {
		// Only someone whose membership reaches org (there or above: grants apply
		// downwards) can hold anything in it: staff of the practice above a clinic hold what
		// their roles there give in the clinic too.
		if u.Disabled || !u.reaches(o) {
			continue
		}
		// The bare decision first; only a holder's is worked out with names.
		if s.decideEntry(Decision{}, u, o, i, false, false).Allowed {
			out = append(out, Holder{u.ID, s.decideEntry(Decision{Perm: perm}, u, o, i, true, false)})
		}
	}
	return out
}

// Holders counts WhoCan.
func (s *Snapshot) Holders(orgID int64, perm string) int { return len(s.WhoCan(orgID, perm)) }

// MemberAt reports whether user's membership reaches org: staff of it or of an organisation
// above it, or holding a role there or above.
func (s *Snapshot) MemberAt(userID, orgID int64) bool {
	u := s.users.get(userID)
	if u == nil {
		return false
	}
	for _, id := range s.Ancestry(orgID) {
		if u.memberOf(id) {
			return true
		}
	}
	return false
}

// memberOf reports whether u is staff of org or holds a role there.
func (u *userEntry) memberOf(org int64) bool {
	for _, id := range u.memberOrgs {
		if id == org {
			return true
		}
	}
	return false
}

// outlasts reports whether a grant ending at a lasts longer than one ending at b (0: never).
func outlasts(a, b int64) bool { return b != 0 && (a == 0 || a > b) }

// live reports whether a grant ending at until (0: never) still grants now.
func (s *Snapshot) live(until int64) bool {
	return until == 0 || s.clock.now() < until
}

// Clock is where snapshots read the time, to end time-bound grants the second they are up
// without waiting for anything to run, and the zone they name times in.
type Clock struct {
	Now  func() time.Time
	Zone func() *time.Location
}

var systemClock = &Clock{Now: time.Now, Zone: func() *time.Location { return time.Local }}

func (c *Clock) now() int64 { return c.Now().Unix() }

// WithClock is s reading the time from c (tests move it; the engine passes the portal's
// zone).
func (s *Snapshot) WithClock(c *Clock) *Snapshot {
	n := *s
	n.clock = c
	return &n
}

// forever is s as it will be once every time-bound grant has ended: the lock-out guard
// counts only managers whose access does not end.
func (s *Snapshot) forever() *Snapshot {
	n := *s
	n.clock = &Clock{Now: func() time.Time { return time.Unix(1<<62, 0) }, Zone: s.clock.Zone}
	return &n
}

// EmergencyOf lists user's emergency access that still lasts now, soonest end first.
func (s *Snapshot) EmergencyOf(userID int64) []Emergency {
	u := s.users.get(userID)
	if u == nil {
		return nil
	}
	var out []Emergency
	for _, e := range u.emergencies {
		if s.live(e.Until) {
			out = append(out, e.Emergency)
		}
	}
	slices.SortFunc(out, func(a, b Emergency) int { return int(a.Until - b.Until) })
	return out
}

// Now is the snapshot's clock: what "still lasts" is measured against.
func (s *Snapshot) Now() time.Time { return s.clock.Now() }

// forGuard is s as the escalation guard weighs what an actor holds: without emergency
// access. What someone took in an emergency is theirs to use for its few hours, never to pass
// on (a role, an override, a default, a role's permissions) nor to act on others with.
func (s *Snapshot) forGuard() *Snapshot {
	if s.asGrantor {
		return s
	}
	n := *s
	n.asGrantor = true
	return &n
}
