package auth

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/store"
)

func TestSessionTimeoutsAndDisabledUsers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _, err := st.Setup(ctx, store.SetupInput{OrgName: "N", Name: "Ana", Email: "ana@example.org", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewSessions(ctx, st, false, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	m.SetClock(func() time.Time { return now })

	start := func() *http.Cookie {
		w := httptest.NewRecorder()
		if _, err := m.Start(w, httptest.NewRequest(http.MethodPost, "/login", nil), u.ID, 0, "127.0.0.1", store.AMRPassword); err != nil {
			t.Fatal(err)
		}
		return w.Result().Cookies()[0]
	}
	load := func(c *http.Cookie) error {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(c)
		_, err := m.Load(r.Context(), r)
		return err
	}

	c := start()
	if c.Name != "rolegate_session" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", c)
	}
	// Activity keeps the session alive past the idle timeout…
	for range 5 {
		now = now.Add(20 * time.Minute)
		if err := load(c); err != nil {
			t.Fatalf("active session ended at %s: %v", now, err)
		}
	}
	// …but 30 idle minutes end it.
	now = now.Add(DefaultIdle)
	if err := load(c); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle session: %v, want ErrNoSession", err)
	}

	// The absolute timeout ends even an active session.
	c = start()
	for elapsed := time.Duration(0); elapsed < DefaultAbsolute-20*time.Minute; elapsed += 20 * time.Minute {
		now = now.Add(20 * time.Minute)
		if err := load(c); err != nil {
			t.Fatalf("session ended early after %s: %v", elapsed, err)
		}
	}
	now = now.Add(20 * time.Minute)
	if err := load(c); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session past the absolute timeout: %v", err)
	}

	// Settings change the timeouts.
	if err := st.SetSetting(ctx, SettingIdleMinutes, "5"); err != nil {
		t.Fatal(err)
	}
	c = start()
	now = now.Add(6 * time.Minute)
	if err := load(c); !errors.Is(err, ErrNoSession) {
		t.Fatalf("5-minute idle setting ignored: %v", err)
	}

	// A disabled user holds nothing on the very next request, even when another process
	// disabled them after this one knew the session.
	c = start()
	if err := load(c); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("BEGIN; UPDATE users SET status = 'disabled' WHERE id = ?; UPDATE versions SET access = access + 1; COMMIT", u.ID); err != nil {
		t.Fatal(err)
	}
	if err := load(c); !errors.Is(err, ErrNoSession) {
		t.Fatalf("disabled user's session: %v", err)
	}

	// A tampered cookie is no session.
	if err := load(&http.Cookie{Name: "rolegate_session", Value: c.Value[:len(c.Value)-2] + "xx"}); !errors.Is(err, ErrNoSession) {
		t.Fatalf("tampered cookie: %v", err)
	}
	if err := m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
}

// sessionsFixture is a set-up store with its one user and the sessions on it.
func sessionsFixture(t *testing.T, secure bool) (*store.Store, store.User, *Sessions) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, _, err := st.Setup(ctx, store.SetupInput{OrgName: "N", Name: "Ana", Email: "ana@example.org", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewSessions(ctx, st, secure, "")
	if err != nil {
		t.Fatal(err)
	}
	return st, u, m
}

func TestSecureCookieName(t *testing.T) {
	_, u, m := sessionsFixture(t, true)
	w := httptest.NewRecorder()
	if _, err := m.Start(w, httptest.NewRequest(http.MethodPost, "https://portal.example/login", nil), u.ID, 0, "::1", store.AMRPassword); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if c.Name != "__Host-rolegate_session" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" {
		t.Fatalf("cookie over HTTPS = %+v; want __Host- prefix, Secure, HttpOnly, Path=/ and no Domain", c)
	}
}

// Each session has its own CSRF token: the one Start returns is the one Load gives back for
// that session's cookie, and a second sign-in gets another one.
func TestCSRFTokenBelongsToOneSession(t *testing.T) {
	_, u, m := sessionsFixture(t, false)
	start := func() (Live, *http.Cookie) {
		w := httptest.NewRecorder()
		live, err := m.Start(w, httptest.NewRequest(http.MethodPost, "/login", nil), u.ID, 0, "127.0.0.1", store.AMRPassword)
		if err != nil {
			t.Fatal(err)
		}
		return live, w.Result().Cookies()[0]
	}
	first, c1 := start()
	second, _ := start()
	if first.CSRF == "" || first.CSRF == second.CSRF {
		t.Fatalf("CSRF tokens %q and %q: want two different tokens", first.CSRF, second.CSRF)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c1)
	live, err := m.Load(r.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !live.CheckCSRF(first.CSRF) || live.CheckCSRF(second.CSRF) || live.CheckCSRF("") {
		t.Fatal("a session accepts another session's CSRF token, or refuses its own")
	}
}

// A device cookie names one account; for any other, a forged or a missing one, the browser
// is unknown.
func TestDeviceCookie(t *testing.T) {
	_, _, m := sessionsFixture(t, true)
	w := httptest.NewRecorder()
	if err := m.RememberDevice(w, httptest.NewRequest(http.MethodPost, "/login", nil), "Ana@Example.org"); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if c.Name != "__Host-rolegate_device" || !c.HttpOnly || !c.Secure || c.MaxAge < 300*24*3600 {
		t.Fatalf("device cookie %+v", c)
	}
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.AddCookie(c)
	id := m.Device(r, "ana@example.org")
	if id == "" || m.Device(r, "bob@example.org") != "" {
		t.Fatalf("device for ana = %q; for bob = %q", id, m.Device(r, "bob@example.org"))
	}
	// Signing in again from the same browser keeps the id.
	w = httptest.NewRecorder()
	if err := m.RememberDevice(w, r, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	r2 := httptest.NewRequest(http.MethodPost, "/login", nil)
	r2.AddCookie(w.Result().Cookies()[0])
	if m.Device(r2, "ana@example.org") != id {
		t.Fatal("the device id changed at the next sign-in")
	}
	forged := httptest.NewRequest(http.MethodPost, "/login", nil)
	forged.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value[:len(c.Value)-2] + "AA"})
	if m.Device(forged, "ana@example.org") != "" {
		t.Fatal("a forged device cookie was believed")
	}
}

// With a cookie domain the session cookie is shared with the hosts below it: Domain= and the
// __Secure- prefix (the __Host- prefix forbids a domain).
func TestCookieDomain(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _, err := st.Setup(ctx, store.SetupInput{OrgName: "N", Name: "Ana", Email: "ana@example.org", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewSessions(ctx, st, true, "clinic.example")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if _, err := m.Start(w, httptest.NewRequest(http.MethodPost, "https://access.clinic.example/login", nil), u.ID, 0, "::1", store.AMRPassword); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if c.Name != "__Secure-rolegate_session" || c.Domain != "clinic.example" || !c.Secure || !c.HttpOnly {
		t.Fatalf("cookie %+v", c)
	}
}
