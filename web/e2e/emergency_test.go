package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/config"
)

// TestBreakTheGlass: the admin offers View billing in an emergency; a nurse refused by the
// billing tool takes it from the refusal page with a reason, works under the red banner, and
// the admin reviews the use (issue 15).
func TestBreakTheGlass(t *testing.T) {
	p := startPortal(t, func(c *config.Config) { c.TrustedProxySetting("127.0.0.1") })
	b := newBrowser(t)
	b.setUp(p)
	protectedTool(t, p, "billing.view")
	nurse := staffWithRole(t, p, "nkechi@northside.example", "Nkechi Nwachukwu-Adebayo", "the night nurse's passphrase", "NURSE")

	// The admin offers View billing, for up to two hours, on the organisation page.
	b.visit(p.URL, "/orgs/1")
	b.do("offer View billing in an emergency", chromedp.Click(chromedp.CSS(testid("emergency-enabled"))),
		chromedp.Click(chromedp.CSS(testid("emergency-offer-billing.view"))),
		chromedp.SetValue(chromedp.CSS(testid("emergency-max")), "120"),
		b.markPage(), chromedp.Click(chromedp.CSS(testid("emergency-settings-save"))))
	b.waitNewPage()
	b.flashContains("Emergency access saved")
	b.checkA11y("organisation page with emergency access")

	// The nurse is refused by the billing tool; the refusal offers emergency access.
	n := b.freshContext()
	n.visit(p.URL, "/login")
	n.signIn("nkechi@northside.example", "the night nurse's passphrase")
	n.do("ask as the proxy would", proxyHeaders(network.Headers{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "reports.clinic.example",
		"X-Forwarded-Uri": "/claims", "X-Forwarded-Method": "GET"}),
		chromedp.Navigate(p.URL+"/auth/forward"), chromedp.WaitVisible(chromedp.CSS(testid("refusal-emergency"))))
	n.checkA11y("refusal page offering emergency access")
	n.screenshot("emergency-refusal")
	// The link is the portal's address as the proxy gave it (https://…); this portal
	// answers plain HTTP on loopback, so the test follows its path there.
	href := n.eval(`(u => u.pathname + u.search)(new URL(document.querySelector("[data-testid=refusal-emergency]").href))`)
	if !strings.HasPrefix(href, "/emergency/new?") {
		t.Fatalf("the refusal's emergency link goes to %q", href)
	}
	n.do("stop acting as a proxy", proxyHeaders(network.Headers{}))
	n.do("open emergency access", chromedp.Navigate(p.URL+href), chromedp.WaitVisible(chromedp.CSS(testid("emergency-form"))))
	if got := n.eval(`String(document.querySelector("[data-testid='emergency-perm-billing.view']").checked)`); got != "true" {
		t.Fatal("the permission the tool needs is not ticked")
	}
	n.do("say why", n.typeInto("#emergency-reason", "Patient collapsed at reception; the ambulance needs their insurer"),
		chromedp.SetValue(chromedp.CSS(testid("emergency-minutes")), "60"))
	n.checkA11y("emergency access form")
	n.screenshot("emergency-form")
	n.do("take it", n.markPage(), chromedp.Click(chromedp.CSS(testid("emergency-take"))))
	n.waitNewPage()
	banner := n.text(testid("emergency-banner"))
	if !strings.Contains(banner, "View billing") || !strings.Contains(banner, "min left") {
		t.Fatalf("the banner says %q", banner)
	}
	n.checkA11y("home page under emergency access")
	n.screenshotView("emergency-banner")
	if !p.App.Access.Now().Can(nurse, 1, "billing.view") {
		t.Fatal("the nurse does not hold View billing")
	}

	// The admin is told on the home page and reviews the use.
	b.visit(p.URL, "/")
	b.do("open the review", chromedp.Click(chromedp.CSS(testid("home-emergency-review"))),
		chromedp.WaitVisible(chromedp.CSS(testid("emergency-review-form"))))
	if got := b.text(testid("emergency-use-reason")); got != "Patient collapsed at reception; the ambulance needs their insurer" {
		t.Fatalf("the queue shows the reason %q", got)
	}
	b.checkA11y("emergency review queue")
	b.screenshot("emergency-review")
	b.do("record it", chromedp.Click(chromedp.CSS(testid("review-justified"))),
		b.typeInto(testid("review-note"), "Confirmed with the ambulance crew"),
		b.markPage(), chromedp.Click(chromedp.CSS(testid("review-save"))))
	b.waitNewPage()
	if got := b.text(testid("emergency-decision")); !strings.Contains(got, "Justified") || !strings.Contains(got, "Confirmed with the ambulance crew") {
		t.Fatalf("after the review the queue says %q", got)
	}
	// The nurse ends it from the banner.
	n.do("End now", n.markPage(), chromedp.Click(chromedp.CSS(testid("emergency-end"))))
	n.waitNewPage()
	if n.eval(`String(!!document.querySelector("[data-testid=emergency-banner]"))`) != "false" || p.App.Access.Now().Can(nurse, 1, "billing.view") {
		t.Fatal("End now left the emergency access on")
	}
}
