package e2e

import (
	"context"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestInviteAcceptAndPersonPage brings a colleague from invitation to working account
// without leaving the browser, then answers "why can they do this?" on their page.
func TestInviteAcceptAndPersonPage(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	// Let the page use the clipboard, as a person's browser would after their click.
	b.do("allow the clipboard", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.Call(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{Origin: p.URL,
				Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted}); err != nil {
				return err
			}
		}
		return nil
	}))

	// Invite Ben from the staff list.
	b.visit(p.URL, "/staff")
	b.do("open Invite staff", chromedp.Click(chromedp.CSS(testid("invite-staff"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("invite-form"))))
	b.checkA11y("invite modal")
	b.do("type who", b.typeInto("#f-email", "ben.okafor@northside.example"), b.typeInto("#f-name", "Ben Okafor"))

	// No fitting role yet: Add a new role, and come back with it selected.
	b.do("Add a new role", chromedp.Click(chromedp.CSS(testid("add-new-role"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("role-form"))))
	b.checkA11y("add role from the invitation")
	b.do("make Front Desk", b.typeInto("#f-name", "Front Desk"), chromedp.Click(chromedp.CSS(testid("perm-scheduling.access"))),
		chromedp.Click(chromedp.CSS(testid("save-role"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("new-role-selected"))))
	b.settled()
	if got := b.eval(`document.querySelector("#invite-role").selectedOptions[0].textContent`); got != "Front Desk" {
		t.Fatalf("back at the invitation, the role selected is %q", got)
	}
	if got := b.eval(`document.querySelector("#f-email").value + " / " + document.querySelector("#f-name").value`); got != "ben.okafor@northside.example / Ben Okafor" {
		t.Fatalf("what was typed before Add a new role is lost: %q", got)
	}
	b.checkA11y("invite modal with the new role")
	b.screenshot("invite-modal")

	b.do("create the invitation", chromedp.Click(chromedp.CSS(testid("send-invitation"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("invite-link"))))
	b.checkA11y("invitation link")
	link := b.eval(`document.querySelector("#invite-link").value`)
	if !strings.HasPrefix(link, p.URL+"/invite/") {
		t.Fatalf("invitation link %q", link)
	}
	b.do("copy the link", chromedp.Click(chromedp.CSS(testid("copy-link"))))
	b.waitJS(`document.querySelector("[data-testid=copy-link]").textContent === "Copied"`)
	copied, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || copied != link {
		t.Fatalf("clipboard holds %q (%v), want the link", copied, err)
	}
	b.screenshot("invitation-link")
	b.do("done", chromedp.Click(chromedp.CSS(testid("sent-done"))))
	b.waitJS(`!document.querySelector("dialog[open]") && document.querySelector("[data-status=invited]")`)
	b.screenshot("staff")

	// Ben opens the link in his own browser, chooses a password and is signed in.
	ben := b.freshContext()
	ben.do("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(testid("accept-form"))))
	ben.checkA11y("accept invitation")
	if got := ben.text(testid("invitation-offer")); got != "Ana Ruiz invites you to Northside Practice as Front Desk." {
		t.Fatalf("the invitation says %q", got)
	}
	ben.screenshot("accept")
	ben.do("choose a password", ben.typeInto("#f-password", "ben's own passphrase"),
		chromedp.Click(chromedp.CSS(testid("accept-submit"))), chromedp.WaitVisible(chromedp.CSS(testid("welcome"))))
	ben.checkA11y("home after accepting")
	if got := ben.text(testid("flash")); !strings.Contains(got, "Welcome to Northside Practice") {
		t.Fatalf("flash after accepting: %q", got)
	}
	// He sees only what Front Desk allows: no Roles, Permissions or Staff.
	if nav := ben.text(".mainnav"); nav != "Home" {
		t.Fatalf("Ben's navigation: %q", nav)
	}
	ben.visit(p.URL, "/staff")
	if got := ben.text("h1"); got != "You do not have access to this" {
		t.Fatalf("Ben reaches the staff list: %q", got)
	}
	// The link works once.
	ben.visit(p.URL, strings.TrimPrefix(link, p.URL))
	if got := ben.text(testid("unusable-title")); got != "This invitation was already used" {
		t.Fatalf("reused link: %q", got)
	}
	// He signs out and in again with his new password.
	ben.visit(p.URL, "/")
	ben.signOut()
	ben.signIn("ben.okafor@northside.example", "ben's own passphrase")
	ben.do("home", chromedp.WaitVisible(chromedp.CSS(testid("welcome"))))

	// Ana opens Ben's page: why can he schedule? Then she moves him to Billing Staff.
	b.visit(p.URL, "/staff")
	b.do("open Ben", chromedp.Click(chromedp.CSS(`[data-status=active] a[href^="/staff/"]:not([href="/staff/1"])`)),
		chromedp.WaitVisible(chromedp.CSS(testid("effective"))))
	b.checkA11y("person page")
	if got := b.text(testid("why-scheduling.access")); got != "Granted by role Front Desk in Northside Practice." {
		t.Fatalf("scheduling.access: %q", got)
	}
	if got := b.text(testid("why-billing.view")); got != "No role, override or default grants it." {
		t.Fatalf("billing.view before: %q", got)
	}
	b.do("move to Billing Staff", chromedp.SetValue(chromedp.CSS(testid("move-FRONT_DESK")), b.optionValue(testid("move-FRONT_DESK"), "Billing Staff")),
		chromedp.Click(chromedp.CSS(testid("change-FRONT_DESK"))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=held-role][data-code=BILLING_STAFF]`)))
	if got := b.text(testid("why-billing.view")); got != "Granted by role Billing Staff in Northside Practice." {
		t.Fatalf("billing.view after the move: %q", got)
	}
	if got := b.text(testid("why-scheduling.access")); got != "No role, override or default grants it." {
		t.Fatalf("scheduling.access after the move: %q", got)
	}
	// A deny override beats the role, and says who set it.
	b.do("deny billing.manage", chromedp.SetValue(chromedp.CSS(testid("ov-billing.manage")), "deny"),
		chromedp.Click(chromedp.CSS(testid("ov-save-billing.manage"))))
	b.waitJS(`document.querySelector("[data-testid=flash]") && document.querySelector("[data-testid=flash]").textContent.includes("Override saved")`)
	if got := b.text(testid("why-billing.manage")); got != "Denied by a user-level override in Northside Practice set by Ana Ruiz." {
		t.Fatalf("billing.manage after the override: %q", got)
	}
	b.checkA11y("person page after changes")
	b.screenshot("person")
}

// optionValue is the value of the option labelled label in the select sel.
func (b *browser) optionValue(sel, label string) string {
	return b.eval(`Array.from(document.querySelectorAll(` + jsString(sel+" option") + `)).filter(o => o.textContent.trim() === ` + jsString(label) + `).map(o => o.value)[0] || ""`)
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
