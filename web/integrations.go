package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/apps"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/tokens"
	iv "github.com/rolegate/rolegate/views/integrations"
)

// integrationsPage lists the tokens one may manage and offers a new one.
func (a *app) integrationsPage(c echo.Context) error {
	v, err := a.integrationsView(c, tokens.Form{Scopes: []string{tokens.ScopeCheck}}, "", nil)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, iv.Page(v))
}

func (a *app) integrationsView(c echo.Context, f tokens.Form, expires string, problems map[string]string) (iv.View, error) {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	v := iv.View{Page: a.page(c, "Integrations"), Name: f.Name, Expires: expires, Problems: problems, Scopes: map[string]bool{}}
	for _, sc := range f.Scopes {
		for _, one := range strings.Split(sc, ",") {
			v.Scopes[strings.TrimSpace(one)] = true
		}
	}
	for _, id := range snap.OrgsWhere(u.ID, rbac.PermIntegrations) {
		o, _ := snap.Org(id)
		v.Orgs = append(v.Orgs, iv.Option{ID: id, Name: o.Name, Selected: id == f.OrgID})
	}
	list, err := a.tokens.List(c.Request().Context(), u.ID)
	if err != nil {
		return v, err
	}
	day := func(unix int64, none string) string {
		if unix == 0 {
			return none
		}
		return formatTime(unix)
	}
	now := time.Now().Unix()
	for _, t := range list {
		r := iv.Row{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Org: t.OrgName, Scopes: strings.Join(t.Scopes, ", "), Creator: t.CreatorName,
			LastUsed: day(t.LastUsedAt, "never"), Expires: day(t.ExpiresAt, "never"), Live: true}
		switch {
		case t.RevokedAt != 0:
			r.Live, r.State = false, "revoked"
		case t.ExpiresAt != 0 && now >= t.ExpiresAt:
			r.Live, r.State = false, "expired"
		}
		v.Rows = append(v.Rows, r)
	}
	if err := a.appsInto(c, &v, apps.Form{}, nil); err != nil {
		return v, err
	}
	return v, nil
}

// tokenCreate makes a token and shows it once.
func (a *app) tokenCreate(c echo.Context) error {
	u, _ := currentUser(c)
	form, _ := c.FormParams()
	org, _ := strconv.ParseInt(c.FormValue("org"), 10, 64)
	f := tokens.Form{Name: c.FormValue("name"), OrgID: org, Scopes: form["scopes"]}
	expires := c.FormValue("expires")
	days, msg := tokens.ParseExpiry(expires)
	f.ExpiryDays = days
	made, problems, err := a.tokens.Create(c.Request().Context(), u.ID, f)
	if err != nil {
		return err
	}
	if msg != "" {
		if problems == nil {
			problems = map[string]string{}
		}
		problems["expires"] = msg
	}
	if len(problems) > 0 {
		v, err := a.integrationsView(c, f, expires, problems)
		if err != nil {
			return err
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, iv.Page(v))
	}
	v, err := a.integrationsView(c, tokens.Form{Scopes: []string{tokens.ScopeCheck}}, "", nil)
	if err != nil {
		return err
	}
	v.Secret, v.SecretName = made.Secret, made.Token.Name
	c.Response().Header().Set("Cache-Control", "no-store")
	return a.renderStatus(c, http.StatusOK, iv.Page(v))
}

// tokenRevoke ends a token at once.
func (a *app) tokenRevoke(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := a.tokens.Revoke(c.Request().Context(), u.ID, id); err != nil {
		return err
	}
	a.flash(c, "The token was revoked: whatever used it can no longer ask.")
	return redirect(c, "/integrations")
}

// appForm is the fields of an application as the person may fill them: the organisations
// where they manage integrations and the catalog's permissions.
func (a *app) appForm(c echo.Context, f apps.Form, problems map[string]string) iv.AppForm {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	out := iv.AppForm{Name: f.Name, Host: f.Host, Path: f.PathPrefix, Public: f.PublicPaths, RequireTwoStep: f.RequireTwoStep, Problems: problems}
	for _, id := range snap.OrgsWhere(u.ID, rbac.PermIntegrations) {
		o, _ := snap.Org(id)
		out.Orgs = append(out.Orgs, iv.Option{ID: id, Name: o.Name, Selected: id == f.OrgID})
	}
	for _, p := range snap.Catalog().Permissions() {
		out.Permissions = append(out.Permissions, iv.PermOption{Key: p.Key, Label: p.Label, Selected: p.Key == f.Permission})
	}
	return out
}

// appsInto fills the Protected applications section of v: the list and the Add form.
func (a *app) appsInto(c echo.Context, v *iv.View, f apps.Form, problems map[string]string) error {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	v.AppForm = a.appForm(c, f, problems)
	list, err := a.apps.List(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	for _, ap := range list {
		v.Apps = append(v.Apps, iv.AppRow{ID: ap.ID, Name: ap.Name, Rule: ap.Rule(), Org: ap.OrgName, Permission: snap.Catalog().Label(ap.Permission),
			PermissionKey: ap.Permission, Public: strings.Join(ap.PublicPaths, ", "), Enabled: ap.Enabled})
	}
	return nil
}

// appFormValues reads the fields of an application from the posted form.
func appFormValues(c echo.Context) apps.Form {
	org, _ := strconv.ParseInt(c.FormValue("org"), 10, 64)
	return apps.Form{Name: c.FormValue("name"), Host: c.FormValue("host"), PathPrefix: c.FormValue("path"), OrgID: org,
		Permission: c.FormValue("permission"), PublicPaths: c.FormValue("public"), RequireTwoStep: c.FormValue("two_step") == "on"}
}

// appCreate adds a protected application.
func (a *app) appCreate(c echo.Context) error {
	u, _ := currentUser(c)
	f := appFormValues(c)
	_, problems, err := a.apps.Create(c.Request().Context(), u.ID, f)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		v, err := a.integrationsView(c, tokens.Form{Scopes: []string{tokens.ScopeCheck}}, "", nil)
		if err == nil {
			err = a.appsInto(c, &v, f, problems)
		}
		if err != nil {
			return err
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, iv.Page(v))
	}
	a.flash(c, "The application "+strings.TrimSpace(f.Name)+" is protected: the proxy in front of it asks Rolegate from the next request.")
	return redirect(c, "/integrations")
}

// appEnable enables or disables a protected application.
func (a *app) appEnable(enabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, _ := currentUser(c)
		id, err := pathID(c)
		if err != nil {
			return err
		}
		if err := a.apps.SetEnabled(c.Request().Context(), u.ID, id, enabled); err != nil {
			return err
		}
		msg := "The application is disabled: it is closed to everyone until enabled again."
		if enabled {
			msg = "The application is enabled: its rule applies again."
		}
		a.flash(c, msg)
		return redirect(c, "/integrations")
	}
}

// appRemove removes a protected application (the page asks first).
func (a *app) appRemove(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := a.apps.Remove(c.Request().Context(), u.ID, id); err != nil {
		return err
	}
	a.flash(c, "The application was removed: its address is now closed to everyone (no rule names it).")
	return redirect(c, "/integrations")
}

// appEditPage shows an application's fields to change.
func (a *app) appEditPage(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ap, err := a.apps.Get(c.Request().Context(), u.ID, id)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, iv.EditApp(a.editView(c, ap, apps.FormOf(ap), nil)))
}

func (a *app) editView(c echo.Context, ap store.App, f apps.Form, problems map[string]string) iv.EditView {
	return iv.EditView{Page: a.page(c, "Edit "+ap.Name), ID: ap.ID, Name: ap.Name, Enabled: ap.Enabled, Form: a.appForm(c, f, problems)}
}

// appUpdate saves an application's fields.
func (a *app) appUpdate(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ap, err := a.apps.Get(ctx, u.ID, id)
	if err != nil {
		return err
	}
	f := appFormValues(c)
	problems, err := a.apps.Update(ctx, u.ID, id, f)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return a.renderStatus(c, http.StatusUnprocessableEntity, iv.EditApp(a.editView(c, ap, f, problems)))
	}
	a.flash(c, "The application "+strings.TrimSpace(f.Name)+" was saved: the proxy in front of it follows the new rule from its next request.")
	return redirect(c, "/integrations")
}
