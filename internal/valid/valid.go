// Package valid checks the text people type into forms. Each checker returns the cleaned
// value and a message fit to show beside the field, so every form says the same thing about
// the same mistake.
package valid

import (
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zone names are checked the same on every machine, with or without a zoneinfo directory
	"unicode"
	"unicode/utf8"
)

// Problems maps a form field name to the message shown beside it.
type Problems map[string]string

// Add records msg for field unless the field already has a message (the first problem is
// the one worth fixing first).
func (p Problems) Add(field, msg string) {
	if msg == "" {
		return
	}
	if _, ok := p[field]; !ok {
		p[field] = msg
	}
}

// Text trims s and checks it is present when required, at most max characters, valid
// UTF-8 and free of control characters (which have no place in a name and can forge log lines).
func Text(s string, required bool, max int) (string, string) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return s, "Use only ordinary characters."
	case s == "" && required:
		return s, "This field is required."
	case utf8.RuneCountInString(s) > max:
		return s, "Use at most " + strconv.Itoa(max) + " characters."
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return s, "Remove control characters."
		}
	}
	return s, ""
}

// MaxEmail is the longest address SMTP can carry.
const MaxEmail = 254

// Email checks that s is one plain address (no display name, no group) and returns it trimmed.
func Email(s string) (string, string) {
	s, msg := Text(s, true, MaxEmail)
	if msg != "" {
		if s == "" {
			return s, "Enter an email address."
		}
		return s, msg
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return s, "Enter an email address like name@example.org."
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.ContainsAny(domain, "[]") {
		return s, "Enter an email address like name@example.org."
	}
	return s, ""
}

// LocalPath returns next when it is a path on this site (so a sign-in link can never send
// someone to another site), and "/" otherwise.
func LocalPath(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\x00\r\n\t") {
		return "/"
	}
	for _, r := range next {
		if unicode.IsControl(r) || r == ' ' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// MaxTimeZone is longer than any IANA time zone name ("America/Argentina/ComodRivadavia").
const MaxTimeZone = 64

// TimeZoneHint is the message for a time zone that is not one.
const TimeZoneHint = "Enter a time zone name such as Europe/Madrid, America/New_York or UTC, or leave it empty for the server's."

// TimeZone checks an IANA time zone name ("Europe/Madrid", "UTC") and returns it trimmed; ""
// (and "Local") stand for the server's own zone and come back as "". Only names made of
// letters, digits and "/_+-" in the time zone database are accepted, so the value can never
// name a file elsewhere.
func TimeZone(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" || s == "Local" {
		return "", ""
	}
	if len(s) > MaxTimeZone || s[0] == '/' || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return s, TimeZoneHint
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r)) {
			return s, TimeZoneHint
		}
	}
	if _, err := time.LoadLocation(s); err != nil {
		return s, TimeZoneHint
	}
	return s, ""
}

// UntilHint is the message for an end that is not a date and time.
const UntilHint = "Enter a date and time, such as 2027-01-31 18:00, or leave it empty for no end."

// Until reads when a grant ends: "" for no end (0); a date and time as a browser's
// datetime-local field sends it ("2027-01-31T18:00", seconds optional) or as typed with a
// space, in loc (the portal's time zone); a date alone meaning the end of that day (the
// next midnight in loc); or an RFC 3339 time with its own offset (the API). It returns Unix
// seconds, or a message when raw is none of these.
func Until(raw string, loc *time.Location) (int64, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, ""
	}
	if len(raw) > 40 {
		return 0, UntilHint
	}
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t.Unix(), ""
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
			return t.Unix(), ""
		}
	}
	if d, err := time.ParseInLocation("2006-01-02", raw, loc); err == nil {
		return d.AddDate(0, 0, 1).Unix(), ""
	}
	return 0, UntilHint
}
