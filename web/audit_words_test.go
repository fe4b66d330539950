package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
)

func doc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The audit log reads as sentences with a plain diff, a role changed into another is one row,
// entries of an older shape read sensibly, and the raw entry is one click away without
// \u003c escapes.
func TestAuditReadsAsSentences(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	ctx := context.Background()
	billing := p.customRole("مسؤول الفواتير <Nord>", "billing.view")
	ids, err := p.store.AddStaff(ctx, []store.NewStaff{{Email: "maria@example.org", Name: "María López", PasswordHash: "x", OrgID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	maria, nurse := ids[0], p.roleID("NURSE")
	if r := admin.postForm(fmt.Sprintf("/staff/%d/roles", maria), url.Values{"org": {"1"}, "role": {fmt.Sprint(nurse)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("give Nurse: %d", r.StatusCode)
	}
	if r := admin.postForm(fmt.Sprintf("/staff/%d/roles", maria), url.Values{"org": {"1"}, "role": {fmt.Sprint(billing)}, "replace": {fmt.Sprint(nurse)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change Nurse into the billing role: %d %s", r.StatusCode, r.body)
	}
	// An entry as an older version wrote it: the role it moved holders to only by id.
	if err := p.store.Audit(ctx, audit.Entry{ActorID: 1, OrgID: 1, Action: audit.RoleDeleted, TargetType: "role", TargetID: 99, TargetName: "Locum",
		Before: audit.JSON(map[string]any{"name": "Locum", "permissions": []string{"patients.contact"}}), After: audit.JSON(map[string]int64{"holders_moved_to_role": 7})}); err != nil {
		t.Fatal(err)
	}

	r := admin.get("/audit")
	d := doc(t, r.body)
	rows := d.Find(`[data-testid=audit-row]`)
	sentences := rows.Find(`[data-testid=audit-sentence]`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	want := []string{
		"Ana Ruiz deleted the role Locum in Northside Practice and moved its holders to role #7.",
		"Ana Ruiz changed María López's role in Northside Practice from Nurse to مسؤول الفواتير <Nord>.",
		"Ana Ruiz gave María López the role Nurse in Northside Practice.",
	}
	for i, w := range want {
		if i >= len(sentences) || sentences[i] != w {
			t.Fatalf("sentence %d: %q, want %q (all: %q)", i, sentences, w, sentences)
		}
	}
	change := rows.Eq(1)
	if got := change.AttrOr("data-action", ""); got != "assignment.add assignment.remove" {
		t.Errorf("the role change is not one row of both entries: %q", got)
	}
	diff := strings.Join(change.Find(`[data-testid=audit-diff] li`).Map(func(_ int, s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }), " | ")
	if diff != "−Removed: Nurse | +Added: مسؤول الفواتير <Nord>" {
		t.Errorf("diff: %q", diff)
	}
	if got := rows.Eq(0).Find(`[data-testid=audit-diff]`).Text(); !strings.Contains(got, "Contact patient") {
		t.Errorf("the old entry's diff lacks the catalog label: %q", got)
	}
	// The raw entries, folded: both of the role change, readable JSON.
	raw := change.Find(`details[data-testid=audit-raw]`)
	if raw.Length() != 1 || raw.AttrOr("open", "none") != "none" || raw.Find(`[data-testid=audit-raw-after]`).Length() != 1 || raw.Find(`[data-testid=audit-raw-before]`).Length() != 1 {
		t.Fatalf("raw entries: %d", raw.Length())
	}
	if txt := raw.Text(); !strings.Contains(txt, `"role": "مسؤول الفواتير <Nord>"`) || strings.Contains(txt, `\u003c`) {
		t.Errorf("raw JSON: %s", txt)
	}
	if strings.Contains(r.body, "<Nord>") {
		t.Error("a name reached the page unescaped")
	}
	// The action filter names actions in words.
	if got := d.Find(`#a-action option[value="assignment.add"]`).Text(); got != "Role given" {
		t.Errorf("action filter label: %q", got)
	}
	// The History panels say the same: the person's has the change as one row, the role's
	// the role being given (the removal is in Nurse's History).
	h := doc(t, admin.get(fmt.Sprintf("/staff/%d", maria)).body)
	if got := h.Find(`[data-testid=history] [data-testid=audit-sentence]`).First().Text(); got != want[1] {
		t.Errorf("person History: %q", got)
	}
	h = doc(t, admin.get(fmt.Sprintf("/roles/%d", billing)).body)
	if got := h.Find(`[data-testid=history] [data-testid=audit-sentence]`).First().Text(); got != "Ana Ruiz gave María López the role مسؤول الفواتير <Nord> in Northside Practice." {
		t.Errorf("role History: %q", got)
	}
}

// Times show in the portal's time zone, a setting only a global admin changes (audited); the
// date filters are days of that zone.
func TestAuditTimeZone(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	var at int64
	first, _ := p.store.ListAudit(context.Background(), store.AuditQuery{Action: audit.Setup, Limit: 1})
	at = first[0].At
	server := doc(t, admin.get("/audit?action=setup.complete").body)
	if got := server.Find(`[data-testid=audit-when]`).Text(); got != time.Unix(at, 0).Format("2006-01-02 15:04:05 MST") {
		t.Fatalf("default: not the server's zone: %q", got)
	}

	member, _ := p.person("nobody@example.org", p.roleID("MEMBER"))
	officeManager, _ := p.person("om@example.org", p.roleID("OFFICE_MANAGER"))
	for _, c := range []*client{member, officeManager} {
		if r := c.get("/settings"); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET /settings by someone not a global admin: %d", r.StatusCode)
		}
		c.get("/account")
		if r := c.postForm("/settings", url.Values{"time_zone": {"Asia/Tokyo"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST /settings by someone not a global admin: %d", r.StatusCode)
		}
	}
	page := admin.get("/settings")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, `data-testid="menu-settings"`) {
		t.Fatalf("settings page: %d", page.StatusCode)
	}
	before := p.lastAuditID()
	for _, bad := range []string{"Mars/Olympus", "../../../etc/passwd", "Europe/Madrid<script>"} {
		r := admin.postForm("/settings", url.Values{"time_zone": {bad}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `data-testid="problem-time_zone"`) || strings.Contains(r.body, "<script>") {
			t.Errorf("%q: %d", bad, r.StatusCode)
		}
	}
	if got := p.entriesSince(before); len(got) != 0 {
		t.Fatalf("a refused zone was recorded: %+v", got)
	}
	if r := admin.postForm("/settings", url.Values{"time_zone": {"Pacific/Kiritimati"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.StatusCode, r.body)
	}
	got := p.entriesSince(before)
	if len(got) != 1 || got[0].Action != audit.SettingChanged || got[0].ActorName != "Ana Ruiz" || string(got[0].After) != `{"time_zone":"Pacific/Kiritimati"}` {
		t.Fatalf("the change's entry: %+v", got)
	}
	kiri, _ := time.LoadLocation("Pacific/Kiritimati") // UTC+14: another day than UTC for ten hours of each day
	d := doc(t, admin.get("/audit?action=setup.complete").body)
	if got := d.Find(`[data-testid=audit-when]`).Text(); got != time.Unix(at, 0).In(kiri).Format("2006-01-02 15:04:05 MST") {
		t.Fatalf("in the zone set: %q", got)
	}
	if got := d.Find(`[data-testid=audit-zone]`).Text(); got != "(Pacific/Kiritimati)" {
		t.Errorf("the table does not say its zone: %q", got)
	}
	day := time.Unix(at, 0).In(kiri).Format(time.DateOnly)
	if n := strings.Count(admin.get("/audit?action=setup.complete&from="+day+"&to="+day).body, `data-testid="audit-row"`); n != 1 {
		t.Errorf("the entry is not on its day in the zone: %d rows", n)
	}
	other := time.Unix(at, 0).In(kiri).AddDate(0, 0, -1).Format(time.DateOnly)
	if n := strings.Count(admin.get("/audit?action=setup.complete&from="+other+"&to="+other).body, `data-testid="audit-row"`); n != 0 {
		t.Errorf("the entry is on the day before in the zone: %d rows", n)
	}
	h := doc(t, admin.get("/audit?action=settings.change").body)
	if got := h.Find(`[data-testid=audit-sentence]`).First().Text(); got != "Ana Ruiz changed the portal setting Time zone." {
		t.Errorf("the change in words: %q", got)
	}
	// Back to the server's zone.
	if r := admin.postForm("/settings", url.Values{"time_zone": {""}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.StatusCode)
	}
	if got := doc(t, admin.get("/audit?action=setup.complete").body).Find(`[data-testid=audit-when]`).Text(); got != time.Unix(at, 0).Format("2006-01-02 15:04:05 MST") {
		t.Fatalf("after reset: %q", got)
	}
}
