// Package roles holds the screens of roles: the list, the Add/Edit form with its permission
// matrix, the role page, deletion, Select members, the permission grid and details.
package roles

import (
	"github.com/rolegate/rolegate/views/impact"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/rolegate/rolegate/views/audit"

	"github.com/rolegate/rolegate/views/layout"
)

// OrgOption is one organisation in a picker.
type OrgOption struct {
	ID       int64
	Name     string
	Selected bool
}

// Row is one role in the list.
type Row struct {
	ID          int64
	Name        string
	Code        string
	Description string
	Active      bool
	System      bool
	Members     int
	CreatedBy   string
	CanEdit     bool // custom role and the viewer holds roles.manage here
	CanMembers  bool // the viewer may change who holds it
}

// TableView is the swappable part of the list: rows and pagination.
type TableView struct {
	Rows             []Row
	From, To, Total  int
	PrevURL, NextURL string
	Filtered         bool
	// AboveName is the organisation just above this one, whose roles apply here too ("" for
	// a top-level one); AboveURL lists its roles.
	AboveName, AboveURL string
}

// ListView is the roles list page.
type ListView struct {
	Page      layout.Page
	Orgs      []OrgOption
	OrgID     int64
	OrgName   string
	Q         string
	Kind      string
	Status    string
	CanCreate bool
	Table     TableView
}

// PermBox is one permission checkbox of the matrix.
type PermBox struct {
	Key         string
	Label       string
	Description string
	Checked     bool
	Mandatory   bool
	Locked      bool   // the viewer may not grant it
	LockReason  string // why, shown beside it
	Suggests    []string
	SuggestKeys string // space-separated keys, for the script
	Unknown     bool   // stored but no longer in the catalog
}

// Group is one category of the matrix.
type Group struct {
	Name  string
	Perms []PermBox
}

// Checked counts the ticked boxes of the group.
func (g Group) Checked() int {
	n := 0
	for _, p := range g.Perms {
		if p.Checked {
			n++
		}
	}
	return n
}

// TemplateOption is a role a new role may start from.
type TemplateOption struct {
	ID       int64
	Name     string
	Selected bool
}

// FormView is the Add/Edit role form, as a page or a modal.
type FormView struct {
	// Impact previews who gains and who loses by saving (edits only).
	Impact      impact.View
	Page        layout.Page
	Modal       bool
	RoleID      int64 // 0 for a new role
	OrgID       int64
	OrgName     string
	Name        string
	Description string
	Status      string
	Code        string
	CodeNote    string // how a new role's code is made (roles.PreviewCode)
	Version     int64
	Groups      []Group
	Selected    int
	Total       int
	Templates   []TemplateOption
	Problems    map[string]string
	Stale       string // someone saved in between: who and when
	// Next is where a new role goes back to once created, with it selected (the invitation
	// form's Add a new role); "" for the roles list.
	Next string
}

// Action is where the form posts.
func (v FormView) Action() string {
	if v.RoleID == 0 {
		return "/roles"
	}
	return "/roles/" + strconv.FormatInt(v.RoleID, 10)
}

// postAttrs makes the dialog's form answer inside the dialog; the full page's form posts
// plainly and is redirected (it has no #modal to answer into).
func (v FormView) postAttrs() templ.Attributes {
	if !v.Modal {
		return nil
	}
	return templ.Attributes{"hx-post": v.Action(), "hx-target": "#modal"}
}

// dialogGet makes a link of the dialog open its page in the dialog instead.
func (v FormView) dialogGet(path string) templ.Attributes {
	if !v.Modal {
		return nil
	}
	return templ.Attributes{"hx-get": path, "hx-target": "#modal"}
}

// startFromTarget is where choosing Start from puts the form again: the dialog, or the
// page's main region (and address) on the full page.
func (v FormView) startFromTarget() templ.Attributes {
	if v.Modal {
		return templ.Attributes{"hx-target": "#modal"}
	}
	return templ.Attributes{"hx-target": "#main", "hx-select": "#main", "hx-swap": "outerHTML", "hx-push-url": "true"}
}

// CancelURL is where Cancel goes on the full page: the role's page when editing.
func (v FormView) CancelURL() string {
	if v.RoleID != 0 {
		return v.Action()
	}
	return "/roles"
}

// Title names the form.
func (v FormView) Title() string {
	if v.RoleID == 0 {
		return "Add role"
	}
	return "Edit role " + v.Name
}

// CountText is the live count, e.g. "12 of 19 selected".
func (v FormView) CountText() string {
	return strconv.Itoa(v.Selected) + " of " + strconv.Itoa(v.Total) + " selected"
}

// PermLine is a permission on the role page.
type PermLine struct {
	Label       string
	Key         string
	Description string
	Unknown     bool
}

// PermSection is one category on the role page.
type PermSection struct {
	Name  string
	Perms []PermLine
}

// Option is a role offered for reassignment.
type Option struct {
	ID   int64
	Name string
	Warn string // what the role hands over, when it grants administration; shown once picked
}

// RoleView is the page of one role; with Deleting, its deletion panel too.
type RoleView struct {
	Page        layout.Page
	History     *audit.HistoryView // nil unless the viewer may read the audit log there
	Modal       bool
	ID          int64
	Name        string
	Code        string
	Description string
	OrgName     string
	Active      bool
	System      bool
	Members     int
	CreatedBy   string
	Sections    []PermSection
	CanEdit     bool
	CanDelete   bool
	CanMembers  bool
	CanCreate   bool
	Deleting    bool
	Reassign    []Option
	Problems    map[string]string
	ConfirmCode string // what was typed in the Remove from all form
	ReassignTo  int64  // the role chosen in the Reassign form
	// ReassignImpact and RemoveImpact preview the two ways of deleting a role with holders.
	ReassignImpact, RemoveImpact impact.View
}

// ReassignWarn is the warning of the role chosen to take the holders, if any.
func (v RoleView) ReassignWarn() string {
	for _, o := range v.Reassign {
		if o.ID == v.ReassignTo {
			return o.Warn
		}
	}
	return ""
}

// Candidate is one person in Select members.
type Candidate struct {
	ID      int64
	Name    string
	Email   string
	Holds   bool // holds the role now
	Checked bool // ticked: holds it now and was not unticked, or was ticked
}

// Carried is a change made on another page or search of Select members, kept in hidden
// fields until the form is saved.
type Carried struct {
	ID     int64
	Name   string
	Ticked bool // to be added; false: to be removed
}

// MembersView is the Select members form.
type MembersView struct {
	Page       layout.Page
	Modal      bool
	RoleID     int64
	RoleName   string
	RoleCode   string
	Inactive   bool
	Q          string
	Candidates []Candidate
	Carried    []Carried
	// Holders is how many people hold the role now, for "N selected".
	Holders            int
	From, To, Total    int
	More               bool // more match than Total, which is as far as the list counts
	PageNo             int
	PrevPage, NextPage int // 0: none
	Problem            string
	// OneRoleOrg names the role's organisation when it gives each person one role: ticking
	// someone moves them here from the role they hold there.
	OneRoleOrg string
	// Until is the end typed for those added (a datetime-local value); Now the earliest.
	Until, Now string
	Impact     impact.View // who gains and loses by saving the selection
}

// Changes counts the people saving would add and remove.
func (v MembersView) Changes() (add, remove int) {
	for _, c := range v.Carried {
		if c.Ticked {
			add++
		} else {
			remove++
		}
	}
	for _, c := range v.Candidates {
		switch {
		case c.Checked && !c.Holds:
			add++
		case !c.Checked && c.Holds:
			remove++
		}
	}
	return add, remove
}

// SelectedText is "N selected", with what saving would change; the script keeps it current.
func (v MembersView) SelectedText() string {
	add, remove := v.Changes()
	s := strconv.Itoa(v.Holders+add-remove) + " selected"
	if add > 0 || remove > 0 {
		s += " (" + strconv.Itoa(add) + " to add, " + strconv.Itoa(remove) + " to remove when you save)"
	}
	return s
}

// CarriedText names the changes kept from other pages and searches.
func (v MembersView) CarriedText() string {
	var add, remove []string
	for _, c := range v.Carried {
		if c.Ticked {
			add = append(add, c.Name)
		} else {
			remove = append(remove, c.Name)
		}
	}
	var parts []string
	if len(add) > 0 {
		parts = append(parts, "adding "+names(add))
	}
	if len(remove) > 0 {
		parts = append(parts, "removing "+names(remove))
	}
	return "Also ticked on other pages or searches, saved with the rest: " + strings.Join(parts, "; ") + "."
}

func names(n []string) string {
	const shown = 5
	if len(n) <= shown {
		return strings.Join(n, ", ")
	}
	return strings.Join(n[:shown], ", ") + " and " + strconv.Itoa(len(n)-shown) + " more"
}

// GridView is the permission grid: roles as columns, permissions as rows.
type GridView struct {
	Page    layout.Page
	Orgs    []OrgOption
	OrgID   int64
	Roles   []Row
	Groups  []GridGroup
	CSVPath string
	// ReportPath is the organisation's access report, for those who may read it ("" otherwise).
	ReportPath string
}

// GridGroup is one category of grid rows.
type GridGroup struct {
	Name string
	Rows []GridRow
}

// GridRow is one permission across the roles.
type GridRow struct {
	Key    string
	Label  string
	Grants []bool // per role, in GridView.Roles order
}

// DetailsView is the permission details page.
type DetailsView struct {
	Page   layout.Page
	Orgs   []OrgOption
	OrgID  int64
	Groups []DetailGroup
	// ReportPath is the organisation's access report, for those who may read it ("" otherwise).
	ReportPath string
}

// DetailGroup is one category of the details page.
type DetailGroup struct {
	Name  string
	Perms []Detail
}

// Detail is one permission with who holds it.
type Detail struct {
	Key         string
	Label       string
	Description string
	Mandatory   bool
	Roles       []string
	People      int
	// WhoHref is Who can… for it, for those who may see people here ("" otherwise).
	WhoHref string
}

func itoa(n int) string      { return strconv.Itoa(n) }
func id(n int64) string      { return strconv.FormatInt(n, 10) }
func roleURL(n int64) string { return "/roles/" + id(n) }

func boolAttr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Showing says which records of a list a page shows: "No records", "1 record", "9 records"
// when they all fit, else "Showing 26–50 of 132 records".
// ShowingMore says which rows a page shows of more than total.
func ShowingMore(from, to, total int) string {
	return "Showing " + strconv.Itoa(from) + "–" + strconv.Itoa(to) + " of more than " + thousands(total) + " records"
}

// thousands writes n with thousands separators: 1,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func Showing(from, to, total int) string {
	switch {
	case total == 0:
		return "No records"
	case total == 1:
		return "1 record"
	case from == 1 && to == total:
		return strconv.Itoa(total) + " records"
	}
	return "Showing " + strconv.Itoa(from) + "–" + strconv.Itoa(to) + " of " + strconv.Itoa(total) + " records"
}
