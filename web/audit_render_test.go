package web

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/rolegate/rolegate/internal/audit"
	av "github.com/rolegate/rolegate/views/audit"
)

// markup is the set of elements an audit row is made of; anything else in the rendered page
// came from an entry's data.
var markup = map[string]bool{"div": true, "table": true, "caption": true, "thead": true, "tbody": true, "tr": true, "th": true,
	"td": true, "span": true, "time": true, "p": true, "ul": true, "li": true, "details": true, "summary": true, "dl": true,
	"dt": true, "dd": true, "pre": true, "code": true, "section": true, "h2": true, "a": true}

// FuzzAuditRowMarkup: whatever an entry's before and after hold, and whatever its names are,
// the row the History panel renders is made only of the panel's own elements and attributes:
// the entry's text never becomes markup.
func FuzzAuditRowMarkup(f *testing.F) {
	f.Add(uint8(11), `{"name":"<script>alert(1)</script>"}`, `{"name":"<img src=x onerror=alert(1)>","permissions":["<b>x</b>"]}`, "Ζωή <i>")
	f.Add(uint8(12), `{"role":"\u003cscript\u003e"}`, `{"role_id":1,"role":"</td></tr><tr><td>","org":"\"><svg onload=x>"}`, "María López")
	f.Add(uint8(26), `{"time_zone":"<x>"}`, `not json <a href=javascript:x>`, "&lt;&amp;")
	describer := audit.Describer{Label: func(k string) string { return "<" + k + ">" }, Loc: time.UTC}
	f.Fuzz(func(t *testing.T, action uint8, before, after, name string) {
		e := audit.Entry{ID: 2, At: 1_767_225_600, ActorID: 1, ActorName: name, OrgName: name, Action: audit.Actions[int(action)%len(audit.Actions)],
			TargetType: "user", TargetID: 5, TargetName: name, Client: name, Before: json.RawMessage(before), After: json.RawMessage(after)}
		rows := auditRows(describer, time.UTC, audit.Group([]audit.Entry{e}))
		var b bytes.Buffer
		if err := av.History(av.HistoryView{Rows: rows, Zone: name, AllURL: "/audit"}).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		z := html.NewTokenizer(&b)
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			if !markup[tok.Data] {
				t.Fatalf("an entry's data became a <%s> element", tok.Data)
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(a.Key, "on") || a.Key == "src" || a.Key == "style" {
					t.Fatalf("an entry's data became an attribute %s=%q", a.Key, a.Val)
				}
			}
		}
	})
}
