package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// apiGet asks the running portal's API with a bearer token, as another tool would.
func apiGet(t *testing.T, base, token, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// An administrator makes a token on Integrations, sees it once, a tool uses it, and revoking
// it stops the tool at once (issue 11 item 2).
func TestIntegrationsTokens(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	b.do("open Integrations", chromedp.Click(chromedp.CSS(testid("user-menu")+" summary")), b.markPage(),
		chromedp.Click(chromedp.CSS(testid("menu-integrations"))))
	b.waitNewPage()
	b.checkA11y("integrations")
	b.do("a token without a scope", b.fill("#f-name", "EHR bridge"), chromedp.Click(chromedp.CSS(testid("scope-check"))), b.markPage(),
		chromedp.Click(chromedp.CSS(testid("create-token"))))
	b.waitNewPage()
	if got := b.text(testid("problem-scopes")); got != "Choose at least one scope." {
		t.Fatalf("no scope: %q", got)
	}
	if got := b.eval(`document.querySelector("#f-name").value`); got != "EHR bridge" {
		t.Fatalf("the name was not kept: %q", got)
	}
	b.do("with check and read", chromedp.Click(chromedp.CSS(testid("scope-check"))), chromedp.Click(chromedp.CSS(testid("scope-read"))),
		b.fill("#f-expires", "90"), b.markPage(), chromedp.Click(chromedp.CSS(testid("create-token"))))
	b.waitNewPage()
	secret := b.eval(`document.querySelector("[data-testid=token-value]").value`)
	if !strings.HasPrefix(secret, "rgt_") || len(secret) != 47 {
		t.Fatalf("token shown %q", secret)
	}
	if b.location() != "/integrations" {
		t.Errorf("after creating, the address is %s: a reload would post again", b.location())
	}
	rows := b.text(testid("tokens-table"))
	if !strings.Contains(rows, "EHR bridge") || strings.Contains(rows, secret) || !strings.Contains(rows, "check, read") {
		t.Fatalf("token list: %q", rows)
	}
	b.checkA11y("token just made")
	b.screenshot("integrations")

	status, ans := apiGet(t, p.URL, secret, "/api/v1/check?user=1&permission=billing.view&org=1")
	if status != http.StatusOK || ans["allowed"] != true || ans["decided_by"] != "global_admin" {
		t.Fatalf("the tool's check: %d %v", status, ans)
	}

	b.do("revoke", chromedp.Click(chromedp.CSS(testid("revoke-token"))), chromedp.WaitVisible(chromedp.CSS(testid("confirm-yes"))))
	b.checkA11y("revoke confirmation")
	b.do("confirm", b.markPage(), chromedp.Click(chromedp.CSS(testid("confirm-yes"))))
	b.waitNewPage()
	if !strings.Contains(b.text(testid("tokens-table")), "revoked") {
		t.Fatal("the list does not say revoked")
	}
	if status, _ := apiGet(t, p.URL, secret, "/api/v1/check?user=1&permission=billing.view&org=1"); status != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d, want 401", status)
	}
}

// An administrator protects a tool on Integrations, is told beside the field what is wrong,
// then edits it (the permission and the name, in Greek) and disables it; each change is in
// the list at once (issue 12 item 1).
func TestProtectedApplications(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	b.visit(p.URL, "/integrations")
	b.do("add with a path that climbs out", b.fill("#a-name", "Wiki"), b.fill("#a-host", "wiki.clinic.example"), b.fill("#a-path", "/docs/../admin"),
		chromedp.SetValue(chromedp.CSS("#a-permission"), "scheduling.access"), b.markPage(), chromedp.Click(chromedp.CSS(testid("create-app"))))
	b.waitNewPage()
	if got := b.text(".field--invalid .problem"); !strings.Contains(got, ". or ..") {
		t.Fatalf("the path's problem: %q", got)
	}
	if got := b.eval(`document.querySelector("#a-host").value`); got != "wiki.clinic.example" {
		t.Fatalf("the host was not kept: %q", got)
	}
	b.checkA11y("add application with a problem")
	b.do("add", b.fill("#a-path", "/"), b.fill("#a-public", "/health"), b.markPage(), chromedp.Click(chromedp.CSS(testid("create-app"))))
	b.waitNewPage()
	if rows := b.text(testid("apps-table")); !strings.Contains(rows, "wiki.clinic.example/") || !strings.Contains(rows, "scheduling.access") {
		t.Fatalf("after adding: %q", rows)
	}

	b.do("edit", b.markPage(), chromedp.Click(chromedp.CSS(testid("edit-app"))))
	b.waitNewPage()
	if got := b.eval(`document.querySelector("#a-public").value`); got != "/health" {
		t.Fatalf("the edit form does not hold the public path: %q", got)
	}
	b.checkA11y("edit application")
	const greek = "Ιατρικό wiki — Βόρεια Κλινική και Ανατολική Πτέρυγα"
	b.do("rename and require billing.view", b.fill("#a-name", greek), chromedp.SetValue(chromedp.CSS("#a-permission"), "billing.view"),
		b.fill("#a-public", ""))
	b.screenshot("app-edit")
	b.do("save", b.markPage(), chromedp.Click(chromedp.CSS(testid("save-app"))))
	b.waitNewPage()
	if b.location() != "/integrations" {
		t.Fatalf("after saving, at %s", b.location())
	}
	rows := b.text(testid("apps-table"))
	if !strings.Contains(rows, greek) || !strings.Contains(rows, "billing.view") || strings.Contains(rows, "scheduling.access") || strings.Contains(rows, "/health") {
		t.Fatalf("after the edit: %q", rows)
	}
	b.do("disable", b.markPage(), chromedp.Click(chromedp.CSS(testid("disable-app"))))
	b.waitNewPage()
	if !strings.Contains(b.text(testid("apps-table")), "disabled") {
		t.Fatal("the list does not say disabled")
	}
	b.checkA11y("applications list")
	b.do("phone", chromedp.EmulateViewport(390, 844))
	b.screenshot("apps-phone")
}
