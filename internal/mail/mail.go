// Package mail sends the portal's few messages (invitations) through the SMTP server named in
// config.SMTP, so the rest of Rolegate knows nothing of SMTP. It leans on go-mail for the
// protocol, TLS and authentication and keeps only Rolegate's choices here.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/rolegate/rolegate/internal/config"
)

// timeout bounds one Send from dial to QUIT: an admin waits on the invitation form, and a
// stuck server must not hold the request open.
const timeout = 15 * time.Second

// ErrDisabled is returned by Send on the nil Sender that New gives when no SMTP host is set,
// so callers can fall back to showing the invitation link instead.
var ErrDisabled = errors.New("mail: sending is off (no SMTP host)")

// ErrBadMessage is returned, before any connection is made, for a message that cannot be
// sent safely: a recipient that is not one plain address, or a line break in a header value
// (which would let whoever typed it add headers or recipients).
var ErrBadMessage = errors.New("mail: bad message")

// Notifier sends one plain-text message to one person (boot wraps a Sender as one). The
// domain packages tell people through it (invitations, emergency access, access reviews); the
// portal works without one (nil when mail is off): links are shown to copy.
type Notifier interface {
	Send(ctx context.Context, to, toName, subject, text string) error
}

// Message is one plain-text mail to one person; that is all invitations need.
type Message struct {
	To      string // bare address, e.g. "ana@clinic.example"
	ToName  string // display name; may be empty
	Subject string
	Text    string // plain-text body; UTF-8, lines end in "\n"
}

// Sender sends Messages with the settings it was made with; it is safe for concurrent use,
// each Send opening its own connection (invitations are rare, pooling is not worth it).
type Sender struct {
	cfg     config.SMTP
	from    *netmail.Address
	timeout time.Duration
	roots   *x509.CertPool // nil: the system's; tests trust their own certificate
}

// New returns a Sender for c, or nil and no error when c has no host: mail is optional, and a
// nil *Sender answers Send with ErrDisabled.
func New(c config.SMTP) (*Sender, error) {
	if !c.Enabled() {
		return nil, nil
	}
	from, err := netmail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("mail: from address %q: %w", c.From, err)
	}
	switch c.TLS {
	case config.SMTPStartTLS, config.SMTPImplicit, config.SMTPNoTLS:
	default:
		return nil, fmt.Errorf("mail: unknown TLS mode %q", c.TLS)
	}
	return &Sender{cfg: c, from: from, timeout: timeout}, nil
}

// Send delivers m to the SMTP server. It gives up when ctx ends or after 15 seconds,
// whichever comes first, closing the connection so a silent server cannot hang the caller.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if s == nil {
		return ErrDisabled
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	client, err := gomail.NewClient(s.cfg.Host, s.options(ctx)...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The connection was closed under go-mail; the reason is ctx, not its error.
			return fmt.Errorf("mail to %s via %s: %w (%v)", m.To, client.ServerAddr(), ctxErr, err)
		}
		return fmt.Errorf("mail to %s via %s: %w", m.To, client.ServerAddr(), err)
	}
	return nil
}

// build checks m and turns it into a go-mail message with From, To, Subject, Date and a
// Message-ID in the sender's domain (not this machine's host name, which may be a container's).
func (s *Sender) build(m Message) (*gomail.Msg, error) {
	for _, f := range []struct{ name, v string }{{"To", m.To}, {"ToName", m.ToName}, {"Subject", m.Subject}} {
		if strings.ContainsAny(f.v, "\r\n") {
			return nil, fmt.Errorf("%w: line break in %s", ErrBadMessage, f.name)
		}
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil || to.Address != m.To {
		return nil, fmt.Errorf("%w: recipient %q is not a plain address", ErrBadMessage, m.To)
	}
	to.Name = m.ToName

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(rand.Text() + "@" + s.from.Address[strings.LastIndex(s.from.Address, "@")+1:])
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}

// options maps config.SMTP onto go-mail. The dial function is ours so that ctx ending closes
// the connection at any stage (go-mail itself only bounds each step by its timeout), which
// means implicit TLS is also set up here rather than by go-mail.
func (s *Sender) options(ctx context.Context) []gomail.Option {
	tlsConfig := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12, RootCAs: s.roots}
	policy := gomail.NoTLS
	if s.cfg.TLS == config.SMTPStartTLS {
		policy = gomail.TLSMandatory // never fall back to plain when STARTTLS is missing
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithDialContextFunc(func(dialCtx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(dialCtx, network, addr)
			if err != nil {
				return nil, err
			}
			// Send cancels ctx when it returns, so this also closes a connection left behind.
			context.AfterFunc(ctx, func() { conn.Close() })
			if s.cfg.TLS != config.SMTPImplicit {
				return conn, nil
			}
			tc := tls.Client(conn, tlsConfig)
			if err := tc.HandshakeContext(dialCtx); err != nil {
				conn.Close()
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			return tc, nil
		}),
	}
	if s.cfg.Username != "" {
		// PLAIN or LOGIN, whichever the server offers. go-mail refuses to send either over
		// an unencrypted connection except to localhost, so "none" only authenticates to a
		// relay on this machine.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	return opts
}
