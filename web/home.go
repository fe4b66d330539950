package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/reviews"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/views/home"
)

// home is the start page after signing in: what to do next for those who manage, what one
// can do and whom to ask for those who do not.
func (a *app) home(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	snap := a.Access.Now()
	first, _, _ := strings.Cut(u.Name, " ")
	v := home.View{Page: a.page(c, "Home"), FirstName: first, GlobalAdmin: u.GlobalAdmin}

	counts := snap.StaffCounts()
	orgs, err := a.Store.OrganisationsOf(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		v.Organisations = append(v.Organisations, home.Org{Name: o.Name, Staff: counts[o.ID]})
	}

	manages := false
	for _, p := range rbac.AdminPermissions {
		manages = manages || len(snap.OrgsWhere(u.ID, p)) > 0
	}
	if manages {
		steps, err := a.gettingStarted(c, u)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(steps, func(s home.Step) bool { return !s.Done }) {
			v.Steps = steps
		}
	} else if len(orgs) > 0 {
		v.Access = a.ownAccess(snap, u, orgs[0])
	}

	// Offered where the person is staff (a use there reaches below it): a nurse of a group's
	// top level is not shown one button per clinic, nor does the page read each one's settings.
	for _, id := range snap.MemberOrgs(u.ID) {
		if !snap.Can(u.ID, id, rbac.PermEmergency) {
			continue
		}
		if _, ok, err := a.emergencyService().Available(ctx, u.ID, id); err != nil {
			return err
		} else if ok && len(snap.EmergencyOf(u.ID)) == 0 {
			o, _ := snap.Org(id)
			v.EmergencyOrgs = append(v.EmergencyOrgs, home.Org{Name: o.Name, Href: fmt.Sprintf("/emergency/new?org=%d", id)})
		}
	}
	if a.canSomewhere(u, rbac.PermAuditView) {
		waiting, err := a.emergencyService().Queue(ctx, u.ID, true, 100)
		if err != nil {
			return err
		}
		for _, e := range waiting {
			if e.UserID != u.ID {
				v.Unreviewed++
			}
		}
	}
	if len(snap.OrgsWhere(u.ID, rbac.PermStaffManage)) > 0 {
		todo, err := a.reviewService().ToDo(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, r := range todo {
			v.Reviews = append(v.Reviews, home.Review{Org: r.OrgName, Href: fmt.Sprintf("/reviews/%d", r.ID), Due: a.dueText(c, r.DueAt),
				Progress: fmt.Sprintf("%d of %d reviewed", r.Decided, r.Total), Overdue: reviews.Overdue(r, a.Store.Now().Unix())})
		}
		ending, err := a.staffService().EndingSoon(ctx, u.ID, 10)
		if err != nil {
			return err
		}
		loc, at := a.zone(c), a.Store.Now()
		for _, e := range ending {
			what := e.What + " in " + e.OrgName
			if e.Override {
				what = a.Access.Catalog().Label(e.What) + " (personal) in " + e.OrgName
			}
			v.Ending = append(v.Ending, home.Ending{Name: e.UserName, Href: fmt.Sprintf("/staff/%d?org=%d", e.UserID, e.OrgID), What: what,
				Until: untilText(e.Until, at, loc)})
		}
		v.ShowInvitations = true
		rows, total, err := a.staffService().Invited(ctx, u.ID, 5)
		if err != nil {
			return err
		}
		v.InvitationsTotal = total
		now := a.Store.Now().Unix()
		for _, r := range rows {
			inv := home.Invitation{Name: r.Name, Email: r.Email, Expires: formatTime(r.ExpiresAt), Expired: r.ExpiresAt <= now}
			for _, h := range r.Roles {
				inv.Roles = append(inv.Roles, h.RoleName+" in "+h.OrgName)
			}
			v.Invitations = append(v.Invitations, inv)
		}
	}

	if a.canSomewhere(u, rbac.PermAuditView) {
		v.ShowChanges = true
		entries, err := a.Store.ListAudit(ctx, store.AuditQuery{OrgIDs: audit.Scope(snap, u.ID), ChangesOnly: true, Limit: 6})
		if err != nil {
			return err
		}
		words, zone, err := a.auditWords(c)
		if err != nil {
			return err
		}
		for _, g := range audit.Group(entries) {
			v.Changes = append(v.Changes, home.Change{When: audit.FormatTime(g[0].At, zone.Loc), What: words.Describe(g...).Sentence})
		}
	}
	return a.renderStatus(c, http.StatusOK, home.Page(v))
}

// gettingStarted is the checklist a new admin works through, each step shown to those who
// may take it, done once the portal shows it was taken.
func (a *app) gettingStarted(c echo.Context, u store.User) ([]home.Step, error) {
	snap := a.Access.Now()
	within := func(perm string) []int64 {
		var out []int64
		for _, o := range snap.OrgsWhere(u.ID, perm) {
			out = append(out, snap.Subtree(o)...)
		}
		return out
	}
	var steps []home.Step
	if orgs := within(rbac.PermRolesManage); len(orgs) > 0 {
		done := slices.ContainsFunc(snap.Roles(), func(r rbac.Role) bool { return !r.System && slices.Contains(orgs, r.OrgID) })
		steps = append(steps, home.Step{Label: "Create a role of your own", Href: "/roles",
			Hint: "Start from a system role such as Nurse and adjust its permissions.", Done: done})
	}
	if orgs := within(rbac.PermStaffManage); len(orgs) > 0 {
		_, invited, err := a.Store.ListStaff(c.Request().Context(), store.StaffQuery{OrgIDs: orgs, Status: "invited", Limit: 1})
		if err != nil {
			return nil, err
		}
		others := snap.OthersStaffOf(u.ID, orgs)
		steps = append(steps, home.Step{Label: "Invite someone", Href: "/staff/invitations/new",
			Hint: "They get a link to set their password, with the role you choose.", Done: invited > 0 || others})
	}
	if orgs := within(rbac.PermOrgsManage); len(orgs) > 0 {
		done := slices.ContainsFunc(orgs, func(id int64) bool { o, _ := snap.Org(id); return o.ParentID != 0 })
		steps = append(steps, home.Step{Label: "Set up a sub-organisation", Href: "/orgs",
			Hint: "A location or department; roles held above it apply there too.", Done: done})
	}
	return steps, nil
}

// ownAccess is, for someone who manages nothing, what they may do in their organisation and
// whom to ask for more.
func (a *app) ownAccess(snap *rbac.Snapshot, u store.User, o store.Organisation) *home.Access {
	cat := snap.Catalog()
	acc := &home.Access{Org: o.Name}
	for _, k := range snap.Effective(u.ID, o.ID) {
		acc.Can = append(acc.Can, cat.Label(k))
	}
	for _, id := range snap.WhoCan(o.ID, rbac.PermStaffManage) {
		if p, ok := snap.User(id); ok && id != u.ID {
			acc.Ask = append(acc.Ask, p.Name)
		}
	}
	slices.Sort(acc.Ask)
	return acc
}
