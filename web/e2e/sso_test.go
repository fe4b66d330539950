package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/store"
)

// A nurse signs in with the practice's identity provider (a real OpenID Connect provider in
// the test process, on loopback): the button on the sign-in page, the provider, and back,
// signed in (issue 13 item 6).
func TestSignInWithTheIdentityProvider(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	oc := m.Config()
	secret := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secret, []byte(oc.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startPortal(t, func(c *config.Config) {
		c.OIDC.Issuer, c.OIDC.ClientID, c.OIDC.Name = oc.Issuer, oc.ClientID, "Microsoft"
		c.SetOIDCSecretFile(secret)
	})
	b := newBrowser(t)
	b.setUp(p)
	if _, err := p.App.Store.AddStaff(context.Background(), []store.NewStaff{{Email: "zoe@northside.example", Name: "Zoë Παπαδοπούλου", PasswordHash: "x", OrgID: 1}}); err != nil {
		t.Fatal(err)
	}
	m.QueueUser(&mockoidc.MockUser{Subject: "zoe", Email: "zoe@northside.example", EmailVerified: true})
	n := b.freshContext()
	n.visit(p.URL, "/login")
	if got := n.text(testid("sso-sign-in")); got != "Sign in with Microsoft" {
		t.Fatalf("the button: %q", got)
	}
	n.checkA11y("sign-in with single sign-on")
	n.screenshot("sign-in-sso")
	n.do("sign in with Microsoft", n.markPage(), chromedp.Click(chromedp.CSS(testid("sso-sign-in"))))
	n.waitNewPage()
	if n.location() != "/" {
		t.Fatalf("after the provider, at %s", n.location())
	}
	if got := n.text(testid("user-menu") + " summary"); !strings.Contains(got, "Zoë Παπαδοπούλου") {
		t.Fatalf("signed in as %q", got)
	}
}
