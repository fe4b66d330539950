package web

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/boot"
	"github.com/rolegate/rolegate/internal/config"
)

// testDeps opens the portal's parts exactly as serve does (internal/boot: the lock-out guard,
// the engine reload, system roles), on a database of the test's own.
func testDeps(t *testing.T) (Deps, string) {
	t.Helper()
	cfg := config.Config{DB: filepath.Join(t.TempDir(), "rolegate.db")}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	parts, err := boot.Open(context.Background(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parts.Store.Close() })
	return DepsOf(parts, cfg, logger, "test"), cfg.DB
}

// Every route Echo knows must be in the route table, with an access rule.
func TestRouteTableIsComplete(t *testing.T) {
	d, _ := testDeps(t)
	e := New(d)
	table := map[string]Access{}
	for _, r := range RouteTable(d) {
		table[r.Method+" "+r.Path] = r.Access
	}
	if len(e.Routes()) == 0 {
		t.Fatal("no routes registered")
	}
	for _, r := range e.Routes() {
		acc, ok := table[r.Method+" "+r.Path]
		if !ok {
			t.Errorf("route %s %s is not in the route table", r.Method, r.Path)
			continue
		}
		if acc.kind == accessNone {
			t.Errorf("route %s %s has no access rule", r.Method, r.Path)
		}
	}
	// Only these may be public; everything else needs a session at least.
	public := map[string]bool{"GET /healthz": true, "GET /static/*": true, "GET /favicon.ico": true, "GET /api/v1/openapi.json": true, "GET /auth/nginx": true, "GET /auth/forward": true, "GET /setup": true, "POST /setup": true,
		"GET /login": true, "POST /login": true, "GET /login/two-step": true, "GET /login/sso": true, "GET /login/sso/callback": true, "POST /login/two-step": true, "POST /logout": true,
		"POST /login/two-step/passkey/options": true, "POST /login/two-step/passkey": true, "POST /login/passkey/options": true, "POST /login/passkey": true,
		"GET /invite/:token": true, "POST /invite/:token": true}
	for k, acc := range table {
		if acc.kind == accessPublic && !public[k] {
			t.Errorf("route %s is public but not on the list of public routes", k)
		}
	}
}

// A route that needs a permission answers 403 naming it to someone without it, and never
// runs its handler.
func TestPermissionRoutesRefuseWithout(t *testing.T) {
	d, dbPath := testDeps(t)
	ctx := context.Background()
	if _, _, err := d.Auth.Setup(ctx, auth.SetupForm{OrgName: "Northside", Name: "Ana Ruiz", Email: "ana@example.org", Password: "correct horse battery staple"}); err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.HashPassword(context.Background(), "staff member password")
	raw, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	now := time.Now().Unix()
	if _, err := raw.Exec(`INSERT INTO users (email, name, password_hash, created_at, updated_at) VALUES ('ben@example.org', 'Ben Okafor', ?, ?, ?)`, hash, now, now); err != nil {
		t.Fatal(err)
	}
	if err := d.Access.Reload(ctx); err != nil {
		t.Fatal(err)
	}

	a := &app{Deps: d}
	e := New(d)
	ran := 0
	e.POST("/test/guarded", func(c echo.Context) error { ran++; return c.NoContent(http.StatusNoContent) }, a.require(Perm("roles.manage")))
	srv := httptest.NewServer(e)
	defer srv.Close()

	for _, tc := range []struct {
		email, password string
		want            int
	}{
		{"ben@example.org", "staff member password", http.StatusForbidden},
		{"ana@example.org", "correct horse battery staple", http.StatusNoContent},
	} {
		cl := newClient(t, srv.URL)
		cl.post("/login", url.Values{"email": {tc.email}, "password": {tc.password}})
		before := ran
		code, body := cl.post("/test/guarded", url.Values{})
		if code != tc.want {
			t.Errorf("%s: %d, want %d", tc.email, code, tc.want)
		}
		if tc.want == http.StatusForbidden {
			if ran != before {
				t.Errorf("%s: handler ran without the permission", tc.email)
			}
			if !strings.Contains(body, "roles.manage") {
				t.Errorf("%s: 403 page does not name the missing permission", tc.email)
			}
		}
	}
}

type testClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *testClient {
	jar, _ := cookiejar.New(nil)
	cl := &testClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	cl.csrf = cl.token("/login")
	return cl
}

func (cl *testClient) post(path string, v url.Values) (int, string) {
	v.Set("_csrf", cl.csrf)
	resp, err := cl.c.PostForm(cl.base+path, v)
	if err != nil {
		cl.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if path == "/login" {
		cl.csrf = cl.token("/account") // the session's own token from now on
	}
	return resp.StatusCode, string(b)
}

func (cl *testClient) token(path string) string {
	resp, err := cl.c.Get(cl.base + path)
	if err != nil {
		cl.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(string(b))
	if m == nil {
		cl.t.Fatalf("no csrf token on %s", path)
	}
	return m[1]
}
