package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/valid"
	authviews "github.com/rolegate/rolegate/views/auth"
)

// Single sign-on (PRODUCT.md §2.1): "Sign in with …" leaves for the practice's OpenID
// Connect provider and comes back to /login/sso/callback; the rules are internal/auth's.

func (a *app) ssoRedirectURL(c echo.Context) string { return a.linkBase(c) + "/login/sso/callback" }

// ssoStart sends the browser to the identity provider, keeping the flow in a sealed cookie.
func (a *app) ssoStart(c echo.Context) error {
	if a.SSO == nil {
		return echo.ErrNotFound
	}
	to, f, err := a.SSO.Begin(c.Request().Context(), a.ssoRedirectURL(c))
	if err != nil {
		return a.ssoUnavailable(c, err)
	}
	f.Next, f.Return = valid.LocalPath(c.QueryParam("next")), a.returnURL(c, c.QueryParam("rd"))
	if inv := c.QueryParam("invite"); inv != "" && len(inv) <= 100 {
		f.Invite = inv // checked when it comes back: the provider must vouch for its email
	}
	if err := a.Sessions.StartSSO(c.Response(), f); err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, to)
}

// ssoCallback finishes the sign-in the provider sent back.
func (a *app) ssoCallback(c echo.Context) error {
	if a.SSO == nil {
		return echo.ErrNotFound
	}
	refuse := func(status int, msg string) error {
		return a.renderStatus(c, status, authviews.Login(a.loginView(c, authviews.LoginView{Problem: msg})))
	}
	f, ok := a.Sessions.TakeSSO(c.Response(), c.Request())
	if !ok {
		return refuse(http.StatusBadRequest, "That sign-in did not start in this browser, or took too long. Try again.")
	}
	if c.QueryParam("error") != "" {
		return refuse(http.StatusUnauthorized, a.SSO.Name+" did not sign you in. Try again, or sign in with your password.")
	}
	if f.Invite != "" {
		return a.ssoAccept(c, f)
	}
	u, amr, err := a.SSO.Finish(c.Request().Context(), f, c.QueryParam("state"), c.QueryParam("code"), a.ssoRedirectURL(c), c.RealIP())
	var se *auth.SSOError
	switch {
	case errors.As(err, &se) && se.NoAccount:
		return refuse(http.StatusUnauthorized, "No active Rolegate account has the email "+u.Email+". Ask your administrator to invite you with it.")
	case errors.As(err, &se):
		return refuse(http.StatusUnauthorized, "Signing in with "+a.SSO.Name+" did not work. Try again, or sign in with your password.")
	case err != nil:
		return a.ssoUnavailable(c, err)
	}
	return a.afterPassword(c, u, amr, orElse(f.Next, "/"), a.returnURL(c, f.Return))
}

// ssoAccept accepts the invitation the flow carries for the identity the provider vouched
// for, then signs that person in.
func (a *app) ssoAccept(c echo.Context, f auth.SSOFlow) error {
	ctx := c.Request().Context()
	id, err := a.SSO.Identify(ctx, f, c.QueryParam("state"), c.QueryParam("code"), a.ssoRedirectURL(c), c.RealIP())
	var se *auth.SSOError
	if errors.As(err, &se) {
		return a.renderStatus(c, http.StatusUnauthorized, authviews.Login(a.loginView(c, authviews.LoginView{
			Problem: "Signing in with " + a.SSO.Name + " did not work, so the invitation is still open. Try its link again."})))
	}
	if err != nil {
		return a.ssoUnavailable(c, err)
	}
	userID, err := a.staffService().AcceptWithIdentity(ctx, f.Invite, id.Email, id.Name)
	if err != nil {
		return a.unusable(c, err)
	}
	u, err := a.Store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	a.flash(c, "Welcome. You are signed in with "+a.SSO.Name+".")
	return a.afterPassword(c, u, id.AMR, "/", "")
}

// ssoUnavailable answers when the identity provider could not be reached (discovery, the
// code exchange): the sign-in page saying so, not an error page.
func (a *app) ssoUnavailable(c echo.Context, err error) error {
	a.Logger.Error("single sign-on", "err", err)
	v := a.loginView(c, authviews.LoginView{Problem: "Signing in with " + a.SSO.Name + " is not available right now. Sign in with your password, or try again later."})
	return a.renderStatus(c, http.StatusBadGateway, authviews.Login(v))
}
