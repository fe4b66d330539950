package rbac

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ForbiddenError refuses an action, or a look, because the actor lacks a permission in the
// organisation it is about, or because only a global admin may, or for a reason no permission
// lifts (a system role cannot be edited). It is the one forbidden error: every domain returns
// it or wraps its own error in it (Err, reached by errors.Is through Unwrap, gitea's pattern),
// and each transport maps it once (an error page, a problem document, a status).
type ForbiddenError struct {
	Perms       []string // catalog keys, any one of which would do; none when no permission would
	OrgID       int64    // the organisation they are needed in; 0 when any one would do
	OrgName     string
	GlobalAdmin bool   // only a global admin may
	Reason      string // the refusal in words, when a permission is not what is missing (or says more)
	Err         error  // the domain's own error behind the refusal, if any
}

func (e *ForbiddenError) Error() string {
	switch {
	case e.Reason != "":
		return "rbac: forbidden: " + e.Reason
	case e.GlobalAdmin:
		return "rbac: only a global admin may do this"
	case e.OrgID == 0:
		return "rbac: needs " + strings.Join(e.Perms, " or ")
	}
	return fmt.Sprintf("rbac: needs %s in %s", strings.Join(e.Perms, " or "), e.OrgName)
}

// Unwrap gives the domain error behind the refusal, so errors.Is finds it.
func (e *ForbiddenError) Unwrap() error { return e.Err }

// Forbidden is the refusal for lacking any of perms in org (0: nowhere would do, only a global
// admin may).
func (s *Snapshot) Forbidden(orgID int64, perms ...string) *ForbiddenError {
	e := &ForbiddenError{Perms: perms, OrgID: orgID, GlobalAdmin: orgID == 0}
	if o, ok := s.orgs[orgID]; ok {
		e.OrgName = o.Name
	}
	return e
}

// NeedsAny is the refusal for holding none of perms in any organisation (the route check,
// before a request names its organisation).
func NeedsAny(perms ...string) *ForbiddenError { return &ForbiddenError{Perms: perms} }

// GlobalAdminOnly is the refusal of what only a global admin may do; reason, when not "",
// says what (else the transport says it in general words), and err is the domain's own error.
func GlobalAdminOnly(reason string, err error) *ForbiddenError {
	return &ForbiddenError{GlobalAdmin: true, Reason: reason, Err: err}
}

// Refused is a refusal no permission lifts, in reason's words, behind the domain's err.
func Refused(reason string, err error) *ForbiddenError {
	return &ForbiddenError{Reason: reason, Err: err}
}

// ErrNotFound is what a rule answers about an organisation, role or person that does not
// exist; store.ErrNotFound wraps it, so one errors.Is finds either.
var ErrNotFound = errors.New("not found")

// ErrNotStaffThere refuses a change to someone's access in an organisation they are not
// staff of: seeing a person (member visibility) never lets one change them.
var ErrNotStaffThere = errors.New("rbac: the person is not staff of that organisation")

// Reasons for refusing to act on a person.
const (
	ReasonTargetExceeds = "they hold permissions you do not hold yourself, so you cannot change their access"
	ReasonTargetGlobal  = "only a global admin can change a global admin's access or account"
	ReasonRaisesInviter = "this would raise the access of someone who invited you (directly or through people they invited)"
)

// adminKeys are the permissions that give power over Rolegate itself. access.delegate lets
// its holder decide other people's access to everything else without holding it, but never
// over someone who holds more of these than they do.
var adminKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range AdminPermissions {
		m[k] = true
	}
	return m
}()

// MemberOrgs returns the organisations user is staff of (a membership, or a role held
// there), in id order.
func (s *Snapshot) MemberOrgs(userID int64) []int64 {
	u := s.users.get(userID)
	if u == nil {
		return nil
	}
	out := make([]int64, 0, len(u.memberOrgs))
	for _, id := range u.memberOrgs {
		if _, known := s.orgs[id]; known {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// StaffCounts gives, for every organisation, how many people are staff of it or of an
// organisation below it (a membership or a role held there), each person once: the one
// definition of "staff" the home page, the organisation tree and its pages show.
func (s *Snapshot) StaffCounts() map[int64]int {
	counts := make(map[int64]int, len(s.orgs))
	seen := map[int64]bool{}
	for u := range s.users.all() {
		clear(seen)
		for _, id := range u.memberOrgs {
			for _, a := range s.Ancestry(id) {
				if !seen[a] {
					seen[a] = true
					counts[a]++
				}
			}
		}
	}
	return counts
}

// StaffOf reports whether user is staff of org itself (a membership or a role held there).
func (s *Snapshot) StaffOf(userID, orgID int64) bool {
	u := s.users.get(userID)
	return u != nil && u.memberOf(orgID)
}

// Upline returns the people who invited user, directly or through a chain of invitations,
// nearest first; never user themselves.
func (s *Snapshot) Upline(userID int64) []int64 {
	u := s.users.get(userID)
	if u == nil || len(u.inviters) == 0 {
		return nil
	}
	seen := map[int64]bool{userID: true}
	var out []int64
	queue := append([]int64(nil), u.inviters...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		if v := s.users.get(id); v != nil {
			queue = append(queue, v.inviters...)
		}
	}
	return out
}

// exceeding lists the permissions target holds in org (as if enabled: enabling gives them
// back) that actor cannot answer for there: not held, and not covered by access.delegate,
// which covers everything but the administration permissions.
func (s *Snapshot) exceeding(actorID, targetID, orgID int64) []string {
	delegate := s.Can(actorID, orgID, PermDelegate)
	var out []string
	for i, p := range s.cat.perms {
		if !s.decideFor(targetID, orgID, i, false, true).Allowed || s.decide(actorID, orgID, i, false).Allowed {
			continue
		}
		if delegate && !adminKeys[p.Key] {
			continue
		}
		out = append(out, p.Key)
	}
	return out
}

// comparedIn is where a change in orgIDs is weighed: each of them, and every organisation
// above one of them that target is staff of. Someone who is staff of a practice is answered
// for at the practice's level, so a sub-organisation's admin cannot act on the practice's
// administrator there, even once that administrator holds a role in the sub-organisation.
func (s *Snapshot) comparedIn(targetID int64, orgIDs []int64) []int64 {
	var out []int64
	for _, o := range orgIDs {
		for i, c := range s.Ancestry(o) {
			if (i == 0 || s.StaffOf(targetID, c)) && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// CheckActOn checks that actor may take access away from target, or change their account, in
// each of orgs (PRODUCT.md §2.3 in reverse: nobody acts on access greater than their own).
// Only a global admin acts on a global admin; anyone else is refused when the target holds,
// in one of those organisations or an organisation above one that the target is staff of, a
// permission the actor does not (access.delegate covering all but the administration
// permissions). Acting on oneself is always within one's access; the callers' own rules
// (never disable yourself, the lock-out guard) still apply.
func (s *Snapshot) CheckActOn(actorID, targetID int64, orgIDs ...int64) error {
	s = s.forGuard()
	if actorID == targetID || s.isRoot(actorID) {
		return nil
	}
	if t := s.users.get(targetID); t != nil && t.GlobalAdmin {
		return &EscalationError{Reason: ReasonTargetGlobal}
	}
	if over := s.beyond(actorID, targetID, orgIDs); len(over) > 0 {
		return &EscalationError{Perms: over, Reason: ReasonTargetExceeds}
	}
	return nil
}

// beyond lists, in catalog order, what target holds that actor cannot answer for wherever a
// change in orgIDs is weighed (comparedIn).
func (s *Snapshot) beyond(actorID, targetID int64, orgIDs []int64) []string {
	seen := map[string]bool{}
	var over []string
	for _, o := range s.comparedIn(targetID, orgIDs) {
		for _, k := range s.exceeding(actorID, targetID, o) {
			if !seen[k] {
				seen[k] = true
				over = append(over, k)
			}
		}
	}
	return s.cat.Sort(over)
}

// CheckPersonChange checks that actor may change target's access in org: take a role away or
// swap it, set an override, remove them from the organisation. The actor needs staff.manage
// there (*ForbiddenError), the target must be staff of org itself (ErrNotStaffThere), and
// the target's access there must not exceed the actor's (CheckActOn).
func (s *Snapshot) CheckPersonChange(actorID, targetID, orgID int64) error {
	if !s.Can(actorID, orgID, PermStaffManage) {
		return s.Forbidden(orgID, PermStaffManage)
	}
	if !s.StaffOf(targetID, orgID) {
		return ErrNotStaffThere
	}
	return s.CheckActOn(actorID, targetID, orgID)
}

// CheckAccountChange checks that actor may disable or enable target's account or end all
// their sessions. These reach every organisation the person belongs to, so the actor needs
// staff.manage in each of them (a global admin aside), and the target's access must not
// exceed the actor's in any. Someone who belongs to no organisation is a global admin's
// alone to change.
func (s *Snapshot) CheckAccountChange(actorID, targetID int64) error {
	if s.isRoot(actorID) {
		return nil
	}
	orgs := s.MemberOrgs(targetID)
	if len(orgs) == 0 {
		return s.Forbidden(0, PermStaffManage)
	}
	for _, o := range orgs {
		if !s.Can(actorID, o, PermStaffManage) {
			return s.Forbidden(o, PermStaffManage)
		}
	}
	return s.CheckActOn(actorID, targetID, orgs...)
}

// ReasonHolderExceeds refuses a change to a role that would take access from one of its
// holders whose access exceeds the actor's.
const ReasonHolderExceeds = "it would take access from someone who holds permissions you do not hold yourself"

// CheckRoleHolders checks a change to a role as a whole (its permissions edited, the role
// deleted or its holders moved to another), given the data it would leave: every holder of
// roleID who would lose a permission where they hold the role must be someone the actor may
// act on there (CheckActOn). A holder who keeps everything through other roles is not acted
// on, whoever they are.
func (s *Snapshot) CheckRoleHolders(actorID, roleID int64, next *Snapshot) error {
	s, next = s.forGuard(), next.forGuard()
	if s.isRoot(actorID) {
		return nil
	}
	for u := range s.users.all() {
		for _, a := range u.assignments {
			if a.RoleID != roleID {
				continue
			}
			if s.CheckActOn(actorID, u.ID, a.OrgID) == nil {
				continue
			}
			for i := range s.cat.perms {
				if s.decide(u.ID, a.OrgID, i, false).Allowed && !next.decide(u.ID, a.OrgID, i, false).Allowed {
					return &EscalationError{Perms: s.beyond(actorID, u.ID, []int64{a.OrgID}), Reason: ReasonHolderExceeds, Who: u.Name}
				}
			}
		}
	}
	return nil
}

// CheckEnable checks that actor may enable target's account: what CheckAccountChange asks,
// and, since enabling gives back everything they held, never for anyone up the actor's
// invitation chain (an account one invited cannot bring one's own disabled account back).
func (s *Snapshot) CheckEnable(actorID, targetID int64) error {
	if err := s.CheckAccountChange(actorID, targetID); err != nil {
		return err
	}
	if slices.Contains(s.Upline(actorID), targetID) {
		return &EscalationError{Reason: ReasonRaisesInviter}
	}
	return nil
}

// OthersStaffOf reports whether anyone but userID has a staff row in one of orgIDs (the
// home page's "Invite someone" is done once someone else has joined).
func (s *Snapshot) OthersStaffOf(userID int64, orgIDs []int64) bool {
	for u := range s.users.all() {
		if u.ID != userID && slices.ContainsFunc(u.staff, func(o int64) bool { return slices.Contains(orgIDs, o) }) {
			return true
		}
	}
	return false
}

// AssignmentOf finds user's assignment of role in org (made there, not inherited).
func (s *Snapshot) AssignmentOf(userID, roleID, orgID int64) (Assignment, bool) {
	if u := s.users.get(userID); u != nil {
		for _, a := range u.assignments {
			if a.RoleID == roleID && a.OrgID == orgID {
				return a, true
			}
		}
	}
	return Assignment{}, false
}

// Shortens reports whether an end of until (0: none) for a grant that now ends at was (0:
// none) takes access away sooner: giving it is then acting on the person, not granting.
func Shortens(was, until int64) bool {
	return until != 0 && (was == 0 || until < was)
}

// NextEnd is the soonest end still to come of user's time-bound grants (roles, overrides,
// emergency access), 0 when none: what is worked out from their access holds until then.
func (s *Snapshot) NextEnd(userID int64) int64 {
	u := s.users.get(userID)
	if u == nil {
		return 0
	}
	now, next := s.clock.now(), int64(0)
	consider := func(until int64) {
		if until > now && (next == 0 || until < next) {
			next = until
		}
	}
	for _, a := range u.assignments {
		consider(a.Until)
	}
	for _, o := range u.overrideList {
		consider(o.Until)
	}
	for _, e := range u.emergencies {
		consider(e.Until)
	}
	return next
}

// InEmergency reports whether user holds emergency access that reaches org now.
func (s *Snapshot) InEmergency(userID, orgID int64) bool {
	for _, e := range s.EmergencyOf(userID) {
		if s.IsWithin(orgID, e.OrgID) {
			return true
		}
	}
	return false
}
