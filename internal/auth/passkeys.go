package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// Passkeys and security keys (WebAuthn, through go-webauthn): registered from the Account
// page, used as the second step after the password, and, being discoverable, to sign in
// without one. The library does the cryptography and the checks of the specification
// (origin, relying party, challenge, signature, counter); this file decides what each
// ceremony may do and keeps what it learns.
//
// A ceremony is two requests: the first gives the browser its options and keeps what the
// answer must match (the library's SessionData) in a signed, encrypted cookie; the second
// brings the authenticator's answer. Each challenge is taken once (store.UseChallenge), so
// an answer cannot be replayed even with the cookie that asked for it.

// ErrBadPasskey is an answer from a passkey that does not sign in: unknown, for someone
// else, not verified, replayed, or from an authenticator that looks cloned.
var ErrBadPasskey = errors.New("auth: that passkey did not work")

// PasskeyNameMax is the longest name a person can give a passkey.
const PasskeyNameMax = 64

// Kinds of ceremony.
const (
	CeremonyRegister   = "register"    // adding a passkey, signed in
	CeremonySecondStep = "second-step" // after a right password, or before a dangerous action
	CeremonySignIn     = "sign-in"     // without a password: the passkey says who
)

// Ceremony is what a ceremony's second request must match, kept in the browser meanwhile.
type Ceremony struct {
	Kind    string
	UserID  int64  // 0 for CeremonySignIn
	Name    string // the passkey's name, for CeremonyRegister
	Session []byte // webauthn.SessionData as JSON
}

// Passkeys runs the ceremonies. Wrong answers are throttled like codes at the second step.
type Passkeys struct {
	Store    *store.Store
	Throttle *Throttle
	Name     string // the relying party's name, which some authenticators show
}

// ceremonyAge is how long a browser has to answer: as long as a right password waits.
const ceremonyAge = PendingAge

// relyingParty is the library set up for origin, the portal's scheme://host[:port] (from
// --base-url, or the request): the relying party id is its host, so a passkey made here
// works for this portal only.
func (p *Passkeys) relyingParty(origin string) (*webauthn.WebAuthn, error) {
	if !PasskeysWork(origin) {
		return nil, ErrNoPasskeysHere
	}
	u, err := url.Parse(origin)
	if err != nil {
		return nil, err
	}
	t := webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyAge, TimeoutUVD: ceremonyAge}
	return webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: orIssuer(p.Name), RPOrigins: []string{u.Scheme + "://" + u.Host},
		Timeouts: webauthn.TimeoutsConfig{Login: t, Registration: t}})
}

// PasskeysWork reports whether browsers will make passkeys for a portal at origin: only in a
// secure context (https, or http on localhost) on a host name, never on an IP address.
func PasskeysWork(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" || net.ParseIP(host) != nil {
		return false
	}
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	return u.Scheme == "https" || (u.Scheme == "http" && local)
}

// ErrNoPasskeysHere is a portal reached where browsers make no passkeys (see PasskeysWork).
var ErrNoPasskeysHere = errors.New("auth: passkeys need the portal on https with a host name")

// passkeyUser is a person as the library sees them.
type passkeyUser struct {
	u     store.User
	keys  []store.Passkey
	creds []webauthn.Credential
}

func (p passkeyUser) WebAuthnID() []byte                         { return userHandle(p.u.ID) }
func (p passkeyUser) WebAuthnName() string                       { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string                { return orElse(p.u.Name, p.u.Email) }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

func orElse(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// userHandle is the id an authenticator keeps for the person: their user id, which says
// nothing about them.
func userHandle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func (p *Passkeys) user(ctx context.Context, u store.User) (passkeyUser, error) {
	keys, err := p.Store.Passkeys(ctx, u.ID)
	if err != nil {
		return passkeyUser{}, err
	}
	pu := passkeyUser{u: u, keys: keys}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			return passkeyUser{}, fmt.Errorf("auth: passkey %d: %w", k.ID, err)
		}
		pu.creds = append(pu.creds, c)
	}
	return pu, nil
}

// BeginRegistration starts adding a passkey called name for u, at origin. Problems when the
// name will not do; options are the browser's, as JSON.
func (p *Passkeys) BeginRegistration(ctx context.Context, u store.User, origin, name string) (options []byte, c Ceremony, problems valid.Problems, err error) {
	pu, err := p.user(ctx, u)
	if err != nil {
		return nil, c, nil, err
	}
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return nil, c, valid.Problems{"passkey_name": "Give it a name you will recognise, such as “Work laptop”."}, nil
	case utf8.RuneCountInString(name) > PasskeyNameMax:
		return nil, c, valid.Problems{"passkey_name": fmt.Sprintf("At most %d characters.", PasskeyNameMax)}, nil
	}
	for _, k := range pu.keys {
		if strings.EqualFold(k.Name, name) {
			return nil, c, valid.Problems{"passkey_name": "You have a passkey of that name already."}, nil
		}
	}
	rp, err := p.relyingParty(origin)
	if err != nil {
		return nil, c, nil, err
	}
	// Discoverable where the authenticator can, so it can sign in without a password later;
	// the same authenticator twice is refused by the browser (the exclusions).
	creation, session, err := rp.BeginRegistration(pu,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred}),
		webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()))
	if err != nil {
		return nil, c, nil, fmt.Errorf("auth: begin passkey registration: %w", err)
	}
	return ceremony(creation, session, Ceremony{Kind: CeremonyRegister, UserID: u.ID, Name: name})
}

func ceremony(options any, session *webauthn.SessionData, c Ceremony) ([]byte, Ceremony, valid.Problems, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, c, nil, err
	}
	if c.Session, err = json.Marshal(session); err != nil {
		return nil, c, nil, err
	}
	return opts, c, nil, nil
}

// FinishRegistration keeps the passkey the browser made for u in ceremony c. When it is u's
// first second step, it comes with recovery codes, returned to be shown once. Session
// sessionID, where it was made, passed the second step by making it; u's sessions that never
// did are signed out (orgIDs: u's organisations, for the audit).
func (p *Passkeys) FinishRegistration(ctx context.Context, u store.User, sessionID int64, orgIDs []int64, origin string, c Ceremony, answer []byte) (store.Passkey, []string, error) {
	if c.Kind != CeremonyRegister || c.UserID != u.ID {
		return store.Passkey{}, nil, ErrBadPasskey
	}
	session, err := p.session(c)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(answer)
	if err != nil {
		return store.Passkey{}, nil, ErrBadPasskey
	}
	if err := p.takeChallenge(ctx, parsed.Response.CollectedClientData.Challenge, session); err != nil {
		return store.Passkey{}, nil, err
	}
	pu, err := p.user(ctx, u)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	rp, err := p.relyingParty(origin)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	cred, err := rp.CreateCredential(pu, session, parsed)
	if err != nil {
		return store.Passkey{}, nil, fmt.Errorf("%w: %w", ErrBadPasskey, err)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	ts, err := p.Store.TwoStepOf(ctx, u.ID)
	if err != nil {
		return store.Passkey{}, nil, err
	}
	var codes []string
	var hashes [][]byte
	if !ts.On() {
		codes, hashes, err = newRecoveryCodes()
		if err != nil {
			return store.Passkey{}, nil, err
		}
	}
	key, kept, err := p.Store.AddPasskey(ctx, store.Passkey{UserID: u.ID, Name: c.Name, CredentialID: cred.ID, Credential: raw}, hashes)
	if errors.Is(err, store.ErrPasskeyTaken) {
		return store.Passkey{}, nil, ErrBadPasskey
	}
	if err != nil {
		return store.Passkey{}, nil, err
	}
	if !kept {
		codes = nil // another first second step got there at the same moment: its codes stand
	}
	return key, codes, p.Store.SecondStepSetUp(ctx, u.ID, sessionID, store.MethodPasskey, orgIDs)
}

// BeginSecondStep asks u's passkeys, at origin, for the second step.
func (p *Passkeys) BeginSecondStep(ctx context.Context, u store.User, origin string) ([]byte, Ceremony, error) {
	pu, err := p.user(ctx, u)
	if err != nil {
		return nil, Ceremony{}, err
	}
	if len(pu.creds) == 0 {
		return nil, Ceremony{}, ErrBadPasskey
	}
	rp, err := p.relyingParty(origin)
	if err != nil {
		return nil, Ceremony{}, err
	}
	assertion, session, err := rp.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, Ceremony{}, fmt.Errorf("auth: begin passkey second step: %w", err)
	}
	opts, c, _, err := ceremony(assertion, session, Ceremony{Kind: CeremonySecondStep, UserID: u.ID})
	return opts, c, err
}

// BeginSignIn asks, at origin, for any passkey of this portal that can say whose it is and
// that verifies the person itself (fingerprint, face or PIN): a sign-in without a password.
func (p *Passkeys) BeginSignIn(origin string) ([]byte, Ceremony, error) {
	rp, err := p.relyingParty(origin)
	if err != nil {
		return nil, Ceremony{}, err
	}
	assertion, session, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, Ceremony{}, fmt.Errorf("auth: begin passkey sign-in: %w", err)
	}
	opts, c, _, err := ceremony(assertion, session, Ceremony{Kind: CeremonySignIn})
	return opts, c, err
}

// Finish checks the passkey's answer to ceremony c (of kind CeremonySecondStep or
// CeremonySignIn) from client address addr and returns whose it is. ErrBadPasskey (audited
// when the person is known) when it does not sign in; a *ThrottledError when too many did
// not lately. The attempt is counted before the answer is looked at.
func (p *Passkeys) Finish(ctx context.Context, origin string, c Ceremony, answer []byte, addr string) (store.User, error) {
	if c.Kind != CeremonySecondStep && c.Kind != CeremonySignIn {
		return store.User{}, ErrBadPasskey
	}
	// Sign-ins without a password are counted per address (under a key of their own, so
	// that they never share an account's count with anyone).
	key := "\x00passkey\x00" + addr
	var u store.User
	if c.Kind == CeremonySecondStep {
		var err error
		if u, err = p.Store.UserByID(ctx, c.UserID); err != nil {
			return store.User{}, err
		}
		key = u.Email
	}
	attempt, wait := p.Throttle.Reserve(key, addr, "")
	if attempt == nil {
		return store.User{}, &ThrottledError{Wait: wait}
	}
	who, err := p.finish(ctx, origin, c, u, answer)
	switch {
	case errors.Is(err, ErrBadPasskey):
		if who.ID != 0 {
			if aerr := p.Store.AuditTwoStepFailed(ctx, who.ID, addr); aerr != nil {
				return store.User{}, aerr
			}
		}
		return store.User{}, err
	case err != nil:
		attempt.Refund()
		return store.User{}, err
	}
	attempt.Succeeded()
	return who, nil
}

// finish checks the answer; who is the person it claims to be, when known, even on failure.
func (p *Passkeys) finish(ctx context.Context, origin string, c Ceremony, u store.User, answer []byte) (who store.User, err error) {
	session, err := p.session(c)
	if err != nil {
		return u, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(answer)
	if err != nil {
		return u, ErrBadPasskey
	}
	if err := p.takeChallenge(ctx, parsed.Response.CollectedClientData.Challenge, session); err != nil {
		return u, err
	}
	rp, err := p.relyingParty(origin)
	if err != nil {
		return u, err
	}
	var pu passkeyUser
	var cred *webauthn.Credential
	if c.Kind == CeremonySecondStep {
		if pu, err = p.user(ctx, u); err != nil {
			return u, err
		}
		cred, err = rp.ValidateLogin(pu, session, parsed)
	} else {
		var found webauthn.User
		found, cred, err = rp.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
			k, err := p.Store.PasskeyByCredentialID(ctx, rawID)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(handle, userHandle(k.UserID)) {
				return nil, ErrBadPasskey
			}
			owner, err := p.Store.UserByID(ctx, k.UserID)
			if err != nil {
				return nil, err
			}
			who = owner
			return p.user(ctx, owner)
		}, session, parsed)
		if found != nil {
			pu = found.(passkeyUser)
		}
		u = who
	}
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) || errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrBadPasskey) {
			return u, fmt.Errorf("%w: %w", ErrBadPasskey, err)
		}
		return u, err
	}
	if cred.Authenticator.CloneWarning {
		// Its counter went backwards: two copies of the key may be in use. Refused, and the
		// stored counter left alone, so the copy that is ahead keeps working.
		return u, fmt.Errorf("%w: the authenticator may be cloned", ErrBadPasskey)
	}
	if u.Disabled {
		return u, ErrBadPasskey
	}
	for _, k := range pu.keys {
		if bytes.Equal(k.CredentialID, cred.ID) {
			raw, err := json.Marshal(cred)
			if err != nil {
				return u, err
			}
			return u, p.Store.UsePasskey(ctx, k.ID, raw)
		}
	}
	return u, ErrBadPasskey
}

func (p *Passkeys) session(c Ceremony) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	if err := json.Unmarshal(c.Session, &s); err != nil {
		return s, ErrBadPasskey
	}
	return s, nil
}

// takeChallenge spends the ceremony's challenge, which the answer must have signed: a
// second answer to it, or an answer to another, is refused.
func (p *Passkeys) takeChallenge(ctx context.Context, answered string, session webauthn.SessionData) error {
	if answered == "" || answered != session.Challenge {
		return ErrBadPasskey
	}
	h := sha256.Sum256([]byte(answered))
	fresh, err := p.Store.UseChallenge(ctx, h[:], max(session.Expires.Unix(), time.Now().Add(ceremonyAge).Unix()))
	if err != nil {
		return err
	}
	if !fresh {
		return ErrBadPasskey
	}
	return nil
}

// RemovePasskey removes u's passkey id; orgIDs are u's organisations, under which it is
// audited.
func (p *Passkeys) Remove(ctx context.Context, u store.User, id int64, orgIDs []int64) error {
	return p.Store.RemovePasskey(ctx, u.ID, id, orgIDs)
}
