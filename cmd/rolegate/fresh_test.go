package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/demo"
	"github.com/rolegate/rolegate/internal/store"
)

// A running server and another process on one database: what the other process commits (a
// CLI command, or any writer through the store) decides the server's very next request —
// a token made and revoked, a person disabled, sessions ended, an application added.
func TestServerSeesOtherProcessesChangesOnTheNextRequest(t *testing.T) {
	env, db, _ := demoDB(t)
	base, _ := serveChild(t, db)
	ctx := context.Background()
	get := func(c *http.Client, path string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// A token made by the command line works at once.
	out, err := runCmd(t, env, "token", "create", "--org", "1", "--name", "EHR bridge", "--scopes", "check", "--as", demo.AdminEmail)
	if err != nil {
		t.Fatalf("token create: %q %v", out, err)
	}
	bearer := "Bearer " + strings.TrimSpace(out)
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ana, err := st.UserByEmail(ctx, demo.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := st.ListStaff(ctx, store.StaffQuery{OrgIDs: []int64{1}, Status: "active", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var other store.StaffRow
	for _, r := range rows {
		if r.UserID != 0 && r.UserID != ana.ID {
			other = r
			break
		}
	}
	check := "/api/v1/check?permission=staff.view&org=1&user=" + url.QueryEscape(other.Email)
	if code, body := get(plain, check, "Authorization", bearer); code != http.StatusOK || strings.Contains(body, `"decided_by":"disabled"`) {
		t.Fatalf("check with a token made by another process: %d %s", code, body)
	}

	// A person disabled by another process is disabled for the next question.
	if err := st.SetDisabled(ctx, other.UserID, []int64{1}, true, ana.ID); err != nil {
		t.Fatal(err)
	}
	if code, body := get(plain, check, "Authorization", bearer); code != http.StatusOK || !strings.Contains(body, `"decided_by":"disabled"`) {
		t.Fatalf("after another process disabled %s: %d %s", other.Email, code, body)
	}

	// Sessions ended by another process end on the next request.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: plain.CheckRedirect}
	_, form := get(browser, "/login")
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(form)
	if csrf == nil {
		t.Fatal("no CSRF token on /login")
	}
	resp, err := browser.PostForm(base+"/login", url.Values{"_csrf": {csrf[1]}, "email": {demo.AdminEmail}, "password": {"correct horse battery staple"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _ := get(browser, "/staff"); code != http.StatusOK {
		t.Fatalf("signed in: /staff %d", code)
	}
	if err := st.DeleteUserSessions(ctx, ana.ID, []int64{1}, ana.ID); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(browser, "/staff"); code != http.StatusSeeOther {
		t.Fatalf("after another process ended the sessions: /staff %d, want the way to sign in", code)
	}

	// An application added on the command line gates its host at once.
	ask := func() int {
		code, _ := get(plain, "/auth/nginx", "X-Original-URL", "https://wiki.harbour.example/", "X-Original-Method", "GET")
		return code
	}
	if code := ask(); code != http.StatusForbidden {
		t.Fatalf("unknown host: %d", code)
	}
	if out, err := runCmd(t, env, "app", "add", "--name", "Wiki", "--host", "wiki.harbour.example", "--org", "1", "--permission", "staff.view"); err != nil {
		t.Fatalf("app add: %q %v", out, err)
	}
	if code := ask(); code != http.StatusUnauthorized {
		t.Fatalf("after app add: %d, want 401 (sign in)", code)
	}

	// A token revoked on the command line is refused on the next request.
	if out, err := runCmd(t, env, "token", "revoke", "1"); err != nil {
		t.Fatalf("token revoke: %q %v", out, err)
	}
	if code, body := get(plain, check, "Authorization", bearer); code != http.StatusUnauthorized {
		t.Fatalf("revoked by another process: %d %s", code, body)
	}
}
