package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/store"
)

// A signed-in person refused by forward-auth sees why, and whom to ask (issue 12 item 4): the
// browser opens /auth/forward itself, with the headers a proxy would add.
func TestForwardAuthRefusalPage(t *testing.T) {
	p := startPortal(t, func(c *config.Config) { c.TrustedProxySetting("127.0.0.1") })
	b := newBrowser(t)
	b.setUp(p)
	protectedTool(t, p, "billing.manage")
	staffWithRole(t, p, "zoe@northside.example", "Zoë Front", "the front desk's passphrase", "STAFF")
	z := b.freshContext()
	z.visit(p.URL, "/login")
	z.signIn("zoe@northside.example", "the front desk's passphrase")
	z.do("ask as the proxy would", proxyHeaders(network.Headers{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "reports.clinic.example",
		"X-Forwarded-Uri": "/q3", "X-Forwarded-Method": "GET"}),
		chromedp.Navigate(p.URL+"/auth/forward"), chromedp.WaitVisible(chromedp.CSS(testid("refusal"))))
	for id, want := range map[string]string{"refusal-app": "Billing reports", "refusal-permission": "Manage billing", "refusal-permission-key": "billing.manage",
		"refusal-org": "Northside Practice", "refusal-reason": "No role, override or default grants it.", "refusal-grantor": "Ana Ruiz"} {
		if got := z.text(testid(id)); strings.TrimSpace(got) != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	if got := z.text("h1"); got != "You do not have access to Billing reports" {
		t.Errorf("heading %q", got)
	}
	z.checkA11y("forward-auth refusal")
	z.screenshot("forward-refusal")
	z.do("stop acting as a proxy", proxyHeaders(network.Headers{}))
}

// protectedTool protects "Billing reports" at reports.clinic.example with perm in org 1.
func protectedTool(t *testing.T, p *portal, perm string) {
	t.Helper()
	if _, err := p.App.Store.CreateApp(context.Background(), store.NewApp{Name: "Billing reports", Host: "reports.clinic.example", PathPrefix: "/",
		OrgID: 1, Permission: perm, CreatedBy: 1}); err != nil {
		t.Fatal(err)
	}
}

// staffWithRole adds someone to org 1 with a password and the system role code, and returns
// their id.
func staffWithRole(t *testing.T, p *portal, email, name, password, code string) int64 {
	t.Helper()
	ctx := context.Background()
	st := p.App.Store
	hash, err := auth.HashPassword(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st.AddStaff(ctx, []store.NewStaff{{Email: email, Name: name, PasswordHash: hash, OrgID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	roles, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: 1, Q: code, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Code == code {
			if err := st.SetRoleHolders(ctx, r.ID, 1, ids, nil, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids[0]
}

// proxyHeaders makes the browser send h with every request, as a reverse proxy asking
// forward-auth would (nil headers: stop).
func proxyHeaders(h network.Headers) chromedp.Action[chromedp.Void] {
	return chromedp.Action[chromedp.Void](func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h})
		return chromedp.Void{}, err
	})
}
