package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/auth/authtest"
)

// passkeyOptions posts form to an options route as the page's script does, and returns
// the options the browser would be given.
func (c *client) passkeyOptions(t *testing.T, path string, form url.Values) []byte {
	t.Helper()
	r := c.postForm(path, form, "Accept", "application/json")
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("POST %s: %d %s %s", path, r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
	return []byte(r.body)
}

func (p *portal) sessionAMRs(t *testing.T) []string {
	t.Helper()
	db := p.rawDB()
	defer db.Close()
	rows, err := db.Query("SELECT amr FROM sessions ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// A passkey added over HTTP (the script's two requests) is then the second step after the
// password, and a sign-in of its own; the session says which (amr). Adding a second passkey
// needs a fresh second step, removing one too; the options routes need the CSRF token.
func TestPasskeysOverHTTP(t *testing.T) {
	p := newPortal(t, true)
	// Browsers make passkeys on localhost, not on 127.0.0.1.
	p.srv.URL = strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1)
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/account")

	for _, path := range []string{"/account/passkeys/options", "/account/passkeys", "/login/passkey/options", "/login/passkey"} {
		if r := c.postRaw(path, url.Values{"passkey_name": {"Laptop"}, "current_password": {adminPassword}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a CSRF token: %d", path, r.StatusCode)
		}
	}
	r := c.postForm("/account/passkeys/options", url.Values{"passkey_name": {"Laptop"}, "current_password": {"wrong password here"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not your current password") {
		t.Fatalf("a wrong password: %d %s", r.StatusCode, r.body)
	}
	r = c.postForm("/account/passkeys/options", url.Values{"passkey_name": {"  "}, "current_password": {adminPassword}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Give it a name") {
		t.Fatalf("no name: %d %s", r.StatusCode, r.body)
	}

	// Another browser signed in with the password alone, before any second step existed.
	elsewhere := p.client()
	elsewhere.login(adminEmail, adminPassword)
	key := authtest.NewPasskey(t, p.srv.URL)
	opts := c.passkeyOptions(t, "/account/passkeys/options", url.Values{"passkey_name": {"Ana’s laptop"}, "current_password": {adminPassword}})
	before := p.count("audit_log")
	r = c.postForm("/account/passkeys", url.Values{"credential": {string(key.Create(opts))}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Ana’s laptop") || len(recoveryCode.FindAllString(r.body, -1)) != 10 {
		t.Fatalf("adding the first passkey: %d", r.StatusCode)
	}
	if p.count("passkeys") != 1 || p.count("audit_log") != before+2 { // the passkey, the other browser signed out
		t.Fatalf("passkeys %d, audit entries +%d", p.count("passkeys"), p.count("audit_log")-before)
	}
	// That browser is signed out: it would otherwise go on past every step-up.
	if r := elsewhere.get("/account"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("the password-only session after a passkey was added: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.get("/account"); r.StatusCode != http.StatusOK {
		t.Fatalf("the browser that added it: %d", r.StatusCode)
	}
	// The same answer a second time adds nothing.
	if r := c.postForm("/account/passkeys", url.Values{"credential": {string(key.Create(opts))}}); r.StatusCode != http.StatusUnprocessableEntity || p.count("passkeys") != 1 {
		t.Fatalf("the answer again: %d, %d passkeys", r.StatusCode, p.count("passkeys"))
	}

	// The second step is older than ten minutes: a second passkey, or removing one, asks
	// for it again first.
	ageSecondStep(t, p)
	c.get("/account")
	r = c.postForm("/account/passkeys/options", url.Values{"passkey_name": {"Phone"}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, `"location":"/step-up?next=%2Faccount"`) {
		t.Fatalf("a second passkey with a stale second step: %d %s", r.StatusCode, r.body)
	}
	id := regexpFind(c.get("/account").body, `/account/passkeys/(\d+)/remove`)
	r = c.postForm("/account/passkeys/"+id+"/remove", url.Values{}, "Referer", p.srv.URL+"/account")
	if !strings.HasPrefix(r.Header.Get("Location"), "/step-up") || p.count("passkeys") != 1 {
		t.Fatalf("removing with a stale second step: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	opts = c.passkeyOptions(t, "/step-up/passkey/options", url.Values{})
	if r := c.postForm("/step-up/passkey", url.Values{"credential": {string(key.Get(opts))}, "next": {"/account"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
		t.Fatalf("step-up with the passkey: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	c.get("/account")
	phone := authtest.NewPasskey(t, p.srv.URL)
	opts = c.passkeyOptions(t, "/account/passkeys/options", url.Values{"passkey_name": {"Phone"}})
	if r := c.postForm("/account/passkeys", url.Values{"credential": {string(phone.Create(opts))}}); r.StatusCode != http.StatusSeeOther || p.count("passkeys") != 2 {
		t.Fatalf("the second passkey: %d %s", r.StatusCode, r.body)
	}

	// The password, then the passkey.
	b := p.client()
	if r := b.login(adminEmail, adminPassword); !strings.HasPrefix(r.Header.Get("Location"), "/login/two-step") {
		t.Fatalf("after the password: %s", r.Header.Get("Location"))
	}
	page := b.get("/login/two-step")
	if !strings.Contains(page.body, `data-passkey="/login/two-step/passkey/options"`) {
		t.Fatal("no passkey button at the second step")
	}
	sessions := p.count("sessions")
	opts = b.passkeyOptions(t, "/login/two-step/passkey/options", url.Values{})
	if r := b.postForm("/login/two-step/passkey", url.Values{"credential": {string(phone.Get(opts))}, "next": {"/roles"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/roles" {
		t.Fatalf("second step with a passkey: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if p.count("sessions") != sessions+1 {
		t.Fatal("no session after the passkey")
	}

	// The passkey alone.
	d := p.client()
	d.get("/login")
	opts = d.passkeyOptions(t, "/login/passkey/options", url.Values{})
	if strings.Contains(string(opts), "allowCredentials") {
		t.Errorf("a sign-in without a password names credentials: %s", opts)
	}
	if r := d.postForm("/login/passkey", url.Values{"credential": {string(key.Get(opts))}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("sign-in with the passkey: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if got := d.get("/account"); got.StatusCode != http.StatusOK {
		t.Fatalf("signed in with a passkey, the account page: %d", got.StatusCode)
	}
	amrs := strings.Join(p.sessionAMRs(t), ",")
	if !strings.Contains(amrs, "pwd hwk") || !strings.HasSuffix(amrs, "hwk mfa") {
		t.Errorf("sessions' amr: %s", amrs)
	}
	// A stranger's passkey signs nobody in.
	e := p.client()
	e.get("/login")
	opts = e.passkeyOptions(t, "/login/passkey/options", url.Values{})
	stranger := authtest.NewPasskey(t, p.srv.URL)
	stranger.Handle = key.Handle
	if r := e.postForm("/login/passkey", url.Values{"credential": {string(stranger.Get(opts))}}); r.StatusCode != http.StatusUnauthorized || e.cookie("rolegate_session") != nil {
		t.Fatalf("a stranger's passkey: %d", r.StatusCode)
	}

	// Removing, with a fresh second step.
	r = d.postForm("/account/passkeys/"+id+"/remove", url.Values{})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" || p.count("passkeys") != 1 {
		t.Fatalf("removing: %d %s, %d left", r.StatusCode, r.Header.Get("Location"), p.count("passkeys"))
	}
	// Someone else's passkey id is not found, and nothing changes.
	if r := d.postForm("/account/passkeys/999/remove", url.Values{}); r.StatusCode != http.StatusNotFound || p.count("passkeys") != 1 {
		t.Fatalf("removing an unknown passkey: %d", r.StatusCode)
	}
}

// Reached by IP address, where browsers make no passkeys, the portal offers none and says
// why on the Account page.
func TestNoPasskeysOnAnIPAddress(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	if page := c.get("/login"); strings.Contains(page.body, "data-passkey=") {
		t.Error("the sign-in page offers a passkey on 127.0.0.1")
	}
	c.login(adminEmail, adminPassword)
	if page := c.get("/account"); !strings.Contains(page.body, `data-testid="passkeys-unavailable"`) || strings.Contains(page.body, "data-passkey=") {
		t.Error("the Account page does not say passkeys are unavailable here")
	}
	if r := c.postForm("/account/passkeys/options", url.Values{"passkey_name": {"Laptop"}, "current_password": {adminPassword}}); r.StatusCode != http.StatusConflict {
		t.Errorf("options on 127.0.0.1: %d %s", r.StatusCode, r.body)
	}
}
