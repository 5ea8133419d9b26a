package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestTour follows the README: a fresh install sends codes to the dev
// inbox, and they verify once.
func TestTour(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		conns := connectors(t, a)
		if len(conns) != 1 || conns[0].ConnectorID != "dev-inbox" {
			t.Fatalf("fresh install connectors = %+v, want the dev inbox alone", conns)
		}
		const alice = "alice@example.com"
		sendCode(t, a, alice)

		// The raw JSON has exactly the documented fields.
		status, raw := a.Do("GET", "/api/dev-inbox/messages?to="+alice, nil)
		if status != http.StatusOK {
			t.Fatalf("dev inbox: %d %s", status, raw)
		}
		var rawMsgs []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &rawMsgs); err != nil || len(rawMsgs) != 1 {
			t.Fatalf("dev inbox = %s (%v), want one message", raw, err)
		}
		for _, f := range []string{"id", "to", "from", "subject", "html", "text", "type", "payload", "createdAt"} {
			if _, ok := rawMsgs[0][f]; !ok {
				t.Errorf("dev inbox message lacks %q: %s", f, raw)
			}
		}
		msgs := inbox(t, a, alice)
		m := msgs[0]
		code := codeFromInbox(t, a, alice)
		if m.To != alice || m.Type != "Generic" || m.Subject == "" || m.CreatedAt == 0 {
			t.Errorf("inbox message = %+v", m)
		}
		if !strings.Contains(m.Text, code) || !strings.Contains(m.HTML, code) {
			t.Errorf("code %s missing from text %q or html", code, m.Text)
		}

		// Newest first: a second address, then the unfiltered list.
		sendCode(t, a, "bob@example.com")
		var all []inboxMessage
		a.JSON("GET", "/api/dev-inbox/messages", nil, http.StatusOK, &all)
		if len(all) != 2 || all[0].To != "bob@example.com" || all[1].To != alice {
			t.Fatalf("unfiltered inbox order = %+v, want bob then alice", all)
		}

		verify := func(email, code string) (int, apptest.Error) {
			status, b := a.Do("POST", "/api/verification-codes/verify", map[string]string{"email": email, "verificationCode": code})
			var e apptest.Error
			if status != http.StatusNoContent {
				_ = json.Unmarshal(b, &e)
			}
			return status, e
		}
		if st, e := verify(alice, code); st != http.StatusNoContent {
			t.Fatalf("verify right code: %d %+v", st, e)
		}
		if st, e := verify(alice, code); st != 400 || e.Code != "verification_code.not_found" {
			t.Fatalf("verify again: %d %+v, want 400 verification_code.not_found", st, e)
		}

		// A wrong code, on a fresh address (the resend cooldown holds alice).
		const carol = "carol@example.com"
		sendCode(t, a, carol)
		right := codeFromInbox(t, a, carol)
		wrong := []byte(right)
		wrong[0] = '0' + (wrong[0]-'0'+1)%10
		if st, e := verify(carol, string(wrong)); st != 400 || e.Code != "verification_code.code_mismatch" {
			t.Fatalf("wrong code: %d %+v, want 400 code_mismatch", st, e)
		}
		// Nine more wrong tries (ten in all), then the right code is refused.
		for i := 0; i < 9; i++ {
			if st, e := verify(carol, string(wrong)); st != 400 || e.Code != "verification_code.code_mismatch" {
				t.Fatalf("wrong try %d: %d %+v", i+2, st, e)
			}
		}
		if st, e := verify(carol, right); st != 400 || e.Code != "verification_code.exceed_max_try" {
			t.Fatalf("11th try with the right code: %d %+v, want 400 exceed_max_try", st, e)
		}

		// The message log shows both sends delivered by the dev inbox.
		lm := onlyMessage(t, a, alice)
		if lm.Status != "sent" || lm.Attempts != 1 || lm.Connector != "dev-inbox" || len(lm.AttemptLog) != 1 {
			t.Errorf("message log = %+v, want sent by dev-inbox in one attempt", lm)
		}
	})
}
