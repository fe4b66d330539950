package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
)

// visibilityTree is PRODUCT.md §2.6's setting at work on A → A1 → A11 with a sibling A2, a
// person in two organisations, an admin of A1 and the global admin.
type visibilityTree struct {
	p               *portal
	a1, a11, a2     int64
	role            int64 // a role of A1
	people          map[string]int64
	a1Admin, global *client
}

func newVisibilityTree(t *testing.T) *visibilityTree {
	p := newPortal(t, true)
	ctx := context.Background()
	v := &visibilityTree{p: p, people: map[string]int64{}}
	var err error
	if v.a1, err = p.store.CreateOrganisation(ctx, "A1 Clinic", 1); err != nil {
		t.Fatal(err)
	}
	if v.a11, err = p.store.CreateOrganisation(ctx, "A11 Ward", v.a1); err != nil {
		t.Fatal(err)
	}
	if v.a2, err = p.store.CreateOrganisation(ctx, "A2 Clinic", 1); err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.HashPassword(context.Background(), "a staff member password")
	for name, org := range map[string]int64{"root": 1, "inA1": v.a1, "inA11": v.a11, "inA2": v.a2, "both": v.a11, "a1admin": v.a1} {
		ids, err := p.store.AddStaff(ctx, []store.NewStaff{{Email: name + "@example.org", Name: name, PasswordHash: hash, OrgID: org}})
		if err != nil {
			t.Fatal(err)
		}
		v.people[name] = ids[0]
	}
	if _, err := p.store.AddStaff(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// "both" is also staff of A2.
	if err := p.store.AssignRole(ctx, v.people["both"], p.roleID("MEMBER"), v.a2, 0, 1); err != nil {
		t.Fatal(err)
	}
	orgAdmin := p.customRole("Org Admin", "staff.view", "staff.manage")
	if err := p.store.AssignRole(ctx, v.people["a1admin"], orgAdmin, v.a1, 0, 1); err != nil {
		t.Fatal(err)
	}
	if v.role, err = p.store.CreateRole(ctx, store.RoleInput{OrgID: v.a1, Code: "A1_DESK", Name: "A1 Desk", Active: true,
		Permissions: []string{"patients.view"}, ActorID: 1}); err != nil {
		t.Fatal(err)
	}
	v.a1Admin = p.client()
	if r := v.a1Admin.login("a1admin@example.org", "a staff member password"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.StatusCode)
	}
	v.global = p.client()
	v.global.login(adminEmail, adminPassword)
	return v
}

// limit sets "Limit organisation members visibility" of org, as the settings page does.
func (v *visibilityTree) limit(t *testing.T, org int64, yes bool) {
	t.Helper()
	db := v.p.rawDBWrite()
	defer db.Close()
	if _, err := db.Exec("UPDATE organisations SET limit_visibility = ? WHERE id = ?", yes, org); err != nil {
		t.Fatal(err)
	}
	if err := v.p.app.Access.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// seen lists who of everyone appears in body, as "name" testids or staff rows.
func (v *visibilityTree) seen(body string) []string {
	var out []string
	for _, name := range []string{"Ana Ruiz", "root", "inA1", "inA11", "inA2", "both", "a1admin"} {
		email := name + "@example.org"
		if name == "Ana Ruiz" {
			email = adminEmail
		}
		if strings.Contains(body, email) {
			out = append(out, name)
		}
	}
	return out
}

func TestMemberVisibility(t *testing.T) {
	v := newVisibilityTree(t)
	members := fmt.Sprintf("/roles/%d/members", v.role)
	cases := []struct {
		limit bool
		who   string
		page  string
		want  string
	}{
		// Yes: the admin of A1 sees the staff of A1 and below, nobody of A or A2 alone.
		{true, "a1admin", members, "[inA1 inA11 both a1admin]"},
		{true, "a1admin", "/staff", "[inA1 inA11 both a1admin]"},
		// No: every user in the system.
		{false, "a1admin", members, "[Ana Ruiz root inA1 inA11 inA2 both a1admin]"},
		{false, "a1admin", "/staff", "[Ana Ruiz root inA1 inA11 inA2 both a1admin]"},
		// A global admin always sees everyone.
		{true, "global", members, "[Ana Ruiz root inA1 inA11 inA2 both a1admin]"},
		{true, "global", "/staff", "[Ana Ruiz root inA1 inA11 inA2 both a1admin]"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("limit=%v %s %s", tc.limit, tc.who, tc.page), func(t *testing.T) {
			v.limit(t, v.a1, tc.limit)
			c := map[string]*client{"a1admin": v.a1Admin, "global": v.global}[tc.who]
			r := c.get(tc.page)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.StatusCode)
			}
			if got := fmt.Sprint(v.seen(r.body)); got != tc.want {
				t.Fatalf("sees %s, want %s", got, tc.want)
			}
		})
	}

	// Writes naming people outside one's visibility are refused, whatever the form showed.
	v.limit(t, v.a1, true)
	for _, who := range []string{"inA2", "root"} {
		before := v.p.holders(v.role)
		v.a1Admin.get(members)
		r := v.a1Admin.postForm(members, url.Values{"members": {fmt.Sprint(v.people[who])}})
		if r.StatusCode != http.StatusUnprocessableEntity || v.p.holders(v.role) != before {
			t.Fatalf("adding %s (invisible): %d, holders %s", who, r.StatusCode, v.p.holders(v.role))
		}
		if r := v.a1Admin.get(fmt.Sprintf("/staff/%d", v.people[who])); r.StatusCode != http.StatusForbidden {
			t.Fatalf("person page of %s (invisible): %d", who, r.StatusCode)
		}
	}
	// With No, the same write is allowed.
	v.limit(t, v.a1, false)
	v.a1Admin.get(members)
	if r := v.a1Admin.postConfirmed(members, url.Values{"members": {fmt.Sprint(v.people["inA2"])}}); r.StatusCode != http.StatusSeeOther ||
		v.p.holders(v.role) != fmt.Sprintf("[%d]", v.people["inA2"]) {
		t.Fatalf("adding inA2 with visibility No: %d, holders %s", r.StatusCode, v.p.holders(v.role))
	}
	if r := v.a1Admin.get(fmt.Sprintf("/staff/%d", v.people["root"])); r.StatusCode != http.StatusOK {
		t.Fatalf("person page of root with visibility No: %d", r.StatusCode)
	}
}
