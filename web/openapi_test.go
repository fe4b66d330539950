package web_test

import (
	"bytes"
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
	if resp.StatusCode < 300 {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if ok, errs := v.ValidateHttpRequestSync(req); !ok {
			t.Errorf("%s: the server accepted a request openapi.json does not allow:%s", where, describe(errs))
		}
	}
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
