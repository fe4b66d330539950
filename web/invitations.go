package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	iv "github.com/rolegate/rolegate/views/invite"
	sv "github.com/rolegate/rolegate/views/staff"
)

// inviteReturn is where Add a new role comes back to: the invitation form, role selected.
const inviteReturn = "/staff/invitations/new"

// linkBase is the portal's public address for links in invitations: --base-url when set,
// else the address the inviting admin is using (such links are only shown to that admin;
// mail needs --base-url). X-Forwarded-Proto is believed only from a trusted proxy.
func (a *app) linkBase(c echo.Context) string {
	if a.Config.BaseURL != "" {
		return a.Config.BaseURL
	}
	r := c.Request()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := r.Header.Get(echo.HeaderXForwardedProto); (p == "https" || p == "http") && a.Config.TrustsPeer(r.RemoteAddr) {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// inviteView builds the Invite staff form for f; the organisation must be one where the
// user holds staff.manage.
func (a *app) inviteView(c echo.Context, f staff.InviteForm, problems map[string]string) (sv.InviteView, error) {
	orgs, org, err := a.orgsFor(c, strconv.FormatInt(f.OrgID, 10), rbac.PermStaffManage)
	if f.OrgID == 0 {
		orgs, org, err = a.orgsFor(c, "", rbac.PermStaffManage)
	}
	if err != nil {
		return sv.InviteView{}, err
	}
	u, _ := currentUser(c)
	snap := a.Access.Now()
	loc := a.zone(c)
	v := sv.InviteView{Page: a.page(c, "Invite staff"), Modal: isHTMX(c), Email: f.Email, Name: f.Name, OrgID: org,
		CanAddRole: snap.Can(u.ID, org, rbac.PermRolesManage), Problems: problems, Now: a.Store.Now().In(loc).Format(localInput)}
	if f.Until != 0 {
		v.Until = time.Unix(f.Until, 0).In(loc).Format(localInput)
	} else if f.UntilProblem != "" {
		v.Until = c.FormValue("until")
	}
	for _, o := range orgs {
		v.Orgs = append(v.Orgs, sv.Option{ID: o.ID, Name: o.Name, Selected: o.Selected})
	}
	for _, r := range staff.Grantable(snap, u.ID, org) {
		v.Roles = append(v.Roles, sv.Option{ID: r.ID, Name: r.Name, Selected: r.ID == f.RoleID, Warn: grantWarning(snap, r.ID)})
	}
	return v, nil
}

func (a *app) inviteFormValues(c echo.Context, get func(string) string) staff.InviteForm {
	f := staff.InviteForm{Email: get("email"), Name: get("name")}
	f.OrgID, _ = strconv.ParseInt(get("org"), 10, 64)
	f.RoleID, _ = strconv.ParseInt(get("role"), 10, 64)
	f.Until, f.UntilProblem = valid.Until(get("until"), a.zone(c))
	return f
}

// inviteNew is the Invite staff form; ?role= preselects a role (Add a new role returns here).
func (a *app) inviteNew(c echo.Context) error {
	f := a.inviteFormValues(c, c.QueryParam)
	f.Email, _ = valid.Text(f.Email, false, valid.MaxEmail)
	f.Name, _ = valid.Text(f.Name, false, auth.MaxNameLen)
	v, err := a.inviteView(c, f, nil)
	if err != nil {
		return err
	}
	if c.QueryParam("created") == "1" {
		for _, r := range v.Roles {
			if r.Selected {
				v.NewRole = r.Name
			}
		}
	}
	return a.renderStatus(c, http.StatusOK, sv.Invite(v))
}

// inviteCreate creates an invitation and shows its link once. The same form also asks for
// the roles of another organisation (step=roles) and goes to Add a new role (step=new-role).
func (a *app) inviteCreate(c echo.Context) error {
	f := a.inviteFormValues(c, c.FormValue)
	switch c.FormValue("step") {
	case "roles":
		f.RoleID = 0
		v, err := a.inviteView(c, f, nil)
		if err != nil {
			return err
		}
		return a.renderStatus(c, http.StatusOK, sv.Invite(v))
	case "new-role":
		if err := a.authorize(c, f.OrgID, rbac.PermRolesManage); err != nil {
			return err
		}
		back := url.Values{"org": {strconv.FormatInt(f.OrgID, 10)}}
		for _, k := range []string{"email", "name"} {
			if s, _ := valid.Text(c.FormValue(k), false, 254); s != "" {
				back.Set(k, s)
			}
		}
		next := inviteReturn + "?" + back.Encode()
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/roles/new?org=%d&next=%s", f.OrgID, url.QueryEscape(next)))
	}
	if _, _, err := a.orgsFor(c, c.FormValue("org"), rbac.PermStaffManage); err != nil {
		return err
	}
	u, _ := currentUser(c)
	sent, problems, err := a.staffService().Invite(c.Request().Context(), u.ID, f, a.linkBase(c))
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		v, err := a.inviteView(c, f, problems)
		if err != nil {
			return err
		}
		return a.renderStatus(c, http.StatusUnprocessableEntity, sv.Invite(v))
	}
	return a.renderSent(c, sent, false)
}

func (a *app) renderSent(c echo.Context, sent staff.Sent, resent bool) error {
	if sent.MailError != nil {
		a.Logger.Warn("invitation mail not sent", "invitation", sent.Invitation.ID, "err", sent.MailError)
	}
	inv := sent.Invitation
	v := sv.SentView{Page: a.page(c, "Invitation link"), Modal: isHTMX(c), Resent: resent, Name: inv.Name, Email: inv.Email,
		Org: inv.OrgName, Role: inv.RoleName, Link: sent.Link, Expires: formatTime(inv.ExpiresAt),
		Mailed: sent.Mailed, MailError: sent.MailError != nil}
	if inv.Until != 0 {
		v.Until = untilText(inv.Until, a.Store.Now(), a.zone(c))
	}
	trigger(c, map[string]string{"staff-changed": ""})
	c.Response().Header().Set("Cache-Control", "no-store")
	return a.renderStatus(c, http.StatusOK, sv.Sent(v))
}

func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, store.ErrNotFound
	}
	return id, nil
}

// invitationError answers the refusals resend and revoke share.
func (a *app) invitationError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, store.ErrInvitationClosed):
		return a.invitationNotice(c, "That invitation was already accepted or revoked.")
	}
	return err
}

// invitationNotice tells the user something about an invitation and refreshes the list.
func (a *app) invitationNotice(c echo.Context, msg string) error {
	if isHTMX(c) {
		trigger(c, map[string]string{"staff-changed": "", "toast": msg})
		return c.NoContent(http.StatusNoContent)
	}
	a.flash(c, msg)
	return c.Redirect(http.StatusSeeOther, "/staff")
}

// inviteResend gives an invitation a new link (the old one stops working) and shows it.
func (a *app) inviteResend(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	sent, problems, err := a.staffService().Resend(c.Request().Context(), u.ID, id, a.linkBase(c))
	if err != nil {
		return a.invitationError(c, err)
	}
	for _, msg := range problems {
		return a.invitationNotice(c, msg)
	}
	return a.renderSent(c, sent, true)
}

// inviteRevoke withdraws an invitation.
func (a *app) inviteRevoke(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	u, _ := currentUser(c)
	inv, err := a.staffService().Revoke(c.Request().Context(), u.ID, id)
	if err != nil {
		return a.invitationError(c, err)
	}
	return a.invitationNotice(c, fmt.Sprintf("The invitation of %s was revoked; its link no longer works.", inv.Name))
}

// openInvitation finds the invitation of the :token parameter, or answers with the page
// that says why it cannot be used.
func (a *app) openInvitation(c echo.Context) (staff.Opened, bool, error) {
	opened, err := a.staffService().Open(c.Request().Context(), c.Param("token"))
	if err == nil {
		return opened, true, nil
	}
	return opened, false, a.unusable(c, err)
}

func (a *app) unusable(c echo.Context, err error) error {
	v := iv.UnusableView{Page: a.page(c, "Invitation")}
	var ue *staff.UnusableError
	status := http.StatusGone
	switch {
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
		v.Title, v.Reason = "This invitation link is not valid", "Check that you copied the whole link."
	case errors.As(err, &ue):
		switch ue.State {
		case store.InvitationExpired:
			v.Title, v.Reason = "This invitation has expired", "Invitation links work for a limited time."
		case store.InvitationAccepted:
			v.Title, v.Reason = "This invitation was already used", "Each invitation link works once."
			if ue.Reason != "" {
				v.Reason = ue.Reason
			}
		case store.InvitationRevoked:
			v.Title, v.Reason = "This invitation was withdrawn", "The organisation revoked it."
		default:
			v.Title, v.Reason = "This invitation can no longer be used", ue.Reason
		}
	default:
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return a.renderStatus(c, status, iv.Unusable(v))
}

func (a *app) acceptView(c echo.Context, o staff.Opened) iv.AcceptView {
	inv := o.Invitation
	v := iv.AcceptView{Page: a.page(c, "Join "+inv.OrgName), Action: c.Request().URL.Path, Org: inv.OrgName, Role: inv.RoleName,
		InvitedBy: inv.InvitedByName, Email: inv.Email, Name: inv.Name, Existing: o.Existing}
	if a.SSO != nil {
		v.SSOName, v.SSOURL = a.SSO.Name, "/login/sso?invite="+url.QueryEscape(c.Param("token"))
	}
	return v
}

// acceptForm is the page of an invitation link.
func (a *app) acceptForm(c echo.Context) error {
	o, ok, err := a.openInvitation(c)
	if !ok {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return a.renderStatus(c, http.StatusOK, iv.Accept(a.acceptView(c, o)))
}

// acceptSubmit accepts an invitation: a new account, or an existing one proved by its
// password; then the person is signed in.
func (a *app) acceptSubmit(c echo.Context) error {
	o, ok, err := a.openInvitation(c)
	if !ok {
		return err
	}
	ctx := c.Request().Context()
	tok := c.Param("token")
	v := a.acceptView(c, o)
	var user store.User
	if o.Existing {
		u, err := a.Auth.Authenticate(ctx, a.credentials(c, o.Invitation.Email, c.FormValue("password")))
		var te *auth.ThrottledError
		switch {
		case errors.As(err, &te):
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(te.Wait.Seconds()))))
			v.Problem = "Too many failed attempts. Wait a little before trying again."
			return a.renderStatus(c, http.StatusTooManyRequests, iv.Accept(v))
		case errors.Is(err, auth.ErrBadCredentials):
			v.Problems = map[string]string{"password": "This is not the password of that account."}
			return a.renderStatus(c, http.StatusUnprocessableEntity, iv.Accept(v))
		case err != nil:
			return err
		}
		if err := a.staffService().AcceptExisting(ctx, tok, u); err != nil {
			return a.unusable(c, err)
		}
		user = u
	} else {
		id, problems, err := a.staffService().AcceptNew(ctx, tok, c.FormValue("name"), c.FormValue("password"))
		if err != nil {
			return a.unusable(c, err)
		}
		if len(problems) > 0 {
			v.Name, _ = valid.Text(c.FormValue("name"), false, auth.MaxNameLen)
			v.Problems = problems
			return a.renderStatus(c, http.StatusUnprocessableEntity, iv.Accept(v))
		}
		user = store.User{ID: id, Email: o.Invitation.Email}
	}
	a.flash(c, fmt.Sprintf("Welcome to %s. You are signed in as %s.", o.Invitation.OrgName, strings.TrimSpace(o.Invitation.RoleName)))
	// An existing account's second step still applies, and so does a policy requiring one.
	return a.afterPassword(c, user, store.AMRPassword, "/", "")
}
