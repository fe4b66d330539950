package auth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/store"
)

func TestHashAndCheckPassword(t *testing.T) {
	h, err := HashPassword(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not use argon2id with m=19 MiB, t=2, p=1", h)
	}
	h2, _ := HashPassword(context.Background(), "correct horse battery staple")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false} {
		ok, err := CheckPassword(context.Background(), h, pw)
		if err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "$argon2id$v=19$m=0,t=2,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)} {
		if _, err := CheckPassword(context.Background(), bad, "x"); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("CheckPassword(%q) err = %v, want ErrMalformedHash", bad, err)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	tests := map[string]bool{ // password → acceptable
		"":             false,
		"short":        false,
		"elevenchars":  false,
		"twelve chars": true,
		"password1234": false, // on the common list
		"PASSWORD1234": false, // the list ignores case
		strings.Repeat("horse battery! ", 9)[:128]: true,
		strings.Repeat("zoë ångström", 21):         true, // 252 characters, more bytes
		strings.Repeat("x", 257):                   false,
		"no composition rules here!":               true,
		"monkey123456":                             false, // a listed word padded with digits
		"!!sunshine!!":                             false,
		"passwordpassword":                         false,
		"abcabcabcabc":                             false, // a short pattern repeated
		"ab12ab12ab12ab12":                         false,
	}
	for pw, ok := range tests {
		if got := CheckPasswordPolicy(pw); (got == "") != ok {
			t.Errorf("CheckPasswordPolicy(%q) = %q; want acceptable=%v", pw, got, ok)
		}
	}
	if len(commonPasswords) < 1000 {
		t.Fatalf("common password list has %d entries; the embedded list did not load", len(commonPasswords))
	}
}

// reserveFailed reserves an attempt and leaves it counted, as a wrong password does.
func reserveFailed(th *Throttle, email, addr, device string) (bool, time.Duration) {
	a, wait := th.Reserve(email, addr, device)
	return a != nil, wait
}

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	th := NewThrottle(func() time.Time { return now })
	for i := range FreeFailures {
		if ok, _ := reserveFailed(th, "ana@example.org", "10.0.0.1", ""); !ok {
			t.Fatalf("attempt %d refused within the free failures", i)
		}
	}
	ok, wait := reserveFailed(th, "ANA@example.org ", "10.0.0.2", "")
	if ok || wait <= 0 {
		t.Fatalf("after %d failures: allowed=%v wait=%v; want a wait (keyed by account, whatever the case)", FreeFailures, ok, wait)
	}
	if ok, _ := reserveFailed(th, "bob@example.org", "10.0.0.2", ""); !ok {
		t.Fatal("another account was throttled")
	}
	now = now.Add(wait)
	a, _ := th.Reserve("ana@example.org", "10.0.0.1", "")
	if a == nil {
		t.Fatal("still refused after waiting")
	}
	a.Succeeded()
	if ok, _ := reserveFailed(th, "ana@example.org", "10.0.0.1", ""); !ok {
		t.Fatal("refused after a success cleared the failures")
	}

	// At most MaxAccountFailures an hour however patient the guesser.
	th = NewThrottle(func() time.Time { return now })
	for range MaxAccountFailures {
		now = now.Add(30 * time.Second)
		if ok, wait := reserveFailed(th, "ana@example.org", "", ""); !ok {
			now = now.Add(wait)
			reserveFailed(th, "ana@example.org", "", "")
		}
	}
	if ok, _ := reserveFailed(th, "ana@example.org", "y", ""); ok {
		t.Fatalf("allowed after %d failures within the hour", MaxAccountFailures)
	}

	// Per address: many accounts from one address.
	th = NewThrottle(func() time.Time { return now })
	for i := range MaxAddressFailures {
		reserveFailed(th, strings.Repeat("x", i+1)+"@example.org", "192.0.2.7", "")
	}
	if ok, _ := reserveFailed(th, "new@example.org", "192.0.2.7", ""); ok {
		t.Fatal("address not throttled")
	}
	if ok, _ := reserveFailed(th, "new@example.org", "192.0.2.8", ""); !ok {
		t.Fatal("another address throttled")
	}
	now = now.Add(AddressWindow + time.Second)
	if ok, _ := reserveFailed(th, "new@example.org", "192.0.2.7", ""); !ok {
		t.Fatal("address still throttled after the window")
	}

	// A refunded attempt (never checked) does not count.
	th = NewThrottle(func() time.Time { return now })
	for range 3 * FreeFailures {
		a, _ := th.Reserve("ana@example.org", "10.0.0.1", "")
		if a == nil {
			t.Fatal("refunded attempts were counted")
		}
		a.Refund()
	}
}

// Simultaneous guesses are counted as they arrive, before any password is hashed: 60 at once
// on one account get the free failures and no more (finding 5 of the hardening issue).
func TestThrottleCountsSimultaneousGuesses(t *testing.T) {
	th := NewThrottle(nil)
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() {
			if a, _ := th.Reserve("ana@example.org", "198.51.100.9", ""); a != nil {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := admitted.Load(); n != FreeFailures {
		t.Fatalf("%d of 60 simultaneous guesses were let through; want %d", n, FreeFailures)
	}
	// Per address too: guesses spread over many accounts from one address.
	th = NewThrottle(nil)
	admitted.Store(0)
	for i := range 200 {
		wg.Go(func() {
			if a, _ := th.Reserve(fmt.Sprintf("u%d@example.org", i), "198.51.100.9", ""); a != nil {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := admitted.Load(); n != MaxAddressFailures {
		t.Fatalf("%d of 200 simultaneous guesses from one address were let through; want %d", n, MaxAddressFailures)
	}
}

// A browser that signed in before keeps its own allowance: an attacker who has used up the
// account's shared allowance elsewhere cannot lock it out; its own failures are bounded too.
func TestThrottleDeviceAllowance(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	th := NewThrottle(func() time.Time { return now })
	for range MaxAccountFailures {
		if ok, wait := reserveFailed(th, "ana@example.org", "203.0.113.66", ""); !ok {
			now = now.Add(wait)
			reserveFailed(th, "ana@example.org", "203.0.113.67", "")
		}
	}
	if ok, _ := reserveFailed(th, "ana@example.org", "192.0.2.1", ""); ok {
		t.Fatal("an unknown client was let through after the account's allowance ran out")
	}
	a, _ := th.Reserve("ana@example.org", "192.0.2.1", "device-1")
	if a == nil {
		t.Fatal("the person's own browser was locked out by the attacker's failures")
	}
	a.Succeeded()
	if ok, _ := reserveFailed(th, "ana@example.org", "192.0.2.1", ""); ok {
		t.Fatal("a success from one device cleared the shared allowance for unknown clients")
	}
	// Another account's device cookie, or a made-up id, buys nothing new once used up.
	th = NewThrottle(func() time.Time { return now })
	for i := range MaxDeviceFailures {
		if ok, wait := reserveFailed(th, "ana@example.org", "192.0.2.1", "device-1"); !ok {
			now = now.Add(wait)
			if ok, _ := reserveFailed(th, "ana@example.org", "192.0.2.1", "device-1"); !ok {
				t.Fatalf("device failure %d refused after waiting", i)
			}
		}
	}
	if ok, _ := reserveFailed(th, "ana@example.org", "192.0.2.1", "device-1"); ok {
		t.Fatalf("a device was allowed more than %d failures an hour", MaxDeviceFailures)
	}
}

func TestServiceSetupAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := &Service{Store: st, Throttle: NewThrottle(nil)}
	_, problems, err := svc.Setup(ctx, SetupForm{OrgName: " ", Name: "Ana", Email: "nope", Password: "short"})
	if err != nil || len(problems) != 3 || problems["org"] == "" || problems["email"] == "" || problems["password"] == "" {
		t.Fatalf("invalid setup: problems=%v err=%v", problems, err)
	}
	if need, _ := st.NeedsSetup(ctx); !need {
		t.Fatal("invalid setup wrote something")
	}
	u, problems, err := svc.Setup(ctx, SetupForm{OrgName: "Northside", Name: "Ana Ruiz", Email: " ana@example.org ", Password: "a long enough secret"})
	if err != nil || len(problems) > 0 || u.Email != "ana@example.org" {
		t.Fatalf("setup: %+v %v %v", u, problems, err)
	}
	if _, err := svc.Authenticate(ctx, Credentials{Email: "Ana@Example.org", Password: "a long enough secret", Addr: "1.1.1.1"}); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, tc := range []struct{ email, pw string }{{"ana@example.org", "wrong password!"}, {"nobody@example.org", "a long enough secret"}, {"not an email", "x"}} {
		if _, err := svc.Authenticate(ctx, Credentials{Email: tc.email, Password: tc.pw, Addr: "1.1.1.1"}); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q) err = %v; want ErrBadCredentials", tc.email, err)
		}
	}
	probs, err := svc.ChangePassword(ctx, u, Credentials{Password: "wrong", Addr: "1.1.1.1"}, "short", 0)
	if err != nil || probs["current_password"] == "" || probs["password"] == "" {
		t.Fatalf("ChangePassword with bad input: %v %v", probs, err)
	}
	if probs, err := svc.ChangePassword(ctx, u, Credentials{Password: "a long enough secret", Addr: "1.1.1.1"}, "another long secret", 0); err != nil || len(probs) > 0 {
		t.Fatalf("ChangePassword: %v %v", probs, err)
	}
	if _, err := svc.Authenticate(ctx, Credentials{Email: "ana@example.org", Password: "another long secret", Addr: "1.1.1.1"}); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
}

func FuzzSetupFormValidate(f *testing.F) {
	f.Add("Northside", "Ana Ruiz", "ana@example.org", "a long enough secret")
	f.Add("", "", "", "")
	f.Add("\x00", "a\u202eb", "a@b", "password1234")
	f.Fuzz(func(t *testing.T, org, name, email, pw string) {
		form := SetupForm{OrgName: org, Name: name, Email: email, Password: pw}
		p := form.Validate()
		if len(p) == 0 && (form.OrgName == "" || form.Name == "" || form.Email == "" || CheckPasswordPolicy(pw) != "") {
			t.Fatalf("accepted %+v", form)
		}
	})
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, hash string) {
		// Must never panic, and must never accept a malformed hash.
		ok, err := CheckPassword(context.Background(), hash, "x")
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
	})
}
