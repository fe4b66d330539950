// Package orgs holds the screens of the organisation tree: the tree with its New organisation
// form, and each organisation's page (name, place in the tree, role mode, member visibility
// and permission defaults).
package orgs

import (
	"github.com/rolegate/rolegate/views/impact"
	"strconv"

	"github.com/a-h/templ"

	"github.com/rolegate/rolegate/views/layout"
)

// Node is one organisation of the tree, with the organisations below it.
type Node struct {
	ID       int64
	Name     string
	Staff    int
	Roles    int
	OneRole  bool
	Children []Node
}

// Option is an organisation in a picker, labelled with its path from the top.
type Option struct {
	ID       int64
	Label    string
	Selected bool
}

// TreeView is the organisations page.
type TreeView struct {
	Page  layout.Page
	Roots []Node
	// The New organisation form: what was typed, where it may go, and what was wrong.
	Name     string
	Parents  []Option
	TopLevel bool // the viewer may create a top-level organisation (global admin)
	Problems map[string]string
}

// Crumb is one organisation on the way from the top to the one shown.
type Crumb struct {
	ID   int64
	Name string
	Link bool // the viewer may open its page
}

// DefaultRow is one permission's default on the organisation page.
type DefaultRow struct {
	Key         string
	Label       string
	Description string
	Field       string // the form field
	Effect      string // inherit, allow or deny: what the select shows
	Mandatory   bool   // always granted: no default
	AllowLocked bool   // the viewer may not set allow
	Inherited   string // what applies without a default here
	Problem     string
}

// DefaultGroup is one category of permission defaults.
type DefaultGroup struct {
	Name string
	Rows []DefaultRow
}

// OrgView is one organisation's page.
type OrgView struct {
	Page layout.Page
	// Emergency is the emergency access settings section (views/emergency.Settings).
	Emergency templ.Component
	// DefaultsImpact is the impact preview inside the defaults form.
	DefaultsImpact impact.View
	ID             int64
	Name           string  // as saved (the heading)
	Path           []Crumb // the organisations above it, top first
	Staff, Roles   int
	CanViewRoles   bool
	// ReportPath is its access report, for those who may read it ("" otherwise).
	ReportPath string
	// Rename: the name in the field.
	NameValue string
	// Move: where it may go; MoveNote says why it cannot when Parents is empty.
	Parents  []Option
	MoveNote string
	// Settings: "many" or "one", "yes" or "no".
	RoleMode        string
	LimitVisibility string
	TwoStep         string // optional, admins or everyone
	SSO             string // yes or no: staff sign in through the identity provider
	SSOName         string // the identity provider's name; "" when none is configured
	Groups          []DefaultGroup
	Problems        map[string]string
}

// URL is the organisation's page.
func (v OrgView) URL() string { return OrgURL(v.ID) }

// Action is a POST target on the organisation.
func (v OrgView) Action(path string) string { return OrgURL(v.ID) + path }

// OrgURL is the page of organisation id.
func OrgURL(id int64) string { return "/orgs/" + strconv.FormatInt(id, 10) }

func id(n int64) string { return strconv.FormatInt(n, 10) }

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
