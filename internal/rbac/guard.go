package rbac

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// EscalationError refuses a change that would grant what the actor may not grant
// (PRODUCT.md §2.3 "Escalation guard"). Perms names the offending permissions.
type EscalationError struct {
	Perms  []string
	Reason string
	Who    string // the person concerned, when the refusal is about someone else than the one on the page
}

func (e *EscalationError) Error() string {
	return fmt.Sprintf("rbac: %s: %s", e.Reason, strings.Join(e.Perms, ", "))
}

// RefusalMessage puts a guard refusal in a sentence for a page, naming the permissions by
// their catalog labels; ok is false when err is not an *EscalationError.
func RefusalMessage(cat *Catalog, err error) (msg string, ok bool) {
	var ee *EscalationError
	if !errors.As(err, &ee) {
		return "", false
	}
	msg = strings.ToUpper(ee.Reason[:1]) + ee.Reason[1:]
	if ee.Who != "" {
		msg += " (" + ee.Who + ")"
	}
	if len(ee.Perms) > 0 {
		labels := make([]string, len(ee.Perms))
		for i, k := range ee.Perms {
			labels[i] = cat.Label(k)
		}
		msg += ": " + strings.Join(labels, ", ")
	}
	return msg + ".", true
}

// Reasons an escalation is refused.
const (
	ReasonNotHeld     = "you can only grant permissions you hold yourself"
	ReasonOwnRole     = "you cannot add permissions to a role you hold"
	ReasonSelfAssign  = "you cannot assign a role to yourself"
	ReasonRaisesSelf  = "this would raise your own access"
	ReasonWrongOrg    = "the role does not belong to this organisation or one above it"
	ReasonInactive    = "the role is inactive and cannot take new holders"
	ReasonUnknownRole = "the role does not exist"
)

func (s *Snapshot) isRoot(actorID int64) bool {
	u := s.users.get(actorID)
	return u != nil && u.GlobalAdmin && !u.Disabled
}

// CanGrant reports whether actor could grant perm in org by the rule of §2.3 (ignoring the
// "not to yourself" part, which depends on the target). The permission matrix uses it to
// disable boxes.
func (s *Snapshot) CanGrant(actorID, orgID int64, perm string) bool {
	s = s.forGuard()
	return s.isRoot(actorID) || s.Can(actorID, orgID, PermDelegate) || s.Can(actorID, orgID, perm)
}

// CheckRoleChange checks that actor may give role (0 for a new one) of org the permissions
// next, where it had prev. Removing permissions is always allowed; each added one must be
// held by the actor in org unless they hold access.delegate, and with delegate the role must
// not be one they hold. Whatever the route, the change must not raise the actor's own access.
func (s *Snapshot) CheckRoleChange(actorID, roleID, orgID int64, prev, next []string) error {
	s = s.forGuard()
	if s.isRoot(actorID) {
		return nil
	}
	had := map[string]bool{}
	for _, k := range prev {
		had[k] = true
	}
	// added are the new non-mandatory keys, checked against what the actor holds; a mandatory
	// key added back to an old role still goes through the self-raise check below (an
	// organisation default may deny it).
	var added []string
	addedAny := false
	for _, k := range s.cat.Sort(next) {
		if had[k] || !s.cat.Has(k) {
			continue
		}
		addedAny = true
		if !s.cat.perms[s.cat.index[k]].Mandatory {
			added = append(added, k)
		}
	}
	if !addedAny {
		return nil
	}
	if s.Can(actorID, orgID, PermDelegate) {
		if roleID != 0 && s.HoldsRole(actorID, roleID) && len(added) > 0 {
			return &EscalationError{Perms: added, Reason: ReasonOwnRole}
		}
	} else {
		var missing []string
		for _, k := range added {
			if !s.Can(actorID, orgID, k) {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return &EscalationError{Perms: missing, Reason: ReasonNotHeld}
		}
	}
	if roleID == 0 || !slices.ContainsFunc(s.protected(actorID), func(u int64) bool { return s.HoldsRole(u, roleID) }) {
		return nil // a role neither the actor nor anyone up their invitation chain holds raises none of them
	}
	return s.checkNoRaise(actorID, s.WithRolePermissions(roleID, next))
}

// CheckAssignments checks that actor may make the assignments add (PRODUCT.md §2.3): each role
// must be active and belong to the assignment's organisation or one above it; without
// access.delegate the actor must hold every permission of the role there; with it, never
// for themselves; and neither the actor's own access nor that of anyone up their invitation
// chain may rise.
func (s *Snapshot) CheckAssignments(actorID int64, add []Assignment) error {
	s = s.forGuard()
	self := false
	protected := s.protected(actorID)
	for _, a := range add {
		r, ok := s.roles[a.RoleID]
		if !ok {
			return &EscalationError{Reason: ReasonUnknownRole}
		}
		if !s.IsWithin(a.OrgID, r.OrgID) {
			return &EscalationError{Perms: []string{r.Code}, Reason: ReasonWrongOrg}
		}
		if !r.Active {
			return &EscalationError{Perms: []string{r.Code}, Reason: ReasonInactive}
		}
		if s.isRoot(actorID) {
			continue
		}
		self = self || slices.Contains(protected, a.UserID)
		if s.Can(actorID, a.OrgID, PermDelegate) {
			if a.UserID == actorID {
				return &EscalationError{Perms: []string{r.Code}, Reason: ReasonSelfAssign}
			}
			continue
		}
		var missing []string
		for i, p := range s.cat.perms {
			if r.perms.has(i) && !s.Can(actorID, a.OrgID, p.Key) {
				missing = append(missing, p.Key)
			}
		}
		if len(missing) > 0 {
			return &EscalationError{Perms: missing, Reason: ReasonNotHeld}
		}
	}
	if !self {
		return nil
	}
	return s.checkNoRaise(actorID, s.withAssignments(add))
}

// protected is whom actor's changes must never raise: the actor and everyone up their
// invitation chain (an account one invited may be one's own second account).
func (s *Snapshot) protected(actorID int64) []int64 {
	return append([]int64{actorID}, s.Upline(actorID)...)
}

// withAssignments is s with the assignments add made (nothing is saved).
func (s *Snapshot) withAssignments(add []Assignment) *Snapshot {
	people := map[int64]*Person{}
	var order []int64
	for _, a := range add {
		p := people[a.UserID]
		if p == nil {
			u := s.users.get(a.UserID)
			if u == nil {
				continue
			}
			facts := u.person()
			facts.Assignments = slices.Clone(facts.Assignments)
			p, people[a.UserID] = &facts, &facts
			order = append(order, a.UserID)
		}
		p.Assignments = append(p.Assignments, a)
	}
	list := make([]Person, len(order))
	for i, id := range order {
		list[i] = *people[id]
	}
	return s.withPeople(list...)
}

// checkNoRaise compares what the actor, and everyone up their invitation chain, holds in
// every organisation now and in after.
func (s *Snapshot) checkNoRaise(actorID int64, after *Snapshot) error {
	for _, who := range s.protected(actorID) {
		seen := map[string]bool{}
		var raised []string
		for orgID := range s.orgs {
			for i, p := range s.cat.perms {
				if !s.decide(who, orgID, i, false).Allowed && after.decide(who, orgID, i, false).Allowed && !seen[p.Key] {
					seen[p.Key] = true
					raised = append(raised, p.Key)
				}
			}
		}
		if len(raised) == 0 {
			continue
		}
		reason := ReasonRaisesSelf
		if who != actorID {
			reason = ReasonRaisesInviter
		}
		return &EscalationError{Perms: s.cat.Sort(raised), Reason: reason}
	}
	return nil
}

// Engine keeps the current snapshot. Checks read it without locks; after each committed write
// the store's caller makes the next one (Adopt), or the engine catches up with what another
// process committed (CatchUp), so the change is visible on the very next request.
type Engine struct {
	cat     *Catalog
	load    func(context.Context) (Data, error)
	changes func(ctx context.Context, since int64) (Delta, error)
	mu      sync.Mutex // serialises reloads so an older load never replaces a newer one
	cur     atomic.Pointer[Snapshot]
	clock   *Clock // given to every snapshot made current; nil: the system's
	// OnWarnings, when set, receives the warnings of each new snapshot (unknown keys).
	OnWarnings func([]string)
}

// NewEngine loads the first snapshot.
func NewEngine(ctx context.Context, cat *Catalog, load func(context.Context) (Data, error), onWarnings func([]string)) (*Engine, error) {
	e := &Engine{cat: cat, load: load, OnWarnings: onWarnings}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// FollowChanges makes CatchUp read only what changed since the current snapshot (the
// store's change log) instead of everything.
func (e *Engine) FollowChanges(changes func(ctx context.Context, since int64) (Delta, error)) {
	e.changes = changes
}

// SetClock makes every current snapshot read the time from c: the store's clock (which tests
// move) and the portal's time zone.
func (e *Engine) SetClock(c *Clock) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = c
	e.storeLocked(e.cur.Load())
}

// Now returns the current snapshot.
func (e *Engine) Now() *Snapshot { return e.cur.Load() }

// Catalog returns the engine's catalog.
func (e *Engine) Catalog() *Catalog { return e.cat }

// CatchUp makes sure the current snapshot is at least at the database's access counter
// version, as a request read it: a change committed by another process (a CLI command, a
// restore, another instance) takes effect on the very next request. Concurrent callers that
// are behind together load once.
func (e *Engine) CatchUp(ctx context.Context, version int64) error {
	if e.cur.Load().version >= version {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.cur.Load()
	if cur.version >= version {
		return nil
	}
	if e.changes == nil {
		return e.reloadLocked(ctx)
	}
	d, err := e.changes(ctx, cur.version)
	if err != nil {
		return fmt.Errorf("rbac: changes: %w", err)
	}
	e.storeLocked(cur.Apply(d))
	return nil
}

// Reload builds a snapshot from the database as it is now and makes it current.
func (e *Engine) Reload(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reloadLocked(ctx)
}

// Adopt makes s current, unless the current snapshot is already at its access version or
// later (a reload or another write got there first): s was built from data read in the
// transaction that committed that version.
func (e *Engine) Adopt(s *Snapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev := e.cur.Load(); prev != nil && prev.version >= s.version {
		return
	}
	e.storeLocked(s)
}

func (e *Engine) reloadLocked(ctx context.Context) error {
	d, err := e.load(ctx)
	if err != nil {
		return fmt.Errorf("rbac: load: %w", err)
	}
	e.storeLocked(NewSnapshot(e.cat, d))
	return nil
}

func (e *Engine) storeLocked(s *Snapshot) {
	if e.clock != nil && s.clock != e.clock {
		s = s.WithClock(e.clock)
	}
	prev := e.cur.Swap(s)
	if len(s.Warnings) > 0 && e.OnWarnings != nil && (prev == nil || len(prev.Warnings) != len(s.Warnings)) {
		e.OnWarnings(s.Warnings)
	}
}

// ReasonSelfOverride refuses raising one's own access through an override.
const ReasonSelfOverride = "you cannot give yourself a permission through an override"

// CheckOverride checks that actor may set user's override of perm in org to effect. A deny
// takes access away and needs nothing more; an allow, or removing a deny (which may let a
// role grant through), grants: without access.delegate only what the actor holds there, and
// never to oneself.
func (s *Snapshot) CheckOverride(actorID, userID, orgID int64, perm string, effect Effect) error {
	s = s.forGuard()
	if s.isRoot(actorID) || effect == Deny {
		return nil
	}
	i, ok := s.cat.index[perm]
	if !ok {
		return &EscalationError{Perms: []string{perm}, Reason: ReasonUnknownRole}
	}
	// What the change would do: the person with the override set or removed.
	u := s.users.get(userID)
	if u == nil {
		return nil // nobody to grant to
	}
	p := u.person()
	p.Overrides = nil
	for _, ov := range u.overrideList {
		if !(ov.OrgID == orgID && ov.Perm == perm) {
			p.Overrides = append(p.Overrides, ov)
		}
	}
	if effect == Allow {
		p.Overrides = append(p.Overrides, UserOverride{UserID: userID, OrgID: orgID, Perm: perm, Effect: Allow, SetBy: actorID})
	}
	after := s.withPeople(p)
	if !after.decide(userID, orgID, i, false).Allowed || s.decide(userID, orgID, i, false).Allowed {
		return nil // grants nothing new here
	}
	if userID == actorID {
		return &EscalationError{Perms: []string{perm}, Reason: ReasonSelfOverride}
	}
	if slices.Contains(s.Upline(actorID), userID) {
		return &EscalationError{Perms: []string{perm}, Reason: ReasonRaisesInviter}
	}
	if !s.Can(actorID, orgID, PermDelegate) && !s.Can(actorID, orgID, perm) {
		return &EscalationError{Perms: []string{perm}, Reason: ReasonNotHeld}
	}
	return nil
}

// ReasonUnknownPerm refuses a permission key the catalog does not have.
const ReasonUnknownPerm = "the permission does not exist"

// CheckOrgDefault checks that actor may set the default of perm in org to effect (PRODUCT.md
// §2.3: the escalation guard covers organisation defaults too). A deny only takes access
// away. An allow, or removing a deny (which lets a default above show through), grants to
// everyone it reaches who had no role or override deciding: unless it grants nobody anything,
// the actor must hold perm in org or hold access.delegate there, and in either case the
// change must not raise the actor's own access. The lock-out guard is the store's.
func (s *Snapshot) CheckOrgDefault(actorID, orgID int64, perm string, effect Effect) error {
	s = s.forGuard()
	if s.isRoot(actorID) || effect == Deny {
		return nil
	}
	i, ok := s.cat.index[perm]
	if !ok {
		return &EscalationError{Perms: []string{perm}, Reason: ReasonUnknownPerm}
	}
	var defaults []OrgDefault
	for _, od := range s.defaults {
		if od.OrgID != orgID || od.Perm != perm {
			defaults = append(defaults, od)
		}
	}
	if effect == Allow {
		defaults = append(defaults, OrgDefault{OrgID: orgID, Perm: perm, Effect: Allow})
	}
	after := s.Apply(Delta{OrgsChanged: true, Orgs: s.orgList, OrgDefaults: defaults})
	if !s.grantsAnyone(after, orgID, i) {
		return nil
	}
	if !s.Can(actorID, orgID, PermDelegate) && !s.Can(actorID, orgID, perm) {
		return &EscalationError{Perms: []string{perm}, Reason: ReasonNotHeld}
	}
	return s.checkNoRaise(actorID, after)
}

// grantsAnyone reports whether anyone holds permission p somewhere in org's subtree under
// after but not now.
func (s *Snapshot) grantsAnyone(after *Snapshot, orgID int64, p int) bool {
	sub := s.Subtree(orgID)
	for u := range s.users.all() {
		for _, o := range sub {
			if !s.decide(u.ID, o, p, false).Allowed && after.decide(u.ID, o, p, false).Allowed {
				return true
			}
		}
	}
	return false
}

// InheritedDefault is what organisation defaults say about perm in org when org has no
// default of its own: the effect of the nearest ancestor's default and that ancestor, or
// Inherit and 0 when none above has one. The settings page shows it beside "Inherit".
func (s *Snapshot) InheritedDefault(orgID int64, perm string) (Effect, int64) {
	i, ok := s.cat.index[perm]
	if !ok {
		return Inherit, 0
	}
	chain := s.Ancestry(orgID)
	if len(chain) < 2 {
		return Inherit, 0
	}
	for _, id := range chain[1:] {
		if e, ok := s.orgs[id].defaults[i]; ok {
			return e, id
		}
	}
	return Inherit, 0
}

// ErrMoveBelowItself refuses moving an organisation under itself or under one of its own
// descendants, which would cut it off from the tree.
var ErrMoveBelowItself = errors.New("rbac: an organisation cannot move under itself or an organisation below it")

// CheckMove checks moving org under newParent: never under itself or its own descendant
// (ErrMoveBelowItself), and, global admins aside, never so that the actor's own access rises
// (an organisation moved under one where the actor holds more would hand them that access).
// Who may move what (orgs.manage on both sides) is the caller's check.
func (s *Snapshot) CheckMove(actorID, orgID, newParentID int64) error {
	s = s.forGuard()
	if s.IsWithin(newParentID, orgID) {
		return ErrMoveBelowItself
	}
	if s.isRoot(actorID) {
		return nil
	}
	orgs := slices.Clone(s.orgList)
	for i := range orgs {
		if orgs[i].ID == orgID {
			orgs[i].ParentID = newParentID
		}
	}
	return s.checkNoRaise(actorID, s.Apply(Delta{OrgsChanged: true, Orgs: orgs, OrgDefaults: s.defaults}))
}

// IsGlobalAdmin reports whether user is an active global admin, who alone may create or
// move top-level organisations.
func (s *Snapshot) IsGlobalAdmin(userID int64) bool { return s.isRoot(userID) }

// OneRole reports whether org gives each person at most one role (role mode "one role per
// person", PRODUCT.md §2.7).
func (s *Snapshot) OneRole(orgID int64) bool {
	o, ok := s.orgs[orgID]
	return ok && o.OneRole
}

// RolesIn returns the roles user holds through assignments made in org itself (not above it),
// in the order they were loaded.
func (s *Snapshot) RolesIn(userID, orgID int64) []int64 {
	var out []int64
	if u := s.users.get(userID); u != nil {
		for _, a := range u.assignments {
			if a.OrgID == orgID {
				out = append(out, a.RoleID)
			}
		}
	}
	return out
}
