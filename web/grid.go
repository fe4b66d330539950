package web

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/staff"
	rv "github.com/rolegate/rolegate/views/roles"
)

// gridData builds the permission grid of the organisation the request names.
func (a *app) gridData(c echo.Context) (rv.GridView, error) {
	orgs, org, err := a.orgsFor(c, c.QueryParam("org"), viewRoles...)
	if err != nil {
		return rv.GridView{}, err
	}
	rows, err := a.Store.RolesWithPermissions(c.Request().Context(), org)
	if err != nil {
		return rv.GridView{}, err
	}
	v := rv.GridView{Orgs: orgs, OrgID: org, CSVPath: "/roles/grid.csv?org=" + strconv.FormatInt(org, 10), ReportPath: a.reportPath(c, org)}
	grants := make([]map[string]bool, len(rows))
	for i, r := range rows {
		v.Roles = append(v.Roles, rv.Row{ID: r.ID, Name: r.Name, Code: r.Code, System: r.System, Active: r.Active})
		grants[i] = map[string]bool{}
		for _, p := range r.Permissions {
			grants[i][p] = true
		}
	}
	for _, g := range a.Access.Catalog().Categories() {
		gg := rv.GridGroup{Name: g.Name}
		for _, p := range g.Permissions {
			row := rv.GridRow{Key: p.Key, Label: p.Label, Grants: make([]bool, len(rows))}
			for i := range rows {
				row.Grants[i] = grants[i][p.Key]
			}
			gg.Rows = append(gg.Rows, row)
		}
		v.Groups = append(v.Groups, gg)
	}
	return v, nil
}

// grid is the permission grid page.
func (a *app) grid(c echo.Context) error {
	v, err := a.gridData(c)
	if err != nil {
		return err
	}
	v.Page = a.page(c, "Permission grid")
	return a.renderStatus(c, http.StatusOK, rv.Grid(v))
}

// gridCSV is the grid as a CSV file: one row per permission, one column per role (by code).
func (a *app) gridCSV(c echo.Context) error {
	v, err := a.gridData(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := []string{"category", "permission", "key"}
	for _, r := range v.Roles {
		header = append(header, r.Code)
	}
	_ = w.Write(header)
	for _, g := range v.Groups {
		for _, row := range g.Rows {
			rec := []string{csvSafe(g.Name), csvSafe(row.Label), row.Key}
			for _, ok := range row.Grants {
				if ok {
					rec = append(rec, "x")
				} else {
					rec = append(rec, "")
				}
			}
			_ = w.Write(rec)
		}
	}
	w.Flush()
	c.Response().Header().Set("Content-Disposition", `attachment; filename="permission-grid.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// csvSafe defuses spreadsheet formulas in text people typed (CSV injection).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// permissionDetails lists every catalog permission with the roles and people holding it.
func (a *app) permissionDetails(c echo.Context) error {
	orgs, org, err := a.orgsFor(c, c.QueryParam("org"), viewRoles...)
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	u, _ := currentUser(c)
	var visibleRoles []int64
	for _, o := range snap.Ancestry(org) {
		for _, r := range snap.Roles() {
			if r.OrgID == o {
				visibleRoles = append(visibleRoles, r.ID)
			}
		}
	}
	v := rv.DetailsView{Page: a.page(c, "Permission details"), Orgs: orgs, OrgID: org, ReportPath: a.reportPath(c, org)}
	for _, g := range snap.Catalog().Categories() {
		dg := rv.DetailGroup{Name: g.Name}
		for _, p := range g.Permissions {
			d := rv.Detail{Key: p.Key, Label: p.Label, Description: p.Description, Mandatory: p.Mandatory, People: snap.Holders(org, p.Key)}
			if v.ReportPath != "" {
				// The count links to Who can…, so it counts whom that page lists.
				d.WhoHref = whoPath(p.Key, org)
				if hs, err := staff.Holders(snap, u.ID, org, p.Key); err == nil {
					d.People = len(hs)
				}
			}
			for _, id := range visibleRoles {
				r, _ := snap.Role(id)
				for _, k := range r.Permissions {
					if k == p.Key {
						d.Roles = append(d.Roles, r.Name)
						break
					}
				}
			}
			dg.Perms = append(dg.Perms, d)
		}
		v.Groups = append(v.Groups, dg)
	}
	return a.renderStatus(c, http.StatusOK, rv.Details(v))
}
