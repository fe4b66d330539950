package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rolegate/rolegate/internal/store"
)

// Each kind of change moves its own counter, in its transaction, and only that one: a cache
// tagged with the others stays valid. Reads and the coalesced touches move nothing.
func TestVersionsMoveWithWhatTheyCount(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	admin, org, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	var sessionID, tokenID int64
	read := func() store.Versions {
		t.Helper()
		v, err := st.Versions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	steps := []struct {
		name   string
		change func() error
		moves  func(before, after store.Versions) bool // exactly the expected counter moved
	}{
		{"sign in", func() (err error) {
			s, err := st.CreateSession(ctx, []byte("h1"), store.Session{UserID: admin.ID, CreatedAt: 1, LastSeenAt: 1, ExpiresAt: 1 << 40}, 0)
			sessionID = s.ID
			return err
		}, same},
		{"touch a session", func() error { return st.TouchSession(ctx, sessionID, 5) }, same},
		{"sign in again, replacing the session", func() (err error) {
			s, err := st.CreateSession(ctx, []byte("h2"), store.Session{UserID: admin.ID, CreatedAt: 1, LastSeenAt: 1, ExpiresAt: 1 << 40}, sessionID)
			sessionID = s.ID
			return err
		}, only("sessions")},
		{"sign out", func() error { return st.DeleteSession(ctx, sessionID) }, only("sessions")},
		{"change a password", func() error { return st.SetPassword(ctx, admin.ID, "y", 0) }, only("sessions")},
		{"sweep nothing", func() error { return st.DeleteExpiredSessions(ctx, 0, 0) }, same},
		{"change a setting", func() error { return st.SetSetting(ctx, "session_idle_minutes", "15") }, only("settings")},
		{"save a setting unchanged", func() error { return st.SetSetting(ctx, "session_idle_minutes", "15") }, same},
		{"rename a person", func() error { return st.SetName(ctx, admin.ID, "Ana María Ruiz") }, only("access")},
		{"make a token", func() (err error) {
			tokenID, err = st.CreateToken(ctx, store.NewToken{Name: "EHR", Hash: []byte("t1"), Prefix: "rgt_abc", OrgID: org.ID, CreatedBy: admin.ID, Scopes: []string{"check"}})
			return err
		}, only("tokens")},
		{"record a token's use", func() error { return st.TouchToken(ctx, tokenID, 9) }, same},
		{"revoke the token", func() error { return st.RevokeToken(ctx, tokenID, admin.ID) }, only("tokens")},
		{"add an application", func() error {
			_, err := st.CreateApp(ctx, store.NewApp{Name: "Wiki", Host: "wiki.example", PathPrefix: "/", OrgID: org.ID, Permission: "staff.view", CreatedBy: admin.ID})
			return err
		}, only("apps")},
	}
	for _, s := range steps {
		before := read()
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if after := read(); !s.moves(before, after) {
			t.Errorf("%s: counters %+v → %+v", s.name, before, after)
		}
	}
}

func same(before, after store.Versions) bool { return before == after }

// only reports whether the named counter moved by one and no other moved.
func only(name string) func(before, after store.Versions) bool {
	return func(before, after store.Versions) bool {
		b, a := counters(before), counters(after)
		for k := range b {
			if want := b[k] + map[bool]int64{true: 1}[k == name]; a[k] != want {
				return false
			}
		}
		return true
	}
}

func counters(v store.Versions) map[string]int64 {
	return map[string]int64{"access": v.Access, "tokens": v.Tokens, "apps": v.Apps, "sessions": v.Sessions, "settings": v.Settings}
}

// A setting changed by another process is what the next read returns; the same process sees
// its own change at once.
func TestSettingsCacheFollowsOtherProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rolegate.db")
	a, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	get := func(st *store.Store) string {
		t.Helper()
		v, err := st.Setting(ctx, "time_zone", "UTC")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if get(a) != "UTC" || get(b) != "UTC" {
		t.Fatal("default")
	}
	if err := b.SetSetting(ctx, "time_zone", "Europe/Madrid"); err != nil {
		t.Fatal(err)
	}
	if got := get(b); got != "Europe/Madrid" {
		t.Fatalf("own change: %q", got)
	}
	if got := get(a); got != "Europe/Madrid" {
		t.Fatalf("the other process's change: %q", got)
	}
	// Within a request whose counters were read before the change, the writer still sees it.
	rctx, _, err := a.WithVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetSetting(rctx, "time_zone", "Asia/Tokyo"); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Setting(rctx, "time_zone", ""); v != "Asia/Tokyo" {
		t.Fatalf("the writer's own request: %q", v)
	}
}

// Many requests at once, with commits between them: each gets counters at least as new as
// every commit made before it asked (a shared read began after it arrived).
func TestVersionsReadsAreNeverOlderThanTheQuestion(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	if _, _, err := st.Setup(ctx, setupInput()); err != nil {
		t.Fatal(err)
	}
	var committed atomic.Int64 // the settings counter of the last commit known to be done
	first, err := st.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	committed.Store(first.Settings)
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := st.SetSetting(ctx, "time_zone", fmt.Sprintf("Etc/GMT+%d", i%12)); err != nil {
				t.Error(err)
				return
			}
			committed.Add(1)
		}
	})
	var readers sync.WaitGroup
	for range 8 {
		readers.Go(func() {
			for range 300 {
				want := committed.Load()
				v, err := st.Versions(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if v.Settings < want {
					t.Errorf("read settings counter %d after commit %d was done", v.Settings, want)
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writer.Wait()
}
