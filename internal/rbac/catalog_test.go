package rbac

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestDefaultCatalog(t *testing.T) {
	c := DefaultCatalog()
	if c.Len() != 21 {
		t.Fatalf("Len() = %d, want 21", c.Len())
	}
	if got := len(c.Permissions()); got != 21 {
		t.Fatalf("len(Permissions()) = %d, want 21", got)
	}
	if got := len(c.Keys()); got != 21 {
		t.Fatalf("len(Keys()) = %d, want 21", got)
	}

	wantKeys := []string{
		"patients.view", "patients.identifiers", "patients.manage", "patients.contact", "patients.export", "patients.offboard", "patients.share",
		"scheduling.access", "scheduling.all_providers",
		"clinical.drug_interactions", "clinical.erx",
		"billing.view", "billing.manage",
		"roles.manage", "staff.manage", "staff.view", "orgs.manage", "audit.view", "access.delegate", "integrations.manage",
		"emergency.request",
	}
	if got := c.Keys(); !slices.Equal(got, wantKeys) {
		t.Errorf("Keys() = %v\nwant     %v", got, wantKeys)
	}

	wantCats := []struct {
		name string
		n    int
	}{{"Patients", 7}, {"Scheduling", 2}, {"Clinical", 2}, {"Billing", 2}, {"Administration", 7}, {"Emergency", 1}}
	cats := c.Categories()
	if len(cats) != len(wantCats) {
		t.Fatalf("Categories() has %d entries, want %d", len(cats), len(wantCats))
	}
	for i, w := range wantCats {
		t.Run("category/"+w.name, func(t *testing.T) {
			if cats[i].Name != w.name {
				t.Errorf("category %d = %q, want %q", i, cats[i].Name, w.name)
			}
			if len(cats[i].Permissions) != w.n {
				t.Errorf("category %q has %d permissions, want %d", cats[i].Name, len(cats[i].Permissions), w.n)
			}
			for _, p := range cats[i].Permissions {
				if p.Category != w.name {
					t.Errorf("permission %q in group %q has category %q", p.Key, w.name, p.Category)
				}
			}
		})
	}

	t.Run("mandatory", func(t *testing.T) {
		if got := c.Mandatory(); !slices.Equal(got, []string{"patients.view"}) {
			t.Errorf("Mandatory() = %v, want [patients.view]", got)
		}
		p, ok := c.Get("patients.view")
		if !ok || !p.Mandatory {
			t.Errorf("Get(patients.view) = %+v, %v; want mandatory", p, ok)
		}
	})

	t.Run("labels and fields", func(t *testing.T) {
		for _, p := range c.Permissions() {
			if p.Label == "" || p.Description == "" || p.Category == "" {
				t.Errorf("permission %q lacks label/description/category: %+v", p.Key, p)
			}
			for _, s := range p.Suggests {
				if !c.Has(s) || s == p.Key {
					t.Errorf("permission %q suggests %q", p.Key, s)
				}
			}
		}
		if got := c.Label("patients.export"); got != "Export patient data" {
			t.Errorf("Label(patients.export) = %q", got)
		}
		if got := c.Label("access.delegate"); got != "Grant any permission" {
			t.Errorf("Label(access.delegate) = %q", got)
		}
		if got := c.Label("no.such"); got != "no.such" {
			t.Errorf("Label(no.such) = %q, want the key itself", got)
		}
		if _, ok := c.Get("no.such"); ok {
			t.Errorf("Get(no.such) found something")
		}
		if c.Has("no.such") || !c.Has("billing.manage") {
			t.Errorf("Has is wrong")
		}
		p, _ := c.Get("billing.manage")
		if !slices.Equal(p.Suggests, []string{"billing.view"}) {
			t.Errorf("billing.manage suggests %v, want [billing.view]", p.Suggests)
		}
	})

	t.Run("admin permissions present", func(t *testing.T) {
		for _, k := range AdminPermissions {
			if !c.Has(k) {
				t.Errorf("default catalog lacks admin permission %q", k)
			}
		}
	})
}

func TestParseCatalogRefuses(t *testing.T) {
	const okA = `{"key": "a.one", "category": "C", "label": "A"}`
	cases := []struct {
		name     string
		src      string
		wantLine int    // 0: do not check the line
		wantKey  string // "": do not check the key
		contains []string
	}{
		{
			name: "malformed JSON: missing colon",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key" "b.two", "category": "C", "label": "B"}
]`,
			wantLine: 3, contains: []string{"line 3", "malformed JSON"},
		},
		{
			name: "malformed JSON: trailing comma",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key": "b.two", "category": "C", "label": "B",}
]`,
			wantLine: 3, contains: []string{"line 3", "malformed JSON"},
		},
		{
			name: "malformed JSON: unterminated",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},`,
			contains: []string{"malformed JSON"},
		},
		{
			name:     "malformed JSON: empty file",
			src:      "",
			contains: []string{"malformed JSON"},
		},
		{
			name: "wrong type for a field",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key": "b.two", "category": "C", "label": "B", "mandatory": "yes"}
]`,
			wantLine: 3, contains: []string{"line 3", `"mandatory"`},
		},
		{
			name:     "not a list",
			src:      `"patients.view"`,
			contains: []string{"catalog"},
		},
		{
			name: "content after the catalog",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"}
]
[`,
			wantLine: 4, contains: []string{"line 4", "after the catalog"},
		},
		{
			name: "duplicate key",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key": "b.two", "category": "C", "label": "B"},
  {"key": "a.one", "category": "C", "label": "A again"}
]`,
			wantKey: "a.one", contains: []string{`"a.one"`, "duplicate"},
		},
		{
			name: "unknown suggests key",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key": "b.two", "category": "C", "label": "B", "suggests": ["a.one", "z.nope"]}
]`,
			wantLine: 3, wantKey: "b.two", contains: []string{"line 3", `"b.two"`, `"z.nope"`, "unknown"},
		},
		{
			name: "suggests itself",
			src: `[
  {"key": "a.one", "category": "C", "label": "A", "suggests": ["a.one"]}
]`,
			wantLine: 2, wantKey: "a.one", contains: []string{"line 2", `"a.one"`, "itself"},
		},
		{
			name: "missing label",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key": "b.two", "category": "C", "description": "no label"}
]`,
			wantLine: 3, wantKey: "b.two", contains: []string{"line 3", `"b.two"`, "missing label"},
		},
		{
			name: "blank label",
			src: `[
  {"key": "a.one", "category": "C", "label": "   "}
]`,
			wantLine: 2, wantKey: "a.one", contains: []string{"missing label"},
		},
		{
			name: "missing category",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key": "b.two", "label": "B"}
]`,
			wantLine: 3, wantKey: "b.two", contains: []string{"line 3", `"b.two"`, "missing category"},
		},
		{
			name: "missing key",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"category": "C", "label": "B"}
]`,
			contains: []string{"entry 2", "no key"},
		},
		{
			name: "blank key",
			src: `[
  {"key": "  ", "category": "C", "label": "A"}
]`,
			contains: []string{"entry 1", "no key"},
		},
		{
			name: "invalid key characters",
			src: `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key": "Bad Key!", "category": "C", "label": "B"}
]`,
			wantLine: 3, wantKey: "Bad Key!", contains: []string{"line 3", `"Bad Key!"`, "lower-case"},
		},
		{
			name: "upper-case key",
			src: `[
  {"key": "Patients.View", "category": "C", "label": "A"}
]`,
			wantLine: 2, wantKey: "Patients.View", contains: []string{`"Patients.View"`},
		},
		{
			name: "key with leading dot",
			src: `[
  {"key": ".hidden", "category": "C", "label": "A"}
]`,
			wantLine: 2, wantKey: ".hidden",
		},
		{
			name: "key with trailing dot",
			src: `[
  {"key": "a.", "category": "C", "label": "A"}
]`,
			wantLine: 2, wantKey: "a.",
		},
		{
			name:    "key too long",
			src:     "[\n" + `{"key": "` + strings.Repeat("k", 65) + `", "category": "C", "label": "A"}` + "\n]",
			wantKey: strings.Repeat("k", 65), wantLine: 2,
		},
		{
			name: "unknown field",
			src: `[
  {"key": "a.one", "category": "C", "label": "A", "colour": "red"}
]`,
			contains: []string{`"colour"`, "unknown field"},
		},
		{
			name: "unknown field in the object form",
			src: `{"permissions": [
  {"key": "a.one", "category": "C", "label": "A"}
], "version": 2}`,
			contains: []string{`"version"`, "unknown field"},
		},
		{name: "empty list", src: `[]`, contains: []string{"no permissions"}},
		{name: "empty list with whitespace", src: " \n [ \n ] \n", contains: []string{"no permissions"}},
		{name: "null", src: `null`, contains: []string{"no permissions"}},
		{name: "empty object", src: `{}`, contains: []string{"no permissions"}},
		{name: "object with empty list", src: `{"permissions": []}`, contains: []string{"no permissions"}},
		{
			name: "bad entry after good ones names the bad one",
			src: "[\n" + okA + ",\n" + `{"key": "b.two", "category": "C", "label": "B"},` + "\n" +
				`{"key": "c.three", "category": "", "label": "C"}` + "\n]",
			wantLine: 4, wantKey: "c.three", contains: []string{"line 4", `"c.three"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCatalog([]byte(tc.src))
			if c != nil {
				t.Errorf("got a catalog with %d permissions, want nil", c.Len())
			}
			ce := asCatalogError(t, err)
			if tc.wantLine != 0 && ce.Line != tc.wantLine {
				t.Errorf("Line = %d, want %d (error: %v)", ce.Line, tc.wantLine, err)
			}
			if tc.wantKey != "" && ce.Key != tc.wantKey {
				t.Errorf("Key = %q, want %q (error: %v)", ce.Key, tc.wantKey, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "catalog") {
				t.Errorf("message %q does not start with \"catalog\"", msg)
			}
			for _, s := range tc.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not contain %q", msg, s)
				}
			}
		})
	}
}

// The duplicate-key error must point at the line of the duplicate, not at the first (valid)
// entry that carries the same key.
func TestParseCatalogDuplicateNamesTheDuplicateLine(t *testing.T) {
	src := `[
  {"key": "a.one", "category": "C", "label": "A"},
  {"key": "b.two", "category": "C", "label": "B"},
  {"key": "a.one", "category": "C", "label": "A again"}
]`
	_, err := ParseCatalog([]byte(src))
	ce := asCatalogError(t, err)
	if ce.Key != "a.one" {
		t.Fatalf("Key = %q, want a.one", ce.Key)
	}
	if ce.Line == 0 {
		t.Fatalf("no line in %v", err)
	}
	if ce.Line != 4 {
		regression(t, "duplicate key error names line %d (the first occurrence), want 4 (the duplicate): %v", ce.Line, err)
	}
}

// Line numbers are file line numbers: blank lines before the "[" must count.
func TestParseCatalogLineNumbersWithLeadingBlankLines(t *testing.T) {
	cases := []struct {
		name     string
		src      string
		wantLine int
	}{
		{"malformed JSON", "\n\n[\n" + `{"key": "a.one", "category": "C", "label": "A"},` + "\n" + `{"key" "b.two"}` + "\n]", 5},
		{"missing label", "\n\n[\n" + `{"key": "a.one", "category": "C", "label": "A"},` + "\n" + `{"key": "b.two", "category": "C"}` + "\n]", 5},
		{"unknown suggests", "\n\n\n[\n" + `{"key": "a.one", "category": "C", "label": "A", "suggests": ["x"]}` + "\n]", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCatalog([]byte(tc.src))
			ce := asCatalogError(t, err)
			if ce.Line != tc.wantLine {
				regression(t, "ParseCatalog counts lines after bytes.TrimSpace: blank lines before the catalog are not counted; got line %d, want %d (%v)", ce.Line, tc.wantLine, err)
			}
		})
	}
}

// A stray closing bracket after the catalog is malformed JSON and must be refused.
func TestParseCatalogRefusesTrailingCloser(t *testing.T) {
	for _, tail := range []string{"]", "}", "] ]"} {
		t.Run(tail, func(t *testing.T) {
			src := "[\n" + `{"key": "a.one", "category": "C", "label": "A"}` + "\n]\n" + tail
			c, err := ParseCatalog([]byte(src))
			if err == nil {
				regression(t, "ParseCatalog accepts %q after the array (dec.More() is false before ']' and '}'); got a catalog of %d", tail, c.Len())
				return
			}
			asCatalogError(t, err)
		})
	}
}

const travelCatalog = `[
  {"key": "bookings.view", "category": "Bookings", "label": "View bookings", "description": "See trips and travellers.", "mandatory": true},
  {"key": "bookings.manage", "category": "Bookings", "label": "Manage bookings", "description": "Create, change and cancel bookings.", "suggests": ["bookings.view"]},
  {"key": "travellers.contact", "category": "Bookings", "label": "Contact travellers", "description": "Phone and message travellers."},
  {"key": "suppliers.manage", "category": "Suppliers", "label": "Manage suppliers", "description": "Hotels, airlines, guides."},
  {"key": "finance.invoices", "category": "Finance", "label": "Invoices", "description": "Issue invoices.", "suggests": ["bookings.view", "suppliers.manage"]},
  {"key": "roles.manage", "category": "Administration", "label": "Edit roles", "description": ""},
  {"key": "staff.manage", "category": "Administration", "label": "Manage staff", "description": ""},
  {"key": "staff.view", "category": "Administration", "label": "View staff", "description": ""},
  {"key": "orgs.manage", "category": "Administration", "label": "Manage offices", "description": ""},
  {"key": "audit.view", "category": "Administration", "label": "Audit log", "description": ""},
  {"key": "access.delegate", "category": "Administration", "label": "Grant any permission", "description": ""}
]`

func TestParseCatalogAccepts(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		keys      []string
		cats      []string
		mandatory []string
	}{
		{
			name: "array form",
			src:  `[{"key": "a.one", "category": "C", "label": "A"}]`,
			keys: []string{"a.one"}, cats: []string{"C"},
		},
		{
			name: "object form",
			src: `{"permissions": [
  {"key": "x.view", "category": "X", "label": "View", "mandatory": true},
  {"key": "x.edit", "category": "X", "label": "Edit", "suggests": ["x.view"]},
  {"key": "y_z-1", "category": "Y", "label": "Other"}
]}`,
			keys: []string{"x.view", "x.edit", "y_z-1"}, cats: []string{"X", "Y"}, mandatory: []string{"x.view"},
		},
		{
			name: "surrounding whitespace",
			src:  "\n\n  [{\"key\": \"a.one\", \"category\": \"C\", \"label\": \"A\"}]  \n\n",
			keys: []string{"a.one"}, cats: []string{"C"},
		},
		{
			name: "key of exactly 64 characters",
			src:  `[{"key": "` + strings.Repeat("k", 64) + `", "category": "C", "label": "A"}]`,
			keys: []string{strings.Repeat("k", 64)}, cats: []string{"C"},
		},
		{
			name: "interleaved categories are grouped in first-seen order",
			src: `[
  {"key": "a", "category": "First", "label": "A"},
  {"key": "b", "category": "Second", "label": "B"},
  {"key": "c", "category": "First", "label": "C"}
]`,
			keys: []string{"a", "b", "c"}, cats: []string{"First", "Second"},
		},
		{
			name: "travel company",
			src:  travelCatalog,
			keys: []string{"bookings.view", "bookings.manage", "travellers.contact", "suppliers.manage", "finance.invoices",
				"roles.manage", "staff.manage", "staff.view", "orgs.manage", "audit.view", "access.delegate"},
			cats:      []string{"Bookings", "Suppliers", "Finance", "Administration"},
			mandatory: []string{"bookings.view"},
		},
		{
			name: "the built-in catalog parses",
			src:  string(defaultCatalogJSON),
			keys: DefaultCatalog().Keys(), cats: []string{"Patients", "Scheduling", "Clinical", "Billing", "Administration", "Emergency"},
			mandatory: []string{"patients.view"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCatalog([]byte(tc.src))
			if err != nil {
				t.Fatalf("ParseCatalog: %v", err)
			}
			if got := c.Keys(); !slices.Equal(got, tc.keys) {
				t.Errorf("Keys() = %v, want %v", got, tc.keys)
			}
			if c.Len() != len(tc.keys) {
				t.Errorf("Len() = %d, want %d", c.Len(), len(tc.keys))
			}
			var cats []string
			n := 0
			for _, cat := range c.Categories() {
				cats = append(cats, cat.Name)
				n += len(cat.Permissions)
			}
			if !slices.Equal(cats, tc.cats) {
				t.Errorf("categories = %v, want %v", cats, tc.cats)
			}
			if n != c.Len() {
				t.Errorf("categories hold %d permissions, catalog %d", n, c.Len())
			}
			if got := c.Mandatory(); !sameKeys(got, tc.mandatory) {
				t.Errorf("Mandatory() = %v, want %v", got, tc.mandatory)
			}
			for i, k := range tc.keys {
				p, ok := c.Get(k)
				if !ok || p.Key != k || c.Permissions()[i].Key != k {
					t.Errorf("Get(%q) = %+v, %v", k, p, ok)
				}
			}
		})
	}

	t.Run("travel details", func(t *testing.T) {
		c := mustCatalog(t, travelCatalog)
		p, _ := c.Get("finance.invoices")
		if !slices.Equal(p.Suggests, []string{"bookings.view", "suppliers.manage"}) || p.Label != "Invoices" || p.Category != "Finance" {
			t.Errorf("finance.invoices = %+v", p)
		}
		if c.Has("patients.view") {
			t.Errorf("travel catalog has patients.view")
		}
	})
}

func TestCatalogErrorFormat(t *testing.T) {
	cases := []struct {
		err  CatalogError
		want string
	}{
		{CatalogError{Line: 3, Key: "a.b", Msg: "bad"}, `catalog line 3, key "a.b": bad`},
		{CatalogError{Line: 3, Msg: "bad"}, `catalog line 3: bad`},
		{CatalogError{Key: "a.b", Msg: "bad"}, `catalog key "a.b": bad`},
		{CatalogError{Msg: "bad"}, `catalog: bad`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("wrapped", func(t *testing.T) {
		_, err := ParseCatalog([]byte(`[]`))
		ce := asCatalogError(t, fmt.Errorf("loading --catalog: %w", err))
		if ce.Msg != "no permissions" {
			t.Errorf("Msg = %q", ce.Msg)
		}
	})
}

func TestCatalogSort(t *testing.T) {
	c := DefaultCatalog()
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"nil", nil, nil},
		{"empty", []string{}, nil},
		{"already ordered", []string{"patients.view", "billing.view"}, []string{"patients.view", "billing.view"}},
		{"reverse", []string{"access.delegate", "audit.view", "patients.view"}, []string{"patients.view", "audit.view", "access.delegate"}},
		{"duplicates", []string{"billing.view", "billing.view", "patients.view", "billing.view"}, []string{"patients.view", "billing.view"}},
		{"unknown last in input order", []string{"zzz", "billing.view", "aaa", "patients.view", "zzz"}, []string{"patients.view", "billing.view", "zzz", "aaa"}},
		{"only unknown", []string{"b.x", "a.x"}, []string{"b.x", "a.x"}},
		{"all keys shuffled", []string{
			"staff.view", "patients.share", "clinical.erx", "patients.view", "access.delegate", "billing.manage", "scheduling.access",
			"patients.identifiers", "orgs.manage", "billing.view", "patients.offboard", "audit.view", "scheduling.all_providers",
			"patients.export", "roles.manage", "clinical.drug_interactions", "staff.manage", "patients.contact", "patients.manage",
			"integrations.manage", "emergency.request",
		}, c.Keys()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			got := c.Sort(tc.in)
			if !sameKeys(got, tc.want) {
				t.Errorf("Sort(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("Sort modified its input: %v", tc.in)
			}
		})
	}
}

func TestParseEffect(t *testing.T) {
	cases := []struct {
		in      string
		want    Effect
		wantErr bool
	}{
		{"allow", Allow, false},
		{"deny", Deny, false},
		{"inherit", Inherit, false},
		{"", Inherit, false},
		{"Allow", Inherit, true},
		{"yes", Inherit, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseEffect(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseEffect(%q) = %v, %v; want %v, err=%v", tc.in, got, err, tc.want, tc.wantErr)
			}
			if err == nil && tc.in != "" && got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
	if Inherit.String() != "inherit" || Effect(42).String() != "inherit" {
		t.Errorf("String of inherit/unknown effect is wrong")
	}
}
