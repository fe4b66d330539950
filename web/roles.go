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

	"github.com/rolegate/rolegate/internal/orgs"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/roles"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	iv "github.com/rolegate/rolegate/views/impact"
	rv "github.com/rolegate/rolegate/views/roles"
)

// Viewing roles, the grid and the details needs roles.manage or staff.view in the
// organisation (roles.ViewPermissions); changing roles needs roles.manage; changing who holds
// a role needs staff.manage ("assign and remove roles").
var viewRoles = roles.ViewPermissions

const rolesPerPage = 25

func (a *app) roleService() *roles.Service { return &roles.Service{Store: a.Store, Access: a.Access} }

// inDialog reports whether the request comes from a dialog of the roles list (htmx aiming at
// #modal): it gets the dialog back. Anything else, a full page opened from a role's page or
// without JavaScript included, gets the full page, whose forms post and redirect.
func inDialog(c echo.Context) bool {
	return isHTMX(c) && c.Request().Header.Get("HX-Target") == "modal"
}

// orgsFor is the organisation picker of a page needing one of perms (orgs.Choose), raw being
// the organisation the request names (?org= or form org).
func (a *app) orgsFor(c echo.Context, raw string, perms ...string) ([]rv.OrgOption, int64, error) {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	ch, err := orgs.Choose(snap, u.ID, orgs.RequestedID(raw), perms...)
	if err != nil {
		return nil, 0, err
	}
	opts := make([]rv.OrgOption, len(ch.IDs))
	for i, id := range ch.IDs { // sub-organisations under their parent, named with it
		opts[i] = rv.OrgOption{ID: id, Name: orgs.Label(snap, id), Selected: id == ch.Chosen}
	}
	return opts, ch.Chosen, nil
}

// loadRole finds the role named by the :id parameter, for a user holding one of perms in its
// organisation (roles.Service.Get).
func (a *app) loadRole(c echo.Context, perms ...string) (store.RoleRow, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.RoleRow{}, store.ErrNotFound
	}
	u, _ := currentUser(c)
	return a.roleService().Get(c.Request().Context(), u.ID, id, perms...)
}

// viewableRole finds the role id names, for a person who may see it (roles.Service.View).
func (a *app) viewableRole(c echo.Context, raw string) (store.RoleRow, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return store.RoleRow{}, store.ErrNotFound
	}
	u, _ := currentUser(c)
	return a.roleService().View(c.Request().Context(), u.ID, id)
}

func listURL(org int64, q, kind, status string, page int) string {
	v := url.Values{"org": {strconv.FormatInt(org, 10)}}
	for k, val := range map[string]string{"q": q, "kind": kind, "status": status} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return "/roles?" + v.Encode()
}

func pageParam(c echo.Context) int {
	p, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || p < 1 || p > 1_000_000 {
		return 1
	}
	return p
}

func oneOf(v string, allowed ...string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return ""
}

// rolesList is the roles list; htmx gets only the table.
func (a *app) rolesList(c echo.Context) error {
	orgs, org, err := a.orgsFor(c, c.QueryParam("org"), viewRoles...)
	if err != nil {
		return err
	}
	q, _ := valid.Text(c.QueryParam("q"), false, 64)
	kind, status := oneOf(c.QueryParam("kind"), "system", "custom"), oneOf(c.QueryParam("status"), "active", "inactive")
	table, err := a.rolesTable(c, org, q, kind, status, pageParam(c))
	if err != nil {
		return err
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "roles-table" {
		return a.renderStatus(c, http.StatusOK, rv.Table(table))
	}
	u, _ := currentUser(c)
	v := rv.ListView{Page: a.page(c, "Roles"), Orgs: orgs, OrgID: org, Q: q, Kind: kind, Status: status, Table: table,
		CanCreate: a.Access.Now().Can(u.ID, org, rbac.PermRolesManage)}
	return a.renderStatus(c, http.StatusOK, rv.List(v))
}

func (a *app) rolesTable(c echo.Context, org int64, q, kind, status string, page int) (rv.TableView, error) {
	rows, total, err := a.Store.ListRoles(c.Request().Context(), store.RoleQuery{OrgID: org, Q: q, Kind: kind, Status: status, Members: true,
		Limit: rolesPerPage, Offset: (page - 1) * rolesPerPage})
	if err != nil {
		return rv.TableView{}, err
	}
	u, _ := currentUser(c)
	snap := a.Access.Now()
	canEdit, canMembers := snap.Can(u.ID, org, rbac.PermRolesManage), snap.Can(u.ID, org, rbac.PermStaffManage)
	t := rv.TableView{Total: total, Filtered: q != "" || kind != "" || status != ""}
	for _, r := range rows {
		t.Rows = append(t.Rows, rv.Row{ID: r.ID, Name: r.Name, Code: r.Code, Description: r.Description, Active: r.Active,
			System: r.System, Members: r.Members, CreatedBy: r.CreatedByName, CanEdit: canEdit && !r.System, CanMembers: canMembers})
	}
	pg := paginate(page, rolesPerPage, len(rows), total, func(p int) string { return listURL(org, q, kind, status, p) })
	t.From, t.To, t.PrevURL, t.NextURL = pg.From, pg.To, pg.PrevURL, pg.NextURL
	if o, ok := snap.Org(org); ok && o.ParentID != 0 {
		parent, _ := snap.Org(o.ParentID)
		t.AboveName = parent.Name
		if slices.ContainsFunc(viewRoles, func(p string) bool { return snap.Can(u.ID, parent.ID, p) }) {
			t.AboveURL = listURL(parent.ID, "", "", "", 1)
		}
	}
	return t, nil
}

// roleForm builds the Add/Edit form for org with the given values.
func (a *app) roleForm(c echo.Context, roleID, orgID int64, f roles.Form, code string, problems map[string]string) rv.FormView {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	cat := snap.Catalog()
	org, _ := snap.Org(orgID)
	title := "Add role"
	if roleID != 0 {
		title = "Edit role"
	}
	v := rv.FormView{Page: a.page(c, title), Modal: inDialog(c), RoleID: roleID, OrgID: orgID, OrgName: org.Name,
		Name: f.Name, Description: f.Description, Status: f.Status, Code: code, Version: f.Version, Problems: problems,
		Total: cat.Len()}
	if roleID == 0 {
		preview := roles.PreviewCode(f.Name)
		v.Code, v.CodeNote = preview.Code, preview.Note
	}
	ticked := map[string]bool{}
	for _, k := range f.Permissions {
		ticked[k] = true
	}
	for _, k := range cat.Mandatory() {
		ticked[k] = true
	}
	holdsRole := roleID != 0 && snap.HoldsRole(u.ID, roleID)
	for _, g := range cat.Categories() {
		group := rv.Group{Name: g.Name}
		for _, p := range g.Permissions {
			box := rv.PermBox{Key: p.Key, Label: p.Label, Description: p.Description, Checked: ticked[p.Key], Mandatory: p.Mandatory}
			if !p.Mandatory && !box.Checked {
				switch {
				case !snap.CanGrant(u.ID, orgID, p.Key):
					box.Locked, box.LockReason = true, "You cannot grant this: you do not hold it yourself."
				case holdsRole && !snap.Can(u.ID, orgID, p.Key) && !u.GlobalAdmin:
					box.Locked, box.LockReason = true, "You hold this role, so you cannot add permissions you lack to it."
				}
			}
			for _, s := range p.Suggests {
				box.Suggests = append(box.Suggests, cat.Label(s))
				box.SuggestKeys += s + " "
			}
			if box.Checked {
				v.Selected++
			}
			group.Perms = append(group.Perms, box)
		}
		v.Groups = append(v.Groups, group)
	}
	for _, k := range f.Permissions {
		if !cat.Has(k) {
			v.Groups = append(v.Groups, rv.Group{Name: "Unknown", Perms: []rv.PermBox{{Key: k, Label: k, Checked: true, Unknown: true,
				Description: "This role holds a permission the current catalog does not know; it grants nothing."}}})
		}
	}
	return v
}

// roleNew is the Add role form, optionally started from another role (?from=).
func (a *app) roleNew(c echo.Context) error {
	orgParam := c.QueryParam("org")
	f := roles.Form{Status: "active"}
	var fromID int64
	if raw := c.QueryParam("from"); raw != "" {
		tpl, err := a.viewableRole(c, raw)
		if err != nil {
			return err
		}
		fromID = tpl.ID
		f.Permissions = tpl.Permissions
		if orgParam == "" {
			orgParam = strconv.FormatInt(tpl.OrgID, 10)
		}
	}
	_, org, err := a.orgsFor(c, orgParam, rbac.PermRolesManage)
	if err != nil {
		return err
	}
	f.Name, _ = valid.Text(c.QueryParam("name"), false, roles.MaxName)
	f.Description, _ = valid.Text(c.QueryParam("description"), false, roles.MaxDescription)
	if f.Name == "" && fromID != 0 {
		if r, ok := a.Access.Now().Role(fromID); ok {
			f.Name = "Copy of " + r.Name
		}
	}
	v := a.roleForm(c, 0, org, f, rbac.CodeFromName(f.Name), nil)
	v.Next = returnPath(c.QueryParam("next"))
	v.Templates, err = a.templates(c, org, fromID)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, rv.Form(v))
}

// templates lists the roles a new role of org may start from: those of org and above it.
func (a *app) templates(c echo.Context, org, selected int64) ([]rv.TemplateOption, error) {
	var out []rv.TemplateOption
	for _, o := range a.Access.Now().Ancestry(org) {
		rows, _, err := a.Store.ListRoles(c.Request().Context(), store.RoleQuery{OrgID: o, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out = append(out, rv.TemplateOption{ID: r.ID, Name: r.Name, Selected: r.ID == selected})
		}
	}
	return out, nil
}

func roleFormValues(c echo.Context) (roles.Form, error) {
	form, err := c.FormParams()
	if err != nil {
		return roles.Form{}, echo.ErrBadRequest
	}
	f := roles.Form{Name: form.Get("name"), Description: form.Get("description"), Status: form.Get("status"), Permissions: form["permissions"]}
	if v := form.Get("version"); v != "" {
		if f.Version, err = strconv.ParseInt(v, 10, 64); err != nil {
			f.Version = -1 // never matches: answered as a stale form
		}
	}
	return f, nil
}

// roleCreate saves a new role. htmx gets the refreshed table (the modal closes); a plain
// form post is redirected to the list.
func (a *app) roleCreate(c echo.Context) error {
	f, err := roleFormValues(c)
	if err != nil {
		return err
	}
	_, org, err := a.orgsFor(c, c.FormValue("org"), rbac.PermRolesManage)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	next := returnPath(c.FormValue("next"))
	id, problems, err := a.roleService().Create(c.Request().Context(), u.ID, org, f)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		v := a.roleForm(c, 0, org, f, rbac.CodeFromName(f.Name), problems)
		v.Next = next
		if v.Templates, err = a.templates(c, org, 0); err != nil {
			return err
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, rv.Form(v))
	}
	if next != "" {
		// Back to the form that asked for the role, with it selected; htmx follows the
		// redirect and swaps that form into the same dialog.
		if !isHTMX(c) {
			a.flash(c, fmt.Sprintf("Role “%s” created.", f.Name))
		}
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("%s&role=%d&created=1", next, id))
	}
	return a.afterRoleSaved(c, org, 0, fmt.Sprintf("Role “%s” created.", f.Name))
}

// returnPath accepts a next parameter only when it names the invitation form, the one page
// that sends people to Add role and expects them back.
func returnPath(raw string) string {
	p := valid.LocalPath(raw)
	if !strings.HasPrefix(p, inviteReturn+"?") || len(p) > 1000 {
		return ""
	}
	return p
}

// afterRoleSaved answers a change made from a role dialog with the refreshed list and a
// toast; a full-page form goes to the role's page (0: the list) with msg as a flash.
func (a *app) afterRoleSaved(c echo.Context, org, roleID int64, msg string) error {
	if !inDialog(c) {
		a.flash(c, msg)
		to := listURL(org, "", "", "", 1)
		if roleID != 0 {
			to = "/roles/" + strconv.FormatInt(roleID, 10)
		}
		return redirect(c, to)
	}
	table, err := a.rolesTable(c, org, "", "", "", 1)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("HX-Retarget", "#roles-table")
	h.Set("HX-Reswap", "outerHTML")
	trigger(c, map[string]string{"toast": msg})
	return a.renderStatus(c, http.StatusOK, rv.Table(table))
}

// codePreview answers the role form's live code preview: the code a new role of that name
// would get and how it is made, from the same rule the save applies.
func (a *app) codePreview(c echo.Context) error {
	name, _ := valid.Text(c.QueryParam("name"), false, roles.MaxName)
	return c.JSON(http.StatusOK, roles.PreviewCode(name))
}

// roleView shows one role; with ?delete=1, the delete panel.
func (a *app) roleView(c echo.Context) error {
	r, err := a.viewableRole(c, c.Param("id"))
	if err != nil {
		return err
	}
	deleting := c.QueryParam("delete") == "1"
	if deleting {
		u, _ := currentUser(c)
		if err := roles.CheckDeletable(a.Access.Now(), u.ID, r); err != nil {
			return err
		}
	}
	v, err := a.roleViewModel(c, r, deleting, nil)
	if err != nil {
		return err
	}
	v, _ = a.deletionImpact(c, r, v, roles.Deletion{})
	return a.renderStatus(c, http.StatusOK, rv.Role(v))
}

func (a *app) roleViewModel(c echo.Context, r store.RoleRow, deleting bool, problems map[string]string) (rv.RoleView, error) {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	cat := snap.Catalog()
	manage := snap.Can(u.ID, r.OrgID, rbac.PermRolesManage)
	v := rv.RoleView{Page: a.page(c, r.Name), Modal: inDialog(c), ID: r.ID, Name: r.Name, Code: r.Code, Description: r.Description,
		OrgName: r.OrgName, Active: r.Active, System: r.System, Members: r.Members, CreatedBy: r.CreatedByName,
		CanEdit: manage && !r.System, CanDelete: manage && !r.System, CanCreate: manage,
		CanMembers: snap.Can(u.ID, r.OrgID, rbac.PermStaffManage), Deleting: deleting, Problems: problems}
	held := map[string]bool{}
	for _, k := range r.Permissions {
		held[k] = true
	}
	for _, g := range cat.Categories() {
		s := rv.PermSection{Name: g.Name}
		for _, p := range g.Permissions {
			if held[p.Key] {
				s.Perms = append(s.Perms, rv.PermLine{Label: p.Label, Key: p.Key, Description: p.Description})
			}
		}
		if len(s.Perms) > 0 {
			v.Sections = append(v.Sections, s)
		}
	}
	for _, k := range r.Permissions {
		if !cat.Has(k) {
			v.Sections = append(v.Sections, rv.PermSection{Name: "Unknown", Perms: []rv.PermLine{{Label: k, Key: k, Unknown: true}}})
		}
	}
	if !v.Modal {
		h, err := a.history(c, r.OrgID, store.AuditQuery{RoleID: r.ID}, "/audit?target=role:"+strconv.FormatInt(r.ID, 10))
		if err != nil {
			return v, err
		}
		v.History = h
	}
	if deleting && r.Members > 0 {
		rows, _, err := a.Store.ListRoles(c.Request().Context(), store.RoleQuery{OrgID: r.OrgID, Status: "active", Limit: 1000})
		if err != nil {
			return v, err
		}
		for _, o := range rows {
			if o.ID != r.ID {
				v.Reassign = append(v.Reassign, rv.Option{ID: o.ID, Name: o.Name, Warn: grantWarning(snap, o.ID)})
			}
		}
	}
	return v, nil
}

// roleEdit is the Edit role form.
func (a *app) roleEdit(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermRolesManage)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	if err := roles.CheckEditable(a.Access.Now(), u.ID, r); err != nil {
		return err
	}
	status := "active"
	if !r.Active {
		status = "inactive"
	}
	f := roles.Form{Name: r.Name, Description: r.Description, Status: status, Permissions: r.Permissions, Version: r.Version}
	v := a.roleForm(c, r.ID, r.OrgID, f, r.Code, nil)
	v.Impact = iv.View{Endpoint: roleImpactPath(r.ID, "/impact")}
	return a.renderStatus(c, http.StatusOK, rv.Form(v))
}

// roleUpdate saves an edited role, refusing a stale version with who saved in between.
func (a *app) roleUpdate(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermRolesManage)
	if err != nil {
		return err
	}
	f, err := roleFormValues(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	f.Impact = confirmation(c)
	problems, err := a.roleService().Update(c.Request().Context(), u.ID, r, f)
	var stale *store.StaleError
	if im, held := heldImpact(err); held {
		v := a.roleForm(c, r.ID, r.OrgID, f, r.Code, nil)
		v.Impact = a.impactView(c, im, r.OrgID, roleImpactPath(r.ID, "/impact"))
		v.Impact.Held = true
		return a.renderStatus(c, http.StatusConflict, rv.Form(v))
	}
	switch {
	case errors.As(err, &stale):
		v := a.roleForm(c, r.ID, r.OrgID, f, r.Code, nil)
		v.Impact = iv.View{Endpoint: roleImpactPath(r.ID, "/impact")}
		who := stale.ByName
		if who == "" {
			who = "Someone"
		}
		v.Stale = fmt.Sprintf("%s changed this role at %s, after you opened it.", who, time.Unix(stale.At, 0).UTC().Format("15:04 UTC on 2 Jan 2006"))
		return a.renderStatus(c, http.StatusConflict, rv.Form(v))
	case err != nil:
		return err
	case len(problems) > 0:
		v := a.roleForm(c, r.ID, r.OrgID, f, r.Code, problems)
		v.Impact = iv.View{Endpoint: roleImpactPath(r.ID, "/impact")}
		return a.renderStatus(c, http.StatusUnprocessableEntity, rv.Form(v))
	}
	return a.afterRoleSaved(c, r.OrgID, r.ID, fmt.Sprintf("Role “%s” saved.", f.Name))
}

// roleDelete deletes a custom role: directly when nobody holds it, otherwise reassigning its
// holders (reassign_to) or removing them after the code was typed (confirm_code).
func (a *app) roleDelete(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermRolesManage)
	if err != nil {
		return err
	}
	d := deletionValues(c)
	d.Impact = confirmation(c)
	u, _ := currentUser(c)
	problems, err := a.roleService().Delete(c.Request().Context(), u.ID, r, d)
	var hm *store.HasMembersError
	if _, held := heldImpact(err); held {
		v, err := a.roleViewModel(c, r, true, nil)
		if err != nil {
			return err
		}
		v.ConfirmCode, v.ReassignTo = d.ConfirmCode, d.ReassignTo
		v, _ = a.deletionImpact(c, r, v, d)
		return a.renderStatus(c, http.StatusConflict, rv.Role(v))
	}
	switch {
	case errors.As(err, &hm):
		r.Members = hm.N // someone gave it holders since the panel was shown
		problems = map[string]string{"confirm_code": holdersText(hm.N) + ": reassign them or remove them first."}
	case err != nil:
		return err
	}
	if len(problems) > 0 {
		v, err := a.roleViewModel(c, r, true, problems)
		if err != nil {
			return err
		}
		v.ConfirmCode, v.ReassignTo = d.ConfirmCode, d.ReassignTo // what was typed and chosen stays
		v, _ = a.deletionImpact(c, r, v, roles.Deletion{})
		return a.renderStatus(c, http.StatusUnprocessableEntity, rv.Role(v))
	}
	return a.afterRoleSaved(c, r.OrgID, 0, fmt.Sprintf("Role “%s” deleted.", r.Name))
}

// deletionImpact previews both ways of deleting r in v's deletion panel: reassigning its
// holders to the role chosen, and removing them all. held, the way a save was held back for
// (its Reassign or RemoveAll set), is marked so. It reports whether v has a panel.
func (a *app) deletionImpact(c echo.Context, r store.RoleRow, v rv.RoleView, held roles.Deletion) (rv.RoleView, bool) {
	if !v.Deleting || r.Members == 0 {
		return v, false
	}
	u, _ := currentUser(c)
	svc := a.roleService()
	if im, err := svc.PreviewDelete(u.ID, r, roles.Deletion{Reassign: true, ReassignTo: v.ReassignTo}); err == nil {
		v.ReassignImpact = a.impactView(c, im, r.OrgID, roleImpactPath(r.ID, "/delete/impact"))
		v.ReassignImpact.ID, v.ReassignImpact.Held = "reassign-impact", held.Reassign
		v.ReassignImpact.Shown = v.ReassignTo != 0
	}
	if im, err := svc.PreviewDelete(u.ID, r, roles.Deletion{RemoveAll: true}); err == nil {
		v.RemoveImpact = a.impactView(c, im, r.OrgID, "")
		v.RemoveImpact.ID, v.RemoveImpact.Held = "remove-impact", held.RemoveAll
	}
	return v, true
}

// deletionValues reads the delete form: reassign_to (present, maybe empty, in the Reassign
// form) or confirm_code (in the Remove from all form).
func deletionValues(c echo.Context) roles.Deletion {
	form, _ := c.FormParams()
	var d roles.Deletion
	if _, d.Reassign = form["reassign_to"]; d.Reassign {
		if raw := form.Get("reassign_to"); raw != "" {
			var err error
			if d.ReassignTo, err = strconv.ParseInt(raw, 10, 64); err != nil || d.ReassignTo <= 0 {
				d.ReassignTo = -1 // names no role: answered as the wrong one
			}
		}
	}
	_, d.RemoveAll = form["confirm_code"]
	d.ConfirmCode, _ = valid.Text(form.Get("confirm_code"), false, 100)
	return d
}

// grantWarning names what a role hands over when it holds one of rbac.PowerfulPermissions,
// for the warning beside a role picker; "" for an ordinary role.
func grantWarning(snap *rbac.Snapshot, roleID int64) string {
	r, ok := snap.Role(roleID)
	if !ok {
		return ""
	}
	labels := rbac.PowerfulGrants(snap.Catalog(), r.Permissions)
	if len(labels) == 0 {
		return ""
	}
	return fmt.Sprintf("%s grants administration: %s.", r.Name, strings.Join(labels, ", "))
}

// holdersText is "1 user holds this role" or "N users hold this role".
func holdersText(n int) string {
	if n == 1 {
		return "1 user holds this role"
	}
	return strconv.Itoa(n) + " users hold this role"
}
