package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/web"
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

// setPolicy sets an organisation's two-step policy as its settings form would.
func setPolicy(t *testing.T, p *portal, org int64, policy string) {
	t.Helper()
	if err := p.store.SetOrgSettings(context.Background(), org, store.OrgSettings{LimitVisibility: true, TwoStep: policy}); err != nil {
		t.Fatal(err)
	}
}

// Route × policy: with two-step sign-in required, a session signed in with a password alone
// reaches no page, no action (token creation included) and no forward-auth 200 — only the
// pages that set the second step up; once set up, in that very session, everything is open.
func TestTwoStepPolicyClosesEverything(t *testing.T) {
	p := newPortal(t, true, trusted)
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.view")
	c := p.client()
	c.login(adminEmail, adminPassword)
	if got := c.askNginx("https://wiki.clinic.example/page").StatusCode; got != http.StatusOK {
		t.Fatalf("before the policy: %d", got)
	}
	setPolicy(t, p, 1, "admins")

	// The policy applies on the very next request of a session already open.
	tokensBefore := p.count("api_tokens")
	for _, r := range web.RouteTable(web.Deps{}) {
		acc := r.Access.String()
		if acc == "public" || strings.HasPrefix(acc, "token scope") || strings.HasPrefix(acc, "signed-in, or owing") {
			continue
		}
		path := strings.NewReplacer(":id", "1", ":key", "billing.view", ":token", "x", ":user", "1", ":role", "1", "*", "x").Replace(r.Path)
		var res response
		if r.Method == http.MethodGet {
			res = c.get(path)
		} else {
			c.get("/account/two-step/required") // a CSRF token of this browser
			res = c.postForm(path, url.Values{"name": {"EHR bridge"}, "org": {"1"}, "scopes": {"check"}})
		}
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/two-step/required" {
			t.Errorf("%s %s with a password alone: %d %s", r.Method, path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if p.count("api_tokens") != tokensBefore {
		t.Fatal("a token was made with a password alone")
	}
	if got := c.askNginx("https://wiki.clinic.example/page").StatusCode; got == http.StatusOK {
		t.Fatal("forward-auth let a password-only session through")
	}
	req := c.get("/account/two-step/required")
	if req.StatusCode != http.StatusOK || byTestid(t, req.body, "two-step-required") == "" {
		t.Fatalf("the required page: %d", req.StatusCode)
	}
	// Signing in again with the password alone lands there too, not at the tool.
	b := p.client()
	b.get("/login")
	r := b.postForm("/login", url.Values{"email": {adminEmail}, "password": {adminPassword}, "rd": {"https://wiki.clinic.example/page"}})
	if r.Header.Get("Location") != "/account/two-step/required" {
		t.Fatalf("sign-in under the policy: %s", r.Header.Get("Location"))
	}

	// Set up in this session: everything opens, in it, at once.
	enrolTwoStep(t, c, adminPassword)
	if r := c.get("/roles"); r.StatusCode != http.StatusOK {
		t.Fatalf("after setting up: %d", r.StatusCode)
	}
	if got := c.askNginx("https://wiki.clinic.example/page").StatusCode; got != http.StatusOK {
		t.Fatalf("forward-auth after setting up: %d", got)
	}
	// The other browser still has a password-only session: it now has an app, so it is
	// signed out and asked to sign in again, with the code.
	r = b.get("/roles")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("a password-only session of someone with an app: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := b.get("/roles"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("after being sent to sign in again: %d %s", r.StatusCode, r.Header.Get("Location"))
	}

	// "Admins" leaves staff without an Administration permission alone; "everyone" does not.
	nurse, _ := p.personIn("Nurse Ama", 1, p.roleID("NURSE"))
	if r := nurse.get("/"); r.StatusCode != http.StatusOK {
		t.Fatalf("a nurse under the admins policy: %d", r.StatusCode)
	}
	setPolicy(t, p, 1, "everyone")
	if r := nurse.get("/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step/required" {
		t.Fatalf("a nurse under the everyone policy: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if n := p.count("audit_log WHERE action = 'settings.change' AND after_json LIKE '%two_step%'"); n != 2 {
		t.Fatalf("%d policy changes audited, want 2", n)
	}
}

// The policy is set on the organisation page (orgs.manage), validated, and applies to the
// admin who set it from their next request.
func TestTwoStepPolicyFromTheOrgPage(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/orgs/1")
	form := url.Values{"role_mode": {"many"}, "limit_visibility": {"yes"}, "two_step": {"always"}}
	if r := c.postForm("/orgs/1/settings", form); r.StatusCode != http.StatusUnprocessableEntity || byTestid(t, r.body, "problem-two_step") == "" {
		t.Fatalf("a policy that is not one: %d", r.StatusCode)
	}
	nurse, _ := p.personIn("Nurse Ama", 1, p.roleID("NURSE"))
	if r := nurse.postForm("/orgs/1/settings", with(form, "two_step", "optional")); r.StatusCode != http.StatusForbidden {
		t.Fatalf("without orgs.manage: %d", r.StatusCode)
	}
	form.Set("two_step", "everyone")
	if r := c.postForm("/orgs/1/settings", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", r.StatusCode)
	}
	if r := c.get("/orgs/1"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step/required" {
		t.Fatalf("the admin's next request: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// ageSecondStep makes every session's last second step older than the step-up age, as if
// the person had been working for a while, and tells the running portal.
func ageSecondStep(t *testing.T, p *portal) {
	t.Helper()
	db := p.rawDBWrite()
	defer db.Close()
	old := time.Now().Add(-audit.StepUpAge - time.Minute).Unix()
	if _, err := db.Exec("UPDATE sessions SET second_step_at = ? WHERE second_step_at > 0", old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE versions SET sessions = sessions + 1"); err != nil {
		t.Fatal(err)
	}
}

// Step-up: with a second step older than ten minutes, making a token, giving or taking
// Administration and changing the policy ask for a code again (nothing changed until then,
// the same action then goes through); ordinary changes do not ask.
func TestStepUpBeforeDangerousActions(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/account")
	_, recovery, _ := enrolTwoStep(t, c, adminPassword)
	_, ben := p.person("ben@example.org", p.roleID("STAFF"))
	ageSecondStep(t, p)

	c.get("/integrations")
	tokens := p.count("api_tokens")
	r := c.postForm("/integrations/tokens", url.Values{"name": {"EHR bridge"}, "org": {"1"}, "scopes": {"check"}}, "Referer", p.srv.URL+"/integrations")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/step-up?next=%2Fintegrations" || p.count("api_tokens") != tokens {
		t.Fatalf("token with a stale second step: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	person := fmt.Sprintf("/staff/%d", ben)
	held := p.accessState()
	r = c.postForm(person+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(p.roleID("ADMIN"))}})
	if !strings.HasPrefix(r.Header.Get("Location"), "/step-up") || p.accessState() != held {
		t.Fatalf("giving Administrator with a stale second step: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	c.get("/orgs/1")
	r = c.postForm("/orgs/1/settings", url.Values{"role_mode": {"many"}, "limit_visibility": {"yes"}, "two_step": {"admins"}})
	if !strings.HasPrefix(r.Header.Get("Location"), "/step-up") {
		t.Fatalf("changing the policy with a stale second step: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// An ordinary change does not ask.
	if r := c.postForm(person+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(p.roleID("NURSE"))}}); r.StatusCode != http.StatusSeeOther || strings.HasPrefix(r.Header.Get("Location"), "/step-up") {
		t.Fatalf("giving Nurse: %d %s", r.StatusCode, r.Header.Get("Location"))
	}

	page := c.get("/step-up?next=%2Fintegrations")
	if page.StatusCode != http.StatusOK || byTestid(t, page.body, "step-up-why") == "" {
		t.Fatalf("step-up page: %d", page.StatusCode)
	}
	if r := c.postForm("/step-up", url.Values{"code": {"111111"}, "next": {"/integrations"}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong code: %d", r.StatusCode)
	}
	if r := c.postForm("/step-up", url.Values{"code": {recovery[0]}, "next": {"/integrations"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/integrations" {
		t.Fatalf("step-up: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	c.get("/integrations")
	if r := c.postForm("/integrations/tokens", url.Values{"name": {"EHR bridge"}, "org": {"1"}, "scopes": {"check"}}); r.StatusCode != http.StatusOK || p.count("api_tokens") != tokens+1 {
		t.Fatalf("token after step-up: %d", r.StatusCode)
	}
	if r := c.postForm(person+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(p.roleID("ADMIN"))}}); strings.HasPrefix(r.Header.Get("Location"), "/step-up") {
		t.Fatalf("giving Administrator after step-up: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// An admin resets the second step of someone who lost their phone: only within the account
// rules (staff.manage over all their organisations, never over more access than one's own),
// audited, and their sessions end; they then sign in with the password alone.
func TestAdminResetsTwoStep(t *testing.T) {
	p := newPortal(t, true)
	ben, benID := p.personIn("Ben Okafor", 1, p.roleID("NURSE"))
	ben.get("/account")
	enrolTwoStep(t, ben, "a staff member password")
	desk := p.customRole("Front Desk", "staff.view")
	clerk, _ := p.personIn("Clerk Jo", 1, desk)
	reset := fmt.Sprintf("/staff/%d/two-step/reset", benID)
	if r := clerk.postForm(reset, url.Values{"org": {"1"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("without staff.manage: %d", r.StatusCode)
	}
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	page := admin.get(fmt.Sprintf("/staff/%d", benID))
	if byTestid(t, page.body, "person-two-step") == "" || !strings.Contains(page.body, `data-testid="reset-two-step"`) {
		t.Fatal("the person page does not offer the reset")
	}
	if r := admin.postRaw(reset, url.Values{"org": {"1"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d", r.StatusCode)
	}
	if r := admin.postForm(reset, url.Values{"org": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d %s", r.StatusCode, r.body)
	}
	if r := ben.get("/account"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("Ben's session after the reset: %d", r.StatusCode)
	}
	if r := p.client().login("ben.okafor@example.org", "a staff member password"); r.Header.Get("Location") != "/" {
		t.Fatalf("Ben's next sign-in: %s", r.Header.Get("Location"))
	}
	if n := p.count(fmt.Sprintf("audit_log WHERE action = 'auth.two_step_removed' AND actor_id = 1 AND target_id = %d", benID)); n != 1 {
		t.Fatalf("%d reset entries", n)
	}
	// Nobody resets the second step of someone whose access exceeds theirs.
	acRole := p.customRole("Staff desk", "staff.manage", "staff.view")
	ac, _ := p.personIn("Desk Dana", 1, acRole)
	admin.get("/account")
	enrolTwoStep(t, admin, adminPassword)
	if r := ac.postForm("/staff/1/two-step/reset", url.Values{"org": {"1"}}); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("resetting a global admin's: %d", r.StatusCode)
	}
	if on, _ := p.store.TwoStepOf(context.Background(), 1); !on.TOTP {
		t.Fatal("the global admin's second step was reset by a desk manager")
	}
}

// An application that requires two-step sign-in: a password-only session is sent to pass
// the second step (or told to set it up), then back; Remote-AMR says how the person signed in.
func TestAppRequiresTwoStep(t *testing.T) {
	p := newPortal(t, true, trusted)
	id, err := p.store.CreateApp(context.Background(), store.NewApp{Name: "EHR", Host: "ehr.clinic.example", PathPrefix: "/", OrgID: 1,
		Permission: "patients.identifiers", RequireTwoStep: true, CreatedBy: 1})
	if err != nil {
		t.Fatal(err)
	}
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.view")
	ben, _ := p.personIn("Ben Okafor", 1, p.roleID("STAFF"))
	if r := ben.askNginx("https://wiki.clinic.example/"); r.StatusCode != http.StatusOK || r.Header.Get("Remote-Amr") != "pwd" {
		t.Fatalf("an app without the requirement: %d %q", r.StatusCode, r.Header.Get("Remote-Amr"))
	}
	r := ben.askNginx("https://ehr.clinic.example/chart/7")
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(loc, "/step-up?rd=https%3A%2F%2Fehr.clinic.example%2Fchart%2F7") || r.Header.Get("Remote-User") != "" {
		t.Fatalf("password only: %d %s", r.StatusCode, loc)
	}
	if page := ben.get("/step-up?rd=https%3A%2F%2Fehr.clinic.example%2Fchart%2F7"); byTestid(t, page.body, "step-up-set-up") == "" {
		t.Fatal("someone without an app is not told to set one up")
	}
	// Set up in another browser: this password-only session is signed out (it would
	// otherwise go on as if there were no second step), and signs in again with the code.
	other := p.client()
	other.login("ben.okafor@example.org", "a staff member password")
	other.get("/account")
	secret, _, _ := enrolTwoStep(t, other, "a staff member password")
	if r := ben.askNginx("https://ehr.clinic.example/chart/7"); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Header.Get("Location"), "/login") {
		t.Fatalf("the password-only session after set-up elsewhere: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := ben.login("ben.okafor@example.org", "a staff member password"); !strings.HasPrefix(r.Header.Get("Location"), "/login/two-step") {
		t.Fatalf("signing in again: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	ben.get("/login/two-step")
	r = ben.postForm("/login/two-step", url.Values{"code": {totpCode(t, secret, time.Now().Add(30*time.Second))}, "rd": {"https://ehr.clinic.example/chart/7"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "https://ehr.clinic.example/chart/7" {
		t.Fatalf("the code, back to the app: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := ben.askNginx("https://ehr.clinic.example/chart/7"); r.StatusCode != http.StatusOK || r.Header.Get("Remote-Amr") != "pwd,otp" {
		t.Fatalf("after the second step: %d %q", r.StatusCode, r.Header.Get("Remote-Amr"))
	}
	// Someone who lacks the permission is refused, not asked for a code that would not help.
	clerk, _ := p.personIn("Clerk Jo", 1, p.customRole("Desk", "staff.view"))
	if r := clerk.askNginx("https://ehr.clinic.example/"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("without the permission: %d", r.StatusCode)
	}
	if a, _ := p.store.AppByID(context.Background(), id); !a.RequireTwoStep {
		t.Fatal("the requirement was not stored")
	}
}
