package settings_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/settings"
	"github.com/rolegate/rolegate/internal/store"
)

func TestTimeZone(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "rolegate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin, _, err := st.Setup(ctx, store.SetupInput{OrgName: "Northside Practice", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	s := &settings.Service{Store: st}
	if z, err := s.TimeZone(ctx); err != nil || z.Name != "" || z.Loc != time.Local {
		t.Fatalf("default: %+v %v", z, err)
	}
	steps := []struct {
		name    string
		actor   store.User
		raw     string
		problem bool
		denied  bool
		want    string
	}{
		{"not a global admin", store.User{ID: 7, Name: "María López"}, "Asia/Tokyo", false, true, ""},
		{"not a zone", admin, "Mars/Olympus", true, false, ""},
		{"a file elsewhere", admin, "../../etc/passwd", true, false, ""},
		{"set", admin, " Europe/Madrid ", false, false, "Europe/Madrid"},
		{"back to the server's", admin, "", false, false, ""},
	}
	for _, c := range steps {
		before := countChanges(t, st)
		p, err := s.SetTimeZone(ctx, c.actor, c.raw)
		var fe *rbac.ForbiddenError
		if c.denied != errors.As(err, &fe) || (!c.denied && err != nil) || c.problem != (p[settings.KeyTimeZone] != "") {
			t.Fatalf("%s: %v %v", c.name, p, err)
		}
		z, err := s.TimeZone(ctx)
		if err != nil || z.Name != c.want {
			t.Fatalf("%s: zone %+v %v", c.name, z, err)
		}
		if changed := countChanges(t, st) - before; changed != map[bool]int{true: 1, false: 0}[!c.denied && !c.problem] {
			t.Fatalf("%s: %d entries", c.name, changed)
		}
	}
	if z, _ := s.TimeZone(ctx); z.Loc != time.Local {
		t.Fatal("the server's zone is not time.Local")
	}
}

func countChanges(t *testing.T, st *store.Store) int {
	t.Helper()
	n := 0
	err := st.EachAudit(context.Background(), store.AuditQuery{Action: audit.SettingChanged}, func(e audit.Entry) error {
		if e.ActorName != "Ana Ruiz" || e.TargetName != settings.KeyTimeZone {
			t.Errorf("entry: %+v", e)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
