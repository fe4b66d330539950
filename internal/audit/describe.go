package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file turns entries into what people read: a sentence ("Ana Ruiz gave María López the
// role Billing Staff in Northside Practice") and a plain diff ("+ View billing", "− Contact
// patient"). It is a pure function of the entries and the catalog's labels, so the audit page,
// the History panels and the exports say the same thing, and it never changes an entry: what
// is sealed stays as it was written. Everything it returns is plain text; pages escape it.

// ChangeKind says how one line of a diff reads.
type ChangeKind int

// The kinds of diff line.
const (
	Added   ChangeKind = iota // "+ View billing"
	Removed                   // "− Contact patient"
	Changed                   // "Name: Locum → Locum GP"
	Detail                    // "Browser: Firefox 130"
)

// Change is one line of an entry's diff. Added and Removed name what in Label; Changed reads
// "Label: From → To"; Detail reads "Label: To".
type Change struct {
	Kind  ChangeKind
	Label string
	From  string
	To    string
}

// String is the line as plain text, for exports and tests.
func (c Change) String() string {
	switch c.Kind {
	case Added:
		return "+ " + c.Label
	case Removed:
		return "− " + c.Label
	case Changed:
		return c.Label + ": " + c.From + " → " + c.To
	}
	if c.Label == "" {
		return c.To
	}
	return c.Label + ": " + c.To
}

// Summary is an entry (or a group of entries that record one change) in words.
type Summary struct {
	Sentence string
	Changes  []Change
}

// Text is the summary on one line, for the exports: the sentence with its diff in brackets,
// "Ana Ruiz changed the role Nurse in Northside Practice (+ View billing; − Contact patient)."
func (s Summary) Text() string {
	if len(s.Changes) == 0 {
		return s.Sentence
	}
	parts := make([]string, len(s.Changes))
	for i, c := range s.Changes {
		parts[i] = c.String()
	}
	return strings.TrimSuffix(s.Sentence, ".") + " (" + strings.Join(parts, "; ") + ")."
}

// Describer words entries. The zero value works: permission keys are shown as they are and
// times in UTC.
type Describer struct {
	// Label names a permission key ("billing.view" → "View billing"); nil shows the key.
	Label func(key string) string
	// Loc is the time zone of times inside entries (an invitation's expiry); nil is UTC.
	Loc *time.Location
}

var actionLabels = map[string]string{
	Setup:                "Portal set up",
	SignIn:               "Signed in",
	SignInFailed:         "Sign-in failed",
	SignOut:              "Signed out",
	SessionsEnded:        "Sessions ended",
	PasswordChanged:      "Password changed",
	PasswordCheckFailed:  "Wrong current password",
	TwoStepEnrolled:      "Two-step sign-in set up",
	TwoStepRemoved:       "Two-step sign-in turned off",
	PasskeyAdded:         "Passkey added",
	PasskeyRemoved:       "Passkey removed",
	RecoveryCodeUsed:     "Recovery code used",
	RecoveryCodesRenewed: "New recovery codes",
	TwoStepFailed:        "Wrong sign-in code",
	SSOFailed:            "Single sign-on failed",
	Denied:               "Request refused",
	RoleCreated:          "Role created",
	RoleUpdated:          "Role changed",
	RoleDeleted:          "Role deleted",
	AssignmentAdded:      "Role given",
	AssignmentRemoved:    "Role taken away",
	AssignmentChanged:    "Role's end changed",
	AssignmentExpired:    "Role ended",
	OverrideSet:          "Personal permission set",
	OverrideExpired:      "Personal permission ended",
	EmergencySettings:    "Emergency access settings",
	EmergencyStarted:     "Emergency access taken",
	EmergencyEnded:       "Emergency access ended",
	EmergencyReviewed:    "Emergency access reviewed",
	ReviewStarted:        "Access review started",
	ReviewDecided:        "Access review decision",
	ReviewCompleted:      "Access review complete",
	StaffAdded:           "Staff added",
	StaffDisabled:        "Account disabled",
	StaffEnabled:         "Account enabled",
	StaffRemoved:         "Removed from organisation",
	InvitationCreated:    "Invitation sent",
	InvitationResent:     "Invitation resent",
	InvitationRevoked:    "Invitation revoked",
	InvitationAccepted:   "Invitation accepted",
	OrgCreated:           "Organisation created",
	OrgRenamed:           "Organisation renamed",
	OrgMoved:             "Organisation moved",
	OrgDefaultSet:        "Organisation default set",
	SettingChanged:       "Setting changed",
	Rekeyed:              "Audit log re-sealed",
	EntryMissing:         "Missing entry",
	UserRenamed:          "Name changed",
	TokenCreated:         "API token created",
	TokenRevoked:         "API token revoked",
	AppCreated:           "Protected application added",
	AppUpdated:           "Protected application changed",
	AppRemoved:           "Protected application removed",
}

// ActionLabel names an action in plain words ("assignment.add" → "Role given"); an action this
// version does not know is shown as it is.
func ActionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	return clean(action)
}

// Group puts together adjacent entries (as the log lists them, newest first) that record one
// change: a role changed into another (its removal and the addition written with it), and a
// change recorded once in each organisation of the person it is about. Every other entry is a
// group of its own; the order is kept.
func Group(entries []Entry) [][]Entry {
	var out [][]Entry
	for i := 0; i < len(entries); {
		g := []Entry{entries[i]}
		i++
		for i < len(entries) && belongs(g, entries[i]) {
			g = append(g, entries[i])
			i++
		}
		out = append(out, g)
	}
	return out
}

func belongs(g []Entry, e Entry) bool {
	last := g[len(g)-1]
	if e.ID != last.ID-1 && e.ID != last.ID+1 {
		return false
	}
	same := e.At == last.At && e.ActorID == last.ActorID && e.TargetType == last.TargetType && e.TargetID == last.TargetID &&
		e.TargetName == last.TargetName && e.Client == last.Client
	if !same {
		return false
	}
	if len(g) == 1 && e.OrgID == last.OrgID && e.TargetType == "user" &&
		((e.Action == AssignmentRemoved && last.Action == AssignmentAdded) || (e.Action == AssignmentAdded && last.Action == AssignmentRemoved)) {
		return true // a role changed into another, in one step
	}
	if isRoleChange(g) {
		return false
	}
	return e.Action == last.Action && e.OrgID != last.OrgID && !slices.ContainsFunc(g, func(x Entry) bool { return x.OrgID == e.OrgID }) &&
		bytes.Equal(e.Before, last.Before) && bytes.Equal(e.After, last.After)
}

func isRoleChange(g []Entry) bool {
	return len(g) == 2 && g[0].Action != g[1].Action &&
		(g[0].Action == AssignmentAdded || g[0].Action == AssignmentRemoved)
}

// Describe words a group of entries (see Group; one entry is a group too).
func (d Describer) Describe(g ...Entry) Summary {
	if len(g) == 0 {
		return Summary{}
	}
	if isRoleChange(g) {
		add, rem := g[0], g[1]
		if add.Action != AssignmentAdded {
			add, rem = rem, add
		}
		from, to := object(rem.Before), object(add.After)
		s := Summary{Sentence: fmt.Sprintf("%s changed %s role%s from %s to %s.", actor(add), possessive(add), in(add, from.str("org")),
			roleName(from.str("role"), from.num("role_id")), roleName(to.str("role"), to.num("role_id")))}
		s.Changes = []Change{{Kind: Removed, Label: roleName(from.str("role"), from.num("role_id"))}, {Kind: Added, Label: roleName(to.str("role"), to.num("role_id"))}}
		return s
	}
	return d.describe(g[0])
}

// describe words one entry.
func (d Describer) describe(e Entry) Summary {
	before, after := object(e.Before), object(e.After)
	who := actor(e)
	var s Summary
	add := func(c ...Change) { s.Changes = append(s.Changes, c...) }
	switch e.Action {
	case Setup:
		s.Sentence = fmt.Sprintf("%s set up Rolegate with the organisation %s and became its global admin.", who, orElse(after.str("organisation"), clean(e.OrgName)))
		if v := after.str("email"); v != "" {
			add(Change{Kind: Detail, Label: "Email", To: v})
		}
	case SignIn:
		s.Sentence = fmt.Sprintf("%s signed in.", orElse(clean(e.TargetName), who))
		if v := after.str("user_agent"); v != "" {
			add(Change{Kind: Detail, Label: "Browser", To: v})
		}
	case SignInFailed:
		if e.TargetName != "" {
			s.Sentence = fmt.Sprintf("A sign-in as %s failed.", clean(e.TargetName))
		} else {
			s.Sentence = "A sign-in with an address that is not a valid email failed."
		}
	case SignOut:
		s.Sentence = fmt.Sprintf("%s signed out.", orElse(clean(e.TargetName), who))
	case SessionsEnded:
		switch {
		case before.has("session"):
			s.Sentence = fmt.Sprintf("%s ended one of %s sessions.", who, possessive(e))
		case self(e):
			s.Sentence = fmt.Sprintf("%s signed out everywhere.", who)
		default:
			s.Sentence = fmt.Sprintf("%s signed %s out everywhere.", who, target(e))
		}
		if n, ok := before.int("sessions"); ok {
			add(Change{Kind: Detail, Label: "Sessions ended", To: strconv.FormatInt(n, 10)})
		}
	case PasswordChanged:
		s.Sentence = fmt.Sprintf("%s changed %s password.", who, possessive(e))
	case PasswordCheckFailed:
		s.Sentence = fmt.Sprintf("A wrong current password was typed to change %s password.", possessiveOf(target(e)))
	case TwoStepEnrolled:
		s.Sentence = fmt.Sprintf("%s set up two-step sign-in with an authenticator app.", orElse(clean(e.TargetName), who))
	case TwoStepRemoved:
		if n, ok := after.int("passkeys_removed"); ok {
			add(Change{Kind: Detail, Label: "Passkeys removed", To: strconv.FormatInt(n, 10)})
		}
		if self(e) {
			s.Sentence = fmt.Sprintf("%s turned off two-step sign-in with an authenticator app.", who)
		} else {
			s.Sentence = fmt.Sprintf("%s turned off %s two-step sign-in.", who, possessiveOf(target(e)))
		}
	case PasskeyAdded:
		s.Sentence = fmt.Sprintf("%s added a passkey for signing in.", orElse(clean(e.TargetName), who))
		if n := after.str("name"); n != "" {
			add(Change{Kind: Detail, Label: "Passkey", To: n})
		}
	case PasskeyRemoved:
		if self(e) {
			s.Sentence = fmt.Sprintf("%s removed a passkey.", who)
		} else {
			s.Sentence = fmt.Sprintf("%s removed %s passkey.", who, possessiveOf(target(e)))
		}
		if n := before.str("name"); n != "" {
			add(Change{Kind: Detail, Label: "Passkey", To: n})
		}
	case RecoveryCodeUsed:
		s.Sentence = fmt.Sprintf("%s signed in with a recovery code.", orElse(clean(e.TargetName), who))
		if n, ok := after.int("remaining"); ok {
			add(Change{Kind: Detail, Label: "Recovery codes left", To: strconv.FormatInt(n, 10)})
		}
	case RecoveryCodesRenewed:
		s.Sentence = fmt.Sprintf("%s made a new set of recovery codes (the old ones no longer work).", orElse(clean(e.TargetName), who))
	case SSOFailed:
		if e.TargetName != "" {
			s.Sentence = fmt.Sprintf("A single sign-on as %s failed.", clean(e.TargetName))
		} else {
			s.Sentence = "A single sign-on failed."
		}
		if v := after.str("reason"); v != "" {
			add(Change{Kind: Detail, Label: "Reason", To: v})
		}
	case TwoStepFailed:
		s.Sentence = fmt.Sprintf("A wrong sign-in code was typed for %s, after the right password.", orElse(clean(e.TargetName), "someone"))
	case TokenCreated:
		s.Sentence = fmt.Sprintf("%s created the API token %s%s.", who, orElse(clean(e.TargetName), "#"+strconv.FormatInt(e.TargetID, 10)), in(e, ""))
		if v := after.str("scopes"); v != "" {
			add(Change{Kind: Detail, Label: "Scopes", To: v})
		}
		if v := after.str("expires"); v != "" {
			add(Change{Kind: Detail, Label: "Expires", To: v})
		}
	case TokenRevoked:
		s.Sentence = fmt.Sprintf("%s revoked the API token %s%s.", who, orElse(clean(e.TargetName), "#"+strconv.FormatInt(e.TargetID, 10)), in(e, ""))
	case AppCreated, AppUpdated, AppRemoved:
		verb := map[string]string{AppCreated: "added", AppUpdated: "changed", AppRemoved: "removed"}[e.Action]
		s.Sentence = fmt.Sprintf("%s %s the protected application %s%s.", who, verb, orElse(clean(e.TargetName), "#"+strconv.FormatInt(e.TargetID, 10)), in(e, ""))
		for _, f := range []struct{ key, label string }{{"name", "Name"}, {"rule", "Rule"}, {"organisation", "Organisation"}, {"permission", "Permission"},
			{"public", "Public paths"}, {"two_step", "Two-step sign-in"}, {"status", "Status"}} {
			b, a := before.str(f.key), after.str(f.key)
			if f.key == "permission" {
				if b != "" {
					b = d.label(b)
				}
				if a != "" {
					a = d.label(a)
				}
			}
			switch {
			case b != "" && a != "" && b != a:
				add(Change{Kind: Changed, Label: f.label, From: b, To: a})
			case a != "" && b == "":
				add(Change{Kind: Detail, Label: f.label, To: a})
			case b != "" && a == "" && e.Action == AppRemoved:
				add(Change{Kind: Detail, Label: f.label, To: b})
			case b != "" && a == "" && f.key == "public":
				add(Change{Kind: Changed, Label: f.label, From: b, To: "none"})
			case b != "" && a == "" && f.key == "two_step":
				add(Change{Kind: Changed, Label: f.label, From: b, To: "not required"})
			}
		}
	case UserRenamed:
		s.Sentence = fmt.Sprintf("%s changed %s name.", who, possessive(e))
		if b, a := before.str("name"), after.str("name"); b != a {
			add(Change{Kind: Changed, Label: "Name", From: b, To: a})
		}
	case Denied:
		s.Sentence = fmt.Sprintf("%s was refused %s.", who, orElse(clean(e.TargetName), "a request"))
		if v := after.str("missing_permission"); v != "" {
			add(Change{Kind: Detail, Label: "Missing permission", To: d.labels(v)})
		}
		if v := after.str("organisation"); v != "" {
			add(Change{Kind: Detail, Label: "In", To: v})
		}
		if v := after.str("reason"); v != "" {
			add(Change{Kind: Detail, Label: "Reason", To: v})
		}
	case RoleCreated:
		s.Sentence = fmt.Sprintf("%s created the role %s%s.", who, orElse(after.str("name"), target(e)), in(e, ""))
		if !after.bool("active", true) {
			add(Change{Kind: Detail, Label: "Status", To: "Inactive"})
		}
		for _, p := range after.strs("permissions") {
			add(Change{Kind: Added, Label: d.label(p)})
		}
	case RoleUpdated:
		s.Sentence = fmt.Sprintf("%s changed the role %s%s.", who, orElse(after.str("name"), target(e)), in(e, ""))
		if b, a := before.str("name"), after.str("name"); b != a {
			add(Change{Kind: Changed, Label: "Name", From: b, To: a})
		}
		if b, a := before.str("description"), after.str("description"); b != a {
			add(Change{Kind: Changed, Label: "Description", From: orElse(b, "(none)"), To: orElse(a, "(none)")})
		}
		if b, a := before.bool("active", true), after.bool("active", true); b != a {
			add(Change{Kind: Changed, Label: "Status", From: status(b), To: status(a)})
		}
		was, now := before.strs("permissions"), after.strs("permissions")
		for _, p := range now {
			if !slices.Contains(was, p) {
				add(Change{Kind: Added, Label: d.label(p)})
			}
		}
		for _, p := range was {
			if !slices.Contains(now, p) {
				add(Change{Kind: Removed, Label: d.label(p)})
			}
		}
	case RoleDeleted:
		name := orElse(before.str("name"), target(e))
		moved, old := after.obj("holders_moved_to"), after.num("holders_moved_to_role")
		switch {
		case moved != nil:
			to := roleName(moved.str("role"), moved.num("role_id"))
			s.Sentence = fmt.Sprintf("%s deleted the role %s%s and moved its holders to %s.", who, name, in(e, ""), to)
			for _, h := range after.strs("holders") {
				add(Change{Kind: Detail, Label: "Moved to " + to, To: h})
			}
		case old != "":
			// Entries written before the role's name was recorded beside its id.
			s.Sentence = fmt.Sprintf("%s deleted the role %s%s and moved its holders to role #%s.", who, name, in(e, ""), old)
		case after.has("holders_removed"):
			s.Sentence = fmt.Sprintf("%s deleted the role %s%s and took it from everyone who held it.", who, name, in(e, ""))
			for _, h := range after.strs("holders_removed") {
				add(Change{Kind: Removed, Label: h})
			}
		default:
			s.Sentence = fmt.Sprintf("%s deleted the role %s%s.", who, name, in(e, ""))
		}
		for _, p := range before.strs("permissions") {
			add(Change{Kind: Removed, Label: d.label(p)})
		}
	case AssignmentAdded:
		a := after
		s.Sentence = fmt.Sprintf("%s gave %s the role %s%s%s.", who, target(e), roleName(a.str("role"), a.num("role_id")), in(e, a.str("org")), d.until(a))
		add(Change{Kind: Added, Label: roleName(a.str("role"), a.num("role_id"))})
	case AssignmentChanged:
		a := after
		s.Sentence = fmt.Sprintf("%s changed when %s role %s%s ends.", who, possessive(e), roleName(a.str("role"), a.num("role_id")), in(e, a.str("org")))
		add(Change{Kind: Changed, Label: "Until", From: d.end(before), To: d.end(after)})
	case AssignmentExpired:
		b := before
		s.Sentence = fmt.Sprintf("The role %s%s of %s ended%s.", roleName(b.str("role"), b.num("role_id")), in(e, b.str("org")), target(e), d.at(b))
		add(Change{Kind: Removed, Label: roleName(b.str("role"), b.num("role_id"))})
	case EmergencySettings:
		state := func(f fields) string {
			if b, _ := f["enabled"].(bool); b {
				return "On"
			}
			return "Off"
		}
		s.Sentence = fmt.Sprintf("%s changed the emergency access of %s.", who, orElse(clean(e.OrgName), "an organisation"))
		add(Change{Kind: Changed, Label: "Emergency access", From: state(before), To: state(after)})
		for _, p := range after.strs("permissions") {
			if !slices.Contains(before.strs("permissions"), p) {
				add(Change{Kind: Added, Label: d.label(p)})
			}
		}
		for _, p := range before.strs("permissions") {
			if !slices.Contains(after.strs("permissions"), p) {
				add(Change{Kind: Removed, Label: d.label(p)})
			}
		}
		if a, b := after.num("max_minutes"), before.num("max_minutes"); a != b {
			add(Change{Kind: Changed, Label: "Longest use (minutes)", From: b, To: a})
		}
	case EmergencyStarted:
		s.Sentence = fmt.Sprintf("%s took emergency access%s%s.", target(e), in(e, ""), d.until(after))
		for _, p := range after.strs("permissions") {
			add(Change{Kind: Added, Label: d.label(p)})
		}
		add(Change{Kind: Detail, Label: "Reason", To: after.str("reason")})
	case EmergencyEnded:
		if by, _ := after["by_time"].(bool); by {
			s.Sentence = fmt.Sprintf("The emergency access of %s%s ended: its time was up.", target(e), in(e, ""))
		} else {
			s.Sentence = fmt.Sprintf("%s ended the emergency access of %s%s.", who, target(e), in(e, ""))
		}
		add(Change{Kind: Detail, Label: "Reason given", To: after.str("reason")})
	case EmergencyReviewed:
		verdict := "justified"
		if after.str("decision") == "not_justified" {
			verdict = "not justified"
		}
		s.Sentence = fmt.Sprintf("%s reviewed the emergency access of %s%s: %s.", who, target(e), in(e, ""), verdict)
		add(Change{Kind: Detail, Label: "Note", To: after.str("note")})
		add(Change{Kind: Detail, Label: "Reason given", To: after.str("reason")})
	case ReviewStarted:
		due := ""
		if u, ok := after.int("due_at"); ok && u > 0 {
			due = ", due " + d.time(u)
		}
		s.Sentence = fmt.Sprintf("%s started access review %s of %s: %s items%s.", who, after.num("review"), orElse(clean(e.OrgName), "an organisation"),
			orElse(after.num("items"), "0"), due)
		if n := after.num("every_days"); n != "" && n != "0" {
			add(Change{Kind: Detail, Label: "Repeats every (days)", To: n})
		}
	case ReviewDecided:
		verdict := "kept"
		if after.str("decision") == "revoke" {
			verdict = "revoked"
		}
		what := "role " + roleName(after.str("role"), after.num("role_id"))
		if after.str("kind") == "override" {
			what = "personal permission " + d.label(after.str("perm")) + " (" + effect(after.str("effect")) + ")"
		}
		s.Sentence = fmt.Sprintf("%s %s %s %s%s in access review %s.", who, verdict, possessive(e), what, in(e, after.str("org")), after.num("review"))
		if n := after.str("note"); n != "" {
			add(Change{Kind: Detail, Label: "Note", To: n})
		}
	case ReviewCompleted:
		s.Sentence = fmt.Sprintf("Access review %s of %s is complete: %s kept, %s revoked.", after.num("review"), orElse(clean(e.OrgName), "an organisation"),
			orElse(after.num("kept"), "0"), orElse(after.num("revoked"), "0"))
	case OverrideExpired:
		key := firstKey(without(before, "until"))
		s.Sentence = fmt.Sprintf("%s personal permission %s%s ended%s.", capital(possessive(e)), d.label(key), in(e, ""), d.at(before))
		add(Change{Kind: Changed, Label: d.label(key), From: effect(before.str(key)), To: effect("")})
	case AssignmentRemoved:
		b := before
		s.Sentence = fmt.Sprintf("%s took the role %s%s from %s.", who, roleName(b.str("role"), b.num("role_id")), in(e, b.str("org")), target(e))
		add(Change{Kind: Removed, Label: roleName(b.str("role"), b.num("role_id"))})
	case OverrideSet, OrgDefaultSet:
		key := firstKey(without(after, "until"), without(before, "until"))
		was, now := before.str(key), after.str(key)
		if e.Action == OverrideSet {
			s.Sentence = fmt.Sprintf("%s set %s personal permission %s%s to %s%s.", who, possessive(e), d.label(key), in(e, ""), effect(now), d.until(after))
		} else {
			s.Sentence = fmt.Sprintf("%s set the default of %s%s to %s.", who, d.label(key), in(e, ""), effect(now))
		}
		add(Change{Kind: Changed, Label: d.label(key), From: effect(was), To: effect(now)})
	case StaffAdded:
		s.Sentence = fmt.Sprintf("%s added %s to the staff%s.", who, target(e), ofOrg(e))
		if v := after.str("email"); v != "" {
			add(Change{Kind: Detail, Label: "Email", To: v})
		}
	case StaffDisabled, StaffEnabled:
		verb := "disabled"
		if e.Action == StaffEnabled {
			verb = "enabled"
		}
		s.Sentence = fmt.Sprintf("%s %s %s account.", who, verb, possessive(e))
		if b, a := before.str("status"), after.str("status"); b != "" || a != "" {
			add(Change{Kind: Changed, Label: "Status", From: capital(b), To: capital(a)})
		}
	case StaffRemoved:
		s.Sentence = fmt.Sprintf("%s removed %s from %s.", who, target(e), orElse(clean(e.OrgName), "an organisation"))
		for _, r := range before.strs("roles") {
			add(Change{Kind: Removed, Label: r})
		}
	case InvitationCreated, InvitationResent, InvitationRevoked, InvitationAccepted:
		person := orElse(after.str("name"), clean(e.TargetName))
		if em := after.str("email"); em != "" && after.str("name") != "" {
			person += " (" + em + ")"
		}
		role, org := roleName(after.str("role"), ""), orElse(after.str("org"), clean(e.OrgName))
		switch e.Action {
		case InvitationCreated:
			s.Sentence = fmt.Sprintf("%s invited %s to %s as %s.", who, person, org, role)
			if t, ok := after.int("expires_at"); ok {
				add(Change{Kind: Detail, Label: "Link valid until", To: d.time(t)})
			}
		case InvitationResent:
			s.Sentence = fmt.Sprintf("%s sent %s a new invitation link to %s.", who, person, org)
			b, okb := before.int("expires_at")
			a, oka := after.int("expires_at")
			if okb && oka {
				add(Change{Kind: Changed, Label: "Link valid until", From: d.time(b), To: d.time(a)})
			}
		case InvitationRevoked:
			s.Sentence = fmt.Sprintf("%s revoked the invitation of %s to %s.", who, person, org)
			add(Change{Kind: Changed, Label: "Status", From: "Pending", To: "Revoked"})
		case InvitationAccepted:
			s.Sentence = fmt.Sprintf("%s accepted the invitation to %s as %s.", who, org, role)
			if by := after.str("invited_by"); by != "" {
				add(Change{Kind: Detail, Label: "Invited by", To: by})
			}
		}
	case OrgCreated:
		name := orElse(after.str("name"), target(e))
		switch parent, id := after.str("parent"), after.num("parent_id"); {
		case parent != "":
			s.Sentence = fmt.Sprintf("%s created the organisation %s under %s.", who, name, parent)
		case id != "" && id != "0":
			// Entries written before the parent's name was recorded beside its id.
			s.Sentence = fmt.Sprintf("%s created the organisation %s under organisation #%s.", who, name, id)
		default:
			s.Sentence = fmt.Sprintf("%s created the top-level organisation %s.", who, name)
		}
	case OrgRenamed:
		b, a := before.str("name"), orElse(after.str("name"), target(e))
		s.Sentence = fmt.Sprintf("%s renamed the organisation %s to %s.", who, orElse(b, "?"), a)
		add(Change{Kind: Changed, Label: "Name", From: b, To: a})
	case OrgMoved:
		b, a := orElse(before.str("parent"), "the top level"), orElse(after.str("parent"), "the top level")
		s.Sentence = fmt.Sprintf("%s moved the organisation %s from under %s to under %s.", who, target(e), b, a)
		add(Change{Kind: Changed, Label: "Above it", From: b, To: a})
	case SettingChanged:
		key := firstKey(after, before)
		label := settingLabel(key)
		if e.TargetType == "organisation" {
			s.Sentence = fmt.Sprintf("%s changed %s of %s.", who, label, orElse(clean(e.TargetName), clean(e.OrgName)))
		} else {
			s.Sentence = fmt.Sprintf("%s changed the portal setting %s.", who, label)
		}
		add(Change{Kind: Changed, Label: label, From: settingValue(key, before, true), To: settingValue(key, after, false)})
	case Rekeyed:
		s.Sentence = "The audit log was sealed with a new audit key."
		if after.bool("forced", false) {
			s.Sentence = "The audit log was sealed with a new audit key by force."
		}
		if n, ok := after.int("entries"); ok {
			add(Change{Kind: Detail, Label: "Entries re-sealed", To: strconv.FormatInt(n, 10)})
		}
		if n, ok := after.int("first_broken_entry"); ok {
			add(Change{Kind: Detail, Label: "First broken entry", To: strconv.FormatInt(n, 10)})
		}
		if n, ok := after.int("missing_entries"); ok {
			add(Change{Kind: Detail, Label: "Entries already missing", To: strconv.FormatInt(n, 10)})
		}
	case EntryMissing:
		s.Sentence = fmt.Sprintf("Entry %d was already missing when the audit log was re-sealed.", e.TargetID)
	default:
		s.Sentence = fmt.Sprintf("%s: %s.", ActionLabel(e.Action), orElse(target(e), "no details"))
	}
	if (e.Before != nil && before == nil && string(e.Before) != "null") || (e.After != nil && after == nil && string(e.After) != "null") {
		add(Change{Kind: Detail, Label: "Details", To: "see the raw entry"})
	}
	return s
}

func (d Describer) label(key string) string {
	key = clean(key)
	if d.Label == nil {
		return key
	}
	return clean(d.Label(key))
}

// labels names "a or b" permission lists.
func (d Describer) labels(keys string) string {
	parts := strings.Split(keys, " or ")
	for i, p := range parts {
		parts[i] = d.label(p)
	}
	return strings.Join(parts, " or ")
}

// until says ", until <time>" for a grant with an end.
func (d Describer) until(f fields) string {
	if u, ok := f.int("until"); ok && u > 0 {
		return ", until " + d.time(u)
	}
	return ""
}

// at says " at <time>" for the end a grant had.
func (d Describer) at(f fields) string {
	if u, ok := f.int("until"); ok && u > 0 {
		return " at " + d.time(u)
	}
	return ""
}

// end names when a grant ends, or that it does not.
func (d Describer) end(f fields) string {
	if u, ok := f.int("until"); ok && u > 0 {
		return d.time(u)
	}
	return "No end"
}

func (d Describer) time(unix int64) string {
	loc := d.Loc
	if loc == nil {
		loc = time.UTC
	}
	return FormatTime(unix, loc)
}

// FormatTime is how the portal shows a moment: in loc, to the second, with the zone's
// abbreviation, e.g. "2026-03-04 14:05:09 CET".
func FormatTime(unix int64, loc *time.Location) string {
	return time.Unix(unix, 0).In(loc).Format("2006-01-02 15:04:05 MST")
}

// fields is a decoded before or after object; nil when there was none or it was no object.
type fields map[string]any

func object(raw json.RawMessage) fields {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

func (f fields) has(k string) bool { _, ok := f[k]; return ok }

func (f fields) str(k string) string {
	switch v := f[k].(type) {
	case string:
		return clean(v)
	case json.Number:
		return clean(v.String())
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// num is a number field as text ("" when there is none), so ids of any size read right.
func (f fields) num(k string) string {
	if v, ok := f[k].(json.Number); ok {
		return clean(v.String())
	}
	return ""
}

func (f fields) int(k string) (int64, bool) {
	v, ok := f[k].(json.Number)
	if !ok {
		return 0, false
	}
	n, err := v.Int64()
	return n, err == nil
}

func (f fields) bool(k string, def bool) bool {
	if v, ok := f[k].(bool); ok {
		return v
	}
	return def
}

func (f fields) strs(k string) []string {
	list, _ := f[k].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, clean(s))
		}
	}
	return out
}

func (f fields) obj(k string) fields {
	m, _ := f[k].(map[string]any)
	return m
}

// firstKey is the one key of a {key: value} before or after (overrides, defaults, settings).
// without is f less the key k.
func without(f fields, k string) fields {
	out := fields{}
	for key, v := range f {
		if key != k {
			out[key] = v
		}
	}
	return out
}

func firstKey(objs ...fields) string {
	for _, f := range objs {
		keys := make([]string, 0, len(f))
		for k := range f {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) > 0 {
			return keys[0]
		}
	}
	return ""
}

// maxText bounds any one name or value, so a long description cannot swamp the page.
const maxText = 200

// clean makes text from an entry fit to show: valid UTF-8, no control or bidirectional
// formatting characters (which could make a line read other than it is), at most maxText
// characters.
func clean(s string) string {
	var b strings.Builder
	n := 0
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		if r == utf8.RuneError && size <= 1 {
			r = '\uFFFD'
		}
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			r = ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029':
			continue
		}
		if n == maxText {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func actor(e Entry) string {
	switch {
	case e.ActorName != "":
		return clean(e.ActorName)
	case e.ActorID != 0:
		return "person #" + strconv.FormatInt(e.ActorID, 10)
	}
	return "Rolegate"
}

func target(e Entry) string {
	switch {
	case e.TargetName != "":
		return clean(e.TargetName)
	case e.TargetID != 0:
		return clean(e.TargetType) + " #" + strconv.FormatInt(e.TargetID, 10)
	}
	return ""
}

func self(e Entry) bool { return e.TargetType == "user" && e.ActorID != 0 && e.ActorID == e.TargetID }

// possessive is "their" when the actor acts on themselves, else "María López's".
func possessive(e Entry) string {
	if self(e) {
		return "their"
	}
	return possessiveOf(orElse(target(e), "someone"))
}

func possessiveOf(name string) string {
	if strings.HasSuffix(name, "s") {
		return name + "'"
	}
	return name + "'s"
}

// in is " in Northside Practice": the organisation named in the entry's data, else its own.
func in(e Entry, org string) string {
	if org = orElse(org, clean(e.OrgName)); org != "" {
		return " in " + org
	}
	return ""
}

func ofOrg(e Entry) string {
	if e.OrgName != "" {
		return " of " + clean(e.OrgName)
	}
	return ""
}

func roleName(name, id string) string {
	switch {
	case name != "":
		return name
	case id != "":
		return "role #" + id
	}
	return "a role"
}

func status(active bool) string {
	if active {
		return "Active"
	}
	return "Inactive"
}

func effect(v string) string {
	switch v {
	case "allow":
		return "Allow"
	case "deny":
		return "Deny"
	case "inherit", "":
		return "Inherit"
	}
	return v
}

func capital(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

var settingLabels = map[string]string{
	"role_mode":              "Role mode",
	"limit_visibility":       "Limit organisation members visibility",
	"two_step":               "Two-step sign-in",
	"sso_required":           "Sign in with the identity provider only",
	"session_idle_minutes":   "Idle timeout (minutes)",
	"session_absolute_hours": "Session length (hours)",
	"invitation_ttl_hours":   "Invitation link lifetime (hours)",
	"time_zone":              "Time zone",
}

func settingLabel(key string) string {
	if l, ok := settingLabels[key]; ok {
		return l
	}
	return clean(key)
}

// settingValue reads a setting's value in words; a value never set before reads "(not set)".
func settingValue(key string, f fields, before bool) string {
	v, ok := f[key]
	if !ok || v == nil {
		if before {
			return "(not set)"
		}
		return "(none)"
	}
	s := f.str(key)
	switch key {
	case "role_mode":
		switch s {
		case "many":
			return "Several roles per person"
		case "one":
			return "One role per person"
		}
	case "limit_visibility":
		switch s {
		case "true":
			return "Yes"
		case "false":
			return "No"
		}
	case "sso_required":
		switch s {
		case "true":
			return "Yes"
		case "false":
			return "No"
		}
	case "two_step":
		switch s {
		case "optional":
			return "Optional"
		case "admins":
			return "Required for admins"
		case "everyone":
			return "Required for everyone"
		}
	case "time_zone":
		if s == "" {
			return "the server's time zone"
		}
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

// RawJSON is before or after as people can read it: indented, with the <, > and & that
// encoding/json escapes (\u003c) shown as themselves, and nothing else changed. Text that is
// not JSON comes back as it is.
func RawJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if json.Indent(&b, unescapeHTML(raw), "", "  ") != nil {
		return strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// unescapeHTML turns \u003c, \u003e and \u0026 inside JSON strings back into <, > and &; an
// escaped backslash before "u003c" is left alone.
func unescapeHTML(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		if raw[i+1] == 'u' && i+6 <= len(raw) {
			switch strings.ToLower(string(raw[i+2 : i+6])) {
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			}
		}
		out = append(out, c, raw[i+1])
		i++
	}
	return out
}
