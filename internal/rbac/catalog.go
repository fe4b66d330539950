// Package rbac is the heart of Rolegate: the permission catalog, the system roles, role codes,
// and the one rule that decides whether a person holds a permission in an organisation
// (PRODUCT.md §1.3), with its explanation and the escalation guard. It is pure Go: it knows
// nothing of SQL or HTTP, and answers from immutable in-memory snapshots.
package rbac

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Permission is one capability of the catalog. Key is stable (the API and other tools name
// it); Label and Description are what people read.
type Permission struct {
	Key         string   `json:"key"`
	Category    string   `json:"category"`
	Label       string   `json:"label"`
	Description string   `json:"description"`
	Mandatory   bool     `json:"mandatory,omitempty"`
	Suggests    []string `json:"suggests,omitempty"`
}

// Category is a named group of permissions, in catalog order.
type Category struct {
	Name        string
	Permissions []Permission
}

// Catalog is the ordered list of permissions a deployment works with. It is immutable.
type Catalog struct {
	perms      []Permission
	index      map[string]int
	categories []Category
}

// Len is the number of permissions.
func (c *Catalog) Len() int { return len(c.perms) }

// Permissions returns the permissions in catalog order.
func (c *Catalog) Permissions() []Permission { return c.perms }

// Categories returns the permissions grouped by category, in catalog order.
func (c *Catalog) Categories() []Category { return c.categories }

// Get returns the permission with the key.
func (c *Catalog) Get(key string) (Permission, bool) {
	i, ok := c.index[key]
	if !ok {
		return Permission{}, false
	}
	return c.perms[i], true
}

// Has reports whether key is in the catalog.
func (c *Catalog) Has(key string) bool { _, ok := c.index[key]; return ok }

// Mandatory returns the keys of the permissions everyone always holds.
func (c *Catalog) Mandatory() []string {
	var out []string
	for _, p := range c.perms {
		if p.Mandatory {
			out = append(out, p.Key)
		}
	}
	return out
}

// Keys returns every key in catalog order.
func (c *Catalog) Keys() []string {
	out := make([]string, len(c.perms))
	for i, p := range c.perms {
		out[i] = p.Key
	}
	return out
}

// Label returns the label of key, or the key itself when the catalog no longer has it.
func (c *Catalog) Label(key string) string {
	if p, ok := c.Get(key); ok {
		return p.Label
	}
	return key
}

// Sort returns keys in catalog order, without duplicates; keys not in the catalog come last.
func (c *Catalog) Sort(keys []string) []string {
	seen := map[string]bool{}
	var known, unknown []string
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if c.Has(k) {
			known = append(known, k)
		} else {
			unknown = append(unknown, k)
		}
	}
	out := make([]string, 0, len(known)+len(unknown))
	for _, p := range c.perms {
		if seen[p.Key] {
			out = append(out, p.Key)
		}
	}
	return append(out, unknown...)
}

// CatalogError explains why a catalog file was refused, naming the line or key.
type CatalogError struct {
	Line int    // 0 when not about one line
	Key  string // "" when not about one key
	Msg  string
}

func (e *CatalogError) Error() string {
	switch {
	case e.Line > 0 && e.Key != "":
		return fmt.Sprintf("catalog line %d, key %q: %s", e.Line, e.Key, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("catalog line %d: %s", e.Line, e.Msg)
	case e.Key != "":
		return fmt.Sprintf("catalog key %q: %s", e.Key, e.Msg)
	}
	return "catalog: " + e.Msg
}

// ParseCatalog reads a catalog file: a JSON array of permissions (or an object with a
// "permissions" array). It refuses malformed JSON, unknown fields, missing fields, bad or
// duplicate keys and suggests naming unknown keys, with an error naming the line or key.
func ParseCatalog(data []byte) (*Catalog, error) {
	var perms []Permission
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var err error
	if first := bytes.TrimLeft(data, " \t\r\n"); len(first) > 0 && first[0] == '{' {
		var wrapper struct {
			Permissions []Permission `json:"permissions"`
		}
		err = dec.Decode(&wrapper)
		perms = wrapper.Permissions
	} else {
		err = dec.Decode(&perms)
	}
	if err != nil {
		return nil, jsonError(data, err)
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return nil, &CatalogError{Line: lineAt(data, int(dec.InputOffset())+bytes.Index(data[dec.InputOffset():], rest[:1])),
			Msg: "unexpected content after the catalog"}
	}
	return newCatalog(perms, keyLines(data))
}

func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &CatalogError{Line: lineAt(data, int(se.Offset)), Msg: "malformed JSON: " + se.Error()}
	case errors.As(err, &te):
		return &CatalogError{Line: lineAt(data, int(te.Offset)), Msg: fmt.Sprintf("field %q must be %s", te.Field, te.Type)}
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return &CatalogError{Msg: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return &CatalogError{Msg: "malformed JSON: " + err.Error()}
}

func lineAt(data []byte, offset int) int {
	if offset > len(data) {
		offset = len(data)
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// keyLines maps each "key": "value" to the lines it appears on, in order, for error messages.
func keyLines(data []byte) map[string][]int {
	out := map[string][]int{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		rest := line
		for {
			j := bytes.Index(rest, []byte(`"key"`))
			if j < 0 {
				break
			}
			rest = rest[j+5:]
			k := bytes.TrimLeft(rest, " \t:")
			if len(k) > 0 && k[0] == '"' {
				if end := bytes.IndexByte(k[1:], '"'); end >= 0 {
					key := string(k[1 : 1+end])
					out[key] = append(out[key], i+1)
				}
			}
		}
	}
	return out
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 || k[0] == '.' || k[len(k)-1] == '.' {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func newCatalog(perms []Permission, keyLines map[string][]int) (*Catalog, error) {
	if len(perms) == 0 {
		return nil, &CatalogError{Msg: "no permissions"}
	}
	c := &Catalog{perms: make([]Permission, len(perms)), index: map[string]int{}}
	catIndex := map[string]int{}
	seen := map[string]int{} // occurrences so far, to name the line of the duplicate
	lineOf := func(key string) int {
		if ls := keyLines[key]; len(ls) > 0 {
			return ls[min(seen[key], len(ls))-1]
		}
		return 0
	}
	for i, p := range perms {
		p.Key = strings.TrimSpace(p.Key)
		seen[p.Key]++
		line := lineOf(p.Key)
		switch {
		case p.Key == "":
			return nil, &CatalogError{Msg: fmt.Sprintf("entry %d has no key", i+1)}
		case !validKey(p.Key):
			return nil, &CatalogError{Line: line, Key: p.Key, Msg: "a key is lower-case letters, digits, '.', '_' or '-' (at most 64)"}
		case strings.TrimSpace(p.Category) == "":
			return nil, &CatalogError{Line: line, Key: p.Key, Msg: "missing category"}
		case strings.TrimSpace(p.Label) == "":
			return nil, &CatalogError{Line: line, Key: p.Key, Msg: "missing label"}
		}
		if _, dup := c.index[p.Key]; dup {
			return nil, &CatalogError{Line: line, Key: p.Key, Msg: "duplicate key"}
		}
		c.index[p.Key] = i
		c.perms[i] = p
		ci, ok := catIndex[p.Category]
		if !ok {
			ci = len(c.categories)
			catIndex[p.Category] = ci
			c.categories = append(c.categories, Category{Name: p.Category})
		}
		c.categories[ci].Permissions = append(c.categories[ci].Permissions, p)
	}
	for _, p := range c.perms {
		for _, s := range p.Suggests {
			if !c.Has(s) {
				return nil, &CatalogError{Line: firstLine(keyLines, p.Key), Key: p.Key, Msg: fmt.Sprintf("suggests unknown key %q", s)}
			}
			if s == p.Key {
				return nil, &CatalogError{Line: firstLine(keyLines, p.Key), Key: p.Key, Msg: "suggests itself"}
			}
		}
	}
	return c, nil
}

func firstLine(keyLines map[string][]int, key string) int {
	if ls := keyLines[key]; len(ls) > 0 {
		return ls[0]
	}
	return 0
}
