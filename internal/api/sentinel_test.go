package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

type lockoutJSON struct {
	ID        string `json:"id"`
	Scope     string `json:"scope"`
	Email     string `json:"email"`
	IP        string `json:"ip"`
	LockedAt  int64  `json:"lockedAt"`
	ExpiresAt int64  `json:"expiresAt"`
}

func lockouts(t *testing.T, a *apptest.App, email string) []lockoutJSON {
	t.Helper()
	var out []lockoutJSON
	a.JSON("GET", "/api/sentinel/lockouts?email="+url.QueryEscape(email), nil, http.StatusOK, &out)
	return out
}

// TestJunkChecksDoNotLockAnAddress: 100 checks of junk against an address
// with no code (once enough to lock it for an hour) leave its owner's
// code working.
func TestJunkChecksDoNotLockAnAddress(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		const to = "victim@example.com"
		for range 100 {
			a.WantError("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": "123456"}, 400, "verification_code.not_found")
		}
		if ls := lockouts(t, a, ""); len(ls) != 0 {
			t.Fatalf("lockouts after junk checks = %+v, want none", ls)
		}
		sendCode(t, a, to)
		a.JSON("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": codeFromInbox(t, a, to)}, http.StatusNoContent, nil)
	})
}

// TestSentinelListsAndLiftsLockouts: a lockout made by wrong codes is
// listed with its address and client, found by address, and lifted by
// its ID, after which the right code works.
func TestSentinelListsAndLiftsLockouts(t *testing.T) {
	auth := http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"lockoutFailures": 3}, "sentinelPolicy": map[string]any{"lockoutDuration": 5}})
		const to = "mia@example.com"
		sendCode(t, a, to)
		right := codeFromInbox(t, a, to)
		wrong := "999999"
		if right == wrong {
			wrong = "999998"
		}
		for range 3 {
			a.WantError("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": wrong}, 400, "verification_code.code_mismatch")
		}
		resp, b := a.Request("POST", "/api/verification-codes/verify", auth, map[string]string{"email": to, "verificationCode": right})
		var e apptest.Error
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != http.StatusTooManyRequests || e.Code != "session.verification_blocked_too_many_attempts" {
			t.Fatalf("right code while locked out: %d %s", resp.StatusCode, b)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 240 || ra > 300 {
			t.Errorf("Retry-After = %q, want about 300", resp.Header.Get("Retry-After"))
		}

		all := lockouts(t, a, "")
		if len(all) != 1 {
			t.Fatalf("lockouts = %+v, want one", all)
		}
		l := all[0]
		if l.Scope != "client" || l.Email != to || l.IP != "127.0.0.1" || l.ID == "" || l.ExpiresAt-l.LockedAt != 5*60*1000 {
			t.Errorf("lockout = %+v, want the client 127.0.0.1 locked out of %s for 5 minutes", l, to)
		}
		if mine := lockouts(t, a, "Mia@Example.com"); len(mine) != 1 || mine[0].ID != l.ID {
			t.Errorf("lockouts of Mia@Example.com = %+v, want the same one", mine)
		}
		if others := lockouts(t, a, "noah@example.com"); len(others) != 0 {
			t.Errorf("lockouts of another address = %+v, want none", others)
		}
		a.WantError("GET", "/api/sentinel/lockouts?email=not-an-address", nil, 400, "guard.invalid_input")
		a.WantError("GET", "/api/sentinel/lockouts?limit=0", nil, 400, "guard.invalid_input")
		if resp, _ := a.Request("GET", "/api/sentinel/lockouts", http.Header{}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("listing lockouts without the admin key: %d, want 401", resp.StatusCode)
		}

		a.JSON("DELETE", "/api/sentinel/lockouts/"+l.ID, nil, http.StatusNoContent, nil)
		a.WantError("DELETE", "/api/sentinel/lockouts/"+l.ID, nil, 404, "entity.not_found")
		a.WantError("DELETE", "/api/sentinel/lockouts/unknown", nil, 404, "entity.not_found")
		if ls := lockouts(t, a, ""); len(ls) != 0 {
			t.Errorf("lockouts after the lift = %+v", ls)
		}
		a.JSON("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": right}, http.StatusNoContent, nil)
	})
}
