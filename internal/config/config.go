// Package config reads Rolegate's settings from flags and ROLEGATE_* environment variables;
// every command reads the same ones and a flag wins over its variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
)

// Config is what every command may need.
type Config struct {
	Addr          string
	DB            string
	BaseURL       string // "" means derived from each request
	Catalog       string // "" means the built-in catalog
	TLSCert       string
	TLSKey        string
	TrustedProxy  []*net.IPNet // empty: the client address is the connection's
	trustedProxyS string
}

// Secure reports whether people reach the portal over HTTPS (directly or through a proxy
// named by the base URL), which decides the Secure flag and __Host- prefix of cookies.
func (c Config) Secure() bool {
	return c.TLSCert != "" || strings.HasPrefix(strings.ToLower(c.BaseURL), "https://")
}

// Register adds the shared settings to fs, with defaults taken from env.
func (c *Config) Register(fs *flag.FlagSet, env func(string) string) {
	str := func(p *string, name, variable, def, usage string) {
		if v := env(variable); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+variable+")")
	}
	str(&c.Addr, "addr", "ROLEGATE_ADDR", ":8080", "address to listen on")
	str(&c.DB, "db", "ROLEGATE_DB", "./data/rolegate.db", "SQLite database file")
	str(&c.BaseURL, "base-url", "ROLEGATE_BASE_URL", "", "public URL of the portal, e.g. https://access.example.org")
	str(&c.Catalog, "catalog", "ROLEGATE_CATALOG", "", "permission catalog file (JSON); default: the built-in medical-practice catalog")
	str(&c.TLSCert, "tls-cert", "ROLEGATE_TLS_CERT", "", "TLS certificate file (serve HTTPS)")
	str(&c.TLSKey, "tls-key", "ROLEGATE_TLS_KEY", "", "TLS private key file")
	str(&c.trustedProxyS, "trusted-proxy", "ROLEGATE_TRUSTED_PROXY", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed")
}

// Parse parses args with the shared settings and any extra flags the caller registered on fs,
// then checks them.
func (c *Config) Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c.Check()
}

// Check validates the settings and derives TrustedProxy; Parse calls it.
func (c *Config) Check() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.DB == "" {
		return errors.New("--db must name a file")
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("--base-url %q: want an http(s) URL such as https://access.example.org", c.BaseURL)
		}
		c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	}
	c.TrustedProxy = nil
	for p := range strings.SplitSeq(c.trustedProxyS, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return fmt.Errorf("--trusted-proxy %q: want an IP address or CIDR", p)
		}
		c.TrustedProxy = append(c.TrustedProxy, n)
	}
	return nil
}

// NewFlagSet returns a flag set that reports errors instead of exiting, writing usage to out.
func NewFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}
