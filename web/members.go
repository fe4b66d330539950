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
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	rv "github.com/rolegate/rolegate/views/roles"
)

const membersPerPage = 25

// membersForm is Select members: the people of the role's organisation and below it, each
// with a box ticked when they hold the role.
func (a *app) membersForm(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermStaffManage)
	if err != nil {
		return err
	}
	q, _ := valid.Text(c.QueryParam("q"), false, 100)
	v, err := a.membersView(c, r, q, pageParam(c), "")
	if err != nil {
		return err
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "members-list" {
		return a.renderStatus(c, http.StatusOK, rv.MembersList(v))
	}
	return a.renderStatus(c, http.StatusOK, rv.Members(v))
}

func (a *app) membersView(c echo.Context, r store.RoleRow, q string, page int, problem string) (rv.MembersView, error) {
	u, _ := currentUser(c)
	cands, total, err := a.Store.MemberCandidates(c.Request().Context(), r.ID, staff.MemberScope(a.Access.Now(), u.ID, r.OrgID), q, membersPerPage, (page-1)*membersPerPage)
	if err != nil {
		return rv.MembersView{}, err
	}
	v := rv.MembersView{Page: a.page(c, "Members of "+r.Name), Modal: isHTMX(c), RoleID: r.ID, RoleName: r.Name, RoleCode: r.Code,
		Inactive: !r.Active, Q: q, Total: total, Problem: problem}
	if a.Access.Now().OneRole(r.OrgID) {
		v.OneRoleOrg = r.OrgName
	}
	for _, cd := range cands {
		v.Candidates = append(v.Candidates, rv.Candidate{ID: cd.UserID, Name: cd.Name, Email: cd.Email, Checked: cd.Holds})
	}
	pg := paginate(page, membersPerPage, len(cands), total, func(p int) string {
		vals := url.Values{}
		if q != "" {
			vals.Set("q", q)
		}
		vals.Set("page", strconv.Itoa(p))
		return "/roles/" + strconv.FormatInt(r.ID, 10) + "/members?" + vals.Encode()
	})
	v.From, v.To, v.PrevURL, v.NextURL = pg.From, pg.To, pg.PrevURL, pg.NextURL
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

// membersSave adds the ticked people and removes the unticked ones among those the form
// showed; people on other pages or outside the search are untouched (PRODUCT.md §3).
func (a *app) membersSave(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermStaffManage)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	members, ok1 := parseIDs(form["members"])
	shown, ok2 := parseIDs(form["shown"])
	if !ok1 || !ok2 {
		return a.membersProblem(c, r, "Some of the people chosen are not valid.")
	}
	snap := a.Access.Now()
	ticked := map[int64]bool{}
	for _, id := range members {
		ticked[id] = true
	}
	var remove []int64
	for _, id := range shown {
		if !ticked[id] && snap.HoldsRole(id, r.ID) {
			remove = append(remove, id)
		}
	}
	u, _ := currentUser(c)
	scope := staff.MemberScope(a.Access.Now(), u.ID, r.OrgID)
	// The same visibility as the form's list: ids of anyone else are refused.
	visible := func(id int64) bool {
		_, known := snap.User(id)
		return snap.HoldsRole(id, r.ID) || snap.MemberWithin(id, r.OrgID) || (scope.Everyone && known)
	}
	moves := a.roleService().Moves(r, members)
	problems, err := a.roleService().SetHolders(c.Request().Context(), u.ID, r, members, remove, visible)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return a.membersProblem(c, r, problems["members"])
	}
	a.flash(c, fmt.Sprintf("Members of “%s” saved.", r.Name)+movedText(moves))
	return redirect(c, listURL(r.OrgID, "", "", "", 1))
}

func (a *app) membersProblem(c echo.Context, r store.RoleRow, msg string) error {
	v, err := a.membersView(c, r, "", 1, msg)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusUnprocessableEntity, rv.Members(v))
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
