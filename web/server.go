// Package web is Rolegate's HTTP face: the route table, middleware, error handling and one
// file of handlers per resource. Handlers parse, call the domain, and render; they hold no SQL.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/rolegate/rolegate/internal/apps"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/boot"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/mail"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/tokens"
)

// Deps is what the web layer is built from.
type Deps struct {
	Store    *store.Store
	Auth     *auth.Service
	TwoStep  *auth.TwoStep
	Passkeys *auth.Passkeys
	SSO      *auth.SSO // nil: no single sign-on
	Sessions *auth.Sessions
	Access   *rbac.Engine
	Config   config.Config
	Logger   *slog.Logger
	Version  string
	// Mail sends invitation links; nil when SMTP is not configured (links are shown to copy).
	Mail mail.Notifier
}

// DepsOf builds the web layer's dependencies from the parts boot opened.
func DepsOf(p *boot.Parts, cfg config.Config, logger *slog.Logger, version string) Deps {
	return Deps{Store: p.Store, Auth: p.Auth, TwoStep: p.TwoStep, Passkeys: p.Passkeys, SSO: p.SSO, Sessions: p.Sessions, Access: p.Access, Config: cfg, Logger: logger,
		Version: version, Mail: p.Mail}
}

// app holds the dependencies the handlers share.
type app struct {
	Deps
	setupDone atomic.Bool // once true it stays true: setup can never run twice
	// apps answers forward-auth: it caches the protected applications and recent denials.
	apps *apps.Service
	// tokens is kept for the app's life, so its last-use writes are coalesced per token.
	tokens      *tokens.Service
	pageHeaders []header // see securityHeaders
	scopes      scopes   // see seenBy
	// chain is the middleware of every request; routed, the routes it is built into once.
	chain  []echo.MiddlewareFunc
	routed map[routeKey]bool
	// pageAccess is each GET route's rule, by path, for the navigation: built with the routes.
	pageAccess map[string]Access
	// limiters holds each token's rate (token id → *rate.Limiter), per app: two portals
	// in one process (the tests) never share a token's budget.
	limiters sync.Map
}

// New returns the configured Echo instance with every route of the route table.
func New(d Deps) *echo.Echo {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	a := &app{Deps: d, apps: &apps.Service{Store: d.Store, Access: d.Access}, tokens: &tokens.Service{Store: d.Store, Access: d.Access}}
	a.pageHeaders = pageHeaders(d.Config.Secure())
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = ipExtractor(d.Config)

	// Every request goes through these, in this order (the route's access rule last).
	a.chain = []echo.MiddlewareFunc{
		securityHeaders(d.Config.Secure()),
		dropUnsafeRequestID,
		middleware.RequestID(),
		a.requestLog(),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: false, LogErrorFunc: a.logPanic}),
		middleware.BodyLimit("1M"),
		readForm,
		a.loadSession,
		a.csrf(),
	}
	a.register(e)
	e.Use(a.unrouted)
	return e
}

type routeKey struct{ method, path string }

// withChain is h inside the middleware of every request.
func (a *app) withChain(h echo.HandlerFunc) echo.HandlerFunc {
	for i := len(a.chain) - 1; i >= 0; i-- {
		h = a.chain[i](h)
	}
	return h
}

// unrouted gives what no route answers (404, 405, OPTIONS: Echo's own handlers) the
// middleware every route has built in. Echo wraps its middleware around the handler anew on
// every request, a dozen closures for each; a route's chain is built once, at start.
func (a *app) unrouted(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a.routed[routeKey{c.Request().Method, c.Path()}] {
			return next(c)
		}
		return a.withChain(next)(c)
	}
}

// ipExtractor believes X-Forwarded-For only from the configured proxies; otherwise the client
// address is the connection's, so nobody can dodge sign-in throttling with a header.
func ipExtractor(cfg config.Config) echo.IPExtractor {
	if len(cfg.TrustedProxy) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range cfg.TrustedProxy {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

func (a *app) logPanic(c echo.Context, err error, stack []byte) error {
	a.Logger.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err, "stack", string(stack))
	return err
}

// requestLog writes one structured line per request.
func (a *app) requestLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURIPath: true, LogRoutePath: true, LogLatency: true,
		LogRequestID: true, LogRemoteIP: true,
		// The error handler runs first, so the line logs the status the client got (a
		// refusal or a timeout, not the 200 an unwritten response would default to).
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status < 300 && (strings.HasPrefix(v.RoutePath, "/auth/") || v.RoutePath == "/api/v1/check") {
				// Forward-auth and the check endpoint answer the practice's tools on every
				// request they serve: an answer given goes to the debug log only (denials
				// are answers too, audited where §2.9 says).
				level = slog.LevelDebug
			}
			if !a.Logger.Enabled(c.Request().Context(), level) {
				return nil
			}
			attrs := []slog.Attr{slog.String("method", v.Method), slog.String("path", v.URIPath),
				slog.String("route", v.RoutePath), slog.Int("status", v.Status),
				slog.Float64("latency_ms", float64(v.Latency.Microseconds())/1000),
				slog.String("request_id", v.RequestID), slog.String("client", v.RemoteIP)}
			if u, ok := currentUser(c); ok {
				attrs = append(attrs, slog.Int64("user", u.ID))
			}
			a.Logger.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}

// policy is the Content-Security-Policy; formTarget, when set, is one more origin a form may
// send the browser to (the sign-in form returning to a protected application: form-action
// covers the redirect after the post too).
func policy(formTarget string) string {
	form := "'self'"
	if formTarget != "" {
		form += " " + formTarget
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action " + form + "; frame-ancestors 'none'"
}

// apiPolicy is the Content-Security-Policy of the JSON API: its answers are never a page, so
// they may load nothing and be framed by nothing.
const apiPolicy = "default-src 'none'; frame-ancestors 'none'"

// header is one response header with its value, built once: a response's header map holds
// the same value slice for every response (h.Set would allocate one per header per
// response, on every page and every forward-auth decision). Nothing appends to or writes
// into these slices; a handler that wants another value replaces the slice.
type header struct {
	key   string
	value []string
}

func headers(secure bool, kv ...string) []header {
	if secure {
		kv = append(kv, "Strict-Transport-Security", "max-age=31536000")
	}
	out := make([]header, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, header{http.CanonicalHeaderKey(kv[i]), []string{kv[i+1]}})
	}
	return out
}

func setHeaders(h http.Header, set []header) {
	for _, kv := range set {
		h[kv.key] = kv.value
	}
}

// pageHeaders are the headers of everything a browser shows: pages, error pages, static
// files. The JSON API gets the ones that matter for JSON (OWASP's REST list).
func pageHeaders(secure bool) []header {
	return headers(secure, "Content-Security-Policy", policy(""), "X-Content-Type-Options", "nosniff",
		"Referrer-Policy", "same-origin", "X-Frame-Options", "DENY", "Cross-Origin-Opener-Policy", "same-origin",
		"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()", "Cache-Control", "no-store")
}

func apiHeaders(secure bool) []header {
	return headers(secure, "Content-Security-Policy", apiPolicy, "X-Content-Type-Options", "nosniff", "Cache-Control", "no-store")
}

// authHeaders are those of a forward-auth answer: the proxy reads a 200 and shows the
// browser nothing of it, so only caching is forbidden here; the answers a browser does see
// (a refusal page, a problem) add their own on the way out (renderStatus, forwardProblem).
var authHeaders = headers(false, "Cache-Control", "no-store")

// problemHeaders are added to a problem answered from /auth/… (forwardProblem).
var problemHeaders = headers(false, "Content-Security-Policy", apiPolicy, "X-Content-Type-Options", "nosniff")

// securityHeaders sets the headers every response carries, error pages included, before
// anything else can fail.
func securityHeaders(secure bool) echo.MiddlewareFunc {
	page, api := pageHeaders(secure), apiHeaders(secure)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			set, p := page, c.Request().URL.Path
			switch {
			case strings.HasPrefix(p, "/api/"):
				set = api
			case strings.HasPrefix(p, "/auth/"):
				set = authHeaders
			}
			setHeaders(c.Response().Header(), set)
			return next(c)
		}
	}
}

// Shutdown helper: callers give in-flight requests this long to finish on SIGTERM.
const ShutdownGrace = 20 * time.Second

// needsSetup reports whether setup has not run yet, remembering once it has.
func (a *app) needsSetup(ctx context.Context) (bool, error) {
	if a.setupDone.Load() {
		return false, nil
	}
	need, err := a.Store.NeedsSetup(ctx)
	if err != nil {
		return false, err
	}
	if !need {
		a.setupDone.Store(true)
	}
	return need, nil
}
