package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLocumUntilAndExtend invites a locum for three weeks, the locum accepts, and the admin
// reads "until … (in 21 days)" on their page and extends it by a week (issue 15).
func TestLocumUntilAndExtend(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	end := time.Now().Add(21*24*time.Hour + 2*time.Hour).Truncate(time.Minute)

	b.visit(p.URL, "/staff")
	b.do("open Invite staff", chromedp.Click(chromedp.CSS(testid("invite-staff"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("invite-form"))))
	b.do("a locum for three weeks", b.typeInto("#f-email", "dr.whitehorse@locums.example"), b.typeInto("#f-name", "Dr Aiyana Whitehorse-Nakamura"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), b.optionValue("#invite-role", "Nurse")),
		chromedp.SetValue(chromedp.CSS(testid("invite-until")), end.Format("2006-01-02T15:04")))
	b.checkA11y("invite a locum until a date")
	b.screenshot("invite-until")
	b.do("create the invitation", chromedp.Click(chromedp.CSS(testid("send-invitation"))),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] "+testid("invite-link"))))
	if got := b.text(testid("sent-until")); !strings.Contains(got, "until "+end.Format("2 Jan 2006 15:04")) {
		t.Fatalf("the invitation link says %q about its end", got)
	}
	link := b.eval(`document.querySelector("#invite-link").value`)
	b.do("done", chromedp.Click(chromedp.CSS(testid("sent-done"))))

	locum := b.freshContext()
	locum.do("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(testid("accept-form"))))
	locum.do("choose a password", locum.typeInto("#f-password", "a locum's own passphrase"),
		chromedp.Click(chromedp.CSS(testid("accept-submit"))), chromedp.WaitVisible(chromedp.CSS(testid("welcome"))))

	u, err := p.App.Store.UserByEmail(context.Background(), "dr.whitehorse@locums.example")
	if err != nil {
		t.Fatal(err)
	}
	b.visit(p.URL, fmt.Sprintf("/staff/%d?org=1", u.ID))
	want := "until " + end.Format("2 Jan 2006 15:04") + " (in 21 days)"
	if got := b.text(testid("role-until")); got != want {
		t.Fatalf("the person page says %q, want %q", got, want)
	}
	if got := b.text(testid("why-patients.contact")); !strings.Contains(got, ", until "+end.Format("2 Jan 2006 15:04")) {
		t.Fatalf("the reason says %q", got)
	}
	b.checkA11y("person page with a role until a date")
	b.screenshotView("person-until")

	later := end.AddDate(0, 0, 7)
	b.do("extend by a week", chromedp.SetValue(chromedp.CSS(testid("extend-until-NURSE")), later.Format("2006-01-02T15:04")),
		chromedp.Click(chromedp.CSS(testid("extend-NURSE"))))
	b.waitJS(`document.querySelector("[data-testid=role-until]") && document.querySelector("[data-testid=role-until]").textContent.includes("(in 28 days)")`)
	b.checkA11y("person page after Extend")

	// On a phone the role, its end and Extend stay on screen.
	b.do("phone size", chromedp.EmulateViewport(390, 844))
	b.visit(p.URL, fmt.Sprintf("/staff/%d?org=1", u.ID))
	b.noSidewaysScroll("a person page with Extend on a phone")
	b.screenshotView("person-until-phone")
}
