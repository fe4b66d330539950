package web

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/rolegate/rolegate/internal/rbac"
)

// csrfRefusal is the answer to a state-changing request without the right token. It is a
// rbac.ForbiddenError, so a signed-in person's refusal is audited like every other.
func csrfRefusal() error {
	return rbac.Refused("The form was missing its security token or it had expired. Go back, reload the page and try again.", nil)
}

// csrf refuses state-changing requests that do not carry the CSRF token (form field _csrf or
// header X-CSRF-Token, which htmx sends through hx-headers), through Echo's middleware
// (double-submit cookie, and Sec-Fetch-Site where the browser sends it). Signed in, the
// token is the session's own (auth.Live.CSRF): whatever CSRF cookie the browser sent is
// replaced by it before Echo's check, so a token is good for one session only and changes at
// every sign-in; the response then carries it back in the cookie.
func (a *app) csrf() echo.MiddlewareFunc {
	// The API takes no cookies, so a cross-site request cannot borrow anyone's session;
	// forward-auth (/auth/…) is GET only, asked by a proxy, and its refusal page has no form.
	skip := func(c echo.Context) bool { return isAPI(c) || strings.HasPrefix(c.Request().URL.Path, "/auth/") }
	check := middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        skip,
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     a.csrfCookieName(),
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   a.Config.Secure(),
		CookieSameSite: http.SameSiteStrictMode,
		ContextKey:     csrfKey,
		ErrorHandler:   func(error, echo.Context) error { return csrfRefusal() },
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		checked := check(next)
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			if live, ok := currentLive(c); ok {
				// Ours comes first, and c.Cookie returns the first of a name.
				r := c.Request()
				r.Header.Set("Cookie", a.csrfCookieName()+"="+live.CSRF+"; "+r.Header.Get("Cookie"))
			}
			return checked(c)
		}
	}
}

func (a *app) csrfCookieName() string {
	if a.Config.Secure() {
		return "__Host-rolegate_csrf"
	}
	return "rolegate_csrf"
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// dropAnonymousCSRF removes the CSRF cookie at sign-in and sign-out, replacing the one
// Echo's middleware set in this response, so neither the token from before sign-in nor the
// session's own outlives the change: the next page gets a fresh one.
func (a *app) dropAnonymousCSRF(c echo.Context) {
	replaceCookie(c.Response(), &http.Cookie{Name: a.csrfCookieName(), Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: a.Config.Secure(), SameSite: http.SameSiteStrictMode})
}

// replaceCookie sets ck, removing any Set-Cookie for the same name already in the response.
func replaceCookie(w http.ResponseWriter, ck *http.Cookie) {
	h := w.Header()
	kept := h.Values("Set-Cookie")[:0:0]
	for _, v := range h.Values("Set-Cookie") {
		if !strings.HasPrefix(v, ck.Name+"=") {
			kept = append(kept, v)
		}
	}
	h.Del("Set-Cookie")
	for _, v := range kept {
		h.Add("Set-Cookie", v)
	}
	http.SetCookie(w, ck)
}

// readForm reads a form body before anything looks at it, so a body that is cut short, too
// large or never arrives is answered as such (400, 413, 408) instead of reaching the handler
// as an empty form.
func readForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if safeMethod(r.Method) {
			return next(c)
		}
		var err error
		if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
			err = r.ParseMultipartForm(1 << 20)
		} else {
			err = r.ParseForm()
		}
		var he *echo.HTTPError
		var ne net.Error
		switch {
		case err == nil:
			return next(c)
		case errors.As(err, &he):
			return he
		case errors.As(err, &ne) && ne.Timeout():
			return echo.NewHTTPError(http.StatusRequestTimeout)
		default:
			return echo.NewHTTPError(http.StatusBadRequest)
		}
	}
}

// dropUnsafeRequestID forgets a client's X-Request-Id unless it is a short, plain id, so
// the one made up in its place is what the logs and the response carry.
func dropUnsafeRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !safeRequestID(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

func safeRequestID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
