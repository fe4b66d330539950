package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/valid"
	iv "github.com/rolegate/rolegate/views/impact"
)

// Names a preview line shows at once, and in its expandable list.
const (
	impactNamed = 8
	impactMore  = 200
)

// impactView is the preview of im for the person changing access in orgID (PRODUCT.md
// §2.12): people they may not see are counted, never named (staff.Readable). endpoint
// refreshes it as the form changes ("" for a preview that cannot change).
func (a *app) impactView(c echo.Context, im rbac.Impact, orgID int64, endpoint string) iv.View {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	v := iv.View{Endpoint: endpoint, Shown: true, Digest: im.Digest(), People: im.People()}
	name := func(ids []int64) string {
		if slices.Equal(ids, []int64{orgID}) {
			return ""
		}
		var names []string
		for _, id := range ids {
			o, _ := snap.Org(id)
			names = append(names, o.Name)
		}
		return strings.Join(names, ", ")
	}
	line := func(gain bool, label string, people []rbac.Affected, hidden int) iv.Line {
		l := iv.Line{Gain: gain, Label: label, Count: len(people) + hidden, Hidden: hidden}
		for i, p := range people {
			who := iv.Person{Name: p.Name, Where: name(p.Orgs)}
			switch {
			case i < impactNamed:
				l.Named = append(l.Named, who)
			case i < impactNamed+impactMore:
				l.More = append(l.More, who)
			default:
				l.Rest++
			}
		}
		return l
	}
	for _, p := range staff.Readable(snap, u.ID, orgID, im).Perms {
		if n := len(p.Gain) + p.HiddenGain; n > 0 {
			v.Lines = append(v.Lines, line(true, p.Perm.Label, p.Gain, p.HiddenGain))
		}
		if n := len(p.Lose) + p.HiddenLose; n > 0 {
			v.Lines = append(v.Lines, line(false, p.Perm.Label, p.Lose, p.HiddenLose))
		}
	}
	return v
}

// confirmation is the impact preview's answer a form sends with its save.
func confirmation(c echo.Context) rbac.Confirmation {
	return rbac.Confirmation{Asked: true, Seen: c.FormValue("impact")}
}

// heldImpact is the impact a save was held back for, when err says so.
func heldImpact(err error) (rbac.Impact, bool) {
	var ue *rbac.UnseenImpactError
	if errors.As(err, &ue) {
		return ue.Impact, true
	}
	return rbac.Impact{}, false
}

func roleImpactPath(id int64, part string) string {
	return "/roles/" + strconv.FormatInt(id, 10) + part
}

// roleImpact is the live preview of the Edit role form.
func (a *app) roleImpact(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermRolesManage)
	if err != nil {
		return err
	}
	f, err := roleFormValues(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	im, err := a.roleService().PreviewUpdate(u.ID, r, f)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, iv.Fragment(a.impactView(c, im, r.OrgID, roleImpactPath(r.ID, "/impact"))))
}

// roleDeleteImpact is the live preview of the Reassign and delete form.
func (a *app) roleDeleteImpact(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermRolesManage)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	im, err := a.roleService().PreviewDelete(u.ID, r, deletionValues(c))
	if err != nil {
		return err
	}
	v := a.impactView(c, im, r.OrgID, roleImpactPath(r.ID, "/delete/impact"))
	v.ID = "reassign-impact"
	return a.renderStatus(c, http.StatusOK, iv.Panel(v))
}

// membersImpact is the live preview of Select members: the people ticked and unticked on
// every page and search so far.
func (a *app) membersImpact(c echo.Context) error {
	r, err := a.loadRole(c, rbac.PermStaffManage)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	sel, ok := a.selection(form, r)
	if !ok {
		return echo.ErrBadRequest
	}
	until, _ := valid.Until(form.Get("until"), a.zone(c))
	u, _ := currentUser(c)
	im, err := a.roleService().PreviewHolders(u.ID, r, sel.Add, sel.Remove, until)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, iv.Fragment(a.impactView(c, im, r.OrgID, roleImpactPath(r.ID, "/members/impact"))))
}

// orgDefaultsImpact is the live preview of an organisation's permission defaults form.
func (a *app) orgDefaultsImpact(c echo.Context) error {
	o, err := a.loadOrg(c)
	if err != nil {
		return err
	}
	effects, err := defaultsValues(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	im, err := a.orgService().PreviewDefaults(u.ID, o.ID, effects)
	if err != nil {
		return err
	}
	return a.renderStatus(c, http.StatusOK, iv.Panel(a.impactView(c, im, o.ID, orgDefaultsImpactPath(o.ID))))
}

func orgDefaultsImpactPath(id int64) string {
	return "/orgs/" + strconv.FormatInt(id, 10) + "/defaults/impact"
}
