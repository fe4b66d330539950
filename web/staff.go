package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	sv "github.com/rolegate/rolegate/views/staff"
)

const staffPerPage = 25

func (a *app) staffService() *staff.Service {
	return &staff.Service{Store: a.Store, Access: a.Access, Mail: a.Mail}
}

func staffURL(q, status string, page int) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if status != "" {
		v.Set("status", status)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/staff"
	}
	return "/staff?" + v.Encode()
}

// staffList is the staff list; htmx gets only the table.
func (a *app) staffList(c echo.Context) error {
	u, _ := currentUser(c)
	q, _ := valid.Text(c.QueryParam("q"), false, 100)
	status := oneOf(c.QueryParam("status"), "active", "disabled", "invited")
	page := pageParam(c)
	rows, total, err := a.staffService().List(c.Request().Context(), u.ID, store.StaffQuery{Q: q, Status: status,
		Limit: staffPerPage, Offset: (page - 1) * staffPerPage})
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	now := a.Store.Now().Unix()
	t := sv.TableView{Total: min(total, store.CountCap), More: total > store.CountCap, Filtered: q != "" || status != "", CSRF: csrfToken(c)}
	for _, r := range rows {
		row := sv.Row{ID: r.UserID, InvitationID: r.InvitationID, Name: r.Name, Email: r.Email, Status: r.Status}
		for _, h := range r.Roles {
			row.Roles = append(row.Roles, sv.RoleTag{Role: h.RoleName, Org: h.OrgName})
			if r.InvitationID != 0 {
				row.CanManage = snap.Can(u.ID, h.OrgID, rbac.PermStaffManage)
			}
		}
		if r.InvitationID != 0 {
			row.Expires, row.Expired = formatTime(r.ExpiresAt), r.ExpiresAt <= now
		}
		t.Rows = append(t.Rows, row)
	}
	pg := paginate(page, staffPerPage, len(rows), total, func(p int) string { return staffURL(q, status, p) })
	if t.More && len(rows) == staffPerPage {
		pg.NextURL = staffURL(q, status, page+1) // past the count, a full page may have a next
	}
	t.From, t.To, t.PrevURL, t.NextURL = pg.From, pg.To, pg.PrevURL, pg.NextURL
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "staff-table" {
		return a.renderStatus(c, http.StatusOK, sv.Table(t))
	}
	return a.renderStatus(c, http.StatusOK, sv.List(sv.ListView{Page: a.page(c, "Staff"), Q: q, Status: status, Table: t,
		CanInvite: a.canSomewhere(u, rbac.PermStaffManage)}))
}

// loadPerson finds the person of the :id parameter, visible to the user, and where the user
// sees them (staff.Sees).
func (a *app) loadPerson(c echo.Context) (store.Person, []int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.Person{}, nil, store.ErrNotFound
	}
	u, _ := currentUser(c)
	return a.staffService().Person(c.Request().Context(), u.ID, id)
}

// personPage shows roles, effective permissions with reasons, overrides and membership.
func (a *app) personPage(c echo.Context) error {
	p, where, err := a.loadPerson(c)
	if err != nil {
		return err
	}
	v, err := a.personView(c, p, where, c.QueryParam("org"), "")
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, sv.Person(v))
}

func (a *app) personView(c echo.Context, p store.Person, where []int64, orgParam, problem string) (sv.PersonView, error) {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	cat := snap.Catalog()
	v := sv.PersonView{Page: a.page(c, p.User.Name), ID: p.User.ID, Name: p.User.Name, Email: p.User.Email, Disabled: p.User.Disabled,
		GlobalAdmin: p.User.GlobalAdmin, IsSelf: p.User.ID == u.ID, Problem: problem}
	// Tabs: the organisations the person belongs to (staff or roles) that the viewer sees.
	var tabs []int64
	add := func(id int64) {
		if slices.Contains(where, id) && !slices.Contains(tabs, id) {
			tabs = append(tabs, id)
		}
	}
	for _, o := range p.Orgs {
		add(o.ID)
	}
	for _, r := range p.Roles {
		add(r.OrgID)
	}
	if len(tabs) == 0 {
		tabs = where[:1]
	}
	v.OrgID = tabs[0]
	if n, err := strconv.ParseInt(orgParam, 10, 64); err == nil && slices.Contains(where, n) {
		v.OrgID = n
		if !slices.Contains(tabs, n) {
			tabs = append(tabs, n)
		}
	}
	org, _ := snap.Org(v.OrgID)
	v.OrgName, v.OneRole = org.Name, org.OneRole
	v.HoldsRoleHere = len(snap.RolesIn(p.User.ID, v.OrgID)) > 0
	v.CanManage = snap.Can(u.ID, v.OrgID, rbac.PermStaffManage)
	v.CanAccount = snap.CheckAccountChange(u.ID, p.User.ID) == nil
	if v.CanAccount {
		ts, err := a.Store.TwoStepOf(c.Request().Context(), p.User.ID)
		if err != nil {
			return v, err
		}
		v.TwoStepOn = ts.On()
	}
	// The controls offered are those the domain would accept; it decides again on submit.
	canChange := func(org int64) bool { return snap.CheckPersonChange(u.ID, p.User.ID, org) == nil }
	if err := snap.CheckActOn(u.ID, p.User.ID, v.OrgID); v.CanManage && err != nil {
		v.Limit = limitText(cat, p.User.Name, err)
	}
	for _, id := range tabs {
		o, _ := snap.Org(id)
		v.Orgs = append(v.Orgs, sv.OrgTab{ID: id, Name: o.Name, Current: id == v.OrgID,
			CanRemove: !v.IsSelf && isStaffOf(p, id) && canChange(id)})
	}
	held := map[[2]int64]bool{}
	for _, r := range p.Roles {
		held[[2]int64{r.RoleID, r.OrgID}] = true
	}
	loc, now := a.zone(c), a.Store.Now()
	v.Now = now.In(loc).Format(localInput)
	for _, r := range p.Roles {
		if !slices.Contains(where, r.OrgID) {
			continue
		}
		h := sv.HeldRole{RoleID: r.RoleID, Role: r.RoleName, Code: r.RoleCode, OrgID: r.OrgID, Org: r.OrgName,
			CanChange: canChange(r.OrgID)}
		if role, ok := snap.Role(r.RoleID); ok {
			h.Inactive = !role.Active
		}
		if r.Until != 0 {
			h.Until = untilText(r.Until, now, loc)
			h.Ending = r.Until-now.Unix() <= 7*24*3600
			h.ExtendTo = time.Unix(r.Until, 0).In(loc).AddDate(0, 0, 7).Format(localInput)
		}
		for _, o := range staff.Assignable(snap, r.OrgID) {
			if !held[[2]int64{o.ID, r.OrgID}] {
				h.MoveTo = append(h.MoveTo, sv.Option{ID: o.ID, Name: o.Name, Warn: grantWarning(snap, o.ID)})
			}
		}
		v.Roles = append(v.Roles, h)
	}
	for _, o := range staff.Assignable(snap, v.OrgID) {
		if !held[[2]int64{o.ID, v.OrgID}] {
			v.AddRoles = append(v.AddRoles, sv.Option{ID: o.ID, Name: o.Name, Warn: grantWarning(snap, o.ID)})
		}
	}
	h, err := a.history(c, v.OrgID, store.AuditQuery{PersonID: p.User.ID}, "/audit?person="+url.QueryEscape(p.User.Email))
	if err != nil {
		return v, err
	}
	v.History = h
	overrides := map[string]string{}
	overrideUntil := map[string]int64{}
	for _, ov := range p.Overrides {
		if ov.OrgID == v.OrgID {
			overrides[ov.Perm], overrideUntil[ov.Perm] = ov.Effect, ov.Until
		}
	}
	overridable := !p.User.GlobalAdmin && canChange(v.OrgID)
	whoElse := a.reportPath(c, v.OrgID) != "" // Who can… needs what the report needs: staff.view here
	for _, g := range cat.Categories() {
		pg := sv.PermGroup{Name: g.Name}
		for _, perm := range g.Permissions {
			d := snap.Explain(p.User.ID, v.OrgID, perm.Key)
			row := sv.PermRow{Key: perm.Key, Label: perm.Label, Allowed: d.Allowed, Reason: snap.Reason(d, v.OrgID),
				Override: "inherit", CanOverride: overridable && !perm.Mandatory}
			if whoElse {
				row.WhoHref = whoPath(perm.Key, v.OrgID)
			}
			if e, ok := overrides[perm.Key]; ok {
				row.Override = e
				if u := overrideUntil[perm.Key]; u != 0 {
					row.OverrideUntil = time.Unix(u, 0).In(loc).Format(localInput)
				}
			}
			if perm.Mandatory {
				row.Override = "—" // always granted: nothing can override it
			}
			pg.Perms = append(pg.Perms, row)
		}
		v.Groups = append(v.Groups, pg)
	}
	return v, nil
}

// localInput is the value format of a datetime-local field.
const localInput = "2006-01-02T15:04"

// untilText says when a grant ends, and how soon: "until 31 Jan 2027 18:00 (in 12 days)".
func untilText(until int64, now time.Time, loc *time.Location) string {
	at := time.Unix(until, 0).In(loc).Format("2 Jan 2006 15:04")
	left := time.Unix(until, 0).Sub(now)
	switch {
	case left <= 0:
		return "ended " + at
	case left < time.Hour:
		return fmt.Sprintf("until %s (in %d min)", at, max(1, int(left.Minutes())))
	case left < 48*time.Hour:
		return fmt.Sprintf("until %s (in %d hours)", at, int(left.Hours()))
	}
	return fmt.Sprintf("until %s (in %d days)", at, int((left+12*time.Hour)/(24*time.Hour)))
}

// limitText says why the viewer may give name roles but not take access from them: the
// permissions they hold beyond the viewer's, administration ones first, a few by name.
func limitText(cat *rbac.Catalog, name string, err error) string {
	var ee *rbac.EscalationError
	if !errors.As(err, &ee) {
		return ""
	}
	if ee.Reason == rbac.ReasonTargetGlobal {
		return "You can give " + name + " roles here, but only a global admin can change a global admin's access or account."
	}
	keys := slices.Clone(ee.Perms)
	slices.SortStableFunc(keys, func(a, b string) int {
		return boolRank(slices.Contains(rbac.AdminPermissions, b)) - boolRank(slices.Contains(rbac.AdminPermissions, a))
	})
	const shown = 4
	labels := make([]string, 0, shown)
	for _, k := range keys[:min(len(keys), shown)] {
		labels = append(labels, cat.Label(k))
	}
	list := strings.Join(labels, ", ")
	if more := len(keys) - shown; more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	return "You can give " + name + " roles here, but not take access from them: they hold permissions you do not hold yourself (" + list + ")."
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isStaffOf(p store.Person, orgID int64) bool {
	for _, o := range p.Orgs {
		if o.ID == orgID {
			return true
		}
	}
	for _, r := range p.Roles {
		if r.OrgID == orgID {
			return true
		}
	}
	return false
}

// personChange runs a change on the person page and answers like a form: back to the page
// with a flash, or the page with the problem (422). The domain decides who may do what to
// whom; the organisation must be one the page shows.
func (a *app) personChange(c echo.Context, do func(u store.User, p store.Person, org int64) (valid.Problems, error), done string) error {
	return a.personChangeAt(c, do, done, "")
}

// personChangeAt is personChange for a role picker: a problem with the role goes beside the
// picker named at, which keeps the role chosen.
func (a *app) personChangeAt(c echo.Context, do func(u store.User, p store.Person, org int64) (valid.Problems, error), done, at string) error {
	p, where, err := a.loadPerson(c)
	if err != nil {
		return err
	}
	org, err := strconv.ParseInt(c.FormValue("org"), 10, 64)
	if err != nil || !slices.Contains(where, org) {
		return store.ErrNotFound
	}
	u, _ := currentUser(c)
	problems, err := do(u, p, org)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		msg := ""
		for _, m := range problems {
			msg = m
		}
		v, err := a.personView(c, p, where, strconv.FormatInt(org, 10), msg)
		if err != nil {
			return err
		}
		if m, ok := problems["role"]; ok && v.HasPicker(at) {
			v.Problem, v.RoleProblem, v.RoleProblemAt = "", m, at
			keepChoice(&v, at, formID(c, "role"))
		}
		if m, ok := problems["until"]; ok && at == "add" {
			v.Problem, v.UntilProblem, v.AddUntil = "", m, c.FormValue("until")
			keepChoice(&v, at, formID(c, "role"))
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, sv.Person(v))
	}
	a.flash(c, done)
	return redirect(c, fmt.Sprintf("/staff/%d?org=%d", p.User.ID, org))
}

func formID(c echo.Context, name string) int64 {
	n, err := strconv.ParseInt(c.FormValue(name), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// keepChoice selects role again in the picker at, after a refusal.
func keepChoice(v *sv.PersonView, at string, role int64) {
	pick := func(opts []sv.Option) {
		for i := range opts {
			opts[i].Selected = opts[i].ID == role
		}
	}
	if at == "add" {
		pick(v.AddRoles)
	}
	for i := range v.Roles {
		if v.Roles[i].MoveID() == at {
			pick(v.Roles[i].MoveTo)
		}
	}
}

// personAddRole adds a role, or with replace moves the person from one role to another.
func (a *app) personAddRole(c echo.Context) error {
	at := "add"
	if c.FormValue("replace") != "" {
		at = "move-" + c.FormValue("replace") + "-" + c.FormValue("org")
	}
	return a.personChangeAt(c, func(u store.User, p store.Person, org int64) (valid.Problems, error) {
		role := formID(c, "role")
		var replace int64
		if c.FormValue("replace") != "" {
			if replace = formID(c, "replace"); replace <= 0 {
				return valid.Problems{"role": "Choose the role to change."}, nil
			}
		}
		until, msg := valid.Until(c.FormValue("until"), a.zone(c))
		if msg != "" {
			return valid.Problems{"until": msg}, nil
		}
		return a.staffService().AssignRole(c.Request().Context(), u.ID, p.User.ID, role, org, replace, until)
	}, "Roles saved.", at)
}

// zone is the portal's time zone, in which people type and read times.
func (a *app) zone(c echo.Context) *time.Location {
	z, _ := a.settingsService().TimeZone(c.Request().Context()) // on error: the server's zone
	return z.Loc
}

// personRemoveRole takes a role away.
func (a *app) personRemoveRole(c echo.Context) error {
	return a.personChange(c, func(u store.User, p store.Person, org int64) (valid.Problems, error) {
		return a.staffService().RemoveRole(c.Request().Context(), u.ID, p.User.ID, formID(c, "role"), org)
	}, "Role removed.")
}

// personOverride sets a user-level override.
func (a *app) personOverride(c echo.Context) error {
	return a.personChange(c, func(u store.User, p store.Person, org int64) (valid.Problems, error) {
		until, msg := valid.Until(c.FormValue("until"), a.zone(c))
		if msg != "" {
			return valid.Problems{"until": msg}, nil
		}
		return a.staffService().SetOverride(c.Request().Context(), u.ID, p.User.ID, org, c.FormValue("perm"), c.FormValue("effect"), until)
	}, "Override saved.")
}

// personDisable disables the account and ends its sessions at once.
func (a *app) personDisable(c echo.Context) error {
	return a.personChange(c, func(u store.User, p store.Person, _ int64) (valid.Problems, error) {
		return a.staffService().SetDisabled(c.Request().Context(), u.ID, p.User.ID, true)
	}, "Account disabled; their sessions have ended.")
}

// personEnable enables the account again.
func (a *app) personEnable(c echo.Context) error {
	return a.personChange(c, func(u store.User, p store.Person, _ int64) (valid.Problems, error) {
		return a.staffService().SetDisabled(c.Request().Context(), u.ID, p.User.ID, false)
	}, "Account enabled.")
}

// personRemove removes the person from an organisation (and those below it).
func (a *app) personRemove(c echo.Context) error {
	return a.personChange(c, func(u store.User, p store.Person, org int64) (valid.Problems, error) {
		return a.staffService().RemoveFromOrganisation(c.Request().Context(), u.ID, p.User.ID, org)
	}, "Removed from the organisation.")
}

// personResetTwoStep turns off the person's second step of signing in.
func (a *app) personResetTwoStep(c echo.Context) error {
	return a.personChange(c, func(u store.User, p store.Person, _ int64) (valid.Problems, error) {
		return a.staffService().ResetTwoStep(c.Request().Context(), u.ID, p.User.ID)
	}, "Two-step sign-in was reset: they were signed out, and set it up again after their next sign-in.")
}

// personEndSessions signs the person out everywhere.
func (a *app) personEndSessions(c echo.Context) error {
	return a.personChange(c, func(u store.User, p store.Person, _ int64) (valid.Problems, error) {
		return a.staffService().EndSessions(c.Request().Context(), u.ID, p.User.ID)
	}, "They have been signed out everywhere.")
}
