package web_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/rolegate/rolegate/internal/auth/authtest"
	"github.com/rolegate/rolegate/internal/config"
)

// ssoPortal is a portal whose single sign-on is a real OpenID Connect provider running in
// the test (mockoidc): discovery, the authorization code flow with PKCE, signed ID tokens.
func ssoPortal(t *testing.T) (*portal, *mockoidc.MockOIDC) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	secret := filepath.Join(t.TempDir(), "oidc-secret")
	cfg := m.Config()
	if err := os.WriteFile(secret, []byte(cfg.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPortal(t, true, func(c *config.Config) {
		c.OIDC.Issuer, c.OIDC.ClientID, c.OIDC.Name = cfg.Issuer, cfg.ClientID, "Northside Microsoft 365"
		c.SetOIDCSecretFile(secret)
	})
	return p, m
}

// ssoSignIn follows "Sign in with …" through the provider and back, as a browser would,
// and returns the portal's answer to the callback.
func ssoSignIn(t *testing.T, c *client, start string, tamper func(*url.URL)) response {
	t.Helper()
	r := c.get(start)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("start: %d %s", r.StatusCode, r.body)
	}
	auth, _ := url.Parse(r.Header.Get("Location"))
	q := auth.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("the authorization request lacks PKCE, nonce or state: %s", auth)
	}
	resp, err := c.http.Get(auth.String()) // the provider signs the queued user in at once
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if tamper != nil {
		tamper(back)
	}
	return c.get(back.RequestURI())
}

// Single sign-on: the button, the code flow with PKCE, state and nonce; an identity signs in
// only an existing active person with the same verified email, never creating one; a wrong
// state or an unverified email is refused and audited.
func TestSingleSignOn(t *testing.T) {
	p, m := ssoPortal(t)
	_, ben := p.person("ben@example.org", p.roleID("STAFF"))
	if page := p.client().get("/login"); byTestid(t, page.body, "sso-sign-in") != "Sign in with Northside Microsoft 365" {
		t.Fatal("no Sign in with … on the sign-in page")
	}

	m.QueueUser(&mockoidc.MockUser{Subject: "ben-oid", Email: "Ben@Example.org", EmailVerified: true})
	c := p.client()
	r := ssoSignIn(t, c, "/login/sso?next=%2Fstaff", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff" {
		t.Fatalf("callback: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if r := c.get("/account"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "ben@example.org") {
		t.Fatalf("signed in as Ben: %d", r.StatusCode)
	}
	if n := p.count("sessions WHERE amr = 'sso'"); n != 1 {
		t.Fatalf("%d sessions signed in through the provider", n)
	}
	_ = ben

	users := p.count("users")
	for name, tc := range map[string]struct {
		user   *mockoidc.MockUser
		tamper func(*url.URL)
		words  string
	}{
		"unknown email":    {&mockoidc.MockUser{Subject: "x", Email: "stranger@example.org", EmailVerified: true}, nil, "No active Rolegate account has the email stranger@example.org"},
		"unverified email": {&mockoidc.MockUser{Subject: "y", Email: "ben@example.org", EmailVerified: false}, nil, "did not work"},
		"wrong state": {&mockoidc.MockUser{Subject: "z", Email: "ben@example.org", EmailVerified: true}, func(u *url.URL) {
			q := u.Query()
			q.Set("state", "forged")
			u.RawQuery = q.Encode()
		}, "did not work"},
	} {
		m.QueueUser(tc.user)
		d := p.client()
		r := ssoSignIn(t, d, "/login/sso", tc.tamper)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, tc.words) || d.cookie("rolegate_session") != nil {
			t.Errorf("%s: %d %s", name, r.StatusCode, r.body)
		}
	}
	if p.count("users") != users {
		t.Fatal("single sign-on created an account")
	}
	if n := p.count("audit_log WHERE action = 'auth.sso_failed'"); n != 3 {
		t.Fatalf("%d failures audited, want 3", n)
	}
	// A callback this browser did not start is refused.
	if r := p.client().get("/login/sso/callback?code=abc&state=def"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("a callback without a flow: %d", r.StatusCode)
	}
}

// Accepting an invitation with the identity provider: the provider must vouch for the
// invitation's own email; the account is made (or the existing one joins) and signed in.
func TestSingleSignOnAcceptsInvitation(t *testing.T) {
	p, m := ssoPortal(t)
	inv := p.invite("zoe@example.org", p.roleID("NURSE"))
	c := p.client()
	if page := c.get("/invite/" + inv.Token); byTestid(t, page.body, "sso-accept") != "Accept with Northside Microsoft 365" {
		t.Fatal("the invitation page does not offer the provider")
	}
	// Someone else's identity cannot take it.
	m.QueueUser(&mockoidc.MockUser{Subject: "mallory", Email: "mallory@example.org", EmailVerified: true})
	if r := ssoSignIn(t, c, "/login/sso?invite="+inv.Token, nil); r.StatusCode == http.StatusSeeOther || c.cookie("rolegate_session") != nil {
		t.Fatalf("another email accepted the invitation: %d", r.StatusCode)
	}
	users := p.count("users")
	m.QueueUser(&mockoidc.MockUser{Subject: "zoe", Email: "zoe@example.org", EmailVerified: true})
	r := ssoSignIn(t, c, "/login/sso?invite="+inv.Token, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("accept with the provider: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if p.count("users") != users+1 || p.count("invitations WHERE accepted_at IS NOT NULL") != 1 {
		t.Fatal("the invitation did not make the account")
	}
	if home := c.get("/"); home.StatusCode != http.StatusOK {
		t.Fatalf("signed in after accepting: %d", home.StatusCode)
	}
	// The link is spent.
	m.QueueUser(&mockoidc.MockUser{Subject: "zoe", Email: "zoe@example.org", EmailVerified: true})
	if r := ssoSignIn(t, p.client(), "/login/sso?invite="+inv.Token, nil); r.StatusCode == http.StatusSeeOther {
		t.Fatal("a used invitation accepted again")
	}
}

// An organisation that requires single sign-on: its staff's right password signs nobody in
// (told to use the provider), the provider does; global admins keep their password.
func TestOrganisationRequiresSingleSignOn(t *testing.T) {
	p, m := ssoPortal(t)
	p.srv.URL = strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1) // where browsers make passkeys
	ben, _ := p.personIn("Ben Okafor", 1, p.roleID("STAFF"))
	_ = ben
	// Before the requirement, Ben added a passkey.
	bc := p.client()
	bc.login("ben.okafor@example.org", "a staff member password")
	bc.get("/account")
	key := authtest.NewPasskey(t, p.srv.URL)
	opts := bc.passkeyOptions(t, "/account/passkeys/options", url.Values{"passkey_name": {"Phone"}, "current_password": {"a staff member password"}})
	if r := bc.postForm("/account/passkeys", url.Values{"credential": {string(key.Create(opts))}}); r.StatusCode != http.StatusOK {
		t.Fatalf("Ben's passkey: %d", r.StatusCode)
	}
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/orgs/1")
	form := url.Values{"role_mode": {"many"}, "limit_visibility": {"yes"}, "two_step": {"optional"}, "sso_required": {"maybe"}}
	if r := admin.postForm("/orgs/1/settings", form); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a bad value: %d", r.StatusCode)
	}
	form.Set("sso_required", "yes")
	if r := admin.postForm("/orgs/1/settings", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.StatusCode, r.body)
	}
	c := p.client()
	r := c.login("ben.okafor@example.org", "a staff member password")
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "signs in with Northside Microsoft 365") || c.cookie("rolegate_session") != nil {
		t.Fatalf("password under the requirement: %d", r.StatusCode)
	}
	// Nor does his passkey sign him in: leaving the practice at the provider must close the portal.
	c.get("/login")
	opts = c.passkeyOptions(t, "/login/passkey/options", url.Values{})
	if r := c.postForm("/login/passkey", url.Values{"credential": {string(key.Get(opts))}}); r.StatusCode != http.StatusForbidden || c.cookie("rolegate_session") != nil {
		t.Fatalf("a passkey under the requirement: %d", r.StatusCode)
	}
	m.QueueUser(&mockoidc.MockUser{Subject: "ben", Email: "ben.okafor@example.org", EmailVerified: true})
	if r := ssoSignIn(t, c, "/login/sso", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("through the provider: %d %s", r.StatusCode, r.body)
	}
	if r := p.client().login(adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a global admin's password: %d", r.StatusCode)
	}
	if n := p.count("audit_log WHERE action = 'settings.change' AND after_json LIKE '%sso_required%'"); n != 1 {
		t.Fatalf("%d changes audited", n)
	}
}

// A provider that cannot be reached: the sign-in page says so (502), never an error page.
func TestSingleSignOnProviderDown(t *testing.T) {
	p, m := ssoPortal(t)
	_ = m.Shutdown()
	r := p.client().get("/login/sso")
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(r.body, "is not available right now") {
		t.Fatalf("provider down: %d", r.StatusCode)
	}
}
