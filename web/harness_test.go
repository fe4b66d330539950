package web_test

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

	"github.com/rolegate/rolegate/internal/app"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/store"
)

// portal is the real application on a real SQLite file, reached over HTTP.
type portal struct {
	t      testing.TB
	srv    *httptest.Server
	store  *store.Store
	app    *app.App
	dbPath string
}

const (
	adminEmail    = "ana@example.org"
	adminPassword = "correct horse battery staple"
)

func newPortal(t testing.TB, setup bool, options ...func(*config.Config)) *portal {
	t.Helper()
	cfg := config.Config{DB: filepath.Join(t.TempDir(), "rolegate.db")}
	for _, o := range options {
		o(&cfg)
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
	if err != nil {
		t.Fatal(err)
	}
	p := &portal{t: t, srv: httptest.NewServer(a.Handler), store: a.Store, app: a, dbPath: cfg.DB}
	t.Cleanup(func() { p.srv.Close(); a.Store.Close() })
	if setup {
		c := p.client()
		resp := c.postForm("/setup", url.Values{"org": {"Northside Practice"}, "name": {"Ana Ruiz"}, "email": {adminEmail}, "password": {adminPassword}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("setup: status %d: %s", resp.StatusCode, resp.body)
		}
	}
	return p
}

// client is one browser: its own cookie jar, no automatic redirects.
type client struct {
	p    *portal
	http *http.Client
	csrf string
}

type response struct {
	*http.Response
	body string
}

func (p *portal) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{p: p, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) response {
	c.p.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{Response: resp, body: string(b)}
	if strings.HasPrefix(req.URL.Path, "/api/") {
		// A browser reaching the API (cookies are not tokens) gets documented answers too.
		var sent []byte
		if req.GetBody != nil {
			if body, err := req.GetBody(); err == nil {
				sent, _ = io.ReadAll(body)
			}
		}
		checkOpenAPI(c.p.t, req, sent, resp, b)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "rolegate_session" {
			c.csrf = "" // signed in or out: the token changes with the session
		}
	}
	if m := csrfField.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	return r
}

func (c *client) get(path string, hdr ...string) response {
	c.p.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.p.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

// postForm posts with the CSRF token last seen in a page (fetching /login first if none).
func (c *client) postForm(path string, v url.Values, hdr ...string) response {
	c.p.t.Helper()
	for _, page := range []string{"/login", "/account", "/setup"} {
		if c.csrf == "" {
			c.get(page)
		}
	}
	form := url.Values{} // a copy: callers reuse their values across clients
	for k, vals := range v {
		form[k] = append([]string(nil), vals...)
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf)
	}
	v = form
	return c.postRaw(path, v, hdr...)
}

// postConfirmed posts v as postForm does and, when the save is held back for its impact
// preview (409 with the preview), confirms it as a person would: posts again with the
// digest of the preview shown.
func (c *client) postConfirmed(path string, v url.Values, hdr ...string) response {
	c.p.t.Helper()
	r := c.postForm(path, v, hdr...)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "impact--held") {
		return r
	}
	held := r.body[strings.Index(r.body, "impact--held"):]
	const field = `name="impact" value="`
	i := strings.Index(held, field)
	if i < 0 {
		c.p.t.Fatalf("held save without a digest")
	}
	digest := held[i+len(field):]
	digest = digest[:strings.IndexByte(digest, '"')]
	return c.postForm(path, with(v, "impact", digest), hdr...)
}

// postRaw posts exactly v, with no token added.
func (c *client) postRaw(path string, v url.Values, hdr ...string) response {
	c.p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.p.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

func (c *client) login(email, password string) response {
	c.p.t.Helper()
	c.get("/login")
	return c.postForm("/login", url.Values{"email": {email}, "password": {password}})
}

func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.p.srv.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func (p *portal) count(table string) int {
	p.t.Helper()
	db := p.rawDB()
	defer db.Close()
	var n int
	// table is always a constant from the test itself.
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		p.t.Fatal(err)
	}
	return n
}

// rawDB opens the portal's database read-only, to check what requests left behind.
func (p *portal) rawDB() *sql.DB {
	p.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+p.dbPath+"?mode=ro")
	if err != nil {
		p.t.Fatal(err)
	}
	return db
}

// rawDBWrite opens the portal's database for a test to change what a page would (settings
// whose pages are tested elsewhere).
func (p *portal) rawDBWrite() *sql.DB {
	p.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+p.dbPath+"?_busy_timeout=5000")
	if err != nil {
		p.t.Fatal(err)
	}
	return db
}
