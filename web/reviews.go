package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/orgs"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/reviews"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	rvv "github.com/rolegate/rolegate/views/reviews"
)

func (a *app) reviewService() *reviews.Service {
	return &reviews.Service{Store: a.Store, Access: a.Access, Mail: a.Mail, Link: a.Config.BaseURL}
}

// The schedules offered, in days (0: once).
var reviewSchedules = []struct {
	days  int
	label string
}{{0, "Once"}, {30, "Every 30 days"}, {90, "Every 90 days (quarterly)"}, {180, "Every 180 days"}, {365, "Every 365 days (yearly)"}}

func schedule(days int) string {
	for _, s := range reviewSchedules {
		if s.days == days {
			return s.label
		}
	}
	return fmt.Sprintf("Every %d days", days)
}

// day is a date in the portal's time zone.
func (a *app) day(c echo.Context, unix int64) string {
	return time.Unix(unix, 0).In(a.zone(c)).Format("2 Jan 2006")
}

// dueText is "12 Dec 2026 (in 3 days)" or "(2 days ago)".
func (a *app) dueText(c echo.Context, due int64) string {
	left := time.Unix(due, 0).Sub(a.Store.Now())
	days := int(left.Hours() / 24)
	if left > 0 {
		days = int(math.Ceil(left.Hours() / 24)) // due in 13 days and 23 hours is "in 14 days"
	}
	switch {
	case left < 0 && days == 0:
		return a.day(c, due) + " (today)"
	case left < 0:
		return fmt.Sprintf("%s (%d days ago)", a.day(c, due), -days)
	case days == 0:
		return a.day(c, due) + " (today)"
	case days == 1:
		return a.day(c, due) + " (tomorrow)"
	}
	return fmt.Sprintf("%s (in %d days)", a.day(c, due), days)
}

func (a *app) reviewRow(c echo.Context, r store.Review) rvv.Row {
	row := rvv.Row{Href: fmt.Sprintf("/reviews/%d", r.ID), ReportHref: fmt.Sprintf("/reviews/%d/report", r.ID), Org: r.OrgName,
		Started: a.day(c, r.CreatedAt) + " by " + starter(r), Schedule: schedule(r.EveryDays), Due: a.dueText(c, r.DueAt),
		Overdue: reviews.Overdue(r, a.Store.Now().Unix()), Decided: r.Decided, Total: r.Total}
	if r.State == store.ReviewComplete {
		row.Completed = a.day(c, r.CompletedAt)
		if at := reviews.NextStart(r); at != 0 {
			row.Next = a.day(c, at)
		}
	}
	return row
}

func starter(r store.Review) string {
	if r.StartedBy == 0 && r.StartedByName == "" {
		return "its schedule"
	}
	return orDash(r.StartedByName)
}

// reviewsList is /reviews.
func (a *app) reviewsList(c echo.Context) error {
	u, _ := currentUser(c)
	list, err := a.reviewService().List(c.Request().Context(), u.ID, 200)
	if err != nil {
		return err
	}
	v := rvv.ListView{Page: a.page(c, "Access reviews"), CanStart: len(a.Access.Now().OrgsWhere(u.ID, rbac.PermStaffManage)) > 0}
	for _, r := range list {
		if r.State == store.ReviewOpen {
			v.Open = append(v.Open, a.reviewRow(c, r))
		} else {
			v.Done = append(v.Done, a.reviewRow(c, r))
		}
	}
	return a.renderStatus(c, http.StatusOK, rvv.List(v))
}

// reviewNew is the form that starts a review of ?org= (else the first the person manages).
func (a *app) reviewNew(c echo.Context) error {
	return a.reviewForm(c, http.StatusOK, c.QueryParam("org"), reviews.Start{EveryDays: 90}, "14", nil, true)
}

// reviewForm shows the form for the organisation rawOrg names, with what was typed (the due
// days as typed, so a mistake is shown as it was).
func (a *app) reviewForm(c echo.Context, status int, rawOrg string, st reviews.Start, dueRaw string, problems valid.Problems, fresh bool) error {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	ch, err := orgs.Choose(snap, u.ID, orgs.RequestedID(rawOrg), rbac.PermStaffManage)
	if err != nil {
		return err
	}
	o, _ := snap.Org(ch.Chosen)
	v := rvv.NewView{Page: a.page(c, "Start an access review"), OrgID: strconv.FormatInt(o.ID, 10), OrgName: o.Name,
		DueDays: dueRaw, Problems: problems}
	for _, id := range ch.IDs {
		v.Orgs = append(v.Orgs, rvv.Option{Value: strconv.FormatInt(id, 10), Label: orgs.Label(snap, id), Selected: id == ch.Chosen})
	}
	v.Scope = o.Name
	if below := len(snap.Subtree(o.ID)) - 1; below == 1 {
		v.Scope += " and the organisation below it"
	} else if below > 1 {
		v.Scope += fmt.Sprintf(" and the %d organisations below it", below)
	}
	for _, r := range reviews.Candidates(snap, o.ID) {
		opt := rvv.Option{Value: strconv.FormatInt(r.ID, 10), Label: r.Name, Selected: slices.Contains(st.Reviewers, r.ID) || fresh && r.ID == u.ID}
		if r.ID == u.ID {
			opt.Hint = "(you)"
		}
		v.Reviewers = append(v.Reviewers, opt)
	}
	for _, s := range reviewSchedules {
		v.Every = append(v.Every, rvv.Option{Value: strconv.Itoa(s.days), Label: s.label, Selected: s.days == st.EveryDays})
	}
	return a.renderStatus(c, status, rvv.New(v))
}

// reviewStart starts a review.
func (a *app) reviewStart(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	org, _ := strconv.ParseInt(form.Get("org"), 10, 64)
	st := reviews.Start{OrgID: org, EveryDays: -1, DueDays: -1}
	if n, err := strconv.Atoi(form.Get("every_days")); err == nil {
		st.EveryDays = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(form.Get("due_days"))); err == nil {
		st.DueDays = n
	}
	for _, raw := range form["reviewers"] {
		if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
			st.Reviewers = append(st.Reviewers, id)
		}
	}
	u, _ := currentUser(c)
	id, problems, err := a.reviewService().Start(c.Request().Context(), u.ID, st)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return a.reviewForm(c, http.StatusUnprocessableEntity, form.Get("org"), st, form.Get("due_days"), problems, false)
	}
	r, err := a.Store.ReviewByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	who := "1 reviewer"
	if n := len(r.Reviewers); n != 1 {
		who = fmt.Sprintf("%d reviewers", n)
	}
	a.flash(c, fmt.Sprintf("Review started: %d items for %s.", r.Total, who))
	return redirect(c, fmt.Sprintf("/reviews/%d", id))
}

// reviewID is the :id parameter (a review that cannot exist when it is not a number).
func reviewID(c echo.Context) int64 {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return -1
	}
	return id
}

// reviewPeople is how many people a page of a review shows: each decision re-renders the
// page, which stays quick however large the organisation.
const reviewPeople = 50

// reviewPage is /reviews/{id}, filtered by ?show=undecided|kept|revoked, paged by ?page=.
func (a *app) reviewPage(c echo.Context) error {
	v, err := a.reviewView(c, c.QueryParam("show"), "", nil)
	if err != nil {
		return err
	}
	if isHTMX(c) {
		return a.renderStatus(c, http.StatusOK, rvv.Items(v.Items))
	}
	return a.renderStatus(c, http.StatusOK, rvv.Review(v))
}

// reviewView builds the page; notice and refused (by item id) say what the last decisions did.
func (a *app) reviewView(c echo.Context, show, notice string, refused map[int64]string) (rvv.ReviewView, error) {
	u, _ := currentUser(c)
	r, items, err := a.reviewService().Items(c.Request().Context(), u.ID, reviewID(c))
	if err != nil {
		return rvv.ReviewView{}, err
	}
	snap := a.Access.Now()
	if !slices.Contains([]string{"undecided", "kept", "revoked"}, show) {
		show = ""
	}
	var names []string
	onlyAdmin := false
	for _, id := range r.Reviewers {
		if p, ok := snap.User(id); ok {
			names = append(names, p.Name)
		}
	}
	v := rvv.ReviewView{Page: a.page(c, "Access review of "+r.OrgName), Org: r.OrgName, Started: a.day(c, r.CreatedAt) + " by " + starter(r),
		Schedule: schedule(r.EveryDays), Due: a.dueText(c, r.DueAt), Overdue: reviews.Overdue(r, a.Store.Now().Unix()), Reviewers: strings.Join(names, ", ")}
	if r.State == store.ReviewComplete {
		v.Complete = a.day(c, r.CompletedAt)
	}
	base := fmt.Sprintf("/reviews/%d", r.ID)
	page, _ := strconv.Atoi(c.FormValue("page"))
	page = max(page, 1)
	iv := rvv.ItemsView{Page: page, CSRF: csrfToken(c), Action: base + "/decide", Decided: r.Decided, Total: r.Total, Complete: r.State == store.ReviewComplete,
		Notice: notice, Show: show, ReportHref: base + "/report"}
	counts := map[string]int{"": len(items)}
	cat := snap.Catalog()
	now := a.Store.Now()
	for _, it := range items {
		counts[filterOf(it)]++
		if reviews.OnlyAdmin(r, it) && it.Decision == "" {
			onlyAdmin = true
		}
		if show != "" && filterOf(it) != show {
			continue
		}
		if n := len(iv.People); n == 0 || iv.People[n-1].Anchor != fmt.Sprintf("person-%d", it.UserID) {
			p := rvv.Person{Anchor: fmt.Sprintf("person-%d", it.UserID), Name: it.UserName, Email: it.UserEmail,
				Href: fmt.Sprintf("/staff/%d?org=%d", it.UserID, it.OrgID), LastSignIn: "Never signed in", Stale: true}
			if it.Hidden {
				p.Href = ""
			}
			if it.LastSignIn != 0 {
				p.LastSignIn = "Last signed in " + a.day(c, it.LastSignIn)
				p.Stale = now.Sub(time.Unix(it.LastSignIn, 0)) >= 90*24*time.Hour
			}
			iv.People = append(iv.People, p)
		}
		item := rvv.Item{ID: it.ID, What: reviews.What(cat, it), Where: it.OrgName, Since: a.day(c, it.Since), Note: it.Note,
			Path: fmt.Sprintf("%s/items/%d", base, it.ID), Refused: refused[it.ID]}
		if it.Until != 0 {
			item.Until = a.day(c, it.Until)
		}
		if it.Decision != "" {
			item.Decision, item.DecidedBy, item.DecidedAt = reviews.Decided(it.Decision), orDash(it.DecidedByName), snap.When(it.DecidedAt)
		}
		item.CanDecide, item.Why = reviews.MayDecide(snap, u.ID, r, it)
		if item.Refused != "" {
			iv.Refusals = append(iv.Refusals, it.UserName+", "+item.What+": "+item.Refused)
		}
		p := &iv.People[len(iv.People)-1]
		p.Items = append(p.Items, item)
	}
	// One page of people: the counts above are of everyone.
	total := len(iv.People)
	if last := max((total+reviewPeople-1)/reviewPeople, 1); page > last {
		page, iv.Page = last, last // decisions emptied the page asked for (a filter): its last one
	}
	if from := (page - 1) * reviewPeople; from < total {
		iv.People = iv.People[from:min(from+reviewPeople, total)]
	} else {
		iv.People = nil
	}
	pg := paginate(page, reviewPeople, len(iv.People), total, func(n int) string {
		q := url.Values{"page": {strconv.Itoa(n)}}
		if show != "" {
			q.Set("show", show)
		}
		return base + "?" + q.Encode()
	})
	iv.From, iv.To, iv.PeopleTotal, iv.PrevHref, iv.NextHref = pg.From, pg.To, pg.Total, pg.PrevURL, pg.NextURL
	iv.Decidable = false
	for _, p := range iv.People {
		for _, it := range p.Items {
			iv.Decidable = iv.Decidable || it.CanDecide
		}
	}
	for _, f := range []struct{ key, label string }{{"", "All"}, {"undecided", "Undecided"}, {"kept", "Kept"}, {"revoked", "Revoked"}} {
		href := base
		if f.key != "" {
			href += "?show=" + f.key
		}
		iv.Filters = append(iv.Filters, rvv.Filter{Label: f.label, Href: href, Count: counts[f.key], Active: f.key == show})
	}
	if onlyAdmin {
		v.AdminNote = "The only reviewer does not decide their own access: a global admin decides those items."
	}
	v.Items = iv
	return v, nil
}

func filterOf(it store.ReviewItem) string {
	switch it.Decision {
	case store.DecisionKeep:
		return "kept"
	case store.DecisionRevoke:
		return "revoked"
	}
	return "undecided"
}

// reviewDecide keeps or revokes one item.
func (a *app) reviewDecide(c echo.Context) error {
	itemID, err := strconv.ParseInt(c.Param("item"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	it, err := a.Store.ReviewItemByID(c.Request().Context(), itemID)
	if err != nil || it.ReviewID != reviewID(c) {
		return store.ErrNotFound
	}
	u, _ := currentUser(c)
	out, problems, err := a.reviewService().Decide(c.Request().Context(), u.ID, itemID, c.FormValue("decision"), c.FormValue("note"))
	if err != nil {
		return err
	}
	refused := map[int64]string{}
	notice := ""
	switch {
	case len(problems) > 0:
		for _, m := range problems {
			refused[itemID] = m
		}
	case out.Refused != "":
		refused[itemID] = out.Refused
	default:
		notice = reviews.Decided(c.FormValue("decision")) + ": " + reviews.What(a.Access.Catalog(), it) + " of " + it.UserName + "."
	}
	return a.afterDecision(c, notice, refused, out.Completed)
}

// reviewDecideMany keeps or revokes the ticked items.
func (a *app) reviewDecideMany(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	var ids []int64
	for _, raw := range form["items"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return store.ErrNotFound
		}
		ids = append(ids, id)
	}
	u, _ := currentUser(c)
	svc := a.reviewService()
	if len(ids) == 0 {
		if _, err := svc.Get(c.Request().Context(), u.ID, reviewID(c)); err != nil {
			return err
		}
		return a.afterDecision(c, "Tick the items first.", nil, false)
	}
	outs, err := svc.DecideMany(c.Request().Context(), u.ID, reviewID(c), ids, form.Get("decision"), form.Get("note"))
	if err != nil {
		return err
	}
	refused := map[int64]string{}
	done, completed := 0, false
	for _, o := range outs {
		if o.Refused != "" {
			refused[o.ItemID] = o.Refused
		} else {
			done++
		}
		completed = completed || o.Completed
	}
	verb := strings.ToLower(reviews.Decided(form.Get("decision")))
	notice := fmt.Sprintf("%d %s.", done, verb)
	if len(refused) > 0 {
		notice = fmt.Sprintf("%d %s, %d refused.", done, verb, len(refused))
	}
	return a.afterDecision(c, notice, refused, completed)
}

// afterDecision answers htmx with the items region, anyone else with a redirect to the
// review (the refusals as flashes).
func (a *app) afterDecision(c echo.Context, notice string, refused map[int64]string, completed bool) error {
	show := c.FormValue("show")
	if completed {
		notice = strings.TrimSpace(notice + " The review is complete.")
	}
	if isHTMX(c) {
		v, err := a.reviewView(c, show, notice, refused)
		if err != nil {
			return err
		}
		return a.renderStatus(c, http.StatusOK, rvv.Items(v.Items))
	}
	if notice != "" {
		a.flash(c, notice)
	}
	for id, m := range refused {
		it, err := a.Store.ReviewItemByID(c.Request().Context(), id)
		if err == nil {
			m = it.UserName + ", " + reviews.What(a.Access.Catalog(), it) + ": " + m
		}
		a.flash(c, "Not recorded: "+m)
	}
	q := url.Values{}
	if show != "" {
		q.Set("show", show)
	}
	if page := c.FormValue("page"); page != "" && page != "1" {
		q.Set("page", page)
	}
	to := fmt.Sprintf("/reviews/%d", reviewID(c))
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	return redirect(c, to)
}

// reviewReport is the printable report.
func (a *app) reviewReport(c echo.Context) error {
	u, _ := currentUser(c)
	r, items, err := a.reviewService().Items(c.Request().Context(), u.ID, reviewID(c))
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	page := a.page(c, "Access review report: "+r.OrgName)
	page.Stylesheets = []string{"review-report.css"}
	v := rvv.ReportView{Page: page, Title: "Access review report: " + r.OrgName, Org: r.OrgName, Started: a.day(c, r.CreatedAt) + " by " + starter(r),
		Due: a.day(c, r.DueAt), Schedule: schedule(r.EveryDays), Completed: "Not yet", Printed: snap.When(a.Store.Now().Unix()), Total: r.Total,
		CSVHref: fmt.Sprintf("/reviews/%d/report.csv", r.ID), BackHref: fmt.Sprintf("/reviews/%d", r.ID)}
	if r.State == store.ReviewComplete {
		v.Completed = a.day(c, r.CompletedAt)
	}
	var names []string
	for _, id := range r.Reviewers {
		if p, ok := snap.User(id); ok {
			names = append(names, p.Name)
		}
	}
	v.Reviewers = strings.Join(names, ", ")
	for _, it := range items {
		row := rvv.ReportRow{Person: it.UserName, Email: it.UserEmail, What: reviews.What(snap.Catalog(), it), Where: it.OrgName,
			Since: a.day(c, it.Since), LastSignIn: "Never", Decision: reviews.Decided(it.Decision), DecidedBy: it.DecidedByName, Note: it.Note}
		if it.LastSignIn != 0 {
			row.LastSignIn = a.day(c, it.LastSignIn)
		}
		switch it.Decision {
		case store.DecisionKeep:
			v.Kept++
		case store.DecisionRevoke:
			v.Revoked++
		default:
			v.Open++
		}
		if it.DecidedAt != 0 {
			row.DecidedAt = snap.When(it.DecidedAt)
		}
		v.Rows = append(v.Rows, row)
	}
	return a.renderStatus(c, http.StatusOK, rvv.Report(v))
}

// reviewReportCSV is the report as CSV: every item and its decision.
func (a *app) reviewReportCSV(c echo.Context) error {
	u, _ := currentUser(c)
	r, items, err := a.reviewService().Items(c.Request().Context(), u.ID, reviewID(c))
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"review", "organisation", "person", "email", "kind", "access", "where", "since", "last_sign_in", "decision", "decided_by", "decided_at", "note"})
	at := func(unix int64) string {
		if unix == 0 {
			return ""
		}
		return time.Unix(unix, 0).UTC().Format(time.RFC3339)
	}
	for _, it := range items {
		_ = w.Write([]string{strconv.FormatInt(r.ID, 10), csvSafe(r.OrgName), csvSafe(it.UserName), csvSafe(it.UserEmail), it.Kind,
			csvSafe(reviews.What(snap.Catalog(), it)), csvSafe(it.OrgName), at(it.Since), at(it.LastSignIn), it.Decision, csvSafe(it.DecidedByName),
			at(it.DecidedAt), csvSafe(it.Note)})
	}
	w.Flush()
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="access-review-%d.csv"`, r.ID))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
