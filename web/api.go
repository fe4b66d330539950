package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/tokens"
)

// The JSON API (PRODUCT.md §2.9): bearer tokens, no cookies, no CSRF, problem+json errors.
// Every answer comes from the same domain functions and guards as the pages, with the
// token's creator as the actor; the token narrows (scopes, its organisation), never widens.

const (
	apiPrefix    = "/api/v1/"
	principalKey = "rolegate.principal"
	// Per token: a steady 50 requests a second, bursts of 100.
	apiRate  = 50
	apiBurst = 100
	// MaxBatch bounds POST /api/v1/check.
	MaxBatch = 100
)

func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, apiPrefix) }

// jsonType is the Content-Type of the API's answers (see setHeaders).
var jsonType = headers(false, echo.HeaderContentType, echo.MIMEApplicationJSON)

// apiJSON writes v as the answer, as Echo's c.JSON does without first parsing the whole query
// to look for ?pretty on every answer.
func apiJSON(c echo.Context, status int, v any) error {
	setHeaders(c.Response().Header(), jsonType)
	c.Response().Status = status
	return json.NewEncoder(c.Response()).Encode(v)
}

func currentPrincipal(c echo.Context) (tokens.Principal, bool) {
	p, ok := c.Get(principalKey).(tokens.Principal)
	return p, ok
}

// Token routes need a live bearer token carrying scope (and whatever the handler checks of
// its creator's access in the organisation asked about).
func Token(scope string) Access { return Access{kind: accessToken, perms: []string{scope}} }

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail,omitempty"`
	Errors map[string]string `json:"errors,omitempty"`
}

// apiError is a refusal the API answers as a problem.
type apiError struct {
	status int
	detail string
	errors map[string]string
}

func (e *apiError) Error() string { return "api: " + e.detail }

func badRequest(detail string, fields map[string]string) error {
	return &apiError{status: http.StatusUnprocessableEntity, detail: detail, errors: fields}
}

// apiProblem writes err as a problem document; it is the API's half of handleError.
func (a *app) apiProblem(c echo.Context, err error) {
	p := problem{Type: "about:blank", Status: http.StatusInternalServerError, Title: "Internal error",
		Detail: "The request could not be completed. Nothing was changed."}
	var ae *apiError
	var rf *rbac.ForbiddenError
	var le *rbac.LockoutError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		p.Status, p.Detail, p.Errors = ae.status, ae.detail, ae.errors
	case errors.Is(err, tokens.ErrInvalid):
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="rolegate"`)
		p.Status, p.Detail = http.StatusUnauthorized, "A valid API token is needed: Authorization: Bearer rgt_…"
	case errors.As(err, &rf):
		p.Status = http.StatusForbidden
		switch {
		case rf.Reason != "":
			p.Detail = rf.Reason
		case rf.GlobalAdmin:
			p.Detail = "Only a global admin may do this."
		default:
			p.Detail = "The token's creator does not hold " + strings.Join(rf.Perms, " or ")
			if rf.OrgName != "" {
				p.Detail += " in " + rf.OrgName
			}
			p.Detail += "."
		}
	case errors.As(err, &le):
		p.Status, p.Detail = http.StatusConflict, "Nothing was changed: this would leave nobody who can manage roles and staff."
	case errors.Is(err, store.ErrNotFound):
		p.Status, p.Detail = http.StatusNotFound, "There is no such thing, or the token does not reach it."
	case errors.As(err, &he) && he.Code < 500:
		p.Status, p.Detail = he.Code, http.StatusText(he.Code)
	}
	p.Title = http.StatusText(p.Status)
	if p.Status >= 500 {
		a.Logger.Error("api request failed", "err", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "route", c.Path())
	}
	b, _ := json.Marshal(p)
	_ = c.Blob(p.Status, "application/problem+json", b)
}

// apiAuth reads the bearer token of an API request; it never looks at cookies.
func (a *app) apiAuth(ctx context.Context, c echo.Context, actor *audit.Actor) error {
	h := c.Request().Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil // answered by the route's rule: public (the OpenAPI document) or 401
	}
	p, err := a.tokens.Authenticate(ctx, strings.TrimSpace(secret))
	if errors.Is(err, tokens.ErrInvalid) {
		return nil
	}
	if err != nil {
		return err
	}
	c.Set(principalKey, p)
	actor.UserID, actor.Via = p.UserID, p.TokenName
	return nil
}

// requireToken enforces a Token route: a live token with the scope, within its rate.
func (a *app) requireToken(c echo.Context, scope string) error {
	p, ok := currentPrincipal(c)
	if !ok {
		return tokens.ErrInvalid
	}
	if !p.HasScope(scope) {
		return &apiError{status: http.StatusForbidden, detail: "The token lacks the " + scope + " scope."}
	}
	if !a.limiter(p.TokenID).Allow() {
		c.Response().Header().Set("Retry-After", "1")
		return &apiError{status: http.StatusTooManyRequests, detail: "Too many requests for this token; slow down."}
	}
	return nil
}

func (a *app) limiter(tokenID int64) *rate.Limiter {
	if l, ok := a.limiters.Load(tokenID); ok {
		return l.(*rate.Limiter)
	}
	l, _ := a.limiters.LoadOrStore(tokenID, rate.NewLimiter(apiRate, apiBurst))
	return l.(*rate.Limiter)
}

// queryOrg is ?org= as asked; given is false when it was left out.
func queryOrg(c echo.Context) (raw string, given bool) {
	_, given = c.QueryParams()["org"]
	return c.QueryParam("org"), given
}

// bodyOrg is a body's "org" (a number or a string of digits); given is false when it is
// absent or null.
func bodyOrg(field json.RawMessage) (raw string, given bool) {
	return scalar(field), len(field) > 0 && string(field) != "null"
}

// apiOrg reads ?org= (or a body field): an organisation the token reaches, in which the
// creator holds one of perms; else 422 (not an id), 404 (unknown or out of reach) or 403.
// Left out, it is the token's organisation; sent empty (org=, "org": "") it is a bad
// question, never quietly the token's organisation.
func (a *app) apiOrg(c echo.Context, raw string, given bool, perms ...string) (rbac.Org, error) {
	p, _ := currentPrincipal(c)
	snap := a.Access.Now()
	if !given {
		raw = strconv.FormatInt(p.OrgID, 10)
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return rbac.Org{}, badRequest("org must be an organisation id.", map[string]string{"org": "an organisation id"})
	}
	o, ok := snap.Org(id)
	if !ok || !p.Reaches(snap, id) {
		return rbac.Org{}, store.ErrNotFound
	}
	for _, perm := range perms {
		if snap.Can(p.UserID, id, perm) {
			return o, nil
		}
	}
	return rbac.Org{}, snap.Forbidden(id, perms...)
}

// apiUser names a user by id or email: one the token's creator may see, else 404.
// It answers from the permission snapshot, which holds every user with their email: a check,
// or a batch of a hundred, reads nothing from the database.
func (a *app) apiUser(c echo.Context, raw string) (rbac.User, error) {
	p, _ := currentPrincipal(c)
	snap := a.Access.Now()
	var u rbac.User
	var found bool
	if id, perr := strconv.ParseInt(raw, 10, 64); perr == nil {
		u, found = snap.User(id)
	} else if raw != "" && len(raw) <= 254 {
		u, found = snap.UserByEmail(strings.ToLower(strings.TrimSpace(raw)))
	} else {
		return u, badRequest("user must be a user id or email.", map[string]string{"user": "a user id or email"})
	}
	if !found || !staff.InScope(snap, a.seenBy(snap, p.UserID), u.ID) {
		return rbac.User{}, store.ErrNotFound
	}
	return u, nil
}

// seenBy is whom viewer may see in snap, worked out once per snapshot: a tool asks checks
// with one token all day, and a batch asks a hundred at once.
func (a *app) seenBy(snap *rbac.Snapshot, viewerID int64) store.Scope {
	c := &a.scopes
	c.mu.Lock()
	sc, ok := c.byViewer[viewerID]
	ok = ok && c.snap == snap
	c.mu.Unlock()
	if ok {
		return sc
	}
	sc = staff.ListScope(snap, viewerID)
	c.mu.Lock()
	if c.snap != snap || len(c.byViewer) >= maxScopes {
		c.snap, c.byViewer = snap, map[int64]store.Scope{}
	}
	c.byViewer[viewerID] = sc
	c.mu.Unlock()
	return sc
}

// scopes remembers seenBy's answers for one snapshot (read them, never change them).
type scopes struct {
	mu       sync.Mutex
	snap     *rbac.Snapshot
	byViewer map[int64]store.Scope
}

// maxScopes bounds what scopes remembers: past it, it starts again.
const maxScopes = 1000

// Answer is one check: may the user use the permission in the organisation, and why.
type Answer struct {
	Allowed    bool    `json:"allowed"`
	User       apiUser `json:"user"`
	Permission string  `json:"permission"`
	Org        apiOrg  `json:"org"`
	DecidedBy  string  `json:"decided_by"`
	Reason     string  `json:"reason"`
}

type apiUser struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
}

type apiOrg struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// checkQuestion is one question of GET or POST /api/v1/check.
type checkQuestion struct {
	User       string `json:"user"`
	Permission string `json:"permission"`
	Org        string `json:"org"`
	OrgGiven   bool   `json:"-"` // false: the token's organisation
}

// answer asks the rule one question, as the person page does; the creator needs staff.view
// in the organisation (seeing who holds what is reading staff).
func (a *app) answer(c echo.Context, q checkQuestion) (Answer, error) {
	snap := a.Access.Now()
	if !snap.Catalog().Has(q.Permission) {
		return Answer{}, badRequest("Unknown permission.", map[string]string{"permission": "a catalog key"})
	}
	o, err := a.apiOrg(c, q.Org, q.OrgGiven, rbac.PermStaffView)
	if err != nil {
		return Answer{}, err
	}
	u, err := a.apiUser(c, q.User)
	if err != nil {
		return Answer{}, err
	}
	d := snap.Explain(u.ID, o.ID, q.Permission)
	return Answer{Allowed: d.Allowed, User: apiUser{u.ID, u.Email}, Permission: q.Permission, Org: apiOrg{o.ID, o.Name},
		DecidedBy: d.DecidedBy(), Reason: snap.Reason(d, o.ID)}, nil
}

func (a *app) apiCheck(c echo.Context) error {
	q, twice := CheckQuery(c.Request().URL.RawQuery)
	if twice != "" {
		// An ambiguous question is not answered by picking one of its values.
		return badRequest(twice+" was given more than once.", map[string]string{twice: "once"})
	}
	ans, err := a.answer(c, q)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, ans)
}

// CheckQuery reads user, permission and org from the query of GET /api/v1/check, as
// url.ParseQuery would (first value, "+" and escapes decoded, pairs that do not decode or
// hold a ";" ignored), without building a map of everything: the tools ask this on every
// request they serve. twice names a parameter given more than once.
func CheckQuery(raw string) (q checkQuestion, twice string) {
	names := [3]string{"user", "permission", "org"}
	var seen [3]int
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := queryUnescape(k)
		if !ok {
			continue
		}
		i := slices.Index(names[:], k)
		if i < 0 {
			continue
		}
		v, ok = queryUnescape(v)
		if !ok {
			continue
		}
		if seen[i]++; seen[i] > 1 {
			continue
		}
		switch i {
		case 0:
			q.User = v
		case 1:
			q.Permission = v
		case 2:
			q.Org, q.OrgGiven = v, true
		}
	}
	for i, n := range seen {
		if n > 1 {
			return q, names[i]
		}
	}
	return q, ""
}

// queryUnescape is url.QueryUnescape, which allocates only when there is something to decode.
func queryUnescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	out, err := url.QueryUnescape(s)
	return out, err == nil
}

// ParseBatch reads the body of POST /api/v1/check: at most MaxBatch questions.
func ParseBatch(r io.Reader) ([]checkQuestion, error) {
	var body struct {
		Checks []struct {
			User       json.RawMessage `json:"user"`
			Permission string          `json:"permission"`
			Org        json.RawMessage `json:"org"`
		} `json:"checks"`
	}
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	if err := dec.Decode(&body); err != nil {
		return nil, badRequest("The body must be JSON: {\"checks\": [{\"user\", \"permission\", \"org\"}, …]}.", nil)
	}
	if len(body.Checks) == 0 || len(body.Checks) > MaxBatch {
		return nil, badRequest("Send between 1 and 100 checks.", map[string]string{"checks": "1 to 100 items"})
	}
	out := make([]checkQuestion, len(body.Checks))
	for i, ch := range body.Checks {
		org, given := bodyOrg(ch.Org)
		out[i] = checkQuestion{User: scalar(ch.User), Permission: ch.Permission, Org: org, OrgGiven: given}
		if out[i].User == "" || out[i].Permission == "" {
			return nil, badRequest("Every check needs user and permission.", map[string]string{"checks[" + strconv.Itoa(i) + "]": "user and permission"})
		}
	}
	return out, nil
}

// scalar is a JSON string or number as text ("" for anything else): ids may come either way.
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func (a *app) apiCheckBatch(c echo.Context) error {
	qs, err := ParseBatch(c.Request().Body)
	if err != nil {
		return err
	}
	results := make([]any, len(qs))
	for i, q := range qs {
		ans, err := a.answer(c, q)
		if err != nil {
			// One bad question is its own problem in place; the others are still answered.
			var ae *apiError
			switch {
			case errors.As(err, &ae):
				results[i] = problem{Type: "about:blank", Title: http.StatusText(ae.status), Status: ae.status, Detail: ae.detail, Errors: ae.errors}
			case errors.Is(err, store.ErrNotFound):
				results[i] = problem{Type: "about:blank", Title: "Not Found", Status: http.StatusNotFound, Detail: "No such user or organisation within reach."}
			default:
				var rf *rbac.ForbiddenError
				if errors.As(err, &rf) {
					results[i] = problem{Type: "about:blank", Title: "Forbidden", Status: http.StatusForbidden, Detail: "The token's creator does not hold " + strings.Join(rf.Perms, " or ") + " there."}
					continue
				}
				return err
			}
			continue
		}
		results[i] = ans
	}
	return apiJSON(c, http.StatusOK, map[string]any{"results": results})
}

// apiUserPermissions is every catalog permission of one user in one organisation, with why.
func (a *app) apiUserPermissions(c echo.Context) error {
	org, given := queryOrg(c)
	o, err := a.apiOrg(c, org, given, rbac.PermStaffView)
	if err != nil {
		return err
	}
	u, err := a.apiUser(c, c.Param("user"))
	if err != nil {
		return err
	}
	snap := a.Access.Now()
	type perm struct {
		Key       string `json:"key"`
		Label     string `json:"label"`
		Allowed   bool   `json:"allowed"`
		DecidedBy string `json:"decided_by"`
		Reason    string `json:"reason"`
	}
	out := []perm{}
	for _, p := range snap.Catalog().Permissions() {
		d := snap.Explain(u.ID, o.ID, p.Key)
		out = append(out, perm{p.Key, p.Label, d.Allowed, d.DecidedBy(), snap.Reason(d, o.ID)})
	}
	return apiJSON(c, http.StatusOK, map[string]any{"user": apiUser{u.ID, u.Email}, "org": apiOrg{o.ID, o.Name}, "permissions": out})
}

// apiHolders is the reverse look-up: everyone who holds the permission in the organisation,
// each with the step that decided and why, from the in-memory snapshot; Who can… asks the
// same domain function, so both name only the people the creator may see.
func (a *app) apiHolders(c echo.Context) error {
	p, _ := currentPrincipal(c)
	snap := a.Access.Now()
	key := c.Param("key")
	if !snap.Catalog().Has(key) {
		return store.ErrNotFound
	}
	org, given := queryOrg(c)
	o, err := a.apiOrg(c, org, given, rbac.PermStaffView)
	if err != nil {
		return err
	}
	type holder struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		DecidedBy string `json:"decided_by"`
		Reason    string `json:"reason"`
	}
	hs, err := staff.Holders(snap, p.UserID, o.ID, key)
	if err != nil {
		return err
	}
	out := make([]holder, 0, len(hs))
	// Most holders share a handful of reasons (the same role, the same default): each
	// sentence is written once.
	reasons := map[rbac.Decision]string{}
	for _, h := range hs {
		u, _ := snap.User(h.UserID)
		reason, ok := reasons[h.Decision]
		if !ok {
			reason = snap.Reason(h.Decision, o.ID)
			reasons[h.Decision] = reason
		}
		out = append(out, holder{h.UserID, u.Name, h.Decision.DecidedBy(), reason})
	}
	return apiJSON(c, http.StatusOK, map[string]any{"permission": key, "org": apiOrg{o.ID, o.Name}, "holders": out})
}
