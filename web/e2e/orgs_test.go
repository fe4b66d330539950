package e2e

import (
	"context"
	"fmt"
	"github.com/rolegate/rolegate/internal/auth"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/store"
)

// TestOrganisationsFlow models a group practice with locations: sub-organisations made from
// the tree, settings and defaults on one of them, then a role created there from the roles
// list's organisation picker.
func TestOrganisationsFlow(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)

	b.do("open Organisations", chromedp.Click(chromedp.CSS(`.mainnav a[href="/orgs"]`)), chromedp.WaitVisible(chromedp.CSS(testid("org-tree"))))
	b.checkA11y("organisations")
	node := func(name string) string { return `[data-testid=org-node][data-name="` + name + `"]` }
	create := func(name, parentLabel string) {
		b.t.Helper()
		b.do("name "+name, b.fill("#f-name", name))
		if parentLabel != "" {
			b.do("inside "+parentLabel, chromedp.SetValue(chromedp.CSS(testid("new-org-parent")), b.optionValue(testid("new-org-parent"), parentLabel)))
		}
		b.do("create "+name, chromedp.Click(chromedp.CSS(testid("create-org"))), chromedp.WaitVisible(chromedp.CSS(node(name))))
		if got := b.text(testid("flash")); got != "Organisation “"+name+"” created." {
			t.Fatalf("flash after creating %s: %q", name, got)
		}
	}
	create("Eastside Clinic", "")
	create("Westside Clinic", "Northside Practice")
	create("Eastside Physiotherapy", "Northside Practice › Eastside Clinic")
	if got := b.eval(`document.querySelector('` + node("Eastside Clinic") + ` ` + node("Eastside Physiotherapy") + `') ? "nested" : "flat"`); got != "nested" {
		t.Fatal("Eastside Physiotherapy is not shown under Eastside Clinic")
	}

	// A name its siblings use: the problem beside the field, what was typed kept.
	b.do("a duplicate", b.fill("#f-name", "westside clinic"), chromedp.Click(chromedp.CSS(testid("create-org"))),
		chromedp.WaitVisible(chromedp.CSS(testid("problem-name"))))
	if got := b.text(testid("problem-name")); got != "Northside Practice already has an organisation called westside clinic." {
		t.Fatalf("duplicate name says %q", got)
	}
	b.checkA11y("organisations with a problem")

	// Eastside's page: one role per person, and a default.
	b.do("open Eastside", chromedp.Click(chromedp.CSS(node("Eastside Clinic")+" > .org-node a")), chromedp.WaitVisible(chromedp.CSS(testid("org-title"))))
	b.checkA11y("organisation page")
	east := strings.TrimPrefix(b.location(), "/orgs/")
	b.do("one role per person", chromedp.Click(chromedp.CSS(testid("role-mode-one"))), chromedp.Click(chromedp.CSS(testid("settings-submit"))),
		chromedp.WaitVisible(chromedp.CSS(testid("flash"))))
	if got := b.text(testid("flash")); got != "Settings saved." {
		t.Fatalf("flash after the settings: %q", got)
	}
	b.do("deny eRx by default", chromedp.SetValue(chromedp.CSS(testid("d-clinical.erx")), "deny"))
	b.eval(`document.querySelector("[data-testid='d-clinical.erx']").dispatchEvent(new Event("change", {bubbles: true})); ""`)
	b.impactReady()
	b.do("save the defaults", chromedp.Click(chromedp.CSS(testid("defaults-submit"))))
	b.waitJS(`document.querySelector("[data-testid=flash]") && document.querySelector("[data-testid=flash]").textContent === "Permission defaults saved."`)
	if got := b.eval(`document.querySelector("[data-testid=d-clinical\\.erx]").value`); got != "deny" {
		t.Fatalf("eRx default after saving: %q", got)
	}
	b.checkA11y("organisation page after saving")
	b.screenshot("org")

	// The tree with people in it.
	var eastID int64
	fmt.Sscan(east, &eastID)
	addStaff(t, p, "Ben Okafor", "Chloé Martin")
	if _, err := p.App.Store.AddStaff(context.Background(), []store.NewStaff{{Email: "dev.patel@northside.example", Name: "Dev Patel", PasswordHash: "x", OrgID: eastID},
		{Email: "emeka.mensah@northside.example", Name: "Emeka Mensah", PasswordHash: "x", OrgID: eastID}}); err != nil {
		t.Fatal(err)
	}
	b.visit(p.URL, "/orgs")
	if got := b.text(node("Eastside Clinic") + " > .org-node [data-testid=org-staff]"); got != "2 staff" {
		t.Fatalf("Eastside's staff count: %q", got)
	}
	b.screenshot("orgs")

	// The roles list: switch to Eastside in the picker and create a role there.
	b.visit(p.URL, "/roles")
	b.do("pick Eastside", chromedp.SetValue(chromedp.CSS(testid("roles-org")), east))
	b.eval(`document.querySelector("[data-testid=roles-org]").dispatchEvent(new Event("change", {bubbles: true})); ""`)
	b.waitJS(`location.search.includes("org=` + east + `") && document.querySelector("[data-testid=add-role]").getAttribute("href").includes("org=` + east + `")`)
	b.settled()
	if n := b.rowCount(); n != 0 {
		t.Fatalf("Eastside lists %d roles; its roles are its own", n)
	}
	if got := b.eval(`document.querySelector("[data-testid=roles-org]").selectedOptions[0].textContent`); got != "Northside Practice › Eastside Clinic" {
		t.Fatalf("the picker shows %q", got)
	}
	b.checkA11y("roles of Eastside")
	b.do("open Add role", chromedp.Click(chromedp.CSS(testid("add-role"))), chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("role-form"))))
	b.checkA11y("add role in Eastside")
	b.do("make Physio Lead", b.typeInto("#f-name", "Physio Lead"), chromedp.Click(chromedp.CSS(testid("perm-scheduling.access"))),
		chromedp.Click(chromedp.CSS(testid("save-role"))), chromedp.WaitVisible(chromedp.CSS(`[data-code="PHYSIO_LEAD"]`)))
	rows, _, err := p.App.Store.ListRoles(context.Background(), store.RoleQuery{OrgID: eastID, Q: "PHYSIO_LEAD"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("Physio Lead in Eastside: %v, %v", rows, err)
	}
	b.checkA11y("roles of Eastside with the new role")
	b.screenshot("roles-eastside")

	// Member visibility: Fay administers Eastside. With "Limit organisation members
	// visibility" on, Select members shows her Eastside's staff only; off, everyone.
	hash, err := auth.HashPassword(context.Background(), "fay's own passphrase")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := p.App.Store.AddStaff(context.Background(), []store.NewStaff{{Email: "fay.admin@northside.example", Name: "Fay Admin", PasswordHash: hash, OrgID: eastID}})
	if err != nil {
		t.Fatal(err)
	}
	admins, _, err := p.App.Store.ListRoles(context.Background(), store.RoleQuery{OrgID: 1, Q: "ADMIN"})
	if err != nil || len(admins) == 0 {
		t.Fatalf("the Administrator role: %v", err)
	}
	if err := p.App.Store.AssignRole(context.Background(), ids[0], admins[0].ID, eastID, 0, 1); err != nil {
		t.Fatal(err)
	}
	fay := b.freshContext()
	fay.visit(p.URL, "/login")
	fay.signIn("fay.admin@northside.example", "fay's own passphrase")
	fay.do("home", chromedp.WaitVisible(chromedp.CSS(testid("welcome"))))
	candidates := func() string {
		fay.visit(p.URL, "/roles?org="+east)
		fay.do("open Select members", chromedp.Click(chromedp.CSS(`[data-code="PHYSIO_LEAD"] `+testid("role-members"))),
			chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("members-form"))))
		fay.checkA11y("select members as Fay")
		return fay.eval(`Array.from(document.querySelectorAll("dialog[open] [data-testid^=member-]")).map(e => e.getAttribute("data-testid").slice(7).split("@")[0]).sort().join(" ")`)
	}
	if got := candidates(); got != "dev.patel emeka.mensah fay.admin" {
		t.Fatalf("with visibility limited Fay sees %q", got)
	}
	b.visit(p.URL, "/orgs/"+east)
	b.do("visibility: No", chromedp.Click(chromedp.CSS(testid("visibility-no"))), chromedp.Click(chromedp.CSS(testid("settings-submit"))))
	b.waitJS(`document.querySelector("[data-testid=flash]") && document.querySelector("[data-testid=flash]").textContent === "Settings saved."`)
	if got := candidates(); got != "ana.ruiz ben.okafor chloé.martin dev.patel emeka.mensah fay.admin" {
		t.Fatalf("with visibility not limited Fay sees %q", got)
	}
}
