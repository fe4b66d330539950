package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/orgs"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	ev "github.com/rolegate/rolegate/views/emergency"
	iv "github.com/rolegate/rolegate/views/impact"
	ov "github.com/rolegate/rolegate/views/orgs"
)

func (a *app) orgService() *orgs.Service {
	s := &orgs.Service{Store: a.Store, Access: a.Access}
	if a.Auth != nil {
		s.SystemRoles = a.Auth.SystemRoles
	}
	return s
}

// parseOrgID reads an organisation id from a form or query value; "" is 0 (none).
func parseOrgID(raw string) (int64, error) {
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, store.ErrNotFound
	}
	return n, nil
}

// orgsTree is the organisations page: the organisations the user manages, as a tree.
func (a *app) orgsTree(c echo.Context) error {
	parent, _ := parseOrgID(c.QueryParam("parent"))
	v, err := a.treeView(c, "", parent, nil)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, ov.Tree(v))
}

func (a *app) treeView(c echo.Context, name string, parent int64, problems valid.Problems) (ov.TreeView, error) {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	rows, err := a.Store.Organisations(c.Request().Context())
	if err != nil {
		return ov.TreeView{}, err
	}
	manageable := a.orgService().Manageable(u.ID)
	children := map[int64][]store.OrgRow{}
	var roots []store.OrgRow
	for _, o := range rows {
		if !slices.Contains(manageable, o.ID) {
			continue
		}
		if slices.Contains(manageable, o.ParentID) {
			children[o.ParentID] = append(children[o.ParentID], o)
		} else {
			roots = append(roots, o)
		}
	}
	staff := a.Access.Now().StaffCounts()
	var build func(o store.OrgRow) ov.Node
	build = func(o store.OrgRow) ov.Node {
		n := ov.Node{ID: o.ID, Name: o.Name, Staff: staff[o.ID], Roles: o.Roles, OneRole: o.OneRole}
		for _, ch := range children[o.ID] {
			n.Children = append(n.Children, build(ch))
		}
		return n
	}
	v := ov.TreeView{Page: a.page(c, "Organisations"), Name: name, TopLevel: snap.IsGlobalAdmin(u.ID), Problems: problems}
	for _, r := range roots {
		v.Roots = append(v.Roots, build(r))
	}
	for _, id := range orgs.TreeOrder(snap, manageable) {
		v.Parents = append(v.Parents, ov.Option{ID: id, Label: orgs.Label(snap, id), Selected: id == parent})
	}
	return v, nil
}

// orgCreate creates an organisation under the one chosen (or a top-level one, for a global
// admin) and goes back to the tree.
func (a *app) orgCreate(c echo.Context) error {
	parent, err := parseOrgID(c.FormValue("parent"))
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	name := c.FormValue("name")
	_, problems, err := a.orgService().Create(c.Request().Context(), u.ID, parent, name)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		v, err := a.treeView(c, name, parent, problems)
		if err != nil {
			return err
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, ov.Tree(v))
	}
	a.flash(c, fmt.Sprintf("Organisation “%s” created.", strings.TrimSpace(name)))
	return redirect(c, "/orgs")
}

// loadOrg finds the organisation of the :id parameter and checks the user manages it.
func (a *app) loadOrg(c echo.Context) (store.OrgRow, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.OrgRow{}, store.ErrNotFound
	}
	o, err := a.Store.Organisation(c.Request().Context(), id)
	if err != nil {
		return o, err
	}
	return o, a.authorize(c, o.ID, rbac.PermOrgsManage)
}

// orgForm is what the organisation page's forms show: the saved values, with what a rejected
// form sent in their place.
type orgForm struct {
	Name     string
	Parent   int64
	RoleMode string
	Limit    string
	TwoStep  string
	SSO      string            // yes or no
	Defaults map[string]string // submitted defaults, by key
}

func formOf(o store.OrgRow) orgForm {
	f := orgForm{Name: o.Name, Parent: o.ParentID, RoleMode: "many", Limit: "no", TwoStep: o.TwoStep, SSO: "no"}
	if o.SSORequired {
		f.SSO = "yes"
	}
	if o.OneRole {
		f.RoleMode = "one"
	}
	if o.LimitVisibility {
		f.Limit = "yes"
	}
	return f
}

// orgPage shows an organisation's name, place, settings and permission defaults.
func (a *app) orgPage(c echo.Context) error {
	o, err := a.loadOrg(c)
	if err != nil {
		return err
	}
	v, err := a.orgView(c, o, formOf(o), nil)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, ov.Org(v))
}

func (a *app) orgView(c echo.Context, o store.OrgRow, f orgForm, problems valid.Problems) (ov.OrgView, error) {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	saved, err := a.Store.OrgDefaults(c.Request().Context(), o.ID)
	if err != nil {
		return ov.OrgView{}, err
	}
	ssoName := ""
	if a.SSO != nil {
		ssoName = a.SSO.Name
	}
	v := ov.OrgView{Page: a.page(c, o.Name), SSOName: ssoName, ID: o.ID, Name: o.Name, Staff: snap.StaffCounts()[o.ID], Roles: o.Roles, NameValue: f.Name,
		RoleMode: f.RoleMode, LimitVisibility: f.Limit, TwoStep: f.TwoStep, SSO: f.SSO, Problems: problems,
		CanViewRoles: snap.Can(u.ID, o.ID, rbac.PermRolesManage) || snap.Can(u.ID, o.ID, rbac.PermStaffView), ReportPath: a.reportPath(c, o.ID)}
	chain := snap.Ancestry(o.ID)
	for i := len(chain) - 1; i > 0; i-- {
		anc, _ := snap.Org(chain[i])
		v.Path = append(v.Path, ov.Crumb{ID: anc.ID, Name: anc.Name, Link: snap.Can(u.ID, anc.ID, rbac.PermOrgsManage)})
	}
	v.Parents, v.MoveNote = a.moveTargets(snap, u.ID, o, f.Parent)
	v.Emergency = ev.Settings(a.emergencySettingsView(c, o.ID, ""))
	v.DefaultsImpact = iv.View{Endpoint: orgDefaultsImpactPath(o.ID)}
	for _, g := range snap.Catalog().Categories() {
		group := ov.DefaultGroup{Name: g.Name}
		for _, p := range g.Permissions {
			effect := "inherit"
			if e, ok := saved[p.Key]; ok {
				effect = e
			}
			if e, ok := f.Defaults[p.Key]; ok {
				effect = e
			}
			group.Rows = append(group.Rows, ov.DefaultRow{Key: p.Key, Label: p.Label, Description: p.Description,
				Field: orgs.DefaultField(p.Key), Effect: effect, Mandatory: p.Mandatory, AllowLocked: !snap.CanGrant(u.ID, o.ID, p.Key),
				Inherited: inheritedText(snap, o.ID, p), Problem: problems[orgs.DefaultField(p.Key)]})
		}
		v.Groups = append(v.Groups, group)
	}
	return v, nil
}

// moveTargets lists where the user may move o (organisations they manage, not o nor below
// it), or says why there is nowhere.
func (a *app) moveTargets(snap *rbac.Snapshot, userID int64, o store.OrgRow, selected int64) ([]ov.Option, string) {
	switch {
	case o.ParentID == 0 && !snap.IsGlobalAdmin(userID):
		return nil, "It is a top-level organisation: only a global admin can move it."
	case o.ParentID != 0 && !snap.Can(userID, o.ParentID, rbac.PermOrgsManage):
		parent, _ := snap.Org(o.ParentID)
		return nil, "It is inside " + parent.Name + ", which you do not manage, so you cannot move it."
	}
	var out []ov.Option
	for _, id := range orgs.TreeOrder(snap, a.orgService().Manageable(userID)) {
		if !snap.IsWithin(id, o.ID) {
			out = append(out, ov.Option{ID: id, Label: orgs.Label(snap, id), Selected: id == selected})
		}
	}
	if len(out) == 0 {
		return nil, "There is no other organisation you manage to move it under."
	}
	return out, ""
}

// inheritedText says what decides a permission here when this organisation sets no default.
func inheritedText(snap *rbac.Snapshot, orgID int64, p rbac.Permission) string {
	if p.Mandatory {
		return "Every member holds it."
	}
	e, from := snap.InheritedDefault(orgID, p.Key)
	o, _ := snap.Org(from)
	switch e {
	case rbac.Allow:
		return "Allowed by the default of " + o.Name + "."
	case rbac.Deny:
		return "Denied by the default of " + o.Name + "."
	}
	return "Not granted (no default above)."
}

// orgAnswer finishes a form on the organisation page: back to the page with a flash, or the
// page with the problems beside the fields (422) and what was sent kept.
func (a *app) orgAnswer(c echo.Context, o store.OrgRow, f orgForm, problems valid.Problems, err error, done string) error {
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		v, err := a.orgView(c, o, f, problems)
		if err != nil {
			return err
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, ov.Org(v))
	}
	a.flash(c, done)
	return redirect(c, ov.OrgURL(o.ID))
}

// orgRename renames the organisation.
func (a *app) orgRename(c echo.Context) error {
	o, err := a.loadOrg(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	f := formOf(o)
	f.Name = c.FormValue("name")
	problems, err := a.orgService().Rename(c.Request().Context(), u.ID, o.ID, f.Name)
	return a.orgAnswer(c, o, f, problems, err, "Organisation renamed.")
}

// orgMove moves the organisation, with everything below it, under another.
func (a *app) orgMove(c echo.Context) error {
	o, err := a.loadOrg(c)
	if err != nil {
		return err
	}
	f := formOf(o)
	if f.Parent, err = parseOrgID(c.FormValue("parent")); err != nil {
		return err
	}
	u, _ := currentUser(c)
	problems, err := a.orgService().Move(c.Request().Context(), u.ID, o.ID, f.Parent)
	return a.orgAnswer(c, o, f, problems, err, "Organisation moved.")
}

// orgSettings saves the role mode and member visibility.
func (a *app) orgSettings(c echo.Context) error {
	o, err := a.loadOrg(c)
	if err != nil {
		return err
	}
	f := formOf(o)
	f.RoleMode, f.Limit, f.TwoStep = c.FormValue("role_mode"), c.FormValue("limit_visibility"), c.FormValue("two_step")
	sso := c.FormValue("sso_required")
	if sso != "" {
		f.SSO = sso
	}
	u, _ := currentUser(c)
	problems, err := a.orgService().SaveSettings(c.Request().Context(), u.ID, o.ID, orgs.Settings{RoleMode: f.RoleMode, LimitVisibility: f.Limit,
		TwoStep: f.TwoStep, SSORequired: sso})
	return a.orgAnswer(c, o, f, problems, err, "Settings saved.")
}

// orgDefaults saves the permission defaults the form sends (one field per permission).
func (a *app) orgDefaults(c echo.Context) error {
	o, err := a.loadOrg(c)
	if err != nil {
		return err
	}
	f := formOf(o)
	if f.Defaults, err = defaultsValues(c); err != nil {
		return err
	}
	u, _ := currentUser(c)
	problems, err := a.orgService().SaveDefaults(c.Request().Context(), u.ID, o.ID, f.Defaults, confirmation(c))
	if im, held := heldImpact(err); held {
		v, err := a.orgView(c, o, f, nil)
		if err != nil {
			return err
		}
		v.DefaultsImpact = a.impactView(c, im, o.ID, orgDefaultsImpactPath(o.ID))
		v.DefaultsImpact.Held = true
		return a.renderStatus(c, http.StatusConflict, ov.Org(v))
	}
	return a.orgAnswer(c, o, f, problems, err, "Permission defaults saved.")
}

// defaultsValues reads the defaults form: one field per permission (orgs.DefaultField).
func defaultsValues(c echo.Context) (map[string]string, error) {
	form, err := c.FormParams()
	if err != nil {
		return nil, echo.ErrBadRequest
	}
	out := map[string]string{}
	for k, vals := range form {
		if key, ok := strings.CutPrefix(k, orgs.DefaultFieldPrefix); ok && len(vals) > 0 {
			out[key] = vals[len(vals)-1]
		}
	}
	return out, nil
}
