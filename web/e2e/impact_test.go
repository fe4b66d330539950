package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A practice manager edits a role held by a dozen of the practice's 45 people and, before
// saving, reads who gains and who loses what, by name (PRODUCT.md §2.12); the preview
// follows each tick; saving gives exactly that. The same on a phone.
func TestEditRoleReadsTheImpactFirst(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	ids := seedPractice(t, p)
	role := customRole(t, p, "NIGHT_TRIAGE", "Night Triage", "patients.contact", "scheduling.access")
	holders := ids[:12] // Noor, Olga, نور الهدى, Ольга, 陈静, Βασιλική, Ngozi … and five more
	if err := p.App.Store.SetRoleHolders(context.Background(), role, 1, holders, nil, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.App.Access.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}

	b.visit(p.URL, "/roles")
	b.do("edit", chromedp.Click(chromedp.CSS(`[data-code="NIGHT_TRIAGE"] `+testid("edit-role"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("role-form"))))
	if got := b.text(testid("impact-summary")); got != "Change the form to see who would gain or lose access." {
		t.Fatalf("before any change the preview says %q", got)
	}
	b.do("grant Export patient data", b.clickCentred("dialog[open] "+testid("perm-patients.export")))
	b.impactReady()
	if got := (b.text(testid("impact-gain"))); !strings.HasPrefix(got, "12 people gain Export patient data: Amira Benali, Bruno Costa, ") ||
		!strings.Contains(got, "Noor Haddad") || !strings.HasSuffix(got, "and 4 more") {
		t.Fatalf("after one tick: %q", got)
	}
	if got := b.text(testid("impact-note")); got != "Saving changes the access of 12 people" {
		t.Fatalf("beside Save: %q", got)
	}
	b.do("take Contact patient", b.clickCentred("dialog[open] "+testid("perm-patients.contact")))
	b.impactReady()
	if got := b.text(testid("impact-summary")); got != "This change gives or takes access of 12 people:" {
		t.Fatalf("summary: %q", got)
	}
	if got := (b.text(testid("impact-lose"))); !strings.HasPrefix(got, "12 people lose Contact patient: Amira Benali, Bruno Costa") {
		t.Fatalf("after untick: %q", got)
	}
	b.do("open the full list", chromedp.Click(chromedp.CSS(testid("impact-gain")+" details summary")))
	if got := (b.text(testid("impact-gain") + " details p")); !strings.Contains(got, "نور الهدى عبد الرحمن") || !strings.Contains(got, "יעל כהן") || !strings.Contains(got, "陈静") {
		t.Fatalf("the full list: %q", got)
	}
	b.checkA11y("edit role with its impact preview")
	b.eval(`document.querySelector("[data-testid=impact]").scrollIntoView({block: "start"}); ""`)
	b.screenshot("role-impact")

	b.do("save", chromedp.Click(chromedp.CSS("dialog[open] "+testid("save-role"))))
	b.flashContains("Role “Night Triage” saved.")
	snap := p.App.Access.Now()
	for _, id := range holders {
		if !snap.Can(id, 1, "patients.export") || snap.Can(id, 1, "patients.contact") {
			t.Fatalf("person %d after saving: not what the preview said", id)
		}
	}

	// A phone: the same dialog, the preview readable without sideways scrolling.
	b.do("phone", chromedp.EmulateViewport(390, 844))
	b.visit(p.URL, "/roles/"+itoa(role)+"/edit")
	b.do("grant provider selection", b.clickCentred(testid("perm-scheduling.all_providers")))
	b.impactReady()
	if got := b.text(testid("impact-gain")); !strings.HasPrefix(got, "12 people gain Appointment provider selection") {
		t.Fatalf("phone preview: %q", got)
	}
	b.noSidewaysScroll("role edit with a preview on a phone")
	b.checkA11y("role edit preview on a phone")
	b.eval(`document.querySelector("[data-testid=impact]").scrollIntoView({block: "start"}); ""`)
	b.screenshotView("role-impact-phone")
}

// clickCentred scrolls the element to the middle of its scrolling box first, as a person
// would before clicking: at an edge, a dialog's sticky footer may cover it.
func (b *browser) clickCentred(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){document.querySelector(`+strconv.Quote(sel)+`).scrollIntoView({block: "center"}); return true})()`))
			return err
		}),
		chromedp.Click(chromedp.CSS(sel)),
	)
}
