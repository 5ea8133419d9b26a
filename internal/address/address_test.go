package address_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authmail/authmail/internal/address"
)

func mustParse(t *testing.T, s string) address.Address {
	t.Helper()
	a, err := address.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return a
}

// TestSpellingsOfOneMailboxShareOneKey: the spellings a person or a client
// may produce for one mailbox (case of ASCII letters, the domain in
// Unicode, NFD or punycode, a composed or decomposed local part) are one
// canonical address.
func TestSpellingsOfOneMailboxShareOneKey(t *testing.T) {
	for _, group := range [][]string{
		{"Alice@Example.COM", "alice@example.com", "ALICE@EXAMPLE.COM"},
		{"bob@bücher.example", "bob@BÜCHER.example", "bob@bu\u0308cher.example", "bob@xn--bcher-kva.example", "bob@XN--BCHER-KVA.example"},
		{"jos\u00e9@example.com", "jose\u0301@example.com"},
		{"k@münchen.de", "k@xn--mnchen-3ya.de"},
	} {
		want := mustParse(t, group[0]).String()
		for _, s := range group[1:] {
			if got := mustParse(t, s).String(); got != want {
				t.Errorf("%q is %q, want %q like %q", s, got, want, group[0])
			}
		}
	}
	if got := mustParse(t, "bob@bücher.example").Domain(); got != "xn--bcher-kva.example" {
		t.Errorf("the domain is kept as %q, want its ASCII form", got)
	}
}

// TestDistinctMailboxesNeverShareAKey: characters that a lower-casing or a
// case fold would turn into another mailbox's ASCII letters are refused
// rather than mapped (a code sent to the Kelvin-sign address must never
// verify for kelly@).
func TestDistinctMailboxesNeverShareAKey(t *testing.T) {
	for _, s := range []string{
		"\u212Aelly@example.com", // KELVIN SIGN folds to k
		"\u017Fam@example.com",   // LATIN SMALL LETTER LONG S folds to s
		"\u0130stanbul@example.com",
		"\u00C4rger@example.com", // capital letters outside ASCII: case unknown to us
	} {
		a, err := address.Parse(s)
		if err == nil {
			t.Errorf("%q was accepted as %q; it would share or split a mailbox key", s, a)
		}
	}
	if a, b := mustParse(t, "ärger@example.com"), mustParse(t, "arger@example.com"); a.String() == b.String() {
		t.Errorf("ärger@ and arger@ share the key %q", a)
	}
}

// TestRefusedAddresses: each address breaks one rule and is refused with
// an error matching ErrInvalid.
func TestRefusedAddresses(t *testing.T) {
	for name, s := range map[string]string{
		"empty":                 "",
		"no at":                 "alice.example.com",
		"no local part":         "@example.com",
		"no domain":             "alice@",
		"single label":          "alice@localhost",
		"numeric tld":           "alice@example.123",
		"address literal":       "alice@[127.0.0.1]",
		"local part over 64":    strings.Repeat("a", 65) + "@example.com",
		"label over 63":         "alice@" + strings.Repeat("b", 64) + ".com",
		"over 254 bytes":        strings.Repeat("a", 60) + "@" + strings.Repeat(strings.Repeat("b", 60)+".", 4) + "com",
		"leading hyphen label":  "alice@-example.com",
		"trailing hyphen label": "alice@example-.com",
		"underscore in domain":  "alice@ex_ample.com",
		"empty label":           "alice@example..com",
		"leading dot":           ".alice@example.com",
		"trailing dot":          "alice.@example.com",
		"double dot":            "al..ice@example.com",
		"quoted local part":     "\"al ice\"@example.com",
		"space":                 "alice @example.com",
		"display name":          "Alice <alice@example.com>",
		"CRLF":                  "alice@example.com\r\nBcc: eve@example.com",
		"NUL":                   "ali\x00ce@example.com",
		"zero-width space":      "al\u200bice@example.com",
		"zero-width joiner":     "al\u200dice@example.com",
		"bidi override":         "alice\u202e@example.com",
		"bidi isolate":          "\u2066alice@example.com",
		"byte order mark":       "\ufeffalice@example.com",
		"private use":           "alice\ue000@example.com",
		"invalid UTF-8":         "ali\xffce@example.com",
		"no-break space":        "alice\u00a0@example.com",
		"comma":                 "alice,bob@example.com",
	} {
		a, err := address.Parse(s)
		if err == nil {
			t.Errorf("%s: %q accepted as %q", name, s, a)
			continue
		}
		if !errors.Is(err, address.ErrInvalid) {
			t.Errorf("%s: error %v does not match ErrInvalid", name, err)
		}
	}
}

// TestLimitsAreInclusive: the RFC 5321 limits themselves are accepted.
func TestLimitsAreInclusive(t *testing.T) {
	mustParse(t, strings.Repeat("a", 64)+"@example.com")
	mustParse(t, "alice@"+strings.Repeat("b", 63)+".com")
	mustParse(t, "o'brien+tag_1=x@sub.example.co.uk")
	mustParse(t, "用户@例子.广告")
}

// TestBaseDropsTheSubAddress: every +tag of one mailbox has one base, the
// key its caps count against.
func TestBaseDropsTheSubAddress(t *testing.T) {
	for s, want := range map[string]string{
		"victim+1@example.com":      "victim@example.com",
		"Victim+news+x@Example.com": "victim@example.com",
		"victim@example.com":        "victim@example.com",
		"+tag@example.com":          "+tag@example.com",
	} {
		if got := mustParse(t, s).Base(); got != want {
			t.Errorf("Base(%q) = %q, want %q", s, got, want)
		}
	}
}

// FuzzParse: whatever the input, an accepted address is canonical (parsing
// its canonical form gives it back), within RFC 5321's limits, free of
// the refused characters, and its base is an accepted address too.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"alice@example.com", "Bob@Bücher.example", "jose\u0301@example.com", "\u212Aelly@example.com",
		"a+b@xn--bcher-kva.example", "x@y.z", "\"q\"@example.com", "用户@例子.广告", "a@b@c.com", strings.Repeat("a", 64) + "@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := address.Parse(s)
		if err != nil {
			if !errors.Is(err, address.ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not match ErrInvalid", s, err)
			}
			return
		}
		c := a.String()
		if len(c) > 254 || len(a.Local()) > 64 || !utf8.ValidString(c) {
			t.Fatalf("Parse(%q) = %q breaks a length limit", s, c)
		}
		again, err := address.Parse(c)
		if err != nil || again != a {
			t.Fatalf("the canonical form %q of %q parses as %q, %v", c, s, again, err)
		}
		if strings.ContainsAny(c, "\r\n\x00 \t<>,\"") {
			t.Fatalf("canonical %q holds a character that must never reach a header", c)
		}
		if _, err := address.Parse(a.Base()); err != nil {
			t.Fatalf("the base %q of %q is refused: %v", a.Base(), c, err)
		}
	})
}
