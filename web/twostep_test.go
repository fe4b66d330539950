package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/rolegate/rolegate/internal/audit"
)

// totpCode is the authenticator app's code for secret (as the page shows it) at t.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(strings.ReplaceAll(secret, " ", ""), at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var recoveryCode = regexp.MustCompile(`<code>([A-Z2-7]{5}-[A-Z2-7]{5})</code>`)

// enrolTwoStep sets up an authenticator app for c's person (password pw) and returns the
// secret, the recovery codes shown and the code that confirmed it (used, then).
func enrolTwoStep(t *testing.T, c *client, pw string) (string, []string, string) {
	t.Helper()
	if r := c.postForm("/account/two-step", url.Values{"current_password": {pw}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step" {
		t.Fatalf("start: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	page := c.get("/account/two-step")
	secret := byTestid(t, page.body, "two-step-secret")
	if page.Header.Get("Cache-Control") != "no-store" || len(strings.ReplaceAll(secret, " ", "")) < 16 {
		t.Fatalf("enrol page: %q %q", page.Header.Get("Cache-Control"), secret)
	}
	used := totpCode(t, secret, time.Now())
	r := c.postForm("/account/two-step/confirm", url.Values{"code": {used}})
	if r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("confirm: %d", r.StatusCode)
	}
	var codes []string
	for _, m := range recoveryCode.FindAllStringSubmatch(r.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown", len(codes))
	}
	return secret, codes, used
}

// Setting up an authenticator app asks for the current password and a code; the QR code
// is an image from the portal; afterwards the password alone opens nothing: no session
// until the code, which works once; a recovery code works once and says how many are left;
// turning it off takes a code; every step is audited.
func TestTwoStepSignIn(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/account")
	if r := c.postForm("/account/two-step", url.Values{"current_password": {"not my password"}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "This is not your current password.") {
		t.Fatalf("start with a wrong password: %d", r.StatusCode)
	}
	c.postForm("/account/two-step", url.Values{"current_password": {adminPassword}})
	if r := c.get("/account/two-step/qr.png"); r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(r.body, "\x89PNG") {
		t.Fatalf("QR: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := c.postForm("/account/two-step/confirm", url.Values{"code": {"000000"}}); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "That code is not right") {
		t.Fatalf("confirm with a wrong code: %d", r.StatusCode)
	}
	secret, codes, used := enrolTwoStep(t, c, adminPassword)
	if page := c.get("/account"); byTestid(t, page.body, "recovery-left") != "10" {
		t.Fatal("the Account page does not say two-step sign-in is on with 10 recovery codes")
	}

	// The password alone: no session, only the second step.
	b := p.client()
	r := b.login(adminEmail, adminPassword)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login/two-step") {
		t.Fatalf("password: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if b.cookie("rolegate_session") != nil {
		t.Fatal("a session cookie after the password alone")
	}
	for _, path := range []string{"/", "/account", "/roles", "/integrations"} {
		if r := b.get(path); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Errorf("%s with the password alone: %d %s", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := b.get("/login/two-step"); r.StatusCode != http.StatusOK {
		t.Fatalf("two-step form: %d", r.StatusCode)
	}
	if r := b.postRaw("/login/two-step", url.Values{"code": {totpCode(t, secret, time.Now().Add(30*time.Second))}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d", r.StatusCode)
	}
	if r := b.postForm("/login/two-step", url.Values{"code": {"123456"}}); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "That code is not right") {
		t.Fatalf("wrong code: %d", r.StatusCode)
	}
	// The code that confirmed the app was used: it cannot sign in.
	if r := b.postForm("/login/two-step", url.Values{"code": {used}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a used code: %d", r.StatusCode)
	}
	next := totpCode(t, secret, time.Now().Add(30*time.Second))
	if r := b.postForm("/login/two-step", url.Values{"code": {next}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: %d %s", r.StatusCode, r.body)
	}
	if r := b.get("/account"); r.StatusCode != http.StatusOK {
		t.Fatalf("after the second step: %d", r.StatusCode)
	}
	// Another browser with the same code: used.
	d := p.client()
	d.login(adminEmail, adminPassword)
	if r := d.postForm("/login/two-step", url.Values{"code": {next}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the same code in another browser: %d", r.StatusCode)
	}
	// A recovery code instead, typed in lower case.
	if r := d.postForm("/login/two-step", url.Values{"code": {strings.ToLower(codes[0])}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: %d", r.StatusCode)
	}
	if page := d.get("/account"); !strings.Contains(page.body, "recovery code: 9 left") || byTestid(t, page.body, "recovery-left") != "9" {
		t.Fatal("the recovery code's use is not told, or not counted")
	}
	e := p.client()
	e.login(adminEmail, adminPassword)
	if r := e.postForm("/login/two-step", url.Values{"code": {codes[0]}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a recovery code used twice: %d", r.StatusCode)
	}
	// Turning it off takes a code.
	if r := d.postForm("/account/two-step/off", url.Values{"code": {"654321"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("off with a wrong code: %d", r.StatusCode)
	}
	if r := d.postForm("/account/two-step/off", url.Values{"code": {codes[1]}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("off: %d", r.StatusCode)
	}
	if r := p.client().login(adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("after turning off, the password signs in: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	for _, action := range []string{audit.TwoStepEnrolled, audit.TwoStepFailed, audit.RecoveryCodeUsed, audit.TwoStepRemoved} {
		if n := p.count("audit_log WHERE action = '" + action + "'"); n == 0 {
			t.Errorf("no %s in the audit log", action)
		}
	}
}

// The second step keeps where the person was going: a page of the portal, or a protected
// application's address (rd).
func TestTwoStepKeepsTheWay(t *testing.T) {
	p := newPortal(t, true, trusted)
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.contact")
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/account")
	secret, codes, _ := enrolTwoStep(t, c, adminPassword)
	b := p.client()
	b.get("/login")
	r := b.postForm("/login", url.Values{"email": {adminEmail}, "password": {adminPassword}, "rd": {"https://wiki.clinic.example/page?x=1"}})
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/login/two-step?") || !strings.Contains(loc, "rd=https%3A%2F%2Fwiki.clinic.example") {
		t.Fatalf("after the password: %s", loc)
	}
	page := b.get(loc)
	if !strings.Contains(page.body, `name="rd" value="https://wiki.clinic.example/page?x=1"`) {
		t.Fatal("the second step's form does not carry rd")
	}
	r = b.postForm("/login/two-step", url.Values{"code": {totpCode(t, secret, time.Now().Add(30*time.Second))}, "rd": {"https://wiki.clinic.example/page?x=1"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "https://wiki.clinic.example/page?x=1" {
		t.Fatalf("after the code: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// An rd elsewhere is dropped at the second step too.
	b2 := p.client()
	b2.login(adminEmail, adminPassword)
	r = b2.postForm("/login/two-step", url.Values{"code": {codes[0]}, "rd": {"https://evil.example/"}})
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Fatalf("open redirect through the second step: %s", loc)
	}
}
