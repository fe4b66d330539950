package reviews_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/boot"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/reviews"
	"github.com/rolegate/rolegate/internal/store"
)

// group is a practice with two clinics, opened as serve opens it (the lock-out guard, the
// engine following every commit), on the test's own clock:
//
//	Northside Practice: Ana (global admin, Administrator), Pat (Administrator: the only
//	  manager who is not a global admin)
//	  Eastside Clinic: Mo and Liv (Clinic Manager), Nia (Nurse), Kim (Provider: more than a
//	    Clinic Manager holds), Eve (Staff, and an allow of View billing)
//	  Westside Clinic: Wes (Nurse)
type group struct {
	svc                               *reviews.Service
	st                                *store.Store
	now                               *time.Time
	mail                              *mailbox
	north, east, west                 int64
	ana, pat, mo, liv, nia, kim, eve  int64
	wes                               int64
	admin, nurse, provider, staffRole int64
	clinicManager                     int64
}

type mailbox struct {
	mu   sync.Mutex
	sent []string // "to: subject"
	got  chan struct{}
}

func (m *mailbox) Send(_ context.Context, to, _, subject, _ string) error {
	m.mu.Lock()
	m.sent = append(m.sent, to+": "+subject)
	m.mu.Unlock()
	m.got <- struct{}{}
	return nil
}

// wait takes n mails, in whatever order they were sent.
func (m *mailbox) wait(t *testing.T, n int) []string {
	t.Helper()
	for range n {
		select {
		case <-m.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("waited for %d mails, got %v", n, m.sent)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.sent
	m.sent = nil
	sort.Strings(out)
	return out
}

func newGroup(t *testing.T) *group {
	t.Helper()
	ctx := context.Background()
	st, cat, engine, err := boot.OpenStore(ctx, config.Config{DB: filepath.Join(t.TempDir(), "r.db")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Unix(1_800_000_000, 0)
	st.SetClock(func() time.Time { return now })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	g := &group{st: st, now: &now, mail: &mailbox{got: make(chan struct{}, 100)}}
	g.svc = &reviews.Service{Store: st, Access: engine, Mail: g.mail, Link: "https://portal.example"}
	ana, org, err := st.Setup(ctx, store.SetupInput{OrgName: "Northside Practice", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x", SystemRoles: rbac.SystemRoles(cat)})
	must(err)
	g.ana, g.north = ana.ID, org.ID
	g.east, err = st.CreateOrganisation(ctx, "Eastside Clinic", g.north)
	must(err)
	g.west, err = st.CreateOrganisation(ctx, "Westside Clinic", g.north)
	must(err)
	roles, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: g.north, Limit: 100})
	must(err)
	for _, r := range roles {
		switch r.Code {
		case rbac.CodeAdmin:
			g.admin = r.ID
		case rbac.CodeNurse:
			g.nurse = r.ID
		case rbac.CodeProvider:
			g.provider = r.ID
		case rbac.CodeStaff:
			g.staffRole = r.ID
		}
	}
	g.clinicManager, err = st.CreateRole(ctx, store.RoleInput{OrgID: g.east, Code: "CLINIC_MANAGER", Name: "Clinic Manager", Active: true, ActorID: g.ana,
		Permissions: []string{"patients.view", "patients.identifiers", "patients.manage", "patients.contact", "scheduling.access", "scheduling.all_providers",
			"clinical.drug_interactions", "billing.view", "staff.manage", "staff.view", "emergency.request"}})
	must(err)
	people := []store.NewStaff{
		{Email: "pat@example.org", Name: "Pat Practice", PasswordHash: "x", OrgID: g.north},
		{Email: "mo@example.org", Name: "Mo Manager", PasswordHash: "x", OrgID: g.east},
		{Email: "liv@example.org", Name: "Liv Manager", PasswordHash: "x", OrgID: g.east},
		{Email: "nia@example.org", Name: "Nia Nurse", PasswordHash: "x", OrgID: g.east},
		{Email: "kim@example.org", Name: "Kim Provider", PasswordHash: "x", OrgID: g.east},
		{Email: "eve@example.org", Name: "Eve Desk", PasswordHash: "x", OrgID: g.east},
		{Email: "wes@example.org", Name: "Wes Nurse", PasswordHash: "x", OrgID: g.west},
	}
	ids, err := st.AddStaff(ctx, people)
	must(err)
	g.pat, g.mo, g.liv, g.nia, g.kim, g.eve, g.wes = ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6]
	must(st.AssignRole(ctx, g.pat, g.admin, g.north, 0, g.ana))
	must(st.AssignRole(ctx, g.mo, g.clinicManager, g.east, 0, g.ana))
	must(st.AssignRole(ctx, g.liv, g.clinicManager, g.east, 0, g.ana))
	must(st.AssignRole(ctx, g.nia, g.nurse, g.east, 0, g.ana))
	must(st.AssignRole(ctx, g.kim, g.provider, g.east, 0, g.ana))
	must(st.AssignRole(ctx, g.eve, g.staffRole, g.east, 0, g.ana))
	must(st.AssignRole(ctx, g.wes, g.nurse, g.west, 0, g.ana))
	must(st.SetOverride(ctx, g.eve, g.east, "billing.view", "allow", g.ana))
	return g
}

// item finds the item of a person's role or override.
func item(t *testing.T, items []store.ReviewItem, userID int64, what string) store.ReviewItem {
	t.Helper()
	for _, it := range items {
		if it.UserID == userID && (it.RoleName == what || it.Perm == what) {
			return it
		}
	}
	t.Fatalf("no item of %d for %s", userID, what)
	return store.ReviewItem{}
}

func (g *group) start(t *testing.T, actor, org int64, reviewers []int64, every int) (store.Review, []store.ReviewItem) {
	t.Helper()
	id, p, err := g.svc.Start(context.Background(), actor, reviews.Start{OrgID: org, Reviewers: reviewers, EveryDays: every, DueDays: 14})
	if err != nil || len(p) > 0 {
		t.Fatalf("start: %v %v", p, err)
	}
	r, items, err := g.svc.Items(context.Background(), actor, id)
	if err != nil {
		t.Fatal(err)
	}
	return r, items
}

func (g *group) auditCount(t *testing.T, action string) int {
	t.Helper()
	es, err := g.st.ListAudit(context.Background(), store.AuditQuery{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// Scope: the items are exactly the role assignments and overrides of the organisation and
// below, never those above it or of a sibling; who may start a review and whom they may name.
func TestReviewScope(t *testing.T) {
	g := newGroup(t)
	ctx := context.Background()
	r, items := g.start(t, g.mo, g.east, []int64{g.mo, g.liv}, 0)
	var got []string
	for _, it := range items {
		got = append(got, it.UserName+": "+reviews.What(g.svc.Access.Catalog(), it)+" in "+it.OrgName)
	}
	want := []string{"Eve Desk: Staff in Eastside Clinic", "Eve Desk: Allow View billing in Eastside Clinic", "Kim Provider: Provider in Eastside Clinic",
		"Liv Manager: Clinic Manager in Eastside Clinic", "Mo Manager: Clinic Manager in Eastside Clinic", "Nia Nurse: Nurse in Eastside Clinic"}
	if !slices.Equal(got, want) {
		t.Errorf("items:\n got %q\nwant %q", got, want)
	}
	if r.Total != 6 || r.Decided != 0 || r.State != store.ReviewOpen || r.DueAt != g.now.Unix()+14*86400 {
		t.Errorf("review %+v", r)
	}
	if it := items[0]; it.Since != g.now.Unix() || it.LastSignIn != 0 || it.UserEmail != "eve@example.org" {
		t.Errorf("item copied %+v", it)
	}
	_, northItems := g.start(t, g.ana, g.north, []int64{g.ana, g.pat}, 0)
	if len(northItems) != 9 { // Ana's and Pat's Administrator, Wes's Nurse, and the six of Eastside
		t.Errorf("the practice's review has %d items, want 9", len(northItems))
	}

	for _, tc := range []struct {
		name  string
		actor int64
		st    reviews.Start
		field string
		err   bool
	}{
		{"a nurse starts one", g.nia, reviews.Start{OrgID: g.east, Reviewers: []int64{g.mo}, DueDays: 14}, "", true},
		{"a clinic manager reviews the practice", g.mo, reviews.Start{OrgID: g.north, Reviewers: []int64{g.mo}, DueDays: 14}, "", true},
		{"a clinic manager reviews the other clinic", g.mo, reviews.Start{OrgID: g.west, Reviewers: []int64{g.mo}, DueDays: 14}, "", true},
		{"no reviewer", g.mo, reviews.Start{OrgID: g.east, DueDays: 14}, "reviewers", false},
		{"a reviewer who does not manage staff", g.mo, reviews.Start{OrgID: g.east, Reviewers: []int64{g.mo, g.nia}, DueDays: 14}, "reviewers", false},
		{"due in no time", g.mo, reviews.Start{OrgID: g.east, Reviewers: []int64{g.mo}, DueDays: 0}, "due_days", false},
		{"due after the next starts", g.mo, reviews.Start{OrgID: g.east, Reviewers: []int64{g.mo}, EveryDays: 7, DueDays: 14}, "due_days", false},
		{"a year and more", g.mo, reviews.Start{OrgID: g.east, Reviewers: []int64{g.mo}, EveryDays: 400, DueDays: 14}, "every_days", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := g.auditCount(t, "review.start")
			_, p, err := g.svc.Start(ctx, tc.actor, tc.st)
			var fe *rbac.ForbiddenError
			if tc.err && !errors.As(err, &fe) {
				t.Errorf("err %v, want a refusal", err)
			}
			if !tc.err && (err != nil || p[tc.field] == "") {
				t.Errorf("problems %v err %v, want one on %s", p, err, tc.field)
			}
			if g.auditCount(t, "review.start") != before {
				t.Error("a refused start started a review")
			}
		})
	}
	// Ana is the only global admin and holds Administrator: she alone cannot review her own.
	if _, p, err := g.svc.Start(ctx, g.ana, reviews.Start{OrgID: g.north, Reviewers: []int64{g.ana}, DueDays: 14}); err != nil || !strings.Contains(p["reviewers"], "Ana Ruiz") {
		t.Errorf("the only reviewer who is the only global admin: %v %v", p, err)
	}
	// A reviewer who manages staff without seeing them (no staff.view): every holder is left
	// out, and none is hers to decide.
	blind, err := g.st.CreateRole(ctx, store.RoleInput{OrgID: g.east, Code: "BLIND", Name: "Manages only", Active: true, ActorID: g.ana,
		Permissions: []string{"patients.view", "staff.manage"}})
	if err != nil {
		t.Fatal(err)
	}
	ola, err := g.st.AddStaff(ctx, []store.NewStaff{{Email: "ola@example.org", Name: "Ola Only", PasswordHash: "x", OrgID: g.east}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.st.AssignRole(ctx, ola[0], blind, g.east, 0, g.ana); err != nil {
		t.Fatal(err)
	}
	br, blindItems := g.start(t, g.mo, g.east, []int64{g.mo, ola[0]}, 0)
	_, olaItems, err := g.svc.Items(ctx, ola[0], br.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range olaItems {
		if !it.Hidden || it.UserName != reviews.Hidden || it.UserEmail != "" {
			t.Errorf("Ola sees %q", it.UserName)
		}
		if ok, _ := reviews.MayDecide(g.svc.Access.Now(), ola[0], br, it); ok {
			t.Errorf("Ola may decide the item of someone she does not see")
		}
		if blindItems[i].Hidden {
			t.Errorf("Mo does not see %s", blindItems[i].UserName)
		}
	}
	if _, _, err := g.svc.Decide(ctx, ola[0], olaItems[0].ID, "keep", ""); err == nil {
		t.Error("Ola decided an item of someone she does not see")
	}

	// A review of another organisation is not found, with nothing of it shown.
	if _, err := g.svc.Get(ctx, g.wes, r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("someone of the other clinic sees the review: %v", err)
	}
	if _, _, err := g.svc.Decide(ctx, g.wes, items[0].ID, "keep", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("someone of the other clinic decides an item: %v", err)
	}
}

// The reviewer rules, the guards of a revoke, bulk decisions, completion, the audit log.
func TestReviewLifecycle(t *testing.T) {
	g := newGroup(t)
	ctx := context.Background()
	r, items := g.start(t, g.mo, g.east, []int64{g.mo, g.liv}, 0)
	if got := g.mail.wait(t, 1); !slices.Equal(got, []string{"liv@example.org: Access review of Eastside Clinic assigned to you"}) {
		t.Errorf("assigned mails %q (never to the one who started it)", got)
	}
	can := func(u int64, perm string) bool { return g.svc.Access.Now().Can(u, g.east, perm) }
	undecided := func(id int64) bool {
		it, err := g.st.ReviewItemByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return it.Decision == ""
	}

	type want int
	const (
		decided   want = iota
		refused        // an outcome's refusal: the item stays open
		forbidden      // a *rbac.ForbiddenError
		hidden         // not found: the actor may not know of the review
	)
	cases := []struct {
		name     string
		actor    int64
		item     store.ReviewItem
		decision string
		want     want
		after    func() bool // what must hold afterwards
	}{
		{"Mo keeps his own", g.mo, item(t, items, g.mo, "Clinic Manager"), "keep", forbidden, nil},
		{"Mo revokes a provider's role: she holds more than he does", g.mo, item(t, items, g.kim, "Provider"), "revoke", refused,
			func() bool { return can(g.kim, "patients.export") }},
		{"a nurse decides", g.nia, item(t, items, g.eve, "Staff"), "keep", hidden, nil},
		{"Liv keeps Mo's", g.liv, item(t, items, g.mo, "Clinic Manager"), "keep", decided, func() bool { return can(g.mo, "staff.manage") }},
		{"Mo revokes the nurse's role", g.mo, item(t, items, g.nia, "Nurse"), "revoke", decided, func() bool { return !can(g.nia, "patients.contact") }},
		{"Mo revokes Eve's allow", g.mo, item(t, items, g.eve, "billing.view"), "revoke", decided, func() bool { return !can(g.eve, "billing.view") }},
		{"Liv decides the nurse's again", g.liv, item(t, items, g.nia, "Nurse"), "keep", refused, nil},
		{"Ana, a global admin, revokes the provider's", g.ana, item(t, items, g.kim, "Provider"), "revoke", decided, func() bool { return !can(g.kim, "patients.export") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wasOpen := undecided(tc.item.ID)
			out, p, err := g.svc.Decide(ctx, tc.actor, tc.item.ID, tc.decision, "checked with the rota")
			var fe *rbac.ForbiddenError
			switch tc.want {
			case decided:
				if err != nil || len(p) > 0 || out.Refused != "" || undecided(tc.item.ID) {
					t.Fatalf("not decided: %+v %v %v", out, p, err)
				}
			case refused:
				if err != nil || out.Refused == "" || undecided(tc.item.ID) != wasOpen {
					t.Fatalf("want a refusal, the item as it was: %+v %v", out, err)
				}
			case forbidden:
				if !errors.As(err, &fe) || !undecided(tc.item.ID) {
					t.Fatalf("want a refusal error and the item open: %+v %v", out, err)
				}
			case hidden:
				if !errors.Is(err, store.ErrNotFound) || !undecided(tc.item.ID) {
					t.Fatalf("want not found and the item open: %+v %v", out, err)
				}
			}
			if tc.after != nil && !tc.after() {
				t.Error("access is not as the decision left it")
			}
		})
	}
	if n := g.auditCount(t, "review.decide"); n != 4 {
		t.Errorf("%d review.decide entries, want 4", n)
	}
	es, err := g.st.ListAudit(ctx, store.AuditQuery{Action: "assignment.remove", Limit: 10})
	if err != nil || len(es) != 2 {
		t.Fatalf("role removals audited: %d %v", len(es), err)
	}
	decide, err := g.st.ListAudit(ctx, store.AuditQuery{Action: "review.decide", Limit: 10})
	if err != nil || !strings.Contains(string(decide[0].After), `"review":`) || decide[0].TargetName != "Kim Provider" {
		t.Errorf("the decision's entry does not name the review: %s", decide[0].After)
	}

	// Bulk: Liv keeps the rest, her own among them: that one is refused, the others kept.
	var rest []int64
	_, items, _ = g.svc.Items(ctx, g.liv, r.ID)
	for _, it := range items {
		if it.Decision == "" {
			rest = append(rest, it.ID)
		}
	}
	outs, err := g.svc.DecideMany(ctx, g.liv, r.ID, rest, "keep", "")
	if err != nil || len(outs) != 2 {
		t.Fatalf("bulk: %v %v", outs, err)
	}
	own := item(t, items, g.liv, "Clinic Manager")
	for _, o := range outs {
		if (o.ItemID == own.ID) != (o.Refused != "") {
			t.Errorf("bulk outcome %+v", o)
		}
	}
	if r, _ = g.svc.Get(ctx, g.mo, r.ID); r.Decided != 5 || r.State != store.ReviewOpen {
		t.Fatalf("progress %d of %d, %s", r.Decided, r.Total, r.State)
	}
	// An item of another review is not found in bulk either.
	other, otherItems := g.start(t, g.ana, g.north, []int64{g.ana, g.pat}, 0)
	if _, err := g.svc.DecideMany(ctx, g.mo, r.ID, []int64{own.ID, otherItems[0].ID}, "keep", ""); !errors.Is(err, store.ErrNotFound) || !undecided(own.ID) {
		t.Errorf("an item of review %d decided through review %d: %v (and the review's own item decided: %v)", other.ID, r.ID, err, !undecided(own.ID))
	}
	// The last item completes it.
	out, _, err := g.svc.Decide(ctx, g.mo, own.ID, "keep", "")
	if err != nil || !out.Completed {
		t.Fatalf("last item: %+v %v", out, err)
	}
	if r, _ = g.svc.Get(ctx, g.mo, r.ID); r.State != store.ReviewComplete || r.CompletedAt != g.now.Unix() || g.auditCount(t, "review.complete") != 1 {
		t.Errorf("not complete: %+v", r)
	}
	// The report lists every decision: who, what, when.
	_, items, _ = g.svc.Items(ctx, g.mo, r.ID)
	var report []string
	for _, it := range items {
		report = append(report, it.UserName+" "+reviews.What(g.svc.Access.Catalog(), it)+": "+reviews.Decided(it.Decision)+" by "+it.DecidedByName)
		if it.DecidedAt != g.now.Unix() {
			t.Errorf("%s decided at %d", it.UserName, it.DecidedAt)
		}
	}
	wantReport := []string{"Eve Desk Staff: Kept by Liv Manager", "Eve Desk Allow View billing: Revoked by Mo Manager", "Kim Provider Provider: Revoked by Ana Ruiz",
		"Liv Manager Clinic Manager: Kept by Mo Manager", "Mo Manager Clinic Manager: Kept by Liv Manager", "Nia Nurse Nurse: Revoked by Mo Manager"}
	if !slices.Equal(report, wantReport) {
		t.Errorf("report:\n got %q\nwant %q", report, wantReport)
	}
	if out, _, err := g.svc.Decide(ctx, g.liv, own.ID, "revoke", ""); err == nil && out.Refused == "" {
		t.Error("an item of a complete review was decided again")
	}
}

// A revoke that would lock the practice out is refused and the item stays open; the only
// reviewer's own item is a global admin's to decide, and the page can say so.
func TestReviewLockoutAndSoleReviewer(t *testing.T) {
	g := newGroup(t)
	ctx := context.Background()
	r, items := g.start(t, g.ana, g.north, []int64{g.ana, g.pat}, 0)
	pat := item(t, items, g.pat, "Administrator")
	out, _, err := g.svc.Decide(ctx, g.ana, pat.ID, "revoke", "")
	if err != nil || !strings.Contains(out.Refused, "Northside Practice must keep at least one person who can manage both roles and staff") {
		t.Fatalf("revoking the last manager: %+v %v", out, err)
	}
	if it, _ := g.st.ReviewItemByID(ctx, pat.ID); it.Decision != "" || !g.svc.Access.Now().Can(g.pat, g.north, "roles.manage") {
		t.Fatal("a refused revoke left something behind")
	}
	if n := g.auditCount(t, "review.decide"); n != 0 {
		t.Errorf("a refused revoke was audited as decided: %d", n)
	}
	_ = r

	// Mo alone reviews his clinic: his own item is Ana's (a global admin) to decide.
	sole, soleItems := g.start(t, g.mo, g.east, []int64{g.mo}, 0)
	mine := item(t, soleItems, g.mo, "Clinic Manager")
	if ok, why := reviews.MayDecide(g.svc.Access.Now(), g.mo, sole, mine); ok || !strings.Contains(why, "a global admin decides this") || !reviews.OnlyAdmin(sole, mine) {
		t.Errorf("the sole reviewer on his own item: %v %q", ok, why)
	}
	if _, _, err := g.svc.Decide(ctx, g.mo, mine.ID, "keep", ""); err == nil {
		t.Fatal("the sole reviewer decided his own access")
	}
	if out, _, err := g.svc.Decide(ctx, g.ana, mine.ID, "keep", "Confirmed with the practice"); err != nil || out.Refused != "" {
		t.Fatalf("a global admin decides the sole reviewer's item: %+v %v", out, err)
	}
}

// Recurrence: completing a review every 90 days starts the next on its day, with fresh items
// (what was revoked is gone, what was given since is in), due as long after its start; the
// reviewers are told once when a review is overdue.
func TestReviewRecurrence(t *testing.T) {
	g := newGroup(t)
	ctx := context.Background()
	r, items := g.start(t, g.ana, g.west, []int64{g.ana, g.pat}, 90)
	if got := g.mail.wait(t, 1); !slices.Equal(got, []string{"pat@example.org: Access review of Westside Clinic assigned to you"}) {
		t.Errorf("assigned: %q", got)
	}
	if len(items) != 1 || items[0].UserID != g.wes {
		t.Fatalf("items %+v", items)
	}
	*g.now = g.now.Add(15 * 24 * time.Hour)
	for range 2 {
		if n, err := g.svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep: %d %v", n, err)
		}
	}
	if got := g.mail.wait(t, 2); !slices.Equal(got, []string{"ana@example.org: Access review overdue: Westside Clinic", "pat@example.org: Access review overdue: Westside Clinic"}) {
		t.Errorf("overdue: %q", got)
	}
	if todo, err := g.svc.ToDo(ctx, g.pat); err != nil || len(todo) != 1 || !reviews.Overdue(todo[0], g.now.Unix()) {
		t.Errorf("Pat's home page: %+v %v", todo, err)
	}
	if out, _, err := g.svc.Decide(ctx, g.ana, items[0].ID, "revoke", "Left in March"); err != nil || !out.Completed {
		t.Fatalf("decide: %+v %v", out, err)
	}
	if n, err := g.svc.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a next review before its day: %d %v", n, err)
	}
	zoe, err := g.st.AddStaff(ctx, []store.NewStaff{{Email: "zoe@example.org", Name: "Zoë Ζωή", PasswordHash: "x", OrgID: g.west}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.st.AssignRole(ctx, zoe[0], g.staffRole, g.west, 0, g.ana); err != nil {
		t.Fatal(err)
	}
	*g.now = time.Unix(r.CreatedAt, 0).Add(90 * 24 * time.Hour)
	if n, err := g.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("the next review on its day: %d %v", n, err)
	}
	if n, err := g.svc.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a second next review: %d %v", n, err)
	}
	done, err := g.svc.Get(ctx, g.ana, r.ID)
	if err != nil || done.NextReviewID == 0 {
		t.Fatalf("no next review recorded: %+v %v", done, err)
	}
	next, nextItems, err := g.svc.Items(ctx, g.ana, done.NextReviewID)
	if err != nil {
		t.Fatal(err)
	}
	if next.State != store.ReviewOpen || next.EveryDays != 90 || next.DueAt != g.now.Unix()+14*86400 || next.StartedBy != 0 || !slices.Equal(next.Reviewers, []int64{g.ana, g.pat}) {
		t.Errorf("next review %+v", next)
	}
	if len(nextItems) != 1 || nextItems[0].UserName != "Zoë Ζωή" || nextItems[0].RoleName != "Staff" {
		t.Errorf("the next review's items are not fresh: %+v", nextItems)
	}
	if got := g.mail.wait(t, 2); !slices.Equal(got, []string{"ana@example.org: Access review of Westside Clinic assigned to you", "pat@example.org: Access review of Westside Clinic assigned to you"}) {
		t.Errorf("the next review's mails: %q (an overdue mail twice?)", got)
	}
	if n := g.auditCount(t, "review.start"); n != 2 {
		t.Errorf("%d review.start entries, want 2", n)
	}
}

// A role of the practice held by someone who is staff of a clinic below it (Select members
// gives a role to the people of its organisation and below) is revoked through the same rule
// as taking it away in Select members: never by someone whose access the holder's exceeds.
func TestReviewRevokeOfARoleHeldFromBelow(t *testing.T) {
	g := newGroup(t)
	ctx := context.Background()
	hr, err := g.st.CreateRole(ctx, store.RoleInput{OrgID: g.north, Code: "PRACTICE_HR", Name: "Practice HR", Active: true, ActorID: g.ana,
		Permissions: []string{"patients.view", "staff.manage", "staff.view"}})
	if err != nil {
		t.Fatal(err)
	}
	prescriber, err := g.st.CreateRole(ctx, store.RoleInput{OrgID: g.north, Code: "PRESCRIBER", Name: "Prescriber", Active: true, ActorID: g.ana,
		Permissions: []string{"patients.view", "clinical.erx", "patients.export"}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := g.st.AddStaff(ctx, []store.NewStaff{{Email: "hal@example.org", Name: "Hal Human-Resources", PasswordHash: "x", OrgID: g.north}})
	if err != nil {
		t.Fatal(err)
	}
	hal := ids[0]
	if err := g.st.AssignRole(ctx, hal, hr, g.north, 0, g.ana); err != nil {
		t.Fatal(err)
	}
	if err := g.st.SetRoleHolders(ctx, prescriber, g.north, []int64{g.kim}, nil, g.ana); err != nil { // Kim is staff of Eastside
		t.Fatal(err)
	}
	_, items := g.start(t, hal, g.north, []int64{hal, g.pat}, 0)
	kims := item(t, items, g.kim, "Prescriber")
	out, p, err := g.svc.Decide(ctx, hal, kims.ID, "revoke", "")
	if err != nil || len(p) > 0 || out.Refused == "" {
		t.Fatalf("Hal revoked the role of someone who holds more than he does: %+v %v %v", out, p, err)
	}
	if _, held := g.svc.Access.Now().AssignmentOf(g.kim, prescriber, g.north); !held {
		t.Fatal("the refused revoke took the role")
	}
	// Pat, an administrator of the practice, may.
	if out, p, err := g.svc.Decide(ctx, g.pat, kims.ID, "revoke", ""); err != nil || len(p) > 0 || out.Refused != "" {
		t.Fatalf("Pat's revoke: %+v %v %v", out, p, err)
	}
	if _, held := g.svc.Access.Now().AssignmentOf(g.kim, prescriber, g.north); held {
		t.Fatal("Pat's revoke left the role")
	}
}

// A role held in the clinic by someone who is not staff of it (Select members gives a role to
// people of the organisation and below, so a practice administrator may hold one there) is
// revoked through the same rule as taking it away in Select members: never by someone whose
// access the holder's exceeds.
func TestReviewRevokeOfARoleHeldFromAbove(t *testing.T) {
	g := newGroup(t)
	ctx := context.Background()
	if err := g.st.AssignRole(ctx, g.pat, g.clinicManager, g.east, 0, g.ana); err != nil {
		t.Fatal(err)
	}
	_, items := g.start(t, g.mo, g.east, []int64{g.mo, g.liv}, 0)
	pats := item(t, items, g.pat, "Clinic Manager")
	out, p, err := g.svc.Decide(ctx, g.mo, pats.ID, "revoke", "")
	if err != nil || len(p) > 0 || out.Refused == "" {
		t.Fatalf("Mo revoked the practice administrator's role in his clinic: %+v %v %v", out, p, err)
	}
	if _, held := g.svc.Access.Now().AssignmentOf(g.pat, g.clinicManager, g.east); !held {
		t.Fatal("the refused revoke took the role")
	}
	// Ana, a global admin, may.
	if out, p, err := g.svc.Decide(ctx, g.ana, pats.ID, "revoke", ""); err != nil || len(p) > 0 || out.Refused != "" {
		t.Fatalf("Ana's revoke: %+v %v %v", out, p, err)
	}
	if _, held := g.svc.Access.Now().AssignmentOf(g.pat, g.clinicManager, g.east); held {
		t.Fatal("Ana's revoke left the role")
	}
}

// The same item decided 50 times at once, Keep and Revoke alike: one decision wins, what it
// says is what happened to the access, and the log records it once.
func TestReviewDecisionRace(t *testing.T) {
	g := newGroup(t)
	ctx := context.Background()
	_, items := g.start(t, g.mo, g.east, []int64{g.mo, g.liv}, 0)
	nurse := item(t, items, g.nia, "Nurse")
	before := g.auditCount(t, "review.decide")
	var wg sync.WaitGroup
	var mu sync.Mutex
	decided := 0
	for i := range 50 {
		actor, decision := g.mo, "keep"
		if i%2 == 1 {
			actor, decision = g.liv, "revoke"
		}
		wg.Go(func() {
			out, p, err := g.svc.Decide(ctx, actor, nurse.ID, decision, "")
			if err != nil || len(p) > 0 {
				t.Errorf("%s: %v %v", decision, p, err)
				return
			}
			if out.Refused == "" {
				mu.Lock()
				decided++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if decided != 1 {
		t.Fatalf("%d decisions went through, want 1", decided)
	}
	it, err := g.st.ReviewItemByID(ctx, nurse.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, held := g.svc.Access.Now().AssignmentOf(g.nia, g.nurse, g.east)
	if (it.Decision == "revoke") == held {
		t.Fatalf("decided %q but the role is held: %v", it.Decision, held)
	}
	if n := g.auditCount(t, "review.decide") - before; n != 1 {
		t.Fatalf("%d decisions in the log, want 1", n)
	}
}
