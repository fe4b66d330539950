package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// SSO signs people in through the practice's OpenID Connect provider (PRODUCT.md §2.1): the
// authorization code flow with PKCE, state and nonce, through coreos/go-oidc and
// golang.org/x/oauth2. An identity reaches only an existing, active person with the same
// verified email: it never creates staff.
type SSO struct {
	Name                           string // the provider's name, for the button
	issuer, clientID, clientSecret string
	store                          *store.Store

	mu       sync.Mutex
	provider *oidc.Provider // discovered on first use: the provider may be down at start
}

// NewSSO is single sign-on with the provider at issuer.
func NewSSO(issuer, clientID, clientSecret, name string, st *store.Store) *SSO {
	return &SSO{Name: name, issuer: issuer, clientID: clientID, clientSecret: clientSecret, store: st}
}

// SSOFlow is what the browser keeps (in a sealed cookie) between leaving for the provider
// and coming back: the state and nonce it must return, the PKCE verifier, and where to go.
type SSOFlow struct {
	State, Nonce, Verifier string
	Next, Return           string
	Invite                 string // the invitation link's token, when accepting one this way
}

// SSOIdentity is who the provider vouched for: a verified email, a name, and how they
// signed in there (store.AMRSSO or store.AMRSSOMFA).
type SSOIdentity struct {
	Email, Name, AMR string
}

// SSOError is a single sign-on that did not sign anyone in; Reason is for the audit log, and
// the person is told only that it did not work (and, for no such account, to ask an admin).
type SSOError struct {
	Reason    string
	NoAccount bool
}

func (e *SSOError) Error() string { return "auth: single sign-on: " + e.Reason }

func (s *SSO) discover(ctx context.Context) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	p, err := oidc.NewProvider(ctx, s.issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: discover the OpenID provider: %w", err)
	}
	s.provider = p
	return p, nil
}

func (s *SSO) config(p *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: s.clientID, ClientSecret: s.clientSecret, Endpoint: p.Endpoint(), RedirectURL: redirectURL,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// Begin starts a sign-in that comes back to redirectURL: the provider's address to send the
// browser to, and the flow it keeps meanwhile.
func (s *SSO) Begin(ctx context.Context, redirectURL string) (string, SSOFlow, error) {
	p, err := s.discover(ctx)
	if err != nil {
		return "", SSOFlow{}, err
	}
	f := SSOFlow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	return s.config(p, redirectURL).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), f, nil
}

// mfaMethods are amr values that say the provider asked for more than a password.
var mfaMethods = []string{"mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "pin"}

// Finish completes the sign-in the provider sent back (state, code) for flow f: the person
// with the identity's email, and how they signed in. A failure is an *SSOError, audited.
func (s *SSO) Finish(ctx context.Context, f SSOFlow, state, code, redirectURL, addr string) (store.User, string, error) {
	id, err := s.Identify(ctx, f, state, code, redirectURL, addr)
	if err != nil {
		return store.User{}, "", err
	}
	u, err := s.store.UserByEmail(ctx, id.Email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return store.User{Email: id.Email}, "", s.failed(ctx, addr, id.Email, &SSOError{Reason: "no active account has the email " + id.Email, NoAccount: true})
	}
	return u, id.AMR, err
}

// Identify completes the code flow and verifies the ID token, for whoever it names (an
// invitation being accepted needs no account yet). A failure is an *SSOError, audited.
func (s *SSO) Identify(ctx context.Context, f SSOFlow, state, code, redirectURL, addr string) (SSOIdentity, error) {
	id, err := s.finish(ctx, f, state, code, redirectURL)
	var se *SSOError
	if errors.As(err, &se) {
		return id, s.failed(ctx, addr, id.Email, se)
	}
	return id, err
}

// failed audits a single sign-on that signed nobody in, and returns se.
func (s *SSO) failed(ctx context.Context, addr, email string, se *SSOError) error {
	if err := s.store.Audit(ctx, audit.Entry{Action: audit.SSOFailed, TargetType: "user", TargetName: email,
		Client: addr, After: audit.JSON(map[string]string{"reason": se.Reason})}); err != nil {
		return err
	}
	return se
}

func (s *SSO) finish(ctx context.Context, f SSOFlow, state, code, redirectURL string) (SSOIdentity, error) {
	if f.State == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1 {
		return SSOIdentity{}, &SSOError{Reason: "the state did not match this browser's sign-in"}
	}
	p, err := s.discover(ctx)
	if err != nil {
		return SSOIdentity{}, err
	}
	tok, err := s.config(p, redirectURL).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return SSOIdentity{}, &SSOError{Reason: "the provider refused the code: " + err.Error()}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return SSOIdentity{}, &SSOError{Reason: "the provider sent no ID token"}
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: s.clientID}).Verify(ctx, raw)
	if err != nil {
		return SSOIdentity{}, &SSOError{Reason: "the ID token did not verify: " + err.Error()}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return SSOIdentity{}, &SSOError{Reason: "the ID token's nonce did not match"}
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified *bool    `json:"email_verified"`
		Name          string   `json:"name"`
		AMR           []string `json:"amr"`
	}
	if err := idt.Claims(&claims); err != nil {
		return SSOIdentity{}, &SSOError{Reason: "the ID token's claims did not read: " + err.Error()}
	}
	email, msg := valid.Email(claims.Email)
	if msg != "" || claims.EmailVerified == nil || !*claims.EmailVerified {
		return SSOIdentity{}, &SSOError{Reason: "the provider did not vouch for an email address (email_verified)"}
	}
	id := SSOIdentity{Email: email, Name: claims.Name, AMR: store.AMRSSO}
	for _, m := range claims.AMR {
		if slices.Contains(mfaMethods, m) {
			id.AMR = store.AMRSSOMFA
		}
	}
	return id, nil
}
