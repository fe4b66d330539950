package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
)

// ErrAlreadyInvited is returned when the person already has a pending invitation to the
// organisation (one of them at a time: resend it instead).
var ErrAlreadyInvited = errors.New("store: already invited to this organisation")

// ErrInvitationClosed is returned when an invitation was accepted, revoked or expired before
// the change could be made.
var ErrInvitationClosed = errors.New("store: invitation no longer pending")

// ErrRoleUnavailable is returned when an invitation's role was deleted or made inactive
// since it was sent.
var ErrRoleUnavailable = errors.New("store: the invitation's role is no longer available")

// InvitationState is where an invitation is in its life.
type InvitationState string

// The states of an invitation.
const (
	InvitationPending  InvitationState = "pending"
	InvitationExpired  InvitationState = "expired"
	InvitationAccepted InvitationState = "accepted"
	InvitationRevoked  InvitationState = "revoked"
)

// Invitation is an invitation with the names the pages show.
type Invitation struct {
	ID            int64
	Email         string
	Name          string
	OrgID         int64
	OrgName       string
	RoleID        int64 // 0 once the role is deleted
	RoleName      string
	RoleActive    bool
	InvitedBy     int64
	InvitedByName string
	CreatedAt     int64
	SentAt        int64
	ExpiresAt     int64
	AcceptedAt    int64
	RevokedAt     int64
	Until         int64 // when the role it gives ends (0: never)
}

// State says whether the invitation can still be accepted at now.
func (i Invitation) State(now time.Time) InvitationState {
	switch {
	case i.AcceptedAt != 0:
		return InvitationAccepted
	case i.RevokedAt != 0:
		return InvitationRevoked
	case now.Unix() >= i.ExpiresAt:
		return InvitationExpired
	}
	return InvitationPending
}

// NewInvitation is what inviting someone records.
type NewInvitation struct {
	TokenHash []byte
	Email     string
	Name      string
	OrgID     int64
	RoleID    int64
	InvitedBy int64
	ExpiresAt int64
	Until     int64 // when the role it gives ends (Unix seconds; 0: never)
}

// CreateInvitation records an invitation; ErrAlreadyInvited when one is pending for the
// same email and organisation.
func (s *Store) CreateInvitation(ctx context.Context, in NewInvitation) (int64, error) {
	var id int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		res, err := tx.ExecContext(ctx, `INSERT INTO invitations (token_hash, email, name, org_id, role_id, invited_by, created_at, sent_at, expires_at, until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.TokenHash, in.Email, in.Name, in.OrgID, in.RoleID, nullID(in.InvitedBy), now, now, in.ExpiresAt, nullID(in.Until))
		if isConstraint(err) {
			return ErrAlreadyInvited
		}
		if err != nil {
			return fmt.Errorf("store: create invitation: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.auditInvitation(ctx, tx, audit.InvitationCreated, in.InvitedBy, id, nil)
	})
	return id, err
}

// auditInvitation records a change to invitation id (never its token).
func (s *Store) auditInvitation(ctx context.Context, tx *sql.Tx, action string, actorID, id int64, before any) error {
	// InvitedBy names who sent it: an accepted invitation ties the new account to its inviter
	// (the guard never lets the one raise the other), so the log says who that was.
	var v struct {
		Email       string `json:"email"`
		Name        string `json:"name"`
		Role        string `json:"role"`
		Org         string `json:"org"`
		Expires     int64  `json:"expires_at"`
		Status      string `json:"status"`
		InvitedBy   string `json:"invited_by"`
		InvitedByID int64  `json:"invited_by_id"`
	}
	var orgID int64
	var accepted, revoked sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT i.email, i.name, coalesce(r.name, ''), o.name, i.expires_at, i.org_id, i.accepted_at, i.revoked_at,
		coalesce(u.name, ''), coalesce(i.invited_by, 0)
		FROM invitations i JOIN organisations o ON o.id = i.org_id LEFT JOIN roles r ON r.id = i.role_id LEFT JOIN users u ON u.id = i.invited_by
		WHERE i.id = ?`, id).
		Scan(&v.Email, &v.Name, &v.Role, &v.Org, &v.Expires, &orgID, &accepted, &revoked, &v.InvitedBy, &v.InvitedByID)
	if err != nil {
		return fmt.Errorf("store: audit invitation: %w", err)
	}
	v.Status = "pending"
	if accepted.Valid {
		v.Status = "accepted"
	} else if revoked.Valid {
		v.Status = "revoked"
	}
	return s.appendAudit(ctx, tx, audit.Entry{ActorID: actorID, OrgID: orgID, Action: action, TargetType: "invitation", TargetID: id,
		TargetName: v.Name + " <" + v.Email + ">", Before: audit.JSON(before), After: audit.JSON(v)})
}

const invitationSelect = `SELECT i.id, i.email, i.name, i.org_id, o.name, coalesce(i.role_id, 0), coalesce(r.name, ''), coalesce(r.active, 0),
	coalesce(i.invited_by, 0), coalesce(u.name, ''), i.created_at, i.sent_at, i.expires_at, coalesce(i.accepted_at, 0), coalesce(i.revoked_at, 0), coalesce(i.until, 0)
	FROM invitations i JOIN organisations o ON o.id = i.org_id LEFT JOIN roles r ON r.id = i.role_id LEFT JOIN users u ON u.id = i.invited_by`

func scanInvitation(row interface{ Scan(...any) error }) (Invitation, error) {
	var i Invitation
	err := row.Scan(&i.ID, &i.Email, &i.Name, &i.OrgID, &i.OrgName, &i.RoleID, &i.RoleName, &i.RoleActive,
		&i.InvitedBy, &i.InvitedByName, &i.CreatedAt, &i.SentAt, &i.ExpiresAt, &i.AcceptedAt, &i.RevokedAt, &i.Until)
	if errors.Is(err, sql.ErrNoRows) {
		return i, ErrNotFound
	}
	if err != nil {
		return i, fmt.Errorf("store: invitation: %w", err)
	}
	return i, nil
}

// InvitationByToken finds the invitation whose link carries the token hashed to hash.
func (s *Store) InvitationByToken(ctx context.Context, hash []byte) (Invitation, error) {
	return scanInvitation(s.r.QueryRowContext(ctx, invitationSelect+" WHERE i.token_hash = ?", hash))
}

// InvitationByID finds one invitation.
func (s *Store) InvitationByID(ctx context.Context, id int64) (Invitation, error) {
	return scanInvitation(s.r.QueryRowContext(ctx, invitationSelect+" WHERE i.id = ?", id))
}

// PendingInvitation finds the pending (possibly expired) invitation of email to orgID.
func (s *Store) PendingInvitation(ctx context.Context, orgID int64, email string) (Invitation, error) {
	return scanInvitation(s.r.QueryRowContext(ctx, invitationSelect+
		" WHERE i.org_id = ? AND i.email = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL", orgID, email))
}

// RenewInvitation gives a pending invitation a new token (the old link stops working) and
// a new expiry; ErrInvitationClosed when it was accepted or revoked meanwhile.
func (s *Store) RenewInvitation(ctx context.Context, id int64, hash []byte, expiresAt, actorID int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var was int64
		err := tx.QueryRowContext(ctx, `UPDATE invitations SET token_hash = ?, sent_at = ?, expires_at = ?
			WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL RETURNING (SELECT expires_at FROM invitations WHERE id = ?)`,
			hash, s.now().Unix(), expiresAt, id, id).Scan(&was)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvitationClosed
		}
		if err != nil {
			return fmt.Errorf("store: renew invitation: %w", err)
		}
		return s.auditInvitation(ctx, tx, audit.InvitationResent, actorID, id, map[string]int64{"expires_at": was})
	})
}

// RevokeInvitation withdraws a pending invitation; ErrInvitationClosed when it was accepted
// or revoked meanwhile.
func (s *Store) RevokeInvitation(ctx context.Context, id, by int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = ?, revoked_by = ?
			WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, s.now().Unix(), nullID(by), id)
		if err != nil {
			return fmt.Errorf("store: revoke invitation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrInvitationClosed
		}
		return s.auditInvitation(ctx, tx, audit.InvitationRevoked, by, id, map[string]string{"status": "pending"})
	})
}

// Acceptance says who accepts an invitation: an existing user (UserID), or a new account
// with the invitation's email.
type Acceptance struct {
	UserID       int64
	Name         string
	PasswordHash string
}

// AcceptInvitation uses the invitation once, in one transaction: it creates the account (or
// takes the existing user), makes them staff of the organisation with the role, and marks
// the invitation accepted. It returns the user's id; ErrInvitationClosed when the token is
// unknown, used, revoked or expired; ErrRoleUnavailable when the role is gone or inactive;
// ErrEmailTaken when a new account is asked for an email that has one.
func (s *Store) AcceptInvitation(ctx context.Context, hash []byte, a Acceptance) (int64, error) {
	userID := a.UserID
	err := s.withAccessTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		var id, orgID, invitedBy, until int64
		var roleID sql.NullInt64
		var email string
		err := tx.QueryRowContext(ctx, `UPDATE invitations SET accepted_at = ?
			WHERE token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
			RETURNING id, email, org_id, role_id, coalesce(invited_by, 0), coalesce(until, 0)`, now, hash, now).Scan(&id, &email, &orgID, &roleID, &invitedBy, &until)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvitationClosed
		}
		if err != nil {
			return fmt.Errorf("store: accept invitation: %w", err)
		}
		var active bool
		if roleID.Valid {
			if err := tx.QueryRowContext(ctx, "SELECT active FROM roles WHERE id = ?", roleID.Int64).Scan(&active); err != nil {
				return fmt.Errorf("store: accept invitation: role: %w", err)
			}
		}
		// A role whose end has come by the time the link is used gives nothing any more.
		if !active || until != 0 && until <= now {
			return ErrRoleUnavailable
		}
		if userID == 0 {
			res, err := tx.ExecContext(ctx, `INSERT INTO users (email, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				email, a.Name, a.PasswordHash, now, now)
			if isConstraint(err) {
				return ErrEmailTaken
			}
			if err != nil {
				return fmt.Errorf("store: accept invitation: user: %w", err)
			}
			if userID, err = res.LastInsertId(); err != nil {
				return err
			}
		} else {
			var same bool
			if err := tx.QueryRowContext(ctx, "SELECT email = ? FROM users WHERE id = ? AND status = 'active'", email, userID).Scan(&same); err != nil || !same {
				return ErrInvitationClosed
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE invitations SET accepted_by = ? WHERE id = ?", userID, id); err != nil {
			return fmt.Errorf("store: accept invitation: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO staff (user_id, org_id, created_at) VALUES (?, ?, ?)", userID, orgID, now); err != nil {
			return fmt.Errorf("store: accept invitation: staff: %w", err)
		}
		if err := s.giveRole(ctx, tx, invitedBy, userID, roleID.Int64, orgID, until); err != nil {
			return err
		}
		return s.auditInvitation(ctx, tx, audit.InvitationAccepted, userID, id, map[string]string{"status": "pending"})
	})
	if err != nil {
		return 0, err
	}
	return userID, nil
}
