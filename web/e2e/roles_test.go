package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/store"
)

// setUp completes setup in the browser as Ana, the global admin.
func (b *browser) setUp(p *portal) {
	b.t.Helper()
	b.visit(p.URL, "/setup")
	b.do("set up",
		b.typeInto("#f-org", "Northside Practice"),
		b.typeInto("#f-name", "Ana Ruiz"),
		b.typeInto("#f-email", adminEmail),
		b.typeInto("#f-password", adminPassword),
		chromedp.Click(chromedp.CSS(testid("setup-submit"))),
		chromedp.WaitVisible(chromedp.CSS(testid("welcome"))),
	)
}

// addStaff puts people straight into the running portal's database, as accepted invitations
// will; the running portal's permission engine sees them at once.
func addStaff(t *testing.T, p *portal, names ...string) {
	t.Helper()
	var people []store.NewStaff
	for _, n := range names {
		email := strings.ToLower(strings.ReplaceAll(n, " ", ".")) + "@northside.example"
		people = append(people, store.NewStaff{Email: email, Name: n, PasswordHash: "x", OrgID: 1})
	}
	if _, err := p.App.Store.AddStaff(context.Background(), people); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) rowCount() int {
	var n int
	fmt.Sscan(b.eval(`String(document.querySelectorAll("[data-testid=role-row]").length)`), &n)
	return n
}

func TestRolesFlow(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)

	// Huma's entry point: Edit roles in the user menu.
	b.do("open Edit roles",
		chromedp.Click(chromedp.CSS(testid("user-menu")+" summary")),
		chromedp.Click(chromedp.CSS(testid("menu-edit-roles"))),
		chromedp.WaitVisible(chromedp.CSS(testid("roles-table"))),
	)
	b.checkA11y("roles list")
	if n := b.rowCount(); n != 8 {
		t.Fatalf("roles list shows %d roles, want the 8 system roles", n)
	}
	if got := b.text(testid("showing")); got != "8 records" {
		t.Fatalf("pagination says %q", got)
	}
	b.screenshot("roles")
	b.eval(`window.__sameDocument = "yes"`) // gone if the page reloads

	// Add role, starting from Nurse.
	b.do("open Add role", chromedp.Click(chromedp.CSS(testid("add-role"))), chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("role-form"))))
	b.checkA11y("add role modal")
	b.do("start from Nurse", chromedp.SetValue(chromedp.CSS("#from"), b.roleIDByCode("NURSE")))
	b.eval(`document.querySelector("#from").dispatchEvent(new Event("change", {bubbles: true})); ""`)
	b.waitJS(`document.querySelector("dialog[open] #f-name") && document.querySelector("dialog[open] #f-name").value === "Copy of Nurse"`)
	if !b.checked("perm-clinical.drug_interactions") || !b.checked("perm-patients.contact") || b.checked("perm-billing.view") {
		t.Fatal("starting from Nurse did not copy its permissions")
	}
	b.do("type name", b.fill("#f-name", "Travel Nurse Lead"), b.typeInto("#f-description", "Coordinates nurses across sites."))
	b.waitJS(`document.querySelector('[data-testid="code-preview"]').textContent === "TRAVEL_NURSE_LEAD"`)
	count := b.text(testid("perm-count"))
	b.do("untick one patient permission", chromedp.Click(chromedp.CSS(testid("perm-patients.contact"))))
	if b.eval(`String(document.querySelector('[data-testid="group-Patients"]').indeterminate)`) != "true" {
		t.Fatal("Patients group box is not indeterminate with some ticked")
	}
	if got := b.text(testid("perm-count")); got == count {
		t.Fatalf("count did not change: %q", got)
	}
	b.do("enable all Billing", chromedp.Click(chromedp.CSS(`[data-testid="group-Billing"]`)))
	if !b.checked("perm-billing.view") || !b.checked("perm-billing.manage") {
		t.Fatal("group box did not tick the whole group")
	}
	b.eval(`document.querySelector("dialog[open]").scrollTop = 0; ""`)
	b.screenshot("role-modal")

	// A mistake: the form comes back with the message beside the field and the input kept.
	b.do("submit without a name", b.fill("#f-name", "!!!"),
		chromedp.Click(chromedp.CSS(testid("save-role"))), chromedp.WaitVisible(chromedp.CSS(testid("problem-name"))))
	if got := b.eval(`document.querySelector("#f-description").value`); got != "Coordinates nurses across sites." {
		t.Fatalf("description lost after the error: %q", got)
	}
	if !b.checked("perm-billing.manage") || b.checked("perm-patients.contact") {
		t.Fatal("ticks lost after the error")
	}
	b.checkA11y("add role with an error")
	b.do("fix and save", b.fill("#f-name", "Travel Nurse Lead"),
		chromedp.Click(chromedp.CSS(testid("save-role"))),
		chromedp.WaitVisible(chromedp.CSS(`[data-code="TRAVEL_NURSE_LEAD"]`)))
	if b.eval(`String(window.__sameDocument)`) != "yes" {
		t.Fatal("the page reloaded; the row should appear in place")
	}
	if b.eval(`String(!!document.querySelector("dialog[open]"))`) != "false" {
		t.Fatal("the dialog stayed open after saving")
	}

	// Select members, with search.
	addStaff(t, p, "Ben Okafor", "Chloé Martin", "Dev Patel")
	b.settled()
	b.do("open members", chromedp.Click(chromedp.CSS(`[data-code="TRAVEL_NURSE_LEAD"] `+testid("role-members"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("members-form"))))
	b.checkA11y("select members")
	b.do("search", b.typeInto("#members-q", "chlo"), chromedp.WaitNotPresent(chromedp.CSS(testid("member-ben.okafor@northside.example"))))
	b.do("tick Chloé", chromedp.Click(chromedp.CSS(testid("member-chloé.martin@northside.example"))))
	b.impactReady()
	b.screenshot("members-modal")
	b.do("save members", chromedp.Click(chromedp.CSS(testid("save-members"))))
	b.waitJS(`document.querySelector("[data-testid=flash]") && document.querySelector("[data-testid=flash]").textContent.includes("Members of")`)
	if got := b.eval(`document.querySelector('[data-code="TRAVEL_NURSE_LEAD"] td.num').textContent.trim()`); got != "1" {
		t.Fatalf("members after saving: %q", got)
	}

	// Edit: deactivate.
	b.settled()
	b.do("edit", chromedp.Click(chromedp.CSS(`[data-code="TRAVEL_NURSE_LEAD"] `+testid("edit-role"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("role-form"))))
	if got := b.text(testid("code")); got != "TRAVEL_NURSE_LEAD" {
		t.Fatalf("edit shows code %q", got)
	}
	b.do("deactivate and save", chromedp.Click(chromedp.CSS(`input[name=status][value=inactive]`)),
		chromedp.Click(chromedp.CSS(testid("save-role"))),
		chromedp.WaitVisible(chromedp.CSS(`[data-code="TRAVEL_NURSE_LEAD"] .badge--muted`)))

	// Delete with members: reassign to Staff.
	b.settled()
	b.do("delete", chromedp.Click(chromedp.CSS(`[data-code="TRAVEL_NURSE_LEAD"] `+testid("delete-role"))),
		chromedp.WaitVisible(chromedp.CSS(testid("delete-panel"))))
	if got := b.text(testid("holders-warning")); got != "1 user holds this role." {
		t.Fatalf("delete warns %q", got)
	}
	b.checkA11y("delete role")
	b.do("reassign", chromedp.SetValue(chromedp.CSS(testid("reassign-to")), b.roleIDByCode("STAFF")))
	b.eval(`document.querySelector("[data-testid=reassign-to]").dispatchEvent(new Event("change", {bubbles: true})); ""`)
	b.impactReady()
	b.do("and delete", chromedp.Click(chromedp.CSS(testid("reassign-delete"))))
	b.waitJS(`document.querySelector("[data-testid=flash]") && document.querySelector("[data-testid=flash]").textContent.includes("deleted")`)
	if b.eval(`String(!!document.querySelector('[data-code="TRAVEL_NURSE_LEAD"]'))`) != "false" {
		t.Fatal("deleted role still listed")
	}
	if got := b.eval(`document.querySelector('[data-code="STAFF"] td.num').textContent.trim()`); got != "1" {
		t.Fatalf("Staff members after reassigning: %q", got)
	}

	// The grid and details.
	b.visit(p.URL, "/roles/grid")
	b.screenshot("grid")
	b.visit(p.URL, "/permissions")
}

func (b *browser) checked(id string) bool {
	return b.eval(fmt.Sprintf(`String(document.querySelector('[data-testid=%q]').checked)`, id)) == "true"
}

func (b *browser) roleIDByCode(code string) string {
	return b.eval(fmt.Sprintf(`(function(){var r=document.querySelector('[data-code=%q] a'); return r ? r.getAttribute("href").split("/").pop() : Array.from(document.querySelectorAll("#from option, [data-testid=reassign-to] option")).filter(o => o.textContent.trim().toUpperCase().replace(/[^A-Z0-9]+/g,"_") === %q).map(o => o.value)[0] || ""})()`, code, code))
}
