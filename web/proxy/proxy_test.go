package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/internal/apps"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

const adminPassword = "correct horse battery staple"

// clinic sets up the portal: Ana (global admin), Nora (a nurse), Bill (billing staff), and
// the wiki at proxy (any path: scheduling.access, which nurses hold; /billing: billing.view;
// /status public).
func clinic(t *testing.T, p *portal, proxy string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	st := p.App.Store
	cat := p.App.Access.Now().Catalog()
	hash, err := auth.HashPassword(ctx, adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin, org, err := st.Setup(ctx, store.SetupInput{OrgName: "Northside Practice", Name: "Ana Ruiz", Email: "ana@northside.example",
		PasswordHash: hash, SystemRoles: rbac.SystemRoles(cat)})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st.AddStaff(ctx, []store.NewStaff{
		{Email: "nora@northside.example", Name: "Nora Ní Bhriain", PasswordHash: hash, OrgID: org.ID},
		{Email: "bill@northside.example", Name: "Bill Okafor", PasswordHash: hash, OrgID: org.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	roles, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: org.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	code := map[string]int64{}
	for _, r := range roles {
		code[r.Code] = r.ID
	}
	if err := st.SetRoleHolders(ctx, code["NURSE"], org.ID, []int64{ids[0]}, nil, admin.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRoleHolders(ctx, code["BILLING_STAFF"], org.ID, []int64{ids[1]}, nil, admin.ID); err != nil {
		t.Fatal(err)
	}
	svc := &apps.Service{Store: st, Access: p.App.Access}
	host := strings.TrimPrefix(proxy, "http://")
	for _, f := range []apps.Form{
		{Name: "Practice wiki", Host: host, PathPrefix: "/", OrgID: org.ID, Permission: "scheduling.access", PublicPaths: "/status"},
		{Name: "Billing reports", Host: host, PathPrefix: "/billing", OrgID: org.ID, Permission: "billing.view"},
	} {
		if _, probs, err := svc.CreateFromCommandLine(ctx, f); err != nil || len(probs) > 0 {
			t.Fatalf("app %s: %v %v", f.Name, probs, err)
		}
	}
	return map[string]int64{"ana": admin.ID, "nora": ids[0], "bill": ids[1], "org": org.ID, "nurse": code["NURSE"]}
}

// browser is a cookie jar that follows no redirects: cookies for 127.0.0.1 reach every
// port, as a browser's do, so the portal's session is the proxies' too.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(u string, hdr ...string) answer {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1] // Go sends req.Host, never a Host header
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(body)}
}

var csrf = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn follows a sign-in page (with its rd) as a person would, and returns where the
// portal sends them afterwards.
func (b *browser) signIn(loginURL, email string) string {
	b.t.Helper()
	page := b.get(loginURL)
	m := csrf.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		b.t.Fatalf("sign-in page %s: %d", loginURL, page.status)
	}
	form := url.Values{"_csrf": {m[1]}, "email": {email}, "password": {adminPassword}}
	if rd := regexp.MustCompile(`name="rd" value="([^"]+)"`).FindStringSubmatch(page.body); rd != nil {
		form.Set("rd", strings.ReplaceAll(rd[1], "&amp;", "&"))
	}
	u, _ := url.Parse(loginURL)
	resp, err := b.c.PostForm(u.Scheme+"://"+u.Host+"/login", form)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: %d", email, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// seen is what the tool received.
func seen(t *testing.T, a answer) (string, http.Header) {
	t.Helper()
	var got struct {
		Path    string
		Headers http.Header
	}
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatalf("the tool did not answer (%d): %s", a.status, a.body)
	}
	return got.Path, got.Headers
}

// The README's snippets, run in real nginx and Caddy in front of a tool (issue 12).
func TestForwardAuthThroughRealProxies(t *testing.T) {
	for _, proxy := range []string{"nginx", "caddy"} {
		t.Run(proxy, func(t *testing.T) {
			p := startPortal(t)
			up := upstream(t)
			start := map[string]func(*testing.T, *portal, string) string{"nginx": startNginx, "caddy": startCaddy}[proxy]
			tool := start(t, p, up.Listener.Addr().String())
			who := clinic(t, p, tool)

			// Anonymous: to the portal's sign-in with rd, and back to the page after.
			anon := newBrowser(t)
			r := anon.get(tool + "/handbook?page=2")
			if r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), p.URL+"/login?rd=") {
				t.Fatalf("anonymous: %d → %q", r.status, r.header.Get("Location"))
			}
			if back := anon.signIn(r.header.Get("Location"), "nora@northside.example"); back != tool+"/handbook?page=2" {
				t.Fatalf("after sign-in the portal sends Nora to %q, not back to the page", back)
			}
			// Signed in: the tool sees who it is; what the client claimed never arrives.
			r = anon.get(tool+"/handbook?page=2", "Remote-User", "1", "Remote-Permissions", "billing.manage", "Remote-AMR", "pwd,otp")
			path, h := seen(t, r)
			if r.status != http.StatusOK || path != "/handbook?page=2" {
				t.Fatalf("signed in: %d %s", r.status, path)
			}
			if h.Get("Remote-User") != fmt.Sprint(who["nora"]) || h.Get("Remote-Email") != "nora@northside.example" ||
				h.Get("Remote-Name") != "Nora%20N%C3%AD%20Bhriain" || !strings.Contains(h.Get("Remote-Groups"), "NURSE") ||
				strings.Contains(h.Get("Remote-Permissions"), "billing.manage") || !strings.Contains(h.Get("Remote-Permissions"), "scheduling.access") ||
				h.Get("Remote-Amr") != "pwd" {
				t.Fatalf("identity headers the tool saw: %v", h)
			}
			// A path rule needing another permission: the refusal page, saying why and whom to ask.
			r = anon.get(tool + "/billing/q3")
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "Billing reports") || !strings.Contains(r.body, "View billing") || !strings.Contains(r.body, "Ana Ruiz") {
				t.Fatalf("billing as a nurse: %d %s", r.status, r.body)
			}
			// Bill may see billing; a public path needs nobody.
			bill := newBrowser(t)
			bill.signIn(p.URL+"/login", "bill@northside.example")
			if r := bill.get(tool + "/billing/q3"); r.status != http.StatusOK {
				t.Fatalf("billing as billing staff: %d", r.status)
			}
			if r := newBrowser(t).get(tool + "/status"); r.status != http.StatusOK {
				t.Fatalf("public path: %d", r.status)
			}
			// A host no application names: denied.
			if r := anon.get(tool+"/handbook", "Host", "intranet.example"); r.status != http.StatusForbidden {
				t.Fatalf("unknown host: %d", r.status)
			}
			// Losing the role: the very next request is refused.
			if err := p.App.Store.SetRoleHolders(context.Background(), who["nurse"], who["org"], nil, []int64{who["nora"]}, who["ana"]); err != nil {
				t.Fatal(err)
			}
			if r := anon.get(tool + "/handbook"); r.status != http.StatusForbidden {
				t.Fatalf("after losing the role: %d", r.status)
			}
			// An open redirect through rd is ignored: sign-in lands on the portal.
			evil := newBrowser(t)
			if back := evil.signIn(p.URL+"/login?rd="+url.QueryEscape("https://evil.example/"), "bill@northside.example"); back != "/" {
				t.Fatalf("rd to another site was followed: %q", back)
			}
			// Signing out: the next proxied request asks for sign-in again.
			page := bill.get(p.URL + "/account")
			m := csrf.FindStringSubmatch(page.body)
			if m == nil {
				t.Fatal("no CSRF token on the account page")
			}
			resp, err := bill.c.PostForm(p.URL+"/logout", url.Values{"_csrf": {m[1]}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if r := bill.get(tool + "/billing/q3"); r.status != http.StatusFound {
				t.Fatalf("after signing out: %d", r.status)
			}
		})
	}
}
