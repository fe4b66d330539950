// Package auth holds what decides who someone is: password hashing and policy, server-side
// sessions behind a signed and encrypted cookie, sign-in throttling, and first-run setup.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

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

// Password length limits. The maximum is generous (passphrases) but bounded so a huge body
// cannot make hashing a denial of service.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// ErrMalformedHash is returned when a stored hash is not an argon2id PHC string we can read.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// HashPassword returns the argon2id hash of pw in the PHC string format, with a fresh salt.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the PHC-encoded argon2id hash, in constant time.
// The parameters are read from the hash so that old hashes keep working if they change.
func CheckPassword(hash, pw string) (bool, error) {
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
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

//go:embed common_passwords.txt
var commonPasswordList string

var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, strings.Count(commonPasswordList, "\n")+1)
	for line := range strings.SplitSeq(commonPasswordList, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m[line] = struct{}{}
		}
	}
	return m
}()

// CheckPasswordPolicy returns a message fit to show beside the password field, or "" when
// the password is acceptable: long enough, not absurdly long, and not a well-known password.
// There are deliberately no composition rules (NIST SP 800-63B).
func CheckPasswordPolicy(pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case n == 0:
		return "Enter a password."
	case n < MinPasswordLen:
		return fmt.Sprintf("Use at least %d characters; a few words make a good password.", MinPasswordLen)
	case len(pw) > MaxPasswordLen*4 || n > MaxPasswordLen:
		return fmt.Sprintf("Use at most %d characters.", MaxPasswordLen)
	case !utf8.ValidString(pw):
		return "Use only ordinary characters."
	}
	if isCommon(pw) {
		return "This password is too common and easy to guess; choose another."
	}
	return ""
}

// isCommon reports whether pw is on the common list, ignoring case, also when it is a listed
// password padded with digits or symbols ("monkey123456", "!!sunshine!!") or one repeated
// ("passwordpassword") — the usual ways people stretch a short password to a length rule.
func isCommon(pw string) bool {
	lower := strings.ToLower(pw)
	if _, ok := commonPasswords[lower]; ok {
		return true
	}
	core := strings.TrimFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if _, ok := commonPasswords[core]; ok && core != "" {
		return true
	}
	for size := 1; size <= len(lower)/2; size++ {
		if len(lower)%size == 0 && strings.Repeat(lower[:size], len(lower)/size) == lower {
			_, listed := commonPasswords[lower[:size]]
			return listed || size <= 4 // "abcabcabcabc", "aaaaaaaaaaaa"
		}
	}
	return false
}
