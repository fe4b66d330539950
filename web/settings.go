package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/settings"
	sv "github.com/rolegate/rolegate/views/settings"
)

// suggestedZones are offered while typing a time zone; any name of the database is accepted.
var suggestedZones = []string{"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Madrid", "Europe/Paris", "Europe/Berlin",
	"Europe/Rome", "Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Africa/Cairo", "Africa/Johannesburg", "Asia/Dubai",
	"Asia/Riyadh", "Asia/Jerusalem", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
	"America/Sao_Paulo", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Toronto",
	"America/Mexico_City"}

// settingsPage is the portal's Settings page (global admins).
func (a *app) settingsPage(c echo.Context) error {
	z, err := a.settingsService().TimeZone(c.Request().Context())
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, sv.Page(a.settingsView(c, z, z.Name, "")))
}

func (a *app) settingsView(c echo.Context, z settings.Zone, typed, problem string) sv.View {
	server := settings.ServerZoneName()
	if server == "" {
		server = "server time"
	}
	return sv.View{Page: a.page(c, "Settings"), TimeZone: typed, ServerZone: server, Shown: z.Label(),
		Now: audit.FormatTime(a.Store.Now().Unix(), z.Loc), Problem: problem, Suggested: suggestedZones}
}

// settingsSave sets the portal's time zone.
func (a *app) settingsSave(c echo.Context) error {
	u, _ := currentUser(c)
	s := a.settingsService()
	problems, err := s.SetTimeZone(c.Request().Context(), u, c.FormValue("time_zone"))
	if err != nil {
		return err
	}
	if p := problems[settings.KeyTimeZone]; p != "" {
		z, err := s.TimeZone(c.Request().Context())
		if err != nil {
			return err
		}
		typed := c.FormValue("time_zone")
		if len(typed) > 200 {
			typed = strings.ToValidUTF8(typed[:200], "")
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, sv.Page(a.settingsView(c, z, typed, p)))
	}
	z, err := s.TimeZone(c.Request().Context())
	if err != nil {
		return err
	}
	a.flash(c, "Times are now shown in "+z.Label()+".")
	return redirect(c, "/settings")
}
