package rbac

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
)

// Impact is what a proposed access change would do (PRODUCT.md §2.12 "Impact preview"):
// for each permission, who would gain it and who would lose it, and where. It compares the
// snapshot now with the one the change would make; nothing is saved. The preview functions
// below (PreviewRole, PreviewDeletion, PreviewHolders, PreviewDefaults) look only at the
// people, organisations and permissions the change can reach, so a role held by thousands
// costs thousands of decisions, not the whole practice; the property test holds them to a
// comparison of every person, organisation and permission.
type Impact struct {
	Perms []PermImpact // in catalog order; only permissions someone gains or loses
}

// PermImpact is who gains and who loses one permission.
type PermImpact struct {
	Perm       Permission
	Gain, Lose []Affected // in name order, then id
	// HiddenGain and HiddenLose count the people left out of Gain and Lose because the
	// person reading the preview may not see them (Hide).
	HiddenGain, HiddenLose int
}

// Affected is one person a change reaches, and the topmost organisations where it does
// (it reaches their sub-organisations too).
type Affected struct {
	UserID int64
	Name   string
	Orgs   []int64
}

// Empty reports whether the change gives and takes nothing.
func (im Impact) Empty() bool { return len(im.Perms) == 0 }

// People counts the distinct people who gain or lose anything.
func (im Impact) People() int {
	seen := map[int64]bool{}
	for _, p := range im.Perms {
		for _, a := range p.Gain {
			seen[a.UserID] = true
		}
		for _, a := range p.Lose {
			seen[a.UserID] = true
		}
	}
	return len(seen)
}

// Digest names the impact in a few characters: a form that showed a preview sends it back
// with the save, and the save goes ahead only if the change would still do exactly that
// (Confirmed). An impact that changes nothing has the empty digest.
func (im Impact) Digest() string {
	if im.Empty() {
		return ""
	}
	h := sha256.New()
	for _, p := range im.Perms {
		for _, a := range p.Gain {
			fmt.Fprintf(h, "+%s %d %v\n", p.Perm.Key, a.UserID, a.Orgs)
		}
		for _, a := range p.Lose {
			fmt.Fprintf(h, "-%s %d %v\n", p.Perm.Key, a.UserID, a.Orgs)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Hide is im with the people show refuses counted but not named.
func (im Impact) Hide(show func(userID int64) bool) Impact {
	out := Impact{Perms: make([]PermImpact, len(im.Perms))}
	for i, p := range im.Perms {
		q := PermImpact{Perm: p.Perm, HiddenGain: p.HiddenGain, HiddenLose: p.HiddenLose}
		for _, a := range p.Gain {
			if show(a.UserID) {
				q.Gain = append(q.Gain, a)
			} else {
				q.HiddenGain++
			}
		}
		for _, a := range p.Lose {
			if show(a.UserID) {
				q.Lose = append(q.Lose, a)
			} else {
				q.HiddenLose++
			}
		}
		out.Perms[i] = q
	}
	return out
}

// UnseenImpactError refuses to save a change whose impact the person was not shown: the
// form shows Impact and asks again.
type UnseenImpactError struct{ Impact Impact }

func (e *UnseenImpactError) Error() string {
	return "rbac: the change gives or takes access; confirm after reading who gains and who loses"
}

// Confirmation is how a change answers the impact preview (PRODUCT.md §2.12). A form that
// shows the preview sets Asked and sends back in Seen the digest of the preview the person
// read (Impact.Digest): the change is saved only if it would still do exactly that. The zero
// value (the API, scripts) saves at once.
type Confirmation struct {
	Asked bool
	Seen  string
}

// Allows is nil when a change with impact im may be saved: c does not ask, im changes
// nothing, or c saw exactly im; otherwise *UnseenImpactError, carrying im to show.
func (c Confirmation) Allows(im Impact) error {
	if !c.Asked || c.Seen == im.Digest() {
		return nil
	}
	return &UnseenImpactError{Impact: im}
}

// PreviewRole is the impact of giving role exactly perms.
func (s *Snapshot) PreviewRole(roleID int64, perms []string) Impact {
	r, ok := s.roles[roleID]
	if !ok {
		return Impact{}
	}
	next := s.WithRolePermissions(roleID, perms)
	changed := symmetricDiff(r.perms, next.roles[roleID].perms)
	return s.impact(next, s.holdersOf(roleID), s.Subtree(r.OrgID), changed)
}

// PreviewDeletion is the impact of deleting role, its holders moved to reassignTo where
// they held it (0: their assignments removed); see WithoutRole.
func (s *Snapshot) PreviewDeletion(roleID, reassignTo int64) Impact {
	r, ok := s.roles[roleID]
	if !ok {
		return Impact{}
	}
	perms := slices.Clone(r.perms)
	if t, ok := s.roles[reassignTo]; ok {
		for i := range perms {
			perms[i] |= t.perms[i]
		}
	}
	next, holders := s.withoutRole(roleID, reassignTo)
	return s.impact(next, holders, s.Subtree(r.OrgID), perms)
}

// PreviewHolders is the impact of adding and removing holders of role (WithHolders).
func (s *Snapshot) PreviewHolders(roleID int64, add, remove []int64, until int64) Impact {
	r, ok := s.roles[roleID]
	if !ok {
		return Impact{}
	}
	perms := slices.Clone(r.perms)
	// In an organisation with one role per person, adding someone takes the role they held.
	for _, id := range add {
		for _, other := range s.RolesIn(id, r.OrgID) {
			if o, ok := s.roles[other]; ok && s.OneRole(r.OrgID) {
				for i := range perms {
					perms[i] |= o.perms[i]
				}
			}
		}
	}
	people := slices.Concat(add, remove)
	return s.impact(s.WithHolders(roleID, add, remove, until), people, s.Subtree(r.OrgID), perms)
}

// PreviewDefaults is the impact of setting org's defaults to effects (catalog key →
// effect; Inherit removes the default; keys left out keep theirs).
func (s *Snapshot) PreviewDefaults(orgID int64, effects map[string]Effect) Impact {
	if _, ok := s.orgs[orgID]; !ok {
		return Impact{}
	}
	next := s.WithDefaults(orgID, effects)
	perms := newSet(len(s.cat.perms))
	for k := range effects {
		if i, ok := s.cat.index[k]; ok {
			perms.add(i)
		}
	}
	// Everyone whose membership reaches the organisation or below it.
	reach := map[int64]bool{}
	for _, id := range slices.Concat(s.Ancestry(orgID), s.Subtree(orgID)) {
		reach[id] = true
	}
	var people []int64
	for u := range s.users.all() {
		if slices.ContainsFunc(u.memberOrgs, func(o int64) bool { return reach[o] }) {
			people = append(people, u.ID)
		}
	}
	return s.impact(next, people, s.Subtree(orgID), perms)
}

// WithHolders is s after adding people to role in its organisation (until: when it ends for
// them, 0 none) and taking it from others wherever they hold it, as the store saves it: in
// an organisation with one role per person an added person leaves the role they held there,
// and someone who holds the role there already keeps it with the new end.
func (s *Snapshot) WithHolders(roleID int64, add, remove []int64, until int64) *Snapshot {
	r, ok := s.roles[roleID]
	if !ok {
		return s
	}
	changed := map[int64]*Person{}
	person := func(id int64) *Person {
		if p, ok := changed[id]; ok {
			return p
		}
		u := s.users.get(id)
		if u == nil {
			return nil
		}
		p := u.person()
		p.Assignments = slices.Clone(p.Assignments)
		changed[id] = &p
		return &p
	}
	for _, id := range add {
		p := person(id)
		if p == nil {
			continue
		}
		if s.OneRole(r.OrgID) {
			p.Assignments = slices.DeleteFunc(p.Assignments, func(a Assignment) bool { return a.OrgID == r.OrgID && a.RoleID != roleID })
		}
		if i := slices.IndexFunc(p.Assignments, func(a Assignment) bool { return a.OrgID == r.OrgID && a.RoleID == roleID }); i >= 0 {
			p.Assignments[i].Until = until
		} else {
			p.Assignments = append(p.Assignments, Assignment{UserID: id, RoleID: roleID, OrgID: r.OrgID, Until: until})
		}
	}
	for _, id := range remove {
		if p := person(id); p != nil {
			p.Assignments = slices.DeleteFunc(p.Assignments, func(a Assignment) bool { return a.RoleID == roleID })
		}
	}
	people := make([]Person, 0, len(changed))
	for _, p := range changed {
		people = append(people, *p)
	}
	return s.Apply(Delta{People: people})
}

// WithDefaults is s with org's defaults set to effects (Inherit removes one).
func (s *Snapshot) WithDefaults(orgID int64, effects map[string]Effect) *Snapshot {
	defaults := slices.DeleteFunc(slices.Clone(s.defaults), func(d OrgDefault) bool {
		_, set := effects[d.Perm]
		return d.OrgID == orgID && set
	})
	for k, e := range effects {
		if e != Inherit {
			defaults = append(defaults, OrgDefault{OrgID: orgID, Perm: k, Effect: e})
		}
	}
	return s.Apply(Delta{OrgsChanged: true, Orgs: s.orgList, OrgDefaults: defaults})
}

func (s *Snapshot) holdersOf(roleID int64) []int64 {
	var out []int64
	for u := range s.users.all() {
		if slices.ContainsFunc(u.assignments, func(a Assignment) bool { return a.RoleID == roleID }) {
			out = append(out, u.ID)
		}
	}
	return out
}

// reaches reports whether a decision in o can allow u anything: a global admin, or a member
// there or above.
func (u *userEntry) reaches(o *orgEntry) bool {
	if u == nil {
		return false
	}
	if u.GlobalAdmin {
		return true
	}
	return slices.ContainsFunc(o.chain, u.memberOf)
}

// covered reports whether org is within one of tops.
func covered(s *Snapshot, tops []int64, org int64) bool {
	return slices.ContainsFunc(tops, func(top int64) bool { return s.IsWithin(org, top) })
}

func symmetricDiff(a, b set) set {
	out := make(set, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

// impact compares s with next for people in orgs, over the permissions in perms (those the
// change can move). Organisations are taken parent first, so the topmost where a change
// shows is named and those below it are not.
func (s *Snapshot) impact(next *Snapshot, people, orgs []int64, perms set) Impact {
	var idx, every []int
	for i := range s.cat.perms {
		every = append(every, i)
		if perms.has(i) {
			idx = append(idx, i)
		}
	}
	if len(people) == 0 {
		return Impact{}
	}
	orgs = slices.Clone(orgs)
	slices.SortFunc(orgs, func(a, b int64) int {
		return cmp.Or(cmp.Compare(len(s.orgs[a].chain), len(s.orgs[b].chain)), cmp.Compare(a, b))
	})
	slices.Sort(people)
	people = slices.Compact(people)
	gain := make(map[int][]Affected, len(idx))
	lose := make(map[int][]Affected, len(idx))
	for _, id := range people {
		was, is := s.users.get(id), next.users.get(id)
		var ups, downs map[int][]int64
		for _, oid := range orgs {
			o, no := s.orgs[oid], next.orgs[oid]
			if o == nil || no == nil {
				continue
			}
			rb, ra := was.reaches(o), is.reaches(no)
			if !rb && !ra {
				continue
			}
			// Someone who joins or leaves the organisation through the change gains or loses
			// all it gives its members (mandatory permissions, defaults), not only what moved.
			look := idx
			if rb != ra {
				look = every
			}
			for _, p := range look {
				// Without membership on one side only one direction can change here, and a
				// change in that direction already named above this organisation covers it.
				if !ra && covered(s, downs[p], oid) || !rb && covered(s, ups[p], oid) {
					continue
				}
				before := rb && s.decideEntry(Decision{}, was, o, p, false, false).Allowed
				after := ra && next.decideEntry(Decision{}, is, no, p, false, false).Allowed
				if before == after {
					continue
				}
				m := &ups
				if before {
					m = &downs
				}
				if *m == nil {
					*m = map[int][]int64{}
				}
				if !covered(s, (*m)[p], oid) {
					(*m)[p] = append((*m)[p], oid)
				}
			}
		}
		name := ""
		if u, ok := s.User(id); ok {
			name = u.Name
		} else if u, ok := next.User(id); ok {
			name = u.Name
		}
		for p, where := range ups {
			gain[p] = append(gain[p], Affected{UserID: id, Name: name, Orgs: where})
		}
		for p, where := range downs {
			lose[p] = append(lose[p], Affected{UserID: id, Name: name, Orgs: where})
		}
	}
	var im Impact
	byName := func(a, b Affected) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.UserID, b.UserID)) }
	for _, p := range every {
		if len(gain[p])+len(lose[p]) == 0 {
			continue
		}
		slices.SortFunc(gain[p], byName)
		slices.SortFunc(lose[p], byName)
		im.Perms = append(im.Perms, PermImpact{Perm: s.cat.perms[p], Gain: gain[p], Lose: lose[p]})
	}
	return im
}
