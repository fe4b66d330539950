package web_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/rolegate/rolegate/internal/config"
)

// smtpSink is a real SMTP server on loopback that keeps every message it is sent.
type smtpSink struct {
	mu   sync.Mutex
	msgs []*mail.Message
	rcpt []string
}

func startSMTPSink(t *testing.T) (*smtpSink, int) {
	t.Helper()
	sk := &smtpSink{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: sk}, nil }))
	srv.Domain = "localhost"
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return sk, ln.Addr().(*net.TCPAddr).Port
}

func (sk *smtpSink) messages() ([]*mail.Message, []string) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return append([]*mail.Message(nil), sk.msgs...), append([]string(nil), sk.rcpt...)
}

type sinkSession struct{ sink *smtpSink }

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.rcpt = append(s.sink.rcpt, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(m.Body)
	m.Body = strings.NewReader(string(body))
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.msgs = append(s.sink.msgs, m)
	return nil
}
func (s *sinkSession) Reset()        {}
func (s *sinkSession) Logout() error { return nil }

func withSMTP(port int) func(*config.Config) {
	return func(c *config.Config) {
		c.SMTP = config.SMTP{Host: "127.0.0.1", Port: port, From: "Rolegate <access@northside.example>", TLS: config.SMTPNoTLS}
		c.BaseURL = "http://portal.test"
	}
}

func TestInvitationIsMailed(t *testing.T) {
	sk, port := startSMTPSink(t)
	p := newPortal(t, true, withSMTP(port))
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/staff/invitations/new")
	r := admin.postForm("/staff/invitations", url.Values{"email": {"ben@example.org"}, "name": {"Ben Okafor"}, "org": {"1"}, "role": {fmt.Sprint(p.roleID("MEMBER"))}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "It was also emailed to ben@example.org") {
		t.Fatalf("invite: %d %s", r.StatusCode, r.body)
	}
	tok := linkIn(t, r.body)
	msgs, rcpt := sk.messages()
	if len(msgs) != 1 || len(rcpt) != 1 || rcpt[0] != "ben@example.org" {
		t.Fatalf("sink got %d messages for %v", len(msgs), rcpt)
	}
	m := msgs[0]
	if subj := m.Header.Get("Subject"); subj != "You are invited to Northside Practice" {
		t.Errorf("subject %q", subj)
	}
	if from := m.Header.Get("From"); !strings.Contains(from, "access@northside.example") {
		t.Errorf("from %q", from)
	}
	body, _ := io.ReadAll(m.Body)
	if !strings.Contains(string(body), "/invite/"+tok) || !strings.Contains(string(body), "Ana Ruiz invites you to join Northside Practice") {
		t.Fatalf("the mail does not carry the link: %s", body)
	}
	// The mailed link is the one that works.
	if r := p.client().get("/invite/" + tok); r.StatusCode != http.StatusOK {
		t.Fatalf("mailed link: %d", r.StatusCode)
	}
	// Resending mails the new link.
	admin.get("/staff")
	var id string
	db := p.rawDB()
	defer db.Close()
	if err := db.QueryRow("SELECT id FROM invitations").Scan(&id); err != nil {
		t.Fatal(err)
	}
	r = admin.postForm("/staff/invitations/"+id+"/resend", url.Values{})
	fresh := linkIn(t, r.body)
	msgs, _ = sk.messages()
	if len(msgs) != 2 {
		t.Fatalf("resend mailed %d messages in all", len(msgs))
	}
	body, _ = io.ReadAll(msgs[1].Body)
	if !strings.Contains(string(body), "/invite/"+fresh) {
		t.Fatal("the resent mail does not carry the new link")
	}
}

func TestInvitationMailFailureStillShowsLink(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens: the connection is refused
	p := newPortal(t, true, withSMTP(port))
	admin := p.client()
	admin.login(adminEmail, adminPassword)
	admin.get("/staff/invitations/new")
	r := admin.postForm("/staff/invitations", url.Values{"email": {"ben@example.org"}, "name": {"Ben Okafor"}, "org": {"1"}, "role": {fmt.Sprint(p.roleID("MEMBER"))}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "could not be sent") {
		t.Fatalf("invite with mail down: %d", r.StatusCode)
	}
	linkIn(t, r.body)
	if p.count("invitations") != 1 {
		t.Fatal("the invitation was not kept")
	}
}
