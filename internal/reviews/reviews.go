// Package reviews holds the rules of access reviews (PRODUCT.md §2.12, HIPAA
// §164.308(a)(4)(ii)(C) "review and modify"): a staff manager starts a review of an
// organisation and below, once or every N days, naming reviewers among the people who manage
// staff there; every role assignment and override in scope becomes an item to keep or revoke;
// a revoke goes through the same guards as the person page, at once, in the same transaction
// as the decision; the review completes when every item is decided, and a recurring one
// starts its next review when its day comes.
//
// Nobody is the only reviewer of their own access: an item whose holder is the actor is
// decided by another reviewer or a global admin, and a review is only started when each
// reviewer's own items have someone else to decide them.
package reviews

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/mail"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// Limits of a review's schedule and its notes.
const (
	MaxEveryDays = 366
	MaxDueDays   = 180
	MaxNote      = 500
	day          = 24 * 60 * 60
	// DueSoon is how far ahead the home page lists a review to do: two weeks, the time a
	// review of a clinic usually takes from start to due.
	DueSoon = 14 * day
)

// Service applies the rules to the store.
type Service struct {
	Store  *store.Store
	Access *rbac.Engine
	Mail   mail.Notifier // nil when mail is off
	// Link is the portal's address for the review in mails ("" leaves the address relative).
	Link string
}

// Candidates lists the people who may review org, by name: those who hold staff.manage there
// (PRODUCT.md §2.12), the practice's managers above it included; global admins only when
// they are staff around it, so a clinic's manager is never shown the portal's other owners.
func Candidates(snap *rbac.Snapshot, orgID int64) []rbac.User {
	var out []rbac.User
	seen := map[int64]bool{}
	// Holders here are staff of it or below; the practice's managers are found at their level.
	for _, at := range snap.Ancestry(orgID) {
		for _, h := range snap.HoldersOf(at, rbac.PermStaffManage) {
			u, ok := snap.User(h.UserID)
			if !ok || seen[u.ID] || u.Disabled || !snap.Can(u.ID, orgID, rbac.PermStaffManage) {
				continue
			}
			seen[u.ID] = true
			if u.GlobalAdmin && !snap.MemberAt(u.ID, orgID) && !snap.MemberWithin(u.ID, orgID) {
				continue
			}
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b rbac.User) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out
}

// Start is what starting a review asks for.
type Start struct {
	OrgID     int64
	Reviewers []int64
	EveryDays int // 0: once
	DueDays   int
}

// Start starts a review for actor, who needs staff.manage in the organisation. Problems are
// answered beside the fields; the review is started with an item for every role assignment
// and override of the organisation and below, and its reviewers are mailed.
func (s *Service) Start(ctx context.Context, actorID int64, st Start) (int64, valid.Problems, error) {
	snap := s.Access.Now()
	if _, ok := snap.Org(st.OrgID); !ok {
		return 0, nil, store.ErrNotFound
	}
	if !snap.Can(actorID, st.OrgID, rbac.PermStaffManage) {
		return 0, nil, snap.Forbidden(st.OrgID, rbac.PermStaffManage)
	}
	p := valid.Problems{}
	if st.EveryDays < 0 || st.EveryDays > MaxEveryDays {
		p.Add("every_days", fmt.Sprintf("Choose between 1 and %d days, or once.", MaxEveryDays))
	}
	if st.DueDays < 1 || st.DueDays > MaxDueDays {
		p.Add("due_days", fmt.Sprintf("Choose between 1 and %d days.", MaxDueDays))
	} else if st.EveryDays > 0 && st.DueDays > st.EveryDays {
		p.Add("due_days", "A review must be due before the next one starts.")
	}
	cands := Candidates(snap, st.OrgID)
	var reviewers []int64
	for _, id := range st.Reviewers {
		if !slices.ContainsFunc(cands, func(u rbac.User) bool { return u.ID == id }) {
			p.Add("reviewers", "Reviewers are people who add and remove staff here.")
			break
		}
		if !slices.Contains(reviewers, id) {
			reviewers = append(reviewers, id)
		}
	}
	if len(st.Reviewers) == 0 {
		p.Add("reviewers", "Choose at least one reviewer.")
	}
	if len(p) == 0 {
		if who := alone(snap, st.OrgID, reviewers); who != "" {
			p.Add("reviewers", who+" would be the only one able to review their own access: add another reviewer.")
		}
	}
	if len(p) > 0 {
		return 0, p, nil
	}
	id, err := s.Store.CreateReview(ctx, store.NewReview{OrgID: st.OrgID, Scope: snap.Subtree(st.OrgID), StartedBy: actorID,
		Reviewers: reviewers, EveryDays: st.EveryDays, DueAt: s.Store.Now().Unix() + int64(st.DueDays)*day})
	if err != nil {
		return 0, nil, err
	}
	if err := s.completeIfEmpty(ctx, id); err != nil {
		return id, nil, err
	}
	s.tellAssigned(ctx, id, actorID)
	return id, nil, nil
}

// completeIfEmpty completes a review with nothing in it: there is nothing to decide.
func (s *Service) completeIfEmpty(ctx context.Context, id int64) error {
	r, err := s.Store.ReviewByID(ctx, id)
	if err != nil || r.Total > 0 {
		return err
	}
	return s.Store.CompleteEmptyReview(ctx, id)
}

// alone names a reviewer who holds access in the scope with nobody else to decide it: the
// only reviewer, and no other active global admin. "" when everyone's own items have someone.
func alone(snap *rbac.Snapshot, orgID int64, reviewers []int64) string {
	if len(reviewers) != 1 {
		return ""
	}
	r := reviewers[0]
	data := snap.Data()
	for _, a := range data.Users {
		if a.GlobalAdmin && !a.Disabled && a.ID != r {
			return ""
		}
	}
	holds := false
	for a := range snap.Assignments() {
		if a.UserID == r && snap.IsWithin(a.OrgID, orgID) {
			holds = true
			break
		}
	}
	if !holds {
		for _, o := range data.UserOverrides {
			if o.UserID == r && snap.IsWithin(o.OrgID, orgID) {
				holds = true
				break
			}
		}
	}
	if !holds {
		return ""
	}
	u, _ := snap.User(r)
	return u.Name
}

// canSee reports whether actor may know of the review at all: a global admin, a reviewer, or
// someone who manages staff in its organisation. Anyone else is answered as if there were
// none, so another organisation's review ids tell nothing.
func canSee(snap *rbac.Snapshot, actorID int64, r store.Review) bool {
	return snap.IsGlobalAdmin(actorID) || slices.Contains(r.Reviewers, actorID) || snap.Can(actorID, r.OrgID, rbac.PermStaffManage)
}

// Get loads a review for actor (store.ErrNotFound when they may not know of it).
func (s *Service) Get(ctx context.Context, actorID, id int64) (store.Review, error) {
	r, err := s.Store.ReviewByID(ctx, id)
	if err != nil {
		return r, err
	}
	if !canSee(s.Access.Now(), actorID, r) {
		return store.Review{}, store.ErrNotFound
	}
	return r, nil
}

// Items loads a review and its items for actor.
func (s *Service) Items(ctx context.Context, actorID, id int64) (store.Review, []store.ReviewItem, error) {
	r, err := s.Get(ctx, actorID, id)
	if err != nil {
		return r, nil, err
	}
	items, err := s.Store.ReviewItems(ctx, id)
	if err != nil {
		return r, nil, err
	}
	snap := s.Access.Now()
	scope := staff.ListScope(snap, actorID)
	for i := range items {
		hide(snap, scope, &items[i])
	}
	return r, items, nil
}

// Hidden names the holder of an item the one asking may not see.
const Hidden = "Someone you do not see"

// hide blanks the holder of an item whom scope (the staff list's: staff.ListScope) does not
// let one see, neither now nor as staff of the item's organisation: member visibility
// (PRODUCT.md §2.6) holds in a review too.
func hide(snap *rbac.Snapshot, scope store.Scope, it *store.ReviewItem) {
	if scope.Everyone || slices.Contains(scope.OrgIDs, it.OrgID) || staff.InScope(snap, scope, it.UserID) {
		return
	}
	it.Hidden, it.UserName, it.UserEmail = true, Hidden, ""
}

// List is the reviews actor sees: those of the organisations where they manage staff (and
// below), and those they review.
func (s *Service) List(ctx context.Context, actorID int64, limit int) ([]store.Review, error) {
	snap := s.Access.Now()
	orgs := snap.OrgsWhere(actorID, rbac.PermStaffManage)
	if snap.IsGlobalAdmin(actorID) {
		orgs = snap.AllOrgs()
	}
	return s.Store.Reviews(ctx, orgs, actorID, limit)
}

// ToDo lists the open reviews actor is a reviewer of that are due within DueSoon or overdue,
// soonest first: the home page's list.
func (s *Service) ToDo(ctx context.Context, actorID int64) ([]store.Review, error) {
	open, err := s.Store.OpenReviewsOf(ctx, actorID, 50)
	if err != nil {
		return nil, err
	}
	now := s.Store.Now().Unix()
	var out []store.Review
	for _, r := range open {
		if r.DueAt-now <= DueSoon {
			out = append(out, r)
		}
	}
	return out, nil
}

// Overdue reports whether an open review's due date has passed.
func Overdue(r store.Review, now int64) bool { return r.State == store.ReviewOpen && now >= r.DueAt }

// NextStart is when a complete recurring review's next review starts (0: none to come).
func NextStart(r store.Review) int64 {
	if r.EveryDays == 0 || r.NextReviewID != 0 {
		return 0
	}
	return r.CreatedAt + int64(r.EveryDays)*day
}

// MayDecide reports whether actor may decide it now, and when not, why in words.
func MayDecide(snap *rbac.Snapshot, actorID int64, r store.Review, it store.ReviewItem) (bool, string) {
	admin := snap.IsGlobalAdmin(actorID)
	switch {
	case r.State != store.ReviewOpen:
		return false, "The review is complete."
	case it.Decision != "":
		return false, ""
	case !admin && !slices.Contains(r.Reviewers, actorID):
		return false, "Only the review's reviewers decide."
	case !admin && !snap.Can(actorID, r.OrgID, rbac.PermStaffManage):
		return false, "You no longer add and remove staff in " + r.OrgName + "."
	case it.Hidden:
		return false, "You do not see this person: another reviewer decides this."
	case it.UserID == actorID:
		if OnlyAdmin(r, it) {
			return false, "Your own access, and you are the only reviewer: a global admin decides this."
		}
		return false, "Your own access: another reviewer decides this."
	}
	return true, ""
}

// OnlyAdmin reports whether only a global admin can decide an item: its holder is the
// review's only reviewer.
func OnlyAdmin(r store.Review, it store.ReviewItem) bool {
	return len(r.Reviewers) == 1 && r.Reviewers[0] == it.UserID
}

// Outcome is what became of one decision.
type Outcome struct {
	ItemID int64
	// Refused says why the decision was not recorded (the item stays open): a guard's refusal
	// of the revoke, the lock-out guard, or someone having decided it already.
	Refused   string
	Completed bool // the decision completed the review
}

// Decide keeps or revokes one item for actor. A review or item actor may not see is not
// found; someone who may not decide it is refused (*rbac.ForbiddenError); a revoke the guards
// refuse leaves the item open and says why in the outcome.
func (s *Service) Decide(ctx context.Context, actorID, itemID int64, decision, note string) (Outcome, valid.Problems, error) {
	out := Outcome{ItemID: itemID}
	it, err := s.Store.ReviewItemByID(ctx, itemID)
	if err != nil {
		return out, nil, err
	}
	r, err := s.Get(ctx, actorID, it.ReviewID)
	if err != nil {
		return out, nil, err
	}
	if decision != store.DecisionKeep && decision != store.DecisionRevoke {
		return out, valid.Problems{"decision": "Choose Keep or Revoke."}, nil
	}
	note, msg := valid.Text(note, false, MaxNote)
	if msg != "" {
		return out, valid.Problems{"note": msg}, nil
	}
	snap := s.Access.Now()
	hide(snap, staff.ListScope(snap, actorID), &it)
	if it.Decision != "" {
		out.Refused = "Already decided: " + wordOf(it.Decision) + " by " + it.DecidedByName + "."
		return out, nil, nil
	}
	if ok, why := MayDecide(snap, actorID, r, it); !ok {
		if !snap.IsGlobalAdmin(actorID) && !snap.Can(actorID, r.OrgID, rbac.PermStaffManage) {
			return out, nil, snap.Forbidden(r.OrgID, rbac.PermStaffManage)
		}
		return out, nil, rbac.Refused(strings.TrimSuffix(why, "."), nil)
	}
	if decision == store.DecisionRevoke && snap.StaffOf(it.UserID, it.OrgID) {
		var guard error
		if it.Kind == store.ItemAssignment {
			if _, held := snap.AssignmentOf(it.UserID, it.RoleID, it.OrgID); held {
				guard = staff.CheckRemoveRole(snap, actorID, it.UserID, it.OrgID)
			}
		} else {
			guard = staff.CheckRemoveOverride(snap, actorID, it.UserID, it.OrgID, it.Perm)
		}
		words, err := staff.Refusal(snap, it.UserID, it.OrgID, guard)
		if err != nil {
			return out, nil, err
		}
		if words != "" {
			out.Refused = words
			return out, nil, nil
		}
	}
	out.Completed, err = s.Store.DecideReviewItem(ctx, store.ItemDecision{ItemID: itemID, ActorID: actorID, Decision: decision, Note: note})
	var le *rbac.LockoutError
	switch {
	case errors.As(err, &le):
		if le.GlobalAdmin {
			out.Refused = "Not revoked: the portal must keep at least one active global admin."
		} else {
			out.Refused = "Not revoked: " + le.OrgName + " must keep at least one person who can manage both roles and staff. Give that access to someone else first."
		}
		return out, nil, nil
	case errors.Is(err, store.ErrReviewDecided):
		out.Refused = "Someone decided it already."
		return out, nil, nil
	case err != nil:
		return out, nil, err
	}
	if out.Completed {
		s.scheduleNow(ctx, r.ID)
	}
	return out, nil, nil
}

// DecideMany keeps or revokes the items of one review for actor, each through Decide's rules
// and guards on its own: one refused does not stop the others. Items of another review are
// not found; a rule that refuses actor an item is reported as that item's refusal.
func (s *Service) DecideMany(ctx context.Context, actorID, reviewID int64, itemIDs []int64, decision, note string) ([]Outcome, error) {
	if _, err := s.Get(ctx, actorID, reviewID); err != nil {
		return nil, err
	}
	if decision != store.DecisionKeep && decision != store.DecisionRevoke {
		return nil, rbac.Refused("choose Keep or Revoke", nil)
	}
	// Every item must be the review's before any is decided: a foreign id decides nothing.
	for _, id := range itemIDs {
		it, err := s.Store.ReviewItemByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && it.ReviewID != reviewID {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
	}
	var out []Outcome
	for _, id := range itemIDs {
		o, p, err := s.Decide(ctx, actorID, id, decision, note)
		for _, m := range p {
			o.Refused = m
		}
		var fe *rbac.ForbiddenError
		if errors.As(err, &fe) && fe.Reason != "" {
			o.Refused, err = capital(fe.Reason)+".", nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func wordOf(decision string) string {
	if decision == store.DecisionRevoke {
		return "revoked"
	}
	return "kept"
}

// scheduleNow starts the next review of a just-completed recurring one whose day has come
// already (it was completed late); otherwise the sweep starts it on its day.
func (s *Service) scheduleNow(ctx context.Context, id int64) {
	r, err := s.Store.ReviewByID(ctx, id)
	if err != nil {
		return
	}
	if at := NextStart(r); at != 0 && at <= s.Store.Now().Unix() {
		_, _ = s.next(ctx, r)
	}
}

// Sweep does what time brings, once a minute: it tells the reviewers of a review that has
// become overdue (once), and starts the next review of each complete recurring review whose
// day has come. It reports how many reviews it started.
//
// The next review starts EveryDays after its predecessor started, with fresh items read
// then, and is due as long after its start as its predecessor was. A review left open past
// its due date stays overdue on its reviewers' home pages and starts no next one until it is
// complete: reviews of the same organisation never pile up.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.Store.Now().Unix()
	overdue, err := s.Store.OverdueReviews(ctx, now)
	if err != nil {
		return 0, err
	}
	for _, r := range overdue {
		told, err := s.Store.MarkOverdueTold(ctx, r.ID)
		if err != nil {
			return 0, err
		}
		if told {
			s.tell(ctx, r, 0, "Access review overdue: "+r.OrgName, fmt.Sprintf("The access review of %s was due %s and is %d of %d reviewed.",
				r.OrgName, s.Access.Now().When(r.DueAt), r.Decided, r.Total))
		}
	}
	due, err := s.Store.RecurringDue(ctx, now)
	if err != nil {
		return 0, err
	}
	started := 0
	for _, r := range due {
		ok, err := s.next(ctx, r)
		if err != nil {
			return started, err
		}
		if ok {
			started++
		}
	}
	return started, nil
}

// next starts the review after r: the same organisation and schedule, its reviewers those of
// r who still manage staff there (else everyone who does).
func (s *Service) next(ctx context.Context, r store.Review) (bool, error) {
	snap := s.Access.Now()
	if _, ok := snap.Org(r.OrgID); !ok {
		return false, nil
	}
	cands := Candidates(snap, r.OrgID)
	var reviewers []int64
	for _, id := range r.Reviewers {
		if slices.ContainsFunc(cands, func(u rbac.User) bool { return u.ID == id }) {
			reviewers = append(reviewers, id)
		}
	}
	if len(reviewers) == 0 {
		for _, u := range cands {
			reviewers = append(reviewers, u.ID)
		}
	}
	if len(reviewers) == 0 {
		return false, nil
	}
	now := s.Store.Now().Unix()
	id, err := s.Store.CreateReview(ctx, store.NewReview{OrgID: r.OrgID, Scope: snap.Subtree(r.OrgID), Reviewers: reviewers,
		EveryDays: r.EveryDays, DueAt: now + (r.DueAt - r.CreatedAt), Previous: r.ID})
	if errors.Is(err, store.ErrReviewStarted) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := s.completeIfEmpty(ctx, id); err != nil {
		return true, err
	}
	s.tellAssigned(ctx, id, 0)
	return true, nil
}

// tellAssigned mails a new review's reviewers, but the one who started it.
func (s *Service) tellAssigned(ctx context.Context, id, starterID int64) {
	if s.Mail == nil {
		return
	}
	r, err := s.Store.ReviewByID(ctx, id)
	if err != nil {
		return
	}
	by := "Its schedule"
	if r.StartedByName != "" {
		by = r.StartedByName
	}
	s.tell(ctx, r, starterID, "Access review of "+r.OrgName+" assigned to you",
		fmt.Sprintf("%s started an access review of %s and named you a reviewer: %d items to keep or revoke, due %s.",
			by, r.OrgName, r.Total, s.Access.Now().When(r.DueAt)))
}

// tell mails each reviewer of r but skip, in the background: a slow mail server must not hold
// up a page or the sweep.
func (s *Service) tell(ctx context.Context, r store.Review, skip int64, subject, text string) {
	if s.Mail == nil {
		return
	}
	snap := s.Access.Now()
	text += fmt.Sprintf("\n\nOpen it: %s/reviews/%d\n", s.Link, r.ID)
	for _, id := range r.Reviewers {
		u, ok := snap.User(id)
		if !ok || id == skip || u.Email == "" || u.Disabled {
			continue
		}
		go func() {
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = s.Mail.Send(mctx, u.Email, u.Name, subject, text)
		}()
	}
}

// Decided is how a decision reads in the report and the CSV.
func Decided(decision string) string {
	switch decision {
	case store.DecisionKeep:
		return "Kept"
	case store.DecisionRevoke:
		return "Revoked"
	}
	return "Not decided"
}

// What says what an item grants: "Nurse" for a role, "Allow View billing" for an override.
func What(cat *rbac.Catalog, it store.ReviewItem) string {
	if it.Kind == store.ItemAssignment {
		return it.RoleName
	}
	e := "Allow"
	if it.Effect == "deny" {
		e = "Deny"
	}
	return e + " " + cat.Label(it.Perm)
}
