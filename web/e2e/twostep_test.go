package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
)

// authenticatorCode is what an authenticator app shows for the key the page gave, at.
func authenticatorCode(t *testing.T, key string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(strings.ReplaceAll(key, " ", ""), at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A person sets up an authenticator app on the Account page (scanning the QR code or typing
// the key), saves the recovery codes, signs out, and signing in then asks for the code
// (issue 13 items 2 and 3).
func TestTwoStepSetUpAndSignIn(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	b.visit(p.URL, "/account")
	b.checkA11y("account, two-step off")
	b.do("set up an authenticator app", b.typeInto("#start-password", adminPassword), b.markPage(),
		chromedp.Click(chromedp.CSS(testid("two-step-start"))))
	b.waitNewPage()
	if b.location() != "/account/two-step" {
		t.Fatalf("after starting, at %s", b.location())
	}
	b.waitJS(`document.querySelector("[data-testid=two-step-qr]").complete && document.querySelector("[data-testid=two-step-qr]").naturalWidth === 200`)
	key := b.text(testid("two-step-secret"))
	b.checkA11y("enrol")
	b.screenshot("two-step-enrol")
	b.do("a wrong code", b.typeInto("#f-code", "000000"), b.markPage(), chromedp.Click(chromedp.CSS(testid("enrol-confirm"))))
	b.waitNewPage()
	if got := b.text(".field--invalid .problem"); !strings.Contains(got, "That code is not right") {
		t.Fatalf("wrong code: %q", got)
	}
	b.do("the app's code", b.fill("#f-code", authenticatorCode(t, key, time.Now())), b.markPage(), chromedp.Click(chromedp.CSS(testid("enrol-confirm"))))
	b.waitNewPage()
	codes := strings.Fields(b.text(testid("recovery-list")))
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %q", codes)
	}
	b.checkA11y("recovery codes")
	b.screenshot("two-step-codes")
	b.do("saved", b.markPage(), chromedp.Click(chromedp.CSS(testid("codes-done"))))
	b.waitNewPage()
	if got := b.text(testid("two-step-state")); !strings.Contains(got, "Recovery codes left: 10") {
		t.Fatalf("account: %q", got)
	}

	b.signOut()
	b.signIn(adminEmail, adminPassword)
	if !strings.HasPrefix(b.location(), "/login/two-step") {
		t.Fatalf("after the password, at %s", b.location())
	}
	b.checkA11y("two-step sign-in")
	b.screenshot("two-step-sign-in")
	b.do("code", b.typeInto("#f-code", authenticatorCode(t, key, time.Now().Add(30*time.Second))), b.markPage(),
		chromedp.Click(chromedp.CSS(testid("two-step-submit"))))
	b.waitNewPage()
	if b.location() != "/" {
		t.Fatalf("after the code, at %s", b.location())
	}
	// On a phone, with a recovery code instead.
	b.signOut()
	b.do("phone", chromedp.EmulateViewport(390, 844))
	b.signIn(adminEmail, adminPassword)
	b.do("recovery code", b.typeInto("#f-code", codes[3]), b.markPage(), chromedp.Click(chromedp.CSS(testid("two-step-submit"))))
	b.waitNewPage()
	if got := b.text(".flash, [role=status]"); !strings.Contains(got, "9 left") {
		t.Fatalf("after a recovery code: %q", got)
	}
}

// An administrator requires two-step sign-in for everyone at Northside; a nurse who signs
// in with her password is led to set it up and reaches nothing else until she has (issue 13
// item 4).
func TestTwoStepRequiredByPolicy(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	hash, err := auth.HashPassword(context.Background(), "a nurse's long password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.App.Store.AddStaff(context.Background(), []store.NewStaff{{Email: "zoe@northside.example", Name: "Zoë Παπαδοπούλου", PasswordHash: hash, OrgID: 1}}); err != nil {
		t.Fatal(err)
	}
	b.visit(p.URL, "/orgs/1")
	b.do("require it for everyone", chromedp.Click(chromedp.CSS(testid("two-step-everyone"))), b.markPage(),
		chromedp.Click(chromedp.CSS(testid("settings-submit"))))
	b.waitNewPage()

	n := b.freshContext()
	n.visit(p.URL, "/login")
	n.signIn("zoe@northside.example", "a nurse's long password")
	if n.location() != "/account/two-step/required" {
		t.Fatalf("after the password, at %s", n.location())
	}
	n.checkA11y("two-step required")
	n.screenshot("two-step-required")
	n.visit(p.URL, "/staff")
	if n.location() != "/account/two-step/required" {
		t.Fatalf("the staff list under the policy, at %s", n.location())
	}
	n.do("set up", n.typeInto("#start-password", "a nurse's long password"), n.markPage(), chromedp.Click(chromedp.CSS(testid("two-step-start"))))
	n.waitNewPage()
	key := n.text(testid("two-step-secret"))
	n.do("the app's code", n.typeInto("#f-code", authenticatorCode(t, key, time.Now())), n.markPage(), chromedp.Click(chromedp.CSS(testid("enrol-confirm"))))
	n.waitNewPage()
	n.do("saved", n.markPage(), chromedp.Click(chromedp.CSS(testid("codes-done"))))
	n.waitNewPage()
	if n.location() != "/account" {
		t.Fatalf("after setting up, at %s", n.location())
	}
	n.visit(p.URL, "/")
	if n.location() != "/" {
		t.Fatalf("the home page after setting up, at %s", n.location())
	}
}
