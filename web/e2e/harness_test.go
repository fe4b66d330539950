// Package e2e drives the real portal in Debian's Chromium: the server as `rolegate serve`
// runs it, on a loopback port with a temporary database, and a headless browser that clicks
// and types like a person. Every page a test visits is checked with axe-core.
package e2e

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolegate/rolegate/internal/app"
	"github.com/rolegate/rolegate/internal/config"
)

// chromiumPath is Debian's real binary; /usr/bin/chromium is a wrapper script.
const chromiumPath = "/usr/lib/chromium/chromium"

//go:embed testdata/axe.min.js
var axeSource string

// portal is a running server.
type portal struct {
	URL string
	DB  string
	App *app.App
}

func startPortal(t *testing.T, options ...func(*config.Config)) *portal {
	t.Helper()
	cfg := config.Config{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "rolegate.db")}
	for _, o := range options {
		o(&cfg)
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	var out io.Writer = io.Discard
	if os.Getenv("ROLEGATE_E2E_LOG") != "" {
		out = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(out, nil))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, logger, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln, cfg, logger) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return &portal{URL: "http://" + ln.Addr().String(), DB: cfg.DB, App: a}
}

// browser is one Chromium; tabs made from it with newTab share nothing but the process
// when asked for a fresh browser context.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		// Never a silent skip: `make test` installs Chromium on Debian; elsewhere this says what to do.
		t.Fatalf("Chromium not found at %s: install Debian's chromium package (make deps does it as root)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 860),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // start the browser now, so failures say so
		t.Fatalf("start Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// freshContext is a new incognito-like browser context: no cookies shared with others.
func (b *browser) freshContext() *browser {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	// Open the tab with this context itself: a tab first used through a shorter-lived
	// derived context would close when that context ends.
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a fresh browser context: %v", err)
	}
	return &browser{t: b.t, ctx: ctx}
}

// do runs steps and fails the test with what was being done.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.screenshot("failed-step")
		b.t.Fatalf("%s: %v (screenshot: failed-step.png)", what, err)
	}
}

// text reads the visible text of the first element sel matches, once there is one. It asks
// the page itself rather than chromedp's copy of the DOM: right after a navigation that copy
// may still be the old document's, and a node read from it vanishes under the query ("No
// node with given id found").
func (b *browser) text(sel string) string {
	b.t.Helper()
	q := `document.querySelector(` + jsString(sel) + `)`
	b.waitJS(q)
	return strings.TrimSpace(b.eval(`(` + q + ` || {innerText: ""}).innerText`))
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *browser) location() string { return b.eval("location.pathname + location.search") }

// visit opens a path, waits for the page and checks it with axe.
func (b *browser) visit(base, path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("main")))
	b.checkA11y(path)
}

// checkA11y runs axe-core on the current page and fails on any WCAG 2.1 A/AA violation.
func (b *browser) checkA11y(what string) {
	b.t.Helper()
	if b.eval(`typeof window.axe`) != "object" {
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](axeSource+";0")); err != nil {
			b.t.Fatalf("inject axe: %v", err)
		}
	}
	// Finish transitions first (a dialog fading in is not what people read).
	b.eval(`document.getAnimations().forEach(a => a.finish()); ""`)
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ") + " — " + n.failureSummary)}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", what, err)
	}
	var violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal([]byte(res), &violations); err != nil {
		b.t.Fatalf("axe result: %v", err)
	}
	for _, v := range violations {
		b.t.Errorf("axe on %s: %s (%s): %s\n  %s", what, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
	}
}

// screenshot saves the page as NAME.png in the screenshot folder: web/e2e/screenshots when
// ROLEGATE_SCREENSHOTS=update (what the README shows), else web/e2e/out (ignored by git).
func (b *browser) screenshot(name string) { b.shoot(name, false) }

// screenshotView is screenshot of the viewport only, for a long page whose top is the point.
func (b *browser) screenshotView(name string) { b.shoot(name, true) }

func (b *browser) shoot(name string, viewport bool) {
	b.t.Helper()
	dir := "out"
	if os.Getenv("ROLEGATE_SCREENSHOTS") == "update" {
		dir = "screenshots"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	// Dialogs and inner scrolling areas show as a person sees them: the viewport only.
	shot := chromedp.FullScreenshot(100)
	if viewport || b.eval(`String(!!document.querySelector("dialog[open], .table-wrap--tall"))`) == "true" {
		shot = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// waitJS waits until the expression is true in the page, across page loads.
func (b *browser) waitJS(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.screenshot("failed-wait")
			b.t.Fatalf("waiting for %s: %v", expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settled waits until htmx has finished swapping and settling (and so has wired up the
// links it swapped in), as a person's next click would naturally come after.
func (b *browser) settled() {
	b.t.Helper()
	b.waitJS(`document.readyState === "complete" && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")`)
}

// impactReady waits until every impact preview on the page answers for the form as it is now
// (app.js marks one busy as soon as its form changes), as a person reads it before saving.
func (b *browser) impactReady() {
	b.t.Helper()
	b.settled()
	b.waitJS(`!document.querySelector("[data-impact][aria-busy]")`)
	b.settled()
}

// markPage marks the current document, so waitNewPage can tell when another replaced it.
func (b *browser) markPage() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__rolegateOldPage = true`))
		return err
	})
}

// waitNewPage waits until the document marked by markPage is gone and the next one has loaded.
func (b *browser) waitNewPage() {
	b.t.Helper()
	b.waitJS(`!window.__rolegateOldPage && document.readyState === "complete"`)
}

// fill empties a field and types text into it, as a person would.
func (b *browser) fill(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function(){var e=document.querySelector(%q); e.value=""; e.dispatchEvent(new Event("input", {bubbles:true})); return ""})()`, sel)))
			return err
		}),
		chromedp.SendKeys(chromedp.CSS(sel), text),
	)
}

func (b *browser) typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(sel), text)
}

func testid(id string) string { return fmt.Sprintf(`[data-testid=%q]`, id) }
