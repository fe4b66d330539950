package e2e

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestAuditLogFilterAndDownload: changes show up in the audit log; filtering by action
// narrows the list in place, and the CSV download holds exactly what the filter shows.
func TestAuditLogFilterAndDownload(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	addStaff(t, p, "Ben Okafor", "Chloé Martin")

	// Make a role, so there is a change to find.
	b.visit(p.URL, "/roles")
	b.do("open Add role", chromedp.Click(chromedp.CSS(testid("add-role"))), chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("role-form"))))
	b.do("create Locum", b.typeInto("#f-name", "Locum"), chromedp.Click(chromedp.CSS(testid("save-role"))),
		chromedp.WaitVisible(chromedp.CSS(`[data-code="LOCUM"]`)))

	b.visit(p.URL, "/audit")
	if n := b.eval(`String(document.querySelectorAll("[data-testid=audit-row]").length)`); n == "0" {
		t.Fatal("the audit log is empty")
	}
	b.eval(`window.__sameDocument = "yes"`)
	b.do("filter by role.create", chromedp.SetValue(chromedp.CSS(testid("audit-action")), "role.create"))
	b.eval(`document.querySelector("[data-testid=audit-action]").dispatchEvent(new Event("change", {bubbles: true})); ""`)
	b.waitJS(`Array.from(document.querySelectorAll("[data-testid=audit-row]")).every(r => r.dataset.action === "role.create") && document.querySelectorAll("[data-testid=audit-row]").length === 1`)
	b.settled()
	if b.eval(`String(window.__sameDocument)`) != "yes" {
		t.Fatal("filtering reloaded the page; the table should change in place")
	}
	if got := b.location(); got != "/audit?person=&org=&action=role.create&from=&to=" && !strings.Contains(got, "action=role.create") {
		t.Fatalf("the address does not follow the filter: %q", got)
	}
	b.checkA11y("audit log filtered")
	b.screenshot("audit")

	// Download the CSV of the filtered view.
	dir := t.TempDir()
	b.do("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
		return err
	}))
	b.do("download CSV", chromedp.Click(chromedp.CSS(testid("export-csv"))))
	var file string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		m, _ := filepath.Glob(filepath.Join(dir, "rolegate-audit-*.csv"))
		if len(m) == 1 {
			file = m[0]
			break
		}
	}
	if file == "" {
		t.Fatal("no CSV downloaded")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// A UTF-8 byte order mark first, so Excel opens names such as "María" right.
	if !strings.HasPrefix(string(data), "\ufeff") {
		t.Fatalf("the CSV does not start with a UTF-8 byte order mark: % x", data[:min(len(data), 8)])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(data), "\ufeff"))).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][6] != "role.create" || recs[1][9] != "Locum" || recs[1][3] != "Ana Ruiz" {
		t.Fatalf("the CSV does not match the filter: %v %q", err, recs)
	}
}
