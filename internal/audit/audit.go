// Package audit is the vocabulary and the proof of Rolegate's audit log: what an entry holds,
// its canonical form, the keyed chain that makes tampering visible, and who is acting on a
// request. The store appends
// entries in the same transaction as each change; this package knows nothing of SQL or HTTP.
//
// Each entry carries an HMAC-SHA-256, under a key kept outside the database, of the previous
// entry's MAC and its own canonical content. Whoever holds only the database (or a backup of
// it) can still drop the triggers and rewrite rows, but cannot compute the MACs that would
// make a rewritten, renumbered or forged entry verify.
package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// Actions recorded in the log. The dotted prefix is the kind of thing changed.
const (
	Setup              = "setup.complete"
	SignIn             = "auth.sign_in"
	SignInFailed       = "auth.sign_in_failed"
	SignOut            = "auth.sign_out"
	SessionsEnded      = "auth.sessions_ended"
	PasswordChanged    = "auth.password_changed"
	Denied             = "access.denied"
	RoleCreated        = "role.create"
	RoleUpdated        = "role.update"
	RoleDeleted        = "role.delete"
	AssignmentAdded    = "assignment.add"
	AssignmentRemoved  = "assignment.remove"
	OverrideSet        = "override.set"
	StaffAdded         = "staff.add"
	StaffDisabled      = "staff.disable"
	StaffEnabled       = "staff.enable"
	StaffRemoved       = "staff.remove"
	InvitationCreated  = "invitation.create"
	InvitationResent   = "invitation.resend"
	InvitationRevoked  = "invitation.revoke"
	InvitationAccepted = "invitation.accept"
	OrgCreated         = "org.create"
	OrgRenamed         = "org.rename"
	OrgMoved           = "org.move"
	OrgDefaultSet      = "org.default"
	SettingChanged     = "settings.change"
	// Rekeyed records that the log was (re-)sealed with a new audit key: the upgrade of a log
	// sealed the old unkeyed way, or a forced re-key after a broken chain or a lost key.
	Rekeyed = "audit.rekeyed"
	// EntryMissing stands in for an entry that was already missing when the log was re-keyed
	// by force, so the ids keep running without a gap and the gap stays on the record.
	EntryMissing = "audit.missing"
)

// Actions lists every action, for the filter of the audit page.
var Actions = []string{Setup, SignIn, SignInFailed, SignOut, SessionsEnded, PasswordChanged, Denied,
	RoleCreated, RoleUpdated, RoleDeleted, AssignmentAdded, AssignmentRemoved, OverrideSet,
	StaffAdded, StaffDisabled, StaffEnabled, StaffRemoved,
	InvitationCreated, InvitationResent, InvitationRevoked, InvitationAccepted,
	OrgCreated, OrgRenamed, OrgMoved, OrgDefaultSet, SettingChanged, Rekeyed, EntryMissing}

// Entry is one line of the log. Names are copied at the time of the change, so the log still
// reads right after a person or role is renamed or deleted.
type Entry struct {
	ID         int64
	At         int64 // Unix seconds
	ActorID    int64 // 0: nobody signed in (a failed sign-in, the system)
	ActorName  string
	OrgID      int64 // 0: not about one organisation
	OrgName    string
	Action     string
	TargetType string // user, role, organisation, invitation, setting, route…
	TargetID   int64
	TargetName string
	Before     json.RawMessage // nil when there was nothing before
	After      json.RawMessage // nil when nothing remains
	Client     string          // the client address of the request, when there was one
	PrevHash   []byte          // the previous entry's MAC (empty for the first entry)
	Hash       []byte          // this entry's MAC (a plain SHA-256 in a log not yet keyed)
}

// canonical is the fixed shape whose JSON the hash covers: field order is the struct's, and
// before/after are compacted, so the same content always gives the same bytes.
type canonical struct {
	ID         int64           `json:"id"`
	At         int64           `json:"at"`
	ActorID    int64           `json:"actor_id"`
	ActorName  string          `json:"actor_name"`
	OrgID      int64           `json:"org_id"`
	OrgName    string          `json:"org_name"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   int64           `json:"target_id"`
	TargetName string          `json:"target_name"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	Client     string          `json:"client"`
}

func compact(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 {
		return json.RawMessage("null"), nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Canonical is the entry's content as the MAC sees it.
func (e Entry) Canonical() ([]byte, error) {
	before, err := compact(e.Before)
	if err != nil {
		return nil, fmt.Errorf("audit: before of entry %d: %w", e.ID, err)
	}
	after, err := compact(e.After)
	if err != nil {
		return nil, fmt.Errorf("audit: after of entry %d: %w", e.ID, err)
	}
	return json.Marshal(canonical{e.ID, e.At, e.ActorID, e.ActorName, e.OrgID, e.OrgName, e.Action, e.TargetType,
		e.TargetID, e.TargetName, before, after, e.Client})
}

// KeySize is the length of an audit key: 32 random bytes, the block of HMAC-SHA-256's hash.
const KeySize = 32

// ErrNoKey is returned when an entry would be sealed or checked without a key, which would
// give a chain anyone can recompute.
var ErrNoKey = errors.New("audit: no audit key")

// Seal sets the entry's MAC from the previous entry's MAC and its own content, keyed with key.
// The previous MAC is fixed-length (or empty for the first entry), so the concatenation is
// unambiguous.
func (e *Entry) Seal(key, prev []byte) error {
	if len(key) == 0 {
		return ErrNoKey
	}
	c, err := e.Canonical()
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key)
	m.Write(prev)
	m.Write(c)
	e.PrevHash = append([]byte(nil), prev...)
	e.Hash = m.Sum(nil)
	return nil
}

// SealUnkeyed is the old recipe, a plain SHA-256 of the previous hash and the content. It is
// kept only to check a log written before keys, before it is re-keyed: anyone can compute it.
func (e *Entry) SealUnkeyed(prev []byte) error {
	c, err := e.Canonical()
	if err != nil {
		return err
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(c)
	e.PrevHash = append([]byte(nil), prev...)
	e.Hash = h.Sum(nil)
	return nil
}

// keyIDLabel is what KeyID MACs; any fixed text does, as long as it never changes.
const keyIDLabel = "rolegate audit key id"

// KeyID is the fingerprint of key stored in the database in place of the key: it tells that a
// key file is (or is not) the one the log was sealed with, and gives nothing away about it.
func KeyID(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(keyIDLabel))
	return m.Sum(nil)
}

// TamperedError names the first entry whose content or link does not match.
type TamperedError struct {
	ID     int64
	Reason string
}

func (e *TamperedError) Error() string {
	return fmt.Sprintf("audit: entry %d does not match: %s", e.ID, e.Reason)
}

// Verifier checks entries in order, one at a time, so a log of millions is verified without
// holding it in memory. Make one with NewVerifier; the zero Verifier refuses every entry.
type Verifier struct {
	key     []byte
	unkeyed bool
	prev    []byte
	lastID  int64
	n       int
}

// NewVerifier checks a log sealed with key.
func NewVerifier(key []byte) *Verifier {
	return &Verifier{key: append([]byte(nil), key...)}
}

// NewUnkeyedVerifier checks a log sealed the old unkeyed way (SealUnkeyed): it proves only
// that nobody edited the log clumsily, since anyone can reseal such a chain.
func NewUnkeyedVerifier() *Verifier { return &Verifier{unkeyed: true} }

// Check verifies the next entry; it returns a *TamperedError for the first mismatch.
func (v *Verifier) Check(e Entry) error {
	if !v.unkeyed && len(v.key) == 0 {
		return ErrNoKey
	}
	if e.ID != v.lastID+1 {
		return &TamperedError{ID: e.ID, Reason: fmt.Sprintf("entries %d to %d are missing", v.lastID+1, e.ID-1)}
	}
	if !bytes.Equal(e.PrevHash, v.prev) {
		return &TamperedError{ID: e.ID, Reason: "its link to the previous entry is broken"}
	}
	want := e
	var err error
	if v.unkeyed {
		err = want.SealUnkeyed(v.prev)
	} else {
		err = want.Seal(v.key, v.prev)
	}
	if err != nil {
		return &TamperedError{ID: e.ID, Reason: err.Error()}
	}
	if !hmac.Equal(want.Hash, e.Hash) {
		reason := "its content was changed"
		if !v.unkeyed {
			reason = "its MAC does not match: its content was changed, or it was sealed without the audit key"
		}
		return &TamperedError{ID: e.ID, Reason: reason}
	}
	v.prev, v.lastID = e.Hash, e.ID
	v.n++
	return nil
}

// Count is how many entries were verified.
func (v *Verifier) Count() int { return v.n }

// JSON marshals v for an entry's before or after; nil stays nil.
func JSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(fmt.Sprintf("%q", err.Error()))
	}
	return b
}

// Actor is who is acting on a request, carried through the context to the store.
type Actor struct {
	UserID int64
	Client string
}

type actorKey struct{}

// WithActor returns a context that says who is acting.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns who is acting, if the context says.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
