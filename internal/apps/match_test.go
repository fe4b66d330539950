package apps_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/apps"
	"github.com/rolegate/rolegate/internal/store"
)

func TestNormaliseHost(t *testing.T) {
	cases := []struct{ in, want, problem string }{
		{"wiki.clinic.example", "wiki.clinic.example", ""},
		{"  Wiki.Clinic.Example. ", "wiki.clinic.example", ""},
		{"wiki.clinic.example:8443", "wiki.clinic.example:8443", ""},
		{"localhost:80", "localhost:80", ""},
		{"[::1]:9000", "[::1]:9000", ""},
		{"10.0.0.5", "10.0.0.5", ""},
		{"", "", "Give the host"},
		{"https://wiki.clinic.example", "", "without http://"},
		{"wiki.clinic.example/docs", "", "without http://"},
		{"wiki.clinic.example:0", "", "port must be"},
		{"wiki.clinic.example:65536", "", "port must be"},
		{"wiki.clinic.example:080", "", "port must be"},
		{"wiki.clinic.example:", "", "Give a port"},
		{"-wiki.example", "", "not a host name"},
		{"wi_ki.example", "", "not a host name"},
		{"a..b", "", "not a host name"},
		{"[::1", "", "closing bracket"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, msg := apps.NormaliseHost(c.in)
			if got != c.want || (c.problem == "") != (msg == "") || !strings.Contains(msg, c.problem) {
				t.Fatalf("NormaliseHost(%q) = %q, %q; want %q, problem %q", c.in, got, msg, c.want, c.problem)
			}
		})
	}
}

func TestNormalisePrefix(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{"", "/", false},
		{"/", "/", false},
		{"/wiki/", "/wiki", false},
		{"//wiki//docs/", "/wiki/docs", false},
		{"/Reports", "/Reports", false}, // case kept
		{"/caf%C3%A9", "/café", false},
		{"/a%20b", "/a b", false},
		{"wiki", "", true},
		{"/wiki/../admin", "", true},
		{"/wiki/./x", "", true},
		{"/%2e%2e/admin", "", true},
		{"/a%2Fb", "", true},
		{"/a%5cb", "", true},
		{`/a\b`, "", true},
		{"/a%zz", "", true},
		{"/a?b", "", true},
		{"/a#b", "", true},
		{"/a%00b", "", true},
		{"/" + strings.Repeat("a", 600), "", true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, msg := apps.NormalisePrefix(c.in)
			if got != c.want || c.bad != (msg != "") {
				t.Fatalf("NormalisePrefix(%q) = %q, %q; want %q (bad %v)", c.in, got, msg, c.want, c.bad)
			}
		})
	}
}

func rules() *apps.Rules {
	return apps.Compile([]store.App{
		{ID: 1, Name: "Wiki", Host: "wiki.clinic.example", PathPrefix: "/", Permission: "patients.view", Enabled: true, PublicPaths: []string{"/health", "/static"}},
		{ID: 2, Name: "Wiki admin", Host: "wiki.clinic.example", PathPrefix: "/admin", Permission: "roles.manage", Enabled: true},
		{ID: 3, Name: "Wiki admin users", Host: "wiki.clinic.example", PathPrefix: "/admin/users", Permission: "staff.manage", Enabled: true},
		{ID: 4, Name: "Reports", Host: "reports.clinic.example:8443", PathPrefix: "/", Permission: "billing.view", Enabled: true},
		{ID: 5, Name: "Reports any port", Host: "reports.clinic.example", PathPrefix: "/", Permission: "billing.manage", Enabled: true},
		{ID: 6, Name: "Files", Host: "files.clinic.example", PathPrefix: "/", Permission: "patients.view", Enabled: true},
		{ID: 7, Name: "Files private", Host: "files.clinic.example", PathPrefix: "/private", Permission: "patients.export", Enabled: false},
		{ID: 8, Name: "Old", Host: "old.clinic.example", PathPrefix: "/app", Permission: "patients.view", Enabled: true},
		{ID: 9, Name: "Café", Host: "wiki.clinic.example", PathPrefix: "/café", Permission: "billing.view", Enabled: true},
	})
}

// The rule a proxied request falls under: by host (case-insensitive, port-specific first),
// then the longest path prefix on a segment boundary; public paths; disabled and unknown deny.
func TestMatch(t *testing.T) {
	r := rules()
	cases := []struct {
		name, url string
		app       int64 // 0: no rule (deny)
		public    bool
		badPath   bool
	}{
		{"root", "https://wiki.clinic.example/", 1, false, false},
		{"no path at all", "https://wiki.clinic.example", 1, false, false},
		{"host case", "https://WIKI.Clinic.Example/page", 1, false, false},
		{"trailing dot host", "https://wiki.clinic.example./page", 1, false, false},
		{"explicit default port", "https://wiki.clinic.example:443/page", 1, false, false},
		{"any port", "http://wiki.clinic.example:8080/page", 1, false, false},
		{"prefix exact", "https://wiki.clinic.example/admin", 2, false, false},
		{"prefix with trailing slash", "https://wiki.clinic.example/admin/", 2, false, false},
		{"prefix below", "https://wiki.clinic.example/admin/pages", 2, false, false},
		{"longest prefix", "https://wiki.clinic.example/admin/users/7", 3, false, false},
		{"not a segment boundary", "https://wiki.clinic.example/administrator", 1, false, false},
		{"path case is kept", "https://wiki.clinic.example/ADMIN", 1, false, false},
		{"query ignored", "https://wiki.clinic.example/admin?x=/health", 2, false, false},
		{"repeated slashes", "https://wiki.clinic.example//admin//users", 3, false, false},
		{"encoded letters decode", "https://wiki.clinic.example/%61dmin", 2, false, false},
		{"encoded utf-8 prefix", "https://wiki.clinic.example/caf%C3%A9/menu", 9, false, false},
		{"public path", "https://wiki.clinic.example/health", 1, true, false},
		{"below a public path", "https://wiki.clinic.example/static/app.css", 1, true, false},
		{"public is a prefix on a boundary", "https://wiki.clinic.example/healthz", 1, false, false},
		{"public of another rule does not apply", "https://wiki.clinic.example/admin/health", 2, false, false},
		{"dot-dot out of a public path", "https://wiki.clinic.example/health/../admin", 0, false, true},
		{"encoded dot-dot", "https://wiki.clinic.example/health/%2e%2e/admin", 0, false, true},
		{"encoded slash", "https://wiki.clinic.example/health%2f..%2fadmin", 0, false, true},
		{"single dot", "https://wiki.clinic.example/./admin", 0, false, true},
		{"backslash", `https://wiki.clinic.example/health\..\admin`, 0, false, true},
		{"broken escape", "https://wiki.clinic.example/%zz", 0, false, true},
		{"encoded NUL", "https://wiki.clinic.example/a%00", 0, false, true},
		{"port-specific rule", "https://reports.clinic.example:8443/x", 4, false, false},
		{"other port falls to any-port rule", "https://reports.clinic.example/x", 5, false, false},
		{"disabled rule still wins", "https://files.clinic.example/private/a", 7, false, false},
		{"enabled sibling", "https://files.clinic.example/shared", 6, false, false},
		{"host with no root rule", "https://old.clinic.example/", 0, false, false},
		{"host rule below prefix", "https://old.clinic.example/app/x", 8, false, false},
		{"unknown host", "https://evil.example/", 0, false, false},
		{"suffix of a known host", "https://xwiki.clinic.example/", 0, false, false},
		{"subdomain of a known host", "https://a.wiki.clinic.example/", 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := apps.ParseOriginalURL(c.url, "GET")
			if err != nil {
				t.Fatalf("parse %q: %v", c.url, err)
			}
			if (req.PathErr != nil) != c.badPath {
				t.Fatalf("path %q refused: %v, want %v", c.url, req.PathErr, c.badPath)
			}
			if c.badPath {
				return
			}
			m := r.Match(req.Host, req.Port, req.Path)
			if m.App.ID != c.app || m.Found != (c.app != 0) || m.Public != c.public {
				t.Fatalf("%s: matched app %d (found %v, public %v); want %d (public %v)", c.url, m.App.ID, m.Found, m.Public, c.app, c.public)
			}
			if c.app == 7 && m.App.Enabled {
				t.Fatal("the disabled rule matched as enabled")
			}
		})
	}
}

// Both header styles give the same question; what a proxy must send is checked.
func TestParse(t *testing.T) {
	a, err := apps.ParseOriginalURL("https://Wiki.Clinic.Example:8443/a/b?x=1", "post")
	if err != nil {
		t.Fatal(err)
	}
	b, err := apps.ParseForwarded("https", "wiki.clinic.example:8443", "/a/b?x=1", "POST")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a.Host != "wiki.clinic.example" || a.Port != 8443 || a.Path != "/a/b" || a.Method != "POST" ||
		a.URL != "https://wiki.clinic.example:8443/a/b?x=1" {
		t.Fatalf("nginx %+v\nforward %+v", a, b)
	}
	for _, bad := range [][4]string{
		{"", "wiki.example", "/", "GET"},
		{"ftp", "wiki.example", "/", "GET"},
		{"https", "", "/", "GET"},
		{"https", "wiki.example, evil.example", "/", "GET"},
		{"https", "user@wiki.example", "/", "GET"},
		{"https", "wiki.example", "", "GET"},
		{"https", "wiki.example", "relative", "GET"},
		{"https", "wiki.example", "/\r\nX: y", "GET"},
		{"https", "wiki.example:99999", "/", "GET"},
		{"https", "wiki.example", "/", "G E T"},
	} {
		if _, err := apps.ParseForwarded(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("ParseForwarded%q accepted", bad)
		}
	}
	for _, bad := range []string{"", "wiki.example/", "https://", "https:///x", "javascript://x/"} {
		if _, err := apps.ParseOriginalURL(bad, ""); err == nil {
			t.Errorf("ParseOriginalURL(%q) accepted", bad)
		}
	}
}

// Whatever a proxy (or someone pretending to be one) sends, parsing never panics, and a path
// it accepts is clean: absolute, decoded, without dot segments, backslashes or control
// characters, so a rule matches what the tool behind will serve.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"https://wiki.clinic.example/a/b?x", "http://[::1]:8080/%2e%2e/", "https://a/%zz", "https://A.B:443//x//y/../z", "https://w/caf%C3%A9"} {
		f.Add(s, "GET")
	}
	r := rules()
	f.Fuzz(func(t *testing.T, raw, method string) {
		req, err := apps.ParseOriginalURL(raw, method)
		if err != nil {
			return
		}
		if req.Scheme != "http" && req.Scheme != "https" || req.Host == "" || req.Port < 1 || req.Port > 65535 {
			t.Fatalf("accepted %q as %+v", raw, req)
		}
		if req.PathErr != nil {
			return
		}
		p := req.Path
		if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, `\`) {
			t.Fatalf("path %q from %q", p, raw)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("dot segment in %q from %q", p, raw)
			}
		}
		for _, ch := range p {
			if ch < 0x20 || ch == 0x7f {
				t.Fatalf("control character in %q", p)
			}
		}
		m := r.Match(req.Host, req.Port, req.Path)
		if m.Public && !m.App.Enabled {
			t.Fatal("a public path of a disabled app")
		}
		again, err := apps.ParseForwarded(req.Scheme, req.Host+":"+strconv.Itoa(req.Port), req.Path, req.Method)
		if err == nil && again.PathErr == nil && again.Path != req.Path && !strings.ContainsAny(req.Path, "%?#") {
			t.Fatalf("not stable: %q then %q", req.Path, again.Path)
		}
	})
}
