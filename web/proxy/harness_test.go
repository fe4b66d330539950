// Package proxy_test runs the README's forward-auth snippets against real nginx and Caddy,
// in front of a small upstream that echoes the headers it received, with the real portal
// behind them — so the documentation a clinic pastes is what the tests prove.
package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/app"
	"github.com/rolegate/rolegate/internal/config"
)

// portal is the real server on a loopback port, believing forwarded headers from 127.0.0.1.
type portal struct {
	URL, Addr string
	App       *app.App
}

func startPortal(t *testing.T) *portal {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Behind a proxy the portal names itself by --base-url (the README says so too), never by
	// the Host a proxy forwarded.
	cfg := config.Config{Addr: ln.Addr().String(), DB: filepath.Join(t.TempDir(), "rolegate.db"), BaseURL: "http://" + ln.Addr().String()}
	cfg.TrustedProxySetting("127.0.0.1")
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	var out io.Writer = io.Discard
	if os.Getenv("ROLEGATE_E2E_LOG") != "" {
		out = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, logger, "proxy")
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
	return &portal{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), App: a}
}

// upstream is the protected tool: it answers with the headers it received, as JSON.
func upstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.RequestURI(), "headers": r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// snippet is the README's code block marked "# rolegate-snippet: name".
func snippet(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	marker := "# rolegate-snippet: " + name + "\n"
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("README.md has no %q snippet", name)
	}
	body, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("README.md's %q snippet does not end", name)
	}
	return body
}

// freePort asks the kernel for a loopback port nobody listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening waits until something accepts connections on addr, or the process ends.
func waitListening(t *testing.T, addr string, exited <-chan struct{}, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("the proxy stopped before listening on %s: %s", addr, logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a port: waiting for what we need, not a fixed delay
	}
	t.Fatalf("nothing listens on %s after 20 s\n%s", addr, logs())
}

// run starts a proxy process and stops it when the test ends.
func run(t *testing.T, listen string, name string, args []string, env []string) {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/" + name); serr == nil {
			bin = "/usr/sbin/" + name
		} else {
			// Never a silent skip: make test installs them on Debian (make deps-proxies).
			t.Fatalf("%s is not installed: install Debian's %s package (make deps-proxies does it as root)", name, map[string]string{"nginx": "nginx-light", "caddy": "caddy"}[name])
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// Its own process group, so stopping it stops nginx's workers too; output to a file, so
	// waiting for it never waits for a pipe a worker still holds.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when the process has ended
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	waitListening(t, listen, exited, func() string { b, _ := os.ReadFile(logPath); return fmt.Sprint(waitErr) + "\n" + string(b) })
}

// startNginx serves the README's nginx snippet on a loopback port in front of up, asking p.
func startNginx(t *testing.T, p *portal, up string) string {
	t.Helper()
	dir := t.TempDir()
	listen := freePort(t)
	conf := snippet(t, "nginx")
	conf = strings.NewReplacer("listen 80;", "listen "+listen+";", "server_name wiki.clinic.example;", "server_name _;",
		"127.0.0.1:8080", p.Addr, "127.0.0.1:3000", up).Replace(conf)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // the test's temporary files are the test user's
	}
	full := fmt.Sprintf(`%sworker_processes 1;
pid %s/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %s/body;
    proxy_temp_path %s/proxy;
    fastcgi_temp_path %s/fastcgi;
    uwsgi_temp_path %s/uwsgi;
    scgi_temp_path %s/scgi;
%s
}
`, user, dir, dir, dir, dir, dir, dir, conf)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, listen, "nginx", []string{"-p", dir, "-c", path, "-g", "daemon off;"}, nil)
	return "http://" + listen
}

// startCaddy serves the README's Caddy snippet on a loopback port in front of up, asking p.
func startCaddy(t *testing.T, p *portal, up string) string {
	t.Helper()
	dir := t.TempDir()
	listen := freePort(t)
	conf := snippet(t, "caddy")
	// Every host on the port, so a host no application names reaches Rolegate's deny-by-default.
	_, port, _ := net.SplitHostPort(listen)
	conf = strings.NewReplacer("http://wiki.clinic.example {", "http://:"+port+" {\n    bind 127.0.0.1", "127.0.0.1:8080", p.Addr, "127.0.0.1:3000", up).Replace(conf)
	full := "{\n\tadmin off\n\tauto_https off\n}\n" + conf
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, listen, "caddy", []string{"run", "--config", path, "--adapter", "caddyfile"},
		[]string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir})
	return "http://" + listen
}
