package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/emergency"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	ev "github.com/rolegate/rolegate/views/emergency"
	ov "github.com/rolegate/rolegate/views/orgs"
)

func (a *app) emergencyService() *emergency.Service {
	return &emergency.Service{Store: a.Store, Access: a.Access, Mail: a.Mail, Link: a.Config.BaseURL}
}

// emergencyOrg is the organisation the person asks emergency access in: ?org= (or the form's
// org), else the first where they may take it.
func (a *app) emergencyOrg(c echo.Context) (int64, error) {
	u, _ := currentUser(c)
	if id, err := strconv.ParseInt(c.FormValue("org"), 10, 64); err == nil && id > 0 {
		return id, nil
	}
	snap := a.Access.Now()
	for _, id := range snap.MemberOrgs(u.ID) {
		if !snap.Can(u.ID, id, rbac.PermEmergency) {
			continue
		}
		if _, ok, err := a.emergencyService().Available(c.Request().Context(), u.ID, id); err != nil || ok {
			return id, err
		}
	}
	return 0, store.ErrNotFound
}

// emergencyNew is the form to take emergency access; ?perm= ticks what a refusal page lacked.
func (a *app) emergencyNew(c echo.Context) error {
	org, err := a.emergencyOrg(c)
	if err != nil {
		return err
	}
	return a.emergencyForm(c, http.StatusOK, org, emergency.Request{Perms: c.QueryParams()["perm"]}, nil)
}

func (a *app) emergencyForm(c echo.Context, status int, org int64, r emergency.Request, problems valid.Problems) error {
	u, _ := currentUser(c)
	set, ok, err := a.emergencyService().Available(c.Request().Context(), u.ID, org)
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	if !ok {
		if !snap.Can(u.ID, org, rbac.PermEmergency) {
			return snap.Forbidden(org, rbac.PermEmergency)
		}
		return store.ErrNotFound // offered nowhere the person can see: as if there were none
	}
	o, _ := snap.Org(org)
	v := ev.NewView{Page: a.page(c, "Emergency access"), OrgID: org, OrgName: o.Name, Reason: r.Reason, Problems: problems}
	for _, k := range set.Perms {
		v.Perms = append(v.Perms, ev.Option{Value: k, Label: snap.Catalog().Label(k), Selected: slices.Contains(r.Perms, k)})
	}
	chosen := r.Minutes
	if chosen == 0 {
		chosen = min(60, set.MaxMinutes)
	}
	for _, m := range emergency.Durations(set.MaxMinutes) {
		v.Durations = append(v.Durations, ev.Option{Value: strconv.Itoa(m), Label: emergency.Duration(m), Selected: m == chosen})
	}
	return a.renderStatus(c, status, ev.New(v))
}

// emergencyStart takes emergency access at once.
func (a *app) emergencyStart(c echo.Context) error {
	org, err := a.emergencyOrg(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	minutes, _ := strconv.Atoi(form.Get("minutes"))
	r := emergency.Request{OrgID: org, Perms: form["permissions"], Reason: form.Get("reason"), Minutes: minutes}
	u, _ := currentUser(c)
	_, problems, err := a.emergencyService().Start(c.Request().Context(), u.ID, r)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return a.emergencyForm(c, http.StatusUnprocessableEntity, org, r, problems)
	}
	a.flash(c, fmt.Sprintf("Emergency access is yours for %s. The organisation's auditors have been told.", emergency.Duration(minutes)))
	return redirect(c, "/")
}

// emergencyEnd ends a use now: the person's own, or one a staff manager ends.
func (a *app) emergencyEnd(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	u, _ := currentUser(c)
	err = a.emergencyService().End(c.Request().Context(), u.ID, id)
	switch {
	case errors.Is(err, store.ErrEmergencyOver):
		a.flash(c, "That emergency access had already ended.")
	case err != nil:
		return err
	default:
		a.flash(c, "Emergency access ended.")
	}
	if back := formPage(c); back != "" {
		return redirect(c, back)
	}
	return redirect(c, "/")
}

// emergencyQueue is the review queue of the organisations whose audit log one reads.
func (a *app) emergencyQueue(c echo.Context) error {
	return a.renderQueue(c, http.StatusOK)
}

func (a *app) renderQueue(c echo.Context, status int) error {
	u, _ := currentUser(c)
	uses, err := a.emergencyService().Queue(c.Request().Context(), u.ID, false, 100)
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	v := ev.QueueView{Page: a.page(c, "Emergency access review")}
	for _, e := range uses {
		labels := make([]string, len(e.Perms))
		for i, k := range e.Perms {
			labels[i] = snap.Catalog().Label(k)
		}
		use := ev.Use{ID: e.ID, Who: e.UserName, PersonHref: fmt.Sprintf("/staff/%d?org=%d", e.UserID, e.OrgID), Org: e.OrgName,
			What: joinLabels(labels), Reason: e.Reason, Started: snap.When(e.StartedAt), Open: e.EndedAt == 0 && e.EndsAt > snap.Now().Unix(),
			Note: e.Note, Reviewer: e.ReviewedName, CanReview: e.UserID != u.ID,
			ReviewPath: fmt.Sprintf("/emergency/%d/review", e.ID)}
		switch {
		case use.Open:
			use.Ended = timeLeft(snap, e.EndsAt)
		case e.EndedAt != 0 && e.EndedAt < e.EndsAt:
			use.Ended = "ended " + snap.When(e.EndedAt) + " by " + orDash(e.EndedByName)
		default:
			use.Ended = "ended " + snap.When(e.EndsAt) + ", its time up"
		}
		if snap.Can(u.ID, e.OrgID, rbac.PermStaffManage) {
			use.EndPath = fmt.Sprintf("/emergency/%d/end", e.ID)
		}
		switch e.Decision {
		case emergency.Justified:
			use.Decision = "Justified"
		case emergency.NotJustified:
			use.Decision = "Not justified"
		}
		v.Uses = append(v.Uses, use)
	}
	return a.renderStatus(c, status, ev.Queue(v))
}

// emergencyReview records the review of a use.
func (a *app) emergencyReview(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	u, _ := currentUser(c)
	problems, err := a.emergencyService().Review(c.Request().Context(), u.ID, id, c.FormValue("decision"), c.FormValue("note"))
	switch {
	case errors.Is(err, store.ErrEmergencyOver):
		a.flash(c, "Someone reviewed it already.")
		return redirect(c, "/emergency")
	case err != nil:
		return err
	case len(problems) > 0:
		for _, m := range problems {
			a.flash(c, m)
		}
		return redirect(c, "/emergency")
	}
	a.flash(c, "Review recorded.")
	return redirect(c, "/emergency")
}

// orgEmergency saves an organisation's emergency access settings.
func (a *app) orgEmergency(c echo.Context) error {
	o, err := a.loadOrg(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	max, _ := strconv.Atoi(form.Get("max_minutes"))
	u, _ := currentUser(c)
	problems, err := a.emergencyService().SetSettings(c.Request().Context(), u.ID,
		store.EmergencySettings{OrgID: o.ID, Enabled: form.Get("enabled") == "1", Perms: form["permissions"], MaxMinutes: max})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		v, err := a.orgView(c, o, formOf(o), nil)
		if err != nil {
			return err
		}
		for _, m := range problems {
			v.Emergency = ev.Settings(a.emergencySettingsView(c, o.ID, m))
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, ov.Org(v))
	}
	a.flash(c, "Emergency access saved.")
	return redirect(c, fmt.Sprintf("/orgs/%d", o.ID))
}

// emergencySettingsView is the organisation page's section, as saved.
func (a *app) emergencySettingsView(c echo.Context, orgID int64, problem string) ev.SettingsView {
	set, err := a.Store.EmergencySettingsOf(c.Request().Context(), orgID)
	if err != nil {
		set = store.EmergencySettings{OrgID: orgID, MaxMinutes: store.DefaultEmergencyMinutes}
	}
	v := ev.SettingsView{CSRF: csrfToken(c), Action: fmt.Sprintf("/orgs/%d/emergency", orgID), Enabled: set.Enabled, Problem: problem}
	for _, p := range emergency.Offerable(a.Access.Catalog()) {
		v.Perms = append(v.Perms, ev.Option{Value: p.Key, Label: p.Label, Selected: slices.Contains(set.Perms, p.Key)})
	}
	for _, m := range []int{30, 60, 120, 240, 480, 720, 1440} {
		v.MaxMinutes = append(v.MaxMinutes, ev.Option{Value: strconv.Itoa(m), Label: emergency.Duration(m), Selected: m == set.MaxMinutes})
	}
	return v
}

func joinLabels(labels []string) string {
	out := ""
	for i, l := range labels {
		if i > 0 {
			out += ", "
		}
		out += l
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
