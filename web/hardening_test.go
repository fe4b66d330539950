package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/store"
)

// attackWorld is the fixture of the hardening issue: two top-level practices A and B, a
// sub-organisation A1, an Administrator in each, and people who may or may not be acted on.
type attackWorld struct {
	p        *portal
	a, a1, b int64
	id       map[string]int64
	c        map[string]*client
	roles    map[string]int64 // "ADMIN@A", "MEMBER@B", "DESK@A"…
}

func newAttackWorld(t *testing.T) *attackWorld {
	t.Helper()
	p := newPortal(t, true)
	w := &attackWorld{p: p, a: 1, id: map[string]int64{"Ana Ruiz": 1}, c: map[string]*client{}, roles: map[string]int64{}}
	w.b = p.org("Bayview Clinic", 0)
	w.a1 = p.org("Northside East", w.a)
	for _, code := range []string{"ADMIN", "MEMBER", "NURSE", "ACCESS_CONTROLLER"} {
		w.roles[code+"@A"] = p.roleID(code)
		w.roles[code+"@B"] = w.roleIn(w.b, code)
	}
	w.roles["DESK@A"] = p.customRole("Staff Desk", "staff.manage", "staff.view")
	for _, pp := range []struct {
		name string
		org  int64
		role string
	}{
		{"Admin A", w.a, "ADMIN@A"},
		{"Admin B", w.b, "ADMIN@B"},
		{"Admin A1", w.a1, "ADMIN@A"},
		{"Desk Manager", w.a, "DESK@A"},
		{"Member A", w.a, "MEMBER@A"},
		{"Nurse A", w.a, "NURSE@A"},
		{"Access Controller", w.a, "ACCESS_CONTROLLER@A"},
		{"Member B", w.b, "MEMBER@B"},
	} {
		w.c[pp.name], w.id[pp.name] = p.personIn(pp.name, pp.org, w.roles[pp.role])
	}
	w.c["Ana Ruiz"] = p.client()
	w.c["Ana Ruiz"].login(adminEmail, adminPassword)
	return w
}

// roleIn finds a role of org by code.
func (w *attackWorld) roleIn(org int64, code string) int64 {
	w.p.t.Helper()
	var id int64
	db := w.p.rawDB()
	defer db.Close()
	if err := db.QueryRow("SELECT id FROM roles WHERE org_id = ? AND code = ?", org, code).Scan(&id); err != nil {
		w.p.t.Fatal(err)
	}
	return id
}

// state is everything a refused staff action must leave as it was.
func (w *attackWorld) state() string {
	p := w.p
	return p.checksum("SELECT group_concat(id || status, ',') FROM users") + "|" +
		p.checksum("SELECT coalesce(group_concat(user_id || ':' || n, ','), '') FROM (SELECT user_id, count(*) AS n FROM sessions GROUP BY user_id)") + "|" +
		p.checksum("SELECT coalesce(group_concat(user_id || '/' || role_id || '/' || org_id, ','), '') FROM role_assignments") + "|" +
		p.checksum("SELECT coalesce(group_concat(user_id || '/' || org_id || '/' || perm || effect, ','), '') FROM user_overrides") + "|" +
		p.checksum("SELECT coalesce(group_concat(user_id || '/' || org_id, ','), '') FROM staff")
}

// setVisibility sets "Limit organisation members visibility" of org through its page, as
// its administrator would.
func (w *attackWorld) setVisibility(t *testing.T, org int64, limit bool) {
	t.Helper()
	v := "no"
	if limit {
		v = "yes"
	}
	c := w.c["Ana Ruiz"]
	c.get(fmt.Sprintf("/orgs/%d", org))
	if r := c.postForm(fmt.Sprintf("/orgs/%d/settings", org), url.Values{"role_mode": {"many"}, "limit_visibility": {v}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("visibility of %d: %d %s", org, r.StatusCode, r.body)
	}
}

// staffAction is one of the person page's changes, as a form post.
type staffAction struct {
	name string
	post func(w *attackWorld, target string, org int64) (string, url.Values)
}

// heldRole is a role target holds in org, for the remove and change actions.
func (w *attackWorld) heldRole(target string, org int64) int64 {
	var id int64
	db := w.p.rawDB()
	defer db.Close()
	_ = db.QueryRow("SELECT role_id FROM role_assignments WHERE user_id = ? ORDER BY org_id = ? DESC LIMIT 1", w.id[target], org).Scan(&id)
	return id
}

var staffActions = []staffAction{
	{"disable", func(w *attackWorld, who string, org int64) (string, url.Values) {
		return fmt.Sprintf("/staff/%d/disable", w.id[who]), url.Values{"org": {fmt.Sprint(org)}}
	}},
	{"enable", func(w *attackWorld, who string, org int64) (string, url.Values) {
		return fmt.Sprintf("/staff/%d/enable", w.id[who]), url.Values{"org": {fmt.Sprint(org)}}
	}},
	{"sessions end", func(w *attackWorld, who string, org int64) (string, url.Values) {
		return fmt.Sprintf("/staff/%d/sessions/end", w.id[who]), url.Values{"org": {fmt.Sprint(org)}}
	}},
	{"remove", func(w *attackWorld, who string, org int64) (string, url.Values) {
		return fmt.Sprintf("/staff/%d/remove", w.id[who]), url.Values{"org": {fmt.Sprint(org)}}
	}},
	{"role add", func(w *attackWorld, who string, org int64) (string, url.Values) {
		member := w.roles["MEMBER@A"]
		if org == w.b {
			member = w.roles["MEMBER@B"]
		}
		return fmt.Sprintf("/staff/%d/roles", w.id[who]), url.Values{"org": {fmt.Sprint(org)}, "role": {fmt.Sprint(member)}}
	}},
	{"role remove", func(w *attackWorld, who string, org int64) (string, url.Values) {
		return fmt.Sprintf("/staff/%d/roles/remove", w.id[who]), url.Values{"org": {fmt.Sprint(org)}, "role": {fmt.Sprint(w.heldRole(who, org))}}
	}},
	{"role change", func(w *attackWorld, who string, org int64) (string, url.Values) {
		member := w.roles["MEMBER@A"]
		if org == w.b {
			member = w.roles["MEMBER@B"]
		}
		return fmt.Sprintf("/staff/%d/roles", w.id[who]), url.Values{"org": {fmt.Sprint(org)}, "role": {fmt.Sprint(member)},
			"replace": {fmt.Sprint(w.heldRole(who, org))}}
	}},
	{"override", func(w *attackWorld, who string, org int64) (string, url.Values) {
		return fmt.Sprintf("/staff/%d/overrides", w.id[who]), url.Values{"org": {fmt.Sprint(org)}, "perm": {"patients.identifiers"}, "effect": {"deny"}}
	}},
}

// Findings 1 and 2 of the hardening issue: nobody changes a person outside the organisations
// where they manage staff, however wide their visibility, and nobody changes someone whose
// access exceeds their own. Every staff action, with member visibility Yes and No.
func TestStaffActionsRefusedAcrossOrganisationsAndUpwards(t *testing.T) {
	w := newAttackWorld(t)
	// grants: the target is staff where the form acts, so giving them a role (which only
	// adds, within the escalation guard) is allowed; everything that takes access is not.
	attacks := []struct {
		actor, target string
		org           func(*attackWorld) int64 // the organisation the form names
		visibilityOf  func(*attackWorld) int64 // whose setting the case flips
		grants        bool
		why           string
	}{
		{"Admin A", "Admin B", func(w *attackWorld) int64 { return w.a }, func(w *attackWorld) int64 { return w.a }, false, "another practice's administrator"},
		{"Admin A", "Member B", func(w *attackWorld) int64 { return w.a }, func(w *attackWorld) int64 { return w.a }, false, "another practice's staff"},
		{"Admin A1", "Admin A", func(w *attackWorld) int64 { return w.a1 }, func(w *attackWorld) int64 { return w.a1 }, true, "the parent's administrator, from the sub-organisation"},
		{"Desk Manager", "Admin A", func(w *attackWorld) int64 { return w.a }, func(w *attackWorld) int64 { return w.a }, true, "someone with more access"},
		{"Desk Manager", "Ana Ruiz", func(w *attackWorld) int64 { return w.a }, func(w *attackWorld) int64 { return w.a }, true, "the global admin"},
		{"Desk Manager", "Nurse A", func(w *attackWorld) int64 { return w.a }, func(w *attackWorld) int64 { return w.a }, true, "a nurse, whose clinical access the desk lacks"},
		{"Access Controller", "Admin A", func(w *attackWorld) int64 { return w.a }, func(w *attackWorld) int64 { return w.a }, true, "an administrator, whose administration permissions the access controller lacks"},
		{"Admin A", "Ana Ruiz", func(w *attackWorld) int64 { return w.a }, func(w *attackWorld) int64 { return w.a }, true, "the global admin, by a practice administrator"},
	}
	for _, limit := range []bool{true, false} {
		for _, at := range attacks {
			w.setVisibility(t, at.visibilityOf(w), limit)
			for _, act := range staffActions {
				if act.name == "role add" && at.grants {
					continue // see TestGivingARoleUpwardsActsOnNobody
				}
				t.Run(fmt.Sprintf("visibility %v/%s %s %s (%s)", limit, at.actor, act.name, at.target, at.why), func(t *testing.T) {
					if act.name == "enable" {
						w.disableDirectly(t, at.target)
						defer w.enableDirectly(t, at.target)
					}
					before := w.state()
					auditBefore := w.p.lastAuditID()
					c := w.c[at.actor]
					c.get(fmt.Sprintf("/staff/%d", w.id[at.target]))
					path, form := act.post(w, at.target, at.org(w))
					r := c.postForm(path, form)
					if r.StatusCode < 400 || r.StatusCode >= 500 {
						t.Fatalf("%s %s: status %d, want a refusal: %.300s", path, form.Encode(), r.StatusCode, r.body)
					}
					if after := w.state(); after != before {
						t.Fatalf("refused with %d, but something changed:\nbefore %s\nafter  %s", r.StatusCode, before, after)
					}
					for _, e := range w.p.entriesSince(auditBefore) {
						if e.Action != "access.denied" {
							t.Fatalf("a refused action wrote %s", e.Action)
						}
					}
				})
			}
		}
	}
	// The refusal says why.
	w.setVisibility(t, w.a, true)
	c := w.c["Desk Manager"]
	c.get(fmt.Sprintf("/staff/%d", w.id["Admin A"]))
	r := c.postForm(fmt.Sprintf("/staff/%d/disable", w.id["Admin A"]), url.Values{"org": {"1"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "you do not hold yourself") || !strings.Contains(r.body, "Manage organisations") {
		t.Fatalf("the refusal does not say why: %d %.2000s", r.StatusCode, r.body)
	}
}

// A sub-organisation's admin may give the practice's administrator a role there (it only
// adds), and with visibility No may pick them in Select members; neither lets them then take
// anything from that administrator, who is answered for at the practice's level.
func TestGivingARoleUpwardsActsOnNobody(t *testing.T) {
	w := newAttackWorld(t)
	w.setVisibility(t, w.a1, false)
	c := w.c["Admin A1"]
	target := w.id["Admin A"]
	c.get(fmt.Sprintf("/staff/%d", target))
	if r := c.postForm(fmt.Sprintf("/staff/%d/roles", target), url.Values{"org": {fmt.Sprint(w.a1)}, "role": {fmt.Sprint(w.roles["MEMBER@A"])}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("giving the practice's administrator a role in A1: %d", r.StatusCode)
	}
	before := w.state()
	for _, act := range staffActions {
		if act.name == "role add" {
			continue
		}
		path, form := act.post(w, "Admin A", w.a1)
		if act.name == "role remove" || act.name == "role change" {
			form.Set("role", fmt.Sprint(w.roles["MEMBER@A"]))
			if act.name == "role change" {
				form.Set("role", fmt.Sprint(w.roles["NURSE@A"]))
				form.Set("replace", fmt.Sprint(w.roles["MEMBER@A"]))
			}
		}
		c.get(fmt.Sprintf("/staff/%d", target))
		r := c.postForm(path, form)
		if r.StatusCode < 400 || r.StatusCode >= 500 || w.state() != before {
			t.Fatalf("%s on the adopted administrator: %d, changed %v", act.name, r.StatusCode, w.state() != before)
		}
	}
	// Select members of an A1 role: picking them (visibility No) is allowed, taking the role
	// back is not.
	role, err := w.p.store.CreateRole(context.Background(), store.RoleInput{OrgID: w.a1, Code: "A1_DESK", Name: "A1 Desk", Active: true,
		Permissions: []string{"patients.view"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	members := fmt.Sprintf("/roles/%d/members", role)
	c.get(members)
	if r := c.postForm(members, url.Values{"members": {fmt.Sprint(target)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("Select members adds the administrator: %d", r.StatusCode)
	}
	before = w.state()
	c.get(members)
	r := c.postForm(members, url.Values{"shown": {fmt.Sprint(target)}})
	if r.StatusCode != http.StatusUnprocessableEntity || w.state() != before || !strings.Contains(r.body, "you do not hold yourself") {
		t.Fatalf("Select members takes the role from the administrator: %d, changed %v", r.StatusCode, w.state() != before)
	}
}

func (w *attackWorld) disableDirectly(t *testing.T, who string) {
	t.Helper()
	db := w.p.rawDBWrite()
	defer db.Close()
	// As another process would (a restore, a second instance): the change and the access
	// counter in one transaction; the portal's next request catches up by itself.
	if _, err := db.Exec("BEGIN; UPDATE users SET status = 'disabled' WHERE id = ?; UPDATE versions SET access = access + 1; COMMIT", w.id[who]); err != nil {
		t.Fatal(err)
	}
}

func (w *attackWorld) enableDirectly(t *testing.T, who string) {
	t.Helper()
	db := w.p.rawDBWrite()
	defer db.Close()
	// As another process would (a restore, a second instance): the change and the access
	// counter in one transaction; the portal's next request catches up by itself.
	if _, err := db.Exec("BEGIN; UPDATE users SET status = 'active' WHERE id = ?; UPDATE versions SET access = access + 1; COMMIT", w.id[who]); err != nil {
		t.Fatal(err)
	}
}

// What the rules still allow: each administrator acts on their own staff, the desk on people
// whose access it covers, and the access controller on a nurse (access.delegate decides
// access without holding the data). Each round runs the person page's changes in turn.
func TestStaffActionsAllowedWithinOnesAccess(t *testing.T) {
	w := newAttackWorld(t)
	for _, limit := range []bool{true, false} {
		w.setVisibility(t, w.a, limit)
		w.setVisibility(t, w.b, limit)
		for _, tc := range []struct{ actor, target, give string }{
			{"Desk Manager", "Member A", "DESK@A"},
			{"Admin A", "Nurse A", "MEMBER@A"},
			{"Access Controller", "Nurse A", "MEMBER@A"},
			{"Admin B", "Member B", "NURSE@B"},
		} {
			org := w.a
			if strings.HasSuffix(tc.target, " B") {
				org = w.b
			}
			id, o := w.id[tc.target], fmt.Sprint(org)
			start := w.heldRole(tc.target, org)
			give := fmt.Sprint(w.roles[tc.give])
			steps := []struct {
				name, path string
				form       url.Values
			}{
				{"disable", "disable", url.Values{"org": {o}}},
				{"enable", "enable", url.Values{"org": {o}}},
				{"sessions end", "sessions/end", url.Values{"org": {o}}},
				{"override", "overrides", url.Values{"org": {o}, "perm": {"patients.identifiers"}, "effect": {"deny"}}},
				{"override back", "overrides", url.Values{"org": {o}, "perm": {"patients.identifiers"}, "effect": {"inherit"}}},
				{"role add", "roles", url.Values{"org": {o}, "role": {give}}},
				{"role remove", "roles/remove", url.Values{"org": {o}, "role": {give}}},
				{"role change", "roles", url.Values{"org": {o}, "role": {give}, "replace": {fmt.Sprint(start)}}},
			}
			for _, st := range steps {
				t.Run(fmt.Sprintf("visibility %v/%s %s %s", limit, tc.actor, st.name, tc.target), func(t *testing.T) {
					before := w.state()
					c := w.c[tc.actor]
					c.get(fmt.Sprintf("/staff/%d", id))
					r := c.postForm(fmt.Sprintf("/staff/%d/%s", id, st.path), st.form)
					if r.StatusCode != http.StatusSeeOther {
						t.Fatalf("%s: %d %.300s", st.form.Encode(), r.StatusCode, regexpFind(r.body, `data-testid="person-problem">([^<]*)`))
					}
					if st.name != "sessions end" && w.state() == before {
						t.Fatalf("allowed, but nothing changed")
					}
				})
			}
			w.restore(t, tc.target, org)
		}
	}
}

// restore gives target back the single role they started with in org and no overrides.
func (w *attackWorld) restore(t *testing.T, target string, org int64) {
	t.Helper()
	start := map[string]string{"Member A": "MEMBER@A", "Nurse A": "NURSE@A", "Member B": "MEMBER@B"}[target]
	db := w.p.rawDBWrite()
	defer db.Close()
	for _, q := range []string{"DELETE FROM role_assignments WHERE user_id = ?", "DELETE FROM user_overrides WHERE user_id = ?"} {
		if _, err := db.Exec(q, w.id[target]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO role_assignments (user_id, role_id, org_id, created_at) VALUES (?, ?, ?, 0)", w.id[target], w.roles[start], org); err != nil {
		t.Fatal(err)
	}
	if err := w.p.app.Access.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Disabling or signing out someone who is staff of two practices needs staff.manage in both;
// the audit entries are filed under each organisation of the person acted on, so each
// practice's auditors see them.
func TestAccountActionsNeedEveryOrganisationOfThePerson(t *testing.T) {
	w := newAttackWorld(t)
	ctx := context.Background()
	dual, dualID := w.p.personIn("Dana Dual", w.a, w.roles["MEMBER@A"])
	_ = dual
	w.id["Dana Dual"] = dualID
	if err := w.p.store.SetRoleHolders(ctx, w.roles["MEMBER@B"], w.b, []int64{dualID}, nil, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.p.app.Access.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"disable", "sessions/end"} {
		before := w.state()
		c := w.c["Admin A"]
		c.get(fmt.Sprintf("/staff/%d", dualID))
		r := c.postForm(fmt.Sprintf("/staff/%d/%s", dualID, path), url.Values{"org": {"1"}})
		if r.StatusCode != http.StatusForbidden || w.state() != before {
			t.Fatalf("Admin A %s of someone also in B: %d (want 403, nothing changed)", path, r.StatusCode)
		}
		if !strings.Contains(r.body, "Bayview Clinic") {
			t.Fatalf("the refusal does not name the organisation: %.1500s", r.body)
		}
	}
	// Within A, Admin A may still remove them from A.
	c := w.c["Admin A"]
	c.get(fmt.Sprintf("/staff/%d", dualID))
	if r := c.postForm(fmt.Sprintf("/staff/%d/roles/remove", dualID), url.Values{"org": {"1"}, "role": {fmt.Sprint(w.roles["MEMBER@A"])}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("Admin A removes the A role: %d %.800s", r.StatusCode, r.body)
	}
	// The global admin disables them: one entry under each organisation they belong to.
	since := w.p.lastAuditID()
	ana := w.c["Ana Ruiz"]
	ana.get(fmt.Sprintf("/staff/%d", dualID))
	if r := ana.postForm(fmt.Sprintf("/staff/%d/disable", dualID), url.Values{"org": {fmt.Sprint(w.b)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("global admin disables: %d %.800s", r.StatusCode, r.body)
	}
	orgs := map[int64]bool{}
	for _, e := range w.p.entriesSince(since) {
		if e.Action == "staff.disable" {
			if e.ActorID != 1 {
				t.Fatalf("disable entry names actor %d", e.ActorID)
			}
			orgs[e.OrgID] = true
		}
	}
	if !orgs[w.a] || !orgs[w.b] {
		t.Fatalf("disable entries filed under %v, want A (%d) and B (%d)", orgs, w.a, w.b)
	}
	// And B's auditor sees it: Admin B reads B's log.
	r := w.c["Admin B"].get("/audit?action=staff.disable")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Dana Dual") {
		t.Fatalf("B's audit log does not show the disabling: %d", r.StatusCode)
	}
}

// Finding 3 of the hardening issue: an access controller invites a second address as
// Administrator (the link is shown to them, so no mailbox is needed), accepts it, and the new
// account tries to raise the original one. Every route is refused, and the audit entry of the
// acceptance names the inviter.
func TestDelegationLaunderingRefused(t *testing.T) {
	w := newAttackWorld(t)
	ac, acID := w.c["Access Controller"], w.id["Access Controller"]
	ac.get("/staff/invitations/new")
	r := ac.postForm("/staff/invitations", url.Values{"email": {"second.self@example.org"}, "name": {"Second Self"}, "org": {"1"},
		"role": {fmt.Sprint(w.roles["ADMIN@A"])}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("the access controller invites an administrator: %d", r.StatusCode)
	}
	tok := linkIn(t, r.body)
	since := w.p.lastAuditID()
	second := w.p.client()
	second.get("/invite/" + tok)
	if r := second.postForm("/invite/"+tok, url.Values{"name": {"Second Self"}, "password": {"a long and private passphrase"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d %.500s", r.StatusCode, r.body)
	}
	var accepted bool
	for _, e := range w.p.entriesSince(since) {
		if e.Action == "invitation.accept" {
			accepted = true
			if !strings.Contains(string(e.After), `"invited_by":"Access Controller"`) {
				t.Fatalf("the acceptance entry does not name the inviter: %s", e.After)
			}
		}
	}
	if !accepted {
		t.Fatal("no invitation.accept entry")
	}
	before := w.state() + w.p.checksum("SELECT coalesce(group_concat(org_id || perm || effect), '') FROM org_defaults")
	for _, tc := range []struct {
		name, path string
		form       url.Values
	}{
		{"give the inviter the Administrator role", fmt.Sprintf("/staff/%d/roles", acID), url.Values{"org": {"1"}, "role": {fmt.Sprint(w.roles["ADMIN@A"])}}},
		{"give the inviter a nurse's role", fmt.Sprintf("/staff/%d/roles", acID), url.Values{"org": {"1"}, "role": {fmt.Sprint(w.roles["NURSE@A"])}}},
		{"allow the inviter an override", fmt.Sprintf("/staff/%d/overrides", acID), url.Values{"org": {"1"}, "perm": {"patients.export"}, "effect": {"allow"}}},
		{"put the inviter in the Administrator role's members", fmt.Sprintf("/roles/%d/members", w.roles["ADMIN@A"]), url.Values{"members": {fmt.Sprint(acID)}}},
		{"allow everyone in A by default", "/orgs/1/defaults", url.Values{"perm.patients.export": {"allow"}}},
	} {
		second.get("/staff")
		r := second.postForm(tc.path, tc.form)
		after := w.state() + w.p.checksum("SELECT coalesce(group_concat(org_id || perm || effect), '') FROM org_defaults")
		if r.StatusCode != http.StatusUnprocessableEntity || after != before {
			t.Errorf("%s: %d (want 422), changed %v", tc.name, r.StatusCode, after != before)
		}
		if !strings.Contains(r.body, "someone who invited you") {
			t.Errorf("%s: the refusal does not say why", tc.name)
		}
	}
	// Nor bring the inviter's account back once someone disabled it.
	w.disableDirectly(t, "Access Controller")
	before = w.state()
	second.get("/staff")
	if r := second.postForm(fmt.Sprintf("/staff/%d/enable", acID), url.Values{"org": {"1"}}); r.StatusCode != http.StatusUnprocessableEntity || w.state() != before {
		t.Errorf("enable the disabled inviter: %d, changed %v", r.StatusCode, w.state() != before)
	}
	// The inviter chain does not stop the new administrator from giving others their due.
	second.get("/staff")
	if r := second.postForm(fmt.Sprintf("/staff/%d/roles", w.id["Member A"]), url.Values{"org": {"1"}, "role": {fmt.Sprint(w.roles["NURSE@A"])}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the new administrator gives someone else a role: %d", r.StatusCode)
	}
}

// Finding 8 of the hardening issue: "Start from" names only a role the person may view; the
// permissions of another practice's role are never shown.
func TestStartFromAnotherPracticesRoleRefused(t *testing.T) {
	w := newAttackWorld(t)
	secret, err := w.p.store.CreateRole(context.Background(), store.RoleInput{OrgID: w.a, Code: "EXPORTER", Name: "Exporter", Active: true,
		Permissions: []string{"patients.view", "patients.export", "billing.manage"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fmt.Sprintf("/roles/new?from=%d", secret), fmt.Sprintf("/roles/new?from=%d&org=%d", secret, w.b), fmt.Sprintf("/roles/%d", secret)} {
		r := w.c["Admin B"].get(path)
		if r.StatusCode != http.StatusForbidden || strings.Contains(r.body, "Export patient data") || strings.Contains(r.body, "Exporter") {
			t.Errorf("%s as Admin B: %d, shows the role: %v", path, r.StatusCode, strings.Contains(r.body, "Export patient data"))
		}
	}
	// A role that applies where one works may be a template: A1's admin starts from A's role.
	if r := w.c["Admin A1"].get(fmt.Sprintf("/roles/new?from=%d&org=%d", secret, w.a1)); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Copy of Exporter") {
		t.Errorf("A1's admin starts from A's role: %d", r.StatusCode)
	}
	if r := w.c["Admin A1"].get("/roles/new?from=999999"); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown role: %d", r.StatusCode)
	}
}

// Finding 13 of the hardening issue: neither the audit log's person filter nor an invitation
// says whether someone the reader may not see has an account, or that it is disabled.
func TestNoExistenceOracles(t *testing.T) {
	w := newAttackWorld(t)
	w.disableDirectly(t, "Member B")
	c := w.c["Admin A"]
	// The audit filter: an address of another practice and one nobody has answer alike.
	known, unknown := c.get("/audit?person=member.b@example.org"), c.get("/audit?person=nobody.at.all@example.org")
	if known.StatusCode != unknown.StatusCode || known.StatusCode != http.StatusOK ||
		strings.Count(known.body, `data-testid="audit-row"`) != 0 || strings.Count(unknown.body, `data-testid="audit-row"`) != 0 {
		t.Fatalf("audit filter: %d / %d", known.StatusCode, unknown.StatusCode)
	}
	// Inviting another practice's disabled person is answered like inviting a new address.
	invite := func(email string) response {
		c.get("/staff/invitations/new")
		return c.postForm("/staff/invitations", url.Values{"email": {email}, "name": {"Someone"}, "org": {"1"}, "role": {fmt.Sprint(w.roles["MEMBER@A"])}})
	}
	r := invite("member.b@example.org")
	if r.StatusCode != http.StatusOK || strings.Contains(r.body, "Member B") || strings.Contains(r.body, "disabled") {
		t.Fatalf("inviting another practice's disabled person: %d %.300s", r.StatusCode, regexpFind(r.body, `class="field-error"[^>]*>([^<]*)`))
	}
	if r := invite("brand.new@example.org"); r.StatusCode != http.StatusOK {
		t.Fatalf("inviting a new address: %d", r.StatusCode)
	}
	// Someone the inviter may see is still named: already staff here.
	r = invite("nurse.a@example.org")
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already staff") {
		t.Fatalf("inviting one's own staff: %d", r.StatusCode)
	}
}

// Finding 14 of the hardening issue: the invitation link believes X-Forwarded-Proto only
// from a trusted proxy.
func TestInvitationLinkBelievesForwardedProtoOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		trusted bool
		want    string
	}{{false, `value="http://`}, {true, `value="https://`}} {
		p := newPortal(t, true, func(c *config.Config) {
			if tc.trusted {
				c.TrustedProxySetting("127.0.0.1")
			}
		})
		admin := p.client()
		admin.login(adminEmail, adminPassword)
		admin.get("/staff/invitations/new")
		r := admin.postForm("/staff/invitations", url.Values{"email": {"ben@example.org"}, "name": {"Ben"}, "org": {"1"},
			"role": {fmt.Sprint(p.roleID("MEMBER"))}}, "X-Forwarded-Proto", "https")
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, tc.want) {
			t.Errorf("trusted proxy %v: %d, want a link starting %s", tc.trusted, r.StatusCode, tc.want)
		}
	}
}

// Finding 10 of the hardening issue: deleting a role with Reassign or Remove from all records
// who was moved or removed, by name, and each person's own history shows it.
func TestDeletingARoleRecordsItsHolders(t *testing.T) {
	w := newAttackWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		form func(role int64) url.Values
		key  string
	}{
		{"reassign", func(int64) url.Values { return url.Values{"reassign_to": {fmt.Sprint(w.roles["NURSE@A"])}} }, "holders_moved_to"},
		{"remove all", func(int64) url.Values { return url.Values{"confirm_code": {"WEEKEND_COVER"}} }, "holders_removed"},
	} {
		role, err := w.p.store.CreateRole(ctx, store.RoleInput{OrgID: w.a, Code: "WEEKEND_COVER", Name: "Weekend cover", Active: true,
			Permissions: []string{"patients.view", "scheduling.access"}, ActorID: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.p.store.SetRoleHolders(ctx, role, w.a, []int64{w.id["Member A"], w.id["Nurse A"]}, nil, 1); err != nil {
			t.Fatal(err)
		}
		since := w.p.lastAuditID()
		ana := w.c["Ana Ruiz"]
		ana.get(fmt.Sprintf("/roles/%d?delete=1", role))
		if r := ana.postConfirmed(fmt.Sprintf("/roles/%d/delete", role), tc.form(role)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", tc.name, r.StatusCode)
		}
		var deleted string
		removed := map[int64]bool{}
		for _, e := range w.p.entriesSince(since) {
			switch e.Action {
			case "role.delete":
				deleted = string(e.After)
			case "assignment.remove":
				removed[e.TargetID] = true
			}
		}
		if !strings.Contains(deleted, tc.key) || !strings.Contains(deleted, "Member A in Northside Practice") || !strings.Contains(deleted, "Nurse A in Northside Practice") {
			t.Errorf("%s: the deletion entry does not name the holders: %s", tc.name, deleted)
		}
		if !removed[w.id["Member A"]] || !removed[w.id["Nurse A"]] {
			t.Errorf("%s: no assignment.remove entry per holder: %v", tc.name, removed)
		}
	}
}
