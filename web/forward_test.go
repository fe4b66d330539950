package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/store"
)

// trusted makes the test client (loopback) a trusted proxy.
func trusted(cfg *config.Config) { cfg.TrustedProxySetting("127.0.0.1,::1") }

// addApp protects a tool as the global admin would from the command line.
func (p *portal) addApp(name, host, prefix, perm string, public ...string) int64 {
	p.t.Helper()
	id, err := p.store.CreateApp(context.Background(), store.NewApp{Name: name, Host: host, PathPrefix: prefix, OrgID: 1, Permission: perm, PublicPaths: public, CreatedBy: 1})
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

// askNginx asks /auth/nginx as nginx's auth_request would, with extra headers.
func (c *client) askNginx(original string, hdr ...string) response {
	c.p.t.Helper()
	return c.get("/auth/nginx", append([]string{"X-Original-URL", original, "X-Original-Method", "GET"}, hdr...)...)
}

// askForward asks /auth/forward as Caddy or Traefik would.
func (c *client) askForward(proto, host, uri string, hdr ...string) response {
	c.p.t.Helper()
	return c.get("/auth/forward", append([]string{"X-Forwarded-Proto", proto, "X-Forwarded-Host", host, "X-Forwarded-Uri", uri, "X-Forwarded-Method", "GET"}, hdr...)...)
}

var identityHeaders = []string{"Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups", "Remote-Permissions"}

// Every case of PRODUCT.md §2.9 for both endpoints, against the real router.
func TestForwardAuthDecisions(t *testing.T) {
	p := newPortal(t, true, trusted)
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.contact", "/health")
	p.addApp("Wiki admin", "wiki.clinic.example", "/admin", "billing.manage")
	disabled := p.addApp("Old files", "files.clinic.example", "/", "patients.view")
	if err := p.store.SetAppEnabled(context.Background(), disabled, false, 1); err != nil {
		t.Fatal(err)
	}
	staff, staffID := p.personIn("María López", 1, p.roleID("STAFF")) // patients.contact, not billing.manage
	anon := p.client()

	t.Run("nginx without a session: 401 and Location to sign in with rd", func(t *testing.T) {
		r := anon.askNginx("https://wiki.clinic.example/page?x=1")
		want := p.srv.URL + "/login?rd=" + url.QueryEscape("https://wiki.clinic.example/page?x=1")
		if r.StatusCode != http.StatusUnauthorized || r.Header.Get("Location") != want {
			t.Fatalf("%d %q, want 401 %q", r.StatusCode, r.Header.Get("Location"), want)
		}
	})
	t.Run("forward without a session: a browser is redirected", func(t *testing.T) {
		r := anon.askForward("https", "wiki.clinic.example", "/page", "Accept", "text/html,application/xhtml+xml")
		if r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "/login?rd="+url.QueryEscape("https://wiki.clinic.example/page")) {
			t.Fatalf("%d %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
	t.Run("forward without a session: anything else gets 401", func(t *testing.T) {
		if r := anon.askForward("https", "wiki.clinic.example", "/page", "Accept", "application/json"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%d", r.StatusCode)
		}
	})
	t.Run("a public path needs no session; the identity headers are there, empty", func(t *testing.T) {
		r := anon.askNginx("https://wiki.clinic.example/health")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%d", r.StatusCode)
		}
		for _, h := range identityHeaders {
			if v, ok := r.Header[h]; !ok || len(v) != 1 || v[0] != "" {
				t.Errorf("%s: %q", h, v)
			}
		}
	})
	t.Run("with the permission: 200 and the five identity headers; client-sent ones are overwritten", func(t *testing.T) {
		for name, r := range map[string]response{
			"nginx":   staff.askNginx("https://wiki.clinic.example/page", "Remote-User", "1", "Remote-Permissions", "billing.manage"),
			"forward": staff.askForward("https", "wiki.clinic.example", "/page", "Remote-User", "1", "Remote-Groups", "ADMIN"),
		} {
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", name, r.StatusCode, r.body)
			}
			want := map[string]string{"Remote-User": itoa(staffID), "Remote-Email": "maría.lópez@example.org", "Remote-Name": "Mar%C3%ADa%20L%C3%B3pez",
				"Remote-Groups": "STAFF", "Remote-Permissions": "patients.view,patients.identifiers,patients.contact,scheduling.access"}
			for h, v := range want {
				if got := r.Header.Values(h); len(got) != 1 || got[0] != v {
					t.Errorf("%s %s = %q, want %q", name, h, got, v)
				}
			}
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("%s: a decision may be cached: Cache-Control %q", name, got)
			}
		}
	})
	t.Run("without the permission: 403, a problem for scripts", func(t *testing.T) {
		r := staff.askNginx("https://wiki.clinic.example/admin/x")
		if r.StatusCode != http.StatusForbidden || r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("Remote-User") != "" {
			t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.body)
		}
		var pr struct {
			Status int
			Detail string
		}
		if err := json.Unmarshal([]byte(r.body), &pr); err != nil || pr.Status != 403 ||
			!strings.Contains(pr.Detail, "billing.manage in Northside Practice") || !strings.Contains(pr.Detail, "Ana Ruiz") {
			t.Fatalf("problem %s", r.body)
		}
		if h := r.Header; h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" {
			t.Errorf("the problem's headers: nosniff %q, CSP %q", h.Get("X-Content-Type-Options"), h.Get("Content-Security-Policy"))
		}
	})
	t.Run("without the permission: a browser gets the refusal page", func(t *testing.T) {
		r := staff.askForward("https", "wiki.clinic.example", "/admin", "Accept", "text/html")
		if r.StatusCode != http.StatusForbidden || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%d %s", r.StatusCode, r.Header.Get("Content-Type"))
		}
		for id, want := range map[string]string{"refusal-app": "Wiki admin", "refusal-permission": "Manage billing", "refusal-permission-key": "billing.manage",
			"refusal-org": "Northside Practice", "refusal-reason": "No role, override or default grants it.", "refusal-grantor": "Ana Ruiz"} {
			if got := byTestid(t, r.body, id); !strings.Contains(got, want) {
				t.Errorf("%s: %q, want %q", id, got, want)
			}
		}
		// A page a browser shows: every page header, though /auth/ answers start lean.
		checkHeaders(t, "refusal page", r.Header)
		if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("refusal page: X-Frame-Options %q, Cache-Control %q", r.Header.Get("X-Frame-Options"), r.Header.Get("Cache-Control"))
		}
	})
	t.Run("path-prefix rules: the longest prefix decides", func(t *testing.T) {
		if r := staff.askNginx("https://wiki.clinic.example/administrator"); r.StatusCode != http.StatusOK {
			t.Errorf("/administrator is not under /admin: %d", r.StatusCode)
		}
		if r := staff.askNginx("https://wiki.clinic.example/health/../admin"); r.StatusCode != http.StatusForbidden {
			t.Errorf("dot segments out of a public path: %d", r.StatusCode)
		}
		if r := staff.askNginx("https://wiki.clinic.example/%61dmin"); r.StatusCode != http.StatusForbidden {
			t.Errorf("an encoded /admin: %d", r.StatusCode)
		}
	})
	t.Run("unknown host, as a browser sees it: a page with the page headers", func(t *testing.T) {
		r := staff.askForward("https", "evil.example", "/", "Accept", "text/html")
		if r.StatusCode != http.StatusForbidden || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%d %s", r.StatusCode, r.Header.Get("Content-Type"))
		}
		checkHeaders(t, "closed page", r.Header)
	})
	t.Run("unknown host and disabled app: 403 for everyone, signed in or not", func(t *testing.T) {
		for _, c := range []*client{anon, staff} {
			for _, u := range []string{"https://evil.example/", "https://files.clinic.example/a"} {
				if r := c.askNginx(u); r.StatusCode != http.StatusForbidden {
					t.Errorf("%s: %d", u, r.StatusCode)
				}
			}
		}
	})
	t.Run("bad or missing headers: 400", func(t *testing.T) {
		if r := staff.get("/auth/nginx"); r.StatusCode != http.StatusBadRequest {
			t.Errorf("no X-Original-URL: %d", r.StatusCode)
		}
		if r := staff.askForward("https", "wiki.clinic.example, evil.example", "/"); r.StatusCode != http.StatusBadRequest {
			t.Errorf("two hosts: %d", r.StatusCode)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Sign-out, disabling and removing the role each refuse the very next decision.
func TestForwardAuthFollowsAccessChanges(t *testing.T) {
	p := newPortal(t, true, trusted)
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.contact")
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	ask := func(c *client) int { return c.askNginx("https://wiki.clinic.example/").StatusCode }

	out, _ := p.personIn("Ben Out", 1, p.roleID("STAFF"))
	if ask(out) != http.StatusOK {
		t.Fatal("not allowed to begin with")
	}
	out.postForm("/logout", url.Values{})
	if got := ask(out); got != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d", got)
	}

	dis, disID := p.personIn("Cleo Disabled", 1, p.roleID("STAFF"))
	admin.get("/staff/" + itoa(disID))
	if r := admin.postForm("/staff/"+itoa(disID)+"/disable", url.Values{"org": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.StatusCode)
	}
	if got := ask(dis); got != http.StatusUnauthorized {
		t.Errorf("after disabling: %d", got)
	}

	role, roleUser := p.personIn("Dan Role", 1, p.roleID("STAFF"))
	if err := p.store.SetRoleHolders(context.Background(), p.roleID("STAFF"), 1, nil, []int64{roleUser}, 1); err != nil {
		t.Fatal(err)
	}
	if got := ask(role); got != http.StatusForbidden {
		t.Errorf("after removing the role: %d", got)
	}
}

// The identity headers are remembered per person and application; a role given or a name
// changed shows in the very next decision's headers.
func TestForwardAuthIdentityFollowsChanges(t *testing.T) {
	p := newPortal(t, true, trusted)
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.contact")
	c, id := p.personIn("Dan Role", 1, p.roleID("STAFF"))
	ask := func() http.Header {
		t.Helper()
		r := c.askNginx("https://wiki.clinic.example/")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%d", r.StatusCode)
		}
		return r.Header
	}
	if h := ask(); h.Get("Remote-Groups") != "STAFF" || h.Get("Remote-Name") != "Dan%20Role" {
		t.Fatalf("to begin with: %q %q", h.Get("Remote-Groups"), h.Get("Remote-Name"))
	}
	ask() // remembered now
	if err := p.store.SetRoleHolders(context.Background(), p.roleID("NURSE"), 1, []int64{id}, nil, 1); err != nil {
		t.Fatal(err)
	}
	if h := ask(); h.Get("Remote-Groups") != "NURSE,STAFF" {
		t.Errorf("after a role was given: %q", h.Get("Remote-Groups"))
	}
	if err := p.store.SetName(context.Background(), id, "Dan Rôle-Ibáñez"); err != nil {
		t.Fatal(err)
	}
	if h := ask(); h.Get("Remote-Name") != "Dan%20R%C3%B4le-Ib%C3%A1%C3%B1ez" {
		t.Errorf("after a rename: %q", h.Get("Remote-Name"))
	}
}

// Forwarded headers are believed only from --trusted-proxy: anyone else gets 403 (the
// question may be well formed, but not from this peer), whatever the session.
func TestForwardAuthUntrustedPeer(t *testing.T) {
	p := newPortal(t, true) // no trusted proxy
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.view")
	c := p.client()
	c.login(adminEmail, adminPassword)
	for _, r := range []response{c.askNginx("https://wiki.clinic.example/"), c.askForward("https", "wiki.clinic.example", "/")} {
		if r.StatusCode != http.StatusForbidden || r.Header.Get("Remote-User") != "" || !strings.Contains(r.body, "--trusted-proxy") {
			t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Remote-User"), r.body)
		}
	}
}

// A decision writes nothing (beyond the coalesced session touch); a denial is audited once
// per person, application and permission in ten minutes, and a rule added by another
// process (the command line) applies on the next request.
func TestForwardAuthHotPathAndDenialDedupe(t *testing.T) {
	p := newPortal(t, true, trusted)
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.contact")
	p.addApp("Billing", "billing.clinic.example", "/", "billing.manage")
	staff, _ := p.personIn("Eve Staff", 1, p.roleID("STAFF"))
	staff.askNginx("https://wiki.clinic.example/")
	changes := func() string {
		return p.checksum("SELECT (SELECT count(*) FROM audit_log) || '/' || (SELECT access || ',' || tokens || ',' || apps || ',' || sessions || ',' || settings FROM versions) || '/' || (SELECT group_concat(last_seen_at) FROM sessions)")
	}
	before := changes()
	for range 20 {
		if r := staff.askNginx("https://wiki.clinic.example/x"); r.StatusCode != http.StatusOK {
			t.Fatalf("%d", r.StatusCode)
		}
	}
	if after := changes(); after != before {
		t.Errorf("allowed decisions wrote to the database: %s → %s", before, after)
	}
	denied := func() int { return p.count("audit_log WHERE action = 'access.denied' AND target_type = 'app'") }
	for range 5 {
		if r := staff.askNginx("https://billing.clinic.example/"); r.StatusCode != http.StatusForbidden {
			t.Fatalf("%d", r.StatusCode)
		}
	}
	if n := denied(); n != 1 {
		t.Fatalf("%d denial entries for five refusals, want 1", n)
	}
	// Another application, same person: its own entry.
	p.addApp("Billing admin", "billing.clinic.example", "/admin", "orgs.manage")
	staff.askNginx("https://billing.clinic.example/admin")
	if n := denied(); n != 2 {
		t.Fatalf("%d denial entries, want 2 (the new rule applied at once)", n)
	}
}

// The Protected applications section of /integrations: add (422 with the problem beside the
// field), disable, enable, remove; only with integrations.manage; every change audited.
func TestIntegrationsApps(t *testing.T) {
	p := newPortal(t, true, trusted)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/integrations")
	form := url.Values{"name": {"Wiki"}, "host": {"wiki.clinic.example"}, "path": {"/docs/../x"}, "org": {"1"}, "permission": {"billing.view"}, "public": {"/elsewhere"}}
	r := admin.postForm("/integrations/apps", form)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "may not contain . or ..") || p.count("protected_apps") != 0 {
		t.Fatalf("bad path: %d", r.StatusCode)
	}
	form.Set("path", "/docs/")
	if r := admin.postForm("/integrations/apps", form); r.StatusCode != http.StatusUnprocessableEntity || byTestid(t, r.body, "problem-public") == "" {
		t.Fatalf("public outside the prefix: %d", r.StatusCode)
	}
	form.Set("public", "/docs/health")
	if r := admin.postForm("/integrations/apps", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d %s", r.StatusCode, r.body)
	}
	page := admin.get("/integrations")
	if !strings.Contains(page.body, "wiki.clinic.example/docs") || !strings.Contains(page.body, "/docs/health") || !strings.Contains(page.body, "data-confirm=") {
		t.Fatal("the list does not show the application")
	}
	if got := admin.askNginx("https://wiki.clinic.example/docs/page").StatusCode; got != http.StatusOK {
		t.Fatalf("added rule not applied: %d", got)
	}
	admin.postForm("/integrations/apps/1/disable", url.Values{})
	if got := admin.askNginx("https://wiki.clinic.example/docs/page").StatusCode; got != http.StatusForbidden {
		t.Fatalf("disabled app: %d", got)
	}
	admin.postForm("/integrations/apps/1/enable", url.Values{})
	staff, _ := p.personIn("Fay Staff", 1, p.roleID("STAFF"))
	if r := staff.postForm("/integrations/apps/1/remove", url.Values{}); r.StatusCode != http.StatusForbidden || p.count("protected_apps") != 1 {
		t.Fatalf("without integrations.manage: %d", r.StatusCode)
	}
	if r := admin.postForm("/integrations/apps/1/remove", url.Values{}); r.StatusCode != http.StatusSeeOther || p.count("protected_apps") != 0 {
		t.Fatalf("remove: %d", r.StatusCode)
	}
	if got := admin.askNginx("https://wiki.clinic.example/docs/page").StatusCode; got != http.StatusForbidden {
		t.Fatalf("removed app still answers: %d", got)
	}
	if n := p.count("audit_log WHERE action IN ('app.create', 'app.update', 'app.remove')"); n != 4 {
		t.Fatalf("%d audit entries, want 4", n)
	}
}

// Editing a protected application: the form shows what it holds; saving changes the rule
// from the next decision, audited with what it was and is; a host and prefix another
// application has is a problem beside the field; only with integrations.manage in the
// organisation it is in and in the one it moves to; never without the CSRF token.
func TestIntegrationsAppEdit(t *testing.T) {
	p := newPortal(t, true, trusted)
	east := p.org("Eastside Clinic", 0)
	wiki := p.addApp("Wiki", "wiki.clinic.example", "/", "patients.contact", "/health")
	p.addApp("Reports", "reports.clinic.example", "/", "billing.view")
	eastApp, err := p.store.CreateApp(context.Background(), store.NewApp{Name: "East files", Host: "files.east.example", PathPrefix: "/", OrgID: east,
		Permission: "patients.contact", CreatedBy: 1})
	if err != nil {
		t.Fatal(err)
	}
	desk := p.customRole("Front Desk Integrations", "staff.view", "integrations.manage", "patients.contact")
	lead, _ := p.personIn("Dana Lead", 1, desk)
	nurse, _ := p.personIn("Nurse Ama", 1, p.roleID("NURSE"))
	edit := fmt.Sprintf("/integrations/apps/%d", wiki)

	page := lead.get(edit + "/edit")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, `value="wiki.clinic.example"`) || !strings.Contains(page.body, "/health</textarea>") {
		t.Fatalf("edit page: %d", page.StatusCode)
	}
	form := url.Values{"name": {"Clinic wiki"}, "host": {"wiki.clinic.example"}, "path": {"/"}, "org": {"1"}, "permission": {"billing.view"}, "public": {""}}
	state := func() string {
		return p.checksum("SELECT group_concat(id || name || host || path_prefix || org_id || permission || updated_at, char(10)) FROM protected_apps") + p.checksum("SELECT count(*) || group_concat(path_prefix) FROM protected_app_public_paths")
	}
	before := state()
	// Without the permission, without the token, into or out of an organisation one does
	// not manage: refused, and nothing changed.
	for name, r := range map[string]response{
		"nurse page":          nurse.get(edit + "/edit"),
		"nurse save":          nurse.postForm(edit, form),
		"no CSRF token":       lead.postRaw(edit, form),
		"into Eastside":       lead.postForm(edit, with(form, "org", fmt.Sprint(east))),
		"Eastside's app page": lead.get(fmt.Sprintf("/integrations/apps/%d/edit", eastApp)),
		"Eastside's app save": lead.postForm(fmt.Sprintf("/integrations/apps/%d", eastApp), form),
	} {
		if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 403 or 404", name, r.StatusCode)
		}
	}
	if state() != before {
		t.Fatal("a refused edit changed an application")
	}
	// Another application's address is a problem beside the path.
	if r := lead.postForm(edit, with(form, "host", "REPORTS.clinic.example")); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Another application already has this host and path prefix") || !strings.Contains(r.body, `value="REPORTS.clinic.example"`) {
		t.Fatalf("clash: %d", r.StatusCode)
	}
	since := p.lastAuditID()
	if got := nurse.askNginx("https://wiki.clinic.example/page").StatusCode; got != http.StatusOK {
		t.Fatalf("before the edit the nurse gets in: %d", got)
	}
	if r := lead.postForm(edit, form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.StatusCode, r.body)
	}
	if got := nurse.askNginx("https://wiki.clinic.example/page").StatusCode; got != http.StatusForbidden {
		t.Fatalf("after the edit (billing.view) the nurse still gets in: %d", got)
	}
	if got := nurse.askNginx("https://wiki.clinic.example/health").StatusCode; got != http.StatusForbidden {
		t.Fatalf("the public path was removed, yet /health is open: %d", got)
	}
	var entry *audit.Entry
	for _, e := range p.entriesSince(since) {
		if e.Action == audit.AppUpdated {
			entry = &e
		}
	}
	if entry == nil || entry.TargetName != "Clinic wiki" || !strings.Contains(string(entry.Before), "patients.contact") || !strings.Contains(string(entry.After), "billing.view") {
		t.Fatalf("audit entry: %+v", entry)
	}
	// Saving the same again writes nothing.
	n := p.count("audit_log")
	lead.postForm(edit, form)
	if p.count("audit_log") != n {
		t.Error("saving an unchanged application wrote to the audit log")
	}
}
