package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/roles"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	iv "github.com/rolegate/rolegate/views/impact"
	rv "github.com/rolegate/rolegate/views/roles"
)

const membersPerPage = 25

// membersForm is Select members: the people of the role's organisation and below it, the
// current holders first, each with a box ticked when they hold the role.
func (a *app) membersForm(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermStaffManage)
	if err != nil {
		return err
	}
	q, _ := valid.Text(c.QueryParam("q"), false, 100)
	v, err := a.membersView(c, r, q, pageParam(c), roles.Selection{}, "")
	if err != nil {
		return err
	}
	return a.renderMembers(c, http.StatusOK, v)
}

// renderMembers answers with the list alone when htmx asks for it (a search or another
// page), else with the dialog or the page.
func (a *app) renderMembers(c echo.Context, status int, v rv.MembersView) error {
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "members-list" {
		return a.renderStatus(c, status, rv.MembersList(v))
	}
	return a.renderStatus(c, status, rv.Members(v))
}

// membersView is page of the people matching q, their boxes ticked as sel leaves them; what
// sel changes for people not on this page travels in hidden fields, so that searching and
// paging never lose a tick.
func (a *app) membersView(c echo.Context, r store.RoleRow, q string, page int, sel roles.Selection, problem string) (rv.MembersView, error) {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	cands, total, err := a.roleService().Candidates(c.Request().Context(), u.ID, r, q, membersPerPage, (page-1)*membersPerPage)
	if err != nil {
		return rv.MembersView{}, err
	}
	v := rv.MembersView{Page: a.page(c, "Members of "+r.Name), Modal: inDialog(c), RoleID: r.ID, RoleName: r.Name, RoleCode: r.Code,
		Inactive: !r.Active, Q: q, Total: min(total, store.CountCap), More: total > store.CountCap, Problem: problem, PageNo: page, Holders: r.Members,
		Until: c.FormValue("until"), Now: a.Store.Now().In(a.zone(c)).Format(localInput)}
	if snap.OneRole(r.OrgID) {
		v.OneRoleOrg = r.OrgName
	}
	onPage := map[int64]bool{}
	for _, cd := range cands {
		onPage[cd.UserID] = true
		v.Candidates = append(v.Candidates, rv.Candidate{ID: cd.UserID, Name: cd.Name, Email: cd.Email, Holds: cd.Holds,
			Checked: sel.Ticked(cd.UserID, cd.Holds)})
	}
	for _, ids := range []struct {
		list   []int64
		ticked bool
	}{{sel.Add, true}, {sel.Remove, false}} {
		for _, id := range ids.list {
			if !onPage[id] {
				who, _ := snap.User(id)
				v.Carried = append(v.Carried, rv.Carried{ID: id, Name: who.Name, Ticked: ids.ticked})
			}
		}
	}
	v.Impact = iv.View{Endpoint: roleImpactPath(r.ID, "/members/impact")}
	if !sel.Empty() {
		until, _ := valid.Until(v.Until, a.zone(c))
		if im, err := a.roleService().PreviewHolders(u.ID, r, sel.Add, sel.Remove, until); err == nil {
			v.Impact = a.impactView(c, im, r.OrgID, v.Impact.Endpoint)
		}
	}
	pg := paginate(page, membersPerPage, len(cands), total, func(int) string { return "page" })
	v.From, v.To = pg.From, pg.To
	if pg.PrevURL != "" {
		v.PrevPage = page - 1
	}
	if pg.NextURL != "" || (v.More && len(cands) == membersPerPage) {
		v.NextPage = page + 1
	}
	return v, nil
}

func parseIDs(vals []string) ([]int64, bool) {
	out := make([]int64, 0, len(vals))
	for _, s := range vals {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// selection reads what a members form changes (roles.ReadSelection); false for ids that are
// not ids.
func (a *app) selection(form url.Values, r store.RoleRow) (roles.Selection, bool) {
	members, ok1 := parseIDs(form["members"])
	shown, ok2 := parseIDs(form["shown"])
	if !ok1 || !ok2 {
		return roles.Selection{}, false
	}
	snap := a.Access.Now()
	return roles.ReadSelection(shown, members, func(id int64) bool { return snap.HoldsRole(id, r.ID) }), true
}

// membersSave saves who holds the role: ticked people are added, unticked people the form
// showed are removed, people on other pages or outside the search untouched (PRODUCT.md §3);
// the form carries what was changed on earlier pages and searches. With go=search or go=N
// (a page) it saves nothing: it shows that search or page, the selection kept.
func (a *app) membersSave(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermStaffManage)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	q, _ := valid.Text(form.Get("q"), false, 100)
	page, _ := strconv.Atoi(form.Get("page"))
	page = max(1, min(page, 1_000_000))
	sel, ok := a.selection(form, r)
	if !ok {
		return a.membersProblem(c, r, q, page, roles.Selection{}, "Some of the people chosen are not valid.")
	}
	snap := a.Access.Now()
	switch to := form.Get("go"); to {
	case "", "save":
	case "search":
		return a.membersNavigate(c, r, q, 1, sel)
	default:
		n, err := strconv.Atoi(to)
		if err != nil || n < 1 || n > 1_000_000 {
			return echo.ErrBadRequest
		}
		return a.membersNavigate(c, r, q, n, sel)
	}
	u, _ := currentUser(c)
	until, bad := valid.Until(form.Get("until"), a.zone(c))
	if bad != "" {
		return a.membersProblem(c, r, q, page, sel, bad)
	}
	moves := a.roleService().Moves(r, sel.Add)
	problems, err := a.roleService().SetHolders(c.Request().Context(), u.ID, r, sel.Add, sel.Remove, until, confirmation(c))
	if im, held := heldImpact(err); held {
		v, err := a.membersView(c, r, q, page, sel, "")
		if err != nil {
			return err
		}
		v.Impact = a.impactView(c, im, r.OrgID, roleImpactPath(r.ID, "/members/impact"))
		v.Impact.Held = true
		return a.renderStatus(c, http.StatusConflict, rv.Members(v))
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		for _, m := range problems {
			return a.membersProblem(c, r, q, page, sel, m)
		}
	}
	msg := savedText(snap, r.Name, sel) + movedText(moves)
	if inDialog(c) {
		return a.afterRoleSaved(c, r.OrgID, 0, msg)
	}
	a.flash(c, msg)
	return redirect(c, "/roles/"+strconv.FormatInt(r.ID, 10))
}

// membersNavigate shows another search or page of Select members, the selection kept.
func (a *app) membersNavigate(c echo.Context, r store.RoleRow, q string, page int, sel roles.Selection) error {
	v, err := a.membersView(c, r, q, page, sel, "")
	if err != nil {
		return err
	}
	return a.renderMembers(c, http.StatusOK, v)
}

// membersProblem shows the form again with msg, as it was sent: the same search and page,
// every tick kept, nothing saved.
func (a *app) membersProblem(c echo.Context, r store.RoleRow, q string, page int, sel roles.Selection, msg string) error {
	v, err := a.membersView(c, r, q, page, sel, msg)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusUnprocessableEntity, rv.Members(v))
}

// savedText says exactly what saving the members changed: whom it added and removed, by
// name when they are few.
func savedText(snap *rbac.Snapshot, role string, sel roles.Selection) string {
	if sel.Empty() {
		return fmt.Sprintf("Members of “%s”: nothing to change.", role)
	}
	var parts []string
	for _, ch := range []struct {
		verb string
		ids  []int64
	}{{"added", sel.Add}, {"removed", sel.Remove}} {
		if len(ch.ids) > 0 {
			parts = append(parts, ch.verb+" "+peopleText(snap, ch.ids))
		}
	}
	return fmt.Sprintf("Members of “%s” saved: %s.", role, strings.Join(parts, "; "))
}

// peopleText names up to three people ("Noor Haddad and Olga Petrova"), or counts them.
func peopleText(snap *rbac.Snapshot, ids []int64) string {
	if len(ids) > 3 {
		return strconv.Itoa(len(ids)) + " people"
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		u, _ := snap.User(id)
		names[i] = u.Name
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// movedText names the people a save moved from another role (one role per person).
func movedText(moves []roles.Move) string {
	if len(moves) == 0 {
		return ""
	}
	names := make([]string, len(moves))
	for i, m := range moves {
		names[i] = m.Name + " (from " + m.From + ")"
	}
	return " Moved here from their previous role: " + strings.Join(names, ", ") + "."
}
