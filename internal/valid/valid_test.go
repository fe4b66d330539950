package valid

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	tests := []struct {
		in       string
		required bool
		max      int
		want     string
		bad      bool
	}{
		{"  Northside  ", true, 10, "Northside", false},
		{"", true, 10, "", true},
		{"   ", true, 10, "", true},
		{"", false, 10, "", false},
		{"Zoë Ångström", true, 12, "Zoë Ångström", false},
		{"Zoë Ångström!", true, 12, "Zoë Ångström!", true},
		{"line\nbreak", true, 50, "line\nbreak", true},
		{"tab\there", true, 50, "tab\there", true},
		{"bidi\u202eevil", true, 50, "bidi\u202eevil", true},
		{"bad \xff utf8", true, 50, "bad \xff utf8", true},
	}
	for _, tt := range tests {
		got, msg := Text(tt.in, tt.required, tt.max)
		if got != tt.want || (msg != "") != tt.bad {
			t.Errorf("Text(%q) = %q, %q; want %q, bad=%v", tt.in, got, msg, tt.want, tt.bad)
		}
	}
}

func TestEmail(t *testing.T) {
	good := []string{"ana@example.org", " ana.ruiz+x@clinic.example.co.uk ", "ZOE@EXAMPLE.ORG"}
	bad := []string{"", "ana", "ana@", "@example.org", "Ana <ana@example.org>", "ana@example", "ana@@example.org",
		"ana@example.org, bob@example.org", "ana@[127.0.0.1]", "ana@.example.org", "ana@example.org.", "a\n@example.org",
		strings.Repeat("a", 250) + "@example.org"}
	for _, s := range good {
		if got, msg := Email(s); msg != "" || got != strings.TrimSpace(s) {
			t.Errorf("Email(%q) = %q, %q; want accepted", s, got, msg)
		}
	}
	for _, s := range bad {
		if _, msg := Email(s); msg == "" {
			t.Errorf("Email(%q) accepted; want refused", s)
		}
	}
}

func TestLocalPath(t *testing.T) {
	tests := map[string]string{
		"":                      "/",
		"/":                     "/",
		"/roles?q=nurse&page=2": "/roles?q=nurse&page=2",
		"/account":              "/account",
		"//evil.example":        "/",
		"/\\evil.example":       "/",
		"https://evil.example":  "/",
		"javascript:alert(1)":   "/",
		"evil.example/path":     "/",
		"/%2F/evil.example":     "/",
		"/ok path":              "/",
		"/x\r\nSet-Cookie: a=b": "/",
		"/\t/evil.example":      "/",
	}
	for in, want := range tests {
		if got := LocalPath(in); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "Northside", " a ", "\x00", "\u202e", "é", "\xff", strings.Repeat("x", 200)} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, required bool) {
		got, msg := Text(s, required, 100)
		if msg != "" {
			return
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > 100 || got != strings.TrimSpace(got) {
			t.Fatalf("Text accepted %q", got)
		}
		if required && got == "" {
			t.Fatal("required text accepted empty")
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("Text accepted control character in %q", got)
			}
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"ana@example.org", "a@b.c", "\"a b\"@example.org", "a@b", "<a@b.c>", "a@b.c\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, msg := Email(s)
		if msg != "" {
			return
		}
		if strings.Count(got, "@") < 1 || len(got) > MaxEmail || strings.ContainsAny(got, "\r\n<>,") && !strings.HasPrefix(got, "\"") {
			t.Fatalf("Email accepted %q", got)
		}
	})
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/roles", "//x", "/\\x", "http://x", "/%2f%2fx", "/a?next=//x", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := LocalPath(s)
		if got != "/" && got != s {
			t.Fatalf("LocalPath(%q) = %q: must be the input or /", s, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(u.Path, "//") {
			t.Fatalf("LocalPath(%q) = %q leaves the site", s, got)
		}
	})
}

func TestTimeZone(t *testing.T) {
	for in, want := range map[string]string{
		"Europe/Madrid": "Europe/Madrid", " Asia/Tokyo ": "Asia/Tokyo", "UTC": "UTC", "America/Argentina/Buenos_Aires": "America/Argentina/Buenos_Aires",
		"Etc/GMT+3": "Etc/GMT+3", "": "", "Local": "",
	} {
		if got, msg := TimeZone(in); got != want || msg != "" {
			t.Errorf("TimeZone(%q) = %q, %q; want %q", in, got, msg, want)
		}
	}
	for _, in := range []string{"Mars/Olympus", "../../etc/passwd", "/etc/localtime", "Europe/", "Europe//Madrid", "Europe/Madrid\x00",
		"Europe\\Madrid", "Évora", strings.Repeat("A", 65), "Europe/Madrid; drop"} {
		if _, msg := TimeZone(in); msg != TimeZoneHint {
			t.Errorf("TimeZone(%q) accepted", in)
		}
	}
}

func FuzzTimeZone(f *testing.F) {
	for _, s := range []string{"Europe/Madrid", "UTC", "Local", "", "../x", "/etc/passwd", "Etc/GMT-14", "\x00", "Europe/../Europe/Madrid"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, msg := TimeZone(s)
		if msg != "" {
			return
		}
		if got == "" {
			return // the server's zone
		}
		if _, err := time.LoadLocation(got); err != nil || strings.Contains(got, "..") || strings.HasPrefix(got, "/") || len(got) > MaxTimeZone {
			t.Fatalf("TimeZone accepted %q: %v", got, err)
		}
		if again, msg := TimeZone(got); again != got || msg != "" {
			t.Fatalf("TimeZone(%q) is not stable: %q %q", got, again, msg)
		}
	})
}

func TestUntil(t *testing.T) {
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw  string
		want string // in UTC; "" for no end
		bad  bool
	}{
		{"", "", false},
		{"  ", "", false},
		{"2027-01-31T18:00", "2027-01-31T17:00:00Z", false},
		{"2027-01-31T18:00:30", "2027-01-31T17:00:30Z", false},
		{"2027-01-31 18:00", "2027-01-31T17:00:00Z", false},
		{"2027-01-31", "2027-01-31T23:00:00Z", false}, // the end of that day in Madrid
		{"2027-07-31", "2027-07-31T22:00:00Z", false}, // summer time
		{"2027-01-31T18:00:00+09:00", "2027-01-31T09:00:00Z", false},
		{"31/01/2027", "", true},
		{"2027-02-30", "", true},
		{"tomorrow", "", true},
	} {
		got, msg := Until(tc.raw, madrid)
		if (msg != "") != tc.bad {
			t.Errorf("Until(%q): message %q", tc.raw, msg)
			continue
		}
		if tc.bad {
			continue
		}
		want := int64(0)
		if tc.want != "" {
			w, _ := time.Parse(time.RFC3339, tc.want)
			want = w.Unix()
		}
		if got != want {
			t.Errorf("Until(%q) = %s, want %s", tc.raw, time.Unix(got, 0).UTC(), tc.want)
		}
	}
}

func FuzzUntil(f *testing.F) {
	for _, s := range []string{"", "2027-01-31T18:00", "2027-01-31", "2027-01-31T18:00:00+09:00", "31/01/2027", "9999-12-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, msg := Until(raw, time.UTC)
		if msg != "" && got != 0 {
			t.Fatalf("Until(%q) gave %d with a problem", raw, got)
		}
		if strings.TrimSpace(raw) == "" && (got != 0 || msg != "") {
			t.Fatalf("Until(%q) = %d %q, want no end", raw, got, msg)
		}
	})
}
