package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestACodeForALookalikeMailboxNeverVerifiesAnother: the Kelvin sign
// (U+212A) lower-cases to k, so a plain lower-casing keyed a code sent to
// "\u212Aelly@" under kelly@'s key. Such an address is refused, and a code
// sent to kelly@ verifies only for kelly@.
func TestACodeForALookalikeMailboxNeverVerifiesAnother(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.WantError("POST", "/api/verification-codes", map[string]string{"email": "\u212Aelly@example.com"}, http.StatusBadRequest, "guard.invalid_input")
		if n := len(messages(t, a, "kelly@example.com")); n != 0 {
			t.Fatalf("the refused lookalike send logged %d messages for kelly@", n)
		}
		sendCode(t, a, "kelly@example.com")
		code := inbox(t, a, "kelly@example.com")[0].Payload["code"].(string)
		a.WantError("POST", "/api/verification-codes/verify", map[string]string{"email": "\u212Aelly@example.com", "verificationCode": code},
			http.StatusBadRequest, "guard.invalid_input")
		a.JSON("POST", "/api/verification-codes/verify", map[string]string{"email": "kelly@example.com", "verificationCode": code}, http.StatusNoContent, nil)
	})
}

// TestOneDomainInThreeSpellingsIsOneMailbox: the domain written in Unicode,
// in NFD and as punycode is one recipient: the resend cooldown counts the
// three as one, and the message goes to the ASCII form.
func TestOneDomainInThreeSpellingsIsOneMailbox(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sendCode(t, a, "bob@bücher.example")
		for _, other := range []string{"bob@bu\u0308cher.example", "bob@xn--bcher-kva.example", "Bob@BÜCHER.example"} {
			a.WantError("POST", "/api/verification-codes", map[string]string{"email": other}, http.StatusTooManyRequests, "verification_code.resend_too_soon")
		}
		ms := messages(t, a, "bob@xn--bcher-kva.example")
		if len(ms) != 1 || ms[0].To != "bob@xn--bcher-kva.example" {
			t.Fatalf("messages = %+v, want one, to bob@xn--bcher-kva.example", ms)
		}
		code := inbox(t, a, "bob@bücher.example")[0].Payload["code"].(string)
		a.JSON("POST", "/api/verification-codes/verify", map[string]string{"email": "bob@bu\u0308cher.example", "verificationCode": code}, http.StatusNoContent, nil)
	})
}

// TestAddressesBeyondTheLimitsAreRefusedWithNothingWritten: RFC 5321's
// limits and the invisible characters are refused before anything is
// stored.
func TestAddressesBeyondTheLimitsAreRefusedWithNothingWritten(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		for name, email := range map[string]string{
			"100-byte local part": strings.Repeat("a", 100) + "@example.com",
			"70-character label":  "alice@" + strings.Repeat("b", 70) + ".com",
			"bidi override":       "alice\u202egnp.evil@example.com",
			"zero-width space":    "al\u200bice@example.com",
			"numeric TLD":         "alice@example.123",
			"leading hyphen":      "alice@-example.com",
		} {
			e := a.WantError("POST", "/api/verification-codes", map[string]string{"email": email}, http.StatusBadRequest, "guard.invalid_input")
			if !strings.Contains(e.Message, "email") {
				t.Errorf("%s: the error %q does not name the field", name, e.Message)
			}
		}
		var all []message
		a.JSON("GET", "/api/messages", nil, http.StatusOK, &all)
		if len(all) != 0 {
			t.Fatalf("refused sends logged %d messages", len(all))
		}
	})
}
