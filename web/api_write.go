package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/valid"
)

// readJSON decodes a JSON body of at most 64 KiB into v; a body that is not is a 422.
func readJSON(c echo.Context, v any) error {
	// One JSON object and nothing after it. encoding/json matches field names in any case;
	// the API's names are lower case, and a key in any other case is no field of ours (as the
	// OpenAPI document reads it), so it is dropped before the fields are read.
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 64<<10))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil || dec.Decode(new(json.RawMessage)) != io.EOF {
		return badRequest("The body must be one JSON object.", nil)
	}
	for k := range fields {
		if k != strings.ToLower(k) {
			delete(fields, k)
		}
	}
	raw, _ := json.Marshal(fields)
	if err := json.Unmarshal(raw, v); err != nil {
		return badRequest("The body must be a JSON object.", nil)
	}
	return nil
}

// problems answers domain problems (keyed by field) as a 422.
func problems(p valid.Problems) error {
	return &apiError{status: http.StatusUnprocessableEntity, detail: "The request has problems; nothing was changed.", errors: p}
}

func idOf(raw string) int64 {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// apiAssign gives a user a role in an organisation, through every guard the person page has,
// with the token's creator as the actor.
func (a *app) apiAssign(c echo.Context) error {
	var body struct {
		Role  json.RawMessage `json:"role"`
		Org   json.RawMessage `json:"org"`
		Until json.RawMessage `json:"until"`
	}
	if err := readJSON(c, &body); err != nil {
		return err
	}
	var until int64
	if len(body.Until) > 0 && string(body.Until) != "null" {
		var raw string
		if err := json.Unmarshal(body.Until, &raw); err != nil {
			return badRequest("until must be a string: an RFC 3339 time, or a date and time in the portal's time zone.", map[string]string{"until": "a time"})
		}
		var msg string
		if until, msg = valid.Until(raw, a.zone(c)); msg != "" || until == 0 {
			return badRequest("until: "+valid.UntilHint, map[string]string{"until": "a time"})
		}
	}
	org, given := bodyOrg(body.Org)
	o, err := a.apiOrg(c, org, given, rbac.PermStaffManage)
	if err != nil {
		return err
	}
	u, err := a.apiUser(c, c.Param("user"))
	if err != nil {
		return err
	}
	roleID := idOf(scalar(body.Role))
	if roleID == 0 {
		return badRequest("role must be a role id.", map[string]string{"role": "a role id"})
	}
	p, _ := currentPrincipal(c)
	probs, err := a.staffService().AssignRole(c.Request().Context(), p.UserID, u.ID, roleID, o.ID, 0, until)
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return problems(probs)
	}
	out := map[string]any{"user": apiUser{u.ID, u.Email}, "role": roleID, "org": apiOrg{o.ID, o.Name}}
	if until != 0 {
		out["until"] = time.Unix(until, 0).UTC().Format(time.RFC3339)
	}
	return apiJSON(c, http.StatusCreated, out)
}

// apiUnassign takes a role from a user in an organisation, through the same guards.
func (a *app) apiUnassign(c echo.Context) error {
	org, given := queryOrg(c)
	o, err := a.apiOrg(c, org, given, rbac.PermStaffManage)
	if err != nil {
		return err
	}
	u, err := a.apiUser(c, c.Param("user"))
	if err != nil {
		return err
	}
	roleID := idOf(c.Param("role"))
	if roleID == 0 {
		return badRequest("role must be a role id.", map[string]string{"role": "a role id"})
	}
	p, _ := currentPrincipal(c)
	probs, err := a.staffService().RemoveRole(c.Request().Context(), p.UserID, u.ID, roleID, o.ID)
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return problems(probs)
	}
	return c.NoContent(http.StatusNoContent)
}

// apiInvite invites someone with a role, as Invite staff does; the link is in the answer.
func (a *app) apiInvite(c echo.Context) error {
	var body struct {
		Email string          `json:"email"`
		Name  string          `json:"name"`
		Org   json.RawMessage `json:"org"`
		Role  json.RawMessage `json:"role"`
	}
	if err := readJSON(c, &body); err != nil {
		return err
	}
	org, given := bodyOrg(body.Org)
	o, err := a.apiOrg(c, org, given, rbac.PermStaffManage)
	if err != nil {
		return err
	}
	p, _ := currentPrincipal(c)
	sent, probs, err := a.staffService().Invite(c.Request().Context(), p.UserID,
		staff.InviteForm{Email: body.Email, Name: body.Name, OrgID: o.ID, RoleID: idOf(scalar(body.Role))}, a.linkBase(c))
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return problems(probs)
	}
	return apiJSON(c, http.StatusCreated, map[string]any{"id": sent.Invitation.ID, "url": sent.Link})
}
