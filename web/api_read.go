package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/roles"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

type apiRole struct {
	ID          int64    `json:"id"`
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Status      string   `json:"status"`
	System      bool     `json:"system"`
	Org         apiOrg   `json:"org"`
	Permissions []string `json:"permissions"`
}

func roleJSON(r rbac.Role, o rbac.Org) apiRole {
	status := "inactive"
	if r.Active {
		status = "active"
	}
	return apiRole{ID: r.ID, Code: r.Code, Name: r.Name, Status: status, System: r.System, Org: apiOrg{o.ID, o.Name},
		Permissions: append([]string{}, r.Permissions...)}
}

// apiRoles lists the roles that apply in an organisation: its own and those above it.
func (a *app) apiRoles(c echo.Context) error {
	org, given := queryOrg(c)
	o, err := a.apiOrg(c, org, given, viewRoles...)
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	out := []apiRole{}
	for _, id := range snap.Ancestry(o.ID) {
		owner, _ := snap.Org(id)
		for _, r := range snap.Roles() {
			if r.OrgID == id {
				out = append(out, roleJSON(r, owner))
			}
		}
	}
	return apiJSON(c, http.StatusOK, map[string]any{"org": apiOrg{o.ID, o.Name}, "roles": out})
}

// apiRoleOf reads :id as a role the token's creator may view (roles.CanView) within reach.
func (a *app) apiRoleOf(c echo.Context) (rbac.Role, rbac.Org, error) {
	snap := a.Access.Now()
	p, _ := currentPrincipal(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return rbac.Role{}, rbac.Org{}, store.ErrNotFound
	}
	r, ok := snap.Role(id)
	if !ok || !p.Reaches(snap, r.OrgID) || !roles.CanView(snap, p.UserID, r) {
		return rbac.Role{}, rbac.Org{}, store.ErrNotFound
	}
	o, _ := snap.Org(r.OrgID)
	return r, o, nil
}

func (a *app) apiRole(c echo.Context) error {
	r, o, err := a.apiRoleOf(c)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, roleJSON(r, o))
}

// apiRoleHolders lists who holds a role and where, among the people the creator may see.
func (a *app) apiRoleHolders(c echo.Context) error {
	r, o, err := a.apiRoleOf(c)
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	p, _ := currentPrincipal(c)
	scope := staff.ListScope(snap, p.UserID)
	type holding struct {
		User int64  `json:"user"`
		Name string `json:"name"`
		Org  apiOrg `json:"org"`
	}
	out := []holding{}
	for as := range snap.Assignments() {
		if as.RoleID != r.ID || !staff.InScope(snap, scope, as.UserID) {
			continue
		}
		u, _ := snap.User(as.UserID)
		where, _ := snap.Org(as.OrgID)
		out = append(out, holding{as.UserID, u.Name, apiOrg{where.ID, where.Name}})
	}
	return apiJSON(c, http.StatusOK, map[string]any{"role": roleJSON(r, o), "holders": out})
}

// apiUsers lists the staff of an organisation and below whom the creator may see.
func (a *app) apiUsers(c echo.Context) error {
	org, given := queryOrg(c)
	o, err := a.apiOrg(c, org, given, rbac.PermStaffView)
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	p, _ := currentPrincipal(c)
	q, _ := valid.Text(c.QueryParam("q"), false, 100)
	scope := staff.ListScope(snap, p.UserID)
	below := snap.Subtree(o.ID)
	orgs := []int64{}
	for _, id := range below {
		if scope.Everyone || slices.Contains(scope.OrgIDs, id) {
			orgs = append(orgs, id)
		}
	}
	// Pages by name: after is how many people earlier pages gave (the previous answer's next).
	limit, after := 100, 0
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return badRequest("limit is 1 to 500.", map[string]string{"limit": "1 to 500"})
		}
	}
	if v := c.QueryParam("after"); v != "" {
		if after, err = strconv.Atoi(v); err != nil || after < 0 {
			return badRequest("after is the next of the previous answer.", map[string]string{"after": "a cursor from next"})
		}
	}
	rows, total, err := a.Store.ListStaff(c.Request().Context(), store.StaffQuery{OrgIDs: orgs, Q: q, Status: "active", Limit: limit, Offset: after})
	if err != nil {
		return err
	}
	next := ""
	if after+len(rows) < total || (total > store.CountCap && len(rows) == limit) {
		next = strconv.Itoa(after + len(rows))
	}
	type person struct {
		ID    int64    `json:"id"`
		Name  string   `json:"name"`
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	}
	out := []person{}
	for _, r := range rows {
		pp := person{ID: r.UserID, Name: r.Name, Email: r.Email, Roles: []string{}}
		for _, h := range r.Roles {
			pp.Roles = append(pp.Roles, h.RoleCode)
		}
		out = append(out, pp)
	}
	return apiJSON(c, http.StatusOK, map[string]any{"org": apiOrg{o.ID, o.Name}, "users": out, "next": next})
}

// apiAudit lists audit entries of an organisation and below, oldest first, from a cursor.
func (a *app) apiAudit(c echo.Context) error {
	org, given := queryOrg(c)
	o, err := a.apiOrg(c, org, given, rbac.PermAuditView)
	if err != nil {
		return err
	}
	after, limit := int64(0), 100
	if raw := c.QueryParam("after"); raw != "" {
		if after, err = strconv.ParseInt(raw, 10, 64); err != nil || after < 0 {
			return badRequest("after must be an entry id (the next of the previous page).", map[string]string{"after": "an entry id"})
		}
	}
	if raw := c.QueryParam("limit"); raw != "" {
		if limit, err = strconv.Atoi(raw); err != nil || limit < 1 || limit > 1000 {
			return badRequest("limit must be 1 to 1000.", map[string]string{"limit": "1 to 1000"})
		}
	}
	snap := a.Access.Now()
	p, _ := currentPrincipal(c)
	within, err := audit.Within(snap, p.UserID, o.ID) // the audit page's rule for one organisation
	if err != nil {
		return err
	}
	words, _, err := a.auditWords(c)
	if err != nil {
		return err
	}
	out := []exportEntry{}
	err = a.Store.EachAudit(c.Request().Context(), store.AuditQuery{OrgIDs: within, AfterID: after, Limit: limit}, func(e audit.Entry) error {
		out = append(out, exportOf(e, words))
		return nil
	})
	if err != nil {
		return err
	}
	next := ""
	if len(out) == limit {
		next = strconv.FormatInt(out[len(out)-1].ID, 10)
	}
	return apiJSON(c, http.StatusOK, map[string]any{"entries": out, "next": next})
}

// maxPreviewPermissions bounds a preview request (the catalog has a few dozen keys).
const maxPreviewPermissions = 1000

// apiRolePreview answers what giving a role exactly the permissions sent would do (PRODUCT.md
// §2.12), writing nothing: the impact preview of the Edit role dialog. The creator must be
// able to edit the role; people they may not see are counted, not named.
func (a *app) apiRolePreview(c echo.Context) error {
	r, o, err := a.apiRoleOf(c)
	if err != nil {
		return err
	}
	var body struct {
		Permissions *[]string `json:"permissions"`
	}
	if err := readJSON(c, &body); err != nil {
		return err
	}
	if body.Permissions == nil || len(*body.Permissions) > maxPreviewPermissions {
		return badRequest("permissions must list every permission the role would hold (catalog keys, at most 1,000).", map[string]string{"permissions": "catalog keys"})
	}
	perms := *body.Permissions
	snap := a.Access.Now()
	for _, k := range perms {
		if !snap.Catalog().Has(k) {
			return badRequest("permissions: "+k+" is not in the catalog.", map[string]string{"permissions": "catalog keys"})
		}
	}
	row, err := a.Store.Role(c.Request().Context(), r.ID)
	if err != nil {
		return err
	}
	p, _ := currentPrincipal(c)
	im, err := a.roleService().PreviewUpdate(p.UserID, row, roles.Form{Permissions: perms})
	if err != nil {
		return err
	}
	type person struct {
		ID   int64    `json:"id"`
		Name string   `json:"name"`
		Orgs []apiOrg `json:"orgs"`
	}
	type change struct {
		Permission  string   `json:"permission"`
		Label       string   `json:"label"`
		Gain        []person `json:"gain"`
		Lose        []person `json:"lose"`
		UnnamedGain int      `json:"unnamed_gain"`
		UnnamedLose int      `json:"unnamed_lose"`
	}
	people := func(as []rbac.Affected) []person {
		out := make([]person, 0, len(as))
		for _, x := range as {
			pp := person{ID: x.UserID, Name: x.Name, Orgs: []apiOrg{}}
			for _, id := range x.Orgs {
				where, _ := snap.Org(id)
				pp.Orgs = append(pp.Orgs, apiOrg{where.ID, where.Name})
			}
			out = append(out, pp)
		}
		return out
	}
	changes := []change{}
	for _, pi := range staff.Readable(snap, p.UserID, r.OrgID, im).Perms {
		changes = append(changes, change{pi.Perm.Key, pi.Perm.Label, people(pi.Gain), people(pi.Lose), pi.HiddenGain, pi.HiddenLose})
	}
	return apiJSON(c, http.StatusOK, map[string]any{"role": roleJSON(r, o), "people": im.People(), "changes": changes})
}
