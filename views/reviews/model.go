// Package reviews holds the pages of access reviews (PRODUCT.md §2.12): the list, the form
// that starts one, a review with its items to keep or revoke, and the printable report.
package reviews

import "github.com/rolegate/rolegate/views/layout"

// Option is one choice of a list: an organisation, a reviewer, a schedule.
type Option struct {
	Value, Label string
	Selected     bool
	Hint         string
}

// Row is one review in the list.
type Row struct {
	Href, Org, Started, Schedule, Due string
	Overdue                           bool
	Decided, Total                    int
	Completed                         string // "" while open
	Next                              string // when a recurring review's next one starts
	ReportHref                        string
}

// ListView is /reviews.
type ListView struct {
	Page     layout.Page
	CanStart bool
	Open     []Row
	Done     []Row
}

// NewView is the form that starts a review.
type NewView struct {
	Page      layout.Page
	Orgs      []Option // the organisation picker: where the person manages staff
	OrgID     string
	OrgName   string
	Scope     string // "Eastside Clinic and the 2 organisations below it"
	Reviewers []Option
	Every     []Option
	DueDays   string
	Problems  map[string]string
}

// Item is one role assignment or override to keep or revoke.
type Item struct {
	ID                   int64
	What, Where          string
	Since, Until         string
	Decision             string // "Kept", "Revoked" or ""
	DecidedBy, DecidedAt string
	Note                 string
	CanDecide            bool
	Why                  string // why the viewer cannot decide it
	Refused              string // why the viewer's decision was not recorded just now
	Path                 string // where Keep and Revoke post
}

// Person is one holder and their items.
type Person struct {
	Anchor, Name, Email, Href string
	LastSignIn                string
	Stale                     bool // not signed in for 90 days or more, or never
	Items                     []Item
}

// Filter is one of the filter links.
type Filter struct {
	Label, Href string
	Count       int
	Active      bool
}

// ItemsView is the region htmx swaps after each decision: progress, filters, the items.
type ItemsView struct {
	CSRF       string
	Action     string // where the form posts without JavaScript (bulk)
	Decided    int
	Total      int
	Complete   bool
	Filters    []Filter
	People     []Person
	Notice     string   // what the last decisions did
	Refusals   []string // refused decisions of the last request, by person and item
	Decidable  bool     // the viewer may decide something shown
	Show       string
	Page       int // the page of people shown (1-based)
	ReportHref string
	// Paging over people: "People 1–50 of 130", Prev and Next ("" at either end).
	From, To, PeopleTotal int
	PrevHref, NextHref    string
}

// ReviewView is /reviews/{id}.
type ReviewView struct {
	Page      layout.Page
	Org       string
	Started   string
	Schedule  string
	Due       string
	Overdue   bool
	Complete  string
	Reviewers string
	AdminNote string // the only reviewer's own items: a global admin decides them
	Items     ItemsView
}

// ReportRow is one decision in the report.
type ReportRow struct {
	Person, Email, What, Where, Since, LastSignIn string
	Decision, DecidedBy, DecidedAt, Note          string
}

// ReportView is the printable report.
type ReportView struct {
	Page                       layout.Page
	Title, Org, Started, Due   string
	Completed, Schedule        string
	Reviewers, Printed         string
	Kept, Revoked, Open, Total int
	Rows                       []ReportRow
	CSVHref, BackHref          string
}
