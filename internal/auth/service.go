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
	p.Add("password", CheckPasswordPolicy(f.Password))
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
	hash, err := HashPassword(f.Password)
	if err != nil {
		return store.User{}, nil, err
	}
	u, _, err := s.Store.Setup(ctx, store.SetupInput{OrgName: f.OrgName, Name: f.Name, Email: f.Email, PasswordHash: hash, SystemRoles: s.SystemRoles})
	return u, nil, err
}

// dummyHash is checked against when the email is unknown, so a wrong email takes as long as
// a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("rolegate timing equaliser")
	if err != nil {
		panic(err)
	}
	return h
})

// Authenticate checks an email and password from client address addr. It returns the user,
// ErrBadCredentials, or a *ThrottledError when too many attempts failed recently.
func (s *Service) Authenticate(ctx context.Context, email, password, addr string) (store.User, error) {
	if ok, wait := s.Throttle.Allow(email, addr); !ok {
		return store.User{}, &ThrottledError{Wait: wait}
	}
	email, msg := valid.Email(email)
	u, err := store.User{}, store.ErrNotFound
	if msg == "" && len(password) <= MaxPasswordLen*4 {
		u, err = s.Store.UserByEmail(ctx, email)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	hash := u.PasswordHash
	if err != nil || u.Disabled {
		hash = dummyHash()
	}
	match, herr := CheckPassword(hash, password)
	if herr != nil {
		return store.User{}, herr
	}
	if err != nil || u.Disabled || !match {
		s.Throttle.Fail(email, addr)
		// The log keeps the address typed (when it looks like one), never the password.
		typed := email
		if msg != "" {
			typed = ""
		}
		if aerr := s.Store.Audit(ctx, audit.Entry{Action: audit.SignInFailed, TargetType: "user", TargetID: u.ID,
			TargetName: typed, Client: addr}); aerr != nil {
			return store.User{}, aerr
		}
		return store.User{}, ErrBadCredentials
	}
	s.Throttle.Succeed(email)
	return u, nil
}

// ChangePassword checks the current password, applies the policy to the new one, saves it and
// ends every other session of the user (keepSessionID stays signed in). Problems are keyed by
// the form fields current_password and password.
func (s *Service) ChangePassword(ctx context.Context, u store.User, current, next string, keepSessionID int64) (valid.Problems, error) {
	p := valid.Problems{}
	ok, err := CheckPassword(u.PasswordHash, current)
	if err != nil {
		return nil, err
	}
	if !ok {
		p.Add("current_password", "This is not your current password.")
	}
	p.Add("password", CheckPasswordPolicy(next))
	if len(p) > 0 {
		return p, nil
	}
	hash, err := HashPassword(next)
	if err != nil {
		return nil, err
	}
	return nil, s.Store.SetPassword(ctx, u.ID, hash, keepSessionID)
}
