package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestSetupFlow(t *testing.T) {
	p := newPortal(t, false)
	c := p.client()
	for _, path := range []string{"/", "/login", "/account"} {
		if r := c.get(path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/setup" {
			t.Errorf("GET %s before setup: %d → %q; want 303 → /setup", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := c.get("/healthz"); r.StatusCode != 200 || r.body != "ok" {
		t.Errorf("healthz before setup: %d %q", r.StatusCode, r.body)
	}
	r := c.get("/setup")
	if r.StatusCode != 200 || !strings.Contains(r.body, "Set up Rolegate") {
		t.Fatalf("GET /setup: %d", r.StatusCode)
	}
	bad := []struct {
		name   string
		form   url.Values
		inBody string
	}{
		{"empty", url.Values{}, "This field is required."},
		{"short password", url.Values{"org": {"N"}, "name": {"A"}, "email": {"a@example.org"}, "password": {"short"}}, "at least 12 characters"},
		{"common password", url.Values{"org": {"N"}, "name": {"A"}, "email": {"a@example.org"}, "password": {"password1234"}}, "too common"},
		{"bad email", url.Values{"org": {"N"}, "name": {"A"}, "email": {"not-an-email"}, "password": {adminPassword}}, "Enter an email address like"},
		{"control chars", url.Values{"org": {"N\x00"}, "name": {"A"}, "email": {"a@example.org"}, "password": {adminPassword}}, "Remove control characters."},
		{"too long", url.Values{"org": {strings.Repeat("N", 101)}, "name": {"A"}, "email": {"a@example.org"}, "password": {adminPassword}}, "at most 100"},
	}
	for _, tc := range bad {
		r := c.postForm("/setup", tc.form)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.inBody) {
			t.Errorf("%s: status %d, body lacks %q", tc.name, r.StatusCode, tc.inBody)
		}
		if n := p.count("users"); n != 0 {
			t.Fatalf("%s: %d users written", tc.name, n)
		}
	}
	// The form keeps what was typed (but never the password).
	r = c.postForm("/setup", url.Values{"org": {"Kept Org"}, "name": {"Kept Name"}, "email": {"kept@example.org"}, "password": {"too-short"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `value="Kept Org"`) || !strings.Contains(r.body, `value="kept@example.org"`) || strings.Contains(r.body, "too-short") {
		t.Error("invalid setup form did not keep the input, or echoed the password")
	}

	r = c.postForm("/setup", url.Values{"org": {"Northside Practice"}, "name": {"Ana Ruiz"}, "email": {adminEmail}, "password": {adminPassword}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("setup: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.get("/")
	if r.StatusCode != 200 || !strings.Contains(r.body, "Welcome, Ana") || !strings.Contains(r.body, "Northside Practice") {
		t.Fatalf("home after setup: %d %s", r.StatusCode, r.body)
	}
	// Setup never runs twice: the page is gone and a second POST changes nothing.
	other := p.client()
	if r := other.get("/setup"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("GET /setup after setup: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = other.postForm("/setup", url.Values{"org": {"Evil"}, "name": {"Eve"}, "email": {"eve@example.org"}, "password": {adminPassword}})
	if r.StatusCode != http.StatusForbidden || p.count("users") != 1 || p.count("organisations") != 1 {
		t.Errorf("second setup: %d, users=%d orgs=%d", r.StatusCode, p.count("users"), p.count("organisations"))
	}
}

func TestSetupRaceOverHTTP(t *testing.T) {
	p := newPortal(t, false)
	const n = 6
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		c := p.client()
		c.get("/setup")
		wg.Go(func() {
			r := c.postForm("/setup", url.Values{"org": {"Org"}, "name": {"Admin"}, "email": {"admin" + string(rune('a'+i)) + "@example.org"}, "password": {adminPassword}})
			codes[i] = r.StatusCode
		})
	}
	wg.Wait()
	wins := 0
	for _, code := range codes {
		if code == http.StatusSeeOther {
			wins++
		} else if code != http.StatusForbidden {
			t.Errorf("racing setup answered %d", code)
		}
	}
	if wins != 1 || p.count("users") != 1 || p.count("organisations") != 1 {
		t.Fatalf("wins=%d users=%d orgs=%d; want exactly one setup", wins, p.count("users"), p.count("organisations"))
	}
}

func TestSignIn(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	r := c.get("/account")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2Faccount" {
		t.Fatalf("signed-out GET /account: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.get("/account", "HX-Request", "true", "HX-Current-URL", p.srv.URL+"/account?tab=x")
	if r.StatusCode != http.StatusUnauthorized || r.Header.Get("HX-Redirect") != "/login?next=%2Faccount%3Ftab%3Dx" {
		t.Fatalf("signed-out htmx request: %d HX-Redirect=%q", r.StatusCode, r.Header.Get("HX-Redirect"))
	}

	wrongPw := c.login(adminEmail, "not the password at all")
	unknown := c.login("nobody@example.org", adminPassword)
	if wrongPw.StatusCode != http.StatusUnauthorized || unknown.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong sign-in statuses %d, %d; want 401", wrongPw.StatusCode, unknown.StatusCode)
	}
	msg := "That email and password do not match an active account."
	if !strings.Contains(wrongPw.body, msg) || !strings.Contains(unknown.body, msg) {
		t.Fatal("wrong password and unknown email do not get the same message")
	}
	if c.cookie("rolegate_session") != nil {
		t.Fatal("a failed sign-in set a session cookie")
	}

	c.get("/login?next=/account")
	r = c.postForm("/login", url.Values{"email": {"ANA@example.org"}, "password": {adminPassword}, "next": {"/account"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
		t.Fatalf("sign-in: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	raw := setCookie(r.Response, "rolegate_session")
	if raw == nil || !raw.HttpOnly || raw.SameSite != http.SameSiteLaxMode || raw.Path != "/" || raw.MaxAge != 0 {
		t.Fatalf("session cookie flags: %+v", raw)
	}
	if r := c.get("/account"); r.StatusCode != 200 || !strings.Contains(r.body, "Active sessions") {
		t.Fatalf("account page: %d", r.StatusCode)
	}
	// Signing in again rotates the session: the old cookie dies.
	old := c.cookie("rolegate_session").Value
	before := p.count("sessions")
	c.postForm("/login", url.Values{"email": {adminEmail}, "password": {adminPassword}})
	if c.cookie("rolegate_session").Value == old {
		t.Fatal("session cookie not rotated at sign-in")
	}
	if after := p.count("sessions"); after != before {
		t.Fatalf("sessions after re-sign-in = %d, want %d (the old one ended)", after, before)
	}
	replay := p.client()
	replay.http.Jar.SetCookies(mustURL(p.srv.URL), []*http.Cookie{{Name: "rolegate_session", Value: old}})
	if r := replay.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("old cookie after rotation: %d", r.StatusCode)
	}
	// An outside next is ignored.
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		r := c.postForm("/login", url.Values{"email": {adminEmail}, "password": {adminPassword}, "next": {next}})
		if r.Header.Get("Location") != "/" {
			t.Errorf("next=%q redirected to %q", next, r.Header.Get("Location"))
		}
	}
}

func TestSignOutAndReplay(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	stolen := c.cookie("rolegate_session").Value
	r := c.postForm("/logout", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.get("/login"); !strings.Contains(r.body, "You have signed out.") {
		t.Error("no signed-out message")
	}
	replay := p.client()
	replay.http.Jar.SetCookies(mustURL(p.srv.URL), []*http.Cookie{{Name: "rolegate_session", Value: stolen}})
	if r := replay.get("/"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("replayed cookie after sign-out: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestSignOutEverywhereAndSessions(t *testing.T) {
	p := newPortal(t, true)
	laptop, phone := p.client(), p.client()
	laptop.login(adminEmail, adminPassword)
	phone.login(adminEmail, adminPassword)
	r := laptop.get("/account")
	if n := strings.Count(r.body, `data-testid="session-row"`); n != 3 { // setup's session too
		t.Fatalf("account lists %d sessions, want 3", n)
	}
	// End one other session by id: find the phone's id through the list.
	ids := regexpAll(`action="/account/sessions/(\d+)/end"`, r.body)
	if len(ids) != 2 {
		t.Fatalf("want 2 other sessions with a sign-out button, got %v", ids)
	}
	if r := laptop.postForm("/account/sessions/"+ids[0]+"/end", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end session: %d", r.StatusCode)
	}
	if r := laptop.postForm("/account/sessions/999999/end", nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("end unknown session: %d, want 404", r.StatusCode)
	}
	if p.count("sessions") != 2 {
		t.Fatalf("sessions = %d, want 2", p.count("sessions"))
	}
	r = laptop.postForm("/account/sessions/end-all", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("sign out everywhere: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	for name, c := range map[string]*client{"laptop": laptop, "phone": phone} {
		if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("%s still signed in after sign out everywhere: %d", name, r.StatusCode)
		}
	}
	if p.count("sessions") != 0 {
		t.Fatalf("sessions = %d after sign out everywhere", p.count("sessions"))
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	p := newPortal(t, true)
	laptop, phone := p.client(), p.client()
	laptop.login(adminEmail, adminPassword)
	phone.login(adminEmail, adminPassword)
	laptop.get("/account")
	r := laptop.postForm("/account/password", url.Values{"current_password": {"wrong one"}, "password": {"short"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "This is not your current password.") {
		t.Fatalf("bad password change: %d", r.StatusCode)
	}
	if r := phone.get("/"); r.StatusCode != 200 {
		t.Fatal("a refused password change ended a session")
	}
	r = laptop.postForm("/account/password", url.Values{"current_password": {adminPassword}, "password": {"a brand new passphrase"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d %s", r.StatusCode, r.body)
	}
	if r := laptop.get("/account"); r.StatusCode != 200 || !strings.Contains(r.body, "Your password was changed") {
		t.Fatalf("laptop after change: %d", r.StatusCode)
	}
	if r := phone.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("phone still signed in after password change: %d", r.StatusCode)
	}
	if r := p.client().login(adminEmail, "a brand new passphrase"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with new password: %d", r.StatusCode)
	}
}

func TestThrottlingGives429(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	var last response
	for range 8 {
		last = c.login(adminEmail, "wrong password again")
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after repeated failures: %d Retry-After=%q; want 429", last.StatusCode, last.Header.Get("Retry-After"))
	}
	// Even the right password is not checked while throttled.
	if r := c.login(adminEmail, adminPassword); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d", r.StatusCode)
	}
	// Unknown accounts are throttled the same way, so 429 reveals nothing.
	var unknown response
	for range 8 {
		unknown = c.login("nobody@example.org", "wrong password again")
	}
	if unknown.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("unknown account not throttled alike: %d", unknown.StatusCode)
	}
}

func TestTrustedProxyDecidesClientAddress(t *testing.T) {
	p := newPortal(t, true)
	// Without --trusted-proxy a forged X-Forwarded-For must not dodge the address limit: the
	// failures of many "addresses" still count against the connection's.
	c := p.client()
	var last response
	for i := range 60 {
		c.get("/login")
		last = c.postForm("/login", url.Values{"email": {"user" + strings.Repeat("x", i) + "@example.org"}, "password": {"wrong password"}},
			"X-Forwarded-For", "203.0.113."+string(rune('0'+i%10)))
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For dodged the address limit: %d", last.StatusCode)
	}
}

func setCookie(r *http.Response, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
