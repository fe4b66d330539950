package audit_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rolegate/rolegate/internal/audit"
)

// labels stands in for the catalog: the labels of the keys the cases use.
var labels = map[string]string{
	"patients.view": "View patient data", "patients.contact": "Contact patient", "billing.view": "View billing",
	"billing.manage": "Manage billing", "roles.manage": "Edit roles and permissions", "scheduling.access": "Access scheduling",
}

func describer(t testing.TB) audit.Describer {
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	return audit.Describer{Label: func(k string) string {
		if l, ok := labels[k]; ok {
			return l
		}
		return k
	}, Loc: loc}
}

// entry is one realistic entry: Ana Ruiz acting in Northside Practice on María López.
// app is an entry about the protected application "Wiki".
func app(action, before, after string) audit.Entry {
	e := entry(action, "app", before, after)
	e.TargetID, e.TargetName = 4, "Wiki"
	return e
}

// token is an entry about the API token "EHR bridge", made through another token.
func token(action, after string) audit.Entry {
	e := entry(action, "token", "", after)
	e.TargetID, e.TargetName, e.ActorName = 3, "EHR bridge", "Ana Ruiz via token HR sync"
	return e
}

// self5 makes e the act of María López (user 5) on herself.
func self5(e audit.Entry) audit.Entry {
	e.ActorID, e.ActorName = 5, "María López"
	return e
}

func entry(action, targetType string, before, after string) audit.Entry {
	e := audit.Entry{ID: 40, At: 1_767_225_600, ActorID: 1, ActorName: "Ana Ruiz", OrgID: 1, OrgName: "Northside Practice", Action: action,
		TargetType: targetType, Client: "192.0.2.7"}
	switch targetType {
	case "user":
		e.TargetID, e.TargetName = 5, "María López"
	case "role":
		e.TargetID, e.TargetName = 9, "Billing Staff"
	case "organisation":
		e.TargetID, e.TargetName = 2, "Eastside Clinic"
	}
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return e
}

func TestDescribeEveryAction(t *testing.T) {
	signIn := entry(audit.SignIn, "user", "", `{"user_agent":"Mozilla/5.0 Firefox/130.0"}`)
	signIn.ActorID, signIn.ActorName, signIn.TargetID = 5, "María López", 5
	signOut := entry(audit.SignOut, "user", "", "")
	signOut.ActorID, signOut.ActorName, signOut.TargetID, signOut.OrgID, signOut.OrgName = 5, "María López", 5, 0, ""
	failed := entry(audit.SignInFailed, "user", "", "")
	failed.ActorID, failed.ActorName, failed.TargetName, failed.OrgID, failed.OrgName = 0, "", "maria@northside.example", 0, ""
	failedBad := failed
	failedBad.TargetName = ""
	password := entry(audit.PasswordChanged, "user", "", "")
	password.ActorID, password.ActorName, password.TargetID = 5, "María López", 5
	renamed := entry(audit.UserRenamed, "user", `{"name":"María Lopez"}`, `{"name":"María López"}`)
	renamed.ActorID, renamed.ActorName, renamed.TargetID = 5, "María López", 5
	checkFailed := entry(audit.PasswordCheckFailed, "user", "", "")
	checkFailed.ActorID, checkFailed.ActorName = 0, ""
	oneSession := entry(audit.SessionsEnded, "user", `{"session":12}`, "")
	oneSession.ActorID, oneSession.ActorName, oneSession.TargetID = 5, "María López", 5
	denied := entry(audit.Denied, "route", "", `{"method":"GET","missing_permission":"roles.manage"}`)
	denied.ActorName, denied.TargetName = "Ζωή Παπαδοπούλου", "/roles"
	accepted := entry(audit.InvitationAccepted, "invitation", `{"status":"pending"}`,
		`{"email":"zoe@northside.example","name":"Ζωή","role":"ممرضة","org":"Northside Practice","expires_at":1767830400,"status":"accepted","invited_by":"Ana Ruiz","invited_by_id":1}`)
	accepted.ActorID, accepted.ActorName = 6, "Ζωή"
	orgSetting := entry(audit.SettingChanged, "organisation", `{"role_mode":"many"}`, `{"role_mode":"one"}`)
	portalSetting := entry(audit.SettingChanged, "setting", `{"time_zone":null}`, `{"time_zone":"Europe/Madrid"}`)
	portalSetting.OrgID, portalSetting.OrgName, portalSetting.TargetName = 0, "", "time_zone"
	rekeyed := entry(audit.Rekeyed, "audit_log", "", `{"entries":1234,"key_id":"ab","unkeyed_head":"cd"}`)
	rekeyed.ActorID, rekeyed.ActorName, rekeyed.OrgID, rekeyed.OrgName = 0, "", 0, ""
	missing := entry(audit.EntryMissing, "audit_log", "", `{"missing":"not in the log when it was re-keyed"}`)
	missing.ActorID, missing.ActorName, missing.TargetID = 0, "", 17
	setup := entry(audit.Setup, "user", "", `{"organisation":"Northside Practice","admin":"Ana Ruiz","email":"ana@northside.example","global_admin":true}`)
	setup.TargetID, setup.TargetName = 1, "Ana Ruiz"
	const role = `{"code":"BILLING_LEAD","name":"Billing Lead","description":"","active":true,"permissions":["billing.view","patients.contact","patients.view"],"holders":2}`

	cases := []struct {
		name     string
		e        audit.Entry
		sentence string
		changes  []string
	}{
		{"setup", setup, "Ana Ruiz set up Rolegate with the organisation Northside Practice and became its global admin.",
			[]string{"Email: ana@northside.example"}},
		{"sign in", signIn, "María López signed in.", []string{"Browser: Mozilla/5.0 Firefox/130.0"}},
		{"sign-in failed", failed, "A sign-in as maria@northside.example failed.", nil},
		{"sign-in failed, no address", failedBad, "A sign-in with an address that is not a valid email failed.", nil},
		{"sign out", signOut, "María López signed out.", nil},
		{"one session ended", oneSession, "María López ended one of their sessions.", nil},
		{"signed out everywhere by someone else", entry(audit.SessionsEnded, "user", `{"sessions":3}`, ""),
			"Ana Ruiz signed María López out everywhere.", []string{"Sessions ended: 3"}},
		{"two-step set up", entry(audit.TwoStepEnrolled, "user", "", `{"recovery_codes":10}`), "María López set up two-step sign-in with an authenticator app.", nil},
		{"two-step turned off by oneself", self5(entry(audit.TwoStepRemoved, "user", "", "")), "María López turned off two-step sign-in with an authenticator app.", nil},
		{"two-step turned off by an admin", entry(audit.TwoStepRemoved, "user", "", `{"passkeys_removed":2}`), "Ana Ruiz turned off María López's two-step sign-in.",
			[]string{"Passkeys removed: 2"}},
		{"passkey added", entry(audit.PasskeyAdded, "user", "", `{"name":"Work laptop","recovery_codes":10}`), "María López added a passkey for signing in.",
			[]string{"Passkey: Work laptop"}},
		{"passkey removed by oneself", self5(entry(audit.PasskeyRemoved, "user", `{"name":"Blue key"}`, "")), "María López removed a passkey.", []string{"Passkey: Blue key"}},
		{"passkey removed by an admin", entry(audit.PasskeyRemoved, "user", `{"name":"Blue key"}`, ""), "Ana Ruiz removed María López's passkey.", []string{"Passkey: Blue key"}},
		{"recovery code used", self5(entry(audit.RecoveryCodeUsed, "user", "", `{"remaining":9}`)), "María López signed in with a recovery code.",
			[]string{"Recovery codes left: 9"}},
		{"recovery codes renewed", self5(entry(audit.RecoveryCodesRenewed, "user", "", "")),
			"María López made a new set of recovery codes (the old ones no longer work).", nil},
		{"sso failed", func() audit.Entry {
			e := entry(audit.SSOFailed, "user", "", `{"reason":"no active account has the email zoe@northside.example"}`)
			e.ActorID, e.ActorName, e.TargetID, e.TargetName = 0, "", 0, "zoe@northside.example"
			return e
		}(), "A single sign-on as zoe@northside.example failed.", []string{"Reason: no active account has the email zoe@northside.example"}},
		{"wrong code", entry(audit.TwoStepFailed, "user", "", ""), "A wrong sign-in code was typed for María López, after the right password.", nil},
		{"password changed", password, "María López changed their password.", nil},
		{"password check failed", checkFailed, "A wrong current password was typed to change María López's password.", nil},
		{"renamed", renamed, "María López changed their name.", []string{"Name: María Lopez → María López"}},
		{"token created", token(audit.TokenCreated, `{"scopes":"check,read","expires":"2026-04-01"}`),
			"Ana Ruiz via token HR sync created the API token EHR bridge in Northside Practice.", []string{"Scopes: check,read", "Expires: 2026-04-01"}},
		{"token revoked", token(audit.TokenRevoked, ""), "Ana Ruiz via token HR sync revoked the API token EHR bridge in Northside Practice.", nil},
		{"app added", app(audit.AppCreated, "", `{"rule":"wiki.clinic.example/docs","permission":"billing.view","public":"/docs/health","status":"enabled"}`),
			"Ana Ruiz added the protected application Wiki in Northside Practice.",
			[]string{"Rule: wiki.clinic.example/docs", "Permission: View billing", "Public paths: /docs/health", "Status: enabled"}},
		{"app disabled", app(audit.AppUpdated, `{"status":"enabled"}`, `{"status":"disabled"}`),
			"Ana Ruiz changed the protected application Wiki in Northside Practice.", []string{"Status: enabled → disabled"}},
		{"app edited", app(audit.AppUpdated, `{"name":"Wiki","rule":"wiki.clinic.example/","organisation":"Northside Practice","permission":"patients.contact","public":"/health","status":"enabled"}`,
			`{"name":"Clinic wiki","rule":"wiki.clinic.example/","organisation":"Eastside","permission":"billing.view","status":"enabled"}`),
			"Ana Ruiz changed the protected application Wiki in Northside Practice.",
			[]string{"Name: Wiki → Clinic wiki", "Organisation: Northside Practice → Eastside", "Permission: Contact patient → View billing", "Public paths: /health → none"}},
		{"app removed", app(audit.AppRemoved, `{"rule":"wiki.clinic.example/","permission":"billing.view"}`, ""),
			"Ana Ruiz removed the protected application Wiki in Northside Practice.", []string{"Rule: wiki.clinic.example/", "Permission: View billing"}},
		{"denied", denied, "Ζωή Παπαδοπούλου was refused /roles.", []string{"Missing permission: Edit roles and permissions"}},
		{"role created", entry(audit.RoleCreated, "role", "", role), "Ana Ruiz created the role Billing Lead in Northside Practice.",
			[]string{"+ View billing", "+ Contact patient", "+ View patient data"}},
		{"role changed", entry(audit.RoleUpdated, "role", role,
			`{"code":"BILLING_LEAD","name":"Billing Lead <Nord>","description":"Claims & invoices","active":false,"permissions":["billing.manage","billing.view","patients.view"],"holders":2}`),
			"Ana Ruiz changed the role Billing Lead <Nord> in Northside Practice.",
			[]string{"Name: Billing Lead → Billing Lead <Nord>", "Description: (none) → Claims & invoices", "Status: Active → Inactive",
				"+ Manage billing", "− Contact patient"}},
		{"role deleted, holders moved", entry(audit.RoleDeleted, "role", role,
			`{"holders_moved_to":{"role_id":7,"role":"Billing Staff"},"holders":["María López in Northside Practice"]}`),
			"Ana Ruiz deleted the role Billing Lead in Northside Practice and moved its holders to Billing Staff.",
			[]string{"Moved to Billing Staff: María López in Northside Practice", "− View billing", "− Contact patient", "− View patient data"}},
		{"role deleted, an old entry naming the role by id", entry(audit.RoleDeleted, "role", role, `{"holders_moved_to_role":7}`),
			"Ana Ruiz deleted the role Billing Lead in Northside Practice and moved its holders to role #7.",
			[]string{"− View billing", "− Contact patient", "− View patient data"}},
		{"role deleted, holders removed", entry(audit.RoleDeleted, "role", role, `{"holders_removed":["María López in Northside Practice"]}`),
			"Ana Ruiz deleted the role Billing Lead in Northside Practice and took it from everyone who held it.",
			[]string{"− María López in Northside Practice", "− View billing", "− Contact patient", "− View patient data"}},
		{"role given", entry(audit.AssignmentAdded, "user", "", `{"role_id":9,"role":"Billing Staff","org_id":1,"org":"Northside Practice"}`),
			"Ana Ruiz gave María López the role Billing Staff in Northside Practice.", []string{"+ Billing Staff"}},
		{"role taken", entry(audit.AssignmentRemoved, "user", `{"role_id":3,"role":"مسؤول الفواتير","org_id":1,"org":"Northside Practice"}`, ""),
			"Ana Ruiz took the role مسؤول الفواتير in Northside Practice from María López.", []string{"− مسؤول الفواتير"}},
		{"role given until", entry(audit.AssignmentAdded, "user", "", `{"role_id":9,"role":"Locum","org_id":1,"org":"Northside Practice","until":1769904000}`),
			"Ana Ruiz gave María López the role Locum in Northside Practice, until 2026-02-01 01:00:00 CET.", []string{"+ Locum"}},
		{"role extended", entry(audit.AssignmentChanged, "user", `{"role_id":9,"role":"Locum","org_id":1,"org":"Northside Practice","until":1769904000}`,
			`{"role_id":9,"role":"Locum","org_id":1,"org":"Northside Practice","until":1770508800}`),
			"Ana Ruiz changed when María López's role Locum in Northside Practice ends.", []string{"Until: 2026-02-01 01:00:00 CET → 2026-02-08 01:00:00 CET"}},
		{"role made permanent", entry(audit.AssignmentChanged, "user", `{"role_id":9,"role":"Locum","org_id":1,"org":"Northside Practice","until":1769904000}`,
			`{"role_id":9,"role":"Locum","org_id":1,"org":"Northside Practice"}`),
			"Ana Ruiz changed when María López's role Locum in Northside Practice ends.", []string{"Until: 2026-02-01 01:00:00 CET → No end"}},
		{"role ended", entry(audit.AssignmentExpired, "user", `{"role_id":9,"role":"Locum","org_id":1,"org":"Northside Practice","until":1769904000}`, ""),
			"The role Locum in Northside Practice of María López ended at 2026-02-01 01:00:00 CET.", []string{"− Locum"}},
		{"emergency settings", entry(audit.EmergencySettings, "organisation", `{"enabled":false,"permissions":[],"max_minutes":240}`,
			`{"enabled":true,"permissions":["patients.contact","billing.view"],"max_minutes":120}`),
			"Ana Ruiz changed the emergency access of Northside Practice.",
			[]string{"Emergency access: Off → On", "+ Contact patient", "+ View billing", "Longest use (minutes): 240 → 120"}},
		{"emergency taken", entry(audit.EmergencyStarted, "user", "", `{"permissions":["billing.view"],"reason":"Patient collapsed at reception","until":1769904000}`),
			"María López took emergency access in Northside Practice, until 2026-02-01 01:00:00 CET.",
			[]string{"+ View billing", "Reason: Patient collapsed at reception"}},
		{"emergency ended by an admin", entry(audit.EmergencyEnded, "user", "", `{"ended_at":1769900000,"use":3,"reason":"Patient collapsed"}`),
			"Ana Ruiz ended the emergency access of María López in Northside Practice.", []string{"Reason given: Patient collapsed"}},
		{"emergency ended by its time", entry(audit.EmergencyEnded, "user", "", `{"ended_at":1769900000,"by_time":true,"use":3,"reason":"Patient collapsed"}`),
			"The emergency access of María López in Northside Practice ended: its time was up.", []string{"Reason given: Patient collapsed"}},
		{"emergency reviewed", entry(audit.EmergencyReviewed, "user", "", `{"decision":"not_justified","note":"No patient was seen","use":3,"reason":"Patient collapsed"}`),
			"Ana Ruiz reviewed the emergency access of María López in Northside Practice: not justified.",
			[]string{"Note: No patient was seen", "Reason given: Patient collapsed"}},
		{"review started", entry(audit.ReviewStarted, "organisation", "", `{"review":4,"items":120,"due_at":1769904000,"every_days":90}`),
			"Ana Ruiz started access review 4 of Northside Practice: 120 items, due 2026-02-01 01:00:00 CET.", []string{"Repeats every (days): 90"}},
		{"review kept a role", entry(audit.ReviewDecided, "user", "", `{"review":4,"item":7,"decision":"keep","kind":"assignment","role_id":9,"role":"Nurse","org":"Eastside Clinic"}`),
			"Ana Ruiz kept María López's role Nurse in Eastside Clinic in access review 4.", nil},
		{"review revoked an override", entry(audit.ReviewDecided, "user", "", `{"review":4,"item":8,"decision":"revoke","kind":"override","perm":"billing.view","effect":"allow","note":"Left billing"}`),
			"Ana Ruiz revoked María López's personal permission View billing (Allow) in Northside Practice in access review 4.", []string{"Note: Left billing"}},
		{"review complete", entry(audit.ReviewCompleted, "organisation", "", `{"review":4,"kept":118,"revoked":2}`),
			"Access review 4 of Northside Practice is complete: 118 kept, 2 revoked.", nil},
		{"override ended", entry(audit.OverrideExpired, "user", `{"billing.view":"allow","until":1769904000}`, ""),
			"María López's personal permission View billing in Northside Practice ended at 2026-02-01 01:00:00 CET.", []string{"View billing: Allow → Inherit"}},
		{"override", entry(audit.OverrideSet, "user", `{"billing.view":"inherit"}`, `{"billing.view":"deny"}`),
			"Ana Ruiz set María López's personal permission View billing in Northside Practice to Deny.", []string{"View billing: Inherit → Deny"}},
		{"staff added", entry(audit.StaffAdded, "user", "", `{"email":"maria@northside.example","name":"María López"}`),
			"Ana Ruiz added María López to the staff of Northside Practice.", []string{"Email: maria@northside.example"}},
		{"disabled", entry(audit.StaffDisabled, "user", `{"status":"active"}`, `{"status":"disabled"}`),
			"Ana Ruiz disabled María López's account.", []string{"Status: Active → Disabled"}},
		{"enabled", entry(audit.StaffEnabled, "user", `{"status":"disabled"}`, `{"status":"active"}`),
			"Ana Ruiz enabled María López's account.", []string{"Status: Disabled → Active"}},
		{"removed from organisation", entry(audit.StaffRemoved, "user", `{"roles":["Nurse in Northside Practice"]}`, ""),
			"Ana Ruiz removed María López from Northside Practice.", []string{"− Nurse in Northside Practice"}},
		{"invited", entry(audit.InvitationCreated, "invitation", "",
			`{"email":"zoe@northside.example","name":"Ζωή","role":"ممرضة","org":"Northside Practice","expires_at":1767830400,"status":"pending","invited_by":"Ana Ruiz","invited_by_id":1}`),
			"Ana Ruiz invited Ζωή (zoe@northside.example) to Northside Practice as ممرضة.", []string{"Link valid until: 2026-01-08 01:00:00 CET"}},
		{"invitation resent", entry(audit.InvitationResent, "invitation", `{"expires_at":1767225600}`,
			`{"email":"zoe@northside.example","name":"Ζωή","role":"ممرضة","org":"Northside Practice","expires_at":1767830400,"status":"pending"}`),
			"Ana Ruiz sent Ζωή (zoe@northside.example) a new invitation link to Northside Practice.",
			[]string{"Link valid until: 2026-01-01 01:00:00 CET → 2026-01-08 01:00:00 CET"}},
		{"invitation revoked", entry(audit.InvitationRevoked, "invitation", `{"status":"pending"}`,
			`{"email":"zoe@northside.example","name":"Ζωή","role":"ممرضة","org":"Northside Practice","status":"revoked"}`),
			"Ana Ruiz revoked the invitation of Ζωή (zoe@northside.example) to Northside Practice.", []string{"Status: Pending → Revoked"}},
		{"invitation accepted", accepted, "Ζωή accepted the invitation to Northside Practice as ممرضة.", []string{"Invited by: Ana Ruiz"}},
		{"organisation created", entry(audit.OrgCreated, "organisation", "", `{"name":"Eastside Clinic","parent_id":1,"parent":"Northside Practice"}`),
			"Ana Ruiz created the organisation Eastside Clinic under Northside Practice.", nil},
		{"organisation created, an old entry naming the parent by id", entry(audit.OrgCreated, "organisation", "", `{"name":"Eastside Clinic","parent_id":1}`),
			"Ana Ruiz created the organisation Eastside Clinic under organisation #1.", nil},
		{"top-level organisation created", entry(audit.OrgCreated, "organisation", "", `{"name":"Harbour Health","parent_id":0}`),
			"Ana Ruiz created the top-level organisation Harbour Health.", nil},
		{"organisation renamed", entry(audit.OrgRenamed, "organisation", `{"name":"Eastside"}`, `{"name":"Eastside Clinic"}`),
			"Ana Ruiz renamed the organisation Eastside to Eastside Clinic.", []string{"Name: Eastside → Eastside Clinic"}},
		{"organisation moved", entry(audit.OrgMoved, "organisation", `{"parent_id":0,"parent":""}`, `{"parent_id":1,"parent":"Northside Practice"}`),
			"Ana Ruiz moved the organisation Eastside Clinic from under the top level to under Northside Practice.",
			[]string{"Above it: the top level → Northside Practice"}},
		{"organisation default", entry(audit.OrgDefaultSet, "organisation", `{"billing.view":"inherit"}`, `{"billing.view":"allow"}`),
			"Ana Ruiz set the default of View billing in Northside Practice to Allow.", []string{"View billing: Inherit → Allow"}},
		{"organisation setting", orgSetting, "Ana Ruiz changed Role mode of Eastside Clinic.",
			[]string{"Role mode: Several roles per person → One role per person"}},
		{"portal setting", portalSetting, "Ana Ruiz changed the portal setting Time zone.", []string{"Time zone: (not set) → Europe/Madrid"}},
		{"re-keyed", rekeyed, "The audit log was sealed with a new audit key.", []string{"Entries re-sealed: 1234"}},
		{"missing", missing, "Entry 17 was already missing when the audit log was re-sealed.", nil},
	}
	d := describer(t)
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			covered[c.e.Action] = true
			s := d.Describe(c.e)
			if s.Sentence != c.sentence {
				t.Errorf("sentence:\n got %q\nwant %q", s.Sentence, c.sentence)
			}
			var got []string
			for _, ch := range s.Changes {
				got = append(got, ch.String())
			}
			if !slices.Equal(got, c.changes) {
				t.Errorf("changes:\n got %q\nwant %q", got, c.changes)
			}
		})
	}
	for _, a := range audit.Actions {
		if !covered[a] {
			t.Errorf("no case for %s", a)
		}
		if l := audit.ActionLabel(a); l == "" || l == a {
			t.Errorf("%s has no label in plain words: %q", a, l)
		}
	}
}

// A role changed into another in one step is one row, however the log was paged; copies of one
// change made in each organisation of the person are one row; anything else stays apart.
func TestGroup(t *testing.T) {
	rem := entry(audit.AssignmentRemoved, "user", `{"role_id":3,"role":"Nurse","org_id":1,"org":"Northside Practice"}`, "")
	add := entry(audit.AssignmentAdded, "user", "", `{"role_id":9,"role":"Billing Staff","org_id":1,"org":"Northside Practice"}`)
	rem.ID, add.ID = 40, 41
	other := entry(audit.AssignmentAdded, "user", "", `{"role_id":9,"role":"Billing Staff","org_id":1,"org":"Northside Practice"}`)
	other.ID, other.TargetID, other.TargetName = 39, 6, "Ζωή"
	dis1 := entry(audit.StaffDisabled, "user", `{"status":"active"}`, `{"status":"disabled"}`)
	dis2 := dis1
	dis1.ID, dis2.ID, dis2.OrgID, dis2.OrgName = 43, 42, 2, "Eastside Clinic"
	later := add
	later.ID, later.At = 44, add.At+60

	groups := audit.Group([]audit.Entry{later, dis1, dis2, add, rem, other}) // newest first, as the log lists them
	var shape []int
	for _, g := range groups {
		shape = append(shape, len(g))
	}
	if !slices.Equal(shape, []int{1, 2, 2, 1}) {
		t.Fatalf("groups: %v", shape)
	}
	s := describer(t).Describe(groups[2]...)
	if s.Sentence != "Ana Ruiz changed María López's role in Northside Practice from Nurse to Billing Staff." {
		t.Errorf("a role change: %q", s.Sentence)
	}
	if got := []string{s.Changes[0].String(), s.Changes[1].String()}; !slices.Equal(got, []string{"− Nurse", "+ Billing Staff"}) {
		t.Errorf("a role change's diff: %q", got)
	}
	// Two additions, or a removal and an addition a minute apart, are two rows.
	apart := later
	apart.ID = 42
	if g := audit.Group([]audit.Entry{apart, rem}); len(g) != 2 {
		t.Errorf("entries of different moments were grouped")
	}
}

func TestRawJSON(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"name":"Nurse \u003cNord\u003e \u0026 co"}`, "{\n  \"name\": \"Nurse <Nord> & co\"\n}"},
		{`{"path":"C:\\u003c"}`, "{\n  \"path\": \"C:\\\\u003c\"\n}"}, // an escaped backslash, then the letters
		{`not json <b>`, `not json <b>`},
		{``, ``},
	} {
		if got := audit.RawJSON(json.RawMessage(c.in)); got != c.want {
			t.Errorf("RawJSON(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzDescribe: whatever an entry's before and after hold (an old shape, a value of another
// type, something that is not JSON), wording it never panics and gives plain, bounded text
// with no control or bidirectional formatting characters; the page escapes it.
func FuzzDescribe(f *testing.F) {
	f.Add(uint8(0), `{"role_id":9,"role":"Billing Staff","org":"Northside"}`, `{"holders_moved_to":{"role_id":"x"}}`, "María López")
	f.Add(uint8(11), `{"permissions":["a",1,null]}`, `{"permissions":{"x":1},"name":"<script>alert(1)</script>"}`, "Ζωή\u202e")
	f.Add(uint8(26), `{"":null}`, `[1,2`, "\xff\xfe")
	f.Add(uint8(22), `{"expires_at":1e400}`, `{"expires_at":-9223372036854775808,"name":"\u0000"}`, "")
	d := describer(f)
	f.Fuzz(func(t *testing.T, action uint8, before, after, name string) {
		e := audit.Entry{ID: 2, At: 1_767_225_600, ActorID: 1, ActorName: name, OrgName: name, Action: audit.Actions[int(action)%len(audit.Actions)],
			TargetType: "user", TargetID: 5, TargetName: name, Before: json.RawMessage(before), After: json.RawMessage(after)}
		pair := e
		pair.ID, pair.Action = 1, audit.AssignmentRemoved
		for _, g := range audit.Group([]audit.Entry{e, pair}) {
			s := d.Describe(g...)
			texts := []string{s.Sentence, s.Text(), audit.RawJSON(e.Before), audit.RawJSON(e.After)}
			for _, c := range s.Changes {
				texts = append(texts, c.Label, c.From, c.To)
			}
			for i, txt := range texts {
				if !utf8.ValidString(txt) {
					t.Fatalf("text %d is not UTF-8: %q", i, txt)
				}
				if i >= 2 {
					continue // the raw JSON is shown in <pre> as it is (escaped by the page)
				}
				for _, r := range txt {
					if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
						t.Fatalf("text %d has %U: %q", i, r, txt)
					}
				}
			}
			if s.Sentence == "" || utf8.RuneCountInString(s.Sentence) > 2000 {
				t.Fatalf("sentence: %q", s.Sentence)
			}
			if strings.Contains(s.Sentence, "%!") {
				t.Fatalf("a formatting slip: %q", s.Sentence)
			}
		}
	})
}
