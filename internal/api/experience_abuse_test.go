package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/testwait"
)

// work is what a send wrote: codes, mailbox send events, the sum of the
// hourly send counters, and messages.
type work struct {
	codes, events, counted, messages int
}

func workDone(t *testing.T, a *apptest.App) work {
	t.Helper()
	var w work
	for q, dst := range map[string]*int{
		`SELECT COUNT(*) FROM verification_codes`:                                 &w.codes,
		`SELECT COUNT(*) FROM rate_events`:                                        &w.events,
		`SELECT COALESCE(SUM(n), 0) FROM rate_counters WHERE bucket LIKE 'send%'`: &w.counted,
		`SELECT COUNT(*) FROM messages`:                                           &w.messages,
	} {
		if err := a.App.Store.WriteDB().QueryRowContext(t.Context(), q).Scan(dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return w
}

func (w work) minus(o work) work {
	return work{w.codes - o.codes, w.events - o.events, w.counted - o.counted, w.messages - o.messages}
}

// TestForgotPasswordAnswersAnUnknownAddressAsAKnownOne: a ForgotPassword
// code to an address nobody has gets the answer a known address gets (the
// same members and cooldown), does the same work (a code, a send event,
// the same counts toward the caps) but for the message, which is never
// written or delivered, and its verify is code_mismatch.
func TestForgotPasswordAnswersAnUnknownAddressAsAKnownOne(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		const known, unknown = "known@example.com", "unknown@example.com"
		createUser(t, a, map[string]any{"primaryEmail": known})
		send := func(email string) (map[string]any, work) {
			b := newBrowser(t, a)
			b.event("ForgotPassword")
			before := workDone(t, a)
			var out map[string]any
			b.ok("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": emailID(email), "interactionEvent": "ForgotPassword"}, http.StatusOK, &out)
			return out, workDone(t, a).minus(before)
		}
		k, kw := send(known)
		u, uw := send(unknown)
		if !slices.Equal(keys(k), keys(u)) || k["resendAfter"] != u["resendAfter"] {
			t.Errorf("answers differ: known %v, unknown %v", k, u)
		}
		if kw.messages != 1 || uw.messages != 0 {
			t.Errorf("messages written: known %d, unknown %d; want 1 and 0", kw.messages, uw.messages)
		}
		kw.messages, uw.messages = 0, 0
		if kw != uw || kw.codes != 1 || kw.events != 1 || kw.counted == 0 {
			t.Errorf("work: known %+v, unknown %+v; want the same code, send event and counts", kw, uw)
		}
		testwait.Until(t, 10*time.Second, func() bool { return len(inbox(t, a, known)) == 1 }, "the known address got no code")
		if got := inbox(t, a, unknown); len(got) != 0 {
			t.Errorf("the unknown address got mail: %+v", got)
		}
		if got := messages(t, a, unknown); len(got) != 0 {
			t.Errorf("the message log has mail to the unknown address: %+v", got)
		}
		b := newBrowser(t, a)
		b.event("ForgotPassword")
		id := b.sendCode(unknown, "Register") // another usage type: no cooldown
		// A code nobody received: any guess is wrong (a million to one).
		b.fails("POST", "/api/experience/verification/verification-code/verify", map[string]any{"identifier": emailID(unknown), "verificationId": id, "code": "123456"},
			http.StatusBadRequest, "verification_code.code_mismatch")
	})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestPasswordAndCodeFailuresLockTheAddressUntilLifted: wrong passwords
// (for any spelling of the address) and a wrong code fill one pool; then
// even the right password is 400 session.verification_blocked_too_many_attempts
// with the time left in the caller's language, and the admin's unlock
// lets it in.
func TestPasswordAndCodeFailuresLockTheAddressUntilLifted(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"lockoutFailures": 3}, "sentinelPolicy": map[string]any{"lockoutDuration": 60}})
		const email, pw = "locked@example.com", "correct horse battery"
		createUser(t, a, map[string]any{"primaryEmail": email, "password": pw})
		b := newBrowser(t, a)
		b.event("SignIn")
		for _, spelling := range []string{email, "Locked@EXAMPLE.com"} {
			b.fails("POST", "/api/experience/verification/password", map[string]any{"identifier": emailID(spelling), "password": "wrong password"},
				http.StatusUnprocessableEntity, "session.invalid_credentials")
		}
		id := b.sendCode(email, "SignIn")
		code := newCode(t, a, email, 0)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		b.fails("POST", "/api/experience/verification/verification-code/verify", map[string]any{"identifier": emailID(email), "verificationId": id, "code": wrong},
			http.StatusBadRequest, "verification_code.code_mismatch")

		b.header.Set("Accept-Language", "fr-CA, en;q=0.5")
		resp, raw := b.do("POST", "/api/experience/verification/password", map[string]any{"identifier": emailID(email), "password": pw})
		var e apptest.Error
		_ = json.Unmarshal(raw, &e)
		var data struct {
			RelativeTime string `json:"relativeTime"`
			RetryAfter   int    `json:"retryAfter"`
		}
		_ = json.Unmarshal(e.Data, &data)
		if resp.StatusCode != http.StatusBadRequest || e.Code != "session.verification_blocked_too_many_attempts" ||
			data.RelativeTime != "dans 60 minutes" || data.RetryAfter < 3500 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("the right password while locked: %d %s (Retry-After %q), want 400 blocked, dans 60 minutes", resp.StatusCode, raw, resp.Header.Get("Retry-After"))
		}
		b.header.Del("Accept-Language")
		b.fails("POST", "/api/experience/verification/verification-code/verify", map[string]any{"identifier": emailID(email), "verificationId": id, "code": code},
			http.StatusBadRequest, "session.verification_blocked_too_many_attempts")

		ls := lockouts(t, a, email)
		if len(ls) != 1 || ls[0].Scope != "client" || ls[0].Email != email {
			t.Fatalf("lockouts of %s = %+v, want the client's", email, ls)
		}
		a.JSON("DELETE", "/api/sentinel/lockouts/"+ls[0].ID, nil, http.StatusNoContent, nil)
		b.identify(b.password(email, pw), http.StatusNoContent)
		b.signedIn(b.submit())
	})
}

// TestPublicRoutesCapEachClientAcrossProcesses: two processes on one
// database share the per-client cap of the experience routes: the
// requests over it, on either, are 429 request.too_many_requests with
// Retry-After, while the management routes are not capped.
func TestPublicRoutesCapEachClientAcrossProcesses(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		capped := apptest.WithSettings(func(s *config.Settings) { s.PublicRequestLimit = 5 })
		one := apptest.New(t, dbURL, capped)
		other := apptest.New(t, dbURL, capped)
		b := newBrowser(t, one)
		for _, a := range []*apptest.App{one, other, one, other, one} {
			b.a = a
			b.ok("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}, http.StatusNoContent, nil)
		}
		for _, a := range []*apptest.App{other, one} {
			b.a = a
			resp, raw := b.do("GET", "/api/experience/interaction", nil)
			var e apptest.Error
			_ = json.Unmarshal(raw, &e)
			ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if resp.StatusCode != http.StatusTooManyRequests || e.Code != "request.too_many_requests" || err != nil || ra < 1 || ra > 121 {
				t.Errorf("a request over the cap: %d %s Retry-After %q, want 429 request.too_many_requests within two minutes (the sliding minute)", resp.StatusCode, raw, resp.Header.Get("Retry-After"))
			}
		}
		one.JSON("GET", "/api/users", nil, http.StatusOK, nil)
	})
}

// TestSignInWithoutRegistrationSendsNoCodeToAnUnknownAddress: while
// signInMode is SignIn, a sign-in code to an address nobody has is
// answered as one to a member's, and only the member's is delivered;
// with registration on, both are (the code proves the mailbox, and
// sign-up may follow).
func TestSignInWithoutRegistrationSendsNoCodeToAnUnknownAddress(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		const member, stranger, later = "member@example.com", "stranger@example.com", "later@example.com"
		createUser(t, a, map[string]any{"primaryEmail": member})
		patchExperience(t, a, map[string]any{"signInMode": "SignIn"})
		for _, email := range []string{member, stranger} {
			b := newBrowser(t, a)
			b.event("SignIn")
			b.sendCode(email, "SignIn")
		}
		testwait.Until(t, 10*time.Second, func() bool { return len(inbox(t, a, member)) == 1 }, "the member got no code")
		if got := messages(t, a, stranger); len(got) != 0 {
			t.Errorf("a sign-in code went to an unknown address while registration is off: %+v", got)
		}
		patchExperience(t, a, map[string]any{"signInMode": "SignInAndRegister"})
		b := newBrowser(t, a)
		b.event("SignIn")
		b.sendCode(later, "SignIn")
		if got := inbox(t, a, later); len(got) != 1 {
			t.Errorf("with registration on, the sign-in code to an unknown address: %d messages, want 1", len(got))
		}
	})
}
