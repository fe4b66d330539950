// Package layout holds the page frame every screen shares: head, header with the
// organisation name and user menu, navigation, flash messages.
package layout

import "github.com/rolegate/rolegate/static"

import "encoding/json"

// HtmxConfig is handed to htmx through its meta tag (no inline script). Requests only to this
// origin, no eval, no script tags from responses, no history cache; 422 (a form with
// problems) swaps like a success, other errors swap too but into the place the server names.
const HtmxConfig = `{"selfRequestsOnly":true,"allowEval":false,"allowScriptTags":false,` +
	`"historyCacheSize":0,"refreshOnHistoryMiss":true,"includeIndicatorStyles":false,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},` +
	`{"code":"422","swap":true},{"code":"[45]..","swap":true,"error":true},{"code":"...","swap":false}]}`

// Page is what the frame needs to know about the request.
type Page struct {
	Title   string
	CSRF    string
	User    *User // nil when nobody is signed in
	OrgName string
	Nav     []NavItem
	Flashes []string
	// EditRoles shows "Edit roles" in the user menu (for those who may open the roles list).
	EditRoles bool
	// Integrations shows "Integrations" (API tokens) in the user menu.
	Integrations bool
	// AssetBase, when set, is the portal's own address, put before the paths of its scripts
	// and styles: a page served through another host (forward-auth's refusal page, through
	// the tool's proxy) still loads them from the portal.
	AssetBase string
	// ReplaceURL, when set, is the address the browser shows instead of the one the page was
	// posted to, so reloading it opens the form again rather than sending it twice.
	ReplaceURL string
	// Emergency is the signed-in person's emergency access while it lasts: every page shows
	// it in a red banner with the time left and End now (PRODUCT.md §2.11).
	Emergency []Emergency
	// Stylesheets are a page's own (after app.css): the print stylesheets of the access report
	// and of an access review's report.
	Stylesheets []string
}

// Emergency is one use of emergency access that still lasts.
type Emergency struct {
	ID      int64
	Org     string
	What    string // the permissions taken, by label
	Until   string // "until 14:05 (47 min left)"
	EndPath string
}

// Settings shows "Settings" (the portal's settings) in the user menu: global admins only.
func (p Page) Settings() bool { return p.User != nil && p.User.GlobalAdmin }

// User is the signed-in person as the header shows them.
type User struct {
	Name        string
	Email       string
	GlobalAdmin bool
}

// NavItem is one entry of the main navigation.
type NavItem struct {
	Label  string
	Href   string
	Active bool
}

// CSRFHeaders is the hx-headers value that makes htmx send the CSRF token with every request.
func (p Page) CSRFHeaders() string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": p.CSRF})
	return string(b)
}

// FullTitle is the document title.
func (p Page) FullTitle() string {
	if p.Title == "" {
		return "Rolegate"
	}
	return p.Title + " · Rolegate"
}

// Initials is what the user menu button shows.
func (u User) Initials() string {
	var out []rune
	prev := ' '
	for _, r := range u.Name {
		if prev == ' ' && r != ' ' && len(out) < 2 {
			out = append(out, r)
		}
		prev = r
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// Asset is the address of one of the portal's static files for this page.
func (p Page) Asset(name string) string { return p.AssetBase + static.Path(name) }
