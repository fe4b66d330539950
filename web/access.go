package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/orgs"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	av "github.com/rolegate/rolegate/views/access"
	rv "github.com/rolegate/rolegate/views/roles"
)

// "Who can…" and the access report (PRODUCT.md §2.12), answered from the permission snapshot
// by internal/staff, which decides whom the viewer may see.

// whoPath is the address of Who can… for a permission in an organisation.
func whoPath(perm string, org int64) string {
	return "/access/who?" + url.Values{"permission": {perm}, "org": {strconv.FormatInt(org, 10)}}.Encode()
}

// reportPath is org's access report for the person asking, "" when they may not read it (nor
// Who can… there: both need staff.view).
func (a *app) reportPath(c echo.Context, org int64) string {
	u, _ := currentUser(c)
	if staff.CanReport(a.Access.Now(), u.ID, org) != nil {
		return ""
	}
	return "/access/report?org=" + strconv.FormatInt(org, 10)
}

// whoAsk reads the question of a Who can… request. problem is set, and q.Perm emptied, when
// the permission is not one of the catalog's.
func (a *app) whoAsk(c echo.Context) (opts []rv.OrgOption, q staff.WhoQuery, problem string, err error) {
	opts, org, err := a.orgsFor(c, c.QueryParam("org"), rbac.PermStaffView)
	if err != nil {
		return nil, q, "", err
	}
	q = staff.WhoQuery{OrgID: org, Perm: c.QueryParam("permission"), Q: c.QueryParam("q"), Kind: c.QueryParam("kind")}
	if !staff.ValidKind(q.Kind) {
		q.Kind = ""
	}
	if utf8.RuneCountInString(q.Q) > 100 {
		q.Q = string([]rune(q.Q)[:100])
	}
	if q.Perm != "" && !a.Access.Catalog().Has(q.Perm) {
		problem = "There is no such permission: choose one from the list."
		q.Perm = ""
	}
	return opts, q, problem, nil
}

// whoPage is Who can…: the pickers, and once a permission is chosen, who holds it and why.
func (a *app) whoPage(c echo.Context) error {
	opts, q, problem, err := a.whoAsk(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	snap := a.Access.Now()
	v := av.WhoView{Page: a.page(c, "Who can…"), Orgs: opts, Q: q.Q, Problem: problem}
	for _, g := range snap.Catalog().Categories() {
		pg := av.PermGroup{Name: g.Name}
		for _, p := range g.Permissions {
			pg.Options = append(pg.Options, av.Option{Value: p.Key, Label: p.Label, Selected: p.Key == q.Perm})
		}
		v.Perms = append(v.Perms, pg)
	}
	for _, k := range staff.Kinds {
		v.Kinds = append(v.Kinds, av.Option{Value: k, Label: staff.KindLabel(k), Selected: k == q.Kind})
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	if q.Perm == "" {
		return a.renderStatus(c, status, av.Who(v))
	}
	ans, err := staff.Who(snap, u.ID, q)
	if err != nil {
		return err
	}
	o, _ := snap.Org(q.OrgID)
	label := snap.Catalog().Label(q.Perm)
	v.Chosen, v.Limited = true, !staff.ListScope(snap, u.ID).Everyone
	v.Summary = fmt.Sprintf("%s can %s in %s", people(ans.Total), label, o.Name)
	if len(ans.Rows) != ans.Total {
		v.Filtered = fmt.Sprintf("%d shown: those matching the filter.", len(ans.Rows))
	}
	csvQuery := url.Values{"org": {strconv.FormatInt(q.OrgID, 10)}, "permission": {q.Perm}}
	for k, val := range map[string]string{"q": q.Q, "kind": q.Kind} {
		if val != "" {
			csvQuery.Set(k, val)
		}
	}
	v.CSVPath = "/access/who.csv?" + csvQuery.Encode()
	for _, r := range ans.Rows {
		v.Rows = append(v.Rows, av.WhoRow{Href: fmt.Sprintf("/staff/%d", r.User.ID), Name: r.User.Name, Email: r.User.Email,
			Where: orgNames(snap, r.Orgs), Kind: staff.KindLabel(r.Kind), Reason: r.Reason})
	}
	return a.renderStatus(c, http.StatusOK, av.Who(v))
}

// whoCSV is Who can… as a CSV file, with the page's filters.
func (a *app) whoCSV(c echo.Context) error {
	_, q, problem, err := a.whoAsk(c)
	if err != nil {
		return err
	}
	if problem != "" || q.Perm == "" {
		return echo.NewHTTPError(http.StatusUnprocessableEntity)
	}
	u, _ := currentUser(c)
	snap := a.Access.Now()
	ans, err := staff.Who(snap, u.ID, q)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(utf8BOM)
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"name", "email", "organisation", "reason kind", "reason"})
	for _, r := range ans.Rows {
		_ = w.Write([]string{csvSafe(r.User.Name), csvSafe(r.User.Email), csvSafe(orgNames(snap, r.Orgs)), r.Kind, csvSafe(r.Reason)})
	}
	w.Flush()
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="who-can-%s.csv"`, q.Perm))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// accessReport is the printable access report of an organisation and those below it.
func (a *app) accessReport(c echo.Context) error {
	opts, org, err := a.orgsFor(c, c.QueryParam("org"), staff.ReportPermissions...)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	rep, err := a.staffService().BuildReport(c.Request().Context(), u.ID, org)
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	v := av.ReportView{Page: a.page(c, "Access report"), Orgs: opts, OrgName: orgs.Label(snap, org),
		Generated: snap.When(snap.Now().Unix()), GeneratedBy: u.Name, OrgCount: len(rep.Orgs), People: rep.People,
		Assignments: rep.Assignments, Overrides: rep.Overrides, Defaults: rep.Defaults, Limited: !staff.ListScope(snap, u.ID).Everyone}
	v.Page.Stylesheets = []string{"report.css"}
	if chain := snap.Ancestry(org); len(chain) > 0 {
		top, _ := snap.Org(chain[len(chain)-1])
		v.Portal = top.Name
	}
	cat := snap.Catalog()
	for _, or := range rep.Orgs {
		sec := av.ReportOrg{ID: or.Org.ID, Name: orgs.Label(snap, or.Org.ID)}
		for _, r := range or.Roles {
			rr := av.ReportRole{Name: r.Role.Name, Code: r.Role.Code, Inactive: !r.Role.Active}
			for _, k := range cat.Keys() { // catalog order, whatever order the role lists them in
				if slices.Contains(r.Role.Permissions, k) {
					rr.Permissions = append(rr.Permissions, cat.Label(k))
				}
			}
			for _, m := range r.Members {
				rm := av.ReportMember{Name: m.User.Name, Email: m.User.Email, Disabled: m.User.Disabled}
				if m.Since != 0 {
					rm.Since = snap.When(m.Since)
				}
				if m.Until != 0 {
					rm.Until = snap.When(m.Until)
				}
				rr.Members = append(rr.Members, rm)
			}
			sec.Roles = append(sec.Roles, rr)
		}
		for _, ov := range or.Overrides {
			note := ov.SetBy
			if ov.Until != 0 {
				note = strings.TrimPrefix(note+", until "+snap.When(ov.Until), ", ")
			}
			sec.Overrides = append(sec.Overrides, av.ReportLine{Who: ov.User.Name, What: cat.Label(ov.Perm), Effect: effectWords(ov.Effect), Note: note})
		}
		for _, d := range or.Defaults {
			sec.Defaults = append(sec.Defaults, av.ReportLine{What: cat.Label(d.Perm), Effect: effectWords(d.Effect)})
		}
		v.Sections = append(v.Sections, sec)
	}
	return a.renderStatus(c, http.StatusOK, av.Report(v))
}

func effectWords(e rbac.Effect) string {
	switch e {
	case rbac.Allow:
		return "Allowed"
	case rbac.Deny:
		return "Denied"
	}
	return "Inherited"
}

// people is "1 person" or "N people".
func people(n int) string {
	if n == 1 {
		return "1 person"
	}
	return strconv.Itoa(n) + " people"
}

// orgNames names organisations in a line: "Northside Practice, Eastside Clinic".
func orgNames(snap *rbac.Snapshot, ids []int64) string {
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		o, _ := snap.Org(id)
		names = append(names, o.Name)
	}
	return strings.Join(names, ", ")
}
