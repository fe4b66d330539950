package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/rolegate/rolegate/web"
)

// The OpenAPI document (web/openapi.json) is held to what the handlers do: every API request
// the suite makes through p.api or a client is checked against it, answer and all.

var spec struct {
	once sync.Once
	doc  libopenapi.Document
	v    validator.Validator
	err  error
	mu   sync.Mutex // one validation at a time: the validator's caches are shared
}

func openAPIValidator(t testing.TB) (libopenapi.Document, validator.Validator) {
	t.Helper()
	spec.once.Do(func() {
		raw, err := os.ReadFile("openapi.json")
		if err != nil {
			spec.err = err
			return
		}
		spec.doc, spec.err = libopenapi.NewDocument(raw)
		if spec.err != nil {
			return
		}
		v, errs := validator.NewValidator(spec.doc, config.WithFormatAssertions())
		if len(errs) > 0 {
			spec.err = fmt.Errorf("%v", errs)
			return
		}
		spec.v = v
	})
	if spec.err != nil {
		t.Fatalf("openapi.json: %v", spec.err)
	}
	return spec.doc, spec.v
}

// checkOpenAPI fails t when an API answer is not one the document describes, or when the
// server accepted (2xx) a request the document does not allow: either way the two drifted.
func checkOpenAPI(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	_, v := openAPIValidator(t)
	spec.mu.Lock()
	defer spec.mu.Unlock()
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	copied := *resp
	copied.Body = io.NopCloser(bytes.NewReader(respBody))
	where := req.Method + " " + req.URL.RequestURI()
	if ok, errs := v.ValidateHttpResponse(req, &copied); !ok {
		t.Errorf("%s: the %d answer is not what openapi.json says:%s\n%s", where, resp.StatusCode, describe(errs), respBody)
	}
	if resp.StatusCode < 300 && !answeredInPlace(req, respBody) {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if ok, errs := v.ValidateHttpRequestSync(req); !ok {
			t.Errorf("%s: the server accepted a request openapi.json does not allow:%s", where, describe(errs))
		}
	}
}

// answeredInPlace reports a batch check whose bad questions were answered as problems in
// their place: the server accepts such a batch by design, so its request may be invalid.
func answeredInPlace(req *http.Request, respBody []byte) bool {
	if req.Method != http.MethodPost || req.URL.Path != "/api/v1/check" {
		return false
	}
	var out struct{ Results []map[string]any }
	_ = json.Unmarshal(respBody, &out)
	for _, r := range out.Results {
		if _, isProblem := r["status"]; isProblem {
			return true
		}
	}
	return false
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s", f.Error())
		}
	}
	return b.String()
}

// The document parses, is valid OpenAPI 3.1, is what /api/v1/openapi.json serves, and lists
// every /api/v1 route of the route table with its method, and nothing else.
func TestOpenAPIDocumentListsEveryRoute(t *testing.T) {
	doc, v := openAPIValidator(t)
	if ok, errs := v.ValidateDocument(); !ok {
		t.Fatalf("openapi.json is not a valid OpenAPI document:%s", describe(errs))
	}
	if doc.GetVersion() != "3.1.0" {
		t.Errorf("OpenAPI version %q, want 3.1.0", doc.GetVersion())
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	param := regexp.MustCompile(`:([a-z]+)`)
	routes := map[string]bool{}
	for _, r := range web.RouteTable(web.Deps{}) {
		if strings.HasPrefix(r.Path, "/api/") {
			routes[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
		}
	}
	for route := range routes {
		if !documented[route] {
			t.Errorf("%s is in the route table but not in openapi.json", route)
		}
	}
	for route := range documented {
		if !routes[route] {
			t.Errorf("%s is in openapi.json but not in the route table", route)
		}
	}
	if len(routes) < 13 {
		t.Errorf("only %d API routes", len(routes))
	}

	p := newPortal(t, true)
	r := p.api("", "GET", "/api/v1/openapi.json", "")
	raw, _ := os.ReadFile("openapi.json")
	if r.status != http.StatusOK || r.body != string(raw) || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/openapi.json: %d %q, not the document", r.status, r.header.Get("Content-Type"))
	}
}

// Every operation documents the refusals every token route can give, and each 4xx is a
// problem document.
func TestOpenAPIDocumentsTheRefusals(t *testing.T) {
	doc, _ := openAPIValidator(t)
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			var codes []string
			for code, resp := range op.Responses.Codes.FromOldest() {
				codes = append(codes, code)
				if code >= "400" && resp.Content.GetOrZero("application/problem+json") == nil {
					t.Errorf("%s %s: %s is not a problem document", method, path, code)
				}
			}
			if path == "/api/v1/openapi.json" {
				continue
			}
			for _, need := range []string{"401", "403", "429", "500"} {
				if !slices.Contains(codes, need) {
					t.Errorf("%s %s does not document %s", method, path, need)
				}
			}
		}
	}
}

// The validator itself catches drift: an answer with a field the document does not name, a
// decided_by outside the enum, or an undocumented status fails.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	_, v := openAPIValidator(t)
	req, _ := http.NewRequest("GET", "http://portal.test/api/v1/check?user=1&permission=billing.view&org=1", nil)
	req.Header.Set("Authorization", "Bearer rgt_x")
	answer := func(status int, body string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
	}
	good := `{"allowed":true,"user":{"id":1,"email":"a@b.c"},"permission":"billing.view","org":{"id":1,"name":"N"},"decided_by":"role","reason":"r"}`
	for name, c := range map[string]struct {
		resp *http.Response
		ok   bool
	}{
		"the answer":        {answer(200, good), true},
		"an extra field":    {answer(200, strings.Replace(good, `"reason"`, `"extra":1,"reason"`, 1)), false},
		"a missing field":   {answer(200, strings.Replace(good, `"allowed":true,`, ``, 1)), false},
		"unknown step":      {answer(200, strings.Replace(good, `"role"`, `"luck"`, 1)), false},
		"undocumented code": {answer(418, good), false},
	} {
		spec.mu.Lock()
		ok, _ := v.ValidateHttpResponse(req, c.resp)
		spec.mu.Unlock()
		if ok != c.ok {
			t.Errorf("%s: valid %v, want %v", name, ok, c.ok)
		}
	}
}

// Every operation is called at least once with a successful answer (and the refusals a
// script meets often), so each schema of the document is held to a real answer.
func TestOpenAPIEveryOperationAnswersAsDocumented(t *testing.T) {
	p := newPortal(t, true)
	_, ben := p.person("ben@example.org", p.roleID("BILLING_STAFF"))
	nurse := p.roleID("NURSE")
	desk := p.customRole("Night Desk", "billing.view")
	if err := p.store.SetRoleHolders(context.Background(), desk, 1, []int64{ben}, nil, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.app.Access.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok := p.token(1, 1, "check", "read", "write")
	cases := []struct {
		route, method, path, body string
		want                      int
	}{
		{"POST /api/v1/roles/{id}/preview", "POST", fmt.Sprintf("/api/v1/roles/%d/preview", desk), `{"permissions": ["billing.view", "patients.export"]}`, 200},
		{"POST /api/v1/roles/{id}/preview", "POST", fmt.Sprintf("/api/v1/roles/%d/preview", desk), `{"permissions": ["no.such"]}`, 422},
		{"POST /api/v1/roles/{id}/preview", "POST", fmt.Sprintf("/api/v1/roles/%d/preview", nurse), `{"permissions": []}`, 403},
		{"GET /api/v1/openapi.json", "GET", "/api/v1/openapi.json", "", 200},
		{"GET /api/v1/check", "GET", "/api/v1/check?user=ben@example.org&permission=billing.view", "", 200},
		{"GET /api/v1/check", "GET", fmt.Sprintf("/api/v1/check?user=%d&permission=roles.manage&org=1", ben), "", 200},
		{"GET /api/v1/check", "GET", "/api/v1/check?user=nobody@example.org&permission=billing.view&org=1", "", 404},
		{"GET /api/v1/check", "GET", "/api/v1/check?user=1&permission=billing.view&org=", "", 422},
		{"GET /api/v1/check", "GET", "/api/v1/check?user=1&user=2&permission=billing.view", "", 422},
		{"POST /api/v1/check", "POST", "/api/v1/check", fmt.Sprintf(`{"checks": [{"user": %d, "permission": "billing.view", "org": "1"},
			{"user": "ben@example.org", "permission": "no.such"}, {"user": 999999, "permission": "billing.view", "org": 1},
			{"user": 1, "permission": "billing.view", "org": 999999}, {"user": 1, "permission": "billing.view", "org": true}]}`, ben), 200},
		{"POST /api/v1/check", "POST", "/api/v1/check", `{"checks": []}`, 422},
		{"POST /api/v1/check", "POST", "/api/v1/check", `{"checks": [` + strings.Repeat(" ", 1<<20) + `]}`, 413},
		{"GET /api/v1/users/{user}/permissions", "GET", fmt.Sprintf("/api/v1/users/%d/permissions?org=1", ben), "", 200},
		{"GET /api/v1/permissions/{key}/holders", "GET", "/api/v1/permissions/billing.view/holders?org=1", "", 200},
		{"GET /api/v1/permissions/{key}/holders", "GET", "/api/v1/permissions/no.such/holders?org=1", "", 404},
		{"GET /api/v1/roles", "GET", "/api/v1/roles?org=1", "", 200},
		{"GET /api/v1/roles/{id}", "GET", fmt.Sprintf("/api/v1/roles/%d", nurse), "", 200},
		{"GET /api/v1/roles/{id}", "GET", "/api/v1/roles/999999", "", 404},
		{"GET /api/v1/roles/{id}/holders", "GET", fmt.Sprintf("/api/v1/roles/%d/holders", p.roleID("BILLING_STAFF")), "", 200},
		{"GET /api/v1/users", "GET", "/api/v1/users?org=1&q=ben", "", 200},
		{"POST /api/v1/users/{user}/roles", "POST", fmt.Sprintf("/api/v1/users/%d/roles", ben), fmt.Sprintf(`{"role": %d, "org": 1}`, nurse), 201},
		{"POST /api/v1/users/{user}/roles", "POST", fmt.Sprintf("/api/v1/users/%d/roles", ben), `{"role": 0, "org": 1}`, 422},
		{"POST /api/v1/users/{user}/roles", "POST", fmt.Sprintf("/api/v1/users/%d/roles", ben), fmt.Sprintf(`{"role": "%d", "until": "2030-01-01"}`, p.roleID("STAFF")), 201},
		{"POST /api/v1/users/{user}/roles", "POST", fmt.Sprintf("/api/v1/users/%d/roles", ben), fmt.Sprintf(`{"role": "%d", "until": "2020-01-01T00:00:00Z"}`, p.roleID("STAFF")), 422},
		{"POST /api/v1/users/{user}/roles", "POST", fmt.Sprintf("/api/v1/users/%d/roles", ben), fmt.Sprintf(`{"role": "%d", "until": "next week"}`, p.roleID("STAFF")), 422},
		{"DELETE /api/v1/users/{user}/roles/{role}", "DELETE", fmt.Sprintf("/api/v1/users/%d/roles/%d?org=1", ben, nurse), "", 204},
		{"POST /api/v1/invitations", "POST", "/api/v1/invitations", fmt.Sprintf(`{"email": "zoe@example.org", "name": "Zoë", "org": 1, "role": %d}`, p.roleID("MEMBER")), 201},
		{"GET /api/v1/audit", "GET", "/api/v1/audit?org=1&limit=2", "", 200},
		{"GET /api/v1/audit", "GET", "/api/v1/audit?org=1&limit=0", "", 422},
		{"GET /api/v1/audit", "GET", "/api/v1/audit?org=1&after=x", "", 422},
	}
	succeeded := map[string]bool{}
	for _, c := range cases {
		r := p.api(tok, c.method, c.path, c.body)
		if r.status != c.want {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, r.status, c.want, r.body)
		}
		if r.status < 300 {
			succeeded[c.route] = true
		}
	}
	// The audit cursor pages on to the end.
	after := "0"
	for range 100 {
		r := p.api(tok, "GET", "/api/v1/audit?org=1&limit=3&after="+after, "")
		var page struct{ Next string }
		if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != http.StatusOK {
			t.Fatalf("audit after %q: %d %s", after, r.status, r.body)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	param := regexp.MustCompile(`:([a-z]+)`)
	for _, r := range web.RouteTable(web.Deps{}) {
		route := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		if strings.HasPrefix(r.Path, "/api/") && !succeeded[route] {
			t.Errorf("no successful call of %s checks its answer against the document", route)
		}
	}
}

// FuzzCheckQuery: whatever query GET /api/v1/check is sent, through the real router, it
// never fails (500) or panics; it answers 200 with the answer the document describes, or a
// 403/404/422 problem (the document holds both, request and answer, via checkOpenAPI).
func FuzzCheckQuery(f *testing.F) {
	for _, seed := range []string{
		"user=1&permission=billing.view&org=1", "user=ben@example.org&permission=billing.view",
		"user=2&permission=no.such&org=1", "user=1&permission=billing.view&org=x", "permission=billing.view",
		"user=1&permission=billing.view&org=999999", "user=1&permission=billing.view&org=-1",
		"user=1&user=2&permission=billing.view&permission=roles.manage&org=1&org=2",
		"user=%00&permission=%ff&org=1e3", "user=" + strings.Repeat("a", 300) + "@x&permission=billing.view",
		"user=9223372036854775808&permission=billing.view&org=9223372036854775808", "%zz", "",
	} {
		f.Add(seed)
	}
	p := newPortal(f, true)
	p.person("ben@example.org", p.roleID("BILLING_STAFF"))
	f.Fuzz(func(t *testing.T, query string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) {
			return // not a query an HTTP client sends as it is: nothing to check
		}
		// A token of its own per input: fuzzing sends far more than one token's rate allows.
		r := p.apiT(t, p.tokenT(t, 1, 1, "check"), "GET", "/api/v1/check?"+query, "")
		switch r.status {
		case http.StatusOK, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("?%s: %d %s", query, r.status, r.body)
		}
	})
}
