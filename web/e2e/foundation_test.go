package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	adminEmail    = "ana.ruiz@northside.example"
	adminPassword = "correct horse battery staple"
)

// A newcomer sets up the portal, signs out and in again, and a copied session cookie is
// worthless once they have signed out.
func TestSetupSignInSignOut(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)

	// Any address leads to setup on a fresh install.
	b.visit(p.URL, "/account")
	if got := b.location(); got != "/setup" {
		t.Fatalf("fresh install sent / to %q, want /setup", got)
	}
	b.screenshot("setup")

	// A mistake keeps what was typed and says what is wrong, beside the field.
	b.do("fill setup with a short password",
		b.typeInto("#f-org", "Northside Practice"),
		b.typeInto("#f-name", "Ana Ruiz"),
		b.typeInto("#f-email", adminEmail),
		b.typeInto("#f-password", "too short"),
		chromedp.Click(chromedp.CSS(testid("setup-submit"))),
		chromedp.WaitVisible(chromedp.CSS(testid("problem-password"))),
	)
	if got := b.text(testid("problem-password")); !strings.Contains(got, "at least 12 characters") {
		t.Fatalf("password problem = %q", got)
	}
	if got := b.eval(`document.querySelector("#f-org").value`); got != "Northside Practice" {
		t.Fatalf("organisation not kept after the error: %q", got)
	}
	b.checkA11y("setup with errors")
	b.screenshot("setup-error")

	b.do("finish setup",
		b.typeInto("#f-password", adminPassword),
		chromedp.Click(chromedp.CSS(testid("setup-submit"))),
		chromedp.WaitVisible(chromedp.CSS(testid("welcome"))),
	)
	if got := b.text(testid("welcome")); got != "Welcome, Ana" {
		t.Fatalf("home greets %q", got)
	}
	if got := b.text(testid("org-name")); got != "Northside Practice" {
		t.Fatalf("header shows organisation %q", got)
	}
	if got := b.text(testid("flash")); !strings.Contains(got, "Your organisation is ready") {
		t.Fatalf("flash = %q", got)
	}
	b.checkA11y("home")
	b.screenshot("home")

	// htmx is the vendored 2.0.x, configured from the meta tag.
	if v := b.eval(`htmx.version`); !strings.HasPrefix(v, "2.0.") {
		t.Fatalf("htmx version %q, want 2.0.x", v)
	}
	if cfg := b.eval(`JSON.stringify([htmx.config.selfRequestsOnly, htmx.config.allowEval, htmx.config.allowScriptTags, htmx.config.historyCacheSize])`); cfg != "[true,false,false,0]" {
		t.Fatalf("htmx config %s", cfg)
	}

	// Sign out through the user menu.
	b.signOut()
	if got := b.text(testid("flash")); got != "You have signed out." {
		t.Fatalf("after sign-out: %q", got)
	}
	b.checkA11y("sign-in")

	// Wrong password: one message, whatever was wrong.
	b.signIn(adminEmail, "not my password at all")
	if got := b.text(testid("form-error")); got != "That email and password do not match an active account." {
		t.Fatalf("wrong password says %q", got)
	}
	b.checkA11y("sign-in error")
	b.screenshot("sign-in-error")

	b.signIn(adminEmail, adminPassword)
	b.do("see home", chromedp.WaitVisible(chromedp.CSS(testid("welcome"))))
	stolen := b.sessionCookie()
	if stolen == nil || !stolen.HTTPOnly || stolen.SameSite != network.CookieSameSiteLax {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax", stolen)
	}

	b.visit(p.URL, "/account")
	if got := b.text(testid("account-name")); got != "Ana Ruiz" {
		t.Fatalf("account name %q", got)
	}
	b.screenshot("account")
	b.signOut()

	// The copied cookie, put back, no longer opens anything.
	b.do("replay the old cookie", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: stolen.Name, Value: stolen.Value, URL: p.URL})
		return err
	}))
	b.visit(p.URL, "/account")
	if got := b.location(); got != "/login?next=%2Faccount" {
		t.Fatalf("replayed cookie reached %q; want the sign-in page", got)
	}
}

// Signing out everywhere from one browser ends the session of another.
func TestSignOutEverywhere(t *testing.T) {
	p := startPortal(t)
	laptop := newBrowser(t)
	laptop.visit(p.URL, "/setup")
	laptop.do("set up",
		laptop.typeInto("#f-org", "Northside Practice"),
		laptop.typeInto("#f-name", "Ana Ruiz"),
		laptop.typeInto("#f-email", adminEmail),
		laptop.typeInto("#f-password", adminPassword),
		chromedp.Click(chromedp.CSS(testid("setup-submit"))),
		chromedp.WaitVisible(chromedp.CSS(testid("welcome"))),
	)
	phone := laptop.freshContext()
	phone.do("phone size", chromedp.EmulateViewport(390, 844))
	phone.visit(p.URL, "/login")
	phone.signIn(adminEmail, adminPassword)
	phone.do("see home", chromedp.WaitVisible(chromedp.CSS(testid("welcome"))))
	phone.checkA11y("home on a phone")
	phone.screenshot("home-phone")

	laptop.visit(p.URL, "/account")
	if n := laptop.eval(`String(document.querySelectorAll("[data-testid=session-row]").length)`); n != "2" {
		t.Fatalf("account lists %s sessions, want 2", n)
	}
	laptop.do("sign out everywhere",
		chromedp.Click(chromedp.CSS(testid("sign-out-everywhere"))),
		chromedp.WaitVisible(chromedp.CSS(testid("login-form"))),
	)
	if got := laptop.text(testid("flash")); got != "You have been signed out everywhere." {
		t.Fatalf("flash %q", got)
	}
	phone.visit(p.URL, "/")
	if got := phone.location(); got != "/login" {
		t.Fatalf("phone still reaches %q after sign out everywhere", got)
	}
}

func (b *browser) signIn(email, password string) {
	b.t.Helper()
	b.do("sign in as "+email,
		chromedp.WaitVisible(chromedp.CSS(testid("login-form"))),
		chromedp.Clear(chromedp.CSS("#f-email")),
		b.typeInto("#f-email", email),
		b.typeInto("#f-password", password),
		b.markPage(),
		chromedp.Click(chromedp.CSS(testid("login-submit"))),
	)
	// Both the sign-in page and the one after it have a <main>: wait for the next document,
	// not for an element the old one has too (the old node vanishing under a query was the
	// "No node with given id found" flake).
	b.waitNewPage()
}

func (b *browser) signOut() {
	b.t.Helper()
	b.do("sign out",
		chromedp.Click(chromedp.CSS(testid("user-menu")+" summary")),
		chromedp.WaitVisible(chromedp.CSS(testid("sign-out"))),
		chromedp.Click(chromedp.CSS(testid("sign-out"))),
		chromedp.WaitVisible(chromedp.CSS(testid("login-form"))),
	)
}

func (b *browser) sessionCookie() *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.Action[network.GetCookiesResult](func(ctx context.Context, _ *chromedp.Target) (network.GetCookiesResult, error) {
		return chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	}))
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "rolegate_session" {
			return c
		}
	}
	return nil
}
