// Package address turns an email address as a person typed it into the
// one canonical form authmail uses both as the key for codes, limits and
// lockouts and as the address it delivers to, so that one mailbox has one
// key and no two mailboxes share one.
//
// The rules:
//   - the domain is mapped with IDNA (UTS 46, non-transitional) and kept
//     as its lower-case ASCII form, so Unicode, NFD and punycode spellings
//     of one domain are one; it needs two or more labels of at most 63
//     bytes, letters, digits and inner hyphens only, and a TLD that is not
//     all digits;
//   - the local part is a dot-atom (no quoted strings) of at most 64 bytes,
//     NFC-normalised; ASCII letters are lower-cased, as every mailbox
//     provider treats them; other letters are kept as written, and one
//     whose case mapping reaches ASCII or that is upper or title case (the
//     Kelvin sign, the long s, a capital Ä) is refused, since no mapping of
//     ours can say whether the mailbox folds it;
//   - control, format (zero-width, bidi), private-use, unassigned and
//     space characters are refused anywhere;
//   - the whole address is at most 254 bytes.
package address

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Address is an email address in canonical form. Its zero value is not a
// valid address; get one from Parse.
type Address struct {
	local, domain string
}

// Error says why an address was refused; Reason completes a sentence that
// starts with the field name ("email must ...").
type Error struct{ Reason string }

// Error returns the reason.
func (e *Error) Error() string { return e.Reason }

func refuse(reason string) error { return &Error{Reason: reason} }

// ErrInvalid matches every refusal with errors.Is.
var ErrInvalid = errors.New("invalid email address")

// Is makes every *Error match ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Limits of RFC 5321.
const (
	maxAddress = 254
	maxLocal   = 64
	maxLabel   = 63
)

var profile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(),
	idna.ValidateLabels(true), idna.CheckHyphens(true), idna.CheckJoiners(true),
	idna.StrictDomainName(true), idna.VerifyDNSLength(true))

// Parse validates s and returns its canonical form.
func Parse(s string) (Address, error) {
	if s == "" {
		return Address{}, refuse("is required")
	}
	if len(s) > 4*maxAddress || !utf8.ValidString(s) {
		return Address{}, refuse("is not a valid email address")
	}
	for _, r := range s {
		if hidden(r) {
			return Address{}, refuse("must not contain spaces, control, invisible or direction-changing characters")
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return Address{}, refuse("must be an email address such as alice@example.com")
	}
	local, err := canonicalLocal(s[:at])
	if err != nil {
		return Address{}, err
	}
	domain, err := canonicalDomain(s[at+1:])
	if err != nil {
		return Address{}, err
	}
	a := Address{local: local, domain: domain}
	if len(a.String()) > maxAddress {
		return Address{}, refuse("is over 254 bytes")
	}
	return a, nil
}

// hidden reports the characters refused anywhere in an address.
func hidden(r rune) bool {
	return r == utf8.RuneError || unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp, unicode.Zs) ||
		!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}

// atext is RFC 5322's set of ASCII characters a dot-atom may hold.
const atext = "!#$%&'*+-/=?^_`{|}~"

func canonicalLocal(local string) (string, error) {
	if local == "" {
		return "", refuse("must have a part before the @")
	}
	// Checked before normalising: NFC itself turns the Kelvin sign into K.
	for _, r := range local {
		if r >= utf8.RuneSelf && (foldsToASCII(r) || strings.IndexFunc(norm.NFC.String(string(r)), isASCII) >= 0) {
			return "", refuse("must not contain " + quoteRune(r) + " before the @: it stands for a plain letter of another mailbox")
		}
	}
	local = norm.NFC.String(local)
	if len(local) > maxLocal {
		return "", refuse("has a part before the @ over 64 bytes")
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "", refuse("must not start or end the part before the @ with a dot, or have two dots in a row")
	}
	var b strings.Builder
	b.Grow(len(local))
	for _, r := range local {
		switch {
		case r < utf8.RuneSelf:
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || strings.ContainsRune(atext, r)) {
				return "", refuse("must not contain " + quoteRune(r) + " before the @ (quoted addresses are not accepted)")
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsUpper(r) || unicode.IsTitle(r):
			return "", refuse("must not contain " + quoteRune(r) + " before the @: write it in lower case, or in plain letters")
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// foldsToASCII reports whether r's case-folding orbit holds an ASCII
// character (U+212A KELVIN SIGN folds to k, U+017F LONG S to s).
func foldsToASCII(r rune) bool {
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return true
		}
	}
	return false
}

func isASCII(r rune) bool { return r < utf8.RuneSelf }

func quoteRune(r rune) string {
	if r == '"' {
		return "'\"'"
	}
	return "\"" + string(r) + "\""
}

func canonicalDomain(domain string) (string, error) {
	if domain == "" {
		return "", refuse("must have a domain after the @, such as example.com")
	}
	if strings.HasPrefix(domain, "[") {
		return "", refuse("must have a domain name after the @, not an address literal")
	}
	ascii, err := profile.ToASCII(domain)
	if err != nil {
		return "", refuse("must have a valid domain after the @, such as example.com")
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", refuse("must have a domain such as example.com")
	}
	for _, l := range labels {
		if l == "" {
			return "", refuse("must not have an empty label in its domain")
		}
		if len(l) > maxLabel {
			return "", refuse("has a domain label over 63 bytes")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", refuse("must not have a domain label that starts or ends with a hyphen")
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", refuse("must not have an all-numeric top-level domain")
	}
	return ascii, nil
}

// String is the address in canonical form: the key for codes, limits and
// lockouts, and the address mail is delivered to.
func (a Address) String() string { return a.local + "@" + a.domain }

// Local is the canonical part before the @.
func (a Address) Local() string { return a.local }

// Domain is the canonical (ASCII, lower-case) domain.
func (a Address) Domain() string { return a.domain }

// Base is the address without its sub-address: alice+news@example.com
// gives alice@example.com. Caps on mail to one person count against it,
// since every tag reaches the same mailbox.
func (a Address) Base() string {
	local := a.local
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	return local + "@" + a.domain
}
