package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/rolegate/rolegate/internal/auth/authtest"
	"github.com/rolegate/rolegate/internal/store"
)

const testOrigin = "https://rolegate.test"

func passkeyWorld(t testing.TB) (*Passkeys, *store.Store, store.User) {
	t.Helper()
	ts, st, u, _ := twoStepWorld(t)
	return &Passkeys{Store: st, Throttle: ts.Throttle, Name: "Northside"}, st, u
}

func register(t *testing.T, p *Passkeys, u store.User, name string) (*authtest.Passkey, []string) {
	t.Helper()
	ctx := context.Background()
	opts, c, problems, err := p.BeginRegistration(ctx, u, testOrigin, name)
	if err != nil || problems != nil {
		t.Fatalf("begin registration: %v %v", problems, err)
	}
	k := authtest.NewPasskey(t, testOrigin)
	key, codes, err := p.FinishRegistration(ctx, u, 0, nil, testOrigin, c, k.Create(opts))
	if err != nil || key.Name != name {
		t.Fatalf("finish registration: %+v %v", key, err)
	}
	return k, codes
}

// A first passkey comes with ten recovery codes, a second with none; names are checked;
// the person's second step is on.
func TestPasskeyRegistration(t *testing.T) {
	p, st, u := passkeyWorld(t)
	ctx := context.Background()
	for name, want := range map[string]string{"": "Give it a name", "   ": "Give it a name", string(make([]rune, 65)): "At most 64"} {
		if _, _, problems, err := p.BeginRegistration(ctx, u, testOrigin, name); err != nil || problems["passkey_name"] == "" {
			t.Errorf("name %q: %v %v, want %q", name, problems, err, want)
		}
	}
	_, codes := register(t, p, u, "Work laptop")
	if len(codes) != RecoveryCodes {
		t.Fatalf("first passkey: %d recovery codes", len(codes))
	}
	if _, codes := register(t, p, u, "Blue security key"); codes != nil {
		t.Fatalf("second passkey came with recovery codes: %v", codes)
	}
	if _, _, problems, _ := p.BeginRegistration(ctx, u, testOrigin, "work LAPTOP"); problems["passkey_name"] == "" {
		t.Error("a second passkey of the same name was accepted")
	}
	ts, err := st.TwoStepOf(ctx, u.ID)
	if err != nil || !ts.On() || ts.Passkeys != 2 || ts.RecoveryLeft != RecoveryCodes {
		t.Fatalf("two-step after two passkeys: %+v %v", ts, err)
	}
	// The ceremony is one person's: another's answer to it is refused.
	opts, c, _, _ := p.BeginRegistration(ctx, u, testOrigin, "Phone")
	other := u
	other.ID++
	if _, _, err := p.FinishRegistration(ctx, other, 0, nil, testOrigin, c, authtest.NewPasskey(t, testOrigin).Create(opts)); !errors.Is(err, ErrBadPasskey) {
		t.Errorf("someone else finishing the ceremony: %v", err)
	}
	// An answer for another origin (a phishing site) is refused.
	opts, c, _, _ = p.BeginRegistration(ctx, u, testOrigin, "Phone")
	if _, _, err := p.FinishRegistration(ctx, u, 0, nil, "https://rolegate.test.evil.example", c, authtest.NewPasskey(t, testOrigin).Create(opts)); !errors.Is(err, ErrBadPasskey) {
		t.Errorf("another origin: %v", err)
	}
}

// The second step and the sign-in without a password: the right key signs in, once per
// challenge; a replayed answer, a counter gone backwards, a removed key, or a sign-in by a
// key that does not verify the person are refused.
func TestPasskeySignIn(t *testing.T) {
	p, st, u := passkeyWorld(t)
	ctx := context.Background()
	k, _ := register(t, p, u, "Work laptop")

	opts, c, err := p.BeginSecondStep(ctx, u, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	answer := k.Get(opts)
	if who, err := p.Finish(ctx, testOrigin, c, answer, "192.0.2.1"); err != nil || who.ID != u.ID {
		t.Fatalf("second step: %+v %v", who, err)
	}
	if _, err := p.Finish(ctx, testOrigin, c, answer, "192.0.2.1"); !errors.Is(err, ErrBadPasskey) {
		t.Errorf("the same answer again: %v", err)
	}
	keys, _ := st.Passkeys(ctx, u.ID)
	if len(keys) != 1 || keys[0].LastUsedAt == 0 {
		t.Fatalf("last used not kept: %+v", keys)
	}

	opts, c, err = p.BeginSignIn(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if who, err := p.Finish(ctx, testOrigin, c, k.Get(opts), "192.0.2.1"); err != nil || who.ID != u.ID {
		t.Fatalf("sign-in without a password: %+v %v", who, err)
	}

	// A copy of the key whose counter is behind the one the portal saw.
	k.Count -= 2
	opts, c, _ = p.BeginSignIn(testOrigin)
	if _, err := p.Finish(ctx, testOrigin, c, k.Get(opts), "192.0.2.1"); !errors.Is(err, ErrBadPasskey) {
		t.Errorf("a cloned key: %v", err)
	}
	k.Count += 5

	// A key that claims another person's handle.
	liar := *k
	liar.Handle = userHandle(u.ID + 1)
	opts, c, _ = p.BeginSignIn(testOrigin)
	if _, err := p.Finish(ctx, testOrigin, c, liar.Get(opts), "192.0.2.1"); !errors.Is(err, ErrBadPasskey) {
		t.Errorf("another person's user handle: %v", err)
	}

	// Without a password, the key itself must verify the person.
	presence := register2(t, p, u, "Presence-only key")
	opts, c, _ = p.BeginSignIn(testOrigin)
	if _, err := p.Finish(ctx, testOrigin, c, presence.Get(opts), "192.0.2.1"); !errors.Is(err, ErrBadPasskey) {
		t.Errorf("a sign-in by a key that did not verify the person: %v", err)
	}
	// … after the password it is enough.
	opts, c, _ = p.BeginSecondStep(ctx, u, testOrigin)
	if _, err := p.Finish(ctx, testOrigin, c, presence.Get(opts), "192.0.2.1"); err != nil {
		t.Errorf("a presence-only key as the second step: %v", err)
	}

	if err := p.Remove(ctx, u, keys[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	opts, c, _ = p.BeginSignIn(testOrigin)
	if _, err := p.Finish(ctx, testOrigin, c, k.Get(opts), "192.0.2.1"); !errors.Is(err, ErrBadPasskey) {
		t.Errorf("a removed key: %v", err)
	}
	if err := p.Remove(ctx, u, keys[0].ID, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing it again: %v", err)
	}
}

func register2(t *testing.T, p *Passkeys, u store.User, name string) *authtest.Passkey {
	t.Helper()
	ctx := context.Background()
	opts, c, _, err := p.BeginRegistration(ctx, u, testOrigin, name)
	if err != nil {
		t.Fatal(err)
	}
	k := authtest.NewPasskey(t, testOrigin)
	k.NoUV = true
	if _, _, err := p.FinishRegistration(ctx, u, 0, nil, testOrigin, c, k.Create(opts)); err != nil {
		t.Fatalf("register a presence-only key: %v", err)
	}
	return k
}

// Wrong answers are throttled per address, before the answer is looked at, and never
// share a count with the account of the same name.
func TestPasskeySignInThrottled(t *testing.T) {
	p, _, u := passkeyWorld(t)
	ctx := context.Background()
	k, _ := register(t, p, u, "Work laptop")
	stranger := authtest.NewPasskey(t, testOrigin)
	stranger.Handle = userHandle(u.ID)
	var last error
	for range MaxAddressFailures + 1 {
		opts, c, _ := p.BeginSignIn(testOrigin)
		last = nil
		if _, err := p.Finish(ctx, testOrigin, c, stranger.Get(opts), "198.51.100.7"); err != nil {
			last = err
		}
	}
	var te *ThrottledError
	if !errors.As(last, &te) {
		t.Fatalf("after %d wrong passkeys: %v", MaxAddressFailures+1, last)
	}
	// Another address still signs in.
	opts, c, _ := p.BeginSignIn(testOrigin)
	if who, err := p.Finish(ctx, testOrigin, c, k.Get(opts), "203.0.113.9"); err != nil || who.ID != u.ID {
		t.Fatalf("from another address: %+v %v", who, err)
	}
}

// Browsers make passkeys in a secure context on a host name only.
func TestPasskeysWork(t *testing.T) {
	for origin, want := range map[string]bool{
		"https://access.northside.example": true, "https://rolegate.test:8443": true, "http://localhost:8080": true,
		"http://portal.localhost": true, "http://access.northside.example": false, "http://127.0.0.1:8080": false,
		"https://192.168.1.10": false, "https://[::1]:8443": false, "": false, "localhost": false,
	} {
		if got := PasskeysWork(origin); got != want {
			t.Errorf("PasskeysWork(%q) = %v, want %v", origin, got, want)
		}
	}
}

// Whatever comes back as a passkey's answer, it signs nobody in and breaks nothing.
func FuzzPasskeyAnswer(f *testing.F) {
	p, _, u := passkeyWorld(f)
	ctx := context.Background()
	k := authtest.NewPasskey(f, testOrigin)
	opts, c, _, err := p.BeginRegistration(ctx, u, testOrigin, "Seed")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.Create(opts), false)
	if _, _, err := p.FinishRegistration(ctx, u, 0, nil, testOrigin, c, k.Create(opts)); err != nil {
		f.Fatal(err)
	}
	opts, _, _ = p.BeginSignIn(testOrigin)
	f.Add(k.Get(opts), true)
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{}}`), true)
	f.Add([]byte(`{}`), false)
	f.Fuzz(func(t *testing.T, answer []byte, signIn bool) {
		p.Throttle = NewThrottle(nil)
		if signIn {
			_, c, err := p.BeginSignIn(testOrigin)
			if err != nil {
				t.Fatal(err)
			}
			if who, err := p.Finish(ctx, testOrigin, c, answer, "192.0.2.1"); !errors.Is(err, ErrBadPasskey) {
				t.Fatalf("a fuzzed answer: %+v %v", who, err)
			}
			return
		}
		_, c, _, err := p.BeginRegistration(ctx, u, testOrigin, "Fuzzed")
		if err != nil {
			t.Fatal(err)
		}
		if key, _, err := p.FinishRegistration(ctx, u, 0, nil, testOrigin, c, answer); !errors.Is(err, ErrBadPasskey) {
			t.Fatalf("a fuzzed registration: %+v %v", key, err)
		}
	})
}
