package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/rolegate/rolegate/internal/store"
)

// The second step of signing in (PRODUCT.md §2.1): an authenticator app's six-digit codes
// (TOTP, RFC 6238: 30-second steps, SHA-1, the step before and after accepted for clocks
// that drift, each code once) and ten one-time recovery codes for a lost phone.

// RecoveryCodes is how many recovery codes a person gets at a time.
const RecoveryCodes = 10

// totpPeriod is the length of one time step.
const totpPeriod = 30 * time.Second

var totpOpts = totp.ValidateOpts{Period: uint(totpPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// ErrBadCode is a code that is not right now (wrong, too old, or already used).
var ErrBadCode = errors.New("auth: that code is not right")

// TwoStep sets up and checks second steps. Codes are throttled like passwords, per account
// and per client address, in a throttle of their own.
type TwoStep struct {
	Store    *store.Store
	Throttle *Throttle
	Issuer   string // the name authenticator apps show beside the account
	Now      func() time.Time
}

func (t *TwoStep) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Enrolment is an authenticator app being set up: the secret as text and as a QR code.
type Enrolment struct {
	Secret string // base32, as apps ask for it when typed
	URL    string // otpauth://…
	key    *otp.Key
}

// QR is the enrolment as a PNG QR code of size×size pixels.
func (e Enrolment) QR(size int) ([]byte, error) {
	img, err := e.key.Image(size, size)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Begin starts setting up an authenticator app for u (replacing one begun before and not
// confirmed); store.ErrTwoStepOn when one is on already.
func (t *TwoStep) Begin(ctx context.Context, u store.User) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: orIssuer(t.Issuer), AccountName: u.Email, Period: totpOpts.Period,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return Enrolment{}, err
	}
	if err := t.Store.StartTOTP(ctx, u.ID, key.Secret()); err != nil {
		return Enrolment{}, err
	}
	return enrolment(key), nil
}

// Pending is u's enrolment begun and not yet confirmed; store.ErrNotFound when none is.
func (t *TwoStep) Pending(ctx context.Context, u store.User) (Enrolment, error) {
	secret, err := t.Store.TOTPSecret(ctx, u.ID, false)
	if err != nil {
		return Enrolment{}, err
	}
	url, err := keyURL(orIssuer(t.Issuer), u.Email, secret)
	if err != nil {
		return Enrolment{}, err
	}
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		return Enrolment{}, err
	}
	return enrolment(key), nil
}

func enrolment(key *otp.Key) Enrolment {
	return Enrolment{Secret: key.Secret(), URL: key.URL(), key: key}
}

func orIssuer(s string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return "Rolegate"
}

// keyURL rebuilds the otpauth URL of a stored secret, through the library, from the same
// options Begin used.
func keyURL(issuer, account, secret string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return "", err
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Secret: raw,
		Period: totpOpts.Period, Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return "", err
	}
	return k.URL(), nil
}

// Confirm turns u's pending enrolment on when code is one of its codes now, and returns the
// recovery codes to show once. ErrBadCode when the code is not right. Session sessionID,
// where it was typed, passed the second step; u's sessions that never did are signed out
// (orgIDs: u's organisations, for the audit).
func (t *TwoStep) Confirm(ctx context.Context, u store.User, code string, sessionID int64, orgIDs []int64) ([]string, error) {
	secret, err := t.Store.TOTPSecret(ctx, u.ID, false)
	if err != nil {
		return nil, err
	}
	step, ok := matchStep(secret, code, t.now())
	if !ok {
		return nil, ErrBadCode
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	if err := t.Store.ConfirmTOTP(ctx, u.ID, step, hashes); err != nil {
		return nil, err
	}
	return codes, t.Store.SecondStepSetUp(ctx, u.ID, sessionID, store.MethodCode, orgIDs)
}

// Checked is a second step passed: by a recovery code (with how many are left) or not.
type Checked struct {
	Recovery bool
	Left     int
}

// Check takes a code from u's authenticator app, or one of their recovery codes, from client
// address addr. It returns ErrBadCode (audited) when it is not right, a *ThrottledError when
// too many were wrong lately. The attempt is counted before the code is looked at.
func (t *TwoStep) Check(ctx context.Context, u store.User, code, addr string) (Checked, error) {
	attempt, wait := t.Throttle.Reserve(u.Email, addr, "")
	if attempt == nil {
		return Checked{}, &ThrottledError{Wait: wait}
	}
	out, err := t.check(ctx, u, code)
	switch {
	case errors.Is(err, ErrBadCode):
		if aerr := t.Store.AuditTwoStepFailed(ctx, u.ID, addr); aerr != nil {
			return out, aerr
		}
	case err != nil:
		attempt.Refund()
	default:
		attempt.Succeeded()
	}
	return out, err
}

func (t *TwoStep) check(ctx context.Context, u store.User, code string) (Checked, error) {
	secret, err := t.Store.TOTPSecret(ctx, u.ID, true)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Checked{}, err
	}
	// Without an app (passkeys only), a code can still be a recovery code.
	if digits := strings.Join(strings.Fields(code), ""); len(digits) == 6 && secret != "" {
		step, ok := matchStep(secret, digits, t.now())
		if !ok {
			return Checked{}, ErrBadCode
		}
		fresh, err := t.Store.UseTOTPStep(ctx, u.ID, step)
		if err != nil {
			return Checked{}, err
		}
		if !fresh {
			return Checked{}, ErrBadCode // used already: a code works once
		}
		return Checked{}, nil
	}
	left, ok, err := t.Store.UseRecoveryCode(ctx, u.ID, recoveryHash(code))
	if err != nil {
		return Checked{}, err
	}
	if !ok {
		return Checked{}, ErrBadCode
	}
	return Checked{Recovery: true, Left: left}, nil
}

// Renew makes u a new set of recovery codes, the old ones ending; code (from the app, or a
// recovery code) shows it is them.
func (t *TwoStep) Renew(ctx context.Context, u store.User, code, addr string) ([]string, error) {
	if _, err := t.Check(ctx, u, code, addr); err != nil {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	return codes, t.Store.RenewRecoveryCodes(ctx, u.ID, hashes)
}

// Remove turns u's second step off; code (from the app, or a recovery code) shows it is them.
// orgIDs are u's organisations, under which it is audited.
func (t *TwoStep) Remove(ctx context.Context, u store.User, code, addr string, orgIDs []int64) error {
	if _, err := t.Check(ctx, u, code, addr); err != nil {
		return err
	}
	return t.Store.RemoveTwoStep(ctx, u.ID, orgIDs, false)
}

// matchStep finds the time step, within one of now's, whose code is code; the codes are made
// by the library and compared in constant time. Whether that step was used is the store's.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 {
		return 0, false
	}
	for _, off := range []int64{-1, 0, 1} {
		at := now.Add(time.Duration(off) * totpPeriod)
		want, err := totp.GenerateCodeCustom(secret, at, totpOpts)
		if err != nil {
			return 0, false
		}
		step := at.Unix() / int64(totpPeriod/time.Second)
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newRecoveryCodes makes RecoveryCodes codes of ten base32 characters from crypto/rand (50
// bits each; no 0, 1, 8 or 9 to read as letters), shown as XXXXX-XXXXX, and their hashes.
func newRecoveryCodes() ([]string, [][]byte, error) {
	codes := make([]string, RecoveryCodes)
	hashes := make([][]byte, RecoveryCodes)
	for i := range codes {
		c := rand.Text()
		codes[i] = c[:5] + "-" + c[5:10]
		hashes[i] = recoveryHash(codes[i])
	}
	return codes, hashes, nil
}

// recoveryHash is the stored form of a recovery code as typed: case, spaces and dashes
// do not matter.
func recoveryHash(code string) []byte {
	norm := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToUpper(code))
	h := sha256.Sum256([]byte(norm))
	return h[:]
}
