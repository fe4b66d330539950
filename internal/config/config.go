// Package config reads Rolegate's settings from flags and ROLEGATE_* environment variables;
// every command reads the same ones and a flag wins over its variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Config is what every command may need.
type Config struct {
	Addr         string
	DB           string
	AuditKeyFile string // "" means beside DB, its extension replaced by .audit-key (store.DefaultAuditKeyFile)
	BaseURL      string // "" means derived from each request
	// CookieDomain shares the session cookie with the practice's other hosts below it
	// (forward-auth); "" keeps it to the portal's own host.
	CookieDomain  string
	Catalog       string // "" means the built-in catalog
	TLSCert       string
	TLSKey        string
	TrustedProxy  []*net.IPNet // empty: the client address is the connection's
	trustedProxyS string

	SMTP             SMTP // outgoing mail; off unless SMTP.Host is set
	smtpPortS        string
	smtpTLSS         string
	smtpPasswordFile string

	OIDC           OIDC // single sign-on; off unless OIDC.Issuer is set
	oidcSecretFile string
}

// OIDC is the practice's OpenID Connect provider, for "Sign in with …".
type OIDC struct {
	Issuer, ClientID, ClientSecret string
	Name                           string // the button's label, e.g. Microsoft
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// Secure reports whether people reach the portal over HTTPS (directly or through a proxy
// named by the base URL), which decides the Secure flag and __Host- prefix of cookies.
func (c Config) Secure() bool {
	return c.TLSCert != "" || strings.HasPrefix(strings.ToLower(c.BaseURL), "https://")
}

// TrustsPeer reports whether the connection's peer (a RemoteAddr, "ip:port") is one of the
// trusted proxies, whose forwarded headers may be believed.
func (c Config) TrustsPeer(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range c.TrustedProxy {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// SetOIDCSecretFile sets --oidc-client-secret-file as a command line would (Check reads it).
func (c *Config) SetOIDCSecretFile(path string) { c.oidcSecretFile = path }

// TrustedProxySetting sets --trusted-proxy as a command line would (Check parses it); tests
// and code that build a Config without flags use it.
func (c *Config) TrustedProxySetting(list string) { c.trustedProxyS = list }

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
	str(&c.AuditKeyFile, "audit-key-file", "ROLEGATE_AUDIT_KEY_FILE", "", "file holding the key that seals the audit log, created "+
		"on first use; keep a copy apart from database backups (default: beside the database, its extension replaced by .audit-key)")
	str(&c.BaseURL, "base-url", "ROLEGATE_BASE_URL", "", "public URL of the portal, e.g. https://access.example.org")
	str(&c.CookieDomain, "cookie-domain", "ROLEGATE_COOKIE_DOMAIN", "", "share the session cookie with the hosts below this domain, e.g. clinic.example (forward-auth)")
	str(&c.Catalog, "catalog", "ROLEGATE_CATALOG", "", "permission catalog file (JSON); default: the built-in medical-practice catalog")
	str(&c.TLSCert, "tls-cert", "ROLEGATE_TLS_CERT", "", "TLS certificate file (serve HTTPS)")
	str(&c.TLSKey, "tls-key", "ROLEGATE_TLS_KEY", "", "TLS private key file")
	str(&c.trustedProxyS, "trusted-proxy", "ROLEGATE_TRUSTED_PROXY", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed")
	str(&c.SMTP.Host, "smtp-host", "ROLEGATE_SMTP_HOST", "", "SMTP server for outgoing mail such as invitations; empty: no mail is sent")
	str(&c.smtpPortS, "smtp-port", "ROLEGATE_SMTP_PORT", "587", "SMTP server port (usually 587 for starttls, 465 for tls)")
	str(&c.SMTP.Username, "smtp-username", "ROLEGATE_SMTP_USERNAME", "", "SMTP user name; empty: no authentication")
	str(&c.smtpPasswordFile, "smtp-password-file", "ROLEGATE_SMTP_PASSWORD_FILE", "", "file holding the SMTP password (a trailing newline is ignored)")
	str(&c.SMTP.From, "smtp-from", "ROLEGATE_SMTP_FROM", "", `sender of outgoing mail, e.g. "Rolegate <access@clinic.example>"`)
	str(&c.OIDC.Issuer, "oidc-issuer", "ROLEGATE_OIDC_ISSUER", "", "OpenID Connect issuer URL for single sign-on, e.g. https://login.microsoftonline.com/TENANT/v2.0; empty: none")
	str(&c.OIDC.ClientID, "oidc-client-id", "ROLEGATE_OIDC_CLIENT_ID", "", "the client id Rolegate has at the provider")
	str(&c.oidcSecretFile, "oidc-client-secret-file", "ROLEGATE_OIDC_CLIENT_SECRET_FILE", "", "file holding the client secret (a trailing newline is ignored)")
	str(&c.OIDC.Name, "oidc-name", "ROLEGATE_OIDC_NAME", "", `the provider's name on the sign-in button ("Sign in with …"), e.g. Microsoft`)
	str(&c.smtpTLSS, "smtp-tls", "ROLEGATE_SMTP_TLS", string(SMTPStartTLS), "SMTP encryption: starttls, tls (implicit TLS) or none (plain; only for a relay on this machine)")
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
	if c.CookieDomain != "" {
		d := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c.CookieDomain), "."))
		if !validDomain(d) {
			return fmt.Errorf("--cookie-domain %q: want a domain such as clinic.example", c.CookieDomain)
		}
		c.CookieDomain = d
		if c.BaseURL == "" {
			return errors.New("--cookie-domain needs --base-url: the portal's own address must be within that domain")
		}
		if h := hostOf(c.BaseURL); h != d && !strings.HasSuffix(h, "."+d) {
			return fmt.Errorf("--cookie-domain %s does not contain the portal's host %s (--base-url)", d, h)
		}
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
	if err := c.checkSMTP(); err != nil {
		return err
	}
	if err := c.checkOIDC(); err != nil {
		return err
	}
	if c.SMTP.Enabled() && c.BaseURL == "" {
		// Without it a mailed link would name whatever Host the inviting request carried.
		return errors.New("--smtp-host needs --base-url: mailed invitation links must name the portal's public address")
	}
	return nil
}

// checkOIDC reads the client secret and checks that single sign-on is configured whole.
func (c *Config) checkOIDC() error {
	o := &c.OIDC
	if c.oidcSecretFile != "" {
		b, err := os.ReadFile(c.oidcSecretFile)
		if err != nil {
			return fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		if o.ClientSecret = strings.TrimRight(string(b), "\r\n"); o.ClientSecret == "" {
			return fmt.Errorf("--oidc-client-secret-file %q is empty", c.oidcSecretFile)
		}
	}
	if !o.Enabled() {
		if o.ClientID != "" || o.ClientSecret != "" {
			return errors.New("--oidc-client-id and --oidc-client-secret-file need --oidc-issuer")
		}
		return nil
	}
	u, err := url.Parse(o.Issuer)
	if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) || u.Host == "" {
		return fmt.Errorf("--oidc-issuer %q: want an https URL (http only on this machine, for tests)", o.Issuer)
	}
	if o.ClientID == "" || o.ClientSecret == "" {
		return errors.New("--oidc-issuer needs --oidc-client-id and --oidc-client-secret-file")
	}
	if o.Name = strings.TrimSpace(o.Name); o.Name == "" {
		o.Name = "your organisation's account"
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// checkSMTP turns the SMTP flags into c.SMTP: it parses the port, reads the password file and
// validates the whole, so a mistyped setting stops the portal at start rather than at the first
// invitation. Values already in c.SMTP (a Config built in code) stand when no flag gave one.
func (c *Config) checkSMTP() error {
	s := &c.SMTP
	if c.smtpPortS != "" {
		p, err := strconv.Atoi(c.smtpPortS)
		if err != nil {
			return fmt.Errorf("--smtp-port %q: want a number from 1 to 65535", c.smtpPortS)
		}
		s.Port = p
	} else if s.Port == 0 {
		s.Port = 587
	}
	if c.smtpTLSS != "" {
		s.TLS = SMTPTLS(strings.ToLower(c.smtpTLSS))
	} else if s.TLS == "" {
		s.TLS = SMTPStartTLS
	}
	if c.smtpPasswordFile != "" {
		b, err := os.ReadFile(c.smtpPasswordFile)
		if err != nil {
			return fmt.Errorf("--smtp-password-file: %w", err)
		}
		s.Password = strings.TrimRight(string(b), "\r\n")
		if s.Password == "" {
			return fmt.Errorf("--smtp-password-file %q is empty", c.smtpPasswordFile)
		}
	}
	return s.check()
}

// SMTPTLS says how the connection to the SMTP server is encrypted.
type SMTPTLS string

// The encryption modes of --smtp-tls.
const (
	SMTPStartTLS SMTPTLS = "starttls" // plain connect, then STARTTLS, which the server must offer
	SMTPImplicit SMTPTLS = "tls"      // TLS from the first byte (usually port 465)
	SMTPNoTLS    SMTPTLS = "none"     // no encryption: only for a relay on the same machine
)

// SMTP holds the outgoing-mail settings, kept together so the mail package needs nothing
// else from Config.
type SMTP struct {
	Host     string // "" means mail is off
	Port     int
	Username string // "" means no authentication
	Password string // read from --smtp-password-file, never given on the command line
	From     string // RFC 5322 address, e.g. "Rolegate <access@clinic.example>"
	TLS      SMTPTLS
}

// Enabled reports whether the portal sends mail; without a host it shows invitation links
// for the admin to pass on instead.
func (s SMTP) Enabled() bool { return s.Host != "" }

// String leaves the password out, so printing a Config by mistake does not leak it.
func (s SMTP) String() string {
	if !s.Enabled() {
		return "smtp off"
	}
	auth := "no auth"
	if s.Username != "" {
		auth = "user " + s.Username
	}
	return fmt.Sprintf("smtp %s port %d %s, %s, from %s", s.Host, s.Port, s.TLS, auth, s.From)
}

func (s SMTP) check() error {
	switch s.TLS {
	case SMTPStartTLS, SMTPImplicit, SMTPNoTLS:
	default:
		return fmt.Errorf("--smtp-tls %q: want starttls, tls or none", s.TLS)
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("--smtp-port %d: want a number from 1 to 65535", s.Port)
	}
	if !s.Enabled() {
		// Mail settings without a host are most likely a mistyped host variable; saying so
		// beats silently sending nothing.
		if s.Username != "" || s.Password != "" || s.From != "" {
			return errors.New("--smtp-username, --smtp-password-file and --smtp-from need --smtp-host")
		}
		return nil
	}
	if strings.ContainsAny(s.Host, " \t\r\n/") {
		return fmt.Errorf("--smtp-host %q: want a host name or IP address", s.Host)
	}
	if _, _, err := net.SplitHostPort(s.Host); err == nil {
		return fmt.Errorf("--smtp-host %q: give the port with --smtp-port", s.Host)
	}
	if s.From == "" {
		return errors.New("--smtp-from is required with --smtp-host, e.g. \"Rolegate <access@clinic.example>\"")
	}
	if strings.ContainsAny(s.From, "\r\n") {
		return fmt.Errorf("--smtp-from %q: line breaks are not allowed", s.From)
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return fmt.Errorf("--smtp-from %q: want an address such as \"Rolegate <access@clinic.example>\": %w", s.From, err)
	}
	if (s.Username == "") != (s.Password == "") {
		return errors.New("--smtp-username and --smtp-password-file go together")
	}
	if strings.ContainsAny(s.Username, "\r\n") {
		return errors.New("--smtp-username: line breaks are not allowed")
	}
	return nil
}

// NewFlagSet returns a flag set that reports errors instead of exiting, writing usage to out.
func NewFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// validDomain reports whether d is a DNS name of at least two labels (letters, digits, hyphens).
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
