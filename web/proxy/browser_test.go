package proxy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/lib/chromium/chromium"

// chromium is a headless Debian Chromium with a fresh profile, reaching only loopback.
func chromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium not found at %s: install Debian's chromium package (make deps does it as root)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath), chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"), chromedp.WindowSize(1280, 860))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	return ctx
}

func eval(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")")); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s; page: %s\n%.600s", js, eval(t, ctx, "location.href"), eval(t, ctx, "document.body.innerText"))
}

// A nurse opens the billing reports through nginx: signs in on the portal, comes back, and is
// refused with Rolegate's page saying why and whom to ask (styled from the portal, axe clean).
func TestRefusalThroughNginxInABrowser(t *testing.T) {
	p := startPortal(t)
	up := upstream(t)
	tool := startNginx(t, p, up.Listener.Addr().String())
	clinic(t, p, tool)
	ctx := chromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(tool+"/billing/q3")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#f-email")`)
	if !strings.HasPrefix(eval(t, ctx, "location.href"), p.URL+"/login?rd=") {
		t.Fatalf("not sent to the portal's sign-in: %s", eval(t, ctx, "location.href"))
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#f-email"), "nora@northside.example"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), adminPassword), chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("[data-testid=refusal]") || document.querySelector(".problem, [data-testid=flash]")`)
	if msg := eval(t, ctx, `(document.querySelector(".problem, [data-testid=flash]") || {innerText: ""}).innerText`); msg != "" {
		t.Fatalf("sign-in said %q", msg)
	}
	if got := eval(t, ctx, "location.href"); got != tool+"/billing/q3" {
		t.Fatalf("after sign-in the browser is at %s, not back at the page", got)
	}
	text := eval(t, ctx, `document.querySelector("[data-testid=refusal]").innerText`)
	for _, want := range []string{"Billing reports", "View billing", "Northside Practice", "Ana Ruiz"} {
		if !strings.Contains(text, want) {
			t.Errorf("the refusal page does not say %q: %s", want, text)
		}
	}
	if eval(t, ctx, `getComputedStyle(document.querySelector(".card")).borderTopStyle`) == "none" {
		t.Error("the refusal page through the proxy has no styles")
	}
	axe, err := os.ReadFile("../e2e/testdata/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](string(axe)+";0")); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r => JSON.stringify(r.violations.map(v => v.id + ": " + v.help)))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var violations []string
	_ = json.Unmarshal([]byte(res), &violations)
	for _, v := range violations {
		t.Errorf("axe on the refusal page: %s", v)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := "../e2e/out"
	if os.Getenv("ROLEGATE_SCREENSHOTS") == "update" {
		dir = "../e2e/screenshots"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "refusal-through-nginx.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
