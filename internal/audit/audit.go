// Package audit is the vocabulary and the proof of Rolegate's audit log: what an entry holds,
// its canonical form, the keyed chain that makes tampering visible, checkpoints that make
// removing the newest entries visible, and who is acting on a request. The store appends
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
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Actions recorded in the log. The dotted prefix is the kind of thing changed.
const (
	Setup           = "setup.complete"
	SignIn          = "auth.sign_in"
	SignInFailed    = "auth.sign_in_failed"
	SignOut         = "auth.sign_out"
	SessionsEnded   = "auth.sessions_ended"
	PasswordChanged = "auth.password_changed"
	// PasswordCheckFailed is a wrong current password typed to change it: a stolen session
	// guessing the password it lacks.
	PasswordCheckFailed = "auth.password_check_failed"
	// TwoStepEnrolled, TwoStepRemoved, RecoveryCodeUsed and RecoveryCodesRenewed are the
	// second step of sign-in (an authenticator app and its recovery codes) set up, turned
	// off, a recovery code used instead of a code, and a new set of recovery codes made.
	TwoStepEnrolled      = "auth.two_step_enrolled"
	TwoStepRemoved       = "auth.two_step_removed"
	RecoveryCodeUsed     = "auth.recovery_code_used"
	RecoveryCodesRenewed = "auth.recovery_codes_renewed"
	// PasskeyAdded and PasskeyRemoved are a passkey or security key registered for signing
	// in, and one removed.
	PasskeyAdded   = "auth.passkey_added"
	PasskeyRemoved = "auth.passkey_removed"
	// TwoStepFailed is a wrong code typed at the second step, after a right password.
	TwoStepFailed = "auth.two_step_failed"
	// SSOFailed is a sign-in through the identity provider that signed nobody in (why is in
	// the entry: a state or nonce that did not match, no account with that email…).
	SSOFailed = "auth.sso_failed"
	// UserRenamed is a person changing their own name on the Account page.
	UserRenamed = "user.rename"
	// TokenCreated and TokenRevoked are API tokens made and ended (PRODUCT.md §2.9).
	TokenCreated = "token.create"
	TokenRevoked = "token.revoke"
	// AppCreated, AppUpdated and AppRemoved are protected applications (forward-auth) added,
	// changed (enabled or disabled) and removed.
	AppCreated        = "app.create"
	AppUpdated        = "app.update"
	AppRemoved        = "app.remove"
	Denied            = "access.denied"
	RoleCreated       = "role.create"
	RoleUpdated       = "role.update"
	RoleDeleted       = "role.delete"
	AssignmentAdded   = "assignment.add"
	AssignmentRemoved = "assignment.remove"
	// AssignmentChanged is a role someone holds given again with another end ("until"):
	// extended, shortened or made permanent. AssignmentExpired and OverrideExpired record,
	// once, that a time-bound grant ended (it granted nothing from its end on already).
	AssignmentChanged  = "assignment.change"
	AssignmentExpired  = "assignment.expire"
	OverrideSet        = "override.set"
	OverrideExpired    = "override.expire"
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
	// Emergency access (PRODUCT.md §2.11): an organisation's settings changed, a use started,
	// ended (by the person, an admin, or its time), and reviewed.
	EmergencySettings = "emergency.settings"
	EmergencyStarted  = "emergency.start"
	EmergencyEnded    = "emergency.end"
	EmergencyReviewed = "emergency.review"
	// Access reviews (PRODUCT.md §2.12): a review started (by a person or its schedule), an
	// item kept or revoked (a revoke also writes the removal itself, in the same transaction),
	// and the review complete once every item is decided.
	ReviewStarted   = "review.start"
	ReviewDecided   = "review.decide"
	ReviewCompleted = "review.complete"
	SettingChanged  = "settings.change"
	// Rekeyed records that the log was (re-)sealed with a new audit key: the upgrade of a log
	// sealed the old unkeyed way, or a forced re-key after a broken chain or a lost key.
	Rekeyed = "audit.rekeyed"
	// EntryMissing stands in for an entry that was already missing when the log was re-keyed
	// by force, so the ids keep running without a gap and the gap stays on the record.
	EntryMissing = "audit.missing"
)

// Actions lists every action, for the filter of the audit page.
var Actions = []string{Setup, SignIn, SignInFailed, SignOut, SessionsEnded, PasswordChanged, PasswordCheckFailed,
	TwoStepEnrolled, TwoStepRemoved, PasskeyAdded, PasskeyRemoved, RecoveryCodeUsed, RecoveryCodesRenewed, TwoStepFailed, SSOFailed, UserRenamed, TokenCreated, TokenRevoked,
	AppCreated, AppUpdated, AppRemoved, Denied,
	RoleCreated, RoleUpdated, RoleDeleted, AssignmentAdded, AssignmentRemoved, AssignmentChanged, AssignmentExpired, OverrideSet, OverrideExpired,
	StaffAdded, StaffDisabled, StaffEnabled, StaffRemoved,
	InvitationCreated, InvitationResent, InvitationRevoked, InvitationAccepted,
	OrgCreated, OrgRenamed, OrgMoved, OrgDefaultSet, EmergencySettings, EmergencyStarted, EmergencyEnded, EmergencyReviewed,
	ReviewStarted, ReviewDecided, ReviewCompleted, SettingChanged, Rekeyed, EntryMissing}

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

// TruncatedError says that the log ends before the entry a checkpoint recorded: the newest
// entries were removed, which the chain alone cannot show.
type TruncatedError struct {
	Last       int64 // the newest entry in the log (0: none)
	Checkpoint Checkpoint
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("audit: entries %d to %d were removed: the log ends at entry %d, but %s has %d entries",
		e.Last+1, e.Checkpoint.Entries, e.Last, e.Checkpoint.describe(), e.Checkpoint.Entries)
}

// Verifier checks entries in order, one at a time, so a log of millions is verified without
// holding it in memory. Make one with NewVerifier; the zero Verifier refuses every entry.
type Verifier struct {
	key     []byte
	unkeyed bool
	expect  []Checkpoint
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

// Expect adds checkpoints the log must agree with: the entry each one names must be there
// with exactly its MAC. Finish reports a log that ends before one of them.
func (v *Verifier) Expect(cps ...Checkpoint) { v.expect = append(v.expect, cps...) }

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
	for _, cp := range v.expect {
		if cp.Entries == e.ID && !hmac.Equal(cp.Head, e.Hash) {
			return &TamperedError{ID: e.ID, Reason: fmt.Sprintf("its MAC is not the one %s recorded: the log up to it was "+
				"re-sealed since, or the checkpoint is another database's", cp.describe())}
		}
	}
	v.prev, v.lastID = e.Hash, e.ID
	v.n++
	return nil
}

// Finish is called after the last entry: it returns a *TruncatedError when a checkpoint names
// an entry the log no longer has.
func (v *Verifier) Finish() error {
	for _, cp := range v.expect {
		if cp.Entries > v.lastID {
			return &TruncatedError{Last: v.lastID, Checkpoint: cp}
		}
	}
	return nil
}

// Count is how many entries were verified.
func (v *Verifier) Count() int { return v.n }

// Checkpoint is the newest entry's number and MAC at one moment, kept outside the database (in
// the server's log, a ticket, an email). The chain shows any change to the entries it holds,
// but not that the newest ones were removed; a checkpoint does: every entry up to Entries must
// still be there, ending in exactly Head.
type Checkpoint struct {
	Entries int64     // the number (and id) of the newest entry; ids run from 1 without gaps
	Head    []byte    // that entry's MAC
	At      time.Time // when it was taken; informative
}

const checkpointPrefix = "rolegate-audit-checkpoint"

// String is the one-line form printed by `rolegate audit checkpoint`, logged by the server and
// read back by ParseCheckpoint, e.g.
// "rolegate-audit-checkpoint v1 entries=1234 head=<hex MAC> at=2026-12-02T07:00:00Z".
func (c Checkpoint) String() string {
	s := fmt.Sprintf("%s v1 entries=%d head=%x", checkpointPrefix, c.Entries, c.Head)
	if !c.At.IsZero() {
		s += " at=" + c.At.UTC().Format(time.RFC3339)
	}
	return s
}

func (c Checkpoint) describe() string {
	if c.At.IsZero() {
		return "the checkpoint"
	}
	return "the checkpoint of " + c.At.UTC().Format(time.RFC3339)
}

// ParseCheckpoint reads a checkpoint line. It finds the line inside whatever surrounds it, so a
// whole log line (JSON or text) pasted from the server's log is accepted as it is.
func ParseCheckpoint(s string) (Checkpoint, error) {
	i := strings.Index(s, checkpointPrefix+" ")
	if i < 0 {
		return Checkpoint{}, fmt.Errorf("audit: %q is not a checkpoint: want a line such as %q", s,
			checkpointPrefix+" v1 entries=1234 head=… at=2026-12-02T07:00:00Z")
	}
	line := s[i:]
	if j := strings.IndexAny(line, "\"\r\n"); j >= 0 {
		line = line[:j]
	}
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[1] != "v1" {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint %q: want version v1", line)
	}
	var c Checkpoint
	seen := map[string]bool{}
	for _, f := range fields[2:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || seen[k] {
			return Checkpoint{}, fmt.Errorf("audit: checkpoint %q: %q is not a single key=value", line, f)
		}
		seen[k] = true
		var err error
		switch k {
		case "entries":
			c.Entries, err = strconv.ParseInt(v, 10, 64)
			if err == nil && c.Entries < 0 {
				err = errors.New("negative")
			}
		case "head":
			c.Head, err = hex.DecodeString(v)
		case "at":
			c.At, err = time.Parse(time.RFC3339, v)
		default:
			err = errors.New("unknown field")
		}
		if err != nil {
			return Checkpoint{}, fmt.Errorf("audit: checkpoint %q: %s: %w", line, k, err)
		}
	}
	if !seen["entries"] || !seen["head"] {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint %q: entries= and head= are required", line)
	}
	if (c.Entries == 0) != (len(c.Head) == 0) || (c.Entries > 0 && len(c.Head) != sha256.Size) {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint %q: head must be a %d-byte MAC in hex (none for 0 entries)", line, sha256.Size)
	}
	return c, nil
}

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
	// Via names the API token the person acts through: the entry's actor then reads
	// "Ana Ruiz via token HR sync".
	Via string
	// StepUpDue: the person acts in a session whose second step of signing in was passed
	// more than StepUpAge ago; dangerous actions ask for it again (ErrStepUp).
	StepUpDue bool
}

// StepUpAge is how long a second step of signing in counts as fresh for dangerous actions.
const StepUpAge = 10 * time.Minute

// ErrStepUp refuses a dangerous action until the person passes the second step again.
var ErrStepUp = errors.New("a fresh second step of signing in is needed for this")

// RequireFresh is ErrStepUp when the actor of ctx must pass the second step again first.
func RequireFresh(ctx context.Context) error {
	if ActorFrom(ctx).StepUpDue {
		return ErrStepUp
	}
	return nil
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
