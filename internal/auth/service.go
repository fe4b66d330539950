package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// ErrBadCredentials is the one answer to a wrong email or a wrong password: the message never
// says which, so the form cannot be used to find out who has an account.
var ErrBadCredentials = errors.New("auth: wrong email or password")

// ThrottledError says a sign-in attempt was refused without checking the password.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many attempts, wait %s", e.Wait)
}

// Max lengths of the names people type.
const (
	MaxNameLen    = 100
	MaxOrgNameLen = 100
)

// SetupForm is what the first-run setup asks for.
type SetupForm struct {
	OrgName  string
	Name     string
	Email    string
	Password string
}

// Validate cleans the form in place and returns the problems to show beside its fields
// (keyed by the form field names org, name, email, password).
func (f *SetupForm) Validate() valid.Problems {
	p := valid.Problems{}
	var msg string
	f.OrgName, msg = valid.Text(f.OrgName, true, MaxOrgNameLen)
	p.Add("org", msg)
	f.Name, msg = valid.Text(f.Name, true, MaxNameLen)
	p.Add("name", msg)
	f.Email, msg = valid.Email(f.Email)
	p.Add("email", msg)
	p.Add("password", CheckPasswordPolicy(f.Password, f.Email, f.Name, f.OrgName))
	return p
}

// Service runs setup and sign-in against the store.
type Service struct {
	Store    *store.Store
	Throttle *Throttle
	// SystemRoles are seeded in the organisation setup creates.
	SystemRoles []rbac.RoleTemplate
}

// Setup validates the form and creates the first organisation and global admin. It returns
// problems (and no user) when the form is invalid, and store.ErrAlreadySetUp when setup ran before.
func (s *Service) Setup(ctx context.Context, f SetupForm) (store.User, valid.Problems, error) {
	if p := f.Validate(); len(p) > 0 {
		return store.User{}, p, nil
	}
	hash, err := HashPassword(ctx, f.Password)
	if err != nil {
		return store.User{}, nil, err
	}
	u, _, err := s.Store.Setup(ctx, store.SetupInput{OrgName: f.OrgName, Name: f.Name, Email: f.Email, PasswordHash: hash, SystemRoles: s.SystemRoles})
	return u, nil, err
}

// dummyHash is checked against when the email is unknown, so a wrong email takes as long as
// a wrong password. Its parameters are ours; computing it needs no hashing slot.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword(context.Background(), "rolegate timing equaliser")
	if err != nil {
		panic(err)
	}
	return h
})

// Credentials are what a sign-in attempt presents: the email and password typed, the client
// address, and the device id of the browser's device cookie for that email ("" if none).
type Credentials struct {
	Email, Password string
	Addr, Device    string
}

// Authenticate checks a sign-in attempt. It returns the user, ErrBadCredentials, a
// *ThrottledError when too many attempts failed recently, or ErrBusy when the server is
// checking as many passwords as it can hold in memory. The attempt is counted before the
// password is hashed, so simultaneous guesses are all counted.
func (s *Service) Authenticate(ctx context.Context, cr Credentials) (store.User, error) {
	attempt, wait := s.Throttle.Reserve(cr.Email, cr.Addr, cr.Device)
	if attempt == nil {
		return store.User{}, &ThrottledError{Wait: wait}
	}
	email, msg := valid.Email(cr.Email)
	u, err := store.User{}, store.ErrNotFound
	if msg == "" && len(cr.Password) <= MaxPasswordLen*4 {
		u, err = s.Store.UserByEmail(ctx, email)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		attempt.Refund()
		return store.User{}, err
	}
	hash := u.PasswordHash
	if err != nil || u.Disabled {
		hash = dummyHash()
	}
	match, herr := CheckPassword(ctx, hash, cr.Password)
	if herr != nil {
		attempt.Refund()
		return store.User{}, herr
	}
	if err != nil || u.Disabled || !match {
		// The log keeps the address typed (when it looks like one), never the password.
		typed := email
		if msg != "" {
			typed = ""
		}
		if aerr := s.Store.Audit(ctx, audit.Entry{Action: audit.SignInFailed, TargetType: "user", TargetID: u.ID,
			TargetName: typed, Client: cr.Addr}); aerr != nil {
			return store.User{}, aerr
		}
		return store.User{}, ErrBadCredentials
	}
	attempt.Succeeded()
	return u, nil
}

// ChangePassword checks the current password, applies the policy to the new one, saves it and
// ends every other session of the user (keepSessionID stays signed in). Problems are keyed by
// the form fields current_password and password. The current-password check is throttled and
// its failures audited exactly like sign-in (cr.Email is ignored: it is u's), so a stolen
// session cannot be used to guess the password; context are words the new password must not
// be built from besides the person's own email and name (their organisations).
func (s *Service) ChangePassword(ctx context.Context, u store.User, cr Credentials, next string, keepSessionID int64, context ...string) (valid.Problems, error) {
	ok, err := s.CheckCurrent(ctx, u, cr)
	if err != nil {
		return nil, err
	}
	p := valid.Problems{}
	if !ok {
		p.Add("current_password", "This is not your current password.")
	}
	p.Add("password", CheckPasswordPolicy(next, append([]string{u.Email, u.Name}, context...)...))
	if len(p) > 0 {
		return p, nil
	}
	hash, err := HashPassword(ctx, next)
	if err != nil {
		return nil, err
	}
	return nil, s.Store.SetPassword(ctx, u.ID, hash, keepSessionID)
}

// CheckCurrent checks that cr.Password is signed-in u's current password before something
// only they should do (a new password, setting up two-step sign-in). It is throttled and a
// wrong one audited exactly like sign-in (cr.Email is ignored: it is u's), so a stolen
// session cannot be used to guess it.
func (s *Service) CheckCurrent(ctx context.Context, u store.User, cr Credentials) (bool, error) {
	attempt, wait := s.Throttle.Reserve(u.Email, cr.Addr, cr.Device)
	if attempt == nil {
		return false, &ThrottledError{Wait: wait}
	}
	ok, err := CheckPassword(ctx, u.PasswordHash, cr.Password)
	if err != nil {
		attempt.Refund()
		return false, err
	}
	if ok {
		attempt.Succeeded()
		return true, nil
	}
	return false, s.Store.Audit(ctx, audit.Entry{Action: audit.PasswordCheckFailed, TargetType: "user", TargetID: u.ID,
		TargetName: u.Name, Client: cr.Addr})
}

// Rename sets u's own name; the problem is keyed by the form field name.
func (s *Service) Rename(ctx context.Context, u store.User, name string) (valid.Problems, error) {
	name, msg := valid.Text(name, true, MaxNameLen)
	if msg != "" {
		return valid.Problems{"name": msg}, nil
	}
	return nil, s.Store.SetName(ctx, u.ID, name)
}
