package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckSMTP(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := write("pw", "s3cret pass\n")
	pwCRLF := write("pw-crlf", "s3cret\r\n")
	pwEmpty := write("pw-empty", "\n")
	missing := filepath.Join(dir, "nope")

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    SMTP
		wantErr string // "" means Check succeeds; otherwise a part of the message
	}{
		{
			name: "off by default",
			want: SMTP{Port: 587, TLS: SMTPStartTLS},
		},
		{
			name: "all from the environment",
			env: map[string]string{
				"ROLEGATE_SMTP_HOST":          "mail.clinic.example",
				"ROLEGATE_SMTP_PORT":          "465",
				"ROLEGATE_SMTP_USERNAME":      "access@clinic.example",
				"ROLEGATE_SMTP_PASSWORD_FILE": pw,
				"ROLEGATE_SMTP_FROM":          "Rolegate <access@clinic.example>",
				"ROLEGATE_SMTP_TLS":           "tls",
				"ROLEGATE_BASE_URL":           "https://access.clinic.example",
			},
			want: SMTP{Host: "mail.clinic.example", Port: 465, Username: "access@clinic.example",
				Password: "s3cret pass", From: "Rolegate <access@clinic.example>", TLS: SMTPImplicit},
		},
		{
			name: "flags win over the environment",
			env:  map[string]string{"ROLEGATE_SMTP_HOST": "env.example", "ROLEGATE_SMTP_PORT": "25", "ROLEGATE_SMTP_TLS": "tls", "ROLEGATE_BASE_URL": "https://a.example"},
			args: []string{"--smtp-host", "relay.example", "--smtp-port", "2525", "--smtp-tls", "none", "--smtp-from", "access@clinic.example"},
			want: SMTP{Host: "relay.example", Port: 2525, From: "access@clinic.example", TLS: SMTPNoTLS},
		},
		{
			name: "password file with CRLF, TLS mode in capitals",
			args: []string{"--base-url", "https://a.example", "--smtp-host", "127.0.0.1", "--smtp-from", "a@b.example", "--smtp-username", "u",
				"--smtp-password-file", pwCRLF, "--smtp-tls", "STARTTLS"},
			want: SMTP{Host: "127.0.0.1", Port: 587, Username: "u", Password: "s3cret", From: "a@b.example", TLS: SMTPStartTLS},
		},
		{
			name:    "port not a number",
			args:    []string{"--smtp-port", "smtp"},
			wantErr: `--smtp-port "smtp"`,
		},
		{
			name:    "port zero",
			args:    []string{"--smtp-port", "0"},
			wantErr: "--smtp-port 0",
		},
		{
			name:    "port too large",
			args:    []string{"--smtp-host", "mail.example", "--smtp-from", "a@b.example", "--smtp-port", "65536"},
			wantErr: "--smtp-port 65536",
		},
		{
			name:    "unknown TLS mode",
			args:    []string{"--smtp-tls", "ssl"},
			wantErr: `--smtp-tls "ssl"`,
		},
		{
			name:    "host without from",
			args:    []string{"--smtp-host", "mail.example"},
			wantErr: "--smtp-from is required",
		},
		{
			name:    "from not an address",
			args:    []string{"--smtp-host", "mail.example", "--smtp-from", "Rolegate access at clinic"},
			wantErr: `--smtp-from "Rolegate access at clinic"`,
		},
		{
			name:    "from with a line break",
			args:    []string{"--smtp-host", "mail.example", "--smtp-from", "a@b.example\r\nBcc: x@evil.example"},
			wantErr: "line breaks are not allowed",
		},
		{
			name:    "host with a port",
			args:    []string{"--smtp-host", "mail.example:25", "--smtp-from", "a@b.example"},
			wantErr: "give the port with --smtp-port",
		},
		{
			name:    "host that is a URL",
			args:    []string{"--smtp-host", "smtp://mail.example", "--smtp-from", "a@b.example"},
			wantErr: `--smtp-host "smtp://mail.example"`,
		},
		{
			name:    "username without password",
			args:    []string{"--smtp-host", "mail.example", "--smtp-from", "a@b.example", "--smtp-username", "u"},
			wantErr: "go together",
		},
		{
			name:    "password without username",
			args:    []string{"--smtp-host", "mail.example", "--smtp-from", "a@b.example", "--smtp-password-file", pw},
			wantErr: "go together",
		},
		{
			name:    "password file missing",
			args:    []string{"--smtp-host", "mail.example", "--smtp-from", "a@b.example", "--smtp-username", "u", "--smtp-password-file", missing},
			wantErr: "--smtp-password-file: open " + missing,
		},
		{
			name:    "password file empty",
			args:    []string{"--smtp-host", "mail.example", "--smtp-from", "a@b.example", "--smtp-username", "u", "--smtp-password-file", pwEmpty},
			wantErr: "is empty",
		},
		{
			// Hardening finding 14: a mailed link must never follow a request's Host header.
			name:    "mail without a base URL",
			args:    []string{"--smtp-host", "mail.example", "--smtp-from", "a@b.example"},
			wantErr: "--smtp-host needs --base-url",
		},
		{
			name:    "mail settings without a host",
			env:     map[string]string{"ROLEGATE_SMTP_FROM": "a@b.example"},
			wantErr: "need --smtp-host",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			fs := NewFlagSet("test", io.Discard)
			c.Register(fs, func(k string) string { return tt.env[k] })
			err := c.Parse(fs, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.SMTP != tt.want {
				t.Errorf("SMTP = %#v, want %#v", c.SMTP, tt.want)
			}
			if c.SMTP.Enabled() != (tt.want.Host != "") {
				t.Errorf("Enabled() = %v with host %q", c.SMTP.Enabled(), c.SMTP.Host)
			}
		})
	}
}

// A Config built in code (as the tests of other packages do) is checked without Register:
// its zero SMTP settings mean mail off, and SMTP values it sets itself are kept.
func TestCheckSMTPWithoutFlags(t *testing.T) {
	tests := []struct {
		name    string
		in      SMTP
		want    SMTP
		wantErr string
	}{
		{name: "zero value", want: SMTP{Port: 587, TLS: SMTPStartTLS}},
		{
			name: "set in code",
			in:   SMTP{Host: "127.0.0.1", Port: 2525, From: "a@b.example", TLS: SMTPNoTLS},
			want: SMTP{Host: "127.0.0.1", Port: 2525, From: "a@b.example", TLS: SMTPNoTLS},
		},
		{name: "bad port set in code", in: SMTP{Port: -1}, wantErr: "--smtp-port -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{DB: "x.db", BaseURL: "https://access.example", SMTP: tt.in}
			err := c.Check()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Check error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if c.SMTP != tt.want {
				t.Errorf("SMTP = %#v, want %#v", c.SMTP, tt.want)
			}
		})
	}
}

func TestSMTPStringHidesPassword(t *testing.T) {
	s := SMTP{Host: "mail.example", Port: 587, Username: "u", Password: "hunter2", From: "a@b.example", TLS: SMTPStartTLS}
	for _, got := range []string{s.String(), fmt.Sprintf("%+v", Config{SMTP: s})} {
		if strings.Contains(got, "hunter2") {
			t.Errorf("String() = %q shows the password", got)
		}
		if !strings.Contains(got, "mail.example") {
			t.Errorf("String() = %q lacks the host", got)
		}
	}
}

// The audit key file is named like every other setting; unset, the store puts it beside the
// database.
func TestAuditKeyFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "default", want: ""},
		{name: "environment", env: map[string]string{"ROLEGATE_AUDIT_KEY_FILE": "/etc/rolegate/audit.key"}, want: "/etc/rolegate/audit.key"},
		{name: "flag wins", env: map[string]string{"ROLEGATE_AUDIT_KEY_FILE": "/etc/a"}, args: []string{"--audit-key-file", "/etc/b"}, want: "/etc/b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			fs := NewFlagSet("test", io.Discard)
			c.Register(fs, func(k string) string { return tt.env[k] })
			if err := c.Parse(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			if c.AuditKeyFile != tt.want {
				t.Errorf("AuditKeyFile = %q, want %q", c.AuditKeyFile, tt.want)
			}
		})
	}
}

func TestCookieDomainSetting(t *testing.T) {
	for _, tc := range []struct {
		domain, base string
		ok           bool
	}{
		{"clinic.example", "https://access.clinic.example", true},
		{".Clinic.Example", "https://clinic.example", true},
		{"clinic.example", "", false},                             // needs --base-url
		{"clinic.example", "https://access.other.example", false}, // must contain the portal
		{"localhost", "http://localhost", false},                  // one label: not shareable
		{"bad_domain.example", "https://bad_domain.example", false},
	} {
		c := Config{DB: "x.db", CookieDomain: tc.domain, BaseURL: tc.base}
		if err := c.Check(); (err == nil) != tc.ok {
			t.Errorf("--cookie-domain %q with --base-url %q: %v; want ok=%v", tc.domain, tc.base, err, tc.ok)
		}
	}
}
