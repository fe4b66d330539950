package web

import (
	"errors"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	authviews "github.com/rolegate/rolegate/views/auth"
)

// loginForm shows the sign-in form, or sends someone already signed in on their way.
func (a *app) loginForm(c echo.Context) error {
	next := valid.LocalPath(c.QueryParam("next"))
	back := a.returnURL(c, c.QueryParam("rd"))
	if _, ok := currentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, orElse(back, next))
	}
	allowReturn(c, back)
	return a.renderStatus(c, http.StatusOK, authviews.Login(a.loginView(c, authviews.LoginView{Next: next, Return: back})))
}

// loginView fills in the sign-in page around v: the page, and the single sign-on button.
func (a *app) loginView(c echo.Context, v authviews.LoginView) authviews.LoginView {
	v.Page = a.page(c, "Sign in")
	v.Passkeys = a.passkeysHere(c)
	if a.SSO != nil {
		v.SSOName = a.SSO.Name
		q := url.Values{}
		if v.Next != "" && v.Next != "/" {
			q.Set("next", v.Next)
		}
		if v.Return != "" {
			q.Set("rd", v.Return)
		}
		v.SSOURL = "/login/sso"
		if len(q) > 0 {
			v.SSOURL += "?" + q.Encode()
		}
	}
	return v
}

// returnURL is rd (where forward-auth sent the person from) when it is an http(s) address on
// the portal's own host or the host of a protected application; "" otherwise, so the sign-in
// page can never be used to send someone to another site.
func (a *app) returnURL(c echo.Context, rd string) string {
	if rd == "" || len(rd) > 2000 {
		return ""
	}
	u, err := url.Parse(rd)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	host := strings.ToLower(u.Host)
	portal := strings.ToLower(c.Request().Host)
	if a.Config.BaseURL != "" {
		if b, err := url.Parse(a.Config.BaseURL); err == nil {
			portal = strings.ToLower(b.Host)
		}
	}
	if host != portal && !a.appHost(c, host) {
		return ""
	}
	return u.String()
}

// appHost reports whether host (with its port, if any) is a protected application's.
func (a *app) appHost(c echo.Context, host string) bool {
	rules, err := a.apps.Rules(c.Request().Context())
	if err != nil {
		a.Logger.Error("protected applications", "err", err)
		return false
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	for _, h := range rules.Hosts() {
		if h == host || h == name {
			return true
		}
	}
	return false
}

// allowReturn lets the sign-in form's redirect reach back's origin (CSP form-action).
func allowReturn(c echo.Context, back string) {
	if u, err := url.Parse(back); err == nil && back != "" {
		c.Response().Header().Set("Content-Security-Policy", policy(u.Scheme+"://"+u.Host))
	}
}

func orElse(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// loginSubmit checks the email and password and starts a new session (rotating any old one).
func (a *app) loginSubmit(c echo.Context) error {
	email, password := c.FormValue("email"), c.FormValue("password")
	next := valid.LocalPath(c.FormValue("next"))
	v := a.loginView(c, authviews.LoginView{Email: email, Next: next, Return: a.returnURL(c, c.FormValue("rd"))})
	allowReturn(c, v.Return)
	if len(v.Email) > valid.MaxEmail {
		v.Email = ""
	}
	u, err := a.Auth.Authenticate(c.Request().Context(), a.credentials(c, email, password))
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &te):
		v.WaitSec = int(math.Ceil(te.Wait.Seconds()))
		v.Problem = "Too many failed attempts. Wait a little before trying again."
		c.Response().Header().Set("Retry-After", strconv.Itoa(v.WaitSec))
		return a.renderStatus(c, http.StatusTooManyRequests, authviews.Login(v))
	case errors.Is(err, auth.ErrBadCredentials):
		v.Problem = "That email and password do not match an active account."
		return a.renderStatus(c, http.StatusUnauthorized, authviews.Login(v))
	case errors.Is(err, auth.ErrBusy):
		// Every hashing slot stayed taken: the memory bound at work. Nothing was counted.
		v.Problem = "Rolegate is answering many sign-ins at once. Try again in a moment."
		c.Response().Header().Set("Retry-After", "1")
		return a.renderStatus(c, http.StatusServiceUnavailable, authviews.Login(v))
	case err != nil:
		return err
	}
	return a.afterPassword(c, u, store.AMRPassword, next, a.returnURL(c, c.FormValue("rd")))
}

// credentials are the sign-in attempt of this request for email: with the client address and
// the browser's device cookie for that account, which the throttle counts on its own.
func (a *app) credentials(c echo.Context, email, password string) auth.Credentials {
	return auth.Credentials{Email: email, Password: password, Addr: c.RealIP(), Device: a.Sessions.Device(c.Request(), email)}
}

// signIn starts a session for u, who has just proved their password (and, when amr says so,
// the second step): the session the request had ends (the id rotates), the pre-sign-in CSRF
// cookie is dropped, and the browser gets a device cookie for u's account.
func (a *app) signIn(c echo.Context, u store.User, amr string) error {
	var old int64
	if s, ok := currentOrOwedSession(c); ok {
		old = s.ID
	}
	if _, err := a.Sessions.Start(c.Response(), c.Request(), u.ID, old, c.RealIP(), amr); err != nil {
		return err
	}
	a.dropAnonymousCSRF(c)
	return a.Sessions.RememberDevice(c.Response(), c.Request(), u.Email)
}

// logout ends the current session on the server and removes the cookie.
func (a *app) logout(c echo.Context) error {
	if s, ok := currentOrOwedSession(c); ok {
		if err := a.Store.DeleteSession(c.Request().Context(), s.ID); err != nil {
			return err
		}
	}
	if err := a.Sessions.Clear(c.Response(), c.Request()); err != nil {
		return err
	}
	a.dropAnonymousCSRF(c)
	a.flash(c, "You have signed out.")
	return redirect(c, "/login")
}
