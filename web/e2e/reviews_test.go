package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/store"
)

// lakesideClinic is a clinic under the practice with 42 staff holding the practice's system
// roles, the long and non-Latin names a practice has, and one personal permission.
func lakesideClinic(t *testing.T, p *portal) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	st := p.App.Store
	clinic, err := st.CreateOrganisation(ctx, "Lakeside Family Clinic and Wellbeing Centre", 1)
	if err != nil {
		t.Fatal(err)
	}
	first := []string{"María", "Zoë", "Ελένη", "Олга", "محمد", "שרה", "美咲", "Noor", "Bartholomew", "Siobhán", "Nguyễn", "Kwame", "Priya", "Łukasz"}
	last := []string{"López", "Ångström", "Παπαδοπούλου", "Иванова", "الحسيني", "כהן", "佐藤", "Al-Rashid", "Featherstonehaugh-Wolstenholme", "Okonkwo"}
	var people []store.NewStaff
	for i := range 42 {
		people = append(people, store.NewStaff{Email: fmt.Sprintf("staff%02d@lakeside.example", i),
			Name: first[i%len(first)] + " " + last[i%len(last)], PasswordHash: "x", OrgID: clinic})
	}
	ids, err := st.AddStaff(ctx, people)
	if err != nil {
		t.Fatal(err)
	}
	roles, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: 1, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]int64{}
	for _, r := range roles {
		byCode[r.Code] = r.ID
	}
	codes := []string{"NURSE", "STAFF", "PROVIDER", "NURSE", "BILLING_STAFF", "STAFF"}
	for i, id := range ids {
		if err := st.SetRoleHolders(ctx, byCode[codes[i%len(codes)]], clinic, []int64{id}, nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetOverride(ctx, ids[4], clinic, "billing.view", "allow", 1); err != nil {
		t.Fatal(err)
	}
	return clinic, ids[3] // Олга Иванова, a nurse
}

// Issue 16: a practice manager starts a review of a clinic with 42 staff, keeps most one by
// one, revokes one nurse's role, keeps the rest in bulk, reads "43 of 43 reviewed" and opens
// the report; axe clean throughout, on a phone too.
func TestAccessReview(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	clinic, nurse := lakesideClinic(t, p)
	staffWithRole(t, p, "priya@northside.example", "Priya Raman-Featherstonehaugh", "the practice manager's passphrase", "OFFICE_MANAGER")

	m := b.freshContext()
	m.visit(p.URL, "/login")
	m.signIn("priya@northside.example", "the practice manager's passphrase")
	m.do("open Reviews", chromedp.Click(chromedp.CSS(`.mainnav a[href="/reviews"]`)), chromedp.WaitVisible(chromedp.CSS(testid("reviews-open"))))
	m.checkA11y("the reviews list, empty")
	m.do("start a review", m.markPage(), chromedp.Click(chromedp.CSS(testid("review-start-link"))))
	m.waitNewPage()
	m.do("choose the clinic", chromedp.SetValue(chromedp.CSS(testid("review-org")), fmt.Sprint(clinic)), m.markPage(),
		chromedp.Click(chromedp.CSS(testid("review-org-show"))))
	m.waitNewPage()
	if got := m.text("h1 + .lead"); !strings.Contains(got, "Lakeside Family Clinic") {
		t.Fatalf("the form is about %q", got)
	}
	m.do("every 90 days, due in 14", chromedp.SetValue(chromedp.CSS(testid("review-every")), "90"), m.fill(testid("review-due"), "14"))
	m.checkA11y("the form that starts a review")
	m.do("start it", m.markPage(), chromedp.Click(chromedp.CSS(testid("review-start"))))
	m.waitNewPage()
	m.flashContains("Review started: 43 items")
	if got := m.text(testid("review-progress")); got != "0 of 43 reviewed" {
		t.Fatalf("progress %q", got)
	}
	m.checkA11y("a review just started")
	review := m.location()
	m.visit(p.URL, "/")
	if got := m.text(testid("home-review")); !strings.Contains(got, "Lakeside Family Clinic") || !strings.Contains(got, "0 of 43 reviewed") {
		t.Fatalf("the home page lists %q", got)
	}
	m.do("back to the review", m.markPage(), chromedp.Click(chromedp.CSS(testid("home-review")+" a")))
	m.waitNewPage()
	if m.location() != review {
		t.Fatalf("the home page's link goes to %s", m.location())
	}

	progress := func(want string) {
		m.t.Helper()
		m.waitJS(`document.querySelector("[data-testid=review-progress]").textContent === ` + jsString(want))
		m.settled()
	}
	// Keep 30 one by one, the first undecided each time.
	for i := 1; i <= 30; i++ {
		m.do("keep", chromedp.Click(chromedp.CSS(testid("review-keep"))))
		progress(fmt.Sprintf("%d of 43 reviewed", i))
	}
	// Revoke the nurse's role.
	nurseItem := m.eval(fmt.Sprintf(`String(document.querySelector("[data-testid=review-person] a[href^='/staff/%d?']").closest("section").querySelector("[data-testid=review-item]").dataset.item)`, nurse))
	if m.eval(`String(!!document.querySelector("[data-item='`+nurseItem+`'] [data-testid=review-revoke]"))`) != "true" {
		t.Fatalf("the nurse's item %s is not open", nurseItem)
	}
	m.do("revoke the nurse's role, with a note", m.fill(testid("review-note"), "Left the clinic in November"), chromedp.Click(chromedp.CSS(`[data-item='`+nurseItem+`'] [data-testid=review-revoke]`)))
	progress("31 of 43 reviewed")
	if got := m.text(testid("review-notice")); !strings.Contains(got, "Revoked: Nurse of Олга Иванова") {
		t.Fatalf("after the revoke: %q", got)
	}
	if p.App.Access.Now().Can(nurse, clinic, "patients.contact") {
		t.Fatal("the revoked nurse still holds the role's permissions")
	}
	m.checkA11y("a review half done")
	m.eval(`window.scrollTo(0, 0); ""`)
	m.screenshotView("review")
	ph := b.freshContext()
	ph.visit(p.URL, "/login")
	ph.signIn("priya@northside.example", "the practice manager's passphrase")
	ph.do("phone size", chromedp.EmulateViewport(390, 844))
	ph.visit(p.URL, m.location()+"?show=undecided")
	ph.noSidewaysScroll("a review on a phone")
	ph.eval(`document.querySelector(".review-filters").scrollIntoView(); ""`)
	ph.screenshotView("review-phone")

	// The rest in bulk: tick every undecided item, Keep selected.
	m.do("show the undecided", m.markPage(), chromedp.Click(chromedp.CSS(testid("review-filter-Undecided"))))
	m.waitNewPage()
	n := m.eval(`String(document.querySelectorAll("[data-testid=review-check]").length)`)
	if n != "12" {
		t.Fatalf("%s boxes to tick, want 12", n)
	}
	m.do("tick all shown", chromedp.Click(chromedp.CSS(testid("review-check-all"))))
	if got := m.eval(`String(document.querySelectorAll("[data-testid=review-check]:checked").length)`); got != "12" {
		t.Fatalf("%s ticked", got)
	}
	m.do("keep selected", chromedp.Click(chromedp.CSS(testid("review-keep-selected"))))
	progress("43 of 43 reviewed")
	if got := m.text(testid("review-notice")); !strings.Contains(got, "12 kept.") || !strings.Contains(got, "The review is complete.") {
		t.Fatalf("after the bulk keep: %q", got)
	}
	m.checkA11y("a complete review")

	m.do("open the report", m.markPage(), chromedp.Click(chromedp.CSS(testid("review-report-link"))))
	m.waitNewPage()
	if got := m.text(testid("report-outcome")); got != "42 kept, 1 revoked, 0 not decided, of 43" {
		t.Fatalf("the report says %q", got)
	}
	if rows := m.eval(`String(document.querySelectorAll("[data-testid=report-row]").length)`); rows != "43" {
		t.Fatalf("%s rows in the report", rows)
	}
	m.checkA11y("the report")
	if got := m.eval(`document.querySelector("[data-testid=report-table]").textContent`); !strings.Contains(got, "Left the clinic in November") {
		t.Fatal("the report does not carry the note")
	}
	m.screenshotView("review-report")
	m.visit(p.URL, "/reviews")
	if got := m.text(testid("review-row-progress")); got != "43 of 43 reviewed" {
		t.Fatalf("the list says %q", got)
	}
	m.screenshot("reviews-list")
}
