// Package emergency holds the rules of emergency access, "break the glass" (PRODUCT.md
// §2.11): an organisation says whether it is on, which permissions may be taken and for how
// long at most; a holder of emergency.request there takes some of them at once, with a
// reason, without anyone's approval; it ends by itself, or earlier by the person or an
// admin; the organisation's auditors are told and one of them reviews every use.
//
// The grant itself is a fact of the permission snapshot (rbac.Emergency): it decides before
// the rule's steps, in the organisation and below, until its end. Nothing here relaxes the
// escalation guard for anything outside the organisation's set, and the set itself is
// guarded: whoever sets it must hold what they put in it, and Administration permissions
// (and emergency access itself) are never in it.
package emergency

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rolegate/rolegate/internal/mail"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// Limits of PRODUCT.md §2.11.
const (
	MaxMinutes     = 24 * 60 // the longest an organisation may allow
	MinMinutes     = 15
	MinReason      = 10 // characters a reason needs
	MaxReason      = 500
	MaxNote        = 1000
	Justified      = "justified"
	NotJustified   = "not_justified"
	unreviewedList = 50
)

// Service applies the rules to the store.
type Service struct {
	Store  *store.Store
	Access *rbac.Engine
	Mail   mail.Notifier // nil when mail is off
	// Link is the portal's address for the review queue in mails ("" leaves it out).
	Link string
}

// Settings reads an organisation's settings, for a holder of orgs.manage there.
func (s *Service) Settings(ctx context.Context, actorID, orgID int64) (store.EmergencySettings, error) {
	snap := s.Access.Now()
	if !snap.Can(actorID, orgID, rbac.PermOrgsManage) {
		return store.EmergencySettings{}, snap.Forbidden(orgID, rbac.PermOrgsManage)
	}
	return s.Store.EmergencySettingsOf(ctx, orgID)
}

// Offerable lists the permissions an organisation's set may hold: everything but the
// Administration permissions and emergency access itself, in catalog order.
func Offerable(cat *rbac.Catalog) []rbac.Permission {
	var out []rbac.Permission
	for _, p := range cat.Permissions() {
		if !p.Mandatory && p.Key != rbac.PermEmergency && !slices.Contains(rbac.AdminPermissions, p.Key) && p.Key != rbac.PermIntegrations {
			out = append(out, p)
		}
	}
	return out
}

// SetSettings changes an organisation's settings: the actor needs orgs.manage there, and each
// permission they add to the set must be one they hold there or may grant (access.delegate).
func (s *Service) SetSettings(ctx context.Context, actorID int64, set store.EmergencySettings) (valid.Problems, error) {
	snap := s.Access.Now()
	if !snap.Can(actorID, set.OrgID, rbac.PermOrgsManage) {
		return nil, snap.Forbidden(set.OrgID, rbac.PermOrgsManage)
	}
	if set.MaxMinutes < MinMinutes || set.MaxMinutes > MaxMinutes {
		return valid.Problems{"max_minutes": fmt.Sprintf("Choose between %d minutes and %d hours.", MinMinutes, MaxMinutes/60)}, nil
	}
	offer := Offerable(snap.Catalog())
	before, err := s.Store.EmergencySettingsOf(ctx, set.OrgID)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range set.Perms {
		if !slices.ContainsFunc(offer, func(p rbac.Permission) bool { return p.Key == k }) {
			return valid.Problems{"permissions": "Emergency access cannot include " + snap.Catalog().Label(k) + "."}, nil
		}
		if !slices.Contains(before.Perms, k) && !snap.CanGrant(actorID, set.OrgID, k) {
			missing = append(missing, snap.Catalog().Label(k))
		}
	}
	if len(missing) > 0 {
		return valid.Problems{"permissions": "You can only offer permissions you hold yourself: " + strings.Join(missing, ", ") + "."}, nil
	}
	set.Perms = snap.Catalog().Sort(set.Perms)
	return nil, s.Store.SetEmergencySettings(ctx, set, actorID)
}

// Request is what someone asks for when they break the glass.
type Request struct {
	OrgID   int64
	Perms   []string
	Reason  string
	Minutes int
}

// Available reports whether actor may take emergency access in org, and the settings.
func (s *Service) Available(ctx context.Context, actorID, orgID int64) (store.EmergencySettings, bool, error) {
	set, err := s.Store.EmergencySettingsOf(ctx, orgID)
	if err != nil {
		return set, false, err
	}
	return set, set.Enabled && len(set.Perms) > 0 && s.Access.Now().Can(actorID, orgID, rbac.PermEmergency), nil
}

// Start gives actor the permissions asked for, at once, until the time chosen, and tells the
// organisation's auditors. Only what the organisation allows may be taken (a problem
// otherwise), for no longer than it allows, with a reason of at least MinReason characters.
func (s *Service) Start(ctx context.Context, actorID int64, r Request) (int64, valid.Problems, error) {
	snap := s.Access.Now()
	if !snap.Can(actorID, r.OrgID, rbac.PermEmergency) {
		return 0, nil, snap.Forbidden(r.OrgID, rbac.PermEmergency)
	}
	set, err := s.Store.EmergencySettingsOf(ctx, r.OrgID)
	if err != nil {
		return 0, nil, err
	}
	if !set.Enabled {
		o, _ := snap.Org(r.OrgID)
		return 0, valid.Problems{"permissions": "Emergency access is off in " + o.Name + "."}, nil
	}
	p := valid.Problems{}
	if len(r.Perms) == 0 {
		p.Add("permissions", "Choose what you need.")
	}
	for _, k := range r.Perms {
		if !slices.Contains(set.Perms, k) {
			p.Add("permissions", snap.Catalog().Label(k)+" cannot be taken in an emergency here.")
		}
	}
	reason, msg := valid.Text(r.Reason, true, MaxReason)
	p.Add("reason", msg)
	if msg == "" && utf8.RuneCountInString(reason) < MinReason {
		p.Add("reason", fmt.Sprintf("Say why, in at least %d characters: it is what the review reads.", MinReason))
	}
	if r.Minutes < 1 || r.Minutes > set.MaxMinutes {
		p.Add("minutes", fmt.Sprintf("Choose up to %s.", Duration(set.MaxMinutes)))
	}
	if len(p) > 0 {
		return 0, p, nil
	}
	perms := snap.Catalog().Sort(slices.Clone(r.Perms))
	until := s.Store.Now().Add(time.Duration(r.Minutes) * time.Minute).Unix()
	id, err := s.Store.StartEmergency(ctx, actorID, r.OrgID, perms, reason, until)
	if errors.Is(err, store.ErrEmergencyOpen) {
		return 0, valid.Problems{"permissions": "You already hold emergency access here: end it (the red banner's End now) before taking it again."}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	s.tell(ctx, actorID, r.OrgID, perms, reason, until)
	return id, nil, nil
}

// tell mails the organisation's auditors, when mail is on; the home page and the review
// queue tell them anyway.
func (s *Service) tell(ctx context.Context, actorID, orgID int64, perms []string, reason string, until int64) {
	if s.Mail == nil {
		return
	}
	snap := s.Access.Now()
	who, _ := snap.User(actorID)
	o, _ := snap.Org(orgID)
	labels := make([]string, len(perms))
	for i, k := range perms {
		labels[i] = snap.Catalog().Label(k)
	}
	text := fmt.Sprintf("%s took emergency access in %s until %s: %s.\n\nReason: %s\n\nReview it: %s/emergency\n",
		who.Name, o.Name, snap.When(until), strings.Join(labels, ", "), reason, s.Link)
	for _, id := range snap.WhoCan(orgID, rbac.PermAuditView) {
		u, ok := snap.User(id)
		if !ok || id == actorID || u.Email == "" {
			continue
		}
		go func() { // a slow mail server must not hold up the emergency
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = s.Mail.Send(mctx, u.Email, u.Name, "Emergency access: "+who.Name+" in "+o.Name, text)
		}()
	}
}

// End ends a use now: the person who took it, or whoever manages staff where it was taken.
func (s *Service) End(ctx context.Context, actorID, useID int64) error {
	e, err := s.Store.EmergencyUseByID(ctx, useID)
	if err != nil {
		return err
	}
	snap := s.Access.Now()
	if e.UserID != actorID && !snap.Can(actorID, e.OrgID, rbac.PermStaffManage) {
		if !s.canSee(snap, actorID, e) {
			return store.ErrNotFound
		}
		return snap.Forbidden(e.OrgID, rbac.PermStaffManage)
	}
	return s.Store.EndEmergency(ctx, useID, actorID)
}

// Review records whether a use was justified, with a note: a holder of audit.view where it
// was taken, never the person who took it.
func (s *Service) Review(ctx context.Context, actorID, useID int64, decision, note string) (valid.Problems, error) {
	e, err := s.Store.EmergencyUseByID(ctx, useID)
	if err != nil {
		return nil, err
	}
	snap := s.Access.Now()
	if !snap.Can(actorID, e.OrgID, rbac.PermAuditView) {
		if !s.canSee(snap, actorID, e) {
			return nil, store.ErrNotFound
		}
		return nil, snap.Forbidden(e.OrgID, rbac.PermAuditView)
	}
	// Nobody reviews their own use, nor one of an account they invited (it may be theirs).
	if e.UserID == actorID || slices.Contains(snap.Upline(e.UserID), actorID) {
		return nil, rbac.Refused("nobody reviews their own emergency access, nor that of someone they invited", nil)
	}
	if decision != Justified && decision != NotJustified {
		return valid.Problems{"decision": "Choose justified or not justified."}, nil
	}
	note, msg := valid.Text(note, true, MaxNote)
	if msg != "" {
		return valid.Problems{"note": msg}, nil
	}
	return nil, s.Store.ReviewEmergency(ctx, useID, actorID, decision, note)
}

// Queue lists the uses actor may review (audit.view where they were taken), unreviewed
// first; unreviewed only, those alone.
func (s *Service) Queue(ctx context.Context, actorID int64, unreviewed bool, limit int) ([]store.EmergencyUse, error) {
	orgs := s.Access.Now().OrgsWhere(actorID, rbac.PermAuditView)
	if limit <= 0 {
		limit = unreviewedList
	}
	return s.Store.EmergencyUses(ctx, orgs, unreviewed, limit)
}

// canSee reports whether actor may know of the use at all: it is their own, or it was taken
// where they see staff. Anyone else is answered as if there were none.
func (s *Service) canSee(snap *rbac.Snapshot, actorID int64, e store.EmergencyUse) bool {
	return e.UserID == actorID || snap.Can(actorID, e.OrgID, rbac.PermStaffView) || snap.Can(actorID, e.OrgID, rbac.PermAuditView)
}

// Durations offered, in minutes, up to an organisation's longest.
func Durations(max int) []int {
	var out []int
	for _, m := range []int{15, 30, 60, 120, 240, 480, 720, 1440} {
		if m <= max {
			out = append(out, m)
		}
	}
	if len(out) == 0 || out[len(out)-1] != max {
		out = append(out, max)
	}
	return out
}

// Duration says a number of minutes in words: "30 minutes", "4 hours".
func Duration(m int) string {
	switch {
	case m%60 == 0 && m == 60:
		return "1 hour"
	case m%60 == 0:
		return fmt.Sprintf("%d hours", m/60)
	}
	return fmt.Sprintf("%d minutes", m)
}
