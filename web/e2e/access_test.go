package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/store"
)

// accessPractice is a group practice with real names: 48 staff in Northside Practice and its
// Eastside Clinic, long names and names in Greek, Cyrillic, Arabic and Japanese, roles given
// to all of them, an override and a default. It returns a few of them by key.
func accessPractice(t *testing.T, p *portal) (east int64, who map[string]string) {
	t.Helper()
	ctx := context.Background()
	st := p.App.Store
	east, err := st.CreateOrganisation(ctx, "Eastside Clinic", 1)
	if err != nil {
		t.Fatal(err)
	}
	first := []string{"María", "Zoë", "Ελένη", "Олга", "محمد", "Bartholomew", "Siobhán", "Nguyễn", "Kwame", "Priya", "Łukasz", "Aoife", "美咲"}
	last := []string{"López", "Ångström", "Παπαδοπούλου", "Иванова", "الحسيني", "Featherstonehaugh-Wolstenholme", "Ó Súilleabháin", "Văn Thành", "Mensah", "Raghunathan", "Wiśniewski", "佐藤"}
	var people []store.NewStaff
	for i := range 48 {
		org := int64(1)
		if i%3 == 0 {
			org = east
		}
		people = append(people, store.NewStaff{Email: fmt.Sprintf("person%02d@northside.example", i),
			Name: first[i%len(first)] + " " + last[i%len(last)], PasswordHash: "x", OrgID: org})
	}
	ids, err := st.AddStaff(ctx, people)
	if err != nil {
		t.Fatal(err)
	}
	exporter, err := st.CreateRole(ctx, store.RoleInput{OrgID: 1, Code: "RECORDS_EXPORT", Name: "Medical Records and Release of Information Officer",
		Active: true, Permissions: []string{"patients.view", "patients.identifiers", "patients.export"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := st.CreateRole(ctx, store.RoleInput{OrgID: 1, Code: "FRONT_DESK", Name: "Front Desk", Active: true,
		Permissions: []string{"patients.view", "patients.contact", "scheduling.access"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	var northExport, northDesk, eastExport, eastDesk []int64
	for i, id := range ids {
		switch {
		case people[i].OrgID == east && i%2 == 0:
			eastExport = append(eastExport, id)
		case people[i].OrgID == east:
			eastDesk = append(eastDesk, id)
		case i%4 == 1:
			northExport = append(northExport, id)
		default:
			northDesk = append(northDesk, id)
		}
	}
	for _, g := range []struct {
		role, org int64
		ids       []int64
	}{{exporter, 1, northExport}, {desk, 1, northDesk}, {exporter, east, eastExport}, {desk, east, eastDesk}} {
		if err := st.SetRoleHolders(ctx, g.role, g.org, g.ids, nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Someone at Eastside's front desk may export by an override; Eastside bills by default.
	if err := st.SetOverride(ctx, eastDesk[0], east, "patients.export", "allow", 1); err != nil {
		t.Fatal(err)
	}
	if err := st.SetOrgDefaults(ctx, east, map[string]string{"billing.view": "allow"}); err != nil {
		t.Fatal(err)
	}
	name := func(id int64) string {
		for i, x := range ids {
			if x == id {
				return people[i].Name
			}
		}
		return ""
	}
	return east, map[string]string{"eastExport": name(eastExport[0]), "override": name(eastDesk[0]), "northExport": name(northExport[0])}
}

// shotDir is where a test keeps a picture: the README's folder when ROLEGATE_SCREENSHOTS=update.
func shotDir(t *testing.T) string {
	dir := "out"
	if os.Getenv("ROLEGATE_SCREENSHOTS") == "update" {
		dir = "screenshots"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Who can…: pick a permission, filter, read who holds it and why.
func TestWhoCan(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	east, who := accessPractice(t, p)

	b.visit(p.URL, fmt.Sprintf("/permissions?org=%d", east))
	b.do("open Who can… from Permission details", b.markPage(), chromedp.Click(chromedp.CSS(testid("who-patients.export"))))
	b.waitNewPage()
	b.checkA11y("who can, from the details")
	if got := b.text(testid("who-summary")); got != "18 people can Export patient data in Eastside Clinic" {
		t.Errorf("summary %q", got)
	}

	// Another permission, from the picker, without JavaScript's help: the form is a GET.
	b.visit(p.URL, "/access/who")
	if got := b.text(testid("who-prompt")); !strings.Contains(got, "Choose a permission") {
		t.Errorf("prompt %q", got)
	}
	b.do("pick a permission and an organisation",
		chromedp.SetValue(chromedp.CSS(testid("who-permission")), "patients.export"),
		chromedp.SetValue(chromedp.CSS(testid("who-org")), fmt.Sprint(east)),
		b.markPage(), chromedp.Click(chromedp.CSS(testid("who-show"))))
	b.waitNewPage()
	b.checkA11y("who can, chosen")
	rows := b.whoRows()
	// Eastside's 8 with the role there, 1 by an override, the global admin, and Northside's 8
	// exporters, whose role there applies in Eastside below it.
	if len(rows) != 18 {
		t.Errorf("%d rows, want 18: %v", len(rows), rows)
	}
	if got := rows[who["eastExport"]]; !strings.HasPrefix(got, "Role Granted by role Medical Records and Release of Information Officer in Eastside Clinic") {
		t.Errorf("%s: %q", who["eastExport"], got)
	}
	if got := rows[who["override"]]; got != "Override Allowed by a user-level override in Eastside Clinic set by Ana Ruiz." {
		t.Errorf("%s: %q", who["override"], got)
	}
	if got := rows[who["northExport"]]; !strings.HasSuffix(got, "in Northside Practice (applies here from Northside Practice).") {
		t.Errorf("%s, exporting from the practice above: %q", who["northExport"], got)
	}
	if got := rows["Ana Ruiz"]; got != "Global admin Global admin: holds every permission everywhere." {
		t.Errorf("Ana: %q", got)
	}
	b.screenshot("who-can")

	// Filter by reason: only the override.
	b.do("filter by reason", chromedp.SetValue(chromedp.CSS(testid("who-kind")), "override"), b.markPage(), chromedp.Click(chromedp.CSS(testid("who-show"))))
	b.waitNewPage()
	b.checkA11y("who can, filtered")
	if rows := b.whoRows(); len(rows) != 1 || rows[who["override"]] == "" {
		t.Errorf("override filter: %v", rows)
	}
	if !strings.Contains(b.location(), "kind=override") {
		t.Errorf("the address does not keep the filter: %s", b.location())
	}
	// By name, any case.
	b.do("filter by name", chromedp.SetValue(chromedp.CSS(testid("who-kind")), ""),
		b.fill(testid("who-q"), strings.ToUpper(strings.Fields(who["eastExport"])[0])), b.markPage(), chromedp.Click(chromedp.CSS(testid("who-show"))))
	b.waitNewPage()
	if rows := b.whoRows(); rows[who["eastExport"]] == "" {
		t.Errorf("name filter: %v", rows)
	}

	// On a phone: the rows become cards, nothing scrolls sideways.
	phone := b.freshContext()
	phone.do("phone size", chromedp.EmulateViewport(390, 844))
	phone.visit(p.URL, "/login")
	phone.signIn(adminEmail, adminPassword)
	phone.visit(p.URL, fmt.Sprintf("/access/who?org=%d&permission=patients.export", east))
	phone.noSidewaysScroll("Who can… on a phone")
	phone.screenshotView("who-can-phone")
}

// whoRows reads the Who can… table: name → reason kind and reason.
func (b *browser) whoRows() map[string]string {
	b.t.Helper()
	js := `JSON.stringify(Object.fromEntries(Array.from(document.querySelectorAll("[data-testid=who-row]")).map(r =>
		[r.querySelector("[data-testid=who-name]").innerText.trim(), r.querySelector("[data-testid=who-reason]").innerText.replace(/\s+/g, " ").trim()])))`
	out := map[string]string{}
	if err := json.Unmarshal([]byte(b.eval(js)), &out); err != nil {
		b.t.Fatal(err)
	}
	return out
}

// The access report printed to PDF by Chromium, read back as a person would read the paper.
func TestAccessReportPrints(t *testing.T) {
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install Debian's poppler-utils package (make deps does it as root)", tool)
		}
	}
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	_, who := accessPractice(t, p)

	b.visit(p.URL, "/roles/grid")
	b.do("open the access report", b.markPage(), chromedp.Click(chromedp.CSS(testid("access-report-link"))))
	b.waitNewPage()
	b.checkA11y("access report")
	if b.eval(`String(document.querySelector("[data-testid=report-print]").hidden)`) != "false" {
		t.Error("the Print button stays hidden with JavaScript on")
	}
	generated := b.text(testid("report-generated"))
	b.screenshotView("access-report")

	var pdf []byte
	b.do("print to PDF", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		yes := true
		res, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: &yes, PrintBackground: &yes})
		pdf = res.Data
		return err
	}))
	dir := t.TempDir()
	file := filepath.Join(dir, "access-report.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	// A copy for a person to read, beside the failed-step screenshots (web/e2e/out, ignored).
	if err := os.MkdirAll("out", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join("out", "access-report.pdf"), pdf, 0o644)
	}
	out, err := exec.Command("pdftotext", "-layout", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	text := string(out)
	flat := strings.Join(strings.Fields(text), " ")
	today := time.Now().Format("2 Jan 2006")
	for _, want := range []string{"Access report: Northside Practice", "Northside Practice › Eastside Clinic", generated, "Page 1 of",
		"Medical Records and Release of Information Officer", "Front Desk", "Export patient data", "Reviewed by", "Signature",
		who["eastExport"], who["override"], who["northExport"], "Ελένη Παπαδοπούλου", "Олга Иванова", "Aoife 佐藤"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the printed report lacks %q", want)
		}
	}
	if !strings.Contains(generated, today) && !strings.Contains(generated, time.Now().Add(-time.Minute).Format("2 Jan 2006")) {
		t.Errorf("generated %q, not today (%s)", generated, today)
	}
	pages := regexp.MustCompile(`Page 1 of (\d+)`).FindStringSubmatch(flat)
	if pages == nil || pages[1] == "1" {
		t.Errorf("48 people fit on one page? %v", pages)
	} else if !strings.Contains(flat, "Page "+pages[1]+" of "+pages[1]) {
		t.Errorf("no last page numbered %s of %s", pages[1], pages[1])
	}
	for _, chrome := range []string{"Skip to content", "Audit log", "Show"} {
		if strings.Contains(flat, chrome+" ") {
			t.Errorf("the portal's navigation is printed: %q", chrome)
		}
	}

	// On a phone the report reads without scrolling sideways.
	phone := b.freshContext()
	phone.do("phone size", chromedp.EmulateViewport(390, 844))
	phone.visit(p.URL, "/login")
	phone.signIn(adminEmail, adminPassword)
	phone.visit(p.URL, "/access/report?org=1")
	phone.noSidewaysScroll("the access report on a phone")
	phone.screenshotView("access-report-phone")

	if out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	shots, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(shots) != 1 {
		t.Fatalf("pdftoppm made %v", shots)
	}
	png, err := os.ReadFile(shots[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shotDir(t), "access-report-page1.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
