package rbac

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCodeFromName(t *testing.T) {
	long47 := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu" // 47 letters
	cases := []struct {
		name, in, want string
	}{
		{"spec example", "Travel Coordinator", "TRAVEL_COORDINATOR"},
		{"runs of punctuation and spaces", "  nurse -- lead!! ", "NURSE_LEAD"},
		{"accents and apostrophe", "Zoë's Ångström team", "ZOE_S_ANGSTROM_TEAM"},
		{"sharp s", "Straße", "STRASSE"},
		{"capital sharp s", "STRAẞE", "STRASSE"},
		{"sharp s at start after separator", "- ßa", "SSA"},
		{"Cyrillic transliterated", "Врач", "VRACH"},
		{"non-Latin between Latin", "Dr Врач Who", "DR_VRACH_WHO"},
		{"CJK transliterated", "医生", "YI_SHENG"},
		{"Arabic transliterated", "ممرضة الطوارئ", "MMRD_LTWRY"},
		{"Hebrew transliterated", "אחות ראשית", "KHVT_RSHYT"},
		{"Greek transliterated", "Νοσηλεύτρια", "NOSELEUTRIA"},
		{"nothing to transliterate", "🩺 💉", ""},
		{"digits first", "123 go", "123_GO"},
		{"already a code", "TRAVEL_COORDINATOR", "TRAVEL_COORDINATOR"},
		{"underscores collapse", "a__b___c", "A_B_C"},
		{"leading and trailing separators", "__x__", "X"},
		{"empty", "", ""},
		{"only punctuation", "!!! --- ???", ""},
		{"tabs and newlines", "front\tdesk\nlead", "FRONT_DESK_LEAD"},
		{"compatibility forms", "ﬁnance Ｍgr", "FINANCE_MGR"},
		{"emoji", "Billing 💸 team", "BILLING_TEAM"},
		{"dotless i upper-cases to I", "ınfo", "INFO"},
		{"mixed case", "oFfIcE mAnAgEr", "OFFICE_MANAGER"},
		{"reserved names still yield their code", "Admin", "ADMIN"},
		{"exactly MaxCodeLen", strings.Repeat("a", MaxCodeLen), strings.Repeat("A", MaxCodeLen)},
		{"one over MaxCodeLen", strings.Repeat("a", MaxCodeLen+1), strings.Repeat("A", MaxCodeLen)},
		{"truncation would leave a trailing underscore", long47 + " VWXYZ", strings.ToUpper(long47)},
		{"long words", strings.Repeat("word ", 30), strings.TrimRight(strings.Repeat("WORD_", 10)[:MaxCodeLen], "_")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CodeFromName(tc.in)
			if got != tc.want {
				t.Errorf("CodeFromName(%q) = %q, want %q", tc.in, got, tc.want)
			}
			checkCode(t, tc.in, got)
		})
	}
}

// checkCode asserts the invariants of a generated code.
func checkCode(t testing.TB, in, code string) {
	t.Helper()
	if len(code) > MaxCodeLen {
		t.Errorf("CodeFromName(%q) = %q: %d > MaxCodeLen", in, code, len(code))
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			t.Errorf("CodeFromName(%q) = %q: byte %q outside [A-Z0-9_]", in, code, c)
			break
		}
	}
	if strings.HasPrefix(code, "_") || strings.HasSuffix(code, "_") {
		t.Errorf("CodeFromName(%q) = %q: leading or trailing underscore", in, code)
	}
	if strings.Contains(code, "__") {
		t.Errorf("CodeFromName(%q) = %q: double underscore", in, code)
	}
	if again := CodeFromName(code); again != code {
		t.Errorf("not idempotent: CodeFromName(%q) = %q, CodeFromName(that) = %q", in, code, again)
	}
}

func TestCodeFromNameIdempotentOnExamples(t *testing.T) {
	for _, in := range []string{"Travel Coordinator", "  nurse -- lead!! ", "Zoë's Ångström team", "Straße", "Врач", "123 go",
		strings.Repeat("Ab c ", 40), "ß", "x" + strings.Repeat("ß", 30)} {
		t.Run(in, func(t *testing.T) {
			once := CodeFromName(in)
			if twice := CodeFromName(once); twice != once {
				t.Errorf("CodeFromName(CodeFromName(%q)) = %q, want %q", in, twice, once)
			}
		})
	}
}

// A deterministic random sweep, so that the invariants are exercised by a plain `go test`
// beyond the fuzz seeds.
func TestCodeFromNameRandomInvariants(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	alphabet := []rune("aZ09 _-.!'ßẞéÅøıſﬁＡ€Жж医\t\u0301\u200b💸")
	for i := 0; i < 20000; i++ {
		n := rng.Intn(80)
		rs := make([]rune, n)
		for j := range rs {
			if rng.Intn(4) == 0 {
				rs[j] = rune(rng.Intn(0x3000))
			} else {
				rs[j] = alphabet[rng.Intn(len(alphabet))]
			}
		}
		in := string(rs)
		checkCode(t, in, CodeFromName(in))
		if t.Failed() {
			return
		}
	}
}

func FuzzCodeFromName(f *testing.F) {
	for _, s := range []string{"Travel Coordinator", "  nurse -- lead!! ", "Zoë's Ångström team", "Straße", "Врач", "123 go",
		"", "_", "a_b", strings.Repeat("ab ", 40), "ẞ", "ﬁ", "\xff\xfe", "ǅ", "Ⅻ", "①②", "ı"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		code := CodeFromName(in)
		if !utf8.ValidString(code) {
			t.Fatalf("CodeFromName(%q) = %q is not valid UTF-8", in, code)
		}
		checkCode(t, in, code)
	})
}

func TestIsReservedCode(t *testing.T) {
	reservedCodes := []string{"MEMBER", "MANAGER", "ADMIN"}
	for _, r := range SystemRoles(DefaultCatalog()) {
		reservedCodes = append(reservedCodes, r.Code)
	}
	for _, code := range reservedCodes {
		t.Run(code, func(t *testing.T) {
			if !IsReservedCode(code) {
				t.Errorf("IsReservedCode(%q) = false, want true", code)
			}
		})
	}
	for _, code := range []string{"", "TRAVEL_COORDINATOR", "ADMINS", "MANAGERS", "NURSE_LEAD", "STAFF_2", "ADMIN_"} {
		t.Run("not/"+code, func(t *testing.T) {
			if IsReservedCode(code) {
				t.Errorf("IsReservedCode(%q) = true, want false", code)
			}
		})
	}
	// Names that turn into a reserved code are caught after code generation.
	for _, name := range []string{"Admin", "member", "Manager", "Office manager", "Billing-Staff", "nurse!"} {
		t.Run("name/"+name, func(t *testing.T) {
			if !IsReservedCode(CodeFromName(name)) {
				t.Errorf("name %q gives %q, which should be reserved", name, CodeFromName(name))
			}
		})
	}
}
