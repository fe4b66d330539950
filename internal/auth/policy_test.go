package auth

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// The passwords the hardening issue found accepted are refused, given the person's context;
// ordinary passphrases, including ones that mention a context word, still pass.
func TestPasswordPolicyContext(t *testing.T) {
	ctx := []string{"ana.ruiz@example.org", "Ana Ruiz", "Northside Practice"}
	for pw, ok := range map[string]bool{
		"ana.ruiz@example.org":          false, // the email itself
		"Ana Ruiz Ana Ruiz":             false, // the name
		"anaruiz2024!!":                 false,
		"northsidepractice":             false,
		"rolegate1234":                  false,
		"Rolegate2026!":                 false,
		"admin123456789":                false,
		"p@55w0rd1234":                  false,
		"ABCDEFGHIJKL":                  false,
		"qwertyuiop12":                  false,
		"zyxwvutsrqpo":                  false,
		"111111222222":                  false,
		"correct horse battery staple":  true,
		"Northside has the best coffee": true,
		"Ελένη πίνει καφέ κάθε πρωί": true,
		"ana likes long quiet walks": true,
		"Xk9#mQ2$vL7p":               true,
	} {
		if got := CheckPasswordPolicy(pw, ctx...); (got == "") != ok {
			t.Errorf("CheckPasswordPolicy(%q) = %q; want acceptable=%v", pw, got, ok)
		}
	}
	// Without context the person's name is an ordinary word.
	if got := CheckPasswordPolicy("Ana Ruiz Ana Ruiz"); got != "" {
		t.Errorf("without context: %q", got)
	}
}

func FuzzPasswordPolicy(f *testing.F) {
	f.Add("correct horse battery staple", "ana@example.org", "Ana Ruiz")
	f.Add("rolegate1234", "", "")
	f.Add("p@55w0rd1234", "a@b.c", "Zoë Ångström")
	f.Add("\xff\xfe abcdefghijkl", "@", " ")
	f.Fuzz(func(t *testing.T, pw, email, name string) {
		msg := CheckPasswordPolicy(pw, email, name)
		if msg == "" && (utf8.RuneCountInString(pw) < MinPasswordLen || !utf8.ValidString(pw)) {
			t.Fatalf("accepted %q", pw)
		}
		// Whatever the context, a password that is only the context plus a sequence is refused.
		if e := strings.ToLower(strings.TrimSpace(email)); utf8.RuneCountInString(e) >= 3 && msg == "" && strings.ToLower(pw) == e+"1234" {
			t.Fatalf("accepted the email plus 1234: %q", pw)
		}
	})
}

// However many checks arrive at once, at most one argon2id computation per CPU runs; the
// others wait their turn, and one that cannot get a slot in time gets ErrBusy.
func TestHashingIsBounded(t *testing.T) {
	var mu sync.Mutex
	running, peak := 0, 0
	var wg sync.WaitGroup
	for range 4 * cap(hashSlots) {
		wg.Go(func() {
			if err := withHashSlot(context.Background(), func() {
				mu.Lock()
				running++
				peak = max(peak, running)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond) // hold the slot as a real hash would
				mu.Lock()
				running--
				mu.Unlock()
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak > runtime.NumCPU() || peak != cap(hashSlots) {
		t.Fatalf("%d hashes ran at once; want at most %d (one per CPU)", peak, runtime.NumCPU())
	}

	// Every slot held: the next check waits HashWait, then ErrBusy; a cancelled request leaves.
	release := make(chan struct{})
	var held sync.WaitGroup
	for range cap(hashSlots) {
		held.Add(1)
		go func() { _ = withHashSlot(context.Background(), func() { held.Done(); <-release }) }()
	}
	held.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CheckPassword(ctx, dummyHashForTest, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v; want context.Canceled", err)
	}
	if _, err := HashPassword(context.Background(), "x"); !errors.Is(err, ErrBusy) {
		t.Errorf("no slot within HashWait: %v; want ErrBusy", err)
	}
	close(release)
}

const dummyHashForTest = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
