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

	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
)

type invitation struct {
	ID    int64
	Token string
}

// invite has the global admin invite email to organisation 1 with roleID.
func (p *portal) invite(email string, roleID int64) invitation {
	p.t.Helper()
	svc := staff.Service{Store: p.store, Access: p.app.Access}
	sent, problems, err := svc.Invite(context.Background(), 1, staff.InviteForm{Email: email, Name: "Invited " + email, OrgID: 1, RoleID: roleID}, "http://portal.test")
	if err != nil || len(problems) > 0 {
		p.t.Fatalf("invite %s: %v %v", email, problems, err)
	}
	return invitation{ID: sent.Invitation.ID, Token: sent.Link[strings.LastIndex(sent.Link, "/")+1:]}
}

var inviteLink = regexp.MustCompile(`value="(http://[^"]+/invite/([A-Za-z0-9_-]+))"`)

// linkIn finds the invitation link a page shows.
func linkIn(t *testing.T, body string) string {
	t.Helper()
	m := inviteLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no invitation link in the page: %s", body)
	}
	return m[2]
}

func TestInvitationLifecycle(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	nurse := p.customRole("Night Nurse", "scheduling.access")

	// Invite: the link is shown once, the staff list says "invited".
	admin.get("/staff/invitations/new")
	r := admin.postForm("/staff/invitations", url.Values{"email": {"Ben@Example.org"}, "name": {"Ben Okafor"}, "org": {"1"}, "role": {fmt.Sprint(nurse)}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Invitation created") {
		t.Fatalf("invite: %d %s", r.StatusCode, r.body)
	}
	tok := linkIn(t, r.body)
	if len(tok) < 43 { // 256 bits in base64url
		t.Fatalf("token too short: %q", tok)
	}
	if n := p.checksum("SELECT count(*) FROM invitations WHERE instr(token_hash, '" + tok + "') = 0 AND length(token_hash) = 32"); n != "1" {
		t.Fatalf("the token is not stored hashed: %s", n)
	}
	list := admin.get("/staff?status=invited")
	if !strings.Contains(list.body, "Ben@Example.org") || !strings.Contains(list.body, `data-status="invited"`) || !strings.Contains(list.body, "Night Nurse") {
		t.Fatalf("staff list does not show the invitation: %s", list.body)
	}

	// The link shows the practice and the role.
	guest := p.client()
	r = guest.get("/invite/" + tok)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Northside Practice") || !strings.Contains(r.body, "Night Nurse") || !strings.Contains(r.body, "Ana Ruiz invites you") {
		t.Fatalf("accept page: %d %s", r.StatusCode, r.body)
	}
	// Bad input: 422, nothing created.
	users := p.count("users")
	for _, f := range []url.Values{
		{"name": {"Ben Okafor"}, "password": {"short"}},
		{"name": {"Ben Okafor"}, "password": {"password1234"}},
		{"name": {""}, "password": {"a long enough passphrase"}},
		{"name": {"Ben\x00"}, "password": {"a long enough passphrase"}},
	} {
		if r := guest.postForm("/invite/"+tok, f); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%q: %d", f, r.StatusCode)
		}
	}
	if p.count("users") != users {
		t.Fatal("bad input created a user")
	}
	// Accept: the account exists, is staff with the role, and is signed in.
	r = guest.postForm("/invite/"+tok, url.Values{"name": {"Ben Okafor"}, "password": {"a long enough passphrase"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d %s", r.StatusCode, r.body)
	}
	ben, err := p.store.UserByEmail(context.Background(), "ben@example.org")
	if err != nil || ben.Name != "Ben Okafor" {
		t.Fatalf("user: %+v %v", ben, err)
	}
	if h := p.holders(nurse); h != fmt.Sprintf("[%d]", ben.ID) {
		t.Fatalf("holders of Nurse: %s", h)
	}
	if home := guest.get("/"); home.StatusCode != http.StatusOK || !strings.Contains(home.body, "Welcome to Northside Practice") {
		t.Fatalf("not signed in after accepting: %d", home.StatusCode)
	}
	// What the role allows, and nothing more.
	if r := guest.get("/staff"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a nurse sees the staff list: %d", r.StatusCode)
	}
	// Reuse: a clear page, nothing created.
	users = p.count("users")
	for _, method := range []string{"GET", "POST"} {
		var r response
		if method == "GET" {
			r = p.client().get("/invite/" + tok)
		} else {
			r = p.client().postForm("/invite/"+tok, url.Values{"name": {"Mallory"}, "password": {"another long passphrase"}})
		}
		if r.StatusCode != http.StatusGone || !strings.Contains(r.body, "already used") {
			t.Errorf("%s reused link: %d", method, r.StatusCode)
		}
	}
	if p.count("users") != users {
		t.Fatal("a reused link created a user")
	}
	// Inviting someone who is already staff says so.
	r = admin.postForm("/staff/invitations", url.Values{"email": {"ben@example.org"}, "name": {"Ben"}, "org": {"1"}, "role": {fmt.Sprint(nurse)}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "is already staff of Northside Practice") {
		t.Fatalf("already staff: %d", r.StatusCode)
	}
}

func TestInvitationExpireRevokeResend(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	member := p.roleID("MEMBER")
	now := time.Now()
	p.store.SetClock(func() time.Time { return now })

	// Expired after 7 days.
	expired := p.invite("old@example.org", member)
	now = now.Add(7*24*time.Hour + time.Second)
	if r := p.client().get("/invite/" + expired.Token); r.StatusCode != http.StatusGone || !strings.Contains(r.body, "expired") {
		t.Fatalf("expired link: %d", r.StatusCode)
	}
	users := p.count("users")
	if r := p.client().postForm("/invite/"+expired.Token, url.Values{"name": {"Old"}, "password": {"a long enough passphrase"}}); r.StatusCode != http.StatusGone || p.count("users") != users {
		t.Fatalf("accepting an expired link: %d", r.StatusCode)
	}
	// Resending an expired invitation gives a new link; the old one is dead for good.
	admin.get("/staff")
	r := admin.postForm(fmt.Sprintf("/staff/invitations/%d/resend", expired.ID), url.Values{})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Earlier links no longer work") {
		t.Fatalf("resend: %d %s", r.StatusCode, r.body)
	}
	fresh := linkIn(t, r.body)
	if fresh == expired.Token {
		t.Fatal("resend kept the token")
	}
	if r := p.client().get("/invite/" + expired.Token); r.StatusCode != http.StatusNotFound {
		t.Fatalf("old link after resend: %d", r.StatusCode)
	}
	if r := p.client().get("/invite/" + fresh); r.StatusCode != http.StatusOK {
		t.Fatalf("new link: %d", r.StatusCode)
	}

	// Revoked.
	revoked := p.invite("gone@example.org", member)
	admin.get("/staff")
	if r := admin.postForm(fmt.Sprintf("/staff/invitations/%d/revoke", revoked.ID), url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if r := p.client().get("/invite/" + revoked.Token); r.StatusCode != http.StatusGone || !strings.Contains(r.body, "withdrawn") {
		t.Fatalf("revoked link: %d", r.StatusCode)
	}
	// A revoked invitation cannot be resent or revoked again.
	admin.get("/staff")
	if r := admin.postForm(fmt.Sprintf("/staff/invitations/%d/resend", revoked.ID), url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("resend revoked: %d", r.StatusCode)
	}
	if page := admin.get("/staff"); !strings.Contains(page.body, "already accepted or revoked") {
		t.Fatal("no message after resending a revoked invitation")
	}
	// Unknown tokens, of any shape.
	for _, tok := range []string{"nope", strings.Repeat("A", 43), strings.Repeat("x", 500), "%00"} {
		if r := p.client().get("/invite/" + tok); r.StatusCode != http.StatusNotFound {
			t.Errorf("token %q: %d", tok, r.StatusCode)
		}
	}
	// Inviting again while one is pending says so.
	pending := p.invite("twice@example.org", member)
	_ = pending
	admin.get("/staff")
	r = admin.postForm("/staff/invitations", url.Values{"email": {"twice@example.org"}, "name": {"Twice"}, "org": {"1"}, "role": {fmt.Sprint(member)}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already invited") {
		t.Fatalf("second invitation: %d", r.StatusCode)
	}
}

func TestInvitationBadInputAndEscalation(t *testing.T) {
	p := newPortal(t, true)
	manager := p.customRole("Staff Manager", "staff.view", "staff.manage")
	mc, _ := p.person("manager@example.org", manager)
	admin := p.roleID("ADMIN")
	member := p.roleID("MEMBER")
	mc.get("/staff/invitations/new")
	form := func(email, name, org, role string) url.Values {
		return url.Values{"email": {email}, "name": {name}, "org": {org}, "role": {role}}
	}
	cases := []struct {
		name string
		form url.Values
		want int
		text string
	}{
		{"bad email", form("not an email", "X", "1", fmt.Sprint(member)), 422, "email"},
		{"no name", form("x@example.org", "", "1", fmt.Sprint(member)), 422, "name"},
		{"control characters", form("x@example.org", "X\u0007", "1", fmt.Sprint(member)), 422, "name"},
		{"long name", form("x@example.org", strings.Repeat("n", 101), "1", fmt.Sprint(member)), 422, "name"},
		{"unknown role", form("x@example.org", "X", "1", "9999"), 422, "Choose a role"},
		{"role not held", form("x@example.org", "X", "1", fmt.Sprint(admin)), 422, "you hold yourself"},
		{"unknown org", form("x@example.org", "X", "99", fmt.Sprint(member)), 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := p.count("invitations")
			r := mc.postForm("/staff/invitations", tc.form)
			if r.StatusCode != tc.want || !strings.Contains(strings.ToLower(r.body), strings.ToLower(tc.text)) {
				t.Fatalf("status %d, want %d with %q", r.StatusCode, tc.want, tc.text)
			}
			if p.count("invitations") != before {
				t.Fatal("bad input wrote an invitation")
			}
		})
	}
	// The form offers only roles the inviter may give.
	page := mc.get("/staff/invitations/new")
	if strings.Contains(page.body, fmt.Sprintf(`<option value="%d">Admin`, admin)) || !strings.Contains(page.body, fmt.Sprintf(`<option value="%d">Member`, member)) {
		t.Fatal("role options do not follow the escalation rule")
	}
	// An invitation never outlives its sender's authority: once the manager loses
	// staff.manage, their pending invitation cannot be accepted.
	staffRole := p.roleID("STAFF")
	r := mc.postForm("/staff/invitations", form("late@example.org", "Late", "1", fmt.Sprint(member)))
	tok := linkIn(t, r.body)
	ctx := context.Background()
	u, _ := p.store.UserByEmail(ctx, "manager@example.org")
	if err := p.store.AssignRole(ctx, u.ID, staffRole, 1, manager, 1); err != nil {
		t.Fatal(err)
	}
	users := p.count("users")
	if r := p.client().get("/invite/" + tok); r.StatusCode != http.StatusGone || !strings.Contains(r.body, "can no longer give this role") {
		t.Fatalf("invitation of a demoted manager: %d", r.StatusCode)
	}
	if r := p.client().postForm("/invite/"+tok, url.Values{"name": {"Late"}, "password": {"a long enough passphrase"}}); r.StatusCode != http.StatusGone || p.count("users") != users {
		t.Fatalf("accepting it: %d", r.StatusCode)
	}
}

func TestInvitationForExistingAccount(t *testing.T) {
	p := newPortal(t, true)
	ctx := context.Background()
	south, err := p.store.CreateOrganisation(ctx, "Southside Clinic", 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = south
	// Ben is staff of organisation 1; Southside invites him.
	benClient, ben := p.person("ben@example.org", p.roleID("MEMBER"))
	_ = benClient
	southStaff, err := p.store.CreateRole(ctx, store.RoleInput{OrgID: south, Code: "RECEPTION", Name: "Reception", Active: true,
		Permissions: []string{"patients.view"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/staff/invitations/new?org=" + fmt.Sprint(south))
	r := admin.postForm("/staff/invitations", url.Values{"email": {"ben@example.org"}, "name": {"Ben"}, "org": {fmt.Sprint(south)}, "role": {fmt.Sprint(southStaff)}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("invite: %d %s", r.StatusCode, r.body)
	}
	tok := linkIn(t, r.body)
	guest := p.client()
	page := guest.get("/invite/" + tok)
	if !strings.Contains(page.body, "Enter its password") || strings.Contains(page.body, `name="name"`) {
		t.Fatal("the accept page does not ask an existing account for its password")
	}
	if r := guest.postForm("/invite/"+tok, url.Values{"password": {"not the password"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	users := p.count("users")
	if r := guest.postForm("/invite/"+tok, url.Values{"password": {"a staff member password"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d %s", r.StatusCode, r.body)
	}
	if p.count("users") != users || p.holders(southStaff) != fmt.Sprintf("[%d]", ben) {
		t.Fatalf("users %d→%d, holders %s", users, p.count("users"), p.holders(southStaff))
	}
}

func TestInviteAddNewRoleReturns(t *testing.T) {
	p := newPortal(t, true)
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/staff/invitations/new")
	r := admin.postForm("/staff/invitations", url.Values{"email": {"fay@example.org"}, "name": {"Fay Ito"}, "org": {"1"}, "step": {"new-role"}})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/roles/new?") {
		t.Fatalf("Add a new role: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if p.count("invitations") != 0 {
		t.Fatal("Add a new role created an invitation")
	}
	form := admin.get(r.Header.Get("Location"))
	m := regexp.MustCompile(`name="next" value="([^"]+)"`).FindStringSubmatch(form.body)
	if m == nil || !strings.Contains(form.body, "Back to the invitation") {
		t.Fatalf("role form does not carry the way back: %s", form.body)
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	r = admin.postForm("/roles", url.Values{"org": {"1"}, "name": {"Locum"}, "status": {"active"}, "permissions": {"scheduling.access"}, "next": {next}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create role: %d %s", r.StatusCode, r.body)
	}
	back := r.Header.Get("Location")
	locum := p.roleID("LOCUM")
	page := admin.get(back)
	if !strings.Contains(page.body, fmt.Sprintf(`<option value="%d" selected>Locum</option>`, locum)) || !strings.Contains(page.body, `value="fay@example.org"`) ||
		!strings.Contains(page.body, `value="Fay Ito"`) || !strings.Contains(page.body, "was created and is selected") {
		t.Fatalf("back at the invitation, the role is not selected or the typing is lost: %s", page.body)
	}
	// The way back is only ever the invitation form.
	r = admin.postForm("/roles", url.Values{"org": {"1"}, "name": {"Elsewhere"}, "status": {"active"}, "next": {"https://evil.example/"}})
	if loc := r.Header.Get("Location"); strings.Contains(loc, "evil") || !strings.HasPrefix(loc, "/roles") {
		t.Fatalf("next not restricted: %s", loc)
	}
}
