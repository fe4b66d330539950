package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/store"
)

// The role form of a full page posts plainly and is redirected; only the list's dialog posts
// through htmx into #modal (issue 10, item 1).
func TestRoleFormFullPage(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	id := fmt.Sprint(p.customRole("Night Triage", "patients.contact"))
	for _, tc := range []struct {
		name, path string
		hdr        []string
		dialog     bool
	}{
		{"edit page", "/roles/" + id + "/edit", nil, false},
		{"duplicate page", "/roles/new?from=" + id, nil, false},
		{"edit dialog", "/roles/" + id + "/edit", []string{"HX-Request", "true", "HX-Target", "modal"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.get(tc.path, tc.hdr...)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.StatusCode)
			}
			if got := strings.Contains(r.body, `hx-target="#modal"`) || strings.Contains(r.body, "<dialog"); got != tc.dialog {
				t.Fatalf("answers into #modal: %v, want %v", got, tc.dialog)
			}
		})
	}
	r := c.postConfirmed("/roles/"+id, url.Values{"name": {"Night Triage"}, "status": {"active"}, "version": {"1"}, "permissions": {"patients.contact", "scheduling.access"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/roles/"+id {
		t.Fatalf("full-page save: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// Select members without JavaScript: another page is a post that saves nothing and carries
// the ticks made so far; saving then adds everyone ticked on both pages (item 2).
func TestMembersSelectionAcrossPages(t *testing.T) {
	p := newPortal(t, true)
	var people []store.NewStaff
	for i := range 30 {
		people = append(people, store.NewStaff{Email: fmt.Sprintf("p%02d@northside.example", i), Name: fmt.Sprintf("Person %02d", i), PasswordHash: "x", OrgID: 1})
	}
	ids, err := p.store.AddStaff(context.Background(), people)
	if err != nil {
		t.Fatal(err)
	}
	role := p.customRole("Night Triage", "patients.contact")
	holder := ids[29]
	p.store.SetRoleHolders(context.Background(), role, 1, []int64{holder}, nil, 1)
	c := p.client()
	c.login(adminEmail, adminPassword)
	path := fmt.Sprintf("/roles/%d/members", role)
	first := c.get(path)
	if !strings.Contains(first.body, "1 selected") || strings.Index(first.body, "Person 29") > strings.Index(first.body, "Person 00") {
		t.Fatal("Select members does not count the holder or show them first")
	}
	before := p.accessState()
	// Page 1 shows the holder, Ana and Persons 00–22; tick Person 03, go to page 2.
	shown := url.Values{"go": {"2"}, "members": {fmt.Sprint(holder), fmt.Sprint(ids[3])}}
	for _, id := range append([]int64{holder, 1}, ids[:23]...) {
		shown.Add("shown", fmt.Sprint(id))
	}
	page2 := c.postForm(path, shown)
	if page2.StatusCode != http.StatusOK || p.accessState() != before {
		t.Fatalf("going to page 2: %d, or it saved", page2.StatusCode)
	}
	for _, want := range []string{fmt.Sprintf(`name="members" value="%d" data-carried`, ids[3]), "Person 23", "2 selected (1 to add, 0 to remove when you save)", "adding Person 03"} {
		if !strings.Contains(page2.body, want) {
			t.Fatalf("page 2 lacks %q", want)
		}
	}
	// Save from page 2: the carried tick and one here.
	save := url.Values{"go": {"save"}, "shown": {fmt.Sprint(ids[3]), fmt.Sprint(ids[23]), fmt.Sprint(ids[24])}, "members": {fmt.Sprint(ids[3]), fmt.Sprint(ids[24])}}
	r := c.postConfirmed(path, save)
	if r.StatusCode != http.StatusSeeOther || p.holders(role) != fmt.Sprint([]int64{ids[3], ids[24], holder}) {
		t.Fatalf("save: %d, holders %s", r.StatusCode, p.holders(role))
	}
	if got := byTestid(t, c.get(fmt.Sprintf("/roles/%d", role)).body, "flash"); got != "Members of “Night Triage” saved: added Person 03 and Person 24." {
		t.Fatalf("flash %q", got)
	}
}

// Role pickers start on Choose a role… and an empty choice is a 422 beside the picker; the
// delete form keeps the typed code and takes it in any case (items 3 and 6).
func TestRoleChoicesAreNeverDefaults(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	if body := c.get("/staff/invitations/new").body; !strings.Contains(body, `<option value="" selected>Choose a role…</option>`) {
		t.Fatal("Invite staff does not start on Choose a role…")
	}
	_, ben := p.person("ben@northside.example", p.roleID("NURSE"))
	before := p.accessState()
	r := c.postForm(fmt.Sprintf("/staff/%d/roles", ben), url.Values{"org": {"1"}, "role": {""}})
	if r.StatusCode != http.StatusUnprocessableEntity || byTestid(t, r.body, "problem-add-role") != "Choose a role." || p.accessState() != before {
		t.Fatalf("adding no role: %d", r.StatusCode)
	}
	r = c.postForm(fmt.Sprintf("/staff/%d/roles", ben), url.Values{"org": {"1"}, "role": {""}, "replace": {fmt.Sprint(p.roleID("NURSE"))}})
	if r.StatusCode != http.StatusUnprocessableEntity || byTestid(t, r.body, fmt.Sprintf("problem-move-%d-1", p.roleID("NURSE"))) != "Choose a role." || p.accessState() != before {
		t.Fatalf("changing to no role: %d", r.StatusCode)
	}
	if !strings.Contains(r.body, `data-warn="Administrator grants administration: Edit roles and permissions, Add/remove staff members, Manage organisations, Grant any permission."`) {
		t.Fatal("the person page's pickers do not carry the warning of Administrator")
	}

	role := p.customRole("Weekend Cover", "scheduling.access")
	p.store.SetRoleHolders(context.Background(), role, 1, []int64{ben}, nil, 1)
	path := fmt.Sprintf("/roles/%d/delete", role)
	before = p.accessState()
	r = c.postForm(path, url.Values{"reassign_to": {""}})
	if r.StatusCode != http.StatusUnprocessableEntity || byTestid(t, r.body, "problem-reassign") != "Choose the role to give them." || p.accessState() != before {
		t.Fatalf("reassign to no role: %d", r.StatusCode)
	}
	r = c.postForm(path, url.Values{"confirm_code": {"WEEKEND"}}, "HX-Request", "true", "HX-Target", "modal")
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `value="WEEKEND"`) || !strings.Contains(r.body, "<dialog") || p.accessState() != before {
		t.Fatalf("wrong code in the dialog: %d", r.StatusCode)
	}
	r = c.postForm(path, url.Values{"confirm_code": {" weekend_cover "}}, "HX-Request", "true", "HX-Target", "modal")
	if r.StatusCode != http.StatusOK || r.Header.Get("HX-Retarget") != "#roles-table" || p.holders(role) != "[]" {
		t.Fatalf("code in lower case: %d %q", r.StatusCode, r.Header.Get("HX-Retarget"))
	}
}
