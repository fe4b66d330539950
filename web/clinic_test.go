package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
)

// Issue 10, item 4: a toast naming a role in any script arrives intact. HX-Trigger reaches
// XMLHttpRequest as Latin-1, so the header carries only ASCII (\u escapes) and no Go quoting.
func TestToastHeaderCarriesAnyName(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/roles")
	for _, name := range []string{"Nurse ممرضة", `Zoë's "Nord" team`, "看護師 夜勤"} {
		r := c.postForm("/roles", url.Values{"org": {"1"}, "name": {name}, "status": {"active"}, "permissions": {"patients.view"}}, "HX-Request", "true", "HX-Target", "modal")
		h := r.Header.Get("HX-Trigger")
		if r.StatusCode != http.StatusOK || h == "" {
			t.Fatalf("create %q: %d, HX-Trigger %q", name, r.StatusCode, h)
		}
		for _, b := range []byte(h) {
			if b >= 0x80 {
				t.Fatalf("HX-Trigger for %q carries raw UTF-8: %q", name, h)
			}
		}
		var ev map[string]string
		if err := json.Unmarshal([]byte(h), &ev); err != nil {
			t.Fatal(err)
		}
		if want := "Role “" + name + "” created."; ev["toast"] != want {
			t.Errorf("toast %q; want %q", ev["toast"], want)
		}
	}
}

// Item 5: names in other scripts are accepted; the live preview tells the code the save gives.
func TestCodePreview(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	for name, want := range map[string]string{"ممرضة الطوارئ": "MMRD_LTWRY", "אחות ראשית": "KHVT_RSHYT", "Admin": "ADMIN", "Travel Nurse": "TRAVEL_NURSE"} {
		r := c.get("/roles/code?name=" + url.QueryEscape(name))
		var pv struct{ Code, Note, Problem string }
		if err := json.Unmarshal([]byte(r.body), &pv); err != nil || r.StatusCode != http.StatusOK {
			t.Fatalf("preview %q: %d %s", name, r.StatusCode, r.body)
		}
		if pv.Code != want || pv.Note == "" || (name == "Admin") != (pv.Problem != "") {
			t.Errorf("preview %q = %+v; want code %s", name, pv, want)
		}
	}
	r := c.postForm("/roles", url.Values{"org": {"1"}, "name": {"ممرضة الطوارئ"}, "status": {"active"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create an Arabic-named role: %d %s", r.StatusCode, r.body)
	}
	if !strings.Contains(c.get("/roles").body, "MMRD_LTWRY") {
		t.Fatal("the Arabic-named role is not listed with its code")
	}
}

// Item 11: one definition of staff (the organisation and below), the global admin among the
// holders, "1 record", a hint that the parent's roles apply, a favicon, and one's own name.
func TestNumbersAndSmallThings(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	east := p.org("Eastside Clinic", 1)
	for i := range 3 {
		p.personIn(fmt.Sprintf("Person %d", i), east)
	}
	home := admin.get("/")
	if !strings.Contains(home.body, `<td class="num">4</td>`) {
		t.Errorf("home does not count the staff below (4: Ana and three in Eastside): %s", home.body)
	}
	if orgs := admin.get("/orgs"); !strings.Contains(orgs.body, "4 staff") {
		t.Errorf("organisations page disagrees with home about the staff count")
	}
	details := admin.get("/permissions").body
	if m := regexp.MustCompile(`(?s)orgs\.manage.*?<td class="num">\s*(?:<a [^>]*>)?(\d+)`).FindStringSubmatch(details); m == nil || m[1] != "1" {
		t.Errorf("permission details: orgs.manage held by %v people; want 1 (the global admin)", m)
	}
	if r := admin.get("/roles?org=" + fmt.Sprint(east)); !strings.Contains(r.body, "No roles of its own yet. The roles of Northside Practice apply here too.") || !strings.Contains(r.body, "No records") {
		t.Errorf("a sub-organisation's empty roles list gives no hint: %s", r.body)
	}
	p.customRole("Only One")
	if r := admin.get("/roles?q=Only"); !strings.Contains(r.body, ">1 record<") {
		t.Errorf("one role found is not '1 record'")
	}
	if r := p.client().get("/favicon.ico"); r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}

	before := p.lastAuditID()
	if r := admin.postForm("/account/name", url.Values{"name": {"  "}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("empty name: %d, want 422", r.StatusCode)
	}
	if r := admin.postForm("/account/name", url.Values{"name": {"Ana Ruiz-Ångström"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", r.StatusCode)
	}
	if !strings.Contains(admin.get("/account").body, "Ana Ruiz-Ångström") {
		t.Error("the new name is not shown")
	}
	renamed := 0
	for _, e := range p.entriesSince(before) {
		if e.Action == audit.UserRenamed && e.TargetID == 1 && strings.Contains(string(e.Before), "Ana Ruiz") {
			renamed++
		}
	}
	if renamed != 1 {
		t.Errorf("%d rename entries; want 1", renamed)
	}
}

// Item 12: a new admin's home page leads: a checklist until done, pending invitations and
// recent changes; someone who manages nothing sees what they can do and whom to ask.
func TestHomePageLeads(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	h := admin.get("/").body
	for _, want := range []string{"Getting started", "0 of 3 done", "Create a role of your own", "Invite someone", "Set up a sub-organisation", "Pending invitations"} {
		if !strings.Contains(h, want) {
			t.Errorf("a new admin's home lacks %q", want)
		}
	}
	p.customRole("Travel Nurse")
	p.invite("olga@example.org", p.roleID("MEMBER"))
	h = admin.get("/").body
	if !strings.Contains(h, "2 of 3 done") || !strings.Contains(h, "Invited olga@example.org") || !strings.Contains(h, "Recent changes") {
		t.Errorf("after a role and an invitation the home page does not say so: %s", h)
	}
	if strings.Contains(h, "auth.sign_in") {
		t.Error("recent changes list sign-ins")
	}
	p.org("Eastside Clinic", 1)
	if h = admin.get("/").body; strings.Contains(h, "Getting started") {
		t.Error("the checklist stays after every step is done")
	}
	member, _ := p.person("ben@example.org", p.roleID("STAFF"))
	h = member.get("/").body
	for _, want := range []string{"What you can do in Northside Practice", "Contact patient", "Need more? Ask Ana Ruiz"} {
		if !strings.Contains(h, want) {
			t.Errorf("a staff member's home lacks %q", want)
		}
	}
	if strings.Contains(h, "Pending invitations") || strings.Contains(h, "Getting started") {
		t.Error("a staff member sees admin panels")
	}
}

// Item 11: a whole page answering a form post names the form's page for the address bar, so a
// reload opens the form instead of posting twice; never another site's address.
func TestPostedPageNamesTheFormsAddress(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/roles/new")
	r := c.postForm("/roles", url.Values{"org": {"1"}, "name": {""}, "status": {"active"}}, "Referer", p.srv.URL+"/roles/new?org=1")
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `data-replace-url="/roles/new?org=1"`) {
		t.Fatalf("422 page: %d, no replace-url for the form's page", r.StatusCode)
	}
	r = c.postForm("/roles", url.Values{"org": {"1"}, "name": {""}, "status": {"active"}}, "Referer", "https://evil.example/roles/new")
	if strings.Contains(r.body, "data-replace-url") {
		t.Fatal("another site's Referer was put in the address bar")
	}
}
