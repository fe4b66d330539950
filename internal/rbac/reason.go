package rbac

import (
	"fmt"
	"strings"
	"time"
)

// DecidedBy names the step that decided, as the JSON API says it (PRODUCT.md §2.9).
func (d Decision) DecidedBy() string {
	switch d.Step {
	case StepDisabled:
		return "disabled"
	case StepNotMember, StepNoUser:
		return "no_membership"
	case StepGlobalAdmin:
		return "global_admin"
	case StepEmergency:
		return "emergency"
	case StepUserOverride:
		return "override"
	case StepRoleGrant:
		return "role"
	case StepOrgDefault:
		return "org_default"
	}
	return "catalog"
}

// Reason says in plain words why d was decided, for the organisation shown (the person page,
// the API and the refusal page all say it the same way).
func (s *Snapshot) Reason(d Decision, shown int64) string {
	r := s.reason(d, shown)
	switch {
	case d.Until != 0:
		r = strings.TrimSuffix(r, ".") + ", until " + s.When(d.Until) + "."
	case d.Ended != 0 && !d.Allowed:
		r += " (A grant of it ended " + s.When(d.Ended) + ".)"
	}
	return r
}

// When names a moment in the portal's time zone, as reasons and pages say it.
func (s *Snapshot) When(unix int64) string {
	return time.Unix(unix, 0).In(s.clock.Zone()).Format("2 Jan 2006 15:04")
}

func (s *Snapshot) reason(d Decision, shown int64) string {
	via := ""
	if d.OrgID != 0 && d.OrgID != shown {
		via = " (applies here from " + d.OrgName + ")"
	}
	verb := "Denied"
	if d.Allowed {
		verb = "Allowed"
	}
	switch d.Step {
	case StepNoUser:
		return "Unknown person or organisation."
	case StepGlobalAdmin:
		return "Global admin: holds every permission everywhere."
	case StepDisabled:
		return "The account is disabled: it holds nothing."
	case StepNotMember:
		return "Not a member of this organisation or one above it."
	case StepEmergency:
		return fmt.Sprintf("Emergency access taken in %s%s.", d.OrgName, via)
	case StepUserOverride:
		who := "an administrator"
		if u, ok := s.User(d.SetBy); ok {
			who = u.Name
		}
		return fmt.Sprintf("%s by a user-level override in %s set by %s%s.", verb, d.OrgName, who, via)
	case StepRoleGrant:
		return fmt.Sprintf("Granted by role %s in %s%s.", d.RoleName, d.OrgName, via)
	case StepOrgDefault:
		return fmt.Sprintf("%s by the default of %s%s.", verb, d.OrgName, via)
	case StepCatalogDefault:
		if d.Allowed {
			return "Always granted: every member holds it."
		}
		return "No role, override or default grants it."
	}
	return "Unknown."
}
