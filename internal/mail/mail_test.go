package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/rolegate/rolegate/internal/config"
)

// received is one message as the sink saw it on the wire.
type received struct {
	from   string
	rcpt   []string
	data   []byte
	authed bool
}

// sink is a real SMTP server (go-smtp) on a loopback port that keeps what it is sent. With a
// user set it offers AUTH PLAIN and refuses mail from anyone who has not logged in.
type sink struct {
	user, pass string

	mu       sync.Mutex
	msgs     []received
	accepted atomic.Int32 // TCP connections, to prove a refused message never dialled
}

// countingListener counts the connections the sink accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startSink serves SMTP on 127.0.0.1 in the given TLS mode and returns the port; cert is
// needed for starttls and tls.
func startSink(t *testing.T, sk *sink, mode config.SMTPTLS, cert *tls.Certificate) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{sink: sk}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log{t}
	var ln net.Listener = countingListener{l, &sk.accepted}
	switch mode {
	case config.SMTPStartTLS:
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	case config.SMTPImplicit:
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func (sk *sink) messages() []received {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return append([]received(nil), sk.msgs...)
}

// log sends the sink's server errors to the test log.
type log struct{ t *testing.T }

func (l log) Printf(format string, v ...any) { l.t.Logf("sink: "+format, v...) }
func (l log) Println(v ...any)               { l.t.Log(append([]any{"sink:"}, v...)...) }

type session struct {
	sink *sink
	cur  received
}

func (s *session) AuthMechanisms() []string {
	if s.sink.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.sink.user || pass != s.sink.pass {
			return errors.New("invalid credentials")
		}
		s.cur.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.user != "" && !s.cur.authed {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.rcpt = append(s.cur.rcpt, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.cur)
	s.sink.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.cur = received{authed: s.cur.authed} }

func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rolegate test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func newSender(t *testing.T, c config.SMTP, roots *x509.CertPool) *Sender {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		t.Fatal("New returned nil for an enabled config")
	}
	s.roots = roots
	return s
}

func TestSend(t *testing.T) {
	cert, roots := selfSigned(t)
	msg := Message{
		To:      "ana@clinic.example",
		ToName:  "Dr. Ana Müller",
		Subject: "Ihr Zugang zu Rolegate – Praxis Süd",
		Text: "Hello Ana,\n\nyou are invited: https://access.clinic.example/invite/abc123?x=1&y=2\n" +
			strings.Repeat("A long line that goes on and on. ", 10) + "\n" +
			".a line starting with a dot\n\nGrüße\n",
	}
	tests := []struct {
		name       string
		tls        config.SMTPTLS
		user, pass string // the sink's account; "" means no AUTH
	}{
		{name: "plain relay without auth", tls: config.SMTPNoTLS},
		{name: "plain relay with auth on localhost", tls: config.SMTPNoTLS, user: "portal", pass: "pw 1"},
		{name: "starttls with auth", tls: config.SMTPStartTLS, user: "portal", pass: "pw 2"},
		{name: "implicit tls with auth", tls: config.SMTPImplicit, user: "portal", pass: "pw 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk := &sink{user: tt.user, pass: tt.pass}
			port := startSink(t, sk, tt.tls, cert)
			s := newSender(t, config.SMTP{Host: "127.0.0.1", Port: port, Username: tt.user, Password: tt.pass,
				From: "Rolegate <access@clinic.example>", TLS: tt.tls}, roots)

			if err := s.Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := sk.messages()
			if len(got) != 1 {
				t.Fatalf("sink received %d messages, want 1", len(got))
			}
			r := got[0]
			if r.authed != (tt.user != "") {
				t.Errorf("authenticated = %v, want %v", r.authed, tt.user != "")
			}
			if r.from != "access@clinic.example" {
				t.Errorf("MAIL FROM = %q", r.from)
			}
			if len(r.rcpt) != 1 || r.rcpt[0] != "ana@clinic.example" {
				t.Errorf("RCPT TO = %q", r.rcpt)
			}
			checkMessage(t, r.data, msg)
		})
	}
}

// checkMessage parses data as the recipient's mail program would and compares it with m.
func checkMessage(t *testing.T, data []byte, m Message) {
	t.Helper()
	pm, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	h := pm.Header
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Rolegate" || from[0].Address != "access@clinic.example" {
		t.Errorf("From = %v (%v), header %q", from, err, h.Get("From"))
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != m.ToName || to[0].Address != m.To {
		t.Errorf("To = %v (%v), header %q", to, err, h.Get("To"))
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject = %q (%v), want %q", subject, err, m.Subject)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@clinic.example>") {
		t.Errorf("Message-ID = %q, want <…@clinic.example>", id)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "utf-8") {
		t.Errorf("Content-Type = %q", ct)
	}
	var body io.Reader = pm.Body
	switch cte := strings.ToLower(h.Get("Content-Transfer-Encoding")); cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if got := strings.ReplaceAll(string(b), "\r\n", "\n"); got != m.Text {
		t.Errorf("body =\n%q\nwant\n%q", got, m.Text)
	}
}

func TestSendRefusesBadMessage(t *testing.T) {
	sk := &sink{}
	port := startSink(t, sk, config.SMTPNoTLS, nil)
	s := newSender(t, config.SMTP{Host: "127.0.0.1", Port: port, From: "access@clinic.example", TLS: config.SMTPNoTLS}, nil)
	good := Message{To: "ana@clinic.example", ToName: "Ana", Subject: "Invitation", Text: "Hello\r\nthere\n"}
	tests := []struct {
		name   string
		change func(*Message)
	}{
		{"CRLF in subject", func(m *Message) { m.Subject = "Invitation\r\nBcc: eve@evil.example" }},
		{"LF in subject", func(m *Message) { m.Subject = "Invitation\nBcc: eve@evil.example" }},
		{"CR in to name", func(m *Message) { m.ToName = "Ana\rBcc: eve@evil.example" }},
		{"LF in to", func(m *Message) { m.To = "ana@clinic.example\nBcc: eve@evil.example" }},
		{"two recipients", func(m *Message) { m.To = "ana@clinic.example, eve@evil.example" }},
		{"name and address in to", func(m *Message) { m.To = "Eve <eve@evil.example>" }},
		{"empty to", func(m *Message) { m.To = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good
			tt.change(&m)
			err := s.Send(context.Background(), m)
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("Send error = %v, want ErrBadMessage", err)
			}
			if n := sk.accepted.Load(); n != 0 {
				t.Errorf("sink accepted %d connections; a bad message must not dial", n)
			}
		})
	}
	// The same sender still delivers a good message (line breaks in the body are fine).
	if err := s.Send(context.Background(), good); err != nil {
		t.Fatalf("Send good message: %v", err)
	}
	if got := sk.messages(); len(got) != 1 {
		t.Fatalf("sink received %d messages, want 1", len(got))
	}
}

func TestSendGivesUp(t *testing.T) {
	// A port that refuses connections: listen, note the port, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()

	// A server that accepts and never says a word.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn // kept open until the test ends; only the goroutine touches it
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := silent.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { silent.Close(); <-done })
	silentPort := silent.Addr().(*net.TCPAddr).Port

	// A server that needs a password the portal does not have.
	sk := &sink{user: "portal", pass: "right"}
	authPort := startSink(t, sk, config.SMTPNoTLS, nil)

	tests := []struct {
		name     string
		port     int
		tls      config.SMTPTLS
		user     string
		wantIs   error  // the error must wrap this, if set
		wantText string // or else say this (go-mail has no sentinel for these)
	}{
		{name: "connection refused", port: closedPort, tls: config.SMTPNoTLS, wantIs: syscall.ECONNREFUSED},
		{name: "silent server", port: silentPort, tls: config.SMTPNoTLS, wantIs: context.DeadlineExceeded},
		{name: "silent server, implicit TLS", port: silentPort, tls: config.SMTPImplicit, wantIs: context.DeadlineExceeded},
		{name: "server without STARTTLS", port: authPort, tls: config.SMTPStartTLS, user: "portal", wantText: "does not support STARTTLS"},
		{name: "wrong password", port: authPort, tls: config.SMTPNoTLS, user: "portal", wantText: "SMTP AUTH failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.SMTP{Host: "127.0.0.1", Port: tt.port, From: "access@clinic.example", TLS: tt.tls}
			if tt.user != "" {
				c.Username, c.Password = tt.user, "wrong"
			}
			s := newSender(t, c, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := s.Send(ctx, Message{To: "ana@clinic.example", Subject: "Invitation", Text: "Hello"})
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Send took %v despite a 300ms context", took)
			}
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Send error = %v, want one wrapping %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Send error = %v, want one saying %q", err, tt.wantText)
			}
			if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(tt.port)) {
				t.Errorf("Send error = %v, want the server address in it", err)
			}
		})
	}
	if got := sk.messages(); len(got) != 0 {
		t.Errorf("sink received %d messages, want none", len(got))
	}
}

func TestNewWithoutHost(t *testing.T) {
	tests := []struct {
		name string
		c    config.SMTP
	}{
		{"zero", config.SMTP{}},
		{"settings but no host", config.SMTP{Port: 587, From: "access@clinic.example", TLS: config.SMTPStartTLS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.c)
			if err != nil || s != nil {
				t.Fatalf("New = %v, %v; want nil, nil", s, err)
			}
			if err := s.Send(context.Background(), Message{To: "ana@clinic.example"}); !errors.Is(err, ErrDisabled) {
				t.Errorf("Send on nil Sender = %v, want ErrDisabled", err)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		c    config.SMTP
		want string
	}{
		{"bad from", config.SMTP{Host: "mail.example", Port: 587, From: "not an address", TLS: config.SMTPStartTLS}, "from address"},
		{"unknown TLS mode", config.SMTP{Host: "mail.example", Port: 587, From: "a@b.example", TLS: "ssl"}, "unknown TLS mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.c)
			if err == nil || s != nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want an error about %s", s, err, tt.want)
			}
		})
	}
}
