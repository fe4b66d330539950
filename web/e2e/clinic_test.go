package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/demo"
	"github.com/rolegate/rolegate/internal/store"
)

// clinicStaff are 45 people with the names a practice really has.
func clinicStaff(t *testing.T, p *portal) {
	t.Helper()
	first := []string{"María", "Zoë", "Ελένη", "Олга", "محمد", "שרה", "美咲", "Noor", "Bartholomew", "Siobhán", "Nguyễn", "Kwame", "Priya", "Łukasz", "Aoife"}
	last := []string{"López", "Ångström", "Παπαδοπούλου", "Иванова", "الحسيني", "כהן", "佐藤", "Al-Rashid", "Featherstonehaugh-Wolstenholme"}
	var people []store.NewStaff
	for i := range 45 {
		people = append(people, store.NewStaff{Email: fmt.Sprintf("person%02d@lakeside.example", i),
			Name: first[i%len(first)] + " " + last[i%len(last)], PasswordHash: "x", OrgID: 1})
	}
	if _, err := p.App.Store.AddStaff(context.Background(), people); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Coordinates the rota, covers the front desk and answers the phones on Saturdays. ", 4)[:300]
	if _, err := p.App.Store.CreateRole(context.Background(), store.RoleInput{OrgID: 1, Code: "LONG", Name: strings.Repeat("Receptionist", 6)[:64],
		Description: long, Active: true, Permissions: []string{"patients.view"}, ActorID: 1}); err != nil {
		t.Fatal(err)
	}
}

// noSidewaysScroll fails when the page scrolls sideways: a table or label escaping its box.
func (b *browser) noSidewaysScroll(what string) {
	b.t.Helper()
	if got := b.eval(`String(document.scrollingElement.scrollWidth <= window.innerWidth)`); got != "true" {
		b.screenshot("failed-overflow")
		b.t.Errorf("%s scrolls sideways: scrollWidth %s > %s", what, b.eval(`String(document.scrollingElement.scrollWidth)`), b.eval(`String(window.innerWidth)`))
	}
}

// navRows is how many rows the main navigation takes.
func (b *browser) navRows() string {
	return b.eval(`String(new Set(Array.from(document.querySelectorAll(".mainnav li")).map(li => li.offsetTop)).size)`)
}

// Issue 10, items 4, 5, 7, 8, 9, 11, 12: the portal with a practice's real data, at desktop
// widths and on a phone.
func TestClinicWithRealData(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	clinicStaff(t, p)
	if err := p.App.Store.RenameOrganisation(context.Background(), 1, "Lakeside Family Clinic and Wellbeing Centre"); err != nil {
		t.Fatal(err)
	}

	// People edit their own name (item 11); the header keeps one row with a long one (item 7).
	b.visit(p.URL, "/account")
	b.do("rename", b.fill("#f-name", "Dana Whitfield-Okonkwo"), b.markPage(), chromedp.Click(chromedp.CSS(testid("name-form")+" button")))
	b.waitNewPage()
	if got := b.text(testid("account-name")); got != "Dana Whitfield-Okonkwo" {
		t.Fatalf("name after saving: %q", got)
	}
	for _, width := range []int64{1024, 1280, 1600} {
		b.do("width", chromedp.EmulateViewport(width, 800))
		heights := map[string]bool{}
		for _, path := range []string{"/", "/roles", "/staff", "/audit"} {
			b.visit(p.URL, path)
			if rows := b.navRows(); rows != "1" {
				b.screenshot("failed-nav")
				t.Fatalf("at %d px the navigation takes %s rows on %s", width, rows, path)
			}
			heights[b.eval(`String(document.querySelector(".topbar").offsetHeight)`)] = true
			b.noSidewaysScroll(fmt.Sprintf("%s at %d px", path, width))
		}
		if len(heights) != 1 {
			t.Errorf("at %d px the header height changes with the active item: %v", width, heights)
		}
	}

	// The roles table stays in its box; the long description is clamped (item 8).
	for _, width := range []int64{1024, 1280, 1600} {
		b.do("width", chromedp.EmulateViewport(width, 800))
		b.visit(p.URL, "/roles")
		b.noSidewaysScroll("roles list")
		if got := b.eval(`String(Math.max(...Array.from(document.querySelectorAll("[data-testid=role-row]")).map(r => r.offsetHeight)) <= 110)`); got != "true" {
			t.Errorf("at %d px a role row is %s px tall; names and descriptions should stop at a few lines", width,
				b.eval(`String(Math.max(...Array.from(document.querySelectorAll("[data-testid=role-row]")).map(r => r.offsetHeight)))`))
		}
		if got := b.eval(`String(Array.from(document.querySelectorAll("[data-testid=role-members]")).every(a => a.getBoundingClientRect().right <= document.querySelector("#roles-table .table-wrap").getBoundingClientRect().right + 1))`); got != "true" {
			b.screenshot("failed-roles-width")
			t.Errorf("at %d px a Members link is cut off by the table's box", width)
		}
	}
	b.screenshot("clinic-roles")

	// An Arabic role name: accepted, the code shown as it will be, the toast intact (4, 5).
	b.do("open Add role", chromedp.Click(chromedp.CSS(testid("add-role"))), chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("role-form"))))
	b.do("type an Arabic name", b.fill("#f-name", "ممرضة الطوارئ"))
	b.waitJS(`document.querySelector('[data-testid="code-preview"]').textContent === "MMRD_LTWRY"`)
	if note := b.text(testid("code-note")); !strings.Contains(note, "Latin letters") {
		t.Errorf("the code note does not say the code is transliterated: %q", note)
	}
	if got := b.text(testid("counter-name")); got != "13 / 64" {
		t.Errorf("name counter %q; want 13 / 64", got)
	}
	b.do("type a reserved name", b.fill("#f-name", "Admin"))
	b.waitJS(`document.querySelector('[data-testid="code-note"]').textContent.includes("reserved")`)
	b.do("back to Arabic", b.fill("#f-name", "ممرضة الطوارئ"))
	b.waitJS(`document.querySelector('[data-testid="code-preview"]').textContent === "MMRD_LTWRY"`)
	b.checkA11y("add role with an Arabic name")
	b.do("save", chromedp.Click(chromedp.CSS(testid("save-role"))), chromedp.WaitVisible(chromedp.CSS(`[data-code="MMRD_LTWRY"]`)))
	if got := b.text(testid("flash")); got != "Role “ممرضة الطوارئ” created." {
		t.Errorf("toast %q", got)
	}

	// The permission grid scrolls inside its box, not the page (item 9).
	b.visit(p.URL, "/roles/grid")
	b.noSidewaysScroll("permission grid")

	// Home leads (item 12) and counts staff one way (item 11).
	b.visit(p.URL, "/")
	if got := b.text(testid("home-orgs") + " td.num"); got != "46" {
		t.Errorf("home counts %s staff; want 46", got)
	}
	if !strings.Contains(b.text(testid("home-changes")), "Dana Whitfield-Okonkwo") {
		t.Error("recent changes do not show the admin's changes")
	}
	b.screenshot("clinic-home")

	// A phone: the navigation folds into Menu; lists become cards with their actions (7, 8, 9).
	phone := b.freshContext()
	phone.do("phone size", chromedp.EmulateViewport(390, 844))
	phone.visit(p.URL, "/login")
	phone.signIn(adminEmail, adminPassword)
	phone.waitJS(`document.querySelector("[data-testid=nav-toggle]")`)
	if phone.eval(`String(getComputedStyle(document.querySelector(".mainnav")).display)`) != "none" {
		t.Fatal("on a phone the navigation is not folded")
	}
	phone.do("open the menu", chromedp.Click(chromedp.CSS(testid("nav-toggle"))))
	phone.waitJS(`getComputedStyle(document.querySelector(".mainnav")).display !== "none"`)
	if phone.eval(`document.querySelector("[data-testid=nav-toggle]").getAttribute("aria-expanded")`) != "true" {
		t.Error("the Menu button does not say it is open")
	}
	phone.checkA11y("menu open on a phone")
	phone.visit(p.URL, "/roles")
	phone.noSidewaysScroll("roles list on a phone")
	if got := phone.eval(`String(Array.from(document.querySelectorAll("[data-testid=role-members]")).every(a => { const r = a.getBoundingClientRect(); return r.width > 0 && r.right <= window.innerWidth }))`); got != "true" {
		t.Error("on a phone a role's Members action is hidden or off-screen")
	}
	phone.screenshot("clinic-roles-phone")
	phone.visit(p.URL, "/staff/2")
	phone.noSidewaysScroll("person page on a phone")
	phone.screenshot("clinic-person-phone")
	phone.visit(p.URL, "/roles/grid")
	phone.noSidewaysScroll("permission grid on a phone")
	phone.visit(p.URL, "/audit")
	phone.noSidewaysScroll("audit log on a phone")
	if got := phone.eval(`String(Array.from(document.querySelectorAll("[data-testid=audit-sentence]")).every(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right <= window.innerWidth }))`); got != "true" {
		t.Error("on a phone what an audit entry says is off-screen")
	}
	phone.screenshot("clinic-audit-phone")
}

// The demo practice (two locations, 40 staff, six custom roles) walked on a 390×844 phone:
// every page readable without scrolling sideways, axe clean.
func TestDemoPracticeOnAPhone(t *testing.T) {
	p := startPortal(t)
	const pw = "a demo passphrase for phones"
	if _, err := demo.Seed(context.Background(), p.App.Store, p.App.Access.Catalog(), pw, 0); err != nil {
		t.Fatal(err)
	}
	phone := newBrowser(t)
	phone.do("phone size", chromedp.EmulateViewport(390, 844))
	phone.visit(p.URL, "/login")
	phone.signIn(demo.AdminEmail, pw)
	person := p.App.Access.Now().Data().Users[5].ID
	for _, path := range []string{"/", "/roles", "/roles/grid", "/permissions", "/staff", fmt.Sprintf("/staff/%d", person), "/orgs", "/orgs/2", "/audit", "/account"} {
		phone.visit(p.URL, path)
		phone.noSidewaysScroll(path + " of the demo practice on a phone")
	}
	phone.visit(p.URL, "/staff")
	phone.screenshot("demo-staff-phone")
}
