package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
)

// TestReadableHistory: the global admin sets the portal's time zone on the Settings page; the
// audit log then reads as sentences with a plain diff, times in that zone, a role changed
// into another as one row, and the raw entry one click away; the person's History says the same.
func TestReadableHistory(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	ctx := context.Background()
	st := p.App.Store
	billing, err := st.CreateRole(ctx, store.RoleInput{OrgID: 1, Code: "ROLE_BILLING", Name: "موظف الفواتير", Active: true,
		Permissions: []string{"patients.view", "billing.view"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st.AddStaff(ctx, []store.NewStaff{
		{Email: "maria.lopez@northside.example", Name: "María López", PasswordHash: "x", OrgID: 1},
		{Email: "zoe@northside.example", Name: "Ζωή Παπαδοπούλου", PasswordHash: "x", OrgID: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	roles, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: 1, Q: "NURSE", Limit: 10})
	if err != nil || len(roles) == 0 {
		t.Fatal(err)
	}
	nurse := roles[0].ID
	if err := st.AssignRole(ctx, ids[0], nurse, 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.AssignRole(ctx, ids[0], billing, 1, nurse, 1); err != nil { // Nurse becomes the billing role, in one step
		t.Fatal(err)
	}

	// Settings, from the user menu: the time zone.
	b.do("open Settings", chromedp.Click(chromedp.CSS(testid("user-menu")+" summary")), chromedp.WaitVisible(chromedp.CSS(testid("menu-settings"))),
		b.markPage(), chromedp.Click(chromedp.CSS(testid("menu-settings"))))
	b.waitNewPage()
	b.checkA11y("settings")
	b.do("a zone that is not one", b.fill(testid("input-time_zone"), "Mars/Olympus"), b.markPage(), chromedp.Click(chromedp.CSS(testid("save-settings"))))
	b.waitNewPage()
	if got := b.text(testid("problem-time_zone")); !strings.Contains(got, "Europe/Madrid") {
		t.Fatalf("no problem beside the field: %q", got)
	}
	b.checkA11y("settings with a problem")
	b.do("set Asia/Tokyo", b.fill(testid("input-time_zone"), "Asia/Tokyo"), b.markPage(), chromedp.Click(chromedp.CSS(testid("save-settings"))))
	b.waitNewPage()
	if got := b.text(testid("tz-current")); !strings.Contains(got, "shown in Asia/Tokyo") || !strings.Contains(got, "JST") {
		t.Fatalf("the page does not say the zone now: %q", got)
	}
	b.screenshot("settings")

	b.visit(p.URL, "/audit")
	b.waitJS(`document.querySelector("[data-testid=audit-row][data-action='assignment.add assignment.remove']")`)
	row := `[data-testid=audit-row][data-action='assignment.add assignment.remove']`
	if got := b.text(row + " " + testid("audit-sentence")); got != "Ana Ruiz changed María López's role in Northside Practice from Nurse to موظف الفواتير." {
		t.Fatalf("the role change in words: %q", got)
	}
	if got := b.eval(`String(document.querySelectorAll("[data-testid=audit-row][data-action='assignment.add'], [data-testid=audit-row][data-action='assignment.remove']").length)`); got != "1" {
		t.Fatalf("the role change is not one row: %s rows of single assignment entries (want only the first Nurse one)", got)
	}
	if got := b.text(row + " " + testid("audit-diff")); !strings.Contains(got, "Nurse") || !strings.Contains(got, "موظف الفواتير") {
		t.Fatalf("the diff: %q", got)
	}
	created := `[data-testid=audit-row][data-action='role.create']`
	if got := b.text(created + " " + testid("audit-diff")); !strings.Contains(got, "Added:") || !strings.Contains(got, "View billing") || strings.Contains(got, "billing.view") {
		t.Fatalf("the new role's permissions by label: %q", got)
	}
	// Times in the zone set, and the header says which.
	entries, err := st.ListAudit(ctx, store.AuditQuery{Action: audit.AssignmentAdded, Limit: 1})
	if err != nil || len(entries) == 0 {
		t.Fatal(err)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if got, want := b.text(row+" "+testid("audit-when")), time.Unix(entries[0].At, 0).In(tokyo).Format("2006-01-02 15:04:05 MST"); got != want {
		t.Fatalf("time: %q, want %q", got, want)
	}
	if got := b.text(testid("audit-zone")); got != "(Asia/Tokyo)" {
		t.Fatalf("zone: %q", got)
	}
	// The raw entries: folded until asked for, then readable JSON.
	if b.eval(`String(document.querySelector("`+row+` [data-testid=audit-raw]").open)`) != "false" {
		t.Fatal("the raw entry is open before anyone asks")
	}
	b.do("open the raw entries", chromedp.Click(chromedp.CSS(row+" [data-testid=audit-raw] summary")),
		chromedp.WaitVisible(chromedp.CSS(row+" "+testid("audit-raw-after"))))
	if got := b.text(row + " " + testid("audit-raw-after")); !strings.Contains(got, `"role": "موظف الفواتير"`) {
		t.Fatalf("raw JSON: %q", got)
	}
	b.checkA11y("audit log in words, a raw entry open")
	b.screenshot("audit-words")

	// María's History says the same.
	b.visit(p.URL, "/staff/"+itoa(ids[0]))
	if got := b.text(testid("history") + " " + row + " " + testid("audit-sentence")); !strings.HasPrefix(got, "Ana Ruiz changed María López's role") {
		t.Fatalf("History: %q", got)
	}
	if got := b.text(testid("history") + " " + testid("audit-zone")); got != "(Asia/Tokyo)" {
		t.Fatalf("History's zone: %q", got)
	}
}
