package rbac

import (
	"fmt"
	"testing"
	"unicode"
)

func TestZZProbe(t *testing.T) {
	e := func(s string) { _, err := ParseCatalog([]byte(s)); fmt.Printf("%q -> %v\n", s, err) }
	e("[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"},\n{\"key\":\"b\",\"category\":\"C\",\"label\":\"L\"},\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"}\n]")
	e("\n\n\n[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"},\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"}\n]")
	e("\n\n[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"},\n{\"key\" \"b\"}\n]")
	e("[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"}\n] ]")
	e("[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"}\n] }")
	e("[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"}\n] [")
	e("[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\", \"mandatory\": \"yes\"}\n]")
	e("[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\", \"foo\": 1}\n]")
	e("[\n{\"category\":\"C\",\"label\":\"L\"}\n]")
	e("[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"},\n{\"key\":\"b\",\"label\":\"L\"}\n]")
	e("null")
	e("")
	e("{}")
	e("[\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"}\n]")
	e("{\"permissions\": [\n{\"key\":\"a\",\"category\":\"C\",\"label\":\"L\"}\n], \"x\": 1}")
	fmt.Printf("%q %q %q\n", unicode.ToUpper('ß'), CodeFromName("Straße"), CodeFromName("Врач"))
	func() {
		defer func() { fmt.Println("recover:", recover()) }()
		s := NewSnapshot(DefaultCatalog(), Data{Orgs: []Org{{ID: 2, ParentID: 99, Name: "x"}}, Users: []User{{ID: 1}}, Members: []Membership{{1, 2}}})
		fmt.Println(s.Ancestry(2), s.Can(1, 2, "billing.view"))
	}()
}
