package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
)

// accessWorld is a group practice for Who can… and the access report: Northside Practice
// (org 1) above Eastside Clinic and Westside Clinic, with every reason a person can hold
// patients.export for, and an Eastside manager whose visibility stops at Eastside.
type accessWorld struct {
	p                    *portal
	east, west           int64
	exporter             int64 // a role of Northside granting patients.export
	people               map[string]int64
	global, eastMgr, mem *client
}

func newAccessWorld(t *testing.T) *accessWorld {
	p := newPortal(t, true)
	ctx := context.Background()
	w := &accessWorld{p: p, people: map[string]int64{}}
	w.east, w.west = p.org("Eastside Clinic", 1), p.org("Westside Clinic", 1)
	w.exporter = p.customRole("Exporter", "patients.export")
	hash, _ := auth.HashPassword(ctx, "a staff member password")
	add := func(key, name string, org int64) int64 {
		ids, err := p.store.AddStaff(ctx, []store.NewStaff{{Email: key + "@example.org", Name: name, PasswordHash: hash, OrgID: org}})
		if err != nil {
			t.Fatal(err)
		}
		w.people[key] = ids[0]
		return ids[0]
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A role given in Eastside itself.
	must(p.store.AssignRole(ctx, add("erin", "Erin Eastwood", w.east), w.exporter, w.east, 0, 1))
	// Staff of Eastside holding the role from Northside: an inherited grant.
	must(p.store.AssignRole(ctx, add("ines", "Inés Inherited", w.east), w.exporter, 1, 0, 1))
	// An override in Eastside.
	must(p.store.SetOverride(ctx, add("oscar", "Oscar Override", w.east), w.east, "patients.export", "allow", 1))
	// Typed text that a spreadsheet would run.
	must(p.store.AssignRole(ctx, add("formula", "=HYPERLINK(\"http://evil.example\",\"x\")", w.east), w.exporter, w.east, 0, 1))
	// Westside's staff: never shown to Eastside's manager.
	must(p.store.AssignRole(ctx, add("wes", "Wes Westerly", w.west), w.exporter, w.west, 0, 1))
	add("dana", "Dana Default", w.east)
	must(p.store.SetOrgDefaults(ctx, w.east, map[string]string{"billing.view": "allow"}))
	mgr := p.customRole("Clinic Manager", "staff.view", "staff.manage", "integrations.manage")
	w.eastMgr, w.people["mia"] = p.personIn("Mia Manager", w.east, mgr)
	w.mem, w.people["nobody"] = p.personIn("Nora Nobody", w.east, p.roleID("MEMBER"))
	w.global = p.client()
	w.global.login(adminEmail, adminPassword)
	return w
}

// whoRows reads the Who can… table: name → reason.
func whoRows(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	doc(t, body).Find(`[data-testid=who-row]`).Each(func(_ int, s *goquery.Selection) {
		out[strings.TrimSpace(s.Find(`[data-testid=who-name]`).Text())] = strings.Join(strings.Fields(s.Find(`[data-testid=who-reason]`).Text()), " ")
	})
	return out
}

func TestAccessRoutesByPermission(t *testing.T) {
	p := newPortal(t, true)
	viewer := p.customRole("Staff Viewer", "staff.view")
	editor := p.customRole("Role Editor", "roles.manage")
	vc, _ := p.person("viewer@example.org", viewer)
	ec, _ := p.person("editor@example.org", editor)
	nc, _ := p.person("nobody@example.org", p.roleID("MEMBER"))
	routes := []struct{ path, perm string }{
		{"/access/who?org=1", "staff.view"},
		{"/access/who?org=1&permission=patients.export", "staff.view"},
		{"/access/who.csv?org=1&permission=patients.export", "staff.view"},
		{"/access/report?org=1", "staff.view"},
		{"/access/report", "staff.view"},
	}
	holds := map[string]map[string]bool{"nobody": {}, "editor": {"roles.manage": true}, "viewer": {"staff.view": true}}
	clients := map[string]*client{"nobody": nc, "editor": ec, "viewer": vc}
	for _, who := range []string{"nobody", "editor", "viewer"} {
		for _, rt := range routes {
			t.Run(who+" "+rt.path, func(t *testing.T) {
				before := p.accessState()
				r := clients[who].get(rt.path)
				if p.accessState() != before {
					t.Fatal("a GET changed access")
				}
				want := http.StatusOK
				if !holds[who][rt.perm] {
					want = http.StatusForbidden
				}
				if r.StatusCode != want {
					t.Fatalf("status %d, want %d", r.StatusCode, want)
				}
				if want == http.StatusForbidden && !strings.Contains(r.body, "View staff in organisation") {
					t.Errorf("the refusal does not name the permission: %s", r.body)
				}
			})
		}
	}
}

// Someone managing Eastside asks about Westside or the practice above: refused, and none of
// their people named.
func TestAccessOtherOrganisationsRefused(t *testing.T) {
	w := newAccessWorld(t)
	for _, path := range []string{
		fmt.Sprintf("/access/who?org=%d&permission=patients.export", w.west),
		fmt.Sprintf("/access/who.csv?org=%d&permission=patients.export", w.west),
		fmt.Sprintf("/access/report?org=%d", w.west),
		"/access/who?org=1&permission=patients.export",
		"/access/who.csv?org=1&permission=patients.export",
		"/access/report?org=1",
	} {
		r := w.eastMgr.get(path)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", path, r.StatusCode)
		}
		for _, name := range []string{"Wes Westerly", "wes@example.org", "Erin Eastwood", "Ana Ruiz"} {
			if strings.Contains(r.body, name) && name != "Ana Ruiz" {
				t.Errorf("%s: the refusal names %s", path, name)
			}
		}
	}
}

func TestWhoCanBadInput(t *testing.T) {
	w := newAccessWorld(t)
	east := fmt.Sprint(w.east)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/access/who?org=" + east + "&permission=patients.teleport", http.StatusUnprocessableEntity},
		{"/access/who?org=" + east + "&permission=%3Cscript%3E", http.StatusUnprocessableEntity},
		{"/access/who.csv?org=" + east + "&permission=patients.teleport", http.StatusUnprocessableEntity},
		{"/access/who.csv?org=" + east, http.StatusUnprocessableEntity},
		{"/access/who?org=abc&permission=patients.export", http.StatusNotFound},
		{"/access/who?org=99999&permission=patients.export", http.StatusNotFound},
		{"/access/report?org=-3", http.StatusNotFound},
		{"/access/report?org=99999", http.StatusNotFound},
		{"/access/who?org=" + east + "&permission=patients.export&kind=nonsense", http.StatusOK},
		{"/access/who?org=" + east, http.StatusOK},
	} {
		r := w.eastMgr.get(tc.path)
		if r.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, r.StatusCode, tc.want)
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "goroutine") {
			t.Errorf("%s: the page echoes markup or a stack", tc.path)
		}
	}
	r := w.eastMgr.get("/access/who?org=" + east + "&permission=patients.teleport")
	if got := byTestid(t, r.body, "who-problem"); !strings.Contains(got, "no such permission") {
		t.Errorf("the problem beside the picker: %q", got)
	}
}

// Each reason says why in plain words: a role given here, a grant inherited from the
// organisation above, an override, a default, a global admin.
func TestWhoCanReasons(t *testing.T) {
	w := newAccessWorld(t)
	east := fmt.Sprint(w.east)
	r := w.global.get("/access/who?org=" + east + "&permission=patients.export")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	rows := whoRows(t, r.body)
	want := map[string]string{
		"Erin Eastwood":  "Role Granted by role Exporter in Eastside Clinic.",
		"Inés Inherited": "Role Granted by role Exporter in Northside Practice (applies here from Northside Practice).",
		"Oscar Override": "Override Allowed by a user-level override in Eastside Clinic set by Ana Ruiz.",
		"Ana Ruiz":       "Global admin Global admin: holds every permission everywhere.",
	}
	for name, reason := range want {
		if rows[name] != reason {
			t.Errorf("%s: %q, want %q", name, rows[name], reason)
		}
	}
	for _, name := range []string{"Wes Westerly", "Dana Default", "Nora Nobody"} {
		if _, ok := rows[name]; ok {
			t.Errorf("%s is listed but does not hold it in Eastside", name)
		}
	}
	if got := byTestid(t, r.body, "who-summary"); !strings.HasPrefix(got, "") || !strings.Contains(r.body, "5 people can Export patient data in Eastside Clinic") {
		t.Errorf("summary: %s", got)
	}
	// A default.
	r = w.global.get("/access/who?org=" + east + "&permission=billing.view&kind=org_default")
	rows = whoRows(t, r.body)
	if rows["Dana Default"] != "Organisation default Allowed by the default of Eastside Clinic." {
		t.Errorf("Dana: %q", rows["Dana Default"])
	}
	if _, ok := rows["Ana Ruiz"]; ok {
		t.Error("the default filter lists a global admin")
	}
	// The filters: by reason kind, by name or email.
	for _, tc := range []struct {
		query string
		names []string
	}{
		{"&kind=override", []string{"Oscar Override"}},
		{"&kind=global_admin", []string{"Ana Ruiz"}},
		{"&q=ERIN", []string{"Erin Eastwood"}},
		{"&q=oscar%40example", []string{"Oscar Override"}},
		{"&q=nobody-matches", nil},
	} {
		rows := whoRows(t, w.global.get("/access/who?org="+east+"&permission=patients.export"+tc.query).body)
		if len(rows) != len(tc.names) {
			t.Errorf("%s: %v, want %v", tc.query, rows, tc.names)
		}
		for _, n := range tc.names {
			if _, ok := rows[n]; !ok {
				t.Errorf("%s: %s missing from %v", tc.query, n, rows)
			}
		}
	}
}

// The visibility rule: Eastside's manager (visibility limited to Eastside) is not shown the
// global admin, who is staff of Northside only; the page and the CSV agree, and the API's
// holders name the same people for the same person.
func TestWhoCanVisibility(t *testing.T) {
	w := newAccessWorld(t)
	east := fmt.Sprint(w.east)
	r := w.eastMgr.get("/access/who?org=" + east + "&permission=patients.export")
	rows := whoRows(t, r.body)
	if _, ok := rows["Ana Ruiz"]; ok || strings.Contains(r.body, adminEmail) {
		t.Error("the global admin, outside the manager's visibility, is listed")
	}
	if len(rows) != 4 {
		t.Errorf("rows %v, want Erin, Inés, Oscar and the formula", rows)
	}
	// Permission details' count, which links here, counts the same people.
	details := w.eastMgr.get("/permissions?org=" + east).body
	if !strings.Contains(details, `data-testid="who-patients.export">4<`) {
		t.Error("Permission details counts people for Export patient data whom Who can… does not list")
	}
	csvBody := w.eastMgr.get("/access/who.csv?org=" + east + "&permission=patients.export").body
	if strings.Contains(csvBody, adminEmail) {
		t.Error("the CSV lists the global admin")
	}
	tok := w.p.token(w.people["mia"], w.east, "read")
	api := w.p.api(tok, "GET", "/api/v1/permissions/patients.export/holders?org="+east, "")
	if api.status != http.StatusOK || strings.Contains(api.body, `"name":"Ana Ruiz"`) || !strings.Contains(api.body, "Oscar Override") {
		t.Errorf("API holders for the manager: %d %s", api.status, api.body)
	}
	// With the limit off, Eastside's manager sees everyone, the global admin too.
	db := w.p.rawDBWrite()
	if _, err := db.Exec("UPDATE organisations SET limit_visibility = 0 WHERE id = ?", w.east); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := w.p.app.Access.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rows := whoRows(t, w.eastMgr.get("/access/who?org="+east+"&permission=patients.export").body); rows["Ana Ruiz"] == "" {
		t.Errorf("with visibility unlimited the global admin is missing: %v", rows)
	}
}

func TestWhoCanCSV(t *testing.T) {
	w := newAccessWorld(t)
	r := w.global.get(fmt.Sprintf("/access/who.csv?org=%d&permission=patients.export&kind=role", w.east))
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("status %d, type %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Error("not a download")
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], "|"); got != "name|email|organisation|reason kind|reason" {
		t.Errorf("header %s", got)
	}
	byName := map[string][]string{}
	for _, rec := range recs[1:] {
		byName[rec[0]] = rec
	}
	if len(recs) != 4 {
		t.Errorf("%d rows, want the 3 holders through a role: %v", len(recs)-1, recs)
	}
	if got := byName["Inés Inherited"]; len(got) != 5 || got[1] != "ines@example.org" || got[2] != "Northside Practice, Eastside Clinic" || got[3] != "role" ||
		got[4] != "Granted by role Exporter in Northside Practice (applies here from Northside Practice)." {
		t.Errorf("Inés: %q", got)
	}
	if _, ok := byName[`'=HYPERLINK("http://evil.example","x")`]; !ok {
		t.Errorf("the formula is not defused: %v", recs)
	}
	for _, rec := range recs[1:] {
		for _, f := range rec {
			if f != "" && strings.ContainsRune("=+-@", rune(f[0])) {
				t.Errorf("a field a spreadsheet would run: %q", f)
			}
		}
	}
}

// The access report: every role given in the organisation and below with its permissions and
// members, the overrides, the defaults, and a summary; limited to what the viewer may see.
func TestAccessReport(t *testing.T) {
	w := newAccessWorld(t)
	r := w.global.get("/access/report?org=1")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	d := doc(t, r.body)
	text := strings.Join(strings.Fields(d.Find(`[data-testid=access-report]`).Text()), " ")
	for _, want := range []string{"Access report: Northside Practice", "Generated", "by Ana Ruiz", "Northside Practice › Eastside Clinic",
		"Northside Practice › Westside Clinic", "Exporter", "Export patient data", "Erin Eastwood", "Inés Inherited", "Wes Westerly",
		"Oscar Override", "Allowed", "View billing", "Reviewed by", "Signature"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if n := d.Find(`[data-testid=report-section]`).Length(); n != 3 {
		t.Errorf("%d organisations, want 3", n)
	}
	if !strings.Contains(r.body, "/static/report.css") || !strings.Contains(r.body, `data-print hidden`) {
		t.Error("the report does not load its print stylesheet, or shows a Print button that needs JavaScript")
	}
	// Eastside's manager: Eastside only, and not the people above it.
	r = w.eastMgr.get(fmt.Sprintf("/access/report?org=%d", w.east))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("manager: status %d", r.StatusCode)
	}
	text = strings.Join(strings.Fields(doc(t, r.body).Find(`[data-testid=access-report]`).Text()), " ")
	for _, absent := range []string{"Wes Westerly", "Inés Inherited", "Westside"} {
		if strings.Contains(text, absent) {
			t.Errorf("the manager's report names %q", absent)
		}
	}
	for _, present := range []string{"Erin Eastwood", "Oscar Override", "Mia Manager", "Clinic Manager"} {
		if !strings.Contains(text, present) {
			t.Errorf("the manager's report lacks %q", present)
		}
	}
	if !strings.Contains(r.body, `=HYPERLINK(&#34;http://evil.example&#34;`) && !strings.Contains(r.body, `=HYPERLINK(&quot;`) {
		t.Error("typed text is not escaped as text")
	}
}

// Permission details link each permission's people to Who can…, the person page each
// permission, the organisation page and the grid the report, for those who may open them.
func TestWhoCanLinks(t *testing.T) {
	w := newAccessWorld(t)
	east := fmt.Sprint(w.east)
	r := w.eastMgr.get("/permissions?org=" + east)
	link, ok := doc(t, r.body).Find(`[data-testid="who-patients.export"]`).Attr("href")
	want := "/access/who?" + url.Values{"org": {east}, "permission": {"patients.export"}}.Encode()
	if !ok || link != want {
		t.Errorf("details link %q, want %q", link, want)
	}
	r = w.eastMgr.get(fmt.Sprintf("/staff/%d?org=%s", w.people["erin"], east))
	if link, ok := doc(t, r.body).Find(`[data-testid="who-else-patients.export"]`).Attr("href"); !ok || !strings.HasPrefix(link, "/access/who?") {
		t.Errorf("person page link %q", link)
	}
	if link, ok := doc(t, w.global.get("/orgs/"+east).body).Find(`[data-testid=org-report-link]`).Attr("href"); !ok || link != "/access/report?org="+east {
		t.Errorf("organisation page report link %q", link)
	}
	if link, ok := doc(t, w.global.get("/roles/grid?org="+east).body).Find(`[data-testid=access-report-link]`).Attr("href"); !ok || link != "/access/report?org="+east {
		t.Errorf("grid report link %q", link)
	}
	editor := w.p.customRole("Role Editor", "roles.manage")
	ec, _ := w.p.person("editor@example.org", editor)
	if n := doc(t, ec.get("/permissions?org=1").body).Find(`[data-testid^="who-"]`).Length(); n != 0 {
		t.Errorf("someone who may not see staff gets %d Who can… links", n)
	}
}
