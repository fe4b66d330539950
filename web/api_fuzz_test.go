package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseBatch: whatever the body of POST /api/v1/check holds, the parser never panics,
// never accepts more than MaxBatch questions (nor none), every question it accepts has a user
// and a permission, and every refusal is a 422 problem saying what was wrong.
func FuzzParseBatch(f *testing.F) {
	many := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"user": %d, "permission": "billing.view", "org": 1}`, i+1)
		}
		return `{"checks": [` + strings.Join(items, ",") + `]}`
	}
	for _, seed := range []string{
		many(1), many(100), many(101), `{"checks": []}`, `{"checks": null}`, `{}`, `[]`, `null`, ``,
		`{"checks": [{"user": "ben@example.org", "permission": "billing.view"}]}`,
		`{"checks": [{"user": "", "permission": "billing.view"}]}`,
		`{"checks": [{"user": 1.5e3, "permission": "x", "org": "7"}]}`,
		`{"checks": [{"user": true, "permission": "x", "org": {}}]}`,
		`{"checks": [{"user": 1, "permission": 5}]}`,
		`{"checks": "no"`, `{"checks": [1, 2]}`, `{"CHECKS": [{"USER": 1, "Permission": "p"}]} trailing`,
		`{"checks": [{"user": "\u0000", "permission": "\ud800"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		qs, err := ParseBatch(strings.NewReader(string(body)))
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusUnprocessableEntity || ae.detail == "" {
				t.Fatalf("refusal %v is not a 422 problem", err)
			}
			if qs != nil {
				t.Fatalf("a refusal came with %d questions", len(qs))
			}
			return
		}
		if len(qs) == 0 || len(qs) > MaxBatch {
			t.Fatalf("accepted %d checks", len(qs))
		}
		for i, q := range qs {
			if q.User == "" || q.Permission == "" {
				t.Fatalf("check %d accepted without user or permission: %+v", i, q)
			}
		}
	})
}

// FuzzCheckQueryParsing: CheckQuery reads a query exactly as url.ParseQuery would, for the
// three parameters it reads (first value, given or not, given twice).
func FuzzCheckQueryParsing(f *testing.F) {
	for _, seed := range []string{
		"user=7&permission=billing.view&org=1", "user=ana%40example.org&permission=billing.view",
		"user=1&user=2", "org=&user=1", "org", "org=1;user=2", "us%65r=5&permission=a+b", "user=%zz&user=3",
		"permission=%E2%82%AC&&org=2&org=3", "=1&user==", "user=1%", "ORG=1", "user=%2B%26",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, twice := CheckQuery(raw)
		want, _ := url.ParseQuery(raw)
		wantTwice := ""
		for _, k := range []string{"user", "permission", "org"} {
			if len(want[k]) > 1 {
				wantTwice = k
				break
			}
		}
		_, orgGiven := want["org"]
		if q.User != want.Get("user") || q.Permission != want.Get("permission") || q.Org != want.Get("org") ||
			q.OrgGiven != orgGiven || twice != wantTwice {
			t.Fatalf("CheckQuery(%q) = %+v, twice %q; url.ParseQuery: %v", raw, q, twice, want)
		}
	})
}
