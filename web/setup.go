package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	authviews "github.com/rolegate/rolegate/views/auth"
)

// setupForm shows the first-run form while no user exists.
func (a *app) setupForm(c echo.Context) error {
	need, err := a.needsSetup(c.Request().Context())
	if err != nil {
		return err
	}
	if !need {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return a.renderStatus(c, http.StatusOK, authviews.Setup(authviews.SetupView{Page: a.page(c, "Set up")}))
}

// setupSubmit creates the first organisation and the global admin, and signs them in.
func (a *app) setupSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	f := auth.SetupForm{OrgName: c.FormValue("org"), Name: c.FormValue("name"), Email: c.FormValue("email"), Password: c.FormValue("password")}
	u, problems, err := a.Auth.Setup(ctx, f)
	if errors.Is(err, store.ErrAlreadySetUp) {
		a.setupDone.Store(true)
		return rbac.Refused("Setup has already been completed. Sign in instead.", err)
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		f.Validate() // show the cleaned values back
		return a.renderStatus(c, http.StatusUnprocessableEntity, authviews.Setup(authviews.SetupView{
			Page: a.page(c, "Set up"), OrgName: f.OrgName, Name: f.Name, Email: f.Email, Problems: problems}))
	}
	a.setupDone.Store(true)
	if err := a.signIn(c, u, store.AMRPassword); err != nil {
		return err
	}
	a.flash(c, "Welcome to Rolegate. Your organisation is ready.")
	return c.Redirect(http.StatusSeeOther, "/")
}
