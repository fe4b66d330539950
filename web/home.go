package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/views/home"
)

// home is the start page after signing in.
func (a *app) home(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	orgs, err := a.Store.OrganisationsOf(ctx, u.ID)
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(u.Name, " ")
	v := home.View{Page: a.page(c, "Home"), FirstName: first, GlobalAdmin: u.GlobalAdmin}
	for _, o := range orgs {
		n, err := a.Store.CountStaff(ctx, o.ID)
		if err != nil {
			return err
		}
		v.Organisations = append(v.Organisations, home.Org{Name: o.Name, Staff: n})
	}
	return a.renderStatus(c, http.StatusOK, home.Page(v))
}
