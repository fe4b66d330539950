package web

import (
	"bytes"
	"fmt"
	"github.com/rolegate/rolegate/internal/valid"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/views/layout"
)

// renderStatus renders into a buffer first, so a failing component cannot leave half a page,
// then writes it with the status.
func (a *app) renderStatus(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	// Every page carries the page headers, also where the path's own set is leaner (a
	// refusal page from /auth/…); a policy the handler chose for its page stays.
	h := c.Response().Header()
	csp := h["Content-Security-Policy"]
	setHeaders(h, a.pageHeaders)
	if csp != nil {
		h["Content-Security-Policy"] = csp
	}
	h.Add("Vary", "HX-Request")
	return c.HTMLBlob(status, buf.Bytes())
}

// navItem is an entry of the main navigation, shown only to those who may open it.
type navItem struct {
	label, href string
}

var nav = []navItem{
	{"Home", "/"},
	{"Roles", "/roles"},
	{"Permissions", "/permissions"},
	{"Staff", "/staff"},
	{"Reviews", "/reviews"},
	{"Organisations", "/orgs"},
	{"Audit log", "/audit"},
}

// page builds the frame of a page for the request: user, organisation, navigation filtered by
// the route table, CSRF token, flash messages.
func (a *app) page(c echo.Context, title string) layout.Page {
	p := layout.Page{Title: title, CSRF: csrfToken(c), ReplaceURL: formPage(c)}
	flashes, err := a.Sessions.TakeFlash(c.Response(), c.Request())
	a.logCookieError(c, err)
	p.Flashes = flashes
	u, ok := currentUser(c)
	if !ok {
		return p
	}
	p.User = &layout.User{Name: u.Name, Email: u.Email, GlobalAdmin: u.GlobalAdmin}
	snap := a.Access.Now()
	p.OrgName = homeOrg(snap, u.ID)
	for _, e := range snap.EmergencyOf(u.ID) {
		o, _ := snap.Org(e.OrgID)
		labels := make([]string, len(e.Perms))
		for i, k := range e.Perms {
			labels[i] = snap.Catalog().Label(k)
		}
		p.Emergency = append(p.Emergency, layout.Emergency{ID: e.ID, Org: o.Name, What: strings.Join(labels, ", "),
			Until: timeLeft(snap, e.Until), EndPath: fmt.Sprintf("/emergency/%d/end", e.ID)})
	}
	p.EditRoles = a.canSomewhere(u, viewRoles...)
	p.Integrations = a.canSomewhere(u, rbac.PermIntegrations)
	path := c.Request().URL.Path
	for _, n := range nav {
		acc := a.pageAccess[n.href]
		if acc.kind == accessPermission && !a.canSomewhere(u, acc.perms...) {
			continue
		}
		active := path == n.href || (n.href != "/" && strings.HasPrefix(path, n.href+"/"))
		p.Nav = append(p.Nav, layout.NavItem{Label: n.label, Href: n.href, Active: active})
	}
	return p
}

// formPage is, for a whole page answering a form post, the page the form was on (from the
// Referer, same host only), which the browser then shows in its address bar: a reload opens
// the form again instead of posting it twice. "" otherwise.
func formPage(c echo.Context) string {
	r := c.Request()
	if r.Method != http.MethodPost || isHTMX(c) {
		return ""
	}
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host {
		return ""
	}
	return valid.LocalPath(ref.RequestURI())
}

// homeOrg names the organisation the header shows: the first, by name, of the top-level ones
// the person belongs to, else of the others; "" for someone of none. It answers from the
// permission snapshot, so the frame of a page costs no query.
func homeOrg(snap *rbac.Snapshot, userID int64) string {
	best, bestTop := "", false
	for _, id := range snap.MemberOrgs(userID) {
		o, _ := snap.Org(id)
		top := o.ParentID == 0
		if best == "" || (top && !bestTop) || (top == bestTop && strings.ToLower(o.Name) < strings.ToLower(best)) {
			best, bestTop = o.Name, top
		}
	}
	return best
}

// flash queues a one-time message for the next page.
func (a *app) flash(c echo.Context, msg string) {
	a.logCookieError(c, a.Sessions.Flash(c.Response(), c.Request(), msg))
}

// logCookieError records a flash cookie that could not be written or removed. The page goes
// on without the message rather than failing the change it reports, which is already made.
func (a *app) logCookieError(c echo.Context, err error) {
	if err != nil {
		a.Logger.Warn("flash cookie", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
	}
}

// pager is the "Showing 1–25 of N records" and Prev/Next of one page of a list.
type pager struct {
	From, To, Total  int
	PrevURL, NextURL string
}

// paginate describes page (1-based) of per items holding shown of total; urlFor builds the
// address of another page.
func paginate(page, per, shown, total int, urlFor func(page int) string) pager {
	p := pager{Total: total}
	if shown > 0 {
		p.From = (page-1)*per + 1
		p.To = p.From + shown - 1
	}
	if page > 1 {
		p.PrevURL = urlFor(page - 1)
	}
	if page*per < total {
		p.NextURL = urlFor(page + 1)
	}
	return p
}

// timeLeft says until when and how long is left: "until 14:05 (47 min left)".
func timeLeft(snap *rbac.Snapshot, until int64) string {
	left := time.Unix(until, 0).Sub(snap.Now())
	at := snap.When(until)
	switch {
	case left < time.Minute:
		return "until " + at + " (less than a minute left)"
	case left < time.Hour:
		return fmt.Sprintf("until %s (%d min left)", at, int(left.Minutes()))
	}
	return fmt.Sprintf("until %s (%d h %02d min left)", at, int(left.Hours()), int(left.Minutes())%60)
}
