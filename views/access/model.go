// Package access holds the screens that answer "who can do what": Who can… and the
// printable access report (PRODUCT.md §2.12).
package access

import (
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/views/layout"
	"github.com/rolegate/rolegate/views/roles"
)

// Option is one choice of a picker.
type Option struct {
	Value, Label string
	Selected     bool
}

// PermGroup is one catalog category of the permission picker.
type PermGroup struct {
	Name    string
	Options []Option
}

// WhoRow is one person who holds the permission.
type WhoRow struct {
	Href   string // their person page
	Name   string
	Email  string
	Where  string // the organisations they are staff of, near the one asked about
	Kind   string // the reason kind, in words
	Reason string
}

// WhoView is the Who can… page.
type WhoView struct {
	Page  layout.Page
	Orgs  []roles.OrgOption
	Perms []PermGroup
	Kinds []Option
	Q     string
	// Problem is what is wrong with the permission asked for ("" when nothing is).
	Problem string
	// Chosen is set once a permission is chosen: then Summary, Rows and CSVPath are too.
	Chosen   bool
	Summary  string // "12 people can Export patient data in Northside Practice"
	Filtered string // "3 shown: …" when a filter hides some; "" otherwise
	Rows     []WhoRow
	CSVPath  string
	// Limited says the viewer sees only part of the portal's people (member visibility).
	Limited bool
}

// ReportMember is one holder of a role in the report.
type ReportMember struct {
	Name, Email, Since, Until string
	Disabled                  bool
}

// ReportRole is one role given in an organisation.
type ReportRole struct {
	Name, Code  string
	Inactive    bool
	Permissions []string // labels
	Members     []ReportMember
}

// ReportLine is an override or a default: who (for an override), what, the effect.
type ReportLine struct {
	Who, What, Effect, Note string
}

// ReportOrg is one organisation of the report.
type ReportOrg struct {
	ID        int64
	Name      string // with the organisations above it
	Roles     []ReportRole
	Overrides []ReportLine
	Defaults  []ReportLine
}

// ReportView is the access report.
type ReportView struct {
	Page        layout.Page
	Orgs        []roles.OrgOption
	Portal      string // the practice: the top of the organisation's tree
	OrgName     string
	Generated   string // date and time, in the portal's zone
	GeneratedBy string
	Sections    []ReportOrg
	// The summary counts.
	OrgCount, People, Assignments, Overrides, Defaults int
	Limited                                            bool
}

func itoa(n int) string           { return strconv.Itoa(n) }
func id(n int64) string           { return strconv.FormatInt(n, 10) }
func joinComma(s []string) string { return strings.Join(s, ", ") }
