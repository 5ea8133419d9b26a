package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/testwait"
)

// TestSendLimits: the per-recipient cap and the resend cooldown.
func TestSendLimits(t *testing.T) {
	auth := http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		// Resend cooldown (default 60 s), keyed by the normalised address.
		sendCode(t, a, "kate@example.com")
		resp, b := a.Request("POST", "/api/verification-codes", auth, map[string]string{"email": "Kate@Example.com"})
		var e apptest.Error
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != http.StatusTooManyRequests || e.Code != "verification_code.resend_too_soon" {
			t.Fatalf("resend within the cooldown: %d %s", resp.StatusCode, b)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
			t.Errorf("Retry-After = %q, want 1-60 seconds", resp.Header.Get("Retry-After"))
		}
		// One message, found under either spelling: the filter is canonical too.
		if lower, mixed := messages(t, a, "kate@example.com"), messages(t, a, "Kate@Example.com"); len(lower) != 1 || len(mixed) != 1 || lower[0].ID != mixed[0].ID {
			t.Errorf("messages under kate@ and Kate@: %d and %d, want the same one", len(lower), len(mixed))
		}

		// With the cooldown off, the 11th send in 10 minutes is refused.
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"resendCooldown": 0}})
		const to = "liam@example.com"
		for i := range 10 {
			if status, b := a.Do("POST", "/api/verification-codes", map[string]string{"email": to}); status != http.StatusNoContent {
				t.Fatalf("send %d: %d %s", i+1, status, b)
			}
		}
		resp, b = a.Request("POST", "/api/verification-codes", auth, map[string]string{"email": to})
		e = apptest.Error{}
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != http.StatusTooManyRequests || e.Code != "request.message_rate_limited" {
			t.Fatalf("11th send: %d %s, want 429 request.message_rate_limited", resp.StatusCode, b)
		}
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || ra < 500 || ra > 600 {
			t.Errorf("Retry-After = %q, want about 600 seconds", resp.Header.Get("Retry-After"))
		}
		var data struct {
			RetryAfter int `json:"retryAfter"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil || data.RetryAfter != ra {
			t.Errorf("data = %s, want retryAfter %d", e.Data, ra)
		}
		if n := len(messages(t, a, to)); n != 10 {
			t.Errorf("%d messages logged for %s, want 10", n, to)
		}
		// Only the newest code verifies (a new code replaces the previous one).
		msgs := inbox(t, a, to)
		newest, older := msgs[0].Payload["code"].(string), msgs[1].Payload["code"].(string)
		if newest != older {
			a.WantError("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": older}, 400, "verification_code.code_mismatch")
		}
		a.JSON("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": newest}, http.StatusNoContent, nil)
		// Another address is not limited.
		sendCode(t, a, "mia@example.com")

		// Failed verifications lock the identifier, even for the right code.
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"lockoutFailures": 3}, "sentinelPolicy": map[string]any{"lockoutDuration": 5}})
		right := codeFromInbox(t, a, "mia@example.com")
		wrong := "999999"
		if right == wrong {
			wrong = "999998"
		}
		for range 3 {
			a.WantError("POST", "/api/verification-codes/verify", map[string]string{"email": "mia@example.com", "verificationCode": wrong}, 400, "verification_code.code_mismatch")
		}
		resp, b = a.Request("POST", "/api/verification-codes/verify", auth, map[string]string{"email": "mia@example.com", "verificationCode": right})
		e = apptest.Error{}
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != http.StatusTooManyRequests || e.Code != "session.verification_blocked_too_many_attempts" {
			t.Fatalf("verify after the lockout threshold: %d %s", resp.StatusCode, b)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 240 || ra > 300 {
			t.Errorf("lockout Retry-After = %q, want about 300", resp.Header.Get("Retry-After"))
		}
	})
}

// burst sends n codes at once, to to(i), and counts the statuses.
func burst(t *testing.T, a *apptest.App, n int, to func(i int) string) map[int]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, b, err := a.TryDo("POST", "/api/verification-codes", map[string]string{"email": to(i)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			if status != http.StatusNoContent && status != http.StatusTooManyRequests {
				t.Errorf("send %d: %d %s", i, status, b)
			}
			counts[status]++
		}()
	}
	wg.Wait()
	return counts
}

// TestConcurrentSends: a burst of sends neither wedges the database pool
// nor gets past the per-recipient cap.
func TestConcurrentSends(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		// More concurrent sends than PostgreSQL pool connections.
		counts := burst(t, a, 40, func(i int) string { return fmt.Sprintf("crowd%d@example.com", i) })
		if counts[http.StatusNoContent] != 40 {
			t.Fatalf("distinct recipients: %v, want 40 sent", counts)
		}
		// A first attempt that outlasts the request's wait is finished by
		// the queue, so the inbox fills up shortly after the burst.
		testwait.Until(t, 20*time.Second, func() bool {
			return len(inbox(t, a, "")) == 40
		}, "all 40 messages to reach the dev inbox")
		// One recipient: exactly the cap gets through.
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"resendCooldown": 0}})
		counts = burst(t, a, 30, func(int) string { return "target@example.com" })
		if counts[http.StatusNoContent] != 10 || counts[http.StatusTooManyRequests] != 20 {
			t.Errorf("one recipient: %v, want 10 sent and 20 refused", counts)
		}
		if n := len(messages(t, a, "target@example.com")); n != 10 {
			t.Errorf("%d messages logged for the target, want 10", n)
		}
	})
}

// TestConcurrentGuesses: a burst of wrong guesses gets no more
// comparisons than the try limit, and a burst of right ones verifies once.
func TestConcurrentGuesses(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		guess := func(n int, email, code string) map[string]int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[string]int{}
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, b, err := a.TryDo("POST", "/api/verification-codes/verify", map[string]string{"email": email, "verificationCode": code})
					var e apptest.Error
					_ = json.Unmarshal(b, &e)
					if status == http.StatusNoContent {
						e.Code = "ok"
					}
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Errorf("verify: %v", err)
					}
					counts[e.Code]++
				}()
			}
			wg.Wait()
			return counts
		}
		const guessed = "guessed@example.com"
		sendCode(t, a, guessed)
		wrong := "000000"
		if codeFromInbox(t, a, guessed) == wrong {
			wrong = "000001"
		}
		counts := guess(40, guessed, wrong)
		if counts["verification_code.code_mismatch"] != 10 || counts["verification_code.exceed_max_try"] != 30 {
			t.Errorf("40 concurrent wrong guesses: %v, want 10 compared and 30 refused", counts)
		}
		const used = "used@example.com"
		sendCode(t, a, used)
		counts = guess(20, used, codeFromInbox(t, a, used))
		if counts["ok"] != 1 || counts["verification_code.not_found"] != 19 {
			t.Errorf("20 concurrent right guesses: %v, want one success", counts)
		}
	})
}

// rateLimited checks that a response is 429 request.message_rate_limited
// with a Retry-After of 1 to max seconds that the body repeats, and
// returns the error.
func rateLimited(t *testing.T, resp *http.Response, b []byte, max int) apptest.Error {
	t.Helper()
	var e apptest.Error
	_ = json.Unmarshal(b, &e)
	if resp.StatusCode != http.StatusTooManyRequests || e.Code != "request.message_rate_limited" {
		t.Fatalf("%d %s, want 429 request.message_rate_limited", resp.StatusCode, b)
	}
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > max {
		t.Errorf("Retry-After = %q, want 1 to %d seconds", resp.Header.Get("Retry-After"), max)
	}
	var data struct {
		RetryAfter int `json:"retryAfter"`
	}
	if err := json.Unmarshal(e.Data, &data); err != nil || data.RetryAfter != ra {
		t.Errorf("data = %s, want retryAfter %d", e.Data, ra)
	}
	return e
}

// TestSubAddressBombingIsCapped: 200 sends to victim+N@example.com reach
// the mailbox 10 times, the per-mailbox cap.
func TestSubAddressBombingIsCapped(t *testing.T) {
	auth := http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sent := 0
		for i := range 200 {
			resp, b := a.Request("POST", "/api/verification-codes", auth, map[string]string{"email": fmt.Sprintf("victim+%d@example.com", i)})
			if resp.StatusCode == http.StatusNoContent {
				sent++
				continue
			}
			rateLimited(t, resp, b, 600)
		}
		if sent != 10 {
			t.Errorf("%d of 200 sends answered 204, want 10", sent)
		}
		if n := len(inbox(t, a, "")); n != 10 {
			t.Errorf("the dev inbox holds %d messages, want 10", n)
		}
		resp, b := a.Request("POST", "/api/verification-codes", auth, map[string]string{"email": "victim@example.com"})
		rateLimited(t, resp, b, 600)
	})
}

// TestDomainCapCountsEverySpellingAsOneDomain: the same domain written in
// Unicode (NFC and NFD), as punycode and in capitals is one domain to the
// per-domain cap.
func TestDomainCapCountsEverySpellingAsOneDomain(t *testing.T) {
	auth := http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"domainSendLimit": 3}})
		for _, to := range []string{"a@b\u00fccher.example", "b@bu\u0308cher.example", "c@xn--bcher-kva.example"} {
			sendCode(t, a, to)
		}
		resp, b := a.Request("POST", "/api/verification-codes", auth, map[string]string{"email": "d@B\u00dcCHER.example"})
		if e := rateLimited(t, resp, b, 3601); !strings.Contains(e.Message, "domain") {
			t.Errorf("message %q does not name the domain cap", e.Message)
		}
		sendCode(t, a, "d@example.com")
	})
}

// TestConnectorTestSendsCount: test sends count toward the caps of the
// address they go to, and real sends count with them.
func TestConnectorTestSendsCount(t *testing.T) {
	auth := http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		const to = "target@example.com"
		test := map[string]any{"email": to, "config": map[string]any{}}
		sent := 0
		for range 30 {
			resp, b := a.Request("POST", "/api/connectors/dev-inbox/test", auth, test)
			if resp.StatusCode == http.StatusNoContent {
				sent++
				continue
			}
			rateLimited(t, resp, b, 600)
		}
		if sent != 10 {
			t.Errorf("%d of 30 test sends to one address answered 204, want 10", sent)
		}
		resp, b := a.Request("POST", "/api/verification-codes", auth, map[string]string{"email": "target+real@example.com"})
		rateLimited(t, resp, b, 600)
	})
}

// TestTenantCap: the tenant's hourly cap refuses real and test sends
// alike; the management API is not capped by its caller's IP.
func TestTenantCap(t *testing.T) {
	auth := http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"tenantSendLimit": 3, "ipSendLimit": 1}})
		for i := range 3 {
			sendCode(t, a, fmt.Sprintf("t@d%d.example", i))
		}
		resp, b := a.Request("POST", "/api/verification-codes", auth, map[string]string{"email": "t@d3.example"})
		if e := rateLimited(t, resp, b, 3601); !strings.Contains(e.Message, "service") {
			t.Errorf("message %q does not name the tenant cap", e.Message)
		}
		resp, b = a.Request("POST", "/api/connectors/dev-inbox/test", auth, map[string]any{"email": "t@d4.example", "config": map[string]any{}})
		rateLimited(t, resp, b, 3601)
	})
}
