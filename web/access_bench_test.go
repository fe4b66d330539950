package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/demo"
)

// accessBenchPortal is the demo group practice of n staff, its admin signed in.
func accessBenchPortal(b *testing.B, n int) *client {
	b.Helper()
	p := newPortal(b, false)
	const pw = "a demo passphrase for the access report"
	if _, err := demo.Seed(context.Background(), p.store, p.app.Access.Catalog(), pw, n); err != nil {
		b.Fatal(err)
	}
	c := p.client()
	if r := c.login(demo.AdminEmail, pw); r.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %d", r.StatusCode)
	}
	return c
}

// benchGet fetches path over loopback and returns the body's size and how often marker is in it.
func benchGet(b *testing.B, c *client, path, marker string) (int, int) {
	req, _ := http.NewRequest(http.MethodGet, c.p.srv.URL+path, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d", path, resp.StatusCode)
	}
	return len(body), strings.Count(string(body), marker)
}

// The access report of a group practice of 2,000 people (its group and four clinics), the
// whole printable page (issue 16: ≤ 1 s).
func BenchmarkAccessReport2k(b *testing.B) {
	c := accessBenchPortal(b, 2_000)
	var size, members int
	b.ResetTimer()
	for b.Loop() {
		size, members = benchGet(b, c, "/access/report?org=1", `<td class="report-email">`)
	}
	b.ReportMetric(float64(members), "members")
	b.ReportMetric(float64(size)/1e6, "MB")
}

// Who can… in the same practice: a permission every member holds (2,001 rows) and one
// that about a fifth hold through their roles.
func BenchmarkWhoCan2k(b *testing.B) {
	c := accessBenchPortal(b, 2_000)
	for _, perm := range []string{"patients.view", "patients.export"} {
		b.Run(perm, func(b *testing.B) {
			var rows int
			for b.Loop() {
				_, rows = benchGet(b, c, "/access/who?org=1&permission="+perm, `data-testid="who-row"`)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
