package auth

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password length limits. The maximum is generous (passphrases) but bounded so a huge body
// cannot make hashing a denial of service.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// minOwnChars is how much of a password must be left once the words of its context (the
// person's email and name, the organisation, "rolegate") and trivial runs ("1234", "abcd",
// "qwerty", "aaaa") are taken out: "rolegate1234" and "ana.ruiz2024" leave too little.
const minOwnChars = 8

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
// the password is acceptable: long enough, not absurdly long, not a well-known password, and
// not built from the words of its context (the person's email and name, their organisation)
// or trivial sequences, as NIST SP 800-63B §3.1.1.2 asks. There are deliberately no
// composition rules.
func CheckPasswordPolicy(pw string, context ...string) string {
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
	lower := strings.ToLower(pw)
	rest := lower
	for _, w := range contextWords(context) {
		rest = strings.ReplaceAll(rest, w, "")
	}
	if utf8.RuneCountInString(rest) < minOwnChars && rest != lower {
		return "Do not build your password from your name, your email or your organisation's name."
	}
	if rest = withoutRuns(rest); utf8.RuneCountInString(rest) < minOwnChars {
		return "Avoid sequences and repeats such as 1234, abcd, qwerty or aaaa; a few unrelated words are better."
	}
	return ""
}

// contextWords are the lower-case words a guesser tries first for this person: each context
// string whole, and its parts split at spaces, dots, hyphens and the like. Parts shorter
// than three letters are too common inside ordinary words to take out.
func contextWords(context []string) []string {
	words := []string{"rolegate"}
	for _, c := range context {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		words = append(words, c)
		// Of an email only the local part is personal; "example" or "com" are not.
		parts := c
		if at := strings.LastIndex(c, "@"); at > 0 {
			parts = c[:at]
			words = append(words, parts)
		}
		words = append(words, strings.FieldsFunc(parts, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })...)
	}
	out := words[:0]
	for _, w := range words {
		if utf8.RuneCountInString(w) >= 3 {
			out = append(out, w)
		}
	}
	// Longest first, so "ana.ruiz@example.org" goes before "ana" eats part of it.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// keyboardRows are the runs people type without thinking, besides the alphabet and digits.
var keyboardRows = []string{"qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "abcdefghijklmnopqrstuvwxyz"}

// withoutRuns drops every run of three or more characters that repeat ("aaa"), count up or
// down ("abc", "987"), or follow a keyboard row ("qwe", "lkj").
func withoutRuns(s string) string {
	rs := []rune(s)
	keep := make([]bool, len(rs))
	for i := range keep {
		keep[i] = true
	}
	for i := 0; i+2 < len(rs); i++ {
		j := i + 1
		for j < len(rs) && step(rs[j-1], rs[j]) != 0 && (j == i+1 || step(rs[j-1], rs[j]) == step(rs[i], rs[i+1])) {
			j++
		}
		if j-i >= 3 {
			for k := i; k < j; k++ {
				keep[k] = false
			}
		}
	}
	var b strings.Builder
	for i, r := range rs {
		if keep[i] {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// step says how b follows a: 3 repeats it, 1 / -1 moves one place along the alphabet, the
// digits or a keyboard row (forwards or backwards), 0 is no pattern.
func step(a, b rune) int {
	if a == b {
		return 3
	}
	for _, row := range keyboardRows {
		i, j := strings.IndexRune(row, a), strings.IndexRune(row, b)
		if i >= 0 && j >= 0 {
			switch j - i {
			case 1:
				return 1
			case -1:
				return -1
			}
		}
	}
	return 0
}

// leet undoes the usual letter-for-symbol swaps ("p@55w0rd") before the common list is asked.
var leet = strings.NewReplacer("@", "a", "4", "a", "8", "b", "3", "e", "6", "g", "1", "l", "!", "i", "0", "o", "$", "s", "5", "s", "7", "t", "+", "t", "2", "z")

// isCommon reports whether pw is on the common list, ignoring case, also when it is a listed
// password padded with digits or symbols ("monkey123456", "!!sunshine!!"), spelt with the
// usual symbol swaps ("p@55w0rd1234") or repeated ("passwordpassword") — the usual ways
// people stretch a short password to a length rule.
func isCommon(pw string) bool {
	lower := strings.ToLower(pw)
	if _, ok := commonPasswords[lower]; ok {
		return true
	}
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	core := strings.TrimFunc(lower, notLetter)
	if _, ok := commonPasswords[core]; ok && core != "" {
		return true
	}
	// Swapped symbols: undo them on the part before any trailing digits or symbols.
	stem := strings.TrimRightFunc(lower, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	for _, cand := range []string{leet.Replace(lower), leet.Replace(stem)} {
		if _, ok := commonPasswords[cand]; ok {
			return true
		}
		if c := strings.TrimFunc(cand, notLetter); c != "" {
			if _, ok := commonPasswords[c]; ok {
				return true
			}
		}
	}
	for size := 1; size <= len(lower)/2; size++ {
		if len(lower)%size == 0 && strings.Repeat(lower[:size], len(lower)/size) == lower {
			_, listed := commonPasswords[lower[:size]]
			return listed || size <= 4 // "abcabcabcabc", "aaaaaaaaaaaa"
		}
	}
	return false
}
