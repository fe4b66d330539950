package rbac

import "fmt"

// LockoutError refuses a change that would leave a top-level organisation without anyone who
// can manage its roles and staff, or the portal without a global admin (PRODUCT.md §2.6).
type LockoutError struct {
	OrgName     string // "" when the last global admin is concerned
	GlobalAdmin bool
}

func (e *LockoutError) Error() string {
	if e.GlobalAdmin {
		return "rbac: this would leave no active global admin"
	}
	return fmt.Sprintf("rbac: this would leave %s without anyone who can manage roles and staff", e.OrgName)
}

// Managers counts the active people, global admins aside, who hold both roles.manage and
// staff.manage in org.
func (s *Snapshot) Managers(orgID int64) int {
	n := 0
	for u := range s.users.all() {
		if u.Disabled || u.GlobalAdmin {
			continue
		}
		if s.Can(u.ID, orgID, PermRolesManage) && s.Can(u.ID, orgID, PermStaffManage) {
			n++
		}
	}
	return n
}

// CheckLockout compares the state before and after a change: a top-level organisation that
// had someone able to manage roles and staff must keep one, and an active global admin must
// remain. The store runs it inside the write transaction, on the state the change produced,
// so two concurrent demotions cannot both pass.
func CheckLockout(c *Catalog, before, after Data) error {
	return CheckLockoutSnapshots(NewSnapshot(c, before), NewSnapshot(c, after))
}

// CheckLockoutSnapshots is CheckLockout on the snapshots of before and after. It reads the
// counts each snapshot keeps (delta.go), so it looks at nobody a change did not touch.
func CheckLockoutSnapshots(b, a *Snapshot) error {
	if b.globalAdmins > 0 && a.globalAdmins == 0 {
		return &LockoutError{GlobalAdmin: true}
	}
	had, has := b.managerCounts(), a.managerCounts()
	for id, o := range a.orgs {
		if o.ParentID != 0 {
			continue
		}
		if _, existed := b.orgs[id]; existed && has[id] == 0 && had[id] > 0 {
			return &LockoutError{OrgName: o.Name}
		}
	}
	return nil
}
