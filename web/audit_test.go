package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
)

// lastEntries returns the entries written after id since, oldest first.
func (p *portal) entriesSince(since int64) []audit.Entry {
	p.t.Helper()
	var out []audit.Entry
	if err := p.store.EachAudit(context.Background(), store.AuditQuery{}, func(e audit.Entry) error {
		if e.ID > since {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		p.t.Fatal(err)
	}
	return out
}

func (p *portal) lastAuditID() int64 {
	p.t.Helper()
	rows, err := p.store.ListAudit(context.Background(), store.AuditQuery{Limit: 1})
	if err != nil {
		p.t.Fatal(err)
	}
	if len(rows) == 0 {
		return 0
	}
	return rows[0].ID
}

// Each kind of change writes exactly one entry, with the right action, actor, target and
// before/after; a refused or rolled-back change writes none.
func TestAuditEntryPerChange(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	_, ben := p.person("ben@example.org", p.roleID("MEMBER"))
	member, staffRole := p.roleID("MEMBER"), p.roleID("STAFF")
	var roleID int64
	steps := []struct {
		name   string
		do     func() response
		action string
		check  func(e audit.Entry) string
	}{
		{"create role", func() response {
			admin.get("/roles/new")
			return admin.postForm("/roles", url.Values{"org": {"1"}, "name": {"Locum"}, "status": {"active"}, "permissions": {"scheduling.access"}})
		}, audit.RoleCreated, func(e audit.Entry) string {
			roleID = e.TargetID
			if e.TargetName != "Locum" || e.Before != nil || !strings.Contains(string(e.After), `"permissions":["patients.view","scheduling.access"]`) {
				return string(e.After)
			}
			return ""
		}},
		{"edit role", func() response {
			return admin.postConfirmed(fmt.Sprintf("/roles/%d", roleID), url.Values{"name": {"Locum GP"}, "status": {"active"}, "version": {"1"},
				"permissions": {"scheduling.access", "billing.view"}})
		}, audit.RoleUpdated, func(e audit.Entry) string {
			if !strings.Contains(string(e.Before), `"name":"Locum"`) || !strings.Contains(string(e.After), `"name":"Locum GP"`) ||
				!strings.Contains(string(e.After), "billing.view") || strings.Contains(string(e.Before), "billing.view") {
				return string(e.Before) + " → " + string(e.After)
			}
			return ""
		}},
		{"assign role", func() response {
			return admin.postForm(fmt.Sprintf("/staff/%d/roles", ben), url.Values{"org": {"1"}, "role": {fmt.Sprint(staffRole)}})
		}, audit.AssignmentAdded, func(e audit.Entry) string {
			if e.TargetID != ben || !strings.Contains(string(e.After), `"role":"Staff"`) {
				return string(e.After)
			}
			return ""
		}},
		{"remove role", func() response {
			return admin.postForm(fmt.Sprintf("/staff/%d/roles/remove", ben), url.Values{"org": {"1"}, "role": {fmt.Sprint(member)}})
		}, audit.AssignmentRemoved, func(e audit.Entry) string {
			if !strings.Contains(string(e.Before), `"role":"Member"`) || e.After != nil {
				return string(e.Before)
			}
			return ""
		}},
		{"override", func() response {
			return admin.postForm(fmt.Sprintf("/staff/%d/overrides", ben), url.Values{"org": {"1"}, "perm": {"billing.view"}, "effect": {"deny"}})
		}, audit.OverrideSet, func(e audit.Entry) string {
			if string(e.Before) != `{"billing.view":"inherit"}` || string(e.After) != `{"billing.view":"deny"}` {
				return string(e.Before) + " → " + string(e.After)
			}
			return ""
		}},
		{"disable", func() response {
			return admin.postForm(fmt.Sprintf("/staff/%d/disable", ben), url.Values{"org": {"1"}})
		}, audit.StaffDisabled, func(e audit.Entry) string {
			if string(e.After) != `{"status":"disabled"}` {
				return string(e.After)
			}
			return ""
		}},
		{"invite", func() response {
			return admin.postForm("/staff/invitations", url.Values{"email": {"cy@example.org"}, "name": {"Cy"}, "org": {"1"}, "role": {fmt.Sprint(member)}})
		}, audit.InvitationCreated, func(e audit.Entry) string {
			if !strings.Contains(string(e.After), `"email":"cy@example.org"`) || strings.Contains(string(e.After), "token") {
				return string(e.After)
			}
			return ""
		}},
		{"delete role", func() response {
			return admin.postConfirmed(fmt.Sprintf("/roles/%d/delete", roleID), url.Values{})
		}, audit.RoleDeleted, func(e audit.Entry) string {
			if !strings.Contains(string(e.Before), `"name":"Locum GP"`) {
				return string(e.Before)
			}
			return ""
		}},
	}
	for _, st := range steps {
		before := p.lastAuditID()
		admin.get("/account")
		r := st.do()
		if r.StatusCode != http.StatusSeeOther && r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", st.name, r.StatusCode, r.body)
		}
		got := p.entriesSince(before)
		if len(got) != 1 {
			t.Fatalf("%s wrote %d entries: %+v", st.name, len(got), got)
		}
		e := got[0]
		if e.Action != st.action || e.ActorName != "Ana Ruiz" || e.OrgName != "Northside Practice" {
			t.Fatalf("%s: %+v", st.name, e)
		}
		if msg := st.check(e); msg != "" {
			t.Fatalf("%s: before/after wrong: %s", st.name, msg)
		}
	}
	// Refused or rolled back: nothing recorded.
	before := p.lastAuditID()
	admin.get("/account")
	for _, r := range []response{
		admin.postForm(fmt.Sprintf("/roles/%d", staffRole), url.Values{"name": {"X"}, "status": {"active"}, "version": {"1"}}), // system role
		admin.postForm("/roles", url.Values{"org": {"1"}, "name": {"Staff"}, "status": {"active"}}),                            // code taken
		admin.postForm(fmt.Sprintf("/staff/%d/overrides", ben), url.Values{"org": {"1"}, "perm": {"nope"}, "effect": {"deny"}}),
	} {
		if r.StatusCode < 400 {
			t.Fatalf("a bad request passed: %d", r.StatusCode)
		}
	}
	for _, e := range p.entriesSince(before) {
		if e.Action != audit.Denied { // the system-role edit is a denied request, and recorded as one
			t.Fatalf("a refused change was recorded: %+v", e)
		}
	}
	if n, err := p.store.VerifyAudit(context.Background()); err != nil || n < 10 {
		t.Fatalf("verify: %d %v", n, err)
	}
}

func TestAuditSignInsAndDenials(t *testing.T) {
	p := newPortal(t, true)
	before := p.lastAuditID()
	c := p.client()
	if r := c.login(adminEmail, "wrong password here"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	got := p.entriesSince(before)
	if len(got) != 1 || got[0].Action != audit.SignInFailed || got[0].TargetName != adminEmail || strings.Contains(fmt.Sprint(got[0]), "wrong password") {
		t.Fatalf("failed sign-in: %+v", got)
	}
	before = p.lastAuditID()
	c.login(adminEmail, adminPassword)
	if got := p.entriesSince(before); len(got) != 1 || got[0].Action != audit.SignIn || got[0].ActorName != "Ana Ruiz" {
		t.Fatalf("sign-in: %+v", got)
	}
	nobody, _ := p.person("nobody@example.org", p.roleID("MEMBER"))
	before = p.lastAuditID()
	if r := nobody.get("/roles"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("member on /roles: %d", r.StatusCode)
	}
	if got := p.entriesSince(before); len(got) != 1 || got[0].Action != audit.Denied || got[0].TargetName != "/roles" ||
		!strings.Contains(string(got[0].After), "roles.manage") {
		t.Fatalf("denied request: %+v", got)
	}
}

func TestAuditPageFiltersAndExports(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	p.customRole("One", "billing.view")
	p.customRole("Two", "billing.view")
	_, ben := p.person("ben@example.org", p.roleID("MEMBER"))
	_ = ben
	auditor := p.customRole("Auditor", "audit.view")
	ac, _ := p.person("auditor@example.org", auditor)
	nobody, _ := p.person("nobody@example.org", p.roleID("MEMBER"))

	for _, path := range []string{"/audit", "/audit.csv", "/audit.json"} {
		if r := nobody.get(path); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s without audit.view: %d", path, r.StatusCode)
		}
	}
	page := admin.get("/audit?action=role.create")
	if page.StatusCode != http.StatusOK || strings.Count(page.body, `data-testid="audit-row"`) != 3 {
		t.Fatalf("filter by action: %d, %d rows", page.StatusCode, strings.Count(page.body, `data-testid="audit-row"`))
	}
	// The exports hold exactly the filtered view.
	r := admin.get("/audit.json?action=role.create")
	var entries []struct {
		ID     int64
		Action string
		Target string
		Hash   string
	}
	// Newest first, as the page lists them.
	if err := json.Unmarshal([]byte(r.body), &entries); err != nil || len(entries) != 3 || entries[0].Target != "Auditor" || entries[1].Target != "Two" || entries[2].Target != "One" {
		t.Fatalf("JSON export: %v %+v %s", err, entries, r.body)
	}
	r = admin.get("/audit.csv?action=role.create")
	if !strings.HasPrefix(r.body, "\ufeffid,at,") {
		t.Fatalf("the CSV does not start with a UTF-8 byte order mark: %q", r.body[:min(len(r.body), 20)])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
	if err != nil || len(recs) != 4 || recs[1][6] != "role.create" || recs[1][9] != "Auditor" || recs[3][9] != "One" || !strings.Contains(r.Header.Get("Content-Disposition"), ".csv") {
		t.Fatalf("CSV export: %v %q", err, recs)
	}
	if recs[0][14] != "summary" || recs[3][14] != "Ana Ruiz created the role One in Northside Practice (+ View billing; + View patient data)." {
		t.Fatalf("CSV summary: %q", recs[3])
	}
	// By person: what they did and what was done to them.
	r = admin.get("/audit?person=ben@example.org")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `data-action="staff.add"`) || !strings.Contains(r.body, `data-action="assignment.add"`) ||
		strings.Contains(r.body, `data-action="role.create"`) {
		t.Fatalf("filter by person: %d %v %v %v", r.StatusCode, strings.Contains(r.body, "staff.add"), strings.Contains(r.body, "assignment.add"), strings.Contains(r.body, "role.create"))
	}
	// An address nobody has is no bad filter: the same page as anyone's without entries, so
	// the filter never says who has an account (hardening finding 13).
	if r := admin.get("/audit?person=nobody-here@example.org"); r.StatusCode != http.StatusOK || strings.Count(r.body, `data-testid="audit-row"`) != 0 {
		t.Errorf("an unknown person: %d", r.StatusCode)
	}
	// Bad filters: 422 with the message, nothing listed.
	for _, q := range []string{"person=not-an-email", "from=2026-13-45", "to=yesterday"} {
		if r := admin.get("/audit?" + q); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", q, r.StatusCode)
		}
	}
	if r := admin.get("/audit?org=999"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown org: %d", r.StatusCode)
	}
	// Date range: today includes everything, a day long past nothing.
	today := p.store.Now().Format("2006-01-02") // a day of the portal's time zone, the server's by default
	if r := admin.get("/audit?from=" + today + "&to=" + today); strings.Count(r.body, `data-testid="audit-row"`) == 0 {
		t.Fatal("today's entries not found")
	}
	if r := admin.get("/audit?to=2001-01-01"); strings.Count(r.body, `data-testid="audit-row"`) != 0 {
		t.Fatal("entries before they happened")
	}
	// An auditor of the organisation sees its entries but not sign-ins (about no organisation).
	r = ac.get("/audit")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `data-action="role.create"`) || strings.Contains(r.body, `data-action="auth.sign_in"`) {
		t.Fatalf("auditor's view: %d", r.StatusCode)
	}
}

func TestAuditPaging(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	for i := range 60 {
		if err := p.store.SetSetting(context.Background(), "paging_test", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	r := admin.get("/audit?action=settings.change")
	if n := strings.Count(r.body, `data-testid="audit-row"`); n != 50 || !strings.Contains(r.body, `data-testid="audit-older"`) {
		t.Fatalf("first page: %d rows", n)
	}
	i := strings.Index(r.body, `href="/audit?`)
	_ = i
	older := regexpFind(r.body, `href="(/audit\?[^"]*before=[0-9]+[^"]*)"`)
	r = admin.get(strings.ReplaceAll(older, "&amp;", "&"))
	if n := strings.Count(r.body, `data-testid="audit-row"`); n != 10 || strings.Contains(r.body, `data-testid="audit-older"`) {
		t.Fatalf("second page: %d rows", n)
	}
}

func regexpFind(s, pattern string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestHistoryPanels(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	role := p.customRole("Locum", "billing.view")
	_, ben := p.person("ben@example.org", role)
	r := admin.get(fmt.Sprintf("/roles/%d", role))
	if !strings.Contains(r.body, `data-testid="history"`) || !strings.Contains(r.body, `data-action="role.create"`) ||
		!strings.Contains(r.body, `data-action="assignment.add"`) {
		t.Fatalf("role History: %s", r.body)
	}
	r = admin.get(fmt.Sprintf("/staff/%d", ben))
	if !strings.Contains(r.body, `data-testid="history"`) || !strings.Contains(r.body, `data-action="staff.add"`) || !strings.Contains(r.body, `data-action="auth.sign_in"`) {
		t.Fatal("person History missing entries")
	}
	// The full list behind "All entries" matches.
	r = admin.get(fmt.Sprintf("/audit?target=role:%d", role))
	if n := strings.Count(r.body, `data-testid="audit-row"`); n != 2 {
		t.Fatalf("audit filtered to the role: %d rows", n)
	}
	// Without audit.view, no History.
	viewer := p.customRole("Viewer", "staff.view")
	vc, _ := p.person("viewer@example.org", viewer)
	if r := vc.get(fmt.Sprintf("/staff/%d", ben)); r.StatusCode != http.StatusOK || strings.Contains(r.body, `data-testid="history"`) {
		t.Fatalf("History shown without audit.view: %d", r.StatusCode)
	}
}
