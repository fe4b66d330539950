package web_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/config"
)

// Finding 5 of the hardening issue: 60 guesses sent at once on one account were all checked.
// Counted before hashing, at most the free failures are checked; the rest wait (429), or find
// every hashing slot taken (503) — never a check beyond the limit.
func TestSimultaneousGuessesAreCounted(t *testing.T) {
	p := newPortal(t, true)
	before := p.lastAuditID()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 60 {
		c := p.client()
		c.get("/login")
		wg.Go(func() {
			r := c.postForm("/login", url.Values{"email": {adminEmail}, "password": {"a wrong guess at it"}})
			mu.Lock()
			codes[r.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[http.StatusUnauthorized] > auth.FreeFailures || codes[http.StatusTooManyRequests]+codes[http.StatusServiceUnavailable] < 60-auth.FreeFailures {
		t.Fatalf("answers %v: want at most %d passwords checked (401) and the rest refused unchecked", codes, auth.FreeFailures)
	}
	checked := 0
	for _, e := range p.entriesSince(before) {
		if e.Action == audit.SignInFailed {
			checked++
		}
	}
	if checked != codes[http.StatusUnauthorized] {
		t.Fatalf("%d failed sign-ins audited for %d checked", checked, codes[http.StatusUnauthorized])
	}
}

// Finding 6: an attacker guessing from elsewhere used to lock the real person out. The
// browser she signed in with before keeps its own allowance (device cookie); a browser
// without one is throttled with the attacker.
func TestOwnBrowserSignsInWhileAttacked(t *testing.T) {
	p := newPortal(t, true, func(c *config.Config) { c.TrustedProxySetting("127.0.0.1/32") })
	ana := p.client()
	if r := ana.postForm("/login", url.Values{"email": {adminEmail}, "password": {adminPassword}}, "X-Forwarded-For", "192.0.2.10"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first sign-in: %d", r.StatusCode)
	}
	if ana.cookie("rolegate_device") == nil {
		t.Fatal("no device cookie after a correct password")
	}
	ana.postForm("/logout", url.Values{})

	attacker := p.client()
	refused := false
	for i := range 3 * auth.FreeFailures {
		r := attacker.postForm("/login", url.Values{"email": {adminEmail}, "password": {"guess number " + fmt.Sprint(i)}},
			"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		refused = refused || r.StatusCode == http.StatusTooManyRequests
	}
	if !refused {
		t.Fatal("the attacker was never throttled")
	}
	stranger := p.client()
	if r := stranger.postForm("/login", url.Values{"email": {adminEmail}, "password": {adminPassword}}, "X-Forwarded-For", "192.0.2.10"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a browser without a device cookie: %d, want 429 like the attacker", r.StatusCode)
	}
	if r := ana.postForm("/login", url.Values{"email": {adminEmail}, "password": {adminPassword}}, "X-Forwarded-For", "192.0.2.10"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("her own browser while attacked: %d, want 303 (signed in)", r.StatusCode)
	}
}

// Finding 11: wrong current passwords on the Account page are throttled and audited like
// failed sign-ins, so a stolen session cannot guess the password.
func TestCurrentPasswordCheckThrottledAndAudited(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	before := p.lastAuditID()
	var last response
	for i := range 10 {
		last = c.postForm("/account/password", url.Values{"current_password": {"guess " + fmt.Sprint(i)}, "password": {"a brand new passphrase"}})
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after 10 wrong current passwords: %d Retry-After=%q; want 429", last.StatusCode, last.Header.Get("Retry-After"))
	}
	failed := 0
	for _, e := range p.entriesSince(before) {
		if e.Action == audit.PasswordCheckFailed && e.ActorID == 1 && e.TargetID == 1 {
			failed++
		}
	}
	if failed != auth.FreeFailures {
		t.Fatalf("%d wrong current passwords audited; want %d (the rest were not checked)", failed, auth.FreeFailures)
	}
	// Even the right one waits now, and the password is unchanged.
	if r := c.postForm("/account/password", url.Values{"current_password": {adminPassword}, "password": {"a brand new passphrase"}}); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right current password while throttled: %d", r.StatusCode)
	}
}

// Finding 12: passwords built from the person's own email, name or organisation, or from
// sequences, are refused wherever a password is chosen.
func TestPasswordPolicyUsesContext(t *testing.T) {
	p := newPortal(t, false)
	c := p.client()
	for _, pw := range []string{"ana@example.org", "Northside Practice", "rolegate1234", "admin123456789", "p@55w0rd1234", "ABCDEFGHIJKL"} {
		r := c.postForm("/setup", url.Values{"org": {"Northside Practice"}, "name": {"Ana Ruiz"}, "email": {adminEmail}, "password": {pw}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("setup with password %q: %d, want 422", pw, r.StatusCode)
		}
	}
	p = newPortal(t, true)
	c = p.client()
	c.login(adminEmail, adminPassword)
	for _, pw := range []string{"Ana Ruiz Ana Ruiz", "northside practice"} {
		r := c.postForm("/account/password", url.Values{"current_password": {adminPassword}, "password": {pw}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "name") {
			t.Errorf("new password %q: %d, want 422 naming the reason", pw, r.StatusCode)
		}
	}
	inv := p.invite("zoe.angstrom@example.org", p.roleID("MEMBER"))
	r := p.client().postForm("/invite/"+inv.Token, url.Values{"name": {"Zoë Ångström"}, "password": {"zoe.angstrom2026"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("accepting with a password made of the email: %d, want 422", r.StatusCode)
	}
}

// Finding 14: the CSRF token is bound to the session and changes at sign-in and sign-out;
// a refusal of a signed-in person is audited (finding 10).
func TestCSRFTokenBoundToSession(t *testing.T) {
	p := newPortal(t, true)
	anon := p.client()
	anon.get("/login")
	before := anon.csrf
	first := p.client()
	first.login(adminEmail, adminPassword)
	first.get("/account")
	second := p.client()
	second.login(adminEmail, adminPassword)
	second.get("/account")
	if first.csrf == "" || first.csrf == second.csrf || first.csrf == before {
		t.Fatalf("tokens: before sign-in %q, first session %q, second %q; want three different", before, first.csrf, second.csrf)
	}
	since := p.lastAuditID()
	sessions := p.count("sessions")
	for name, tok := range map[string]string{"another session's": first.csrf, "the pre-sign-in": before} {
		r := second.postRaw("/account/sessions/end-all", url.Values{"_csrf": {tok}})
		if r.StatusCode != http.StatusForbidden || p.count("sessions") != sessions {
			t.Errorf("%s token: %d, sessions %d → %d; want 403 and nothing changed", name, r.StatusCode, sessions, p.count("sessions"))
		}
	}
	denied := 0
	for _, e := range p.entriesSince(since) {
		if e.Action == audit.Denied && e.ActorID == 1 && strings.Contains(string(e.After), "security token") {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("%d CSRF refusals audited; want 2", denied)
	}
	// Its own token works; signing out drops the CSRF cookie, so the next form has a new one.
	r := second.postForm("/logout", url.Values{})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.StatusCode)
	}
	if ck := setCookie(r.Response, "rolegate_csrf"); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("sign-out kept the CSRF cookie: %+v", ck)
	}
	second.get("/login")
	if second.csrf == "" || second.csrf == first.csrf {
		t.Fatalf("token after sign-out %q", second.csrf)
	}
}

// Finding 14: a client's X-Request-Id is echoed and logged only when it is a short, plain id.
func TestRequestIDMustBeShortAndPlain(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	if r := c.get("/login", "X-Request-Id", "abc-123_DEF.4"); r.Header.Get("X-Request-Id") != "abc-123_DEF.4" {
		t.Errorf("a plain id was not kept: %q", r.Header.Get("X-Request-Id"))
	}
	for _, bad := range []string{strings.Repeat("a", 2021), "id with spaces", "<script>", "ü"} {
		got := c.get("/login", "X-Request-Id", bad).Header.Get("X-Request-Id")
		if got == bad || got == "" || len(got) > 64 {
			t.Errorf("X-Request-Id %.20q answered with %.20q; want a new id of our own", bad, got)
		}
	}
}

// Finding 14: a body that is cut short or never arrives is answered 400 / 408, not an empty 200.
func TestBodyThatNeverArrives(t *testing.T) {
	p := newPortal(t, true)
	srv := httptest.NewUnstartedServer(p.app.Handler)
	srv.Config.ReadTimeout = 500 * time.Millisecond
	srv.Start()
	defer srv.Close()
	send := func(body string, closeWrite bool) int {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: portal.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n%s", body)
		if closeWrite {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send("email=a", false); code != http.StatusRequestTimeout {
		t.Errorf("body never completed: %d, want 408", code)
	}
	if code := send("email=a", true); code != http.StatusBadRequest {
		t.Errorf("body cut short: %d, want 400", code)
	}
}

// Issue 12 item 3: sign-in sends the person back to rd only on the portal's own host (or a
// protected application's); any other address is ignored, never followed.
func TestSignInReturnsOnlyToKnownHosts(t *testing.T) {
	p := newPortal(t, true)
	host := strings.TrimPrefix(p.srv.URL, "http://")
	back := p.srv.URL + "/roles?q=nurse"
	for rd, want := range map[string]string{
		back:                                 back,
		"https://evil.example/steal":         "/",
		"//evil.example/x":                   "/",
		"http://ana@" + host + "/roles":      "/",
		"javascript:alert(1)":                "/",
		"http://" + host + ".evil.example/x": "/",
	} {
		c := p.client()
		form := c.get("/login?rd=" + url.QueryEscape(rd))
		if want != "/" && !strings.Contains(form.body, `name="rd"`) {
			t.Errorf("rd %q: the form does not carry it", rd)
		}
		if want == "/" && strings.Contains(form.body, `name="rd"`) {
			t.Errorf("rd %q: the form carries an address it must ignore", rd)
		}
		r := c.postForm("/login", url.Values{"email": {adminEmail}, "password": {adminPassword}, "rd": {rd}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("rd %q: %d → %q; want → %q", rd, r.StatusCode, r.Header.Get("Location"), want)
		}
		// Signed in already: the form sends them straight there.
		if r := c.get("/login?rd=" + url.QueryEscape(rd)); r.Header.Get("Location") != want {
			t.Errorf("signed in, rd %q: → %q; want → %q", rd, r.Header.Get("Location"), want)
		}
	}
}
