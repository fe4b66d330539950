package orgs

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/rolegate/rolegate/views/layout"
)

func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

var page = layout.Page{Title: "Organisations", CSRF: "tok", User: &layout.User{Name: "Ana Ruiz"}}

func TestTreeNestsAndEscapes(t *testing.T) {
	v := TreeView{Page: page, Name: `<b>typed</b>`, TopLevel: true, Problems: map[string]string{"name": "This field is required."},
		Parents: []Option{{ID: 1, Label: "Northside"}, {ID: 2, Label: "Northside › East", Selected: true}},
		Roots: []Node{{ID: 1, Name: "Northside", Staff: 1, Roles: 8, Children: []Node{
			{ID: 2, Name: `East <script>`, Staff: 2, OneRole: true, Children: []Node{{ID: 3, Name: "Annex"}}}}}}}
	doc := render(t, Tree(v))
	if got := doc.Find(`[data-name="Annex"]`).ParentsFiltered(`[data-testid=org-node]`).Length(); got != 2 {
		t.Fatalf("Annex sits inside %d tree nodes, want 2 (East, Northside)", got)
	}
	east := doc.Find(`[data-name="East <script>"] > .org-node`)
	if east.Find("a").Text() != "East <script>" || east.Find("script").Length() != 0 {
		t.Fatal("a name is not escaped")
	}
	if got := east.Find("[data-testid=org-staff]").Text(); got != "2 staff" {
		t.Errorf("staff count %q", got)
	}
	if got := doc.Find(`[data-name="Annex"] [data-testid=org-roles]`).Text(); got != "0 roles" {
		t.Errorf("roles count %q", got)
	}
	if east.Find(".badge").Last().Text() != "One role per person" {
		t.Error("the role mode badge is missing")
	}
	if v, _ := doc.Find("#f-name").Attr("value"); v != "<b>typed</b>" {
		t.Errorf("typed name %q", v)
	}
	if d, _ := doc.Find("#f-name").Attr("aria-describedby"); d != "f-name-problem" || doc.Find("#f-name-problem").Text() != "This field is required." {
		t.Error("the problem is not tied to the field")
	}
	if doc.Find(`#org-parent option[selected]`).Text() != "Northside › East" || doc.Find(`#org-parent option[value="0"]`).Length() != 1 {
		t.Error("the parent picker")
	}
	if doc.Find(`[data-testid=new-org-form] input[name=_csrf][value=tok]`).Length() != 1 {
		t.Error("no CSRF field")
	}
}

func TestOrgPage(t *testing.T) {
	v := OrgView{Page: page, ID: 2, Name: "East", NameValue: "East", Path: []Crumb{{ID: 1, Name: "Northside", Link: false}},
		RoleMode: "one", LimitVisibility: "no", MoveNote: "It is inside Northside, which you do not manage, so you cannot move it.",
		Problems: map[string]string{"role_mode": "These people hold several: Ben (Nurse, Staff).", "perm.billing.view": "Not held."},
		Groups: []DefaultGroup{{Name: "Patients", Rows: []DefaultRow{
			{Key: "patients.view", Label: "View patient data", Field: "perm.patients.view", Effect: "inherit", Mandatory: true},
			{Key: "billing.view", Label: "View billing", Field: "perm.billing.view", Effect: "inherit", AllowLocked: true, Problem: "Not held."},
			{Key: "billing.manage", Label: "Manage billing", Field: "perm.billing.manage", Effect: "allow", AllowLocked: true},
		}}}}
	doc := render(t, Org(v))
	if doc.Find(".crumbs a").Length() != 1 || !strings.Contains(doc.Find(".crumbs").Text(), "Northside") {
		t.Error("breadcrumb: an ancestor one may not open is named, not linked")
	}
	if doc.Find("[data-testid=move-form]").Length() != 0 || doc.Find("[data-testid=move-note]").Text() != v.MoveNote {
		t.Error("without anywhere to move it, the page says why instead of a form")
	}
	if doc.Find("[data-testid=role-mode-one][checked]").Length() != 1 || doc.Find("[data-testid=role-mode-many][checked]").Length() != 0 {
		t.Error("role mode one not checked")
	}
	if doc.Find("[data-testid=visibility-no][checked]").Length() != 1 {
		t.Error("visibility No not checked")
	}
	if doc.Find("[data-testid=problem-role_mode]").Text() != v.Problems["role_mode"] {
		t.Error("the role mode problem is missing")
	}
	if doc.Find("fieldset.defaults-group > legend").Text() != "Patients" {
		t.Error("each category is a fieldset with a legend")
	}
	if doc.Find(`select[name="perm.patients.view"]`).Length() != 0 {
		t.Error("a mandatory permission offers a default")
	}
	if doc.Find(`#d-billing\.view option[value=allow][disabled]`).Length() != 1 {
		t.Error("Allow is not locked for a permission the viewer may not grant")
	}
	if doc.Find(`#d-billing\.manage option[value=allow][disabled]`).Length() != 0 || doc.Find(`#d-billing\.manage option[value=allow][selected]`).Length() != 1 {
		t.Error("the current Allow must stay selectable")
	}
	if inv, _ := doc.Find(`#d-billing\.view`).Attr("aria-invalid"); inv != "true" || doc.Find(`[data-testid="problem-d-billing.view"]`).Text() != "Not held." {
		t.Error("the default's problem is not beside its select")
	}
	if doc.Find(`label[for="d-billing.view"]`).Text() != "View billing" {
		t.Error("the select has no label")
	}
}
