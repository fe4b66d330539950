package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
)

// roleID finds a role of org 1 by code.
func (p *portal) roleID(code string) int64 {
	p.t.Helper()
	rows, _, err := p.store.ListRoles(context.Background(), store.RoleQuery{OrgID: 1, Q: code, Limit: 100})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, r := range rows {
		if r.Code == code {
			return r.ID
		}
	}
	p.t.Fatalf("no role %s", code)
	return 0
}

// customRole creates a role in org 1 with the given permissions, as the global admin.
func (p *portal) customRole(name string, perms ...string) int64 {
	p.t.Helper()
	id, err := p.store.CreateRole(context.Background(), store.RoleInput{OrgID: 1, Code: strings.ToUpper(strings.ReplaceAll(name, " ", "_")),
		Name: name, Active: true, Permissions: append([]string{"patients.view"}, perms...), ActorID: 1})
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

// person adds a staff member of org 1 holding roleIDs and returns a signed-in client.
func (p *portal) person(email string, roleIDs ...int64) (*client, int64) {
	p.t.Helper()
	ctx := context.Background()
	hash, err := auth.HashPassword(context.Background(), "a staff member password")
	if err != nil {
		p.t.Fatal(err)
	}
	ids, err := p.store.AddStaff(ctx, []store.NewStaff{{Email: email, Name: email, PasswordHash: hash, OrgID: 1}})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, r := range roleIDs {
		if err := p.store.SetRoleHolders(ctx, r, 1, []int64{ids[0]}, nil, 1); err != nil {
			p.t.Fatal(err)
		}
	}
	c := p.client()
	if r := c.login(email, "a staff member password"); r.StatusCode != http.StatusSeeOther {
		p.t.Fatalf("sign in %s: %d", email, r.StatusCode)
	}
	return c, ids[0]
}

// accessState is what a refused request must leave untouched.
func (p *portal) accessState() string {
	return fmt.Sprint(p.count("roles"), p.count("role_permissions"), p.count("role_assignments"),
		p.checksum("SELECT group_concat(id || name || description || active || version) FROM roles"))
}

func (p *portal) checksum(query string, args ...any) string {
	p.t.Helper()
	db := p.rawDB()
	defer db.Close()
	var s string
	if err := db.QueryRow(query, args...).Scan(&s); err != nil {
		p.t.Fatal(err)
	}
	return s
}

func TestRoleRoutesByPermission(t *testing.T) {
	p := newPortal(t, true)
	target := p.customRole("Target Role", "billing.view")
	viewer := p.customRole("Viewer", "staff.view")
	editor := p.customRole("Editor", "roles.manage", "billing.view")
	assigner := p.customRole("Assigner", "staff.manage", "billing.view")
	id := fmt.Sprint(target)

	type route struct {
		method, path string
		form         url.Values
		perm         string // "view" = roles.manage or staff.view
	}
	routes := []route{
		{"GET", "/roles", nil, "view"},
		{"GET", "/roles/grid", nil, "view"},
		{"GET", "/roles/grid.csv", nil, "view"},
		{"GET", "/permissions", nil, "view"},
		{"GET", "/roles/" + id, nil, "view"},
		{"GET", "/roles/new", nil, "roles.manage"},
		{"GET", "/roles/" + id + "/edit", nil, "roles.manage"},
		{"POST", "/roles", url.Values{"org": {"1"}, "name": {"Made By Test"}, "status": {"active"}}, "roles.manage"},
		{"POST", "/roles/" + id, url.Values{"name": {"Renamed"}, "status": {"active"}, "version": {"1"}, "permissions": {"billing.view"}}, "roles.manage"},
		{"GET", "/roles/" + id + "/members", nil, "staff.manage"},
		{"POST", "/roles/" + id + "/members", url.Values{"members": {"1"}}, "staff.manage"},
		{"POST", "/roles/" + id + "/impact", url.Values{"permissions": {"billing.view", "audit.view"}}, "roles.manage"},
		{"POST", "/roles/" + id + "/delete/impact", url.Values{"reassign_to": {fmt.Sprint(viewer)}}, "roles.manage"},
		{"POST", "/roles/" + id + "/members/impact", url.Values{"members": {"1"}}, "staff.manage"},
		{"POST", "/roles/" + id + "/delete", url.Values{"confirm_code": {"TARGET_ROLE"}}, "roles.manage"}, // last: it deletes
	}
	nobody, _ := p.person("nobody@example.org", p.roleID("MEMBER"))
	view, _ := p.person("viewer@example.org", viewer)
	edit, _ := p.person("editor@example.org", editor)
	assign, _ := p.person("assigner@example.org", assigner)
	holds := map[string]map[string]bool{
		"nobody":   {},
		"viewer":   {"view": true},
		"editor":   {"view": true, "roles.manage": true},
		"assigner": {"staff.manage": true},
	}
	clients := map[string]*client{"nobody": nobody, "viewer": view, "editor": edit, "assigner": assign}
	for _, who := range []string{"nobody", "viewer", "assigner", "editor"} {
		c := clients[who]
		for _, rt := range routes {
			t.Run(who+" "+rt.method+" "+rt.path, func(t *testing.T) {
				before := p.accessState()
				var r response
				if rt.method == "GET" {
					r = c.get(rt.path)
				} else {
					c.get("/account") // a fresh token
					r = c.postForm(rt.path, with(rt.form, "x", "y"))
				}
				allowed := holds[who][rt.perm]
				if !allowed {
					if r.StatusCode != http.StatusForbidden {
						t.Fatalf("status %d, want 403", r.StatusCode)
					}
					if !strings.Contains(r.body, "Missing permission") {
						t.Errorf("403 page does not name the missing permission")
					}
					if after := p.accessState(); after != before {
						t.Fatalf("a refused request changed access: %s → %s", before, after)
					}
					return
				}
				if r.StatusCode >= 300 && r.StatusCode != http.StatusSeeOther && r.StatusCode != http.StatusConflict {
					t.Fatalf("status %d, want success: %s", r.StatusCode, r.body)
				}
				// A preview, and a save held back for its preview, write nothing.
				if (strings.HasSuffix(rt.path, "/impact") || r.StatusCode == http.StatusConflict) && p.accessState() != before {
					t.Fatal("a preview changed access")
				}
			})
		}
	}
	// Without the CSRF token, nothing changes even for someone allowed.
	for _, rt := range routes {
		if rt.method != "POST" {
			continue
		}
		before := p.accessState()
		if r := edit.postRaw(rt.path, rt.form); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without token: %d", rt.path, r.StatusCode)
		}
		if after := p.accessState(); after != before {
			t.Errorf("POST %s without token changed access", rt.path)
		}
	}
}

func TestRoleBadInput(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/roles/new")
	base := url.Values{"org": {"1"}, "name": {"Nurse Lead"}, "description": {"Leads."}, "status": {"active"}, "permissions": {"patients.contact"}}
	cases := []struct {
		name  string
		field string
		value []string
		want  string
	}{
		{"empty name", "name", []string{"   "}, "This field is required."},
		{"long name", "name", []string{strings.Repeat("n", 65)}, "at most 64"},
		{"control characters", "name", []string{"Nurse\x07Lead"}, "Remove control characters."},
		{"no letters", "name", []string{"!!!"}, "at least one letter or digit"},
		{"reserved code", "name", []string{"Admin"}, "reserved for a system role"},
		{"reserved MANAGER", "name", []string{"manager"}, "reserved for a system role"},
		{"long description", "description", []string{strings.Repeat("d", 501)}, "at most 500"},
		{"bad status", "status", []string{"maybe"}, "Choose Active or Inactive."},
		{"unknown permission", "permissions", []string{"patients.teleport"}, "Unknown permissions: patients.teleport"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := p.accessState()
			f := with(base, tc.field, "")
			f[tc.field] = tc.value
			r := c.postForm("/roles", f)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) {
				t.Fatalf("status %d, body lacks %q", r.StatusCode, tc.want)
			}
			if tc.field != "name" && !strings.Contains(r.body, `value="Nurse Lead"`) {
				t.Error("the form did not keep the name typed")
			}
			if after := p.accessState(); after != before {
				t.Fatal("bad input wrote something")
			}
		})
	}
	// A duplicate code is refused the second time.
	if r := c.postForm("/roles", base); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.StatusCode, r.body)
	}
	if r := c.postForm("/roles", with(base, "name", "nurse  lead")); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "NURSE_LEAD") {
		t.Fatalf("duplicate code: %d", r.StatusCode)
	}
	// Ids that do not exist, or an organisation that does not exist.
	for _, path := range []string{"/roles/99999", "/roles/abc/edit", "/roles/new?from=99999", "/roles?org=99999"} {
		if r := c.get(path); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
		}
	}
	// System roles cannot be edited or deleted, whatever is posted.
	nurse := fmt.Sprint(p.roleID("NURSE"))
	before := p.accessState()
	if r := c.postForm("/roles/"+nurse, url.Values{"name": {"Hacked"}, "status": {"active"}, "version": {"1"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("edit system role: %d", r.StatusCode)
	}
	if r := c.postConfirmed("/roles/"+nurse+"/delete", url.Values{"confirm_code": {"NURSE"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("delete system role: %d", r.StatusCode)
	}
	if p.accessState() != before {
		t.Error("a system role changed")
	}
}

func TestRoleStaleVersion(t *testing.T) {
	p := newPortal(t, true)
	id := fmt.Sprint(p.customRole("Front Desk", "patients.contact"))
	ana := p.client()
	ana.login(adminEmail, adminPassword)
	ana.get("/roles/" + id + "/edit")
	edit := url.Values{"name": {"Front Desk"}, "status": {"active"}, "version": {"1"}, "permissions": {"patients.contact", "scheduling.access"}}
	if r := ana.postConfirmed("/roles/"+id, edit); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first save: %d %s", r.StatusCode, r.body)
	}
	before := p.accessState()
	r := ana.postConfirmed("/roles/"+id, with(edit, "name", "Front Desk Team"))
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Ana Ruiz changed this role at") || !strings.Contains(r.body, `value="Front Desk Team"`) {
		t.Fatalf("stale save: %d", r.StatusCode)
	}
	if p.accessState() != before {
		t.Fatal("stale save wrote something")
	}
}

func TestEscalationGuardOverHTTP(t *testing.T) {
	p := newPortal(t, true)
	manager := p.customRole("Roles Manager", "roles.manage", "staff.manage", "staff.view", "patients.contact")
	delegate := p.customRole("Delegate", "roles.manage", "staff.manage", "access.delegate")
	mc, _ := p.person("manager@example.org", manager)
	dc, did := p.person("delegate@example.org", delegate)

	// Without access.delegate: only what one holds.
	mc.get("/roles/new")
	before := p.accessState()
	r := mc.postForm("/roles", url.Values{"org": {"1"}, "name": {"Biller"}, "status": {"active"}, "permissions": {"patients.contact", "billing.manage"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Manage billing") || strings.Contains(r.body, "Contact patient</") {
		t.Fatalf("granting billing.manage without holding it: %d", r.StatusCode)
	}
	if p.accessState() != before {
		t.Fatal("refused grant wrote something")
	}
	if r := mc.postForm("/roles", url.Values{"org": {"1"}, "name": {"Caller"}, "status": {"active"}, "permissions": {"patients.contact"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("granting a held permission: %d", r.StatusCode)
	}
	// Assigning a role whose permissions one lacks is refused too.
	admin := fmt.Sprint(p.roleID("ADMIN"))
	_, ben := p.person("ben@example.org")
	mc.get("/roles/" + admin + "/members")
	before = p.accessState()
	r = mc.postConfirmed("/roles/"+admin+"/members", url.Values{"members": {fmt.Sprint(ben)}})
	if r.StatusCode != http.StatusUnprocessableEntity || p.accessState() != before {
		t.Fatalf("assigning ADMIN without holding it: %d", r.StatusCode)
	}

	// With access.delegate: anything, but never to oneself.
	dc.get("/roles/new")
	if r := dc.postForm("/roles", url.Values{"org": {"1"}, "name": {"Biller"}, "status": {"active"}, "permissions": {"billing.manage"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delegate granting billing.manage: %d %s", r.StatusCode, r.body)
	}
	before = p.accessState()
	r = dc.postConfirmed(fmt.Sprintf("/roles/%d", delegate), url.Values{"name": {"Delegate"}, "status": {"active"}, "version": {"1"},
		"permissions": {"roles.manage", "staff.manage", "access.delegate", "billing.manage"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "role you hold") {
		t.Fatalf("delegate adding to own role: %d", r.StatusCode)
	}
	r = dc.postConfirmed("/roles/"+admin+"/members", url.Values{"members": {fmt.Sprint(did)}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "cannot assign a role to yourself") {
		t.Fatalf("delegate assigning self ADMIN: %d", r.StatusCode)
	}
	if p.accessState() != before {
		t.Fatal("refused self-grant wrote something")
	}
	if r := dc.postConfirmed("/roles/"+admin+"/members", url.Values{"members": {fmt.Sprint(ben)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delegate assigning ADMIN to another: %d", r.StatusCode)
	}
}

func TestDeleteAndMembers(t *testing.T) {
	p := newPortal(t, true)
	role := p.customRole("Night Shift", "scheduling.access")
	id := fmt.Sprint(role)
	c := p.client()
	c.login(adminEmail, adminPassword)
	_, ben := p.person("ben@example.org", role)
	_, chloe := p.person("chloe@example.org")

	// Members: ticked are added, shown-but-unticked removed, others untouched.
	c.get("/roles/" + id + "/members")
	r := c.postConfirmed("/roles/"+id+"/members", url.Values{"members": {fmt.Sprint(chloe)}, "shown": {fmt.Sprint(chloe)}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save members: %d %s", r.StatusCode, r.body)
	}
	if got := p.holders(role); got != fmt.Sprint([]int64{ben, chloe}) {
		t.Fatalf("holders %s; ben (not shown) must stay, chloe added", got)
	}
	r = c.postConfirmed("/roles/"+id+"/members", url.Values{"shown": {fmt.Sprint(ben)}})
	if r.StatusCode != http.StatusSeeOther || p.holders(role) != fmt.Sprint([]int64{chloe}) {
		t.Fatalf("removing ben: %d, holders %s", r.StatusCode, p.holders(role))
	}
	// Someone outside the organisation cannot be named.
	before := p.accessState()
	if r := c.postConfirmed("/roles/"+id+"/members", url.Values{"members": {"99999"}}); r.StatusCode != http.StatusUnprocessableEntity || p.accessState() != before {
		t.Fatalf("unknown member: %d", r.StatusCode)
	}
	// Inactive roles take no new holders.
	c.postConfirmed("/roles/"+id, url.Values{"name": {"Night Shift"}, "status": {"inactive"}, "version": {"1"}, "permissions": {"scheduling.access"}})
	before = p.accessState()
	if r := c.postConfirmed("/roles/"+id+"/members", url.Values{"members": {fmt.Sprint(ben)}}); r.StatusCode != http.StatusUnprocessableEntity || p.accessState() != before {
		t.Fatalf("adding to an inactive role: %d", r.StatusCode)
	}

	// Delete with holders: refused, then the code must match, then it goes.
	before = p.accessState()
	r = c.postConfirmed("/roles/"+id+"/delete", url.Values{})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "1 user holds this role") {
		t.Fatalf("delete with holders: %d", r.StatusCode)
	}
	r = c.postConfirmed("/roles/"+id+"/delete", url.Values{"confirm_code": {"NIGHT"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Type NIGHT_SHIFT to confirm.") || p.accessState() != before {
		t.Fatalf("wrong confirmation: %d", r.StatusCode)
	}
	staff := p.roleID("STAFF")
	r = c.postConfirmed("/roles/"+id+"/delete", url.Values{"reassign_to": {fmt.Sprint(staff)}})
	if r.StatusCode != http.StatusSeeOther || p.holders(staff) != fmt.Sprint([]int64{chloe}) {
		t.Fatalf("reassign and delete: %d, staff holders %s", r.StatusCode, p.holders(staff))
	}
	if r := c.get("/roles/" + id); r.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted role still answers %d", r.StatusCode)
	}
	other := p.customRole("Weekend", "scheduling.access")
	p.store.SetRoleHolders(context.Background(), other, 1, []int64{ben}, nil, 1)
	r = c.postConfirmed(fmt.Sprintf("/roles/%d/delete", other), url.Values{"confirm_code": {"WEEKEND"}})
	if r.StatusCode != http.StatusSeeOther || p.holders(other) != "[]" {
		t.Fatalf("remove all and delete: %d", r.StatusCode)
	}
}

func (p *portal) holders(roleID int64) string {
	p.t.Helper()
	db := p.rawDB()
	defer db.Close()
	rows, err := db.Query("SELECT user_id FROM role_assignments WHERE role_id = ? ORDER BY user_id", roleID)
	if err != nil {
		p.t.Fatal(err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return fmt.Sprint(ids)
}

func TestGridCSV(t *testing.T) {
	p := newPortal(t, true)
	p.customRole("=HYPERLINK(evil)", "billing.view")
	c := p.client()
	c.login(adminEmail, adminPassword)
	r := c.get("/roles/grid.csv")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(r.body), "\n")
	if len(lines) != 22 || !strings.HasPrefix(lines[0], "category,permission,key,") {
		t.Fatalf("csv has %d lines; header %q", len(lines), lines[0])
	}
	if !strings.Contains(r.body, "Billing,View billing,billing.view,") {
		t.Error("csv lacks the billing.view row")
	}
	page := c.get("/roles/grid")
	if page.StatusCode != 200 || !strings.Contains(page.body, "=HYPERLINK(evil)") {
		t.Fatalf("grid: %d", page.StatusCode)
	}
	d := c.get("/permissions")
	if d.StatusCode != 200 || !strings.Contains(d.body, `data-testid="detail-roles.manage"`) {
		t.Fatalf("details: %d", d.StatusCode)
	}
}

// Ids from another organisation: a role of another top-level organisation cannot be seen or
// changed by an admin of this one, and its people cannot be made holders here.
func TestRolesAcrossOrganisations(t *testing.T) {
	p := newPortal(t, true)
	ctx := context.Background()
	other, err := p.store.CreateOrganisation(ctx, "Elsewhere Clinic", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.store.SeedSystemRoles(ctx, p.app.Auth().SystemRoles); err != nil {
		t.Fatal(err)
	}
	rows, _, _ := p.store.ListRoles(ctx, store.RoleQuery{OrgID: other, Q: "NURSE"})
	theirs := fmt.Sprint(rows[0].ID)
	hash, _ := auth.HashPassword(context.Background(), "x")
	stranger, err := p.store.AddStaff(ctx, []store.NewStaff{{Email: "zed@elsewhere.example", Name: "Zed", PasswordHash: hash, OrgID: other}})
	if err != nil {
		t.Fatal(err)
	}
	manager := p.customRole("Local Admin", "roles.manage", "staff.manage", "staff.view", "access.delegate")
	mc, _ := p.person("local@example.org", manager)
	mine := p.customRole("Local Role")

	before := p.accessState()
	for _, path := range []string{"/roles/" + theirs, "/roles/" + theirs + "/edit", "/roles/" + theirs + "/members", fmt.Sprintf("/roles?org=%d", other), fmt.Sprintf("/roles/new?org=%d", other)} {
		if r := mc.get(path); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", path, r.StatusCode)
		}
	}
	mc.get("/roles")
	if r := mc.postForm("/roles", url.Values{"org": {fmt.Sprint(other)}, "name": {"Planted"}, "status": {"active"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("create in another organisation: %d", r.StatusCode)
	}
	if r := mc.postConfirmed("/roles/"+theirs+"/members", url.Values{"members": {"1"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("members of another organisation's role: %d", r.StatusCode)
	}
	if r := mc.postConfirmed(fmt.Sprintf("/roles/%d/members", mine), url.Values{"members": {fmt.Sprint(stranger[0])}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a person of another organisation as holder: %d", r.StatusCode)
	}
	if after := p.accessState(); after != before {
		t.Fatal("cross-organisation requests changed access")
	}
}

// The last person who can manage roles and staff cannot be demoted, by any route, and two
// concurrent demotions cannot both pass.
func TestLockoutGuardOnRoles(t *testing.T) {
	p := newPortal(t, true)
	lead := p.customRole("Practice Lead", "roles.manage", "staff.manage", "staff.view")
	c, ana := p.person("lead@example.org", lead)
	_, ben := p.person("lead2@example.org", lead)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	id := fmt.Sprint(lead)

	// Two managers: removing one in each of two racing requests — exactly one may pass.
	admin.get("/roles/" + id + "/members")
	results := make(chan int, 2)
	for _, u := range []int64{ana, ben} {
		go func() {
			r := admin.postConfirmed("/roles/"+id+"/members", url.Values{"shown": {fmt.Sprint(u)}})
			results <- r.StatusCode
		}()
	}
	codes := []int{<-results, <-results}
	ok := 0
	for _, code := range codes {
		if code == http.StatusSeeOther {
			ok++
		} else if code != http.StatusConflict {
			t.Errorf("racing demotion answered %d", code)
		}
	}
	if ok != 1 || p.holders(lead) == "[]" {
		t.Fatalf("racing demotions: %v, holders %s; exactly one may pass", codes, p.holders(lead))
	}
	// The last one left: no edit, delete or removal may strip them.
	before := p.accessState()
	c.get("/roles")
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/roles/" + id, url.Values{"name": {"Practice Lead"}, "status": {"active"}, "version": {"1"}, "permissions": {"roles.manage"}}},
		{"/roles/" + id + "/delete", url.Values{"confirm_code": {"PRACTICE_LEAD"}}},
		{"/roles/" + id + "/members", url.Values{"shown": {fmt.Sprint(ana), fmt.Sprint(ben)}}},
	} {
		r := admin.postConfirmed(tc.path, tc.form)
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "must keep at least one person who can manage both roles and staff") {
			t.Errorf("POST %s: %d", tc.path, r.StatusCode)
		}
	}
	if p.accessState() != before {
		t.Fatal("a refused demotion changed access")
	}
}
