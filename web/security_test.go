package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func regexpAll(pattern, s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestSecurityHeaders(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	pages := map[string]int{"/": 200, "/account": 200, "/no-such-page": 404, "/static/nope.js": 404}
	anon := p.client()
	for path, want := range pages {
		for who, cl := range map[string]*client{"signed in": c, "anonymous": anon} {
			r := cl.get(path)
			want := want
			if who == "anonymous" && want == 200 {
				want = http.StatusSeeOther
			}
			if r.StatusCode != want {
				t.Errorf("%s GET %s: %d, want %d", who, path, r.StatusCode, want)
			}
			checkHeaders(t, who+" "+path, r.Header)
		}
	}
	r := anon.postRaw("/logout", url.Values{}) // CSRF failure page
	checkHeaders(t, "csrf failure", r.Header)
	// What no route answers goes through the same middleware as every route.
	for _, m := range []string{http.MethodDelete, http.MethodOptions} {
		req, _ := http.NewRequest(m, p.srv.URL+"/healthz", nil)
		r = c.do(req)
		if r.StatusCode != http.StatusMethodNotAllowed && r.StatusCode != http.StatusNoContent && r.StatusCode != http.StatusForbidden {
			t.Errorf("%s /healthz: %d", m, r.StatusCode)
		}
		checkHeaders(t, m+" /healthz", r.Header)
		if r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s /healthz: no request id", m)
		}
	}
	r = anon.get("/login")
	checkHeaders(t, "login", r.Header)
	if strings.Contains(r.body, "<script>") || regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>`).MatchString(r.body) {
		t.Error("page has an inline script")
	}
	if !strings.Contains(r.body, `name="htmx-config"`) || !strings.Contains(r.body, "selfRequestsOnly&#34;:true") {
		t.Error("htmx config missing or not selfRequestsOnly")
	}
	for _, s := range []string{"allowEval&#34;:false", "allowScriptTags&#34;:false", "historyCacheSize&#34;:0"} {
		if !strings.Contains(r.body, s) {
			t.Errorf("htmx config lacks %s", s)
		}
	}
}

func checkHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, part := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'self'", "object-src 'none'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, part)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows unsafe code: %q", what, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
		t.Errorf("%s: nosniff=%q referrer=%q", what, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
	}
}

func TestCSRF(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	c.get("/account")
	good := c.csrf
	if good == "" {
		t.Fatal("no CSRF token in the page")
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"/account/sessions/end-all", url.Values{}},
		{"/account/password", url.Values{"current_password": {adminPassword}, "password": {"a brand new passphrase"}}},
		{"/logout", url.Values{}},
		{"/login", url.Values{"email": {adminEmail}, "password": {adminPassword}}},
	}
	for _, tc := range posts {
		for name, form := range map[string]url.Values{"missing": tc.form, "wrong": with(tc.form, "_csrf", "forged-token")} {
			before := p.count("sessions")
			r := c.postRaw(tc.path, form)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s token: %d, want 403", tc.path, name, r.StatusCode)
			}
			if after := p.count("sessions"); after != before {
				t.Errorf("POST %s with %s token changed sessions %d → %d", tc.path, name, before, after)
			}
		}
		// Cross-site requests are refused even with a token.
		r := c.postRaw(tc.path, with(tc.form, "_csrf", good), "Sec-Fetch-Site", "cross-site")
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s cross-site: %d, want 403", tc.path, r.StatusCode)
		}
	}
	// The old password still works: none of the refused requests changed it.
	if r := p.client().login(adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("password changed by a refused request: %d", r.StatusCode)
	}
	// Token in the header, as htmx sends it.
	r := c.postRaw("/account/password", url.Values{"current_password": {"x"}, "password": {"y"}}, "X-CSRF-Token", good, "HX-Request", "true")
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("header token: %d, want 422 (accepted, then invalid input)", r.StatusCode)
	}
	// A modern browser's same-origin request is trusted through Sec-Fetch-Site.
	r = c.postRaw("/account/password", url.Values{"current_password": {"x"}, "password": {"y"}}, "Sec-Fetch-Site", "same-origin")
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("Sec-Fetch-Site same-origin: %d, want 422", r.StatusCode)
	}
	r = c.postRaw("/account/sessions/end-all", url.Values{}, "Sec-Fetch-Site", "same-site")
	if r.StatusCode != http.StatusForbidden || p.count("sessions") == 0 {
		t.Errorf("Sec-Fetch-Site same-site without token: %d, sessions=%d", r.StatusCode, p.count("sessions"))
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for key, vals := range v {
		out[key] = append([]string(nil), vals...)
	}
	out.Set(k, val)
	return out
}

func TestErrorPagesDoNotLeak(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	c.login(adminEmail, adminPassword)
	r := c.get("/no-such-page")
	if r.StatusCode != 404 || !strings.Contains(r.body, "Not found") || !strings.Contains(r.body, "<html") {
		t.Fatalf("404 page: %d", r.StatusCode)
	}
	r = c.get("/no-such-page", "HX-Request", "true")
	if r.StatusCode != 404 || strings.Contains(r.body, "<html") || r.Header.Get("HX-Retarget") != "#flash" {
		t.Fatalf("htmx 404: %d retarget=%q", r.StatusCode, r.Header.Get("HX-Retarget"))
	}
	r = c.postForm("/account/sessions/not-a-number/end", nil)
	if r.StatusCode != 404 {
		t.Fatalf("bad id: %d", r.StatusCode)
	}
	// Escaping: what people type comes back escaped.
	anon := p.client()
	r = anon.login(`"><script>alert(1)</script>@example.org`, "x")
	if strings.Contains(r.body, "<script>alert(1)") {
		t.Fatal("typed input echoed unescaped")
	}
}

func TestHealthz(t *testing.T) {
	p := newPortal(t, true)
	r := p.client().get("/healthz")
	if r.StatusCode != 200 || r.body != "ok" {
		t.Fatalf("healthz: %d %q", r.StatusCode, r.body)
	}
	p.store.Close()
	r = p.client().get("/healthz")
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz with the database closed: %d", r.StatusCode)
	}
}

func TestStaticFiles(t *testing.T) {
	p := newPortal(t, true)
	c := p.client()
	page := c.get("/login")
	src := regexp.MustCompile(`src="(/static/htmx\.min\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(page.body)
	if src == nil {
		t.Fatal("page does not load htmx from /static")
	}
	r := c.get(src[1])
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") || !strings.Contains(r.body, "htmx") {
		t.Fatalf("htmx asset: %d %q", r.StatusCode, r.Header.Get("Cache-Control"))
	}
	if !strings.Contains(r.body, `version:"2.0`) {
		t.Error("vendored htmx is not 2.0.x")
	}
	for _, bad := range []string{"/static/", "/static/../go.mod", "/static/embed.go"} {
		if r := c.get(bad); r.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", bad, r.StatusCode)
		}
	}
}
