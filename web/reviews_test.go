package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/store"
)

// reviewFixture is a practice with a clinic whose manager reviews it; another clinic's
// manager; a staff viewer; someone with nothing. The clinic's nurse has a name a spreadsheet
// would take for a formula.
type reviewFixture struct {
	p                                     *portal
	clinic, west                          int64
	mgr, mgr2, viewer, nobody, westMgr    *client
	mgrID, mgr2ID, nurseID, kimID, viewID int64
}

func newReviewFixture(t *testing.T) *reviewFixture {
	p := newPortal(t, true)
	f := &reviewFixture{p: p}
	f.clinic = p.org("Eastside Clinic", 1)
	f.west = p.org("Westside Clinic", 1)
	manager := p.customRole("Clinic Manager", "patients.identifiers", "patients.contact", "patients.manage", "scheduling.access",
		"clinical.drug_interactions", "billing.view", "staff.view", "staff.manage", "emergency.request")
	viewer := p.customRole("Staff Viewer", "staff.view")
	f.mgr, f.mgrID = p.personIn("Mo Manager", f.clinic, manager)
	f.mgr2, f.mgr2ID = p.personIn("Liv Manager", f.clinic, manager)
	f.viewer, f.viewID = p.personIn("Vi Viewer", f.clinic, viewer)
	_, f.nurseID = p.personIn("=cmd Nurse", f.clinic, p.roleID("NURSE"))
	_, f.kimID = p.personIn("Kim Provider", f.clinic, p.roleID("PROVIDER"))
	f.nobody, _ = p.personIn("No Body", f.clinic, p.roleID("MEMBER"))
	f.westMgr, _ = p.personIn("Wes Manager", f.west, manager)
	return f
}

// start has the clinic's manager start a review of the clinic with both managers as reviewers.
func (f *reviewFixture) start(t *testing.T) string {
	t.Helper()
	r := f.mgr.postForm("/reviews", url.Values{"org": {fmt.Sprint(f.clinic)}, "reviewers": {fmt.Sprint(f.mgrID), fmt.Sprint(f.mgr2ID)},
		"every_days": {"90"}, "due_days": {"14"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d %s", r.StatusCode, r.body)
	}
	return strings.TrimPrefix(r.Header.Get("Location"), "/reviews/")
}

func (f *reviewFixture) item(t *testing.T, review string, userID int64) string {
	t.Helper()
	return f.p.checksum("SELECT id FROM access_review_items WHERE review_id = ? AND user_id = ?", review, userID)
}

func (f *reviewFixture) state() string {
	return f.p.checksum(`SELECT count(*) || '/' || coalesce(group_concat(coalesce(decision, '-')), '') FROM access_review_items`) +
		fmt.Sprint(f.p.count("access_reviews"), f.p.count("role_assignments"), f.p.count("user_overrides"), f.p.count("audit_log WHERE action LIKE 'review.%'"))
}

// Every review route: 403 without staff.manage and nothing changed; 403 without the CSRF
// token; another organisation's review is not found, with nothing of it shown.
func TestReviewRoutesByPermission(t *testing.T) {
	f := newReviewFixture(t)
	id := f.start(t)
	nurse, viewerItem := f.item(t, id, f.nurseID), f.item(t, id, f.viewID)
	routes := []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/reviews", nil},
		{"GET", "/reviews/new?org=" + fmt.Sprint(f.clinic), nil},
		{"POST", "/reviews", url.Values{"org": {fmt.Sprint(f.clinic)}, "reviewers": {fmt.Sprint(f.mgrID)}, "every_days": {"0"}, "due_days": {"7"}}},
		{"GET", "/reviews/" + id, nil},
		{"GET", "/reviews/" + id + "?show=undecided", nil},
		{"POST", "/reviews/" + id + "/items/" + nurse, url.Values{"decision": {"keep"}}},
		{"POST", "/reviews/" + id + "/decide", url.Values{"items": {viewerItem}, "decision": {"keep"}}},
		{"GET", "/reviews/" + id + "/report", nil},
		{"GET", "/reviews/" + id + "/report.csv", nil},
	}
	for _, who := range []string{"nobody", "viewer", "manager"} {
		c := map[string]*client{"nobody": f.nobody, "viewer": f.viewer, "manager": f.mgr}[who]
		for _, rt := range routes {
			t.Run(who+" "+rt.method+" "+rt.path, func(t *testing.T) {
				before := f.state()
				var r response
				if rt.method == "GET" {
					r = c.get(rt.path)
				} else {
					if r := c.postRaw(rt.path, rt.form); r.StatusCode != http.StatusForbidden || f.state() != before {
						t.Fatalf("without the CSRF token: %d, changed=%v", r.StatusCode, f.state() != before)
					}
					c.get("/account")
					r = c.postForm(rt.path, rt.form)
				}
				if who != "manager" {
					if after := f.state(); r.StatusCode != http.StatusForbidden || after != before {
						t.Fatalf("status %d (want 403), changed=%v", r.StatusCode, after != before)
					}
					if !strings.Contains(r.body, "staff.manage") {
						t.Error("the refusal does not name staff.manage")
					}
					return
				}
				if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusSeeOther {
					t.Fatalf("status %d: %s", r.StatusCode, r.body)
				}
			})
		}
	}
	// The other clinic's manager: each of the review's routes is not found, shows nothing of
	// it, and changes nothing.
	for _, rt := range routes[3:] {
		before := f.state()
		var r response
		if rt.method == "GET" {
			r = f.westMgr.get(rt.path)
		} else {
			f.westMgr.get("/account")
			r = f.westMgr.postForm(rt.path, rt.form)
		}
		if r.StatusCode != http.StatusNotFound || f.state() != before || strings.Contains(r.body, "Eastside") || strings.Contains(r.body, "cmd Nurse") {
			t.Errorf("another clinic's manager %s %s: %d, changed=%v", rt.method, rt.path, r.StatusCode, f.state() != before)
		}
	}
	if r := f.westMgr.get("/reviews"); strings.Contains(r.body, "Eastside Clinic") {
		t.Error("the list shows another clinic's review")
	}
	if r := f.westMgr.get("/reviews/new?org=" + fmt.Sprint(f.clinic)); r.StatusCode != http.StatusForbidden {
		t.Errorf("another clinic's manager opens the form for this clinic: %d", r.StatusCode)
	}
}

// A review over HTTP: the page groups items by person with Keep and Revoke; a revoke the
// guard refuses stays open with the refusal shown; bulk decisions; the nav, the home page,
// the report and its CSV (formulas defused).
func TestReviewOverHTTP(t *testing.T) {
	f := newReviewFixture(t)
	if home := f.mgr.get("/").body; !strings.Contains(home, `href="/reviews"`) {
		t.Error("no Reviews in the navigation of a staff manager")
	}
	if home := f.viewer.get("/").body; strings.Contains(home, `href="/reviews"`) {
		t.Error("Reviews in the navigation of someone who does not manage staff")
	}
	if r := f.mgr.postForm("/reviews", url.Values{"org": {fmt.Sprint(f.clinic)}, "reviewers": {fmt.Sprint(f.viewID)}, "every_days": {"0"}, "due_days": {"14"}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `data-testid="problem-reviewers"`) {
		t.Fatalf("a reviewer who does not manage staff: %d", r.StatusCode)
	}
	if r := f.mgr.postForm("/reviews", url.Values{"org": {fmt.Sprint(f.clinic)}, "reviewers": {fmt.Sprint(f.mgrID)}, "every_days": {"90"}, "due_days": {"400"}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `data-testid="problem-due_days"`) || !strings.Contains(r.body, `value="400"`) || f.p.count("access_reviews") != 0 {
		t.Fatalf("due in 400 days: %d", r.StatusCode)
	}
	id := f.start(t)
	page := f.mgr.get("/reviews/" + id).body
	for _, want := range []string{"0 of 6 reviewed", "=cmd Nurse", "Kim Provider", "Last signed in", "Your own access: another reviewer decides this."} {
		if !strings.Contains(page, want) {
			t.Errorf("the review page lacks %q", want)
		}
	}
	if !strings.Contains(f.mgr2.get("/").body, `data-testid="home-review"`) {
		t.Error("the reviewer's home page does not list the review due in 14 days")
	}
	// Revoking a provider's role: her access exceeds the manager's; refused, shown, still open.
	kim := f.item(t, id, f.kimID)
	r := f.mgr.postForm("/reviews/"+id+"/items/"+kim, url.Values{"decision": {"revoke"}}, "HX-Request", "true")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `data-testid="review-refused"`) || !strings.Contains(r.body, "0 of 6 reviewed") {
		t.Fatalf("a refused revoke over htmx: %d %.300s", r.StatusCode, r.body)
	}
	if f.p.checksum("SELECT count(*) FROM role_assignments WHERE user_id = ?", f.kimID) != "1" {
		t.Fatal("the refused revoke took the role")
	}
	// Revoke the nurse's role without JavaScript: a redirect, the role gone, the snapshot too.
	nurse := f.item(t, id, f.nurseID)
	if r := f.mgr.postForm("/reviews/"+id+"/items/"+nurse, url.Values{"decision": {"revoke"}, "note": {"=HYPERLINK(\"x\") left in May"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if f.p.app.Access.Now().Can(f.nurseID, f.clinic, "patients.contact") || f.p.checksum("SELECT count(*) FROM role_assignments WHERE user_id = ?", f.nurseID) != "0" {
		t.Fatal("the revoke did not take the role away at once")
	}
	// Bulk: keep everything else the manager may; his own item is refused and reported.
	var all url.Values = url.Values{"decision": {"keep"}}
	for _, uid := range []int64{f.mgrID, f.mgr2ID, f.viewID} {
		all.Add("items", f.item(t, id, uid))
	}
	r = f.mgr.postForm("/reviews/"+id+"/decide", all, "HX-Request", "true")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "2 kept, 1 refused.") || !strings.Contains(r.body, "3 of 6 reviewed") {
		t.Fatalf("bulk: %d %.600s", r.StatusCode, r.body)
	}
	// Liv keeps Mo's; Mo keeps what is left of the provider and the member: complete.
	if r := f.mgr2.postForm("/reviews/"+id+"/items/"+f.item(t, id, f.mgrID), url.Values{"decision": {"keep"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("Liv keeps Mo's: %d", r.StatusCode)
	}
	rest := url.Values{"decision": {"keep"}, "items": {kim, f.p.checksum("SELECT id FROM access_review_items WHERE review_id = ? AND user_name = 'No Body'", id)}}
	if r := f.mgr.postForm("/reviews/"+id+"/decide", rest); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the rest: %d", r.StatusCode)
	}
	page = f.mgr.get("/reviews/" + id).body
	if !strings.Contains(page, "6 of 6 reviewed") || !strings.Contains(page, `data-testid="review-complete"`) {
		t.Fatal("the review is not complete")
	}
	if list := f.mgr.get("/reviews").body; !strings.Contains(list, "6 of 6 reviewed") || !strings.Contains(list, "Next review") {
		t.Error("the list does not keep the complete review with its next date")
	}
	report := f.mgr.get("/reviews/" + id + "/report")
	if report.StatusCode != http.StatusOK || strings.Count(report.body, `data-testid="report-row"`) != 6 || !strings.Contains(report.body, "5 kept, 1 revoked, 0 not decided, of 6") ||
		!strings.Contains(report.body, "report.css") {
		t.Fatalf("report: %d", report.StatusCode)
	}
	csv := f.mgr.get("/reviews/" + id + "/report.csv")
	if csv.StatusCode != http.StatusOK || strings.Count(csv.body, "\n") != 7 {
		t.Fatalf("csv: %d %q", csv.StatusCode, csv.body)
	}
	for _, want := range []string{"'=cmd Nurse", `"'=HYPERLINK(""x"") left in May"`, ",revoke,Mo Manager,", ",keep,Liv Manager,"} {
		if !strings.Contains(csv.body, want) {
			t.Errorf("the CSV lacks %q:\n%s", want, csv.body)
		}
	}
	if n := f.p.checksum("SELECT count(*) FROM audit_log WHERE action = 'review.decide' AND after_json LIKE ?", `%"review":`+id+`%`); n != "6" {
		t.Errorf("%s decisions audited naming the review, want 6", n)
	}
}

// With SMTP set, the reviewers are mailed when a review is assigned to them (not the one who
// started it) and, by the minute sweep, once when it is overdue.
func TestReviewMails(t *testing.T) {
	sk, port := startSMTPSink(t)
	p := newPortal(t, true, withSMTP(port))
	clinic := p.org("Eastside Clinic", 1)
	manager := p.customRole("Clinic Manager", "staff.view", "staff.manage")
	mo, moID := p.personIn("Mo Manager", clinic, manager)
	_, livID := p.personIn("Liv Manager", clinic, manager)
	r := mo.postForm("/reviews", url.Values{"org": {fmt.Sprint(clinic)}, "reviewers": {fmt.Sprint(moID), fmt.Sprint(livID)}, "every_days": {"0"}, "due_days": {"7"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", r.StatusCode)
	}
	wait := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			msgs, rcpt := sk.messages()
			if len(msgs) >= n {
				var got []string
				for i, m := range msgs {
					got = append(got, rcpt[i]+": "+m.Header.Get("Subject"))
				}
				sort.Strings(got)
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited for %d mails, got %v", n, rcpt)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if got := wait(1); len(got) != 1 || got[0] != "liv.manager@example.org: Access review of Eastside Clinic assigned to you" {
		t.Fatalf("assigned: %q", got)
	}
	later := time.Now().Add(8 * 24 * time.Hour)
	p.store.SetClock(func() time.Time { return later })
	for range 2 {
		if _, err := p.app.SweepReviews(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := wait(3)
	want := []string{"liv.manager@example.org: Access review of Eastside Clinic assigned to you", "liv.manager@example.org: Access review overdue: Eastside Clinic",
		"mo.manager@example.org: Access review overdue: Eastside Clinic"}
	if !slices.Equal(got, want) {
		t.Errorf("mails:\n got %q\nwant %q", got, want)
	}
	if n := p.checksum("SELECT count(*) FROM access_reviews WHERE overdue_mailed_at IS NOT NULL"); n != "1" {
		t.Errorf("overdue told %s times", n)
	}
}

// A large clinic's review is paged by people, 50 a page; a decision made on a page comes back
// to it.
func TestReviewPaging(t *testing.T) {
	f := newReviewFixture(t)
	ctx := context.Background()
	var people []store.NewStaff
	for i := range 60 {
		people = append(people, store.NewStaff{Email: fmt.Sprintf("p%02d@example.org", i), Name: fmt.Sprintf("Person %02d", i), PasswordHash: "x", OrgID: f.clinic})
	}
	ids, err := f.p.store.AddStaff(ctx, people)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.store.SetRoleHolders(ctx, f.p.roleID("STAFF"), f.clinic, ids, nil, 1); err != nil {
		t.Fatal(err)
	}
	id := f.start(t)
	first := f.mgr.get("/reviews/" + id).body
	if !strings.Contains(first, "People 1–50 of 66") || strings.Count(first, `data-testid="review-person"`) != 50 || !strings.Contains(first, "0 of 66 reviewed") {
		t.Fatalf("page 1: %d people", strings.Count(first, `data-testid="review-person"`))
	}
	second := f.mgr.get("/reviews/" + id + "?page=2").body
	if !strings.Contains(second, "People 51–66 of 66") || strings.Count(second, `data-testid="review-person"`) != 16 {
		t.Fatalf("page 2: %d people", strings.Count(second, `data-testid="review-person"`))
	}
	item := f.p.checksum("SELECT id FROM access_review_items WHERE review_id = ? AND user_name = 'Person 59'", id)
	r := f.mgr.postForm("/reviews/"+id+"/items/"+item, url.Values{"decision": {"keep"}, "page": {"2"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/reviews/"+id+"?page=2" {
		t.Fatalf("after a decision on page 2: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// Past the last page of a filter: its last page.
	if r := f.mgr.get("/reviews/" + id + "?show=kept&page=9").body; !strings.Contains(r, "Person 59") {
		t.Error("a page past the end does not show the last one")
	}
}

// Over HTTP: revoking the practice's last manager is refused by the lock-out guard and the
// item stays open; the only reviewer's own item says a global admin decides it, and one does.
func TestReviewLockoutAndSoleReviewerOverHTTP(t *testing.T) {
	f := newReviewFixture(t)
	p := f.p
	pat, patID := p.personIn("Pat Practice", 1, p.roleID("ADMIN"))
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/account")
	r := admin.postForm("/reviews", url.Values{"org": {"1"}, "reviewers": {"1", fmt.Sprint(patID)}, "every_days": {"0"}, "due_days": {"14"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d %s", r.StatusCode, r.body)
	}
	id := strings.TrimPrefix(r.Header.Get("Location"), "/reviews/")
	item := p.checksum("SELECT id FROM access_review_items WHERE review_id = ? AND user_id = ? AND role_name = 'Administrator'", id, patID)
	r = admin.postForm("/reviews/"+id+"/items/"+item, url.Values{"decision": {"revoke"}}, "HX-Request", "true")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Northside Practice must keep at least one person who can manage both roles and staff") {
		t.Fatalf("revoking the last manager: %d %.400s", r.StatusCode, r.body)
	}
	if p.checksum("SELECT coalesce(decision, 'open') FROM access_review_items WHERE id = ?", item) != "open" || !p.app.Access.Now().Can(patID, 1, "roles.manage") {
		t.Fatal("the refused revoke changed something")
	}
	// Pat may not decide his own; Ana may.
	if r := pat.postForm("/reviews/"+id+"/items/"+item, url.Values{"decision": {"keep"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("Pat decides his own item: %d", r.StatusCode)
	}

	// Mo reviews his clinic alone: the page says a global admin decides his own item.
	r = f.mgr.postForm("/reviews", url.Values{"org": {fmt.Sprint(f.clinic)}, "reviewers": {fmt.Sprint(f.mgrID)}, "every_days": {"0"}, "due_days": {"14"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("Mo alone: %d", r.StatusCode)
	}
	sole := strings.TrimPrefix(r.Header.Get("Location"), "/reviews/")
	if page := f.mgr.get("/reviews/" + sole).body; !strings.Contains(page, `data-testid="review-admin-note"`) || !strings.Contains(page, "a global admin decides this") {
		t.Error("the page does not say who decides the only reviewer's own access")
	}
	mine := f.item(t, sole, f.mgrID)
	if r := f.mgr.postForm("/reviews/"+sole+"/items/"+mine, url.Values{"decision": {"keep"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("the only reviewer decides his own: %d", r.StatusCode)
	}
	if r := admin.postForm("/reviews/"+sole+"/items/"+mine, url.Values{"decision": {"keep"}}); r.StatusCode != http.StatusSeeOther ||
		p.checksum("SELECT decided_by_name FROM access_review_items WHERE id = ?", mine) != "Ana Ruiz" {
		t.Fatalf("a global admin decides the only reviewer's own: %d", r.StatusCode)
	}
}
