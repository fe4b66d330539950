package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// reviewBench is org 1 with 2,000 staff holding Staff (the first also Administrator), and a
// review of it started by the global admin with that administrator.
func reviewBench(b *testing.B) (*portal, *client, string) {
	b.Helper()
	p, c := benchPortal(b, 0, 2000)
	ctx := context.Background()
	ids := make([]int64, 2000)
	for i := range ids {
		ids[i] = int64(i + 2)
	}
	if err := p.store.SetRoleHolders(ctx, p.roleID("STAFF"), 1, ids, nil, 1); err != nil {
		b.Fatal(err)
	}
	if err := p.store.SetRoleHolders(ctx, p.roleID("ADMIN"), 1, ids[:1], nil, 1); err != nil {
		b.Fatal(err)
	}
	c.get("/account")
	r := c.postForm("/reviews", url.Values{"org": {"1"}, "reviewers": {"1", "2"}, "every_days": {"90"}, "due_days": {"14"}})
	if r.StatusCode != http.StatusSeeOther {
		b.Fatalf("start: %d %s", r.StatusCode, r.body)
	}
	return p, c, strings.TrimPrefix(r.Header.Get("Location"), "/reviews/")
}

// Starting a review of an organisation of 2,000 people: 2,002 items written in one
// transaction (with their last sign-in looked up in the audit log): about 7 ms on a 2-core
// machine.
func BenchmarkReviewStart2k(b *testing.B) {
	_, c, _ := reviewBench(b)
	b.ResetTimer()
	for range b.N {
		if r := c.postForm("/reviews", url.Values{"org": {"1"}, "reviewers": {"1", "2"}, "every_days": {"0"}, "due_days": {"14"}}); r.StatusCode != http.StatusSeeOther {
			b.Fatalf("start: %d", r.StatusCode)
		}
	}
}

// A review's page of 50 people out of 2,000, and Keep over htmx (the decision and the page
// it re-renders): about 13 and 16 ms on a 2-core machine.
func BenchmarkReviewPage2k(b *testing.B) {
	p, c, id := reviewBench(b)
	b.Run("page", func(b *testing.B) {
		for range b.N {
			if r := c.get("/reviews/" + id); r.StatusCode != http.StatusOK {
				b.Fatalf("page: %d", r.StatusCode)
			}
		}
	})
	b.Run("keep", func(b *testing.B) {
		items := strings.Fields(p.checksum("SELECT group_concat(id, ' ') FROM (SELECT id FROM access_review_items WHERE review_id = ? AND user_id <> 1 ORDER BY id)", id))
		if b.N > len(items) {
			b.Skipf("only %d items", len(items))
		}
		b.ResetTimer()
		for i := range b.N {
			r := c.postForm(fmt.Sprintf("/reviews/%s/items/%s", id, items[i]), url.Values{"decision": {"keep"}}, "HX-Request", "true")
			if r.StatusCode != http.StatusOK {
				b.Fatalf("keep: %d", r.StatusCode)
			}
		}
	})
}
