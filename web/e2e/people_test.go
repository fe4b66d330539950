package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
)

// TestActingOnPeopleWithinOnesAccess: a front-desk lead who may manage staff but holds no
// clinical or administration access opens the practice administrator's page and is offered
// nothing that would take access from her, with the reason said; on a colleague whose access
// is within hers, she disables the account.
func TestActingOnPeopleWithinOnesAccess(t *testing.T) {
	p := startPortal(t)
	b := newBrowser(t)
	b.setUp(p)
	ctx := context.Background()
	st := p.App.Store
	lead, err := st.CreateRole(ctx, store.RoleInput{OrgID: 1, Code: "FRONT_DESK_LEAD", Name: "Front Desk Lead", Active: true,
		Permissions: []string{"patients.view", "staff.manage", "staff.view"}, ActorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(context.Background(), "the front desk's passphrase")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st.AddStaff(ctx, []store.NewStaff{
		{Email: "lena.desk@northside.example", Name: "Lena Desk", PasswordHash: hash, OrgID: 1},
		{Email: "dana.whitfield@northside.example", Name: "Dana Whitfield", PasswordHash: "x", OrgID: 1},
		{Email: "zoe.angstrom@northside.example", Name: "Zoë Ångström", PasswordHash: "x", OrgID: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	var admin, member int64
	for _, r := range []struct {
		code string
		role *int64
	}{{"ADMIN", &admin}, {"MEMBER", &member}} {
		rows, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: 1, Q: r.code, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			if row.Code == r.code {
				*r.role = row.ID
			}
		}
	}
	for _, a := range []struct{ role, user int64 }{{lead, ids[0]}, {admin, ids[1]}, {member, ids[2]}} {
		if err := st.SetRoleHolders(ctx, a.role, 1, []int64{a.user}, nil, 1); err != nil {
			t.Fatal(err)
		}
	}

	lena := b.freshContext()
	lena.visit(p.URL, "/login")
	lena.signIn("lena.desk@northside.example", "the front desk's passphrase")
	lena.visit(p.URL, "/staff")
	lena.do("open Dana", chromedp.Click(chromedp.CSS(`a[href="/staff/`+itoa(ids[1])+`"]`)), chromedp.WaitVisible(chromedp.CSS(testid("person-limit"))))
	lena.checkA11y("the administrator's page, seen by the front-desk lead")
	limit := lena.text(testid("person-limit"))
	for _, want := range []string{"You can give Dana Whitfield roles here, but not take access from them", "you do not hold yourself", "Manage organisations", "and 14 more"} {
		if !strings.Contains(limit, want) {
			t.Fatalf("the page does not say why: %q lacks %q", limit, want)
		}
	}
	if got := lena.eval(`String(document.querySelectorAll("[data-testid=disable], [data-testid=person-sign-out], [data-testid^=remove-], select[data-testid^=ov-]").length)`); got != "0" {
		t.Fatalf("the administrator's page offers %s controls that would take her access", got)
	}
	lena.screenshot("person-limit")

	// A colleague whose access is within hers: she may disable the account.
	lena.visit(p.URL, "/staff/"+itoa(ids[2]))
	if got := lena.eval(`String(!!document.querySelector("[data-testid=person-limit]"))`); got != "false" {
		t.Fatal("a member's page says the lead cannot act on them")
	}
	lena.do("disable Zoë", lena.markPage(), chromedp.Click(chromedp.CSS(testid("disable"))))
	lena.waitNewPage()
	if got := lena.text(testid("person-status")); got != "Disabled" {
		t.Fatalf("after disabling, the status says %q", got)
	}
	lena.checkA11y("a disabled member's page")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
