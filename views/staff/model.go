// Package staff holds the screens about people: the staff list and the person page, where
// anyone may answer "why can this person do this?".
package staff

import (
	"github.com/rolegate/rolegate/views/audit"
	"strconv"

	"github.com/rolegate/rolegate/views/layout"
)

// RoleTag is a role a person holds somewhere.
type RoleTag struct {
	Role string
	Org  string
}

// Row is one person in the staff list, or one pending invitation.
type Row struct {
	ID           int64 // the person; 0 for an invitation
	InvitationID int64
	Name         string
	Email        string
	Status       string // active, disabled, invited
	Expires      string // for an invitation: when its link stops working
	Expired      bool
	CanManage    bool // the viewer may resend or revoke the invitation
	Roles        []RoleTag
}

// TableView is the swappable part of the staff list.
type TableView struct {
	Rows             []Row
	From, To, Total  int
	More             bool // more match than Total, which is as far as the list counts
	PrevURL, NextURL string
	Filtered         bool
	CSRF             string // for the resend and revoke forms
}

// ListView is the staff list page.
type ListView struct {
	Page      layout.Page
	Q         string
	Status    string
	CanInvite bool
	Table     TableView
}

// InviteView is the Invite staff form: a modal for htmx, a page otherwise.
type InviteView struct {
	Page       layout.Page
	Modal      bool
	Email      string
	Name       string
	OrgID      int64
	Orgs       []Option
	Roles      []Option
	CanAddRole bool   // the inviter may create a role in the chosen organisation
	NewRole    string // the role just created from this form, now selected
	Problems   map[string]string
	// Until is the role's end as typed (a datetime-local value; "": none); Now the earliest.
	Until string
	Now   string
}

// SentView shows a new invitation link, once, to copy.
type SentView struct {
	Page      layout.Page
	Modal     bool
	Resent    bool
	Name      string
	Email     string
	Org       string
	Role      string
	Until     string // "until 31 Jan 2027 18:00" when the role it gives ends
	Link      string
	Expires   string
	Mailed    bool
	MailError bool
}

// Option is a choice in a select.
type Option struct {
	ID       int64
	Name     string
	Selected bool
	Warn     string // a role that grants administration: what it hands over
}

// hasSelected reports whether one of opts is chosen.
func hasSelected(opts []Option) bool {
	for _, o := range opts {
		if o.Selected {
			return true
		}
	}
	return false
}

// warnOf is the warning of the selected option, if any.
func warnOf(opts []Option) string {
	for _, o := range opts {
		if o.Selected {
			return o.Warn
		}
	}
	return ""
}

// HeldRole is a role the person holds, with what the viewer may do to it.
type HeldRole struct {
	RoleID    int64
	Role      string
	Code      string
	OrgID     int64
	Org       string
	Inactive  bool // the role was made inactive: held still, given to nobody new
	CanChange bool
	MoveTo    []Option // other roles it can become in one step
	// Until says when it ends ("until 31 Jan 2027 18:00 (in 12 days)"); "" when it does not.
	Until string
	// Ending: it ends within 7 days. ExtendTo is the Extend field's suggestion (a week after
	// the end, as a datetime-local value).
	Ending   bool
	ExtendTo string
}

// PermRow is one line of the effective permissions.
type PermRow struct {
	Key         string
	Label       string
	Allowed     bool
	Reason      string
	Override    string // inherit, allow, deny: the override set in this organisation
	CanOverride bool
	// OverrideUntil is the datetime-local value of when the allow set here ends ("": never).
	OverrideUntil string
	// WhoHref is Who can… for the permission here ("" when the viewer may not open it).
	WhoHref string
}

// PermGroup is one category of effective permissions.
type PermGroup struct {
	Name  string
	Perms []PermRow
}

// OrgTab is one organisation whose effective permissions may be shown.
type OrgTab struct {
	ID        int64
	Name      string
	Current   bool
	CanRemove bool // the viewer may remove the person from it
}

// PersonView is the person page.
type PersonView struct {
	Page        layout.Page
	History     *audit.HistoryView // nil unless the viewer may read the audit log there
	ID          int64
	Name        string
	Email       string
	Disabled    bool
	GlobalAdmin bool
	IsSelf      bool
	CanManage   bool // in the organisation shown
	// CanAccount: the viewer may disable, enable or sign out this person (rbac.CheckAccountChange).
	CanAccount bool
	// TwoStepOn: the person set up two-step sign-in (an admin with CanAccount may reset it).
	TwoStepOn bool
	// Limit says why the viewer may give this person roles here but not change their access.
	Limit   string
	OrgID   int64
	OrgName string
	Orgs    []OrgTab
	Roles   []HeldRole
	// AddUntil is what was typed in the add-role form's end, kept after a refusal;
	// UntilProblem the refusal of it; Now the earliest end the fields take (datetime-local).
	AddUntil     string
	UntilProblem string
	Now          string
	AddOrgs      []Option // organisations where the viewer may add a role
	AddRoles     []Option // roles assignable in the shown organisation
	Groups       []PermGroup
	Problem      string
	// RoleProblem is a refused role choice, shown beside the picker named RoleProblemAt
	// ("add", or "move-ROLE-ORG" for a Change … to).
	RoleProblem, RoleProblemAt string

	// OneRole: the shown organisation gives each person one role (change it, never add one).
	OneRole bool
	// HoldsRoleHere: the person holds a role assigned in the shown organisation itself.
	HoldsRoleHere bool
}

// URL is the person page, showing org.
func (v PersonView) URL(org int64) string {
	return "/staff/" + id(v.ID) + "?org=" + id(org)
}

// ShowAddRole reports whether the page offers Add a role (or Their role, one role per person).
func (v PersonView) ShowAddRole() bool {
	return v.CanManage && len(v.AddRoles) > 0 && !(v.OneRole && v.HoldsRoleHere)
}

// HasPicker reports whether the page shows the role picker at ("add" or a MoveID), where a
// refused choice is answered beside it.
func (v PersonView) HasPicker(at string) bool {
	if at == "add" {
		return v.ShowAddRole()
	}
	for _, r := range v.Roles {
		if r.MoveID() == at && r.CanChange && len(r.MoveTo) > 0 {
			return true
		}
	}
	return false
}

// MoveID is the id of the Change … to picker of a held role.
func (r HeldRole) MoveID() string { return "move-" + id(r.RoleID) + "-" + id(r.OrgID) }

// Action is a POST target on the person.
func (v PersonView) Action(path string) string { return "/staff/" + id(v.ID) + path }

func id(n int64) string { return strconv.FormatInt(n, 10) }
