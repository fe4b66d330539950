package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rolegate/rolegate/internal/audit"
)

// Review states and item decisions, as stored.
const (
	ReviewOpen     = "open"
	ReviewComplete = "complete"
	DecisionKeep   = "keep"
	DecisionRevoke = "revoke"
	ItemAssignment = "assignment"
	ItemOverride   = "override"
)

// Review is an access review (PRODUCT.md §2.12) with its progress.
type Review struct {
	ID            int64
	OrgID         int64
	OrgName       string
	StartedBy     int64 // 0: started by the schedule of the review before it
	StartedByName string
	EveryDays     int // 0: once
	DueAt         int64
	State         string
	CreatedAt     int64
	CompletedAt   int64
	NextReviewID  int64
	Reviewers     []int64
	Total         int
	Decided       int
}

// ReviewItem is one role assignment or override under review, with what was copied at the
// start and the decision.
type ReviewItem struct {
	ID            int64
	ReviewID      int64
	Kind          string // ItemAssignment or ItemOverride
	UserID        int64
	UserName      string
	UserEmail     string
	OrgID         int64
	OrgName       string
	RoleID        int64
	RoleName      string
	Perm          string
	Effect        string
	Since         int64
	Until         int64
	LastSignIn    int64 // 0: never
	Decision      string
	DecidedBy     int64
	DecidedByName string
	DecidedAt     int64
	Note          string
	// Hidden is set by the reviews domain, not stored: the one asking may not see the holder
	// (member visibility), whose name and address are then left out.
	Hidden bool
}

// NewReview is what starting a review records.
type NewReview struct {
	OrgID     int64
	Scope     []int64 // the organisation and every one below it: whose grants become items
	StartedBy int64   // 0: the schedule
	Reviewers []int64
	EveryDays int
	DueAt     int64
	// Previous, when not 0, is the recurring review this one follows.
	Previous int64
}

// ErrReviewDecided refuses deciding an item that was decided already (two reviewers at once).
var ErrReviewDecided = errors.New("store: that item was decided already")

// ErrReviewStarted refuses starting the next review of one whose next has started already.
var ErrReviewStarted = errors.New("store: the next review has started already")

// CreateReview starts a review: the review, its reviewers, and an item for every role
// assignment and override made in the scope and still in force, with names, since when and
// the holder's last sign-in copied now, in one transaction, audited.
func (s *Store) CreateReview(ctx context.Context, nr NewReview) (int64, error) {
	if len(nr.Scope) == 0 {
		return 0, ErrNotFound
	}
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		var orgName, starter string
		if err := tx.QueryRowContext(ctx, `SELECT o.name, coalesce((SELECT name FROM users WHERE id = ?), '') FROM organisations o WHERE o.id = ?`,
			nr.StartedBy, nr.OrgID).Scan(&orgName, &starter); err != nil {
			return fmt.Errorf("store: start review: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO access_reviews (org_id, org_name, started_by, started_by_name, every_days, due_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, nr.OrgID, orgName, nullID(nr.StartedBy), starter, nr.EveryDays, nr.DueAt, now)
		if err != nil {
			return fmt.Errorf("store: start review: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if nr.Previous != 0 {
			res, err := tx.ExecContext(ctx, "UPDATE access_reviews SET next_review_id = ? WHERE id = ? AND next_review_id IS NULL", id, nr.Previous)
			if err != nil {
				return fmt.Errorf("store: start review: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrReviewStarted
			}
		}
		for _, u := range nr.Reviewers {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO access_review_reviewers (review_id, user_id) VALUES (?, ?)", id, u); err != nil {
				return fmt.Errorf("store: start review: %w", err)
			}
		}
		args := []any{id}
		for _, o := range nr.Scope {
			args = append(args, o)
		}
		args = append(args, now)
		in := placeholders(len(nr.Scope))
		// The last sign-in is the audit log's: sessions are deleted once they end.
		lastSignIn := `(SELECT max(l.at) FROM audit_log l WHERE l.target_type = 'user' AND l.target_id = u.id AND l.action = '` + audit.SignIn + `')`
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_review_items (review_id, kind, user_id, user_name, user_email, org_id, org_name, role_id, role_name, since, until, last_sign_in)
			SELECT ?, 'assignment', a.user_id, u.name, u.email, a.org_id, o.name, a.role_id, r.name, a.created_at, a.until, `+lastSignIn+`
			FROM role_assignments a JOIN users u ON u.id = a.user_id JOIN organisations o ON o.id = a.org_id JOIN roles r ON r.id = a.role_id
			WHERE a.org_id IN (`+in+`) AND (a.until IS NULL OR a.until > ?)
			ORDER BY u.name COLLATE NOCASE, u.id, o.name, r.name`, args...); err != nil {
			return fmt.Errorf("store: review items: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_review_items (review_id, kind, user_id, user_name, user_email, org_id, org_name, perm, effect, since, until, last_sign_in)
			SELECT ?, 'override', v.user_id, u.name, u.email, v.org_id, o.name, v.perm, v.effect, v.set_at, v.until, `+lastSignIn+`
			FROM user_overrides v JOIN users u ON u.id = v.user_id JOIN organisations o ON o.id = v.org_id
			WHERE v.org_id IN (`+in+`) AND (v.until IS NULL OR v.until > ?)
			ORDER BY u.name COLLATE NOCASE, u.id, o.name, v.perm`, args...); err != nil {
			return fmt.Errorf("store: review items: %w", err)
		}
		var items int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM access_review_items WHERE review_id = ?", id).Scan(&items); err != nil {
			return err
		}
		after := map[string]any{"review": id, "items": items, "due_at": nr.DueAt, "every_days": nr.EveryDays, "reviewers": nr.Reviewers}
		if nr.Previous != 0 {
			after["previous"] = nr.Previous
		}
		return s.appendAudit(ctx, tx, audit.Entry{ActorID: nr.StartedBy, OrgID: nr.OrgID, Action: audit.ReviewStarted, TargetType: "review",
			TargetID: id, TargetName: orgName, After: audit.JSON(after)})
	})
	return id, err
}

const reviewSelect = `SELECT r.id, r.org_id, r.org_name, coalesce(r.started_by, 0), r.started_by_name, r.every_days, r.due_at, r.state, r.created_at,
	coalesce(r.completed_at, 0), coalesce(r.next_review_id, 0),
	(SELECT count(*) FROM access_review_items i WHERE i.review_id = r.id),
	(SELECT count(*) FROM access_review_items i WHERE i.review_id = r.id AND i.decision IS NOT NULL)
	FROM access_reviews r`

func scanReview(r interface{ Scan(...any) error }) (Review, error) {
	var v Review
	err := r.Scan(&v.ID, &v.OrgID, &v.OrgName, &v.StartedBy, &v.StartedByName, &v.EveryDays, &v.DueAt, &v.State, &v.CreatedAt,
		&v.CompletedAt, &v.NextReviewID, &v.Total, &v.Decided)
	return v, err
}

// ReviewByID loads one review with its reviewers and progress.
func (s *Store) ReviewByID(ctx context.Context, id int64) (Review, error) {
	v, err := scanReview(s.r.QueryRowContext(ctx, reviewSelect+" WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("store: review: %w", err)
	}
	v.Reviewers, err = queryInts(ctx, s.r, "SELECT user_id FROM access_review_reviewers WHERE review_id = ? ORDER BY user_id", id)
	return v, err
}

// Reviews lists the reviews of orgIDs and those userID is a reviewer of: open ones first,
// soonest due, then complete ones newest first, at most limit.
func (s *Store) Reviews(ctx context.Context, orgIDs []int64, userID int64, limit int) ([]Review, error) {
	args := []any{userID}
	where := " WHERE r.id IN (SELECT review_id FROM access_review_reviewers WHERE user_id = ?)"
	if len(orgIDs) > 0 {
		where += " OR r.org_id IN (" + placeholders(len(orgIDs)) + ")"
		for _, o := range orgIDs {
			args = append(args, o)
		}
	}
	return s.reviews(ctx, where+" ORDER BY r.state = 'complete', CASE WHEN r.state = 'open' THEN r.due_at ELSE -r.completed_at END, r.id DESC LIMIT ?", append(args, limit)...)
}

// OpenReviewsOf lists the open reviews userID is a reviewer of, soonest due first.
func (s *Store) OpenReviewsOf(ctx context.Context, userID int64, limit int) ([]Review, error) {
	return s.reviews(ctx, ` WHERE r.state = 'open' AND r.id IN (SELECT review_id FROM access_review_reviewers WHERE user_id = ?)
		ORDER BY r.due_at, r.id LIMIT ?`, userID, limit)
}

func (s *Store) reviews(ctx context.Context, where string, args ...any) ([]Review, error) {
	var out []Review
	err := eachRow(ctx, s.r, reviewSelect+where, args, func(r *sql.Rows) error {
		v, err := scanReview(r)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: reviews: %w", err)
	}
	for i := range out {
		if out[i].Reviewers, err = queryInts(ctx, s.r, "SELECT user_id FROM access_review_reviewers WHERE review_id = ? ORDER BY user_id", out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const itemSelect = `SELECT id, review_id, kind, user_id, user_name, user_email, org_id, org_name, coalesce(role_id, 0), coalesce(role_name, ''),
	coalesce(perm, ''), coalesce(effect, ''), since, coalesce(until, 0), coalesce(last_sign_in, 0), coalesce(decision, ''),
	coalesce(decided_by, 0), coalesce(decided_by_name, ''), coalesce(decided_at, 0), coalesce(note, '')
	FROM access_review_items`

func scanItem(r interface{ Scan(...any) error }) (ReviewItem, error) {
	var i ReviewItem
	err := r.Scan(&i.ID, &i.ReviewID, &i.Kind, &i.UserID, &i.UserName, &i.UserEmail, &i.OrgID, &i.OrgName, &i.RoleID, &i.RoleName,
		&i.Perm, &i.Effect, &i.Since, &i.Until, &i.LastSignIn, &i.Decision, &i.DecidedBy, &i.DecidedByName, &i.DecidedAt, &i.Note)
	return i, err
}

// ReviewItems lists a review's items by person, then organisation and what they grant.
func (s *Store) ReviewItems(ctx context.Context, reviewID int64) ([]ReviewItem, error) {
	var out []ReviewItem
	err := eachRow(ctx, s.r, itemSelect+" WHERE review_id = ? ORDER BY user_name COLLATE NOCASE, user_id, kind, org_name, role_name, perm, id",
		[]any{reviewID}, func(r *sql.Rows) error {
			i, err := scanItem(r)
			out = append(out, i)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: review items: %w", err)
	}
	return out, nil
}

// ReviewItemByID loads one item.
func (s *Store) ReviewItemByID(ctx context.Context, id int64) (ReviewItem, error) {
	i, err := scanItem(s.r.QueryRowContext(ctx, itemSelect+" WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return i, ErrNotFound
	}
	return i, err
}

// ItemDecision is a reviewer's decision on one item.
type ItemDecision struct {
	ItemID   int64
	ActorID  int64
	Decision string // DecisionKeep or DecisionRevoke
	Note     string
}

// DecideReviewItem records a decision. A revoke takes the access away in the same
// transaction, through the same writes as the person page (removeAssignment, setOverrideTx),
// so the lock-out guard sees it before the commit and a refusal leaves the item undecided;
// the permission snapshot follows, as after any access change. An item whose access is gone
// already is recorded as revoked with nothing left to take. When it was the last undecided
// item the review completes. It reports whether the review completed.
func (s *Store) DecideReviewItem(ctx context.Context, d ItemDecision) (bool, error) {
	it, err := s.ReviewItemByID(ctx, d.ItemID)
	if err != nil {
		return false, err
	}
	write := s.withTx
	if d.Decision == DecisionRevoke {
		write = s.withAccessTx
	}
	completed := false
	err = write(ctx, func(tx *sql.Tx) error {
		completed = false
		gone := false
		if d.Decision == DecisionRevoke {
			switch it.Kind {
			case ItemAssignment:
				err := s.removeAssignment(ctx, tx, d.ActorID, it.UserID, it.RoleID, it.OrgID)
				if errors.Is(err, ErrNotFound) {
					gone = true
				} else if err != nil {
					return err
				}
			case ItemOverride:
				var n int
				if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM user_overrides WHERE user_id = ? AND org_id = ? AND perm = ? AND effect = ?",
					it.UserID, it.OrgID, it.Perm, it.Effect).Scan(&n); err != nil {
					return fmt.Errorf("store: decide: %w", err)
				}
				if gone = n == 0; !gone {
					if err := s.setOverrideTx(ctx, tx, it.UserID, it.OrgID, it.Perm, "inherit", d.ActorID, 0); err != nil {
						return err
					}
				}
			}
		}
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, `UPDATE access_review_items SET decision = ?, decided_by = ?, decided_at = ?, note = ?,
			decided_by_name = (SELECT name FROM users WHERE id = ?)
			WHERE id = ? AND decision IS NULL AND (SELECT state FROM access_reviews WHERE id = review_id) = 'open'`,
			d.Decision, nullID(d.ActorID), now, d.Note, d.ActorID, d.ItemID)
		if err != nil {
			return fmt.Errorf("store: decide: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrReviewDecided
		}
		after := map[string]any{"review": it.ReviewID, "item": it.ID, "decision": d.Decision, "kind": it.Kind, "org": it.OrgName}
		if it.Kind == ItemAssignment {
			after["role_id"], after["role"] = it.RoleID, it.RoleName
		} else {
			after["perm"], after["effect"] = it.Perm, it.Effect
		}
		if d.Note != "" {
			after["note"] = d.Note
		}
		if gone {
			after["already_gone"] = true
		}
		if err := s.appendAudit(ctx, tx, audit.Entry{ActorID: d.ActorID, OrgID: it.OrgID, Action: audit.ReviewDecided, TargetType: "user",
			TargetID: it.UserID, TargetName: it.UserName, After: audit.JSON(after)}); err != nil {
			return err
		}
		var open, kept, revoked int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) - count(decision), count(*) FILTER (WHERE decision = 'keep'), count(*) FILTER (WHERE decision = 'revoke')
			FROM access_review_items WHERE review_id = ?`, it.ReviewID).Scan(&open, &kept, &revoked); err != nil {
			return fmt.Errorf("store: decide: %w", err)
		}
		if open > 0 {
			return nil
		}
		completed = true
		return s.completeReview(ctx, tx, it.ReviewID, d.ActorID, kept, revoked, now)
	})
	return completed, err
}

// completeReview marks a review complete and records it, as done by actorID (the last
// decision's maker; 0 for a review with nothing in it).
func (s *Store) completeReview(ctx context.Context, tx *sql.Tx, id, actorID int64, kept, revoked int, now int64) error {
	var orgID int64
	var orgName string
	if err := tx.QueryRowContext(ctx, "UPDATE access_reviews SET state = 'complete', completed_at = ? WHERE id = ? AND state = 'open' RETURNING org_id, org_name",
		now, id).Scan(&orgID, &orgName); err != nil {
		return fmt.Errorf("store: complete review: %w", err)
	}
	return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: orgID, Action: audit.ReviewCompleted, TargetType: "review", TargetID: id, TargetName: orgName,
		After: audit.JSON(map[string]any{"review": id, "kept": kept, "revoked": revoked})})
}

// CompleteEmptyReview completes a review that has no items at all (nothing to decide).
func (s *Store) CompleteEmptyReview(ctx context.Context, id int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM access_review_items WHERE review_id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrReviewDecided
		}
		return s.completeReview(ctx, tx, id, 0, 0, 0, s.now().Unix())
	})
}

// OverdueReviews lists the open reviews due before now whose reviewers were not yet told.
func (s *Store) OverdueReviews(ctx context.Context, now int64) ([]Review, error) {
	return s.reviews(ctx, " WHERE r.state = 'open' AND r.due_at <= ? AND r.overdue_mailed_at IS NULL ORDER BY r.id", now)
}

// MarkOverdueTold records that a review's reviewers were told it is overdue; false when
// another sweep did already.
func (s *Store) MarkOverdueTold(ctx context.Context, id int64) (bool, error) {
	var n int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE access_reviews SET overdue_mailed_at = ? WHERE id = ? AND overdue_mailed_at IS NULL", s.now().Unix(), id)
		if err != nil {
			return fmt.Errorf("store: overdue: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n > 0, err
}

// RecurringDue lists the complete recurring reviews whose next review's day has come
// (every_days after they started) and that have not started it yet.
func (s *Store) RecurringDue(ctx context.Context, now int64) ([]Review, error) {
	return s.reviews(ctx, ` WHERE r.every_days > 0 AND r.next_review_id IS NULL AND r.state = 'complete'
		AND r.created_at + r.every_days * 86400 <= ? ORDER BY r.id`, now)
}
