package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/apps"
	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
	fv "github.com/rolegate/rolegate/views/forward"
)

// Forward-auth (PRODUCT.md §2.9): a reverse proxy asks, for every request to one of the
// practice's other tools, whether the person signed in to the portal may get in. The rule is
// internal/apps; these handlers read the proxy's headers and say the answer as a status.

// authNginx answers nginx auth_request: X-Original-URL and X-Original-Method; without a
// session 401 with Location (nginx redirects through auth_request_set and error_page 401).
func (a *app) authNginx(c echo.Context) error {
	h := c.Request().Header
	return a.forwardAuth(c, true, func() (apps.Request, error) {
		return apps.ParseOriginalURL(h.Get("X-Original-URL"), h.Get("X-Original-Method"))
	})
}

// authForward answers Traefik ForwardAuth and Caddy forward_auth: X-Forwarded-Proto, -Host,
// -Uri and -Method; without a session a browser is redirected to sign in, anything else 401.
func (a *app) authForward(c echo.Context) error {
	h := c.Request().Header
	return a.forwardAuth(c, false, func() (apps.Request, error) {
		return apps.ParseForwarded(h.Get(echo.HeaderXForwardedProto), h.Get("X-Forwarded-Host"), h.Get("X-Forwarded-Uri"), h.Get("X-Forwarded-Method"))
	})
}

func (a *app) forwardAuth(c echo.Context, nginx bool, parse func() (apps.Request, error)) error {
	// The question is in forwarded headers, which anyone can send: only a proxy named by
	// --trusted-proxy is answered. 403, not 400: the request may be well formed, but the
	// portal does not take it from this peer (and a 401 would send browsers to sign in).
	if !a.Config.TrustsPeer(c.Request().RemoteAddr) {
		return forwardProblem(c, http.StatusForbidden, "Forward-auth answers only the reverse proxies named by --trusted-proxy.")
	}
	req, err := parse()
	if err != nil {
		return forwardProblem(c, http.StatusBadRequest, "The proxy did not send the original request's address in the headers this endpoint reads.")
	}
	var user *store.User
	amr := noAMR
	live, ok := currentLive(c)
	if ok {
		user, amr = &live.User, amrHeader(live.Session.AMR)
	}
	d, err := a.apps.Decide(c.Request().Context(), req, user, ok && live.Session.SecondStep())
	if err != nil {
		return err
	}
	switch d.Outcome {
	case apps.SecondStepNeeded:
		// To the portal, to pass the second step (or set it up), then back.
		c.Response().Header().Set(echo.HeaderLocation, a.linkBase(c)+"/step-up?rd="+url.QueryEscape(req.URL))
		if !nginx && wantsHTML(c) {
			return c.NoContent(http.StatusFound)
		}
		return c.NoContent(http.StatusUnauthorized)
	case apps.Allowed:
		setIdentity(c.Response().Header(), d.Identity)
		c.Response().Header()[amrName] = amr
		c.Response().Header()[apps.EmergencyHeader] = emergencyValue[d.Identity.Emergency]
		a.Logger.LogAttrs(c.Request().Context(), slog.LevelDebug, "forward-auth allowed", slog.Int64("app", d.App.ID),
			slog.Int64("user", d.Identity.UserID), slog.Bool("public", d.Public), slog.String("host", req.Host))
		return c.NoContent(http.StatusOK)
	case apps.SignInNeeded:
		login := a.linkBase(c) + "/login?rd=" + url.QueryEscape(req.URL)
		c.Response().Header().Set(echo.HeaderLocation, login)
		if !nginx && strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/html") {
			return c.NoContent(http.StatusFound)
		}
		return c.NoContent(http.StatusUnauthorized)
	case apps.Refused:
		return a.forwardRefused(c, *user, d.App)
	}
	detail := map[apps.Outcome]string{
		apps.UnknownHost: "No protected application is configured for this address, so it is closed to everyone.",
		apps.Disabled:    "This application is disabled in Rolegate, so it is closed to everyone.",
		apps.PathRefused: "The address has a path Rolegate does not accept (dot segments or encoded slashes).",
	}[d.Outcome]
	if wantsHTML(c) {
		return a.renderStatus(c, http.StatusForbidden, fv.Page(fv.View{Page: a.page(c, "No access"), Heading: "You cannot open this", Message: detail}))
	}
	return forwardProblem(c, http.StatusForbidden, detail)
}

// forwardRefused answers a signed-in person who lacks the application's permission: audited
// once per person, application and permission in apps.DenialEvery, and told why and whom to ask.
func (a *app) forwardRefused(c echo.Context, u store.User, app store.App) error {
	snap := a.Access.Now()
	r := apps.RefusalFor(snap, u.ID, app)
	if a.apps.ShouldAudit(u.ID, app.ID, app.Permission) {
		after := map[string]string{"method": "GET", "missing_permission": app.Permission, "organisation": r.Org, "reason": r.Reason}
		if err := a.Store.Audit(c.Request().Context(), audit.Entry{ActorID: u.ID, OrgID: app.OrgID, Action: audit.Denied,
			TargetType: "app", TargetID: app.ID, TargetName: app.Name, After: audit.JSON(after)}); err != nil {
			a.Logger.Error("audit a forward-auth denial", "err", err)
		}
	}
	msg := u.Name + ", you are signed in, but " + r.App + " needs “" + r.Permission + "” in " + r.Org + ", which you do not hold there."
	if wantsHTML(c) {
		page := a.page(c, "No access to "+r.App)
		if a.Config.BaseURL != "" {
			// Shown through the tool's proxy, on the tool's host: the page is the portal's, so
			// are its styles (allowed by name in this answer's policy), and no navigation of the
			// portal's is offered under another host's address.
			page.AssetBase, page.User, page.Nav = a.Config.BaseURL, nil, nil
			c.Response().Header().Set("Content-Security-Policy", refusalCSP(a.Config.BaseURL))
		}
		v := fv.View{Page: page, Heading: "You do not have access to " + r.App,
			Message: msg, App: r.App, Permission: r.Permission, PermissionKey: r.PermissionKey, Org: r.Org, Reason: r.Reason, Grantors: r.Grantors}
		if set, ok, err := a.emergencyService().Available(c.Request().Context(), u.ID, app.OrgID); err == nil && ok && slices.Contains(set.Perms, app.Permission) {
			v.EmergencyHref = a.linkBase(c) + "/emergency/new?" + url.Values{"org": {strconv.FormatInt(app.OrgID, 10)}, "perm": {app.Permission}}.Encode()
		}
		return a.renderStatus(c, http.StatusForbidden, fv.Page(v))
	}
	detail := r.App + " needs " + r.PermissionKey + " in " + r.Org + ". " + r.Reason
	if len(r.Grantors) > 0 {
		detail += " Ask " + strings.Join(r.Grantors, ", ") + "."
	}
	return forwardProblem(c, http.StatusForbidden, detail)
}

func wantsHTML(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/html")
}

// forwardProblem answers a refusal as an RFC 9457 problem (for scripts and proxies).
func forwardProblem(c echo.Context, status int, detail string) error {
	b, _ := json.Marshal(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	setHeaders(c.Response().Header(), problemHeaders)
	return c.Blob(status, "application/problem+json", b)
}

// Remote-AMR says how the person signed in (OpenID's amr values, comma-separated): set on
// every 200, empty on a public path without a session, so a copied header is overwritten.
const amrName = "Remote-Amr"

var (
	noAMR = []string{""}
	// amrHeaders are the header values of the ways a session is signed in, made once: the
	// decision allocates nothing for them.
	amrHeaders = func() map[string][]string {
		m := map[string][]string{}
		for _, a := range []string{store.AMRPassword, store.AMRTwoStep, store.AMRPasswordPasskey, store.AMRPasskey, store.AMRSSO, store.AMRSSOMFA,
			store.AMRSSO + " " + store.MethodCode, store.AMRSSO + " " + store.MethodPasskey} {
			m[a] = []string{strings.ReplaceAll(a, " ", ",")}
		}
		return m
	}()
)

// amrHeader is the Remote-AMR value of a session signed in by amr.
func amrHeader(amr string) []string {
	if h, ok := amrHeaders[amr]; ok {
		return h
	}
	return []string{strings.ReplaceAll(amr, " ", ",")}
}

// setIdentity writes the five identity headers; every one is set, empty when nothing.
func setIdentity(h http.Header, id *apps.Identity) {
	for i, name := range apps.IdentityHeaders {
		h[name] = id.Values[i]
	}
}

// refusalCSP is the security policy of the refusal page: the usual one, with the portal's
// origin allowed for its scripts, styles and images, since the page is served on another host.
func refusalCSP(origin string) string {
	return "default-src 'self'; script-src 'self' " + origin + "; style-src 'self' " + origin + "; img-src 'self' data: " + origin +
		"; font-src 'self' " + origin + "; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// emergencyValue is the Remote-Emergency header's value, made once.
var emergencyValue = map[bool][]string{true: {"1"}, false: {""}}
