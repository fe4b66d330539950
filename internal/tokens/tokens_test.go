package tokens

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

func fixture(t *testing.T) (*Service, store.User, int64, *time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat := rbac.DefaultCatalog()
	admin, org, err := st.Setup(ctx, store.SetupInput{OrgName: "Northside", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x", SystemRoles: rbac.SystemRoles(cat)})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := rbac.NewEngine(ctx, cat, st.LoadAccess, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.OnAccessChange(func(ctx context.Context) { _ = engine.Reload(ctx) })
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return now })
	return &Service{Store: st, Access: engine, Now: func() time.Time { return now }}, admin, org.ID, &now
}

func TestCreateValidatesAndShowsOnce(t *testing.T) {
	s, admin, org, _ := fixture(t)
	ctx := context.Background()
	for _, f := range []Form{
		{Name: "", OrgID: org, Scopes: []string{"check"}},
		{Name: "x", OrgID: 999, Scopes: []string{"check"}},
		{Name: "x", OrgID: org, Scopes: nil},
		{Name: "x", OrgID: org, Scopes: []string{"admin"}},
		{Name: "x", OrgID: org, Scopes: []string{"check"}, ExpiryDays: 4000},
	} {
		if _, p, err := s.Create(ctx, admin.ID, f); err != nil || len(p) == 0 {
			t.Errorf("Create(%+v) = %v, %v; want problems", f, p, err)
		}
	}
	made, p, err := s.Create(ctx, admin.ID, Form{Name: "EHR bridge", OrgID: org, Scopes: []string{"write, check", "check"}, ExpiryDays: 30})
	if err != nil || len(p) > 0 {
		t.Fatal(p, err)
	}
	if !strings.HasPrefix(made.Secret, Prefix) || len(made.Secret) != 47 || !strings.HasPrefix(made.Secret, made.Token.Prefix) {
		t.Fatalf("secret %q, prefix %q", made.Secret, made.Token.Prefix)
	}
	if strings.Join(made.Token.Scopes, ",") != "check,write" {
		t.Fatalf("scopes %v", made.Token.Scopes)
	}
	list, _ := s.Store.ListTokens(ctx, nil)
	for _, tk := range list {
		if strings.Contains(tk.Prefix, made.Secret[len(made.Token.Prefix):]) {
			t.Fatal("the stored token carries the secret")
		}
	}
}

// Someone without integrations.manage makes no token and revokes none (an unknown one, to them).
func TestOnlyIntegrationManagers(t *testing.T) {
	s, admin, org, _ := fixture(t)
	ctx := context.Background()
	ids, err := s.Store.AddStaff(ctx, []store.NewStaff{{Email: "ben@example.org", Name: "Ben", PasswordHash: "x", OrgID: org}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, ids[0], Form{Name: "x", OrgID: org, Scopes: []string{"check"}}); !errors.As(err, new(*rbac.ForbiddenError)) {
		t.Fatalf("Ben creates a token: %v", err)
	}
	made, _, _ := s.Create(ctx, admin.ID, Form{Name: "x", OrgID: org, Scopes: []string{"check"}})
	if err := s.Revoke(ctx, ids[0], made.Token.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Ben revokes: %v", err)
	}
	if got := s.Manageable(ids[0]); len(got) != 0 {
		t.Fatalf("Ben manages %v", got)
	}
}

// Expired, revoked, unknown, malformed and a disabled creator are all ErrInvalid; last use is
// written at most once per touchEvery.
func TestAuthenticate(t *testing.T) {
	s, admin, org, now := fixture(t)
	ctx := context.Background()
	made, _, _ := s.Create(ctx, admin.ID, Form{Name: "x", OrgID: org, Scopes: []string{"check"}, ExpiryDays: 1})
	p, err := s.Authenticate(ctx, made.Secret)
	if err != nil || p.UserID != admin.ID || p.OrgID != org || !p.HasScope("check") || p.HasScope("write") {
		t.Fatalf("Authenticate: %+v %v", p, err)
	}
	first, _ := s.Store.TokenByID(ctx, made.Token.ID)
	*now = now.Add(time.Minute)
	s.Authenticate(ctx, made.Secret)
	second, _ := s.Store.TokenByID(ctx, made.Token.ID)
	if first.LastUsedAt == 0 || second.LastUsedAt != first.LastUsedAt {
		t.Fatalf("last use %d then %d: want one write within %s", first.LastUsedAt, second.LastUsedAt, touchEvery)
	}
	for _, bad := range []string{"", "rgt_", "rgt_" + strings.Repeat("x", 43), strings.Repeat("a", 200), made.Secret + "x"} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Authenticate(%.10q) = %v", bad, err)
		}
	}
	*now = now.Add(25 * time.Hour)
	if _, err := s.Authenticate(ctx, made.Secret); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired: %v", err)
	}
	live, _, _ := s.Create(ctx, admin.ID, Form{Name: "y", OrgID: org, Scopes: []string{"read"}})
	if err := s.Revoke(ctx, admin.ID, live.Token.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, live.Secret); !errors.Is(err, ErrInvalid) {
		t.Fatalf("revoked: %v", err)
	}
}

func FuzzParseScopesAndExpiry(f *testing.F) {
	f.Add("check,read", "90d")
	f.Add(" WRITE , write,", "never")
	f.Add("admin", "-1")
	f.Add("", "99999999999999999999")
	f.Fuzz(func(t *testing.T, scopes, expiry string) {
		got, msg := ParseScopes([]string{scopes})
		if msg == "" && len(got) == 0 || msg != "" && got != nil {
			t.Fatalf("ParseScopes(%q) = %v, %q", scopes, got, msg)
		}
		for _, sc := range got {
			if sc != ScopeCheck && sc != ScopeRead && sc != ScopeWrite {
				t.Fatalf("ParseScopes(%q) accepted %q", scopes, sc)
			}
		}
		days, msg := ParseExpiry(expiry)
		if days < 0 || days > 3650 || (msg != "" && days != 0) {
			t.Fatalf("ParseExpiry(%q) = %d, %q", expiry, days, msg)
		}
	})
}
