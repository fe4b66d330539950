package web

import (
	"context"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/static"
)

// healthz answers 200 "ok" when the database answers, 503 otherwise.
func (a *app) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		a.Logger.Error("health check failed", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable")
	}
	return c.String(http.StatusOK, "ok")
}

// staticFiles serves the embedded assets. A request carrying the current fingerprint may be
// cached for a year; anything else must be revalidated.
func staticFiles(c echo.Context) error {
	name := strings.TrimPrefix(c.Param("*"), "/")
	v, ok := static.Fingerprint(name)
	if !ok || !fs.ValidPath(name) {
		return echo.ErrNotFound
	}
	if c.QueryParam("v") == v {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Response().Header().Set("Cache-Control", "no-cache")
	}
	c.Response().Header().Set("ETag", `"`+v+`"`)
	if match := c.Request().Header.Get("If-None-Match"); match == `"`+v+`"` {
		return c.NoContent(http.StatusNotModified)
	}
	http.ServeFileFS(c.Response(), c.Request(), static.FS, name)
	return nil
}

// favicon answers the /favicon.ico browsers ask for by themselves with the portal's mark
// (pages name it with <link rel="icon">; this is for the rest, so they get no 404).
func favicon(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	b, err := static.FS.ReadFile("favicon.svg")
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/svg+xml", b)
}
