package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestStaffRoutesByPermission(t *testing.T) {
	p := newPortal(t, true)
	viewer := p.customRole("Staff Viewer", "staff.view")
	manager := p.customRole("Staff Manager", "staff.view", "staff.manage", "scheduling.access")
	vc, _ := p.person("viewer@example.org", viewer)
	mc, _ := p.person("manager@example.org", manager)
	nc, _ := p.person("nobody@example.org", p.roleID("MEMBER"))
	// Ben's access is within the manager's (never act on someone whose access exceeds yours).
	scheduler := p.customRole("Scheduler", "scheduling.access")
	_, ben := p.person("ben@example.org", scheduler)
	id := fmt.Sprint(ben)
	staffRole := fmt.Sprint(scheduler)
	inv := fmt.Sprint(p.invite("carla@example.org", p.roleID("MEMBER")).ID)
	routes := []struct {
		method, path string
		form         url.Values
		perm         string
	}{
		{"GET", "/staff", nil, "staff.view"},
		{"GET", "/staff/" + id, nil, "staff.view"},
		{"POST", "/staff/" + id + "/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(p.roleID("MEMBER"))}}, "staff.manage"},
		{"POST", "/staff/" + id + "/overrides", url.Values{"org": {"1"}, "perm": {"scheduling.access"}, "effect": {"deny"}}, "staff.manage"},
		{"POST", "/staff/" + id + "/roles/remove", url.Values{"org": {"1"}, "role": {staffRole}}, "staff.manage"},
		{"POST", "/staff/" + id + "/sessions/end", url.Values{"org": {"1"}}, "staff.manage"},
		{"POST", "/staff/" + id + "/disable", url.Values{"org": {"1"}}, "staff.manage"},
		{"POST", "/staff/" + id + "/enable", url.Values{"org": {"1"}}, "staff.manage"},
		{"POST", "/staff/" + id + "/remove", url.Values{"org": {"1"}}, "staff.manage"},
		{"GET", "/staff/invitations/new", nil, "staff.manage"},
		{"POST", "/staff/invitations", url.Values{"org": {"1"}, "email": {"dan@example.org"}, "name": {"Dan"}, "role": {fmt.Sprint(p.roleID("MEMBER"))}}, "staff.manage"},
		{"POST", "/staff/invitations/" + inv + "/resend", url.Values{}, "staff.manage"},
		{"POST", "/staff/invitations/" + inv + "/revoke", url.Values{}, "staff.manage"}, // last: it revokes
	}
	state := func() string {
		return p.accessState() + p.checksum("SELECT group_concat(id || status) FROM users") + fmt.Sprint(p.count("user_overrides"), p.count("staff")) +
			p.checksum("SELECT coalesce(group_concat(id || hex(token_hash) || coalesce(revoked_at, '-')), '') FROM invitations")
	}
	holds := map[string]map[string]bool{"nobody": {}, "viewer": {"staff.view": true}, "manager": {"staff.view": true, "staff.manage": true}}
	clients := map[string]*client{"nobody": nc, "viewer": vc, "manager": mc}
	for _, who := range []string{"nobody", "viewer", "manager"} {
		c := clients[who]
		for _, rt := range routes {
			t.Run(who+" "+rt.method+" "+rt.path, func(t *testing.T) {
				before := state()
				var r response
				if rt.method == "GET" {
					r = c.get(rt.path)
				} else {
					c.get("/account")
					r = c.postForm(rt.path, rt.form)
				}
				if !holds[who][rt.perm] {
					if after := state(); r.StatusCode != http.StatusForbidden || after != before {
						t.Fatalf("status %d (want 403), changed=%v", r.StatusCode, after != before)
					}
					return
				}
				if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusSeeOther {
					t.Fatalf("status %d: %s", r.StatusCode, r.body)
				}
			})
		}
	}
	// Without the CSRF token, nothing changes even for someone allowed.
	inv2 := fmt.Sprint(p.invite("erin@example.org", p.roleID("MEMBER")).ID)
	for _, rt := range append(routes, struct {
		method, path string
		form         url.Values
		perm         string
	}{"POST", "/staff/invitations/" + inv2 + "/revoke", url.Values{}, "staff.manage"}) {
		if rt.method != "POST" {
			continue
		}
		before := state()
		if r := mc.postRaw(rt.path, rt.form); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without token: %d", rt.path, r.StatusCode)
		}
		if after := state(); after != before {
			t.Errorf("POST %s without token changed something", rt.path)
		}
	}
}

func TestPersonPageExplainsAndOverrides(t *testing.T) {
	p := newPortal(t, true)
	billing := p.roleID("BILLING_STAFF")
	_, ben := p.person("ben@example.org", billing)
	c := p.client()
	c.login(adminEmail, adminPassword)
	page := fmt.Sprintf("/staff/%d", ben)
	why := func(key string) string {
		r := c.get(page)
		i := strings.Index(r.body, `data-testid="why-`+key+`" data-label="Why">`)
		if i < 0 {
			t.Fatalf("no reason for %s", key)
		}
		rest := r.body[i+len(`data-testid="why-`+key+`" data-label="Why">`):]
		return rest[:strings.Index(rest, "<")]
	}
	if got := why("billing.view"); got != "Granted by role Billing Staff in Northside Practice." {
		t.Fatalf("billing.view: %q", got)
	}
	if got := why("billing.manage"); got != "Granted by role Billing Staff in Northside Practice." {
		t.Fatalf("billing.manage: %q", got)
	}
	if got := why("scheduling.access"); got != "No role, override or default grants it." {
		t.Fatalf("scheduling.access: %q", got)
	}
	if got := why("patients.view"); got != "Always granted: every member holds it." {
		t.Fatalf("patients.view: %q", got)
	}
	// A deny override beats the role grant, and the reason says who set it.
	c.get(page)
	r := c.postForm(page+"/overrides", url.Values{"org": {"1"}, "perm": {"billing.manage"}, "effect": {"deny"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("deny override: %d %s", r.StatusCode, r.body)
	}
	if got := why("billing.manage"); got != "Denied by a user-level override in Northside Practice set by Ana Ruiz." {
		t.Fatalf("after deny: %q", got)
	}
	c.postForm(page+"/overrides", url.Values{"org": {"1"}, "perm": {"scheduling.access"}, "effect": {"allow"}})
	if got := why("scheduling.access"); got != "Allowed by a user-level override in Northside Practice set by Ana Ruiz." {
		t.Fatalf("after allow: %q", got)
	}
	c.postForm(page+"/overrides", url.Values{"org": {"1"}, "perm": {"billing.manage"}, "effect": {"inherit"}})
	if got := why("billing.manage"); got != "Granted by role Billing Staff in Northside Practice." {
		t.Fatalf("after inherit: %q", got)
	}
	// Bad input: 422, nothing written.
	before := p.count("user_overrides")
	for _, f := range []url.Values{
		{"org": {"1"}, "perm": {"billing.teleport"}, "effect": {"allow"}},
		{"org": {"1"}, "perm": {"billing.view"}, "effect": {"sometimes"}},
	} {
		if r := c.postForm(page+"/overrides", f); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%v: %d", f, r.StatusCode)
		}
	}
	if r := c.postForm(page+"/overrides", url.Values{"org": {"999"}, "perm": {"billing.view"}, "effect": {"deny"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown org: %d", r.StatusCode)
	}
	if p.count("user_overrides") != before {
		t.Fatal("bad input wrote an override")
	}
	// Move from Billing Staff to Staff in one step.
	staff := p.roleID("STAFF")
	r = c.postForm(page+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(staff)}, "replace": {fmt.Sprint(billing)}})
	if r.StatusCode != http.StatusSeeOther || p.holders(billing) != "[]" || p.holders(staff) != fmt.Sprintf("[%d]", ben) {
		t.Fatalf("change role: %d, billing %s, staff %s", r.StatusCode, p.holders(billing), p.holders(staff))
	}
	if got := why("billing.view"); got != "No role, override or default grants it." {
		t.Fatalf("after the move: %q", got)
	}
}

func TestDisableEndsEverySession(t *testing.T) {
	p := newPortal(t, true)
	laptop, ben := p.person("ben@example.org", p.roleID("STAFF"))
	phone := p.client()
	phone.login("ben@example.org", "a staff member password")
	c := p.client()
	c.login(adminEmail, adminPassword)
	page := fmt.Sprintf("/staff/%d", ben)
	c.get(page)
	if r := c.postForm(page+"/disable", url.Values{"org": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", r.StatusCode, r.body)
	}
	for name, cl := range map[string]*client{"laptop": laptop, "phone": phone} {
		if r := cl.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("%s still signed in after disable: %d", name, r.StatusCode)
		}
	}
	if r := p.client().login("ben@example.org", "a staff member password"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("disabled user signed in: %d", r.StatusCode)
	}
	if !strings.Contains(c.get(page).body, "The account is disabled") {
		t.Error("person page does not explain that a disabled account holds nothing")
	}
	c.postForm(page+"/enable", url.Values{"org": {"1"}})
	if r := p.client().login("ben@example.org", "a staff member password"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enabled user cannot sign in: %d", r.StatusCode)
	}
}

func TestStaffLockoutAndSelf(t *testing.T) {
	p := newPortal(t, true)
	lead := p.customRole("Practice Lead", "roles.manage", "staff.manage", "staff.view")
	lc, ana := p.person("lead@example.org", lead)
	page := fmt.Sprintf("/staff/%d", ana)
	lc.get(page)
	before := p.accessState() + p.checksum("SELECT group_concat(id || status) FROM users")
	for _, tc := range []struct {
		path string
		form url.Values
		want int
	}{
		{"/disable", url.Values{"org": {"1"}}, http.StatusUnprocessableEntity}, // self
		{"/remove", url.Values{"org": {"1"}}, http.StatusUnprocessableEntity},  // self
		{"/roles/remove", url.Values{"org": {"1"}, "role": {fmt.Sprint(lead)}}, http.StatusConflict},
		{"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(p.roleID("STAFF"))}, "replace": {fmt.Sprint(lead)}}, http.StatusUnprocessableEntity},
	} {
		if r := lc.postForm(page+tc.path, tc.form); r.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, r.StatusCode, tc.want)
		}
	}
	// The global admin, too, cannot demote the last lead.
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get(page)
	if r := admin.postForm(page+"/disable", url.Values{"org": {"1"}}); r.StatusCode != http.StatusConflict {
		t.Errorf("disable the last lead: %d", r.StatusCode)
	}
	if r := admin.postForm(page+"/remove", url.Values{"org": {"1"}}); r.StatusCode != http.StatusConflict {
		t.Errorf("remove the last lead: %d", r.StatusCode)
	}
	if after := p.accessState() + p.checksum("SELECT group_concat(id || status) FROM users"); after != before {
		t.Fatal("a refused change wrote something")
	}
}
