package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Emergency access over HTTP (issue 15): every route refuses without its permission (and
// without the CSRF token) and changes nothing; only what the organisation allows is taken;
// the banner, End now, the time box on the very next request, the review queue (never one's
// own), the home page's alert and forward-auth's Remote-Emergency.
func TestEmergencyAccessOverHTTP(t *testing.T) {
	p := newPortal(t, true, trusted)
	now := time.Now().Truncate(time.Second)
	p.store.SetClock(func() time.Time { return now })
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	nurse, nurseID := p.personIn("Nkechi Nwachukwu-Adebayo", 1, p.roleID("NURSE"))
	desk, _ := p.personIn("Dana Front-Desk", 1, p.roleID("STAFF"))
	p.addApp("Billing", "billing.clinic.example", "/", "billing.view")
	uses := func() string { return p.checksum("SELECT count(*) FROM emergency_uses") }

	// Settings: orgs.manage only.
	settings := url.Values{"enabled": {"1"}, "permissions": {"billing.view", "patients.export"}, "max_minutes": {"120"}}
	if r := nurse.postForm("/orgs/1/emergency", settings); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a nurse changes the emergency settings: %d", r.StatusCode)
	}
	if r := admin.postForm("/orgs/1/emergency", url.Values{"enabled": {"1"}, "permissions": {"staff.manage"}, "max_minutes": {"120"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an administration permission in the set: %d", r.StatusCode)
	}
	if r := admin.postForm("/orgs/1/emergency", settings); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %d %s", r.StatusCode, r.body)
	}
	if !strings.Contains(admin.get("/orgs/1").body, `value="billing.view" checked data-testid="emergency-offer-billing.view"`) {
		t.Error("the organisation page does not show the saved set")
	}

	// Without emergency.request, audit.view: 403 and nothing made.
	take := url.Values{"org": {"1"}, "permissions": {"billing.view"}, "reason": {"Patient collapsed in the waiting room"}, "minutes": {"60"}}
	for _, r := range []response{desk.get("/emergency/new?org=1"), desk.postForm("/emergency", take), desk.get("/emergency"),
		desk.postForm("/emergency/1/review", url.Values{"decision": {"justified"}, "note": {"x"}})} {
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("without the permission: %d, want 403", r.StatusCode)
		}
	}
	if r := nurse.postRaw("/emergency", take); r.StatusCode != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", r.StatusCode)
	}
	if uses() != "0" {
		t.Fatal("a refused request took emergency access")
	}

	// The nurse: the form, a refusal for what is not offered, then the real thing.
	if r := nurse.get("/emergency/new?org=1&perm=billing.view"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `value="billing.view" checked data-testid="emergency-perm-billing.view"`) {
		t.Fatalf("the form: %d", r.StatusCode)
	}
	if r := nurse.postForm("/emergency", with(take, "permissions", "billing.manage")); r.StatusCode != http.StatusUnprocessableEntity || uses() != "0" {
		t.Fatalf("taking what is not offered: %d", r.StatusCode)
	}
	if r := nurse.postForm("/emergency", with(take, "reason", "urgent")); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a reason too short: %d", r.StatusCode)
	}
	if ask := nurse.askForward("https", "billing.clinic.example", "/"); ask.StatusCode != http.StatusForbidden || !strings.Contains(ask.body, "refusal-emergency") && strings.Contains(ask.Header.Get("Content-Type"), "html") {
		t.Fatalf("before: forward-auth %d", ask.StatusCode)
	}
	if r := nurse.postForm("/emergency", take); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("take: %d %s", r.StatusCode, r.body)
	}
	home := nurse.get("/").body
	if !strings.Contains(home, `data-testid="emergency-banner"`) || !strings.Contains(home, "View billing") || !strings.Contains(home, "(1 h 00 min left)") {
		i := strings.Index(home, "emergency-banner")
		t.Fatalf("no banner with the time left on the home page: %d %.400s", i, home[max(i, 0):])
	}
	if ask := nurse.askForward("https", "billing.clinic.example", "/"); ask.StatusCode != http.StatusOK || ask.Header.Get("Remote-Emergency") != "1" {
		t.Fatalf("forward-auth during the emergency: %d, Remote-Emergency %q", ask.StatusCode, ask.Header.Get("Remote-Emergency"))
	}
	// The admin is told, and reviews; the nurse may not review her own.
	if !strings.Contains(admin.get("/").body, `data-testid="home-emergency-unreviewed"`) {
		t.Error("the admin's home page does not say a use waits for review")
	}
	q := admin.get("/emergency").body
	if !strings.Contains(q, "Patient collapsed in the waiting room") || !strings.Contains(q, "Nkechi Nwachukwu-Adebayo") {
		t.Fatal("the review queue does not show the use and its reason")
	}
	id := p.checksum("SELECT id FROM emergency_uses")
	// The time box: the very next request after the end is refused, with nothing run.
	now = now.Add(time.Hour)
	if ask := nurse.askForward("https", "billing.clinic.example", "/"); ask.StatusCode != http.StatusForbidden {
		t.Fatalf("forward-auth after the end: %d", ask.StatusCode)
	}
	if strings.Contains(nurse.get("/").body, `data-testid="emergency-banner"`) {
		t.Error("the banner outlasts the emergency")
	}
	if r := admin.postForm("/emergency/"+id+"/review", url.Values{"decision": {"not_justified"}, "note": {"No patient was seen then"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("review: %d", r.StatusCode)
	}
	if !strings.Contains(admin.get("/emergency").body, "Not justified") {
		t.Error("the queue does not show the review")
	}
	// End now: a second use, ended by the nurse from the banner.
	if r := nurse.postForm("/emergency", take); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("take again: %d", r.StatusCode)
	}
	second := p.checksum("SELECT max(id) FROM emergency_uses")
	if r := desk.postForm("/emergency/"+second+"/end", url.Values{}); r.StatusCode == http.StatusSeeOther && !p.app.Access.Now().Can(nurseID, 1, "billing.view") {
		t.Fatal("a colleague ended someone else's emergency access")
	}
	if r := nurse.postForm("/emergency/"+second+"/end", url.Values{}); r.StatusCode != http.StatusSeeOther || p.app.Access.Now().Can(nurseID, 1, "billing.view") {
		t.Fatalf("End now: %d", r.StatusCode)
	}
	if n := p.checksum("SELECT count(*) FROM audit_log WHERE action IN ('emergency.start', 'emergency.end', 'emergency.review', 'emergency.settings')"); n != "6" {
		t.Errorf("%s emergency entries in the audit log, want 6 (settings, 2 starts, the first's end by its time, review, End now)", n)
	}
}
