package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
)

// twoStepWorld is a store with one person and a TwoStep on a clock the test moves.
func twoStepWorld(t testing.TB) (*TwoStep, *store.Store, store.User, *time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := &Service{Store: st, Throttle: NewThrottle(nil)}
	u, _, err := svc.Setup(ctx, SetupForm{OrgName: "Northside", Name: "Ana Ruiz", Email: "ana@example.org", Password: "a long enough secret"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 9, 0, 10, 0, time.UTC)
	clock := func() time.Time { return now }
	return &TwoStep{Store: st, Throttle: NewThrottle(clock), Issuer: "Northside", Now: clock}, st, u, &now
}

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Enrolment: nothing is on until a code from the app is typed; then ten recovery codes,
// and a second enrolment is refused while this one is on.
func TestTwoStepEnrol(t *testing.T) {
	ts, st, u, now := twoStepWorld(t)
	ctx := context.Background()
	e, err := ts.Begin(ctx, u)
	if err != nil || len(e.Secret) < 16 || !strings.HasPrefix(e.URL, "otpauth://totp/Northside:ana@example.org?") {
		t.Fatalf("begin: %+v %v", e, err)
	}
	if png, err := e.QR(200); err != nil || len(png) < 100 || string(png[1:4]) != "PNG" {
		t.Fatalf("QR: %d bytes, %v", len(png), err)
	}
	if again, err := ts.Pending(ctx, u); err != nil || again.Secret != e.Secret || again.URL != e.URL {
		t.Fatalf("pending: %+v %v", again, err)
	}
	if on, _ := st.TwoStepOf(ctx, u.ID); on.TOTP {
		t.Fatal("on before any code was typed")
	}
	if _, err := ts.Confirm(ctx, u, "000000", 0, nil); !errors.Is(err, ErrBadCode) {
		t.Fatalf("wrong code: %v", err)
	}
	codes, err := ts.Confirm(ctx, u, codeAt(t, e.Secret, *now), 0, nil)
	if err != nil || len(codes) != RecoveryCodes {
		t.Fatalf("confirm: %v %v", codes, err)
	}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || strings.ContainsAny(c, "0189") {
			t.Fatalf("recovery code %q", c)
		}
	}
	if on, _ := st.TwoStepOf(ctx, u.ID); !on.TOTP || on.RecoveryLeft != RecoveryCodes {
		t.Fatalf("after confirming: %+v", on)
	}
	if _, err := ts.Begin(ctx, u); !errors.Is(err, store.ErrTwoStepOn) {
		t.Fatalf("a second enrolment while on: %v", err)
	}
	// The code that confirmed cannot sign in.
	if _, err := ts.Check(ctx, u, codeAt(t, e.Secret, *now), "10.0.0.1"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("the enrolment's code reused: %v", err)
	}
}

// Codes: the step before and after are taken for a drifting clock, two steps off are not,
// each code works once (an earlier step after a later one, too), spaces are forgiven.
func TestTwoStepCodes(t *testing.T) {
	ts, _, u, now := twoStepWorld(t)
	ctx := context.Background()
	e, _ := ts.Begin(ctx, u)
	if _, err := ts.Confirm(ctx, u, codeAt(t, e.Secret, now.Add(-30*time.Second)), 0, nil); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(10 * time.Minute)
	cases := []struct {
		name string
		at   time.Duration
		ok   bool
	}{
		{"two steps early", -60 * time.Second, false},
		{"a step early", -30 * time.Second, true},
		{"that code again", -30 * time.Second, false},
		{"now", 0, true},
		{"now again", 0, false},
		{"a step late", 30 * time.Second, true},
		{"two steps late", 60 * time.Second, false},
	}
	for _, tc := range cases {
		_, err := ts.Check(ctx, u, codeAt(t, e.Secret, now.Add(tc.at)), "10.0.0.1")
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	*now = now.Add(2 * time.Minute)
	c := codeAt(t, e.Secret, *now)
	if _, err := ts.Check(ctx, u, c[:3]+" "+c[3:], "10.0.0.1"); err != nil {
		t.Errorf("a code typed with a space: %v", err)
	}
	// An older step after a newer one was taken: refused (a code seen over a shoulder).
	if _, err := ts.Check(ctx, u, codeAt(t, e.Secret, now.Add(-30*time.Second)), "10.0.0.1"); !errors.Is(err, ErrBadCode) {
		t.Errorf("an older step after a newer one: %v", err)
	}
}

// Recovery codes work once each, in any case and with or without the dash, are audited with
// how many remain, and renewing ends the old ones.
func TestTwoStepRecoveryCodes(t *testing.T) {
	ts, st, u, now := twoStepWorld(t)
	ctx := context.Background()
	e, _ := ts.Begin(ctx, u)
	codes, err := ts.Confirm(ctx, u, codeAt(t, e.Secret, *now), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.Check(ctx, u, strings.ToLower(strings.ReplaceAll(codes[0], "-", "")), "10.0.0.1")
	if err != nil || !got.Recovery || got.Left != RecoveryCodes-1 {
		t.Fatalf("recovery code: %+v %v", got, err)
	}
	if _, err := ts.Check(ctx, u, codes[0], "10.0.0.1"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("a recovery code used twice: %v", err)
	}
	list, _ := st.ListAudit(ctx, store.AuditQuery{Action: audit.RecoveryCodeUsed, Limit: 5})
	if len(list) != 1 || !strings.Contains(string(list[0].After), `"remaining":9`) {
		t.Fatalf("audit: %+v", list)
	}
	fresh, err := ts.Renew(ctx, u, codes[1], "10.0.0.1")
	if err != nil || len(fresh) != RecoveryCodes {
		t.Fatalf("renew: %v %v", fresh, err)
	}
	if _, err := ts.Check(ctx, u, codes[2], "10.0.0.1"); !errors.Is(err, ErrBadCode) {
		t.Fatal("an old recovery code works after renewing")
	}
	if on, _ := st.TwoStepOf(ctx, u.ID); on.RecoveryLeft != RecoveryCodes {
		t.Fatalf("after renewing: %+v", on)
	}
	if err := ts.Remove(ctx, u, fresh[0], "10.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	if on, _ := st.TwoStepOf(ctx, u.ID); on.TOTP || on.RecoveryLeft != 0 {
		t.Fatalf("after turning off: %+v", on)
	}
	if _, err := ts.Check(ctx, u, codeAt(t, e.Secret, now.Add(30*time.Second)), "10.0.0.1"); !errors.Is(err, ErrBadCode) {
		t.Fatal("a code works after two-step sign-in was turned off")
	}
}

// Wrong codes are throttled like passwords: after FreeFailures each further one waits, and
// each is audited.
func TestTwoStepThrottled(t *testing.T) {
	ts, st, u, now := twoStepWorld(t)
	ctx := context.Background()
	e, _ := ts.Begin(ctx, u)
	if _, err := ts.Confirm(ctx, u, codeAt(t, e.Secret, *now), 0, nil); err != nil {
		t.Fatal(err)
	}
	for i := range FreeFailures {
		if _, err := ts.Check(ctx, u, "123456", "10.0.0.1"); !errors.Is(err, ErrBadCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	var te *ThrottledError
	next := codeAt(t, e.Secret, now.Add(30*time.Second)) // right, and not yet used
	if _, err := ts.Check(ctx, u, next, "10.0.0.1"); !errors.As(err, &te) {
		t.Fatalf("after %d wrong codes, even the right one must wait: %v", FreeFailures, err)
	}
	list, _ := st.ListAudit(ctx, store.AuditQuery{Action: audit.TwoStepFailed, Limit: 20})
	if len(list) != FreeFailures {
		t.Fatalf("%d failures audited, want %d", len(list), FreeFailures)
	}
	*now = now.Add(te.Wait)
	if _, err := ts.Check(ctx, u, next, "10.0.0.1"); err != nil {
		t.Fatalf("after the wait, the right code: %v", err)
	}
}

// Whatever is typed as a code: no panic, and only the six digits the app shows now (or a
// step either side) are ever taken; recovery codes read the same in any case and with or
// without spaces and dashes.
func FuzzTwoStepCode(f *testing.F) {
	secret := "JBSWY3DPEHPK3PXP"
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	right, _ := totp.GenerateCodeCustom(secret, now, totpOpts)
	for _, seed := range []string{"", right, " " + right[:3] + " " + right[3:], "000000", "12345", "1234567", "ABCDE-FGHIJ", "abcde fghij", "٠١٢٣٤٥", "\x00\x00\x00\x00\x00\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		step, ok := matchStep(secret, code, now)
		if ok {
			digits := strings.Join(strings.Fields(code), "")
			want, _ := totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totpOpts)
			if digits != want || step < now.Unix()/30-1 || step > now.Unix()/30+1 {
				t.Fatalf("%q taken for step %d", code, step)
			}
		}
		h := recoveryHash(code)
		ascii := !strings.ContainsFunc(code, func(r rune) bool { return r > 127 })
		if ascii && string(h) != string(recoveryHash(strings.ToLower(code))) {
			t.Fatalf("%q: case changes the recovery hash", code)
		}
		if string(h) != string(recoveryHash(strings.ReplaceAll(code, "-", ""))) {
			t.Fatalf("%q: a dash changes the recovery hash", code)
		}
	})
}
