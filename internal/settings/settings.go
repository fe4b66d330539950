// Package settings holds the portal-wide settings a global admin changes on the Settings
// page, and who may change them. Today that is the time zone every page shows times in; the
// values live in the store's settings table, and each change is audited (settings.change) in
// the same transaction. It knows nothing of HTTP.
package settings

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// KeyTimeZone is the settings key of the portal's time zone: an IANA name, or "" for the
// server's own zone.
const KeyTimeZone = "time_zone"

// Service reads and changes the portal settings.
type Service struct {
	Store *store.Store
}

// Zone is the time zone the portal shows times in.
type Zone struct {
	Name string // the IANA name set by a global admin; "" when it is the server's zone
	Loc  *time.Location
}

// Label names the zone for people: "Europe/Madrid", or "server time (Europe/Berlin)".
func (z Zone) Label() string {
	if z.Name != "" {
		return z.Name
	}
	if n := ServerZoneName(); n != "" {
		return "server time, " + n
	}
	return "server time"
}

// TimeZone is the portal's time zone: the one set, else the server's (time.Local). A stored
// name this machine cannot load (its time zone data changed) falls back to the server's zone
// rather than failing every page.
func (s *Service) TimeZone(ctx context.Context) (Zone, error) {
	name, err := s.Store.Setting(ctx, KeyTimeZone, "")
	if err != nil {
		return Zone{Loc: time.Local}, err
	}
	if name == "" {
		return Zone{Loc: time.Local}, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return Zone{Loc: time.Local}, nil
	}
	return Zone{Name: name, Loc: loc}, nil
}

// SetTimeZone sets the portal's time zone to raw (an IANA name; "" for the server's). Only a
// global admin may: it changes what every reader of the audit log sees. A name that is not a
// time zone is a problem on the field "time_zone".
func (s *Service) SetTimeZone(ctx context.Context, actor store.User, raw string) (valid.Problems, error) {
	if !actor.GlobalAdmin {
		return nil, rbac.GlobalAdminOnly("", nil)
	}
	name, msg := valid.TimeZone(raw)
	if msg != "" {
		return valid.Problems{KeyTimeZone: msg}, nil
	}
	return nil, s.Store.SetSettingBy(ctx, KeyTimeZone, name, actor.ID)
}

// ServerZoneName is the IANA name of the server's own zone when it can be told (from TZ or
// the /etc/localtime link), else "".
func ServerZoneName() string {
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); tz != "" {
		if _, msg := valid.TimeZone(tz); msg == "" {
			return tz
		}
		return ""
	}
	p, err := filepath.EvalSymlinks("/etc/localtime")
	if err != nil {
		return ""
	}
	if _, name, ok := strings.Cut(p, "zoneinfo/"); ok {
		if _, msg := valid.TimeZone(name); msg == "" {
			return name
		}
	}
	return ""
}
