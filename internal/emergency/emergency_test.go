package emergency_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/boot"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/emergency"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// A practice with an admin (1), a nurse and a receptionist (Staff), emergency access set up by
// the admin for Contact patient and View billing, at most 2 hours; the clock is the test's.
func practice(t *testing.T) (*emergency.Service, *store.Store, *time.Time, int64, int64, int64) {
	t.Helper()
	ctx := context.Background()
	st, cat, engine, err := boot.OpenStore(ctx, config.Config{DB: filepath.Join(t.TempDir(), "r.db")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Unix(1_800_000_000, 0)
	st.SetClock(func() time.Time { return now })
	admin, org, err := st.Setup(ctx, store.SetupInput{OrgName: "Northside", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x", SystemRoles: rbac.SystemRoles(cat)})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st.AddStaff(ctx, []store.NewStaff{{Email: "nurse@example.org", Name: "Nkechi Nurse", PasswordHash: "x", OrgID: org.ID},
		{Email: "desk@example.org", Name: "Dana Desk", PasswordHash: "x", OrgID: org.ID}})
	if err != nil {
		t.Fatal(err)
	}
	roles, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: org.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		switch r.Code {
		case rbac.CodeNurse:
			err = st.AssignRole(ctx, ids[0], r.ID, org.ID, 0, admin.ID)
		case rbac.CodeStaff:
			err = st.AssignRole(ctx, ids[1], r.ID, org.ID, 0, admin.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	svc := &emergency.Service{Store: st, Access: engine}
	if p, err := svc.SetSettings(ctx, admin.ID, store.EmergencySettings{OrgID: org.ID, Enabled: true, Perms: []string{"patients.contact", "billing.view"}, MaxMinutes: 120}); err != nil || len(p) > 0 {
		t.Fatalf("settings: %v %v", p, err)
	}
	return svc, st, &now, org.ID, ids[0], ids[1]
}

func TestEmergencyAccess(t *testing.T) {
	ctx := context.Background()
	svc, st, now, org, nurse, desk := practice(t)
	can := func(u int64, perm string) bool { return svc.Access.Now().Can(u, org, perm) }
	if can(nurse, "billing.view") {
		t.Fatal("the nurse holds billing.view before any emergency")
	}
	reason := "Patient collapsed in the waiting room; need their insurer"
	for _, tc := range []struct {
		name  string
		actor int64
		r     emergency.Request
		field string
	}{
		{"outside the set", nurse, emergency.Request{OrgID: org, Perms: []string{"patients.export"}, Reason: reason, Minutes: 60}, "permissions"},
		{"nothing chosen", nurse, emergency.Request{OrgID: org, Reason: reason, Minutes: 60}, "permissions"},
		{"reason too short", nurse, emergency.Request{OrgID: org, Perms: []string{"billing.view"}, Reason: "urgent", Minutes: 60}, "reason"},
		{"longer than allowed", nurse, emergency.Request{OrgID: org, Perms: []string{"billing.view"}, Reason: reason, Minutes: 121}, "minutes"},
	} {
		if _, p, err := svc.Start(ctx, tc.actor, tc.r); err != nil || p[tc.field] == "" {
			t.Errorf("%s: problems %v, err %v; want one on %s", tc.name, p, err, tc.field)
		}
	}
	var forbidden *rbac.ForbiddenError
	if _, _, err := svc.Start(ctx, desk, emergency.Request{OrgID: org, Perms: []string{"billing.view"}, Reason: reason, Minutes: 60}); !errors.As(err, &forbidden) {
		t.Fatalf("someone without emergency.request: %v", err)
	}
	id, p, err := svc.Start(ctx, nurse, emergency.Request{OrgID: org, Perms: []string{"billing.view"}, Reason: reason, Minutes: 60})
	if err != nil || len(p) > 0 {
		t.Fatalf("start: %v %v", p, err)
	}
	if !can(nurse, "billing.view") || can(nurse, "patients.export") {
		t.Fatal("the emergency does not grant exactly what was taken")
	}
	if d := svc.Access.Now().Explain(nurse, org, "billing.view"); d.Step != rbac.StepEmergency || d.EmergencyID != id {
		t.Fatalf("explained by %+v", d)
	}
	// The time box: granted a second before the end, not at it.
	*now = now.Add(time.Hour - time.Second)
	if !can(nurse, "billing.view") {
		t.Fatal("the emergency ended early")
	}
	*now = now.Add(time.Second)
	if can(nurse, "billing.view") {
		t.Fatal("the emergency outlasts its end")
	}
	if n, err := st.ExpireEnded(ctx); err != nil || n != 1 {
		t.Fatalf("the sweep ended %d: %v", n, err)
	}
	// Review: never one's own; the admin records it once.
	if _, err := svc.Review(ctx, nurse, id, emergency.Justified, "fine"); err == nil {
		t.Fatal("the nurse reviewed her own emergency access")
	}
	if p, err := svc.Review(ctx, 1, id, emergency.NotJustified, "No patient was seen at that time"); err != nil || len(p) > 0 {
		t.Fatalf("review: %v %v", p, err)
	}
	if _, err := svc.Review(ctx, 1, id, emergency.Justified, "again"); !errors.Is(err, store.ErrEmergencyOver) {
		t.Fatalf("a second review: %v", err)
	}
	// End now, by the person, and by an admin; not by a colleague.
	id2, _, err := svc.Start(ctx, nurse, emergency.Request{OrgID: org, Perms: []string{"patients.contact"}, Reason: reason, Minutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.End(ctx, desk, id2); err == nil {
		t.Fatal("a colleague ended someone's emergency access")
	}
	if err := svc.End(ctx, nurse, id2); err != nil || can(nurse, "billing.view") {
		t.Fatalf("End now: %v", err)
	}
	if q, err := svc.Queue(ctx, 1, true, 0); err != nil || len(q) != 1 || q[0].ID != id2 {
		t.Fatalf("the unreviewed queue: %+v %v", q, err)
	}
}

// The set is guarded: no Administration permission in it, and only what the admin holds.
func TestEmergencySettingsGuarded(t *testing.T) {
	ctx := context.Background()
	svc, _, _, org, nurse, _ := practice(t)
	if p, err := svc.SetSettings(ctx, 1, store.EmergencySettings{OrgID: org, Enabled: true, Perms: []string{"staff.manage"}, MaxMinutes: 60}); err != nil || p["permissions"] == "" {
		t.Fatalf("an administration permission in the set: %v %v", p, err)
	}
	if p, err := svc.SetSettings(ctx, 1, store.EmergencySettings{OrgID: org, Enabled: true, Perms: []string{"billing.view"}, MaxMinutes: 25 * 60}); err != nil || p["max_minutes"] == "" {
		t.Fatalf("more than 24 hours: %v %v", p, err)
	}
	var forbidden *rbac.ForbiddenError
	if _, err := svc.SetSettings(ctx, nurse, store.EmergencySettings{OrgID: org, Enabled: true, Perms: []string{"billing.view"}, MaxMinutes: 60}); !errors.As(err, &forbidden) {
		t.Fatalf("a nurse changed the settings: %v", err)
	}
}

// The same request many times at once opens one use: the others are told one is open.
func TestEmergencyOneOpenUseUnderRaces(t *testing.T) {
	ctx := context.Background()
	svc, st, _, org, nurse, _ := practice(t)
	r := emergency.Request{OrgID: org, Perms: []string{"billing.view"}, Reason: "Patient collapsed in the waiting room", Minutes: 30}
	var wg sync.WaitGroup
	var opened atomic.Int32
	for range 50 {
		wg.Go(func() {
			if _, p, err := svc.Start(ctx, nurse, r); err == nil && len(p) == 0 {
				opened.Add(1)
			} else if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if opened.Load() != 1 {
		t.Fatalf("%d uses opened by 50 requests at once, want 1", opened.Load())
	}
	if uses, err := st.EmergencyUses(ctx, []int64{org}, true, 100); err != nil || len(uses) != 1 {
		t.Fatalf("%d uses recorded: %v", len(uses), err)
	}
}

// Someone who invited the person whose use it is may not review it: the account may be theirs.
func TestEmergencyNotReviewedByTheInviter(t *testing.T) {
	ctx := context.Background()
	svc, st, _, org, nurse, _ := practice(t)
	// The nurse invites a second account, which takes emergency access.
	tok := []byte("0123456789abcdef0123456789abcdef")
	roles, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: org, Q: "NURSE", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInvitation(ctx, store.NewInvitation{TokenHash: tok, Email: "second@example.org", Name: "Second", OrgID: org,
		RoleID: roles[0].ID, InvitedBy: nurse, ExpiresAt: st.Now().Add(time.Hour).Unix()}); err != nil {
		t.Fatal(err)
	}
	second, err := st.AcceptInvitation(ctx, tok, store.Acceptance{Name: "Second", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	id, p, err := svc.Start(ctx, second, emergency.Request{OrgID: org, Perms: []string{"billing.view"}, Reason: "Patient collapsed in the waiting room", Minutes: 30})
	if err != nil || len(p) > 0 {
		t.Fatalf("start: %v %v", p, err)
	}
	// Give the nurse audit.view through an override, so only the invitation stands in the way.
	if err := st.SetOverride(ctx, nurse, org, "audit.view", "allow", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Review(ctx, nurse, id, emergency.Justified, "it was me"); err == nil {
		t.Fatal("the inviter reviewed the use of the account they invited")
	}
}

// mailbox is a Mailer that keeps what it is given.
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

// With mail on, each use is mailed to the organisation's audit log readers, never to the
// person who took it.
func TestEmergencyMailsTheAuditors(t *testing.T) {
	ctx := context.Background()
	svc, _, _, org, nurse, _ := practice(t)
	box := &mailbox{got: make(chan struct{}, 10)}
	svc.Mail, svc.Link = box, "https://rolegate.northside.example"
	if _, p, err := svc.Start(ctx, nurse, emergency.Request{OrgID: org, Perms: []string{"billing.view"}, Reason: "Patient collapsed in the waiting room", Minutes: 30}); err != nil || len(p) > 0 {
		t.Fatalf("start: %v %v", p, err)
	}
	<-box.got // the admin, the one holder of audit.view
	box.mu.Lock()
	defer box.mu.Unlock()
	if len(box.sent) != 1 || box.sent[0] != "ana@example.org: Emergency access: Nkechi Nurse in Northside" {
		t.Fatalf("mailed %q", box.sent)
	}
}
