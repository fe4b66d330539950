package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/valid"
	errviews "github.com/rolegate/rolegate/views/errors"
)

// handleError is the one place errors become responses. People see a plain explanation and a
// status; the log gets the real error with the request id.
func (a *app) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	// The answer is written even when the request's context has ended (a body that never
	// arrived, a client gone): the status is what the log records.
	c.SetRequest(c.Request().WithContext(context.WithoutCancel(c.Request().Context())))
	if isAPI(c) {
		a.apiProblem(c, err)
		return
	}
	v := errviews.View{Status: http.StatusInternalServerError, Heading: "Something went wrong",
		Message: "The request could not be completed. Nothing was changed. Try again in a moment; if it keeps happening, tell your administrator the time it happened."}
	if errors.Is(err, audit.ErrStepUp) {
		// Nothing was changed; the code is asked, then the page the action came from.
		_ = redirect(c, "/step-up?next="+url.QueryEscape(a.cameFrom(c)))
		return
	}
	var fe *rbac.ForbiddenError
	var he *echo.HTTPError
	var le *rbac.LockoutError
	switch {
	case errors.As(err, &le):
		v.Status, v.Heading = http.StatusConflict, "Nothing was changed: this would lock people out"
		if le.GlobalAdmin {
			v.Message = "The portal must keep at least one active global admin."
		} else {
			v.Message = le.OrgName + " must keep at least one person who can manage both roles and staff. Give that access to someone else first."
		}
	case errors.As(err, &fe):
		// The one forbidden error, whichever domain or middleware refused.
		a.auditDenied(c, fe)
		v.Status, v.Heading = http.StatusForbidden, "You do not have access to this"
		v.Message = "Your account does not hold the permission this needs. Ask an administrator if you need it."
		if why := refusalWords(fe); why != "" {
			v.Message = why
		} else {
			v.Permission = a.permissionWords(fe.Perms)
			if v.Permission != "" && fe.OrgName != "" {
				v.Permission += " in " + fe.OrgName
			}
		}
	case errors.Is(err, rbac.ErrNotFound): // store.ErrNotFound too: it wraps it
		v.Status, v.Heading, v.Message = http.StatusNotFound, "Not found", "There is nothing here. It may have been removed, or the link is wrong."
	case errors.Is(err, auth.ErrBusy):
		// Every hashing slot stayed taken: the memory bound at work, not a fault.
		c.Response().Header().Set("Retry-After", "1")
		v.Status = http.StatusServiceUnavailable
		v.Heading, v.Message = statusWords(v.Status)
	case errors.As(err, &he) && he.Code < 500:
		if he.Code == http.StatusForbidden {
			// Echo's CSRF middleware refusing a cross-site request (Sec-Fetch-Site).
			a.auditDenied(c, rbac.Refused("cross-site request refused (CSRF)", nil))
		}
		v.Status = he.Code
		v.Heading, v.Message = statusWords(he.Code)
	}
	if v.Status >= 500 {
		u, _ := currentUser(c)
		a.Logger.Error("request failed", "err", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"route", c.Path(), "method", c.Request().Method, "user", u.ID)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(v.Status)
		return
	}
	if isHTMX(c) {
		// Errors land in the flash region, whatever the element that asked.
		h := c.Response().Header()
		h.Set("HX-Retarget", "#flash")
		h.Set("HX-Reswap", "outerHTML")
		_ = a.renderStatus(c, v.Status, errviews.Fragment(v))
		return
	}
	v.Page = a.page(c, v.Heading)
	_ = a.renderStatus(c, v.Status, errviews.Page(v))
}

func statusWords(code int) (string, string) {
	switch code {
	case http.StatusNotFound:
		return "Not found", "There is nothing here. It may have been removed, or the link is wrong."
	case http.StatusMethodNotAllowed:
		return "Not allowed", "This address does not accept that kind of request."
	case http.StatusRequestEntityTooLarge:
		return "Too large", "What was sent is larger than Rolegate accepts."
	case http.StatusTooManyRequests:
		return "Too many requests", "Slow down and try again in a little while."
	case http.StatusRequestTimeout:
		return "Too slow", "What was sent did not arrive in time. Nothing was changed. Try again."
	case http.StatusServiceUnavailable:
		return "Busy", "Rolegate is answering many sign-ins at once. Nothing was changed. Try again in a moment."
	case http.StatusUnauthorized:
		return "Sign in needed", "Sign in to continue."
	}
	return "Request not understood", "The request could not be understood. Go back and try again."
}

// globalAdminWords is the refusal of what only a global admin may do, when the domain did not
// say more.
const globalAdminWords = "Only a global admin can do this."

// refusalWords is what a refusal says when no permission would lift it ("" when one would:
// the page names it).
func refusalWords(fe *rbac.ForbiddenError) string {
	switch {
	case fe.Reason != "":
		return fe.Reason
	case fe.GlobalAdmin:
		return globalAdminWords
	}
	return ""
}

// permissionWords names permission keys ("a or b") by their labels, keeping the keys.
func (a *app) permissionWords(keys []string) string {
	if len(keys) == 0 || a.Access == nil {
		return strings.Join(keys, " or ")
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = a.Access.Catalog().Label(k) + " (" + k + ")"
	}
	return strings.Join(parts, " or ")
}

// auditDenied records a refused request of a signed-in person. Anonymous refusals are not
// recorded, so nobody can fill the log from outside.
func (a *app) auditDenied(c echo.Context, fe *rbac.ForbiddenError) {
	u, ok := currentUser(c)
	if !ok {
		return
	}
	after := map[string]string{"method": c.Request().Method}
	if why := refusalWords(fe); why != "" {
		after["reason"] = why
	} else {
		if len(fe.Perms) > 0 {
			// The entry's format, sealed in older entries too, that audit.Describe reads.
			after["missing_permission"] = strings.Join(fe.Perms, " or ")
		}
		if fe.OrgName != "" {
			after["organisation"] = fe.OrgName
		}
	}
	path := c.Request().URL.Path
	if len(path) > 200 {
		path = path[:200]
	}
	if err := a.Store.Audit(c.Request().Context(), audit.Entry{ActorID: u.ID, Action: audit.Denied, TargetType: "route",
		TargetName: path, After: audit.JSON(after)}); err != nil {
		a.Logger.Error("audit a denied request", "err", err)
	}
}

// cameFrom is the local page a request came from: the page itself for a GET, the page whose
// form or button sent it otherwise (its Referer, when it is this portal's), or the home page.
func (a *app) cameFrom(c echo.Context) string {
	r := c.Request()
	if r.Method == http.MethodGet && !isHTMX(c) {
		return valid.LocalPath(r.URL.RequestURI())
	}
	from := r.Header.Get("HX-Current-URL")
	if from == "" {
		from = r.Referer()
	}
	if u, err := url.Parse(from); err == nil && (u.Host == "" || u.Host == r.Host) {
		return valid.LocalPath(u.RequestURI())
	}
	return "/"
}
