// Package auth holds what decides who someone is: password hashing and policy, server-side
// sessions behind a signed and encrypted cookie, sign-in throttling, and first-run setup.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's minimum of 19 MiB, two passes, one lane.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// ErrMalformedHash is returned when a stored hash is not an argon2id PHC string we can read.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// ErrBusy means every password-hashing slot stayed taken for HashWait: the server is
// answering as many sign-ins as its memory allows, and the caller should try again shortly.
var ErrBusy = errors.New("auth: too many password checks at once")

// HashWait is how long a password check waits for a free hashing slot before ErrBusy.
const HashWait = 2 * time.Second

// hashSlots bounds how many argon2id computations run at once. Each takes argonMemory
// (19 MiB) for as long as it runs, so without a bound a burst of sign-ins is a burst of
// memory: 200 at once reached 3.8 GiB. One slot per CPU keeps the CPUs busy and the memory
// at a few tens of MiB however many requests arrive; the rest wait in line, then get ErrBusy.
var hashSlots = make(chan struct{}, max(runtime.NumCPU(), 1))

// withHashSlot runs f holding a hashing slot, waiting at most HashWait (or until ctx ends).
func withHashSlot(ctx context.Context, f func()) error {
	timer := time.NewTimer(HashWait)
	defer timer.Stop()
	select {
	case hashSlots <- struct{}{}:
	case <-timer.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-hashSlots }()
	f()
	return nil
}

// HashPassword returns the argon2id hash of pw in the PHC string format, with a fresh salt.
// It waits for a hashing slot like every other password computation (ErrBusy when none frees).
func HashPassword(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	var key []byte
	if err := withHashSlot(ctx, func() {
		key = argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	}); err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the PHC-encoded argon2id hash, in constant time.
// The parameters are read from the hash so that old hashes keep working if they change.
// It waits for a hashing slot (ErrBusy when none frees within HashWait).
func CheckPassword(ctx context.Context, hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<18 || t == 0 || t > 10 || p == 0 {
		return false, ErrMalformedHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, ErrMalformedHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, ErrMalformedHash
	}
	var got []byte
	if err := withHashSlot(ctx, func() { got = argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want))) }); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
