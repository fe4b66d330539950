package rbac

import "slices"

// Policies of two-step sign-in an organisation can set (PRODUCT.md §2.1): whom it requires
// the second step of. A policy covers the organisations below too; the strictest one over a
// person's organisations and their parents applies.
const (
	TwoStepOptional = "optional"
	TwoStepAdmins   = "admins"   // whoever holds an Administration permission there
	TwoStepEveryone = "everyone" // all its staff
)

// TwoStepPolicies lists the policies, loosest first.
var TwoStepPolicies = []string{TwoStepOptional, TwoStepAdmins, TwoStepEveryone}

// ValidTwoStep reports whether p is a policy.
func ValidTwoStep(p string) bool { return slices.Contains(TwoStepPolicies, p) }

// secondStepPermissions are what the "admins" policy means by an Administration permission:
// the administration keys and integrations.manage, which makes API tokens.
var secondStepPermissions = append(slices.Clone(AdminPermissions), PermIntegrations)

// TwoStepRequired reports whether a policy requires userID to pass the second step of
// signing in: an organisation they are staff of, or one above it, requires it of everyone;
// or one requires it of admins and they hold an Administration permission there. A global
// admin holds them all, everywhere: any policy other than optional covers them.
func (s *Snapshot) TwoStepRequired(userID int64) bool {
	if !s.twoStepPolicy {
		return false
	}
	if s.IsGlobalAdmin(userID) {
		return true
	}
	for _, member := range s.MemberOrgs(userID) {
		for _, id := range s.Ancestry(member) {
			o := s.orgs[id]
			if o.TwoStep == TwoStepEveryone {
				return true
			}
			if o.TwoStep == TwoStepAdmins && s.holdsAdministration(userID, id) {
				return true
			}
		}
	}
	// Administration held where one is not staff (through an organisation above) counts too.
	for id, o := range s.orgs {
		if o.TwoStep == TwoStepAdmins && s.holdsAdministration(userID, id) {
			return true
		}
	}
	return false
}

func (s *Snapshot) holdsAdministration(userID, orgID int64) bool {
	for _, p := range secondStepPermissions {
		if s.Can(userID, orgID, p) {
			return true
		}
	}
	return false
}

// ChangesAdministration reports whether going from before to after gives anyone an
// Administration permission (or integrations.manage) in some organisation, or takes one
// from anyone (demoting or disabling an admin): the access changes that ask for a fresh
// second step of signing in (step-up).
func ChangesAdministration(b, a *Snapshot) bool {
	ids := map[int64]bool{}
	for _, s := range []*Snapshot{b, a} {
		for u := range s.users.all() {
			ids[u.ID] = true
		}
	}
	orgs := map[int64]bool{}
	for id := range b.orgs {
		orgs[id] = true
	}
	for id := range a.orgs {
		orgs[id] = true
	}
	for id := range ids {
		if b.IsGlobalAdmin(id) != a.IsGlobalAdmin(id) {
			return true
		}
		for org := range orgs {
			for _, p := range secondStepPermissions {
				if b.Can(id, org, p) != a.Can(id, org, p) {
					return true
				}
			}
		}
	}
	return false
}

// SSORequired reports whether an organisation userID is staff of, or one above it, requires
// signing in through the identity provider. Global admins are never covered: the portal
// stays reachable when the provider is not.
func (s *Snapshot) SSORequired(userID int64) bool {
	if s.IsGlobalAdmin(userID) {
		return false
	}
	for _, member := range s.MemberOrgs(userID) {
		for _, id := range s.Ancestry(member) {
			if s.orgs[id].SSORequired {
				return true
			}
		}
	}
	return false
}
