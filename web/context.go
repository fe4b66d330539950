package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// Context keys; unexported so only the typed accessors below read them.
const (
	liveKey = "rolegate.live" // *auth.Live, shared with other requests: read, never change
	// owedKey holds instead the *auth.Live of a session signed in with a password alone by
	// someone a policy requires the second step of: it reaches only the pages that set the
	// second step up, and is nobody everywhere else.
	owedKey = "rolegate.owed"
	csrfKey = "rolegate.csrf"
)

func currentLive(c echo.Context) (*auth.Live, bool) {
	l, ok := c.Get(liveKey).(*auth.Live)
	return l, ok && l != nil
}

// currentUser is the signed-in user of the request, if any.
func currentUser(c echo.Context) (store.User, bool) {
	if l, ok := currentLive(c); ok {
		return l.User, true
	}
	return store.User{}, false
}

// currentOwed is the request's session that owes the second step, if that is what it has.
func currentOwed(c echo.Context) (*auth.Live, bool) {
	l, ok := c.Get(owedKey).(*auth.Live)
	return l, ok && l != nil
}

// enrollingUser is the signed-in user of the request, or the one whose session owes the
// second step: for the pages that set it up.
func enrollingUser(c echo.Context) (store.User, store.Session, bool) {
	if l, ok := currentLive(c); ok {
		return l.User, l.Session, true
	}
	if l, ok := currentOwed(c); ok {
		return l.User, l.Session, true
	}
	return store.User{}, store.Session{}, false
}

// currentOrOwedSession is the request's session, whether or not it owes the second step:
// signing in again or out ends it either way.
func currentOrOwedSession(c echo.Context) (store.Session, bool) {
	_, s, ok := enrollingUser(c)
	return s, ok
}

// currentSession is the live session of the request, if any.
func currentSession(c echo.Context) (store.Session, bool) {
	if l, ok := currentLive(c); ok {
		return l.Session, true
	}
	return store.Session{}, false
}

// csrfToken is the token forms and htmx must send back.
func csrfToken(c echo.Context) string {
	t, _ := c.Get(csrfKey).(string)
	return t
}

func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// loadSession reads the database's change counters and brings the permission snapshot up to
// them, so what another process committed (a CLI command, a restore) decides this request;
// then it finds who asks (a session, or for the API a bearer token), and sends every page to
// /setup until setup has run. The request's context carries both, the counters (which the
// session, token, application and settings caches check) and who acts (which the store
// writes into the audit log). It runs before the CSRF check, so a refused check is audited
// under the person it was made in the name of.
func (a *app) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/static/") || p == "/healthz" {
			// Static files need nothing; /healthz asks the database itself and says 503.
			return next(c)
		}
		ctx, v, err := a.Store.WithVersions(c.Request().Context())
		if err != nil {
			return err
		}
		if err := a.Access.CatchUp(ctx, v.Access); err != nil {
			return err
		}
		need, err := a.needsSetup(ctx)
		if err != nil {
			return err
		}
		if need {
			c.SetRequest(c.Request().WithContext(ctx))
			if p != "/setup" && p != "/favicon.ico" {
				return redirect(c, "/setup")
			}
			return next(c)
		}
		actor := audit.Actor{Client: c.RealIP()}
		if isAPI(c) {
			// The API never reads cookies: a bearer token or nothing.
			if err := a.apiAuth(ctx, c, &actor); err != nil {
				return err
			}
		} else {
			live, err := a.Sessions.Load(ctx, c.Request())
			switch {
			case err == nil && !live.Session.SecondStep() && a.Access.Now().TwoStepRequired(live.User.ID):
				c.Set(owedKey, live) // checked on every request: a policy turned on applies at once
				actor.UserID = live.User.ID
			case err == nil:
				c.Set(liveKey, live)
				actor.UserID = live.User.ID
				actor.StepUpDue = live.Session.SecondStep() && time.Since(time.Unix(live.Session.SecondStepAt, 0)) > audit.StepUpAge
			case !errors.Is(err, auth.ErrNoSession):
				return err
			}
		}
		c.SetRequest(c.Request().WithContext(audit.WithActor(ctx, actor)))
		return next(c)
	}
}

// require enforces a route's access rule before its handler runs (default deny: an unset
// rule never reaches here because register refuses it).
func (a *app) require(acc Access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if acc.kind == accessPublic {
				return next(c)
			}
			if acc.kind == accessToken {
				if err := a.requireToken(c, acc.perms[0]); err != nil {
					return err
				}
				return next(c)
			}
			u, ok := currentUser(c)
			if !ok {
				if live, owed := currentOwed(c); owed {
					if acc.kind == accessEnrolling {
						return next(c)
					}
					return a.toSecondStep(c, live)
				}
				return toLogin(c)
			}
			if acc.kind == accessPermission && !a.canSomewhere(u, acc.perms...) {
				return rbac.NeedsAny(acc.perms...)
			}
			if acc.kind == accessGlobalAdmin && !u.GlobalAdmin {
				return rbac.GlobalAdminOnly("", nil)
			}
			return next(c)
		}
	}
}

// canSomewhere answers whether u holds any of perms in at least one organisation. The route
// check uses it; handlers then check the organisation the request is about.
func (a *app) canSomewhere(u store.User, perms ...string) bool {
	snap := a.Access.Now()
	for _, p := range perms {
		if len(snap.OrgsWhere(u.ID, p)) > 0 {
			return true
		}
	}
	return false
}

// authorize refuses the request unless the user holds perm in org.
func (a *app) authorize(c echo.Context, orgID int64, perm string) error {
	u, _ := currentUser(c)
	if !a.Access.Now().Can(u.ID, orgID, perm) {
		return rbac.NeedsAny(perm) // as the route check words it
	}
	return nil
}

// toLogin sends someone without a session to the sign-in page, remembering where they were
// going (a local path only).
func toLogin(c echo.Context) error {
	next := c.Request().URL.RequestURI()
	if isHTMX(c) {
		next = "/"
		if cur, err := url.Parse(c.Request().Header.Get("HX-Current-URL")); err == nil {
			next = cur.RequestURI()
		}
	} else if c.Request().Method != http.MethodGet {
		next = "/"
	}
	target := "/login"
	if next = valid.LocalPath(next); next != "/" {
		target += "?next=" + url.QueryEscape(next)
	}
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// redirect answers with a 303 to a local path, or HX-Redirect for htmx.
func redirect(c echo.Context, to string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
