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

// staffIn adds people to org who never sign in, each holding roleIDs there.
func (p *portal) staffIn(org int64, names []string, roleIDs ...int64) []int64 {
	p.t.Helper()
	ctx := context.Background()
	var ids []int64
	for i, n := range names {
		email := fmt.Sprintf("s%d.%d.%d@example.org", org, p.count("users"), i)
		got, err := p.store.AddStaff(ctx, []store.NewStaff{{Email: email, Name: n, PasswordHash: "x", OrgID: org}})
		if err != nil {
			p.t.Fatal(err)
		}
		for _, r := range roleIDs {
			if err := p.store.SetRoleHolders(ctx, r, org, got, nil, 1); err != nil {
				p.t.Fatal(err)
			}
		}
		ids = append(ids, got...)
	}
	if err := p.app.Access.Reload(ctx); err != nil {
		p.t.Fatal(err)
	}
	return ids
}

// digest is the digest a preview page or fragment sends back with the save.
func digest(t *testing.T, body string) string {
	t.Helper()
	const field = `name="impact" value="`
	i := strings.Index(body, field)
	if i < 0 {
		t.Fatalf("no impact digest in %.300s", body)
	}
	d := body[i+len(field):]
	return d[:strings.IndexByte(d, '"')]
}

// Before a role edit is saved the dialog says who gains and who loses what, by name; a save
// whose preview the person did not read is held back with the preview and writes nothing;
// the save with the digest of what was read goes through; if the change would do something
// else by then (someone else gave the role to one more person), it is held again.
func TestImpactPreviewOfARoleEdit(t *testing.T) {
	p := newPortal(t, true)
	desk := p.customRole("Night Desk", "billing.view", "patients.contact")
	p.staffIn(1, []string{"Ярослава Коваленко", "Oluwaseun Adébáyọ̀-Williams", "محمد الأحمد"}, desk)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	path := fmt.Sprintf("/roles/%d", desk)
	edit := url.Values{"name": {"Night Desk"}, "status": {"active"}, "version": {"1"}, "permissions": {"billing.view", "patients.export"}}

	admin.get(path + "/edit")
	before := p.accessState()
	r := admin.postForm(path+"/impact", edit)
	if r.StatusCode != http.StatusOK || p.accessState() != before {
		t.Fatalf("preview: %d, or it wrote", r.StatusCode)
	}
	for _, want := range []string{"3 people gain Export patient data", "3 people lose Contact patient", "Ярослава Коваленко", "محمد الأحمد", "This change gives or takes access of 3 people"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	read := digest(t, r.body)

	for name, d := range map[string]string{"no digest": "", "another digest": "0123456789abcdef01234567"} {
		r := admin.postForm(path, with(edit, "impact", d))
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Nothing was saved yet") || !strings.Contains(r.body, "3 people gain Export patient data") {
			t.Fatalf("%s: %d, not held with the preview", name, r.StatusCode)
		}
		if p.accessState() != before {
			t.Fatalf("%s: a held save wrote", name)
		}
	}

	// Someone else gives the role to one more person: what was read is no longer the change.
	late := p.staffIn(1, []string{"Zoë Late"}, desk)[0]
	r = admin.postForm(path, with(edit, "impact", read))
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "4 people gain Export patient data") || !strings.Contains(r.body, "Zoë Late") {
		t.Fatalf("stale digest: %d, not held with the new preview", r.StatusCode)
	}
	r = admin.postForm(path, with(edit, "impact", digest(t, r.body)))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed save: %d", r.StatusCode)
	}
	if snap := p.app.Access.Now(); !snap.Can(late, 1, "patients.export") || snap.Can(late, 1, "patients.contact") {
		t.Fatal("the confirmed save did not give what the preview said")
	}

	// A change that gives and takes nothing needs no confirmation.
	if r := admin.postForm(path, url.Values{"name": {"Night Desk Team"}, "status": {"active"}, "version": {"2"}, "permissions": {"billing.view", "patients.export"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a rename: %d", r.StatusCode)
	}
}

// Deleting a role with holders previews both ways: reassigning them (the role chosen) and
// removing them all; Select members and organisation defaults preview what saving would do.
func TestImpactPreviewOfDeletionMembersAndDefaults(t *testing.T) {
	p := newPortal(t, true)
	desk := p.customRole("Night Desk", "billing.view", "patients.contact")
	other := p.customRole("Day Desk", "patients.contact", "scheduling.access")
	people := p.staffIn(1, []string{"Ana Lima", "Bo Chen"}, desk)
	admin := p.client()
	admin.login(adminEmail, adminPassword)

	r := admin.get(fmt.Sprintf("/roles/%d?delete=1", desk))
	if !strings.Contains(r.body, `id="remove-impact"`) || !strings.Contains(r.body, "2 people lose View billing") {
		t.Fatalf("the Remove from all form does not preview its impact: %d", r.StatusCode)
	}
	r = admin.postForm(fmt.Sprintf("/roles/%d/delete/impact", desk), url.Values{"reassign_to": {fmt.Sprint(other)}})
	if !strings.Contains(r.body, "2 people gain Access scheduling") || !strings.Contains(r.body, "2 people lose View billing") || strings.Contains(r.body, "lose Contact patient") {
		t.Fatalf("reassign preview: %d %s", r.StatusCode, r.body)
	}
	before := p.accessState()
	if r := admin.postForm(fmt.Sprintf("/roles/%d/delete", desk), url.Values{"reassign_to": {fmt.Sprint(other)}}); r.StatusCode != http.StatusConflict || p.accessState() != before {
		t.Fatalf("an unconfirmed reassignment: %d", r.StatusCode)
	}

	newcomer := p.staffIn(1, []string{"Chidi Okafor"})[0]
	r = admin.postForm(fmt.Sprintf("/roles/%d/members/impact", other), url.Values{"members": {fmt.Sprint(newcomer)}, "shown": {fmt.Sprint(newcomer)}})
	if !strings.Contains(r.body, "1 person gains Access scheduling</strong>: <bdi>Chidi Okafor</bdi>") {
		t.Fatalf("members preview: %d %s", r.StatusCode, r.body)
	}
	if r := admin.postForm(fmt.Sprintf("/roles/%d/members", other), url.Values{"members": {fmt.Sprint(newcomer)}, "shown": {fmt.Sprint(newcomer)}, "go": {"save"}}); r.StatusCode != http.StatusConflict || p.accessState() != before {
		t.Fatalf("unconfirmed members: %d", r.StatusCode)
	}

	r = admin.postForm("/orgs/1/defaults/impact", url.Values{"perm.scheduling.access": {"allow"}})
	// Everyone in Northside but the global admin (who holds everything) gains it.
	if !strings.Contains(r.body, "3 people gain Access scheduling") || !strings.Contains(r.body, "Ana Lima") {
		t.Fatalf("defaults preview: %d %s", r.StatusCode, r.body)
	}
	if r := admin.postConfirmed("/orgs/1/defaults", url.Values{"perm.scheduling.access": {"allow"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed defaults: %d", r.StatusCode)
	}
	if !p.app.Access.Now().Can(people[0], 1, "scheduling.access") {
		t.Fatal("the confirmed default did not apply")
	}
}

// The API previews a role edit the same way, for a creator who may edit the role.
func TestImpactPreviewOverTheAPI(t *testing.T) {
	p := newPortal(t, true)
	desk := p.customRole("Night Desk", "billing.view")
	p.staffIn(1, []string{"Ярослава Коваленко"}, desk)
	tok := p.token(1, 1, "read")
	r := p.api(tok, "POST", fmt.Sprintf("/api/v1/roles/%d/preview", desk), `{"permissions": ["patients.export"]}`)
	for _, want := range []string{`"people":1`, `"permission":"patients.export"`, `"name":"Ярослава Коваленко"`, `"permission":"billing.view"`} {
		if r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Fatalf("API preview lacks %s: %d %s", want, r.status, r.body)
		}
	}
	before := p.accessState()
	if p.api(tok, "POST", fmt.Sprintf("/api/v1/roles/%d/preview", desk), `{"permissions": ["roles.manage"]}`); p.accessState() != before {
		t.Fatal("an API preview wrote")
	}
}

// FuzzRolePreview: whatever body POST /api/v1/roles/{id}/preview is sent, through the real
// router, it answers 200 or a 4xx problem and writes nothing.
func FuzzRolePreview(f *testing.F) {
	for _, seed := range []string{
		`{"permissions": ["billing.view", "patients.export"]}`, `{"permissions": []}`, `{"permissions": null}`, `{}`, `[]`, `null`, ``,
		`{"permissions": ["no.such"]}`, `{"permissions": [1, 2]}`, `{"permissions": "billing.view"}`,
		`{"permissions": ["billing.view"]} trailing`, `{"permissions": ["\u0000", "\ud800"]}`,
		`{"PERMISSIONS": ["roles.manage"], "extra": {"deep": [[[]]]}}`,
		`{"permissions": [` + strings.Repeat(`"billing.view",`, 2000) + `"billing.view"]}`,
	} {
		f.Add(seed)
	}
	p := newPortal(f, true)
	desk := p.customRole("Night Desk", "billing.view")
	p.staffIn(1, []string{"Ярослава Коваленко"}, desk)
	path := fmt.Sprintf("/api/v1/roles/%d/preview", desk)
	// The access counter: every access-changing transaction moves it.
	before := p.app.Access.Now().Version()
	f.Fuzz(func(t *testing.T, body string) {
		r := p.apiT(t, p.tokenT(t, 1, 1, "read"), "POST", path, body)
		switch {
		case r.status == http.StatusOK:
		case r.status >= 400 && r.status < 500 && strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json"):
		default:
			t.Fatalf("%q: %d %s", body, r.status, r.body)
		}
		if v := p.app.Access.Now().Version(); v != before {
			t.Fatalf("%q: a preview wrote (access version %d → %d)", body, before, v)
		}
	})
}

// Another practice's manager asks the previews about Northside: refused, and no Northside
// name in the answer. Naming people one may not choose in Select members' preview names
// nobody.
func TestImpactPreviewAcrossOrganisations(t *testing.T) {
	p := newPortal(t, true)
	desk := p.customRole("Night Desk", "billing.view")
	p.staffIn(1, []string{"Ярослава Коваленко"}, desk)
	harbour := p.org("Harbour Practice", 0)
	hm, err := p.store.CreateRole(context.Background(), store.RoleInput{OrgID: harbour, Code: "HARBOUR_MANAGE", Name: "Harbour Manager", Active: true,
		Permissions: []string{"patients.view", "roles.manage", "staff.manage", "staff.view", "orgs.manage", "billing.view"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	hc, _ := p.personIn("Hal Berg", harbour, hm)
	northie := p.staffIn(1, []string{"Oluwaseun Adébáyọ̀"})[0]
	hc.get("/account")
	for _, rt := range []struct {
		path string
		form url.Values
	}{
		{fmt.Sprintf("/roles/%d/impact", desk), url.Values{"permissions": {"patients.export"}}},
		{fmt.Sprintf("/roles/%d/delete/impact", desk), url.Values{"confirm_code": {"NIGHT_DESK"}}},
		{fmt.Sprintf("/roles/%d/members/impact", desk), url.Values{"shown": {fmt.Sprint(northie)}}},
		{"/orgs/1/defaults/impact", url.Values{"perm.billing.view": {"allow"}}},
	} {
		r := hc.postForm(rt.path, rt.form)
		if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d", rt.path, r.StatusCode)
		}
		if strings.Contains(r.body, "Ярослава") || strings.Contains(r.body, "Oluwaseun") {
			t.Errorf("POST %s names Northside's people", rt.path)
		}
	}
	// Harbour's own role, with Northside's people ticked: they cannot be chosen, so nobody gains.
	hdesk, err := p.store.CreateRole(context.Background(), store.RoleInput{OrgID: harbour, Code: "HARBOUR_DESK", Name: "Harbour Desk", Active: true,
		Permissions: []string{"patients.view", "billing.view"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.app.Access.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := hc.postForm(fmt.Sprintf("/roles/%d/members/impact", hdesk), url.Values{"members": {fmt.Sprint(northie)}, "shown": {fmt.Sprint(northie)}})
	if r.StatusCode != http.StatusOK || strings.Contains(r.body, "Oluwaseun") || !strings.Contains(r.body, "Nobody gains or loses") {
		t.Fatalf("Harbour's preview with a Northside person ticked: %d %s", r.StatusCode, r.body)
	}
}
