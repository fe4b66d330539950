package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Time-bound access from the person page (issue 15): a role given until a date shows
// "until … (in N days)" with Extend; Extend moves the end; an end in the past or not a date
// is refused beside the field and what was typed stays; an allow override takes an end, a
// deny does not; once the end comes the role grants nothing, on the very next request.
func TestPersonPageUntil(t *testing.T) {
	p := newPortal(t, true)
	now := time.Now()
	p.store.SetClock(func() time.Time { return now })
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	locum, id := p.personIn("Lena Locum-Okonkwo", 1)
	nurse := p.roleID("NURSE")
	page := fmt.Sprintf("/staff/%d", id)
	end := now.Add(12*24*time.Hour + time.Hour).In(time.Local)
	r := admin.postForm(page+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(nurse)}, "until": {end.Format("2006-01-02T15:04")}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("give Nurse until a date: %d %s", r.StatusCode, r.body)
	}
	body := admin.get(page + "?org=1").body
	want := "until " + end.Format("2 Jan 2006 15:04") + " (in 12 days)"
	if !strings.Contains(body, want) || !strings.Contains(body, `data-testid="extend-NURSE"`) {
		t.Fatalf("the person page does not say %q with Extend", want)
	}
	if !strings.Contains(body, ", until "+end.Format("2 Jan 2006 15:04")+".") {
		t.Error("the reasons do not say until when the role grants")
	}
	if locum.get("/").StatusCode != http.StatusOK {
		t.Fatal("the locum cannot sign in")
	}
	// Extend by a week.
	later := end.AddDate(0, 0, 7)
	if r := admin.postForm(page+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(nurse)}, "until": {later.Format("2006-01-02T15:04")}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("extend: %d %s", r.StatusCode, r.body)
	}
	if !strings.Contains(admin.get(page+"?org=1").body, "until "+later.Format("2 Jan 2006 15:04")+" (in 19 days)") {
		t.Fatal("Extend did not move the end")
	}
	// Refusals, beside the field, keeping what was typed.
	for _, bad := range []string{now.Add(-time.Hour).In(time.Local).Format("2006-01-02T15:04"), "next tuesday"} {
		r := admin.postForm(page+"/roles", url.Values{"org": {"1"}, "role": {fmt.Sprint(p.roleID("BILLING_STAFF"))}, "until": {bad}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `data-testid="problem-add-role-until"`) || !strings.Contains(r.body, `value="`+bad+`"`) {
			t.Errorf("until %q: %d, the problem beside the field and the value kept: %v %v", bad, r.StatusCode,
				strings.Contains(r.body, `problem-add-role-until`), strings.Contains(r.body, `value="`+bad+`"`))
		}
	}
	// Overrides: an allow until a date; a deny with an end is refused.
	ovEnd := now.Add(3 * time.Hour).In(time.Local).Format("2006-01-02T15:04")
	if r := admin.postForm(page+"/overrides", url.Values{"org": {"1"}, "perm": {"billing.view"}, "effect": {"allow"}, "until": {ovEnd}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("allow until: %d %s", r.StatusCode, r.body)
	}
	if r := admin.postForm(page+"/overrides", url.Values{"org": {"1"}, "perm": {"billing.manage"}, "effect": {"deny"}, "until": {ovEnd}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("deny with an end: %d", r.StatusCode)
	}
	if snap := p.app.Access.Now(); !snap.Can(id, 1, "billing.view") || !snap.Can(id, 1, "patients.contact") {
		t.Fatal("the grants do not hold before their ends")
	}
	// The role's end comes: the next request sees it, with nothing run.
	now = later.Add(time.Second)
	snap := p.app.Access.Now()
	if snap.Can(id, 1, "patients.contact") || snap.Can(id, 1, "billing.view") {
		t.Fatal("an ended grant still grants")
	}
	if body := admin.get(page + "?org=1").body; !strings.Contains(body, "ended "+later.Format("2 Jan 2006 15:04")) {
		t.Error("the person page does not say the role ended")
	}
}

// A locum invited until a date: the form takes the end, the link page says it, accepting
// gives the role with that end, and a past end is refused beside the field.
func TestInviteLocumUntil(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/staff/invitations/new")
	nurse := p.roleID("NURSE")
	end := time.Now().Add(21 * 24 * time.Hour).In(time.Local).Truncate(time.Minute)
	form := url.Values{"email": {"locum@example.org"}, "name": {"Dr Aiyana Whitehorse-Nakamura"}, "org": {"1"}, "role": {fmt.Sprint(nurse)},
		"until": {time.Now().Add(-time.Minute).In(time.Local).Format("2006-01-02T15:04")}}
	if r := admin.postForm("/staff/invitations", form); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `data-testid="problem-until"`) {
		t.Fatalf("a past end: %d", r.StatusCode)
	}
	form.Set("until", end.Format("2006-01-02T15:04"))
	r := admin.postForm("/staff/invitations", form)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "until "+end.Format("2 Jan 2006 15:04")) {
		t.Fatalf("invite until: %d, says the end: %v", r.StatusCode, strings.Contains(r.body, "until "))
	}
	tok := linkIn(t, r.body)
	guest := p.client()
	if r := guest.postForm("/invite/"+tok, url.Values{"name": {"Dr Aiyana Whitehorse-Nakamura"}, "password": {"a long enough passphrase"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d %s", r.StatusCode, r.body)
	}
	u, err := p.store.UserByEmail(t.Context(), "locum@example.org")
	if err != nil {
		t.Fatal(err)
	}
	a, ok := p.app.Access.Now().AssignmentOf(u.ID, nurse, 1)
	if !ok || a.Until != end.Unix() {
		t.Fatalf("the accepted role: %+v %v, want until %d", a, ok, end.Unix())
	}
}

// The home page of someone who manages staff lists access ending within 7 days, soonest
// first, and nothing ending later.
func TestHomeListsAccessEndingThisWeek(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	_, soon := p.personIn("Søren Kierkegaard-Lindqvist", 1)
	_, later := p.personIn("Later Person", 1)
	now := time.Now()
	ctx := t.Context()
	if err := p.store.AssignRoleUntil(ctx, soon, p.roleID("NURSE"), 1, 0, 1, now.Add(3*24*time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	if err := p.store.AssignRoleUntil(ctx, later, p.roleID("NURSE"), 1, 0, 1, now.Add(30*24*time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	body := admin.get("/").body
	_, section, found := strings.Cut(body, `data-testid="home-ending"`)
	section, _, _ = strings.Cut(section, "</section>")
	if !found || !strings.Contains(section, "Søren Kierkegaard-Lindqvist") || !strings.Contains(section, "(in 3 days)") {
		t.Fatal("the home page does not list access ending this week")
	}
	if strings.Contains(section, "Later Person") {
		t.Error("access ending in a month is listed as ending this week")
	}
	staffer, _ := p.personIn("Plain Staff", 1, p.roleID("STAFF"))
	if strings.Contains(staffer.get("/").body, `data-testid="home-ending"`) {
		t.Error("someone who manages no staff sees whose access ends")
	}
}

// Select members gives the people it adds the role until the end typed; a past end is
// refused with nothing saved.
func TestSelectMembersUntil(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	_, student := p.personIn("Student Nurse Oluwaseun", 1)
	nurse := p.roleID("NURSE")
	path := fmt.Sprintf("/roles/%d/members", nurse)
	admin.get(path)
	past := time.Now().Add(-time.Hour).In(time.Local).Format("2006-01-02T15:04")
	if r := admin.postForm(path, url.Values{"shown": {fmt.Sprint(student)}, "members": {fmt.Sprint(student)}, "go": {"save"}, "until": {past}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a past end: %d", r.StatusCode)
	}
	if p.app.Access.Now().HoldsRole(student, nurse) {
		t.Fatal("a refused save gave the role")
	}
	end := time.Now().Add(90 * 24 * time.Hour).In(time.Local).Truncate(time.Minute)
	if r := admin.postConfirmed(path, url.Values{"shown": {fmt.Sprint(student)}, "members": {fmt.Sprint(student)}, "go": {"save"}, "until": {end.Format("2006-01-02T15:04")}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save with an end: %d %s", r.StatusCode, r.body)
	}
	if a, ok := p.app.Access.Now().AssignmentOf(student, nurse, 1); !ok || a.Until != end.Unix() {
		t.Fatalf("the student's role: %+v %v, want until %s", a, ok, end)
	}
}
