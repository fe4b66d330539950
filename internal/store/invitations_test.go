package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

func TestInvitationStore(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	in := setupInput()
	in.SystemRoles = rbac.SystemRoles(rbac.DefaultCatalog())
	admin, org, err := st.Setup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	roles, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: org.ID, Q: "MEMBER", Limit: 5})
	if err != nil || len(roles) != 1 {
		t.Fatalf("MEMBER role: %v %d", err, len(roles))
	}
	now := time.Now()
	newInv := func(email string, hash string) int64 {
		id, err := st.CreateInvitation(ctx, store.NewInvitation{TokenHash: []byte(hash), Email: email, Name: email, OrgID: org.ID,
			RoleID: roles[0].ID, InvitedBy: admin.ID, ExpiresAt: now.Add(time.Hour).Unix()})
		if err != nil {
			t.Fatalf("create %s: %v", email, err)
		}
		return id
	}
	id := newInv("ben@example.org", "hash-ben")
	// One pending invitation per person and organisation, whatever the case of the email.
	if _, err := st.CreateInvitation(ctx, store.NewInvitation{TokenHash: []byte("other"), Email: "BEN@example.org", Name: "Ben", OrgID: org.ID,
		RoleID: roles[0].ID, InvitedBy: admin.ID, ExpiresAt: now.Add(time.Hour).Unix()}); !errors.Is(err, store.ErrAlreadyInvited) {
		t.Fatalf("second pending invitation: %v", err)
	}
	inv, err := st.InvitationByToken(ctx, []byte("hash-ben"))
	if err != nil || inv.ID != id || inv.OrgName != "Northside Practice" || inv.RoleName != "Member" || inv.InvitedByName != "Ana Ruiz" ||
		inv.State(now) != store.InvitationPending || inv.State(now.Add(2*time.Hour)) != store.InvitationExpired {
		t.Fatalf("invitation: %+v %v", inv, err)
	}

	// Racing accepts of one link: exactly one account.
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.AcceptInvitation(ctx, []byte("hash-ben"), store.Acceptance{Name: fmt.Sprint("Ben ", i), PasswordHash: "x"})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrInvitationClosed):
			t.Fatalf("accept: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d accepts succeeded, want exactly 1", ok)
	}
	ben, err := st.UserByEmail(ctx, "ben@example.org")
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Person(ctx, ben.ID)
	if err != nil || len(p.Orgs) != 1 || len(p.Roles) != 1 || p.Roles[0].RoleCode != "MEMBER" {
		t.Fatalf("after accepting: %+v %v", p, err)
	}
	// Closed invitations cannot be renewed or revoked.
	if err := st.RenewInvitation(ctx, id, []byte("new"), now.Add(time.Hour).Unix(), 1); !errors.Is(err, store.ErrInvitationClosed) {
		t.Fatalf("renew accepted: %v", err)
	}
	// Revoke, then accept: nothing is created.
	id2 := newInv("cy@example.org", "hash-cy")
	if err := st.RevokeInvitation(ctx, id2, admin.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeInvitation(ctx, id2, admin.ID); !errors.Is(err, store.ErrInvitationClosed) {
		t.Fatalf("revoke twice: %v", err)
	}
	if _, err := st.AcceptInvitation(ctx, []byte("hash-cy"), store.Acceptance{Name: "Cy", PasswordHash: "x"}); !errors.Is(err, store.ErrInvitationClosed) {
		t.Fatalf("accept revoked: %v", err)
	}
	if _, err := st.UserByEmail(ctx, "cy@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a revoked invitation created an account")
	}
	// Expired: refused by the store's own clock.
	newInv("dee@example.org", "hash-dee")
	st.SetClock(func() time.Time { return now.Add(2 * time.Hour) })
	if _, err := st.AcceptInvitation(ctx, []byte("hash-dee"), store.Acceptance{Name: "Dee", PasswordHash: "x"}); !errors.Is(err, store.ErrInvitationClosed) {
		t.Fatalf("accept expired: %v", err)
	}
	st.SetClock(time.Now)
	// A role made inactive since: refused, and the invitation stays pending.
	dormant, err := st.CreateRole(ctx, store.RoleInput{OrgID: org.ID, Code: "DORMANT", Name: "Dormant", Active: false,
		Permissions: []string{"patients.view"}, ActorID: admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInvitation(ctx, store.NewInvitation{TokenHash: []byte("hash-eve"), Email: "eve@example.org", Name: "Eve", OrgID: org.ID,
		RoleID: dormant, InvitedBy: admin.ID, ExpiresAt: now.Add(time.Hour).Unix()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcceptInvitation(ctx, []byte("hash-eve"), store.Acceptance{Name: "Eve", PasswordHash: "x"}); !errors.Is(err, store.ErrRoleUnavailable) {
		t.Fatalf("accept with an inactive role: %v", err)
	}
	if inv, err := st.PendingInvitation(ctx, org.ID, "eve@example.org"); err != nil || inv.AcceptedAt != 0 {
		t.Fatalf("the refused accept changed the invitation: %+v %v", inv, err)
	}
	if _, err := st.AcceptInvitation(ctx, []byte("unknown"), store.Acceptance{Name: "X", PasswordHash: "x"}); !errors.Is(err, store.ErrInvitationClosed) {
		t.Fatalf("unknown token: %v", err)
	}
}
