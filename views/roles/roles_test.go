package roles

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

func formView() FormView {
	return FormView{
		Page: layout.Page{Title: "Add role", CSRF: "tok", User: &layout.User{Name: "Ana Ruiz"}}, OrgID: 1, OrgName: "Northside",
		Name: `<script>alert("x")</script>`, Status: "active", Code: "SCRIPT_ALERT_X_SCRIPT", Selected: 3, Total: 4,
		Groups: []Group{
			{Name: "Patients", Perms: []PermBox{
				{Key: "patients.view", Label: "View patient data", Checked: true, Mandatory: true},
				{Key: "patients.export", Label: "Export", Checked: true, Locked: true, LockReason: "You cannot grant this: you do not hold it yourself."},
				{Key: "patients.manage", Label: "Manage", Suggests: []string{"View identifiers"}, SuggestKeys: "patients.identifiers "},
			}},
			{Name: "Billing", Perms: []PermBox{{Key: "billing.view", Label: "View billing", Checked: true}}},
		},
		Problems: map[string]string{"name": "Use at least one letter."},
	}
}

func TestFormMatrix(t *testing.T) {
	doc := render(t, Form(formView()))
	if n := doc.Find("fieldset.perm-group").Length(); n != 2 {
		t.Fatalf("%d category fieldsets, want 2", n)
	}
	if doc.Find("fieldset.perm-group legend input[data-group-toggle]").Length() != 2 {
		t.Fatal("each category needs a group checkbox in its legend")
	}
	mandatory := doc.Find(`input[value="patients.view"][name=permissions]`)
	if _, checked := mandatory.Attr("checked"); !checked {
		t.Error("mandatory permission not ticked")
	}
	if _, disabled := mandatory.Attr("disabled"); !disabled {
		t.Error("mandatory permission not disabled")
	}
	locked := doc.Find(`#perm-patients\.export`)
	if title, _ := locked.Attr("title"); !strings.Contains(title, "you do not hold it") {
		t.Errorf("locked box has no reason: %q", title)
	}
	if doc.Find(`input[type=hidden][name=permissions][value="patients.export"]`).Length() != 1 {
		t.Error("a locked, ticked permission must still be sent")
	}
	if doc.Find(`[data-suggest-for="patients.manage"][hidden]`).Length() != 1 {
		t.Error("hint of an unticked permission must start hidden")
	}
	if got := doc.Find(`[data-testid=perm-count]`).Text(); got != "3 of 4 selected" {
		t.Errorf("count %q", got)
	}
	if got, _ := doc.Find("#f-name").Attr("value"); got != `<script>alert("x")</script>` {
		t.Errorf("name value %q", got)
	}
	if doc.Find("script:not([src])").Length() != 0 {
		t.Error("an inline script was rendered")
	}
	if got := doc.Find("#f-name-problem").Text(); got != "Use at least one letter." {
		t.Errorf("problem beside the name: %q", got)
	}
	if v, _ := doc.Find("#f-name").Attr("aria-invalid"); v != "true" {
		t.Error("invalid name not marked aria-invalid")
	}
}

func TestFormAsModal(t *testing.T) {
	v := formView()
	v.Modal = true
	doc := render(t, Form(v))
	if doc.Find("dialog.modal[data-modal] form#role-form").Length() != 1 {
		t.Fatal("modal form not inside a dialog")
	}
	if doc.Find("html").Length() != 0 && doc.Find("header.topbar").Length() != 0 {
		t.Fatal("the modal fragment carries the page frame")
	}
}

func TestTableEscapesAndPaginates(t *testing.T) {
	doc := render(t, Table(TableView{Rows: []Row{{ID: 7, Name: "<b>Bold</b>", Code: "BOLD", CanEdit: true}}, From: 26, To: 26, Total: 26,
		PrevURL: "/roles?org=1&page=1"}))
	if got := doc.Find("[data-testid=showing]").Text(); !strings.Contains(got, "Showing 26–26 of 26 records") {
		t.Errorf("showing %q", got)
	}
	if doc.Find("tbody b").Length() != 0 {
		t.Error("role name rendered as HTML")
	}
	if doc.Find(`a[rel=prev][hx-push-url=true]`).Length() != 1 {
		t.Error("Prev link should swap the table and push the URL")
	}
	if doc.Find(`a[rel=next]`).Length() != 0 {
		t.Error("no Next on the last page")
	}
}
