package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	"github.com/rolegate/rolegate/views/account"
)

// accountPage shows who you are, the password form and your sessions.
func (a *app) accountPage(c echo.Context) error {
	v, err := a.accountView(c, nil)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, account.Page(v))
}

func (a *app) accountView(c echo.Context, problems map[string]string) (account.View, error) {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	cur, _ := currentSession(c)
	v := account.View{Page: a.page(c, "Account"), Name: u.Name, NameValue: u.Name, Email: u.Email, Problems: problems}
	orgs, err := a.Store.OrganisationsOf(ctx, u.ID)
	if err != nil {
		return v, err
	}
	for _, o := range orgs {
		v.Organisations = append(v.Organisations, o.Name)
	}
	ts, err := a.Store.TwoStepOf(ctx, u.ID)
	if err != nil {
		return v, err
	}
	v.TwoStepOn, v.RecoveryLeft, v.PasskeysHere = ts.TOTP, ts.RecoveryLeft, a.passkeysHere(c)
	keys, err := a.Store.Passkeys(ctx, u.ID)
	if err != nil {
		return v, err
	}
	for _, k := range keys {
		row := account.PasskeyRow{ID: k.ID, Name: k.Name, Added: formatTime(k.CreatedAt), LastUsed: "Never"}
		if k.LastUsedAt > 0 {
			row.LastUsed = formatTime(k.LastUsedAt)
		}
		v.Passkeys = append(v.Passkeys, row)
	}
	sessions, err := a.Store.UserSessions(ctx, u.ID)
	if err != nil {
		return v, err
	}
	for _, s := range sessions {
		v.Sessions = append(v.Sessions, account.SessionRow{
			ID: s.ID, Device: describeAgent(s.UserAgent), ClientIP: s.ClientIP,
			Started: formatTime(s.CreatedAt), LastSeen: formatTime(s.LastSeenAt), IsCurrent: s.ID == cur.ID,
		})
	}
	return v, nil
}

// changePassword checks the current password, sets the new one and ends other sessions. The
// check is throttled like sign-in: too many wrong current passwords answer 429.
func (a *app) changePassword(c echo.Context) error {
	u, _ := currentUser(c)
	cur, _ := currentSession(c)
	var orgNames []string
	snap := a.Access.Now()
	for _, id := range snap.MemberOrgs(u.ID) {
		o, _ := snap.Org(id)
		orgNames = append(orgNames, o.Name)
	}
	problems, err := a.Auth.ChangePassword(c.Request().Context(), u, a.credentials(c, u.Email, c.FormValue("current_password")),
		c.FormValue("password"), cur.ID, orgNames...)
	status := http.StatusUnprocessableEntity
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(te.Wait.Seconds()))))
		problems, err = valid.Problems{"current_password": "Too many wrong passwords. Wait a little before trying again."}, nil
		status = http.StatusTooManyRequests
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		v, err := a.accountView(c, problems)
		if err != nil {
			return err
		}
		return a.renderStatus(c, status, account.Page(v))
	}
	a.flash(c, "Your password was changed. Every other session was signed out.")
	return redirect(c, "/account")
}

// changeName sets your own name.
func (a *app) changeName(c echo.Context) error {
	u, _ := currentUser(c)
	problems, err := a.Auth.Rename(c.Request().Context(), u, c.FormValue("name"))
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		v, err := a.accountView(c, problems)
		if err != nil {
			return err
		}
		v.NameValue = c.FormValue("name")
		return a.renderStatus(c, http.StatusUnprocessableEntity, account.Page(v))
	}
	a.flash(c, "Your name was changed.")
	return redirect(c, "/account")
}

// endSession signs one of your other browsers out.
func (a *app) endSession(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	if err := a.Store.DeleteUserSession(c.Request().Context(), u.ID, id); err != nil {
		return err
	}
	a.flash(c, "That session was signed out.")
	return redirect(c, "/account")
}

// endAllSessions signs you out everywhere, this browser included.
func (a *app) endAllSessions(c echo.Context) error {
	u, _ := currentUser(c)
	if err := a.Store.DeleteUserSessions(c.Request().Context(), u.ID, a.Access.Now().MemberOrgs(u.ID), u.ID); err != nil {
		return err
	}
	if err := a.Sessions.Clear(c.Response(), c.Request()); err != nil {
		return err
	}
	a.dropAnonymousCSRF(c)
	a.flash(c, "You have been signed out everywhere.")
	return redirect(c, "/login")
}

func formatTime(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("2 Jan 2006, 15:04 UTC")
}

// describeAgent turns a User-Agent into words a person recognises ("Firefox on Windows").
func describeAgent(ua string) string {
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Chrome (headless)"},
		{"Chromium/", "Chromium"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}
