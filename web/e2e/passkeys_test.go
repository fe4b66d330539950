package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/config"
)

// passkeyHost is where the portal appears to the browser in the passkey tests. WebAuthn
// wants a secure context on a real domain: 127.0.0.1 is refused ("invalid domain") and the
// resolver rules keep every other name off the network. So the browser asks for
// https://rolegate.test and the test answers each request itself, from the portal on its
// loopback port (the DevTools Fetch domain), as a TLS-terminating proxy in front of it would.
const passkeyHost = "rolegate.test"

// behindHTTPS makes p reachable to b at https://rolegate.test (and p.URL says so).
func (b *browser) behindHTTPS(p *portal) {
	b.t.Helper()
	backend := p.URL
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	answer := func(ctx context.Context, e fetch.EventRequestPaused) error {
		var body io.Reader
		if e.Request.HasPostData {
			var buf bytes.Buffer
			for _, d := range e.Request.PostDataEntries {
				buf.Write(d.Bytes)
			}
			body = &buf
		}
		path := strings.TrimPrefix(e.Request.URL, "https://"+passkeyHost)
		req, err := http.NewRequestWithContext(ctx, e.Request.Method, backend+path+e.Request.URLFragment, body)
		if err != nil {
			return err
		}
		for k, v := range e.Request.Headers {
			if s, ok := v.(string); ok {
				req.Header.Set(k, s)
			}
		}
		req.Host = passkeyHost
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		var hs []*fetch.HeaderEntry
		for k, vs := range resp.Header {
			for _, v := range vs {
				hs = append(hs, &fetch.HeaderEntry{Name: k, Value: v})
			}
		}
		_, err = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: e.RequestID,
			ResponseCode: int64(resp.StatusCode), ResponseHeaders: hs, Body: got})
		return err
	}
	go func() {
		for e, err := range chromedp.Events(b.ctx, fetch.RequestPaused) {
			if err != nil {
				return
			}
			if err := answer(b.ctx, e); err != nil && b.ctx.Err() == nil {
				b.t.Errorf("answering %s: %v", e.Request.URL, err)
			}
		}
	}()
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "https://" + passkeyHost + "/*"}}}); err != nil {
		b.t.Fatalf("intercept requests: %v", err)
	}
	p.URL = "https://" + passkeyHost
}

// ageSecondStep makes every session's last second step older than the step-up age, and
// tells the running portal so (the sessions counter), as ten minutes passing would.
func ageSecondStep(t *testing.T, p *portal) {
	t.Helper()
	db, err := sql.Open("sqlite3", p.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := time.Now().Add(-audit.StepUpAge - time.Minute).Unix()
	if _, err := db.Exec("UPDATE sessions SET second_step_at = ? WHERE second_step_at > 0", old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE versions SET sessions = sessions + 1"); err != nil {
		t.Fatal(err)
	}
}

// addAuthenticator gives the browser a virtual platform authenticator (a laptop's
// fingerprint reader, say) that verifies the person and keeps discoverable passkeys.
func (b *browser) addAuthenticator() {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("webauthn: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}}); err != nil {
		b.t.Fatalf("virtual authenticator: %v", err)
	}
}

// Ana adds a passkey from her Account page (her first second step, so recovery codes come
// with it), signs in with her password and the passkey, then with the passkey alone, and
// removes it (issue 13 item 1).
func TestPasskeys(t *testing.T) {
	p := startPortal(t, func(c *config.Config) { c.BaseURL = "https://" + passkeyHost })
	b := newBrowser(t)
	b.behindHTTPS(p)
	b.addAuthenticator()
	b.setUp(p)

	b.visit(p.URL, "/account")
	b.waitJS(`!document.querySelector("[data-testid=passkey-add-submit]").hidden`)
	const name = "Ana’s laptop — consulta 2 (Ελένη)"
	b.do("a passkey with a wrong password", b.typeInto("#f-passkey_name", name), b.typeInto("#passkey-password", "not my password at all"),
		chromedp.Click(chromedp.CSS(testid("passkey-add-submit"))))
	b.waitJS(`!document.querySelector("[data-testid=passkey-add-problem]").hidden`)
	if got := b.text(testid("passkey-add-problem")); !strings.Contains(got, "not your current password") {
		t.Fatalf("wrong password: %q", got)
	}
	b.checkA11y("adding a passkey, refused")
	b.do("add a passkey", b.fill("#passkey-password", adminPassword), b.markPage(), chromedp.Click(chromedp.CSS(testid("passkey-add-submit"))))
	b.waitNewPage()
	if got := b.text(testid("codes-passkey")); !strings.Contains(got, name) {
		t.Fatalf("after adding: %q at %s", got, b.location())
	}
	if codes := strings.Fields(b.text(testid("recovery-list"))); len(codes) != 10 {
		t.Fatalf("recovery codes with the first passkey: %q", codes)
	}
	b.checkA11y("recovery codes after a passkey")
	b.do("saved", b.markPage(), chromedp.Click(chromedp.CSS(testid("codes-done"))))
	b.waitNewPage()
	if got := b.text(testid("passkey-name")); got != name {
		t.Fatalf("passkey listed as %q", got)
	}
	if got := b.text(testid("two-step-state")); !strings.Contains(got, "On: a passkey.") {
		t.Fatalf("account: %q", got)
	}
	b.checkA11y("account with a passkey")
	b.screenshot("passkey-account")

	// The password, then the passkey.
	b.signOut()
	b.signIn(adminEmail, adminPassword)
	if !strings.HasPrefix(b.location(), "/login/two-step") {
		t.Fatalf("after the password, at %s", b.location())
	}
	b.waitJS(`!document.querySelector("[data-testid=two-step-passkey-submit]").hidden`)
	b.checkA11y("second step with a passkey")
	b.screenshot("passkey-second-step")
	b.do("use the passkey", b.markPage(), chromedp.Click(chromedp.CSS(testid("two-step-passkey-submit"))))
	b.waitNewPage()
	if b.location() != "/" {
		t.Fatalf("after the passkey, at %s", b.location())
	}

	// The passkey alone, on a phone.
	b.signOut()
	b.do("phone", chromedp.EmulateViewport(390, 844))
	b.waitJS(`!document.querySelector("[data-testid=passkey-sign-in-submit]").hidden`)
	b.checkA11y("sign-in with a passkey button")
	b.screenshot("passkey-sign-in")
	b.do("sign in with the passkey", b.markPage(), chromedp.Click(chromedp.CSS(testid("passkey-sign-in-submit"))))
	b.waitNewPage()
	if b.location() != "/" {
		t.Fatalf("after a passkey sign-in, at %s: %s", b.location(), b.text("main"))
	}
	b.do("desktop", chromedp.EmulateViewport(1280, 860))
	b.visit(p.URL, "/account")
	if got := b.text(testid("passkey-last-used")); got == "Never" || got == "" {
		t.Fatalf("last used: %q", got)
	}

	// Ten minutes on, making an API token asks for the second step again: the passkey.
	ageSecondStep(t, p)
	b.visit(p.URL, "/integrations")
	b.do("a token", b.fill("#f-name", "EHR bridge"), b.markPage(), chromedp.Click(chromedp.CSS(testid("create-token"))))
	b.waitNewPage()
	if !strings.HasPrefix(b.location(), "/step-up") {
		t.Fatalf("a token with a stale second step: at %s", b.location())
	}
	b.waitJS(`!document.querySelector("[data-testid=step-up-passkey-submit]").hidden`)
	b.checkA11y("step-up")
	b.screenshot("passkey-step-up")
	b.do("confirm with the passkey", b.markPage(), chromedp.Click(chromedp.CSS(testid("step-up-passkey-submit"))))
	b.waitNewPage()
	if b.location() != "/integrations" {
		t.Fatalf("after the step-up, at %s", b.location())
	}
	b.do("the token again", b.fill("#f-name", "EHR bridge"), b.markPage(), chromedp.Click(chromedp.CSS(testid("create-token"))))
	b.waitNewPage()
	if secret := b.eval(`document.querySelector("[data-testid=token-value]").value`); !strings.HasPrefix(secret, "rgt_") {
		t.Fatalf("no token after the step-up: %q at %s", secret, b.location())
	}
	b.visit(p.URL, "/account")

	// Signed in with the passkey a moment ago: removing it asks nothing more, and with it
	// gone (and no app) the recovery codes go too.
	b.do("remove the passkey", b.markPage(), chromedp.Click(chromedp.CSS(testid("passkey-remove"))))
	b.waitNewPage()
	if got := b.text(testid("two-step-state")); !strings.HasPrefix(got, "Off.") {
		t.Fatalf("after removing: %q", got)
	}
	b.signOut()
	b.do("a passkey that was removed", b.markPage(), chromedp.Click(chromedp.CSS(testid("passkey-sign-in-submit"))))
	b.waitNewPage()
	if got := b.text(testid("form-error")); !strings.Contains(got, "did not sign you in") {
		t.Fatalf("a removed passkey: %q at %s", got, b.location())
	}
}
