package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/store"
)

func TestHashAndCheckPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not use argon2id with m=19 MiB, t=2, p=1", h)
	}
	h2, _ := HashPassword("correct horse battery staple")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false} {
		ok, err := CheckPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "$argon2id$v=19$m=0,t=2,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)} {
		if _, err := CheckPassword(bad, "x"); !errors.Is(err, ErrMalformedHash) {
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

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	th := NewThrottle(func() time.Time { return now })
	for i := range FreeFailures {
		if ok, _ := th.Allow("ana@example.org", "10.0.0.1"); !ok {
			t.Fatalf("attempt %d refused within the free failures", i)
		}
		th.Fail("ana@example.org", "10.0.0.1")
	}
	ok, wait := th.Allow("ANA@example.org ", "10.0.0.2")
	if ok || wait <= 0 {
		t.Fatalf("after %d failures: allowed=%v wait=%v; want a wait (keyed by account, whatever the case)", FreeFailures, ok, wait)
	}
	if ok, _ := th.Allow("bob@example.org", "10.0.0.2"); !ok {
		t.Fatal("another account was throttled")
	}
	now = now.Add(wait)
	if ok, _ := th.Allow("ana@example.org", "10.0.0.1"); !ok {
		t.Fatal("still refused after waiting")
	}
	th.Succeed("ana@example.org")
	if ok, _ := th.Allow("ana@example.org", "10.0.0.1"); !ok {
		t.Fatal("refused after a success cleared the failures")
	}

	// At most MaxAccountFailures an hour however patient the guesser.
	th = NewThrottle(func() time.Time { return now })
	for range MaxAccountFailures {
		now = now.Add(30 * time.Second)
		if _, wait := th.Allow("ana@example.org", "x"); wait > 0 {
			now = now.Add(wait)
		}
		th.Fail("ana@example.org", "")
	}
	if ok, _ := th.Allow("ana@example.org", "y"); ok {
		t.Fatalf("allowed after %d failures within the hour", MaxAccountFailures)
	}

	// Per address: many accounts from one address.
	th = NewThrottle(func() time.Time { return now })
	for i := range MaxAddressFailures {
		th.Fail(strings.Repeat("x", i+1)+"@example.org", "192.0.2.7")
	}
	if ok, _ := th.Allow("new@example.org", "192.0.2.7"); ok {
		t.Fatal("address not throttled")
	}
	if ok, _ := th.Allow("new@example.org", "192.0.2.8"); !ok {
		t.Fatal("another address throttled")
	}
	now = now.Add(AddressWindow + time.Second)
	if ok, _ := th.Allow("new@example.org", "192.0.2.7"); !ok {
		t.Fatal("address still throttled after the window")
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
	if _, err := svc.Authenticate(ctx, "Ana@Example.org", "a long enough secret", "1.1.1.1"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, tc := range []struct{ email, pw string }{{"ana@example.org", "wrong password!"}, {"nobody@example.org", "a long enough secret"}, {"not an email", "x"}} {
		if _, err := svc.Authenticate(ctx, tc.email, tc.pw, "1.1.1.1"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q) err = %v; want ErrBadCredentials", tc.email, err)
		}
	}
	probs, err := svc.ChangePassword(ctx, u, "wrong", "short", 0)
	if err != nil || probs["current_password"] == "" || probs["password"] == "" {
		t.Fatalf("ChangePassword with bad input: %v %v", probs, err)
	}
	if probs, err := svc.ChangePassword(ctx, u, "a long enough secret", "another long secret", 0); err != nil || len(probs) > 0 {
		t.Fatalf("ChangePassword: %v %v", probs, err)
	}
	if _, err := svc.Authenticate(ctx, "ana@example.org", "another long secret", "1.1.1.1"); err != nil {
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
		ok, err := CheckPassword(hash, "x")
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
	})
}
