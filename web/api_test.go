package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/tokens"
	"github.com/rolegate/rolegate/web"
)

// token makes an API token for creator in org with scopes, as the Integrations page does.
func (p *portal) token(creator, org int64, scopes ...string) string {
	p.t.Helper()
	return p.tokenT(p.t, creator, org, scopes...)
}

// tokenT is token failing t (inside a fuzz target, the portal's own t may not be used).
func (p *portal) tokenT(t testing.TB, creator, org int64, scopes ...string) string {
	t.Helper()
	svc := &tokens.Service{Store: p.store, Access: p.app.Access}
	made, probs, err := svc.Create(context.Background(), creator, tokens.Form{Name: "HR sync", OrgID: org, Scopes: scopes})
	if err != nil || len(probs) > 0 {
		t.Fatalf("token: %v %v", probs, err)
	}
	return made.Secret
}

type apiResponse struct {
	status int
	header http.Header
	body   string
}

// api calls the JSON API with a bearer token (no cookies) and returns the answer, failing the
// test when the request or the answer is not what web/openapi.json describes.
func (p *portal) api(token, method, path, body string) apiResponse {
	p.t.Helper()
	return p.apiT(p.t, token, method, path, body)
}

// apiT is api failing t.
func (p *portal) apiT(t testing.TB, token, method, path, body string) apiResponse {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s %s: %d answered as %q, not a problem", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	checkOpenAPI(t, req, []byte(body), resp, b)
	return apiResponse{resp.StatusCode, resp.Header, string(b)}
}

// Tokens: 401 for none, unknown, revoked or expired, or a disabled creator; 403 without the
// scope or when the creator lost the permission (on the very next request).
func TestAPITokens(t *testing.T) {
	p := newPortal(t, true)
	integrator := p.customRole("Integrator", "staff.view", "integrations.manage", "billing.view")
	_, ben := p.person("ben@example.org", integrator)
	tok := p.token(1, 1, "check")
	q := fmt.Sprintf("/api/v1/check?user=%d&permission=billing.view&org=1", ben)
	if r := p.api(tok, "GET", q, ""); r.status != http.StatusOK || !strings.Contains(r.body, `"allowed":true`) {
		t.Fatalf("check: %d %s", r.status, r.body)
	}
	for name, bad := range map[string]string{"none": "", "unknown": "rgt_" + strings.Repeat("A", 43), "not ours": "ghp_x"} {
		if r := p.api(bad, "GET", q, ""); r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s token: %d %q", name, r.status, r.header.Get("WWW-Authenticate"))
		}
	}
	if r := p.api(tok, "GET", "/api/v1/roles?org=1", ""); r.status != http.StatusForbidden {
		t.Errorf("read without the read scope: %d", r.status)
	}
	// A cookie is not a token.
	c := p.client()
	c.login(adminEmail, adminPassword)
	if r := c.get(q); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a session cookie on the API: %d, want 401", r.StatusCode)
	}
	// The creator's access is read on every request: Ben's token dies with his staff.view.
	benTok := p.token(ben, 1, "check")
	if r := p.api(benTok, "GET", q, ""); r.status != http.StatusOK {
		t.Fatalf("Ben's token: %d %s", r.status, r.body)
	}
	c.get(fmt.Sprintf("/staff/%d", ben))
	if r := c.postForm(fmt.Sprintf("/staff/%d/roles/remove", ben), url.Values{"org": {"1"}, "role": {fmt.Sprint(integrator)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove Ben's role: %d", r.StatusCode)
	}
	if r := p.api(benTok, "GET", q, ""); r.status != http.StatusForbidden {
		t.Errorf("after Ben lost staff.view: %d, want 403", r.status)
	}
	if r := c.postForm(fmt.Sprintf("/staff/%d/disable", ben), url.Values{"org": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable Ben: %d", r.StatusCode)
	}
	if r := p.api(benTok, "GET", q, ""); r.status != http.StatusUnauthorized {
		t.Errorf("after Ben was disabled: %d, want 401", r.status)
	}
	// Revoked: 401 at once.
	svc := &tokens.Service{Store: p.store, Access: p.app.Access}
	list, _ := svc.List(context.Background(), 1)
	for _, tk := range list {
		if err := svc.Revoke(context.Background(), 1, tk.ID); err != nil {
			t.Fatal(err)
		}
	}
	if r := p.api(tok, "GET", q, ""); r.status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", r.status)
	}
}

// Every token route refuses without a token (401) and without its scope (403).
func TestAPIRoutesNeedTheirScope(t *testing.T) {
	p := newPortal(t, true)
	scopes := map[string]string{}
	for _, r := range routeTable(t, p) {
		if s, ok := strings.CutPrefix(r.access, "token scope "); ok {
			scopes[r.method+" "+r.path] = s
		}
	}
	if len(scopes) < 12 {
		t.Fatalf("only %d token routes", len(scopes))
	}
	for route, scope := range scopes {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer(":user", "1", ":key", "billing.view", ":id", "1", ":role", "1").Replace(path) + "?org=1"
		if r := p.api("", method, path, "{}"); r.status != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", route, r.status)
		}
		other := map[string]string{"check": "read", "read": "write", "write": "check"}[scope]
		if r := p.api(p.token(1, 1, other), method, path, "{}"); r.status != http.StatusForbidden {
			t.Errorf("%s with scope %s only: %d, want 403", route, other, r.status)
		}
	}
}

// Cross-organisation: a token of B never answers about A (404), and its creator's access in
// A does not leak through a token made for B.
func TestAPIStaysInItsOrganisation(t *testing.T) {
	w := newAttackWorld(t)
	tok := w.p.token(1, w.b, "check", "read")
	for _, path := range []string{
		fmt.Sprintf("/api/v1/check?user=%d&permission=billing.view&org=%d", w.id["Admin A"], w.a),
		fmt.Sprintf("/api/v1/permissions/billing.view/holders?org=%d", w.a),
		fmt.Sprintf("/api/v1/roles?org=%d", w.a),
		fmt.Sprintf("/api/v1/roles/%d", w.roles["ADMIN@A"]),
		fmt.Sprintf("/api/v1/users?org=%d", w.a1),
	} {
		if r := w.p.api(tok, "GET", path, ""); r.status != http.StatusNotFound {
			t.Errorf("%s with a token of B: %d %s", path, r.status, r.body)
		}
	}
	if r := w.p.api(tok, "GET", fmt.Sprintf("/api/v1/roles?org=%d", w.b), ""); r.status != http.StatusOK {
		t.Errorf("roles of B: %d", r.status)
	}
}

// Bad questions are 422 problems; a batch answers in order, at most 100.
func TestAPIBadInputAndBatch(t *testing.T) {
	p := newPortal(t, true)
	_, ben := p.person("ben@example.org", p.roleID("STAFF"))
	tok := p.token(1, 1, "check")
	for _, q := range []string{"?user=1&permission=no.such&org=1", "?user=1&permission=billing.view&org=x", "?permission=billing.view&org=1"} {
		if r := p.api(tok, "GET", "/api/v1/check"+q, ""); r.status != http.StatusUnprocessableEntity {
			t.Errorf("check%s: %d %s", q, r.status, r.body)
		}
	}
	checks := []string{}
	for i := range 100 {
		perm := []string{"patients.contact", "billing.view"}[i%2]
		checks = append(checks, fmt.Sprintf(`{"user": %d, "permission": %q, "org": 1}`, ben, perm))
	}
	r := p.api(tok, "POST", "/api/v1/check", `{"checks": [`+strings.Join(checks, ",")+`]}`)
	var out struct{ Results []struct{ Allowed bool } }
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.status != http.StatusOK || len(out.Results) != 100 {
		t.Fatalf("batch of 100: %d %v", r.status, err)
	}
	if !out.Results[0].Allowed || out.Results[1].Allowed {
		t.Errorf("batch answers out of order: %+v", out.Results[:2])
	}
	if r := p.api(tok, "POST", "/api/v1/check", `{"checks": [`+strings.Join(append(checks, checks[0]), ",")+`]}`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("batch of 101: %d", r.status)
	}
	if r := p.api(tok, "POST", "/api/v1/check", `{"checks": "no"`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad JSON: %d", r.status)
	}
}

// Beyond the per-token rate: 429 with Retry-After.
func TestAPIRateLimit(t *testing.T) {
	p := newPortal(t, true)
	tok := p.token(1, 1, "check")
	limited := false
	for range 300 {
		r := p.api(tok, "GET", "/api/v1/check?user=1&permission=billing.view&org=1", "")
		if r.status == http.StatusTooManyRequests {
			limited = r.header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Fatal("300 requests at once were never limited")
	}
}

// The reverse look-up: everyone who holds a permission there, with why.
func TestAPIHolders(t *testing.T) {
	p := newPortal(t, true)
	_, ben := p.person("ben@example.org", p.roleID("BILLING_STAFF"))
	p.person("chloe@example.org", p.roleID("STAFF"))
	r := p.api(p.token(1, 1, "read"), "GET", "/api/v1/permissions/billing.view/holders?org=1", "")
	var out struct {
		Holders []struct {
			ID        int64
			DecidedBy string `json:"decided_by"`
			Reason    string
		}
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.status != http.StatusOK {
		t.Fatalf("holders: %d %s", r.status, r.body)
	}
	got := map[int64]string{}
	for _, h := range out.Holders {
		got[h.ID] = h.DecidedBy + ": " + h.Reason
	}
	if len(got) != 2 || !strings.HasPrefix(got[1], "global_admin") || got[ben] != "role: Granted by role Billing Staff in Northside Practice." {
		t.Fatalf("holders %v", got)
	}
}

// API writes go through the page's guards, with the creator as actor, and the audit names
// the token.
func TestAPIWrites(t *testing.T) {
	p := newPortal(t, true)
	_, ben := p.person("ben@example.org")
	tok := p.token(1, 1, "write")
	before := p.lastAuditID()
	r := p.api(tok, "POST", fmt.Sprintf("/api/v1/users/%d/roles", ben), fmt.Sprintf(`{"role": %d, "org": 1}`, p.roleID("NURSE")))
	if r.status != http.StatusCreated {
		t.Fatalf("assign: %d %s", r.status, r.body)
	}
	named := false
	for _, e := range p.entriesSince(before) {
		named = named || (e.Action == audit.AssignmentAdded && e.ActorName == "Ana Ruiz via token HR sync")
	}
	if !named {
		t.Error("the audit entry does not name the token")
	}
	if r := p.api(tok, "DELETE", fmt.Sprintf("/api/v1/users/%d/roles/%d?org=1", ben, p.roleID("NURSE")), ""); r.status != http.StatusNoContent {
		t.Errorf("unassign: %d %s", r.status, r.body)
	}
	// Escalation: a front-desk lead cannot give Administrator through a token.
	desk := p.customRole("Front Desk Lead", "staff.manage", "staff.view", "integrations.manage")
	_, dana := p.person("dana@example.org", desk)
	deskTok := p.token(dana, 1, "write")
	if r := p.api(deskTok, "POST", fmt.Sprintf("/api/v1/users/%d/roles", ben), fmt.Sprintf(`{"role": %d, "org": 1}`, p.roleID("ADMIN"))); r.status != http.StatusForbidden && r.status != http.StatusUnprocessableEntity {
		t.Errorf("escalation through a token: %d %s", r.status, r.body)
	}
	// Lock-out: the practice's only manager of roles and staff (global admins aside) cannot
	// take their own Administrator role away through a token either; the answer says why
	// and nothing changes.
	_, omar := p.person("omar@example.org", p.roleID("ADMIN"))
	omarTok := p.token(omar, 1, "write")
	lockBefore := p.lastAuditID()
	held := fmt.Sprint(p.app.Access.Now().Data().Assignments)
	lock := p.api(omarTok, "DELETE", fmt.Sprintf("/api/v1/users/%d/roles/%d?org=1", omar, p.roleID("ADMIN")), "")
	if lock.status != http.StatusConflict || !strings.Contains(lock.header.Get("Content-Type"), "application/problem+json") ||
		!strings.Contains(lock.body, "nobody who can manage roles and staff") {
		t.Errorf("lock-out through a token: %d %s", lock.status, lock.body)
	}
	if fmt.Sprint(p.app.Access.Now().Data().Assignments) != held || len(p.entriesSince(lockBefore)) != 0 {
		t.Error("a refused lock-out changed the assignments or wrote to the audit log")
	}
	inv := p.api(tok, "POST", "/api/v1/invitations", fmt.Sprintf(`{"email": "zoe@example.org", "name": "Zoë", "org": 1, "role": %d}`, p.roleID("MEMBER")))
	if inv.status != http.StatusCreated || !regexp.MustCompile(`"url":"http[^"]+/invite/`).MatchString(inv.body) {
		t.Errorf("invite: %d %s", inv.status, inv.body)
	}
}

// 1,000 random questions: the API's answer and reason are the person page's, every time.
func TestAPIAgreesWithThePersonPage(t *testing.T) {
	w := newAttackWorld(t)
	tok := w.p.token(1, 1, "check")
	admin := w.p.client()
	admin.login(adminEmail, adminPassword)
	rng := rand.New(rand.NewPCG(3, 5))
	var people []int64
	for _, id := range w.id {
		people = append(people, id)
	}
	cat := w.p.app.Access.Catalog()
	keys := cat.Keys()
	why := regexp.MustCompile(`data-testid="why-([a-z_.]+)"[^>]*>([^<]*)<`)
	asked := 0
	for asked < 1000 {
		user := people[rng.IntN(len(people))]
		org := []int64{w.a, w.a1}[rng.IntN(2)]
		if !w.p.app.Access.Now().MemberAt(user, org) {
			continue // the person page shows another organisation then
		}
		page := admin.get(fmt.Sprintf("/staff/%d?org=%d", user, org))
		if page.StatusCode != http.StatusOK {
			continue
		}
		reasons := map[string]string{}
		for _, m := range why.FindAllStringSubmatch(page.body, -1) {
			reasons[m[1]] = htmlUnescape(m[2])
		}
		if len(reasons) == 0 {
			continue
		}
		// Twenty questions in one batch (the per-token rate would refuse 1,000 single ones).
		var asks, checks []string
		for range 20 {
			key := keys[rng.IntN(len(keys))]
			asks = append(asks, key)
			checks = append(checks, fmt.Sprintf(`{"user": %d, "permission": %q, "org": %d}`, user, key, org))
		}
		r := w.p.api(tok, "POST", "/api/v1/check", `{"checks": [`+strings.Join(checks, ",")+`]}`)
		var out struct{ Results []struct{ Reason string } }
		if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.status != http.StatusOK || len(out.Results) != len(asks) {
			t.Fatalf("check: %d %s", r.status, r.body)
		}
		for i, key := range asks {
			if out.Results[i].Reason != reasons[key] {
				t.Fatalf("user %d, %s in %d: API says %q, the person page %q", user, key, org, out.Results[i].Reason, reasons[key])
			}
			asked++
		}
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&quot;", `"`).Replace(strings.TrimSpace(s))
}

type routeRow struct{ method, path, access string }

func routeTable(t *testing.T, _ *portal) []routeRow {
	t.Helper()
	var out []routeRow
	for _, r := range web.RouteTable(web.Deps{}) {
		out = append(out, routeRow{r.Method, r.Path, r.Access.String()})
	}
	return out
}

// Every endpoint × a creator who holds none of what it needs (only integrations.manage): 403,
// and nothing changed.
func TestAPICreatorPermissionNeeded(t *testing.T) {
	p := newPortal(t, true)
	_, ben := p.person("ben@example.org", p.roleID("STAFF"))
	bare := p.customRole("Integrations only", "integrations.manage")
	_, ivy := p.person("ivy@example.org", bare)
	tok := p.token(ivy, 1, "check", "read", "write")
	before := fmt.Sprint(p.app.Access.Now().Data().Assignments)
	invitations := p.count("invitations")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/api/v1/check?user=%d&permission=billing.view&org=1", ben), ""},
		{"POST", "/api/v1/check", fmt.Sprintf(`{"checks": [{"user": %d, "permission": "billing.view", "org": 1}]}`, ben)},
		{"GET", fmt.Sprintf("/api/v1/users/%d/permissions?org=1", ben), ""},
		{"GET", "/api/v1/permissions/billing.view/holders?org=1", ""},
		{"GET", "/api/v1/roles?org=1", ""},
		{"GET", "/api/v1/users?org=1", ""},
		{"GET", "/api/v1/audit?org=1", ""},
		{"POST", fmt.Sprintf("/api/v1/users/%d/roles", ben), fmt.Sprintf(`{"role": %d, "org": 1}`, p.roleID("NURSE"))},
		{"DELETE", fmt.Sprintf("/api/v1/users/%d/roles/%d?org=1", ben, p.roleID("STAFF")), ""},
		{"POST", "/api/v1/invitations", fmt.Sprintf(`{"email": "zoe@example.org", "name": "Zoë", "org": 1, "role": %d}`, p.roleID("MEMBER"))},
	} {
		r := p.api(tok, tc.method, tc.path, tc.body)
		forbidden := r.status == http.StatusForbidden
		if tc.method == "POST" && tc.path == "/api/v1/check" {
			forbidden = strings.Contains(r.body, `"status":403`) // a batch answers each question in place
		}
		if !forbidden {
			t.Errorf("%s %s by a creator without the permission: %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
	// Roles and their holders need roles.manage or staff.view; one role by id is not found to them.
	if r := p.api(tok, "GET", fmt.Sprintf("/api/v1/roles/%d", p.roleID("NURSE")), ""); r.status != http.StatusNotFound {
		t.Errorf("a role by id: %d", r.status)
	}
	if fmt.Sprint(p.app.Access.Now().Data().Assignments) != before || p.count("invitations") != invitations {
		t.Error("a refused API write changed something")
	}
}

// Last use is recorded, coalesced: a token's second request within minutes writes nothing,
// and two portals in one process never share a token's rate.
func TestAPITokenLastUseCoalesced(t *testing.T) {
	p := newPortal(t, true)
	tok := p.token(1, 1, "check")
	q := "/api/v1/check?user=1&permission=billing.view&org=1"
	if r := p.api(tok, "GET", q, ""); r.status != http.StatusOK {
		t.Fatalf("check: %d %s", r.status, r.body)
	}
	db := p.rawDBWrite()
	defer db.Close()
	var used int64
	if err := db.QueryRow("SELECT coalesce(last_used_at, 0) FROM api_tokens").Scan(&used); err != nil || used == 0 {
		t.Fatalf("last use not recorded: %d %v", used, err)
	}
	if _, err := db.Exec("UPDATE api_tokens SET last_used_at = 1"); err != nil {
		t.Fatal(err)
	}
	if r := p.api(tok, "GET", q, ""); r.status != http.StatusOK {
		t.Fatalf("check: %d %s", r.status, r.body)
	}
	if err := db.QueryRow("SELECT last_used_at FROM api_tokens").Scan(&used); err != nil || used != 1 {
		t.Errorf("the second request wrote last use again (%d, %v): not coalesced", used, err)
	}
	// Another portal's token with the same id starts with its whole burst.
	for range 100 {
		p.api(tok, "GET", q, "")
	}
	other := newPortal(t, true)
	otherTok := other.token(1, 1, "check")
	for i := range 100 {
		if r := other.api(otherTok, "GET", q, ""); r.status != http.StatusOK {
			t.Fatalf("request %d of another portal's first token: %d", i, r.status)
		}
	}
}

// GET /api/v1/users pages with a cursor: every person once, in name order, then an empty next.
func TestAPIUsersCursor(t *testing.T) {
	p := newPortal(t, true)
	for i := range 7 {
		p.person(fmt.Sprintf("person%d@example.org", i))
	}
	tok := p.token(1, 1, "read")
	seen, path := map[int64]bool{}, "/api/v1/users?org=1&limit=3"
	for pages := 0; ; pages++ {
		r := p.api(tok, "GET", path, "")
		var out struct {
			Users []struct{ ID int64 }
			Next  string
		}
		if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.status != http.StatusOK || pages > 5 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.body)
		}
		for _, u := range out.Users {
			if seen[u.ID] {
				t.Fatalf("person %d listed twice", u.ID)
			}
			seen[u.ID] = true
		}
		if out.Next == "" {
			break
		}
		path = "/api/v1/users?org=1&limit=3&after=" + out.Next
	}
	if len(seen) != 8 {
		t.Fatalf("%d people listed; want 8", len(seen))
	}
	if r := p.api(tok, "GET", "/api/v1/users?org=1&limit=0", ""); r.status != http.StatusUnprocessableEntity {
		t.Errorf("limit=0: %d", r.status)
	}
}
