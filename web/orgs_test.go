package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
)

// org creates an organisation under parent as the store would for a page (0: top-level).
func (p *portal) org(name string, parent int64) int64 {
	p.t.Helper()
	id, err := p.store.AddOrganisation(context.Background(), store.NewOrganisation{Name: name, ParentID: parent, SystemRoles: p.app.Auth().SystemRoles})
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

// personIn adds a staff member called name to org, holding roleIDs there, and signs them in.
func (p *portal) personIn(name string, org int64, roleIDs ...int64) (*client, int64) {
	p.t.Helper()
	ctx := context.Background()
	hash, err := auth.HashPassword(context.Background(), "a staff member password")
	if err != nil {
		p.t.Fatal(err)
	}
	email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.org"
	ids, err := p.store.AddStaff(ctx, []store.NewStaff{{Email: email, Name: name, PasswordHash: hash, OrgID: org}})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, r := range roleIDs {
		if err := p.store.SetRoleHolders(ctx, r, org, []int64{ids[0]}, nil, 1); err != nil {
			p.t.Fatal(err)
		}
	}
	c := p.client()
	if r := c.login(email, "a staff member password"); r.StatusCode != http.StatusSeeOther {
		p.t.Fatalf("sign in %s: %d", email, r.StatusCode)
	}
	return c, ids[0]
}

// orgState is what a refused organisation request must leave untouched.
func (p *portal) orgState() string {
	return p.checksum("SELECT group_concat(id || '/' || name || '/' || coalesce(parent_id, '-') || '/' || role_mode || '/' || limit_visibility, ';') FROM organisations") +
		p.checksum("SELECT coalesce(group_concat(org_id || perm || effect), '') FROM org_defaults") +
		fmt.Sprint(p.count("roles"), p.count("role_assignments"), p.count("audit_log WHERE action LIKE 'org.%' OR action = 'settings.change'"))
}

// byTestid returns the text of the first element with the data-testid, unescaped.
func byTestid(t *testing.T, body, id string) string {
	t.Helper()
	marker := `data-testid="` + id + `"`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no %s in the page", id)
	}
	rest := body[i+len(marker):]
	rest = rest[strings.Index(rest, ">")+1:]
	return html.UnescapeString(strings.TrimSpace(rest[:strings.Index(rest, "<")]))
}

func TestOrgRoutesByPermission(t *testing.T) {
	p := newPortal(t, true)
	east := p.org("Eastside", 1)
	annex := p.org("Annex", 1)
	viewer := p.customRole("Staff Viewer", "staff.view")
	manager := p.customRole("Org Manager", "orgs.manage", "scheduling.access")
	nc, _ := p.person("nobody@example.org", p.roleID("MEMBER"))
	vc, _ := p.person("viewer@example.org", viewer)
	mc, _ := p.person("manager@example.org", manager)
	e, a := fmt.Sprint(east), fmt.Sprint(annex)
	routes := []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/orgs", nil},
		{"GET", "/orgs/" + e, nil},
		{"POST", "/orgs", url.Values{"name": {"Westside"}, "parent": {"1"}}},
		{"POST", "/orgs/" + e + "/rename", url.Values{"name": {"Eastside Clinic"}}},
		{"POST", "/orgs/" + a + "/move", url.Values{"parent": {e}}},
		{"POST", "/orgs/" + e + "/settings", url.Values{"role_mode": {"one"}, "limit_visibility": {"no"}}},
		{"POST", "/orgs/" + e + "/defaults", url.Values{"perm.scheduling.access": {"deny"}, "perm.billing.view": {"deny"}}},
		{"POST", "/orgs/" + e + "/defaults/impact", url.Values{"perm.scheduling.access": {"allow"}}}, // a preview: writes nothing
	}
	clients := map[string]*client{"nobody": nc, "viewer": vc, "manager": mc}
	for _, who := range []string{"nobody", "viewer", "manager"} {
		c := clients[who]
		for _, rt := range routes {
			t.Run(who+" "+rt.method+" "+rt.path, func(t *testing.T) {
				before := p.orgState()
				var r response
				if rt.method == "GET" {
					r = c.get(rt.path)
				} else {
					c.get("/account") // a fresh token
					r = c.postForm(rt.path, rt.form)
				}
				if who != "manager" {
					if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "orgs.manage") {
						t.Fatalf("status %d, want 403 naming orgs.manage", r.StatusCode)
					}
					if after := p.orgState(); after != before {
						t.Fatalf("a refused request changed something: %s → %s", before, after)
					}
					return
				}
				preview := strings.HasSuffix(rt.path, "/impact")
				want := http.StatusOK
				if rt.method == "POST" && !preview {
					want = http.StatusSeeOther
				}
				if r.StatusCode != want {
					t.Fatalf("status %d, want %d: %s", r.StatusCode, want, r.body)
				}
				if changed := p.orgState() != before; rt.method == "POST" && changed == preview {
					t.Fatalf("changed %v: a change must change something, a preview nothing", changed)
				}
			})
		}
	}
	// The navigation offers Organisations only to those who may open it.
	if !strings.Contains(mc.get("/").body, `href="/orgs"`) || strings.Contains(vc.get("/").body, `href="/orgs"`) {
		t.Error("Organisations in the navigation: want it for the manager only")
	}
	// Without the CSRF token, nothing changes even for someone allowed.
	for _, rt := range routes {
		if rt.method != "POST" {
			continue
		}
		form := url.Values{}
		for k, v := range rt.form {
			form[k] = v
		}
		if strings.HasSuffix(rt.path, "/rename") {
			form.Set("name", "Renamed Without Token")
		}
		before := p.orgState()
		if r := mc.postRaw(rt.path, form); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without token: %d", rt.path, r.StatusCode)
		}
		if after := p.orgState(); after != before {
			t.Errorf("POST %s without token changed something", rt.path)
		}
	}
}

// orgs.manage is checked in the organisation each request is about: a manager of a
// sub-organisation manages it and below, never above it or beside it; unknown ids are 404.
func TestOrgAccessIsPerOrganisation(t *testing.T) {
	p := newPortal(t, true)
	east := p.org("Eastside", 1)
	eastAnnex := p.org("Eastside Annex", east)
	west := p.org("Westside", 1)
	other := p.org("Elsewhere Clinic", 0)
	manager := p.customRole("Site Manager", "orgs.manage", "staff.view")
	mc, _ := p.personIn("Sam Site", east, manager)

	tree := mc.get("/orgs")
	if tree.StatusCode != http.StatusOK || !strings.Contains(tree.body, `data-name="Eastside Annex"`) ||
		strings.Contains(tree.body, `data-name="Westside"`) || strings.Contains(tree.body, `data-name="Northside Practice"`) {
		t.Fatalf("the tree of a site manager: %d; want Eastside and below only", tree.StatusCode)
	}
	if strings.Contains(tree.body, `<option value="0">`) {
		t.Error("a site manager is offered a top-level organisation")
	}
	before := p.orgState()
	for _, tc := range []struct {
		method, path string
		form         url.Values
		want         int
	}{
		{"GET", fmt.Sprintf("/orgs/%d", west), nil, http.StatusForbidden},
		{"GET", "/orgs/1", nil, http.StatusForbidden},
		{"GET", fmt.Sprintf("/orgs/%d", other), nil, http.StatusForbidden},
		{"GET", "/orgs/999", nil, http.StatusNotFound},
		{"GET", "/orgs/abc", nil, http.StatusNotFound},
		{"POST", "/orgs", url.Values{"name": {"Planted"}, "parent": {"1"}}, http.StatusForbidden},
		{"POST", "/orgs", url.Values{"name": {"Planted"}, "parent": {fmt.Sprint(west)}}, http.StatusForbidden},
		{"POST", "/orgs", url.Values{"name": {"Planted"}, "parent": {"0"}}, http.StatusForbidden},
		{"POST", "/orgs", url.Values{"name": {"Planted"}}, http.StatusForbidden},
		{"POST", "/orgs", url.Values{"name": {"Planted"}, "parent": {"999"}}, http.StatusNotFound},
		{"POST", "/orgs", url.Values{"name": {"Planted"}, "parent": {"x"}}, http.StatusNotFound},
		{"POST", "/orgs/1/rename", url.Values{"name": {"Taken Over"}}, http.StatusForbidden},
		{"POST", "/orgs/999/rename", url.Values{"name": {"Ghost"}}, http.StatusNotFound},
		{"POST", fmt.Sprintf("/orgs/%d/settings", west), url.Values{"role_mode": {"one"}, "limit_visibility": {"no"}}, http.StatusForbidden},
		{"POST", fmt.Sprintf("/orgs/%d/defaults", west), url.Values{"perm.billing.view": {"deny"}}, http.StatusForbidden},
		{"POST", fmt.Sprintf("/orgs/%d/defaults/impact", west), url.Values{"perm.billing.view": {"allow"}}, http.StatusForbidden},
		{"POST", "/orgs/999/defaults/impact", url.Values{"perm.billing.view": {"allow"}}, http.StatusNotFound},
		// Moving needs orgs.manage where it is and where it goes.
		{"POST", fmt.Sprintf("/orgs/%d/move", eastAnnex), url.Values{"parent": {fmt.Sprint(west)}}, http.StatusForbidden},
		{"POST", fmt.Sprintf("/orgs/%d/move", east), url.Values{"parent": {fmt.Sprint(eastAnnex)}}, http.StatusForbidden}, // inside Northside, which they do not manage
		{"POST", fmt.Sprintf("/orgs/%d/move", eastAnnex), url.Values{"parent": {"999"}}, http.StatusNotFound},
	} {
		var r response
		if tc.method == "GET" {
			r = mc.get(tc.path)
		} else {
			mc.get("/orgs")
			r = mc.postForm(tc.path, tc.form)
		}
		if r.StatusCode != tc.want {
			t.Errorf("%s %s %v: %d, want %d", tc.method, tc.path, tc.form, r.StatusCode, tc.want)
		}
	}
	if after := p.orgState(); after != before {
		t.Fatalf("refused requests changed something: %s → %s", before, after)
	}
	// What is theirs they may change: a sub-organisation of Eastside.
	mc.get("/orgs")
	if r := mc.postForm("/orgs", url.Values{"name": {"Eastside Lab"}, "parent": {fmt.Sprint(east)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create under Eastside: %d %s", r.StatusCode, r.body)
	}
	if !strings.Contains(mc.get("/orgs").body, `Organisation “Eastside Lab” created.`) {
		t.Error("no flash after creating")
	}
	// Only a global admin moves a top-level organisation, or makes one, and it gets the system roles.
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/orgs")
	r := admin.postForm("/orgs", url.Values{"name": {"Riverside Practice"}, "parent": {"0"}})
	if r.StatusCode != http.StatusSeeOther || p.checksum("SELECT count(*) FROM roles r JOIN organisations o ON o.id = r.org_id WHERE o.name = 'Riverside Practice' AND r.system = 1") != "8" {
		t.Fatalf("top-level organisation: %d, want it with the 8 system roles", r.StatusCode)
	}
	if r := admin.postForm(fmt.Sprintf("/orgs/%d/move", other), url.Values{"parent": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("global admin moves a top-level organisation: %d %s", r.StatusCode, r.body)
	}
	if got := p.checksum("SELECT parent_id FROM organisations WHERE id = ?", other); got != "1" {
		t.Fatalf("Elsewhere's parent after the move: %s", got)
	}
}

func TestOrgBadInput(t *testing.T) {
	p := newPortal(t, true)
	east := p.org("Eastside", 1)
	annex := p.org("Eastside Annex", east)
	p.org("Eastside Annex", 1) // same name, another level
	other := p.org("Elsewhere Clinic", 0)
	p.personIn("Ben Okafor", east, p.roleID("NURSE")) // a role of Northside, held in Eastside
	c := p.client()
	c.login(adminEmail, adminPassword)
	e := fmt.Sprintf("/orgs/%d", east)
	long := strings.Repeat("x", 101)
	cases := []struct {
		name, path string
		form       url.Values
		problem    string // data-testid of the message beside the field
		want       string
	}{
		{"create: empty name", "/orgs", url.Values{"name": {"  "}, "parent": {"1"}}, "problem-name", "This field is required."},
		{"create: over-long name", "/orgs", url.Values{"name": {long}, "parent": {"1"}}, "problem-name", "Use at most 100 characters."},
		{"create: control characters", "/orgs", url.Values{"name": {"East\x1bside"}, "parent": {"1"}}, "problem-name", "Remove control characters."},
		{"create: a sibling's name", "/orgs", url.Values{"name": {"EASTSIDE"}, "parent": {"1"}}, "problem-name", "Northside Practice already has an organisation called EASTSIDE."},
		{"rename: empty", e + "/rename", url.Values{"name": {""}}, "problem-name", "This field is required."},
		{"rename: over-long", e + "/rename", url.Values{"name": {long}}, "problem-name", "Use at most 100 characters."},
		{"rename: line break", e + "/rename", url.Values{"name": {"East\nside"}}, "problem-name", "Remove control characters."},
		{"rename: the same name is no change", fmt.Sprintf("/orgs/%d/rename", annex), url.Values{"name": {"Eastside Annex"}}, "", ""},
		{"move: under itself", e + "/move", url.Values{"parent": {fmt.Sprint(east)}}, "problem-parent", "An organisation cannot move under itself or under an organisation below it."},
		{"move: under its descendant", e + "/move", url.Values{"parent": {fmt.Sprint(annex)}}, "problem-parent", "An organisation cannot move under itself or under an organisation below it."},
		{"move: nowhere", e + "/move", url.Values{"parent": {""}}, "problem-parent", "Choose the organisation to move it under."},
		{"move: beside a namesake", fmt.Sprintf("/orgs/%d/move", annex), url.Values{"parent": {"1"}}, "problem-parent", "Northside Practice already has an organisation called Eastside Annex."},
		{"move: stranding a role", e + "/move", url.Values{"parent": {fmt.Sprint(other)}}, "problem-parent",
			"Some people hold roles of an organisation that would no longer be above them: Ben Okafor holds Nurse (of Northside Practice) in Eastside. Change or remove those roles first."},
		{"settings: unknown role mode", e + "/settings", url.Values{"role_mode": {"some"}, "limit_visibility": {"yes"}}, "problem-role_mode", "Choose several roles per person or one role per person."},
		{"settings: unknown visibility", e + "/settings", url.Values{"role_mode": {"many"}, "limit_visibility": {"maybe"}}, "problem-limit_visibility", "Choose Yes or No."},
		{"defaults: unknown permission", e + "/defaults", url.Values{"perm.billing.teleport": {"allow"}, "perm.billing.view": {"deny"}}, "problem-defaults", "Unknown permissions: billing.teleport."},
		{"defaults: unknown effect", e + "/defaults", url.Values{"perm.billing.view": {"sometimes"}}, "problem-d-billing.view", "Choose inherit, allow or deny."},
		{"defaults: empty effect", e + "/defaults", url.Values{"perm.billing.view": {""}}, "problem-d-billing.view", "Choose inherit, allow or deny."},
		{"defaults: a mandatory permission", e + "/defaults", url.Values{"perm.patients.view": {"deny"}}, "problem-d-patients.view", "View patient data is always granted; it has no default."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := p.orgState()
			c.get(e)
			r := c.postForm(tc.path, tc.form)
			if tc.problem == "" { // unchanged name: accepted, nothing to record
				if r.StatusCode != http.StatusSeeOther || p.orgState() != before {
					t.Fatalf("status %d", r.StatusCode)
				}
				return
			}
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", r.StatusCode, r.body)
			}
			if got := byTestid(t, r.body, tc.problem); got != tc.want {
				t.Errorf("message %q, want %q", got, tc.want)
			}
			if after := p.orgState(); after != before {
				t.Fatalf("bad input wrote something: %s → %s", before, after)
			}
		})
	}
	// What was typed is kept.
	r := c.postForm("/orgs", url.Values{"name": {long}, "parent": {fmt.Sprint(east)}})
	if !strings.Contains(r.body, `value="`+long+`"`) || !strings.Contains(r.body, fmt.Sprintf(`<option value="%d" selected>`, east)) {
		t.Error("the New organisation form lost what was typed")
	}
}

// Organisation defaults within the escalation guard, and what the person page says of them.
func TestOrgDefaultsOverHTTP(t *testing.T) {
	p := newPortal(t, true)
	east := p.org("Eastside", 1)
	manager := p.customRole("Site Manager", "orgs.manage", "scheduling.access", "staff.view")
	mc, _ := p.personIn("Sam Site", east, manager)
	_, dev := p.personIn("Dev Patel", east, p.roleID("MEMBER"))
	page := fmt.Sprintf("/orgs/%d", east)

	mc.get(page)
	before := p.orgState()
	r := mc.postConfirmed(page+"/defaults", url.Values{"perm.billing.view": {"allow"}, "perm.scheduling.access": {"allow"}})
	if r.StatusCode != http.StatusUnprocessableEntity || p.orgState() != before {
		t.Fatalf("allowing what one lacks: %d", r.StatusCode)
	}
	if got := byTestid(t, r.body, "problem-d-billing.view"); got != "You can only grant permissions you hold yourself: View billing." {
		t.Errorf("message %q", got)
	}
	if !strings.Contains(r.body, `<option value="allow" selected>`) {
		t.Error("the refused form lost the choices")
	}
	// The page locks Allow where the viewer may not grant it.
	if body := mc.get(page).body; !strings.Contains(body, `<option value="allow" disabled>Allow</option>`) {
		t.Error("Allow is not locked for a permission the manager lacks")
	}
	r = mc.postConfirmed(page+"/defaults", url.Values{"perm.scheduling.access": {"allow"}, "perm.billing.view": {"deny"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("allowed defaults: %d %s", r.StatusCode, r.body)
	}
	if got := p.checksum("SELECT group_concat(perm || '=' || effect) FROM (SELECT * FROM org_defaults WHERE org_id = ? ORDER BY perm)", east); got != "billing.view=deny,scheduling.access=allow" {
		t.Fatalf("defaults saved: %s", got)
	}
	if got := p.checksum("SELECT count(*) FROM audit_log WHERE action = 'org.default'"); got != "2" {
		t.Fatalf("audit entries: %s, want one per change", got)
	}
	// The person page explains them; a default set above says where it applies from.
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	person := admin.get(fmt.Sprintf("/staff/%d?org=%d", dev, east)).body
	if got := byTestid(t, person, "why-scheduling.access"); got != "Allowed by the default of Eastside." {
		t.Errorf("scheduling.access: %q", got)
	}
	admin.get("/orgs/1")
	if r := admin.postConfirmed("/orgs/1/defaults", url.Values{"perm.clinical.erx": {"allow"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("default in Northside: %d", r.StatusCode)
	}
	person = admin.get(fmt.Sprintf("/staff/%d?org=%d", dev, east)).body
	if got := byTestid(t, person, "why-clinical.erx"); got != "Allowed by the default of Northside Practice (applies here from Northside Practice)." {
		t.Errorf("clinical.erx: %q", got)
	}
	// Eastside's page shows what it inherits.
	if got := byTestid(t, admin.get(page).body, "inherited-clinical.erx"); got != "Allowed by the default of Northside Practice." {
		t.Errorf("inherited: %q", got)
	}
}

// The hierarchy over HTTP: A (Northside) → A1 → A11, a sibling A2, and another top-level B.
// An assignment in A grants in A11 but not in B; a default deny in A1 loses to a role held in
// A1 and wins over nothing; each reason names the organisation it comes from. A role can be
// created in a sub-organisation through the roles list's organisation picker.
func TestHierarchyOverHTTP(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	create := func(name string, parent int64) int64 {
		admin.get("/orgs")
		if r := admin.postForm("/orgs", url.Values{"name": {name}, "parent": {fmt.Sprint(parent)}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("create %s: %d %s", name, r.StatusCode, r.body)
		}
		var id int64
		fmt.Sscan(p.checksum("SELECT max(id) FROM organisations"), &id)
		return id
	}
	a1 := create("Eastside", 1)
	a11 := create("Eastside Annex", a1)
	a2 := create("Westside", 1)
	b := create("Elsewhere Clinic", 0)

	// The tree shows them nested, each with its counts.
	tree := admin.get("/orgs").body
	for _, name := range []string{"Eastside", "Eastside Annex", "Westside", "Elsewhere Clinic"} {
		if !strings.Contains(tree, `data-name="`+name+`"`) {
			t.Errorf("the tree lacks %s", name)
		}
	}
	if i, j := strings.Index(tree, `data-name="Eastside"`), strings.Index(tree, `data-name="Eastside Annex"`); j < i || !strings.Contains(tree[i:j], "<ul>") {
		t.Error("Eastside Annex is not nested under Eastside")
	}

	// The picker lists the sub-organisation with its path; a role is created there.
	list := admin.get(fmt.Sprintf("/roles?org=%d", a1))
	if list.StatusCode != http.StatusOK || !strings.Contains(list.body, fmt.Sprintf(`<option value="%d" selected>Northside Practice › Eastside</option>`, a1)) {
		t.Fatalf("roles list of Eastside: %d", list.StatusCode)
	}
	r := admin.postForm("/roles", url.Values{"org": {fmt.Sprint(a1)}, "name": {"Scheduler"}, "status": {"active"}, "permissions": {"scheduling.access"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != fmt.Sprintf("/roles?org=%d", a1) {
		t.Fatalf("create a role in Eastside: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	var scheduler int64
	fmt.Sscan(p.checksum("SELECT id FROM roles WHERE org_id = ? AND code = 'SCHEDULER'", a1), &scheduler)
	if scheduler == 0 {
		t.Fatal("the role was not created in Eastside")
	}

	_, ben := p.personIn("Ben Okafor", 1, p.roleID("BILLING_STAFF"))
	_, chloe := p.personIn("Chloe Martin", a1, scheduler)
	_, dev := p.personIn("Dev Patel", a1, p.roleID("MEMBER"))
	admin.get(fmt.Sprintf("/orgs/%d", a1))
	if r := admin.postConfirmed(fmt.Sprintf("/orgs/%d/defaults", a1), url.Values{"perm.scheduling.access": {"deny"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("default deny in Eastside: %d", r.StatusCode)
	}
	why := func(user, org int64, key string) string {
		return byTestid(t, admin.get(fmt.Sprintf("/staff/%d?org=%d", user, org)).body, "why-"+key)
	}
	cases := []struct {
		name      string
		user, org int64
		key, want string
	}{
		{"assignment in A, seen in A", ben, 1, "billing.view", "Granted by role Billing Staff in Northside Practice."},
		{"assignment in A grants in A11", ben, a11, "billing.view", "Granted by role Billing Staff in Northside Practice (applies here from Northside Practice)."},
		{"assignment in A grants in A2", ben, a2, "billing.view", "Granted by role Billing Staff in Northside Practice (applies here from Northside Practice)."},
		{"default deny in A1 loses to a role grant in A1", chloe, a1, "scheduling.access", "Granted by role Scheduler in Eastside."},
		{"... below A1 too", chloe, a11, "scheduling.access", "Granted by role Scheduler in Eastside (applies here from Eastside)."},
		{"default deny in A1 wins over nothing", dev, a1, "scheduling.access", "Denied by the default of Eastside."},
		{"... and reaches A11", dev, a11, "scheduling.access", "Denied by the default of Eastside (applies here from Eastside)."},
	}
	for _, tc := range cases {
		if got := why(tc.user, tc.org, tc.key); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// Nothing in the other top-level organisation.
	snap := p.app.Access.Now()
	if snap.Can(ben, b, "billing.view") || snap.Can(ben, b, "patients.view") || !snap.Can(ben, a11, "billing.view") {
		t.Error("an assignment in Northside must grant in Eastside Annex and nothing in Elsewhere Clinic")
	}
}

func TestRoleModeOverHTTP(t *testing.T) {
	p := newPortal(t, true)
	nurse, staffRole, billing := p.roleID("NURSE"), p.roleID("STAFF"), p.roleID("BILLING_STAFF")
	_, ben := p.personIn("Ben Okafor", 1, nurse, staffRole)
	_, chloe := p.personIn("Chloe Martin", 1, staffRole)
	c := p.client()
	c.login(adminEmail, adminPassword)

	// Refused while Ben holds two roles, naming him and them; nothing written.
	c.get("/orgs/1")
	before := p.orgState()
	r := c.postForm("/orgs/1/settings", url.Values{"role_mode": {"one"}, "limit_visibility": {"yes"}})
	if r.StatusCode != http.StatusUnprocessableEntity || p.orgState() != before {
		t.Fatalf("switch while Ben holds two roles: %d", r.StatusCode)
	}
	if got := byTestid(t, r.body, "problem-role_mode"); !strings.Contains(got, "Ben Okafor (Nurse, Staff)") {
		t.Fatalf("the refusal does not name Ben and his roles: %q", got)
	}
	if !strings.Contains(r.body, `value="one" checked`) {
		t.Error("the refused form lost the choice")
	}
	c.get(fmt.Sprintf("/staff/%d", ben))
	if r := c.postForm(fmt.Sprintf("/staff/%d/roles/remove", ben), url.Values{"org": {"1"}, "role": {fmt.Sprint(staffRole)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove Staff from Ben: %d", r.StatusCode)
	}
	c.get("/orgs/1")
	if r := c.postForm("/orgs/1/settings", url.Values{"role_mode": {"one"}, "limit_visibility": {"no"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch: %d %s", r.StatusCode, r.body)
	}
	if got := p.checksum("SELECT role_mode || limit_visibility FROM organisations WHERE id = 1"); got != "one0" {
		t.Fatalf("settings saved: %s", got)
	}
	if got := p.checksum("SELECT group_concat(after_json, ' ') FROM audit_log WHERE action = 'settings.change'"); got != `{"role_mode":"one"} {"limit_visibility":false}` {
		t.Fatalf("settings audit: %s", got)
	}

	// The person page offers one dropdown that replaces the role, and refuses a second one.
	page := fmt.Sprintf("/staff/%d", ben)
	body := c.get(page).body
	if strings.Contains(body, `data-testid="add-role-form"`) || !strings.Contains(body, `data-testid="move-NURSE"`) || !strings.Contains(body, `data-testid="one-role-note"`) {
		t.Fatal("in one-role mode the person page must offer only the change of role")
	}
	before = p.accessState()
	r = c.postForm(page+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(billing)}})
	if r.StatusCode != http.StatusUnprocessableEntity || p.accessState() != before {
		t.Fatalf("a second role: %d", r.StatusCode)
	}
	if got := byTestid(t, r.body, "person-problem"); got != "In Northside Practice each person holds one role: change their role instead of adding another." {
		t.Errorf("message %q", got)
	}
	if r := c.postForm(page+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(billing)}, "replace": {fmt.Sprint(nurse)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change of role: %d", r.StatusCode)
	}
	if p.holders(nurse) != "[]" || p.holders(billing) != fmt.Sprintf("[%d]", ben) {
		t.Fatalf("after the change: nurse %s, billing %s", p.holders(nurse), p.holders(billing))
	}

	// Select members moves Chloé from Staff to Billing Staff instead of adding.
	if !strings.Contains(c.get(fmt.Sprintf("/roles/%d/members", billing)).body, `data-testid="one-role-note"`) {
		t.Error("Select members does not say it moves people")
	}
	r = c.postConfirmed(fmt.Sprintf("/roles/%d/members", billing), url.Values{"members": {fmt.Sprint(chloe)}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("select members: %d %s", r.StatusCode, r.body)
	}
	if p.holders(staffRole) != "[]" || p.holders(billing) != fmt.Sprintf("[%d %d]", ben, chloe) {
		t.Fatalf("after Select members: staff %s, billing %s", p.holders(staffRole), p.holders(billing))
	}
	if got := byTestid(t, c.get("/roles").body, "flash"); got != `Members of “Billing Staff” saved: added Chloe Martin. Moved here from their previous role: Chloe Martin (from Staff).` {
		t.Errorf("flash %q", got)
	}
	// Back to several roles per person: adding is adding again.
	c.get("/orgs/1")
	c.postForm("/orgs/1/settings", url.Values{"role_mode": {"many"}, "limit_visibility": {"no"}})
	c.get(page)
	if r := c.postForm(page+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(nurse)}}); r.StatusCode != http.StatusSeeOther || p.holders(nurse) != fmt.Sprintf("[%d]", ben) {
		t.Fatalf("adding in several-roles mode: %d", r.StatusCode)
	}
}

// Organisation defaults go through the lock-out guard like every access change: the last
// person able to manage roles and staff keeps that access, even when a default gives it.
func TestOrgDefaultsLockout(t *testing.T) {
	p := newPortal(t, true)
	p.personIn("Lee Lead", 1, p.roleID("MEMBER"))
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/orgs/1")
	if r := admin.postConfirmed("/orgs/1/defaults", url.Values{"perm.roles.manage": {"allow"}, "perm.staff.manage": {"allow"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("allow by default: %d %s", r.StatusCode, r.body)
	}
	before := p.orgState()
	r := admin.postConfirmed("/orgs/1/defaults", url.Values{"perm.roles.manage": {"inherit"}})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "must keep at least one person who can manage both roles and staff") {
		t.Fatalf("taking the last manager's access away: %d", r.StatusCode)
	}
	if p.orgState() != before {
		t.Fatal("a refused default changed something")
	}
}
