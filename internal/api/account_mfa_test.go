package api_test

import (
	"net/http"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/tenant"
)

// TestAccountAPIListsAndRemovesTheEmailFactor: a user who bound the
// email factor sees it in GET /api/my-account/mfa-verifications (the
// account center's mfa field ReadOnly at least) and removes it with
// DELETE only once re-verified (401 verification_record.permission_denied
// without); an ID they have no factor with is 404 entity.not_found; after
// the removal the user signs in with the password alone again.
func TestAccountAPIListsAndRemovesTheEmailFactor(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		mfaByEmail(t, a, string(tenant.MfaUserControlled))
		accountCenter(t, a, map[string]string{"mfa": "Edit"})
		const email, pw = "factor.owner@example.com", "correct horse battery"
		created := createUser(t, a, map[string]any{"primaryEmail": email, "password": pw})
		b := passwordIdentified(t, a, email, pw)
		id := b.mfaCodeVerified(email, "BindMfa")
		b.ok("POST", "/api/experience/profile/mfa", map[string]string{"type": "EmailVerificationCode", "verificationId": id}, http.StatusNoContent, nil)
		b.signedIn(b.submit())
		u := &accountUser{t: t, a: a, id: created.ID, email: email, token: b.token.AccessToken}

		var list []struct {
			ID        string `json:"id"`
			Type      string `json:"type"`
			CreatedAt string `json:"createdAt"`
		}
		u.ok("GET", "/api/my-account/mfa-verifications", "", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].Type != "EmailVerificationCode" || list[0].ID == "" || list[0].CreatedAt == "" {
			t.Fatalf("the user's factors = %+v, want the email factor", list)
		}
		path := "/api/my-account/mfa-verifications/" + list[0].ID
		u.fails("DELETE", path, "", nil, http.StatusUnauthorized, "verification_record.permission_denied")
		rec := u.passwordRecord(pw)
		u.fails("DELETE", "/api/my-account/mfa-verifications/not-a-factor", rec, nil, http.StatusNotFound, "entity.not_found")
		u.ok("DELETE", path, rec, nil, http.StatusNoContent, nil)
		u.ok("GET", "/api/my-account/mfa-verifications", "", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Fatalf("after the removal the user's factors = %+v, want none", list)
		}
		again := passwordIdentified(t, a, email, pw)
		again.signedIn(again.submit())

		accountCenter(t, a, map[string]string{"mfa": "Off"})
		u.fails("GET", "/api/my-account/mfa-verifications", "", nil, http.StatusForbidden, "auth.forbidden")
	})
}
