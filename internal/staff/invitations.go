package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// DefaultInvitationTTL is how long an invitation link works unless the setting
// invitation_ttl_hours says otherwise.
const DefaultInvitationTTL = 7 * 24 * time.Hour

// UnusableError says why an invitation link cannot be used; nothing was created.
type UnusableError struct {
	State  store.InvitationState // expired, accepted, revoked; pending when Reason says why
	Reason string
}

func (e *UnusableError) Error() string {
	return "staff: invitation cannot be used: " + string(e.State) + " " + e.Reason
}

// InviteForm is what the Invite staff form asks for.
type InviteForm struct {
	Email  string
	Name   string
	OrgID  int64
	RoleID int64
	// Until is when the role ends (Unix seconds; 0: never): a locum for three weeks.
	Until int64
	// UntilProblem is a problem the transport found reading Until (not a time).
	UntilProblem string
}

// Sent is an invitation just created or resent: the link is shown once, to be copied.
type Sent struct {
	Invitation store.Invitation
	Link       string
	Mailed     bool
	MailError  error // set when mail is configured but sending failed
}

// newToken returns a random link token (256 bits) and the hash that is stored.
func newToken() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("staff: token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, TokenHash(tok), nil
}

// TokenHash is the stored form of an invitation token.
func TokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

func (s *Service) ttl(ctx context.Context) time.Duration {
	v, err := s.Store.Setting(ctx, "invitation_ttl_hours", "")
	if n, perr := strconv.Atoi(v); err == nil && perr == nil && n > 0 && n <= 24*90 {
		return time.Duration(n) * time.Hour
	}
	return DefaultInvitationTTL
}

// Invite validates the form and records an invitation, mailing the link when mail is on.
// Problems are keyed by the form fields email, name, org, role.
func (s *Service) Invite(ctx context.Context, actorID int64, f InviteForm, linkBase string) (Sent, valid.Problems, error) {
	snap := s.Access.Now()
	if !snap.Can(actorID, f.OrgID, rbac.PermStaffManage) {
		return Sent{}, nil, snap.Forbidden(f.OrgID, rbac.PermStaffManage)
	}
	p := valid.Problems{}
	var msg string
	f.Email, msg = valid.Email(f.Email)
	p.Add("email", msg)
	f.Name, msg = valid.Text(f.Name, true, auth.MaxNameLen)
	p.Add("name", msg)
	var userID int64
	if msg := p["email"]; msg == "" {
		existing, err := s.Store.UserByEmail(ctx, f.Email)
		switch {
		case err == nil:
			userID = existing.ID
			// Someone the inviter may not see is answered like an unknown address: the
			// invitation is made, and only its owner's password can accept it.
			if !InScope(snap, MemberScope(snap, actorID, f.OrgID), existing.ID) {
				break
			}
			if snap.MemberAt(existing.ID, f.OrgID) {
				org, _ := snap.Org(f.OrgID)
				p.Add("email", fmt.Sprintf("%s (%s) is already staff of %s.", existing.Name, existing.Email, org.Name))
			} else if existing.Disabled {
				p.Add("email", existing.Name+"’s account is disabled; enable it from their page first.")
			}
		case !errors.Is(err, store.ErrNotFound):
			return Sent{}, nil, err
		}
		if p["email"] == "" {
			inv, err := s.Store.PendingInvitation(ctx, f.OrgID, f.Email)
			switch {
			case err == nil:
				p.Add("email", "This person was already invited on "+day(inv.CreatedAt)+". Resend or revoke that invitation from the staff list.")
			case !errors.Is(err, store.ErrNotFound):
				return Sent{}, nil, err
			}
		}
	}
	if _, ok := snap.Role(f.RoleID); !ok {
		p.Add("role", "Choose a role.")
	} else if pr, err := refused(snap, "role", userID, f.OrgID, snap.CheckAssignments(actorID, []rbac.Assignment{{UserID: userID, RoleID: f.RoleID, OrgID: f.OrgID}})); err != nil {
		return Sent{}, nil, err
	} else {
		p.Add("role", pr["role"])
	}
	p.Add("until", f.UntilProblem)
	if f.Until != 0 && f.Until <= s.Store.Now().Unix() {
		p.Add("until", "Choose an end in the future.")
	}
	if len(p) > 0 {
		return Sent{}, p, nil
	}
	tok, hash, err := newToken()
	if err != nil {
		return Sent{}, nil, err
	}
	id, err := s.Store.CreateInvitation(ctx, store.NewInvitation{TokenHash: hash, Email: f.Email, Name: f.Name, OrgID: f.OrgID,
		RoleID: f.RoleID, InvitedBy: actorID, ExpiresAt: s.Store.Now().Add(s.ttl(ctx)).Unix(), Until: f.Until})
	if errors.Is(err, store.ErrAlreadyInvited) {
		return Sent{}, valid.Problems{"email": "This person was just invited by someone else. Resend or revoke that invitation from the staff list."}, nil
	}
	if err != nil {
		return Sent{}, nil, err
	}
	return s.deliver(ctx, id, tok, linkBase)
}

// deliver loads the invitation just written and mails its link when mail is on.
func (s *Service) deliver(ctx context.Context, id int64, tok, linkBase string) (Sent, valid.Problems, error) {
	inv, err := s.Store.InvitationByID(ctx, id)
	if err != nil {
		return Sent{}, nil, err
	}
	out := Sent{Invitation: inv, Link: strings.TrimSuffix(linkBase, "/") + "/invite/" + tok}
	if s.Mail == nil {
		return out, nil, nil
	}
	subject := "You are invited to " + inv.OrgName
	text := fmt.Sprintf("Hello %s,\n\n%s invites you to join %s on Rolegate as %s.\n\nOpen this link to choose your password and sign in:\n%s\n\nThe link works once and until %s. If you did not expect this invitation, ignore this message.\n",
		inv.Name, inv.InvitedByName, inv.OrgName, inv.RoleName, out.Link, time.Unix(inv.ExpiresAt, 0).UTC().Format("2 January 2006 15:04 MST"))
	mctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.Mail.Send(mctx, inv.Email, inv.Name, subject, text); err != nil {
		out.MailError = err
	} else {
		out.Mailed = true
	}
	return out, nil, nil
}

func day(unix int64) string { return time.Unix(unix, 0).UTC().Format("2 January 2006") }

// manageable loads an invitation the actor may resend or revoke.
func (s *Service) manageable(ctx context.Context, actorID, invID int64) (store.Invitation, error) {
	inv, err := s.Store.InvitationByID(ctx, invID)
	if err != nil {
		return inv, err
	}
	if snap := s.Access.Now(); !snap.Can(actorID, inv.OrgID, rbac.PermStaffManage) {
		return inv, snap.Forbidden(inv.OrgID, rbac.PermStaffManage)
	}
	if st := inv.State(s.Store.Now()); st == store.InvitationAccepted || st == store.InvitationRevoked {
		return inv, store.ErrInvitationClosed
	}
	return inv, nil
}

// Resend gives a pending (or expired) invitation a new link and expiry; the old link stops
// working. The actor must still be allowed to give the role.
func (s *Service) Resend(ctx context.Context, actorID, invID int64, linkBase string) (Sent, valid.Problems, error) {
	inv, err := s.manageable(ctx, actorID, invID)
	if err != nil {
		return Sent{}, nil, err
	}
	snap := s.Access.Now()
	if inv.RoleID == 0 || !inv.RoleActive {
		return Sent{}, valid.Problems{"role": "The role of this invitation was deleted or made inactive. Revoke it and invite again."}, nil
	}
	if p, err := refused(snap, "role", 0, inv.OrgID, snap.CheckAssignments(actorID, []rbac.Assignment{{RoleID: inv.RoleID, OrgID: inv.OrgID}})); p != nil || err != nil {
		return Sent{}, p, err
	}
	tok, hash, err := newToken()
	if err != nil {
		return Sent{}, nil, err
	}
	if err := s.Store.RenewInvitation(ctx, inv.ID, hash, s.Store.Now().Add(s.ttl(ctx)).Unix(), actorID); err != nil {
		return Sent{}, nil, err
	}
	return s.deliver(ctx, inv.ID, tok, linkBase)
}

// Revoke withdraws a pending invitation: its link stops working.
func (s *Service) Revoke(ctx context.Context, actorID, invID int64) (store.Invitation, error) {
	inv, err := s.manageable(ctx, actorID, invID)
	if err != nil {
		return inv, err
	}
	return inv, s.Store.RevokeInvitation(ctx, inv.ID, actorID)
}

// Opened is an invitation link someone opened: what it offers, and whether its email
// already has an account (who then accepts with their password instead of choosing one).
type Opened struct {
	Invitation store.Invitation
	Existing   bool
}

// Open finds the invitation of a link and checks it can still be used.
func (s *Service) Open(ctx context.Context, tok string) (Opened, error) {
	if len(tok) > 100 {
		return Opened{}, store.ErrNotFound
	}
	inv, err := s.Store.InvitationByToken(ctx, TokenHash(tok))
	if err != nil {
		return Opened{}, err
	}
	if st := inv.State(s.Store.Now()); st != store.InvitationPending {
		return Opened{Invitation: inv}, &UnusableError{State: st}
	}
	if err := s.stillGrantable(inv, 0); err != nil {
		return Opened{Invitation: inv}, err
	}
	_, err = s.Store.UserByEmail(ctx, inv.Email)
	switch {
	case err == nil:
		return Opened{Invitation: inv, Existing: true}, nil
	case errors.Is(err, store.ErrNotFound):
		return Opened{Invitation: inv}, nil
	}
	return Opened{}, err
}

// stillGrantable checks, at acceptance, that the role is still there and that whoever sent
// the invitation may still give it: an invitation never outlives its sender's authority.
func (s *Service) stillGrantable(inv store.Invitation, userID int64) error {
	if inv.RoleID == 0 || !inv.RoleActive {
		return &UnusableError{State: store.InvitationPending, Reason: "The role it offers was deleted or made inactive."}
	}
	snap := s.Access.Now()
	if inv.InvitedBy == 0 || !snap.Can(inv.InvitedBy, inv.OrgID, rbac.PermStaffManage) ||
		snap.CheckAssignments(inv.InvitedBy, []rbac.Assignment{{UserID: userID, RoleID: inv.RoleID, OrgID: inv.OrgID}}) != nil {
		return &UnusableError{State: store.InvitationPending, Reason: "The person who sent it can no longer give this role."}
	}
	return nil
}

// AcceptNew accepts an invitation with a new account; problems are keyed by name and
// password. It returns the new user's id.
func (s *Service) AcceptNew(ctx context.Context, tok, name, password string) (int64, valid.Problems, error) {
	opened, err := s.Open(ctx, tok)
	if err != nil {
		return 0, nil, err
	}
	if opened.Existing {
		return 0, valid.Problems{"password": "An account with this email exists: enter its password."}, nil
	}
	p := valid.Problems{}
	name, msg := valid.Text(name, true, auth.MaxNameLen)
	p.Add("name", msg)
	inv := opened.Invitation
	p.Add("password", auth.CheckPasswordPolicy(password, inv.Email, name, inv.OrgName))
	if len(p) > 0 {
		return 0, p, nil
	}
	hash, err := auth.HashPassword(ctx, password)
	if err != nil {
		return 0, nil, err
	}
	id, err := s.Store.AcceptInvitation(ctx, TokenHash(tok), store.Acceptance{Name: name, PasswordHash: hash})
	return id, nil, s.acceptError(err)
}

// AcceptExisting accepts an invitation for user, who has proved their password.
func (s *Service) AcceptExisting(ctx context.Context, tok string, user store.User) error {
	opened, err := s.Open(ctx, tok)
	if err != nil {
		return err
	}
	if !strings.EqualFold(opened.Invitation.Email, user.Email) {
		return &UnusableError{State: store.InvitationPending, Reason: "It was sent to another email address."}
	}
	if err := s.stillGrantable(opened.Invitation, user.ID); err != nil {
		return err
	}
	_, err = s.Store.AcceptInvitation(ctx, TokenHash(tok), store.Acceptance{UserID: user.ID})
	return s.acceptError(err)
}

// AcceptWithIdentity accepts an invitation for whom the practice's identity provider vouched
// (a verified email, which must be the invitation's): the existing account of that email, or
// a new one named name (the invitation's name when the provider gave none), whose password
// nobody knows: it signs in through the provider. It returns the account's id.
func (s *Service) AcceptWithIdentity(ctx context.Context, tok, email, name string) (int64, error) {
	opened, err := s.Open(ctx, tok)
	if err != nil {
		return 0, err
	}
	inv := opened.Invitation
	if !strings.EqualFold(inv.Email, email) {
		return 0, &UnusableError{State: store.InvitationPending, Reason: "It was sent to " + inv.Email + ", not to " + email + "."}
	}
	if opened.Existing {
		u, err := s.Store.UserByEmail(ctx, inv.Email)
		if err != nil {
			return 0, err
		}
		return u.ID, s.AcceptExisting(ctx, tok, u)
	}
	name, msg := valid.Text(name, true, auth.MaxNameLen)
	if msg != "" {
		name = inv.Name
	}
	if name == "" {
		name = inv.Email
	}
	hash, err := auth.HashPassword(ctx, rand.Text()+rand.Text())
	if err != nil {
		return 0, err
	}
	id, err := s.Store.AcceptInvitation(ctx, TokenHash(tok), store.Acceptance{Name: name, PasswordHash: hash})
	return id, s.acceptError(err)
}

// acceptError turns a store refusal in the accepting transaction (another tab, a revoke or
// a role change in between) into an UnusableError.
func (s *Service) acceptError(err error) error {
	switch {
	case errors.Is(err, store.ErrInvitationClosed):
		return &UnusableError{State: store.InvitationAccepted, Reason: "It was used, revoked or expired a moment ago."}
	case errors.Is(err, store.ErrRoleUnavailable):
		return &UnusableError{State: store.InvitationPending, Reason: "The role it offers was deleted or made inactive."}
	case errors.Is(err, store.ErrEmailTaken):
		return &UnusableError{State: store.InvitationPending, Reason: "An account with this email was created meanwhile: open the link again and enter its password."}
	}
	return err
}
