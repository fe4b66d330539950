package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/demo"
	"github.com/rolegate/rolegate/internal/store"
)

// benchPortal is a portal with n extra roles and m staff in org 1, and a signed-in admin.
func benchPortal(b *testing.B, roles, people int) (*portal, *client) {
	b.Helper()
	p := newPortal(b, true)
	ctx := context.Background()
	for i := range roles {
		if _, err := p.store.CreateRole(ctx, store.RoleInput{OrgID: 1, Code: fmt.Sprintf("BENCH_%04d", i), Name: fmt.Sprintf("Bench role %04d", i),
			Active: true, Permissions: []string{"patients.view", "billing.view"}, ActorID: 1}); err != nil {
			b.Fatal(err)
		}
	}
	var staff []store.NewStaff
	for i := range people {
		staff = append(staff, store.NewStaff{Email: fmt.Sprintf("person%05d@example.org", i), Name: fmt.Sprintf("Person %05d %s", i, []string{"Smith", "Okafor", "Rossi", "Nguyen"}[i%4]),
			PasswordHash: "x", OrgID: 1})
	}
	if len(staff) > 0 {
		if _, err := p.store.AddStaff(ctx, staff); err != nil {
			b.Fatal(err)
		}
	}
	c := p.client()
	if r := c.login(adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %d", r.StatusCode)
	}
	return p, c
}

// The roles list page, 25 of 1,000 roles, rendered by the server (target ≤ 2 ms/op).
func BenchmarkRolesListPage(b *testing.B) {
	_, c := benchPortal(b, 1000, 0)
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, c.p.srv.URL+"/roles?org=1&page=3", nil)
		resp, err := c.http.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// Select members, searching 50,000 people (target ≤ 20 ms/op).
func BenchmarkMembersSearch50k(b *testing.B) {
	p, c := benchPortal(b, 0, 50_000)
	path := fmt.Sprintf("%s/roles/%d/members?q=okafor&page=40", c.p.srv.URL, p.roleID("STAFF"))
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("HX-Request", "true")
		req.Header.Set("HX-Target", "members-list")
		resp, err := c.http.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// The person page for someone holding 5 roles across 3 organisations, with overrides, in a
// portal of 200 people: effective permissions with reasons for the whole catalog (target
// ≤ 3 ms/op).
func BenchmarkPersonPage(b *testing.B) {
	p, c := benchPortal(b, 50, 200)
	ctx := context.Background()
	north, err := p.store.CreateOrganisation(ctx, "North Clinic", 1)
	if err != nil {
		b.Fatal(err)
	}
	south, err := p.store.CreateOrganisation(ctx, "South Clinic", 1)
	if err != nil {
		b.Fatal(err)
	}
	person, err := p.store.UserByEmail(ctx, "person00007@example.org")
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range []struct {
		code string
		org  int64
	}{{"STAFF", 1}, {"BILLING_STAFF", 1}, {"BENCH_0001", north}, {"BENCH_0002", north}, {"NURSE", south}} {
		if err := p.store.AssignRole(ctx, person.ID, p.roleID(a.code), a.org, 0, 1); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.store.SetOverride(ctx, person.ID, 1, "billing.manage", "deny", 1); err != nil {
		b.Fatal(err)
	}
	path := fmt.Sprintf("%s/staff/%d?org=%d", c.p.srv.URL, person.ID, north)
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.http.Get(path)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// The audit log page over 1,000,000 entries, with each kind of filter (target ≤ 50 ms/op).
// The entries are bulk-generated in SQL (their hashes are random: only paging speed is
// measured here; the chain is tested elsewhere).
func BenchmarkAuditPage1M(b *testing.B) {
	p, c := benchPortal(b, 0, 200)
	ctx := context.Background()
	for _, name := range []string{"North Clinic", "South Clinic"} {
		if _, err := p.store.CreateOrganisation(ctx, name, 1); err != nil {
			b.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite3", "file:"+p.dbPath+"?_busy_timeout=10000")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	actions := "'" + strings.Join(audit.Actions, "','") + "'"
	_, err = db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000),
		acts(k, a) AS (SELECT row_number() OVER () - 1, value FROM json_each('[' || replace(?, '''', '"') || ']'))
		INSERT INTO audit_log (id, at, actor_id, actor_name, org_id, org_name, action, target_type, target_id, target_name,
			before_json, after_json, client, prev_hash, hash)
		SELECT (SELECT coalesce(max(id), 0) FROM audit_log) + i, 1735689600 + i * 31, 2 + i % 200, 'Person', 1 + i % 3, 'Org',
			(SELECT a FROM acts WHERE k = i % ?), 'role', i % 500, 'Role', '{"name":"a"}', '{"name":"b"}', '127.0.0.1',
			randomblob(32), randomblob(32) FROM n`, actions, len(audit.Actions))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, query string }{
		{"newest", ""},
		{"action", "action=role.update"},
		{"organisation", "org=2"},
		{"person", "person=person00042@example.org"},
		{"week", "from=2025-03-01&to=2025-03-07"},
		{"action and week, older page", "action=override.set&from=2025-06-01&to=2025-09-30&before=500000"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			path := c.p.srv.URL + "/audit?" + tc.query
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("HX-Request", "true")
				req.Header.Set("HX-Target", "audit-table")
				resp, err := c.http.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				resp.Body.Close()
			}
		})
	}
}

// The staff list over 50,000 people: the first page, a page deep in, and a search (target
// ≥ 20 % of a bare handler serving the same bytes: issue 14).
func BenchmarkStaffPage50k(b *testing.B) {
	_, c := benchPortal(b, 0, 50_000)
	for _, tc := range []struct{ name, path string }{
		{"first", "/staff"}, {"page40", "/staff?page=40"}, {"search", "/staff?q=okafor&page=3"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := c.http.Get(c.p.srv.URL + tc.path)
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				resp.Body.Close()
			}
		})
	}
}

// The permission grid of an organisation whose Staff role is held by 20,000 of 50,000
// people: the grid shows roles × permissions, never their holders (issue 14).
func BenchmarkGrid50k(b *testing.B) {
	p, c := benchPortal(b, 0, 50_000)
	ids := make([]int64, 0, 20_000)
	for id := int64(2); len(ids) < 20_000; id++ {
		ids = append(ids, id)
	}
	if err := p.store.SetRoleHolders(context.Background(), p.roleID("STAFF"), 1, ids, nil, 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.http.Get(c.p.srv.URL + "/roles/grid?org=1")
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// One role edit end to end (the form's POST, the commit, the lock-out guard, the next
// snapshot) in a portal of 1,000, 10,000 and 100,000 people, a tenth of whom hold the role
// (issue 14: target ≤ 10 ms at 100,000 and within 2× of the 1,000 figure).
func BenchmarkRoleEdit(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p, c := benchPortal(b, 0, n)
			role := p.customRole("Front Desk", "patients.contact")
			holders := make([]int64, 0, n/10)
			for id := int64(2); len(holders) < n/10; id++ {
				holders = append(holders, id)
			}
			if err := p.store.SetRoleHolders(context.Background(), role, 1, holders, nil, 1); err != nil {
				b.Fatal(err)
			}
			c.get(fmt.Sprintf("/roles/%d/edit", role))
			perms := [][]string{{"patients.contact", "scheduling.access"}, {"patients.contact"}}
			version := 1
			for b.Loop() {
				r := c.postForm(fmt.Sprintf("/roles/%d", role), url.Values{"name": {"Front Desk"}, "status": {"active"},
					"version": {fmt.Sprint(version)}, "permissions": perms[version%2]})
				if r.StatusCode != http.StatusSeeOther {
					b.Fatalf("save %d: %d", version, r.StatusCode)
				}
				version++
			}
		})
	}
}

// 50 people saving role edits at once for 30 s (ROLEGATE_BENCH_SECONDS to change it) on the
// demo practice of 10,000 staff, each editing a role of their own that 100 people hold, over
// the real router (issue 14: ≥ 300 saves/s, p99 ≤ 100 ms, no errors, never "database is
// locked").
func BenchmarkConcurrentSaves10k(b *testing.B) {
	p := newPortal(b, false)
	ctx := context.Background()
	const pw = "a demo passphrase for the writers"
	if _, err := demo.Seed(ctx, p.store, p.app.Access.Catalog(), pw, 10_000); err != nil {
		b.Fatal(err)
	}
	c := p.client()
	if r := c.login(demo.AdminEmail, pw); r.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %d", r.StatusCode)
	}
	c.get("/account") // the session's CSRF token
	const writers = 50
	roles := make([]int64, writers)
	for i := range roles {
		roles[i] = p.customRole(fmt.Sprintf("Writer %d", i), "patients.contact")
		holders := make([]int64, 100)
		for j := range holders {
			holders[j] = int64(2 + (i*100+j)*7%9_000)
		}
		if err := p.store.SetRoleHolders(ctx, roles[i], 1, holders, nil, 1); err != nil {
			b.Fatal(err)
		}
	}
	seconds := 30
	if s, err := strconv.Atoi(os.Getenv("ROLEGATE_BENCH_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	perms := [][]string{{"patients.contact", "scheduling.access"}, {"patients.contact"}}
	for range b.N {
		var mu sync.Mutex
		var lat []time.Duration
		var failed, locked int
		deadline := time.Now().Add(time.Duration(seconds) * time.Second)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for version := 1; time.Now().Before(deadline); version++ {
					form := url.Values{"_csrf": {c.csrf}, "name": {fmt.Sprintf("Writer %d", w)}, "status": {"active"},
						"version": {fmt.Sprint(version)}, "permissions": perms[version%2]}
					req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/roles/%d", p.srv.URL, roles[w]), strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					t0 := time.Now()
					resp, err := c.http.Do(req)
					took := time.Since(t0)
					var body []byte
					if err == nil {
						body, _ = io.ReadAll(resp.Body)
						resp.Body.Close()
					}
					mu.Lock()
					lat = append(lat, took)
					if err != nil || resp.StatusCode != http.StatusSeeOther {
						failed++
						if strings.Contains(string(body), "database is locked") {
							locked++
						}
					}
					mu.Unlock()
					if err != nil || resp.StatusCode != http.StatusSeeOther {
						return // its version is lost: this writer stops
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		slices.Sort(lat)
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "saves/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(failed), "errors")
		b.ReportMetric(float64(locked), "locked")
	}
}

// The pages people open most, over loopback with 32 connections, side by side with a bare
// Echo handler serving the same bytes (sideBySide; issue 14: each ≥ 30 % of bare on the demo
// practice, ≥ 20 % at 50,000 staff). The admin is signed in; each request carries the
// session cookie.
func BenchmarkPages(b *testing.B) {
	for _, staff := range []int{demo.DefaultStaff, 50_000} {
		p := newPortal(b, false)
		const pw = "a demo passphrase for the pages"
		if _, err := demo.Seed(context.Background(), p.store, p.app.Access.Catalog(), pw, staff); err != nil {
			b.Fatal(err)
		}
		c := p.client()
		if r := c.login(demo.AdminEmail, pw); r.StatusCode != http.StatusSeeOther {
			b.Fatalf("sign in: %d", r.StatusCode)
		}
		session := c.cookie("rolegate_session")
		person := p.app.Access.Now().Data().Users[5].ID
		for _, path := range []string{"/roles", "/staff", fmt.Sprintf("/staff/%d", person), "/audit"} {
			page := c.get(path)
			if page.StatusCode != http.StatusOK {
				b.Fatalf("%s: %d", path, page.StatusCode)
			}
			body := []byte(page.body)
			e := echo.New()
			e.HideBanner, e.HidePort = true, true
			e.GET("/*", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, body) })
			bare := httptest.NewServer(e)
			ask := func(buf []byte, _ uint64) []byte {
				return getRequest(buf, path, "Cookie: "+session.Name+"="+session.Value)
			}
			name := strings.NewReplacer("/", "_", fmt.Sprint(person), "person").Replace(strings.TrimPrefix(path, "/"))
			b.Run(fmt.Sprintf("%s/%d", name, staff), func(b *testing.B) {
				sideBySide(b, 32, loadTarget{"bare", bare.URL, ask}, loadTarget{"rolegate", p.srv.URL, ask})
			})
			bare.Close()
		}
	}
}
