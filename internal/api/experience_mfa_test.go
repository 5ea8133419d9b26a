package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/tenant"
)

// mfaByEmail turns on email sign-up with a password, email sign-in by
// password only (the email code cannot be both a way to sign in and a
// second factor) and the email code as the second factor under policy,
// with no resend cooldown.
func mfaByEmail(t *testing.T, a *apptest.App, policy string) {
	t.Helper()
	patchExperience(t, a, map[string]any{
		"signUp":                map[string]any{"identifiers": []string{"email"}, "verify": true, "password": true},
		"signIn":                map[string]any{"methods": []map[string]any{{"identifier": "email", "password": true, "verificationCode": false, "isPasswordPrimary": true}}},
		"forgotPasswordMethods": []string{"EmailVerificationCode"},
		"mfa":                   map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": policy},
		// Several codes go to one address in a row.
		"verificationCodePolicy": map[string]any{"resendCooldown": 0},
	})
}

// sendMfaCode asks for a second-factor code and returns its
// verificationId.
func (b *browser) sendMfaCode() string {
	b.t.Helper()
	var out struct {
		VerificationID string `json:"verificationId"`
	}
	b.ok("POST", "/api/experience/verification/mfa-verification-code", map[string]string{"identifierType": "email"}, http.StatusOK, &out)
	if out.VerificationID == "" {
		b.t.Fatal("no verificationId for the second-factor code")
	}
	return out.VerificationID
}

// mfaCodeVerified sends a second-factor code, checks it went to email
// with the template, and verifies it.
func (b *browser) mfaCodeVerified(email, template string) string {
	b.t.Helper()
	before := len(inbox(b.t, b.a, email))
	id := b.sendMfaCode()
	code := newCode(b.t, b.a, email, before)
	if got := inbox(b.t, b.a, email)[0].Type; got != template {
		b.t.Fatalf("the second-factor code's template is %s, want %s", got, template)
	}
	b.ok("POST", "/api/experience/verification/mfa-verification-code/verify",
		map[string]string{"verificationId": id, "code": code, "identifierType": "email"}, http.StatusOK, nil)
	return id
}

// passwordIdentified starts a sign-in and identifies the user by password.
func passwordIdentified(t *testing.T, a *apptest.App, email, pw string) *browser {
	t.Helper()
	b := newBrowser(t, a)
	b.event("SignIn")
	b.identify(b.password(email, pw), http.StatusNoContent)
	return b
}

// TestPasswordSignInAsksForTheEmailCodeWhenMfaIsOn: with the email code as
// the second factor, the settings refuse email-code sign-in beside it;
// a password sign-in's submit is 403 session.mfa.require_mfa_verification
// with the factor and the masked address; the code goes to the user's own
// address (MfaVerification), a wrong one is refused, the right one lets
// submit sign in with amr pwd, otp and mfa, and its proof is used once.
func TestPasswordSignInAsksForTheEmailCodeWhenMfaIsOn(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		mfaByEmail(t, a, string(tenant.MfaPromptAtSignInAndSignUp))
		a.WantError("PATCH", "/api/sign-in-exp", map[string]any{"signIn": map[string]any{"methods": []map[string]any{
			{"identifier": "email", "password": true, "verificationCode": true, "isPasswordPrimary": true}}}},
			http.StatusBadRequest, "sign_in_experiences.email_verification_code_cannot_be_used_for_sign_in")
		const email, pw = "second.factor@example.com", "correct horse battery"
		u := createUser(t, a, map[string]any{"primaryEmail": email, "password": pw})

		early := newBrowser(t, a)
		early.event("SignIn")
		early.fails("POST", "/api/experience/verification/mfa-verification-code", map[string]string{"identifierType": "email"},
			http.StatusBadRequest, "session.identifier_not_found")

		b := passwordIdentified(t, a, email, pw)
		e := b.fails("POST", "/api/experience/submit", nil, http.StatusForbidden, "session.mfa.require_mfa_verification")
		var data struct {
			AvailableFactors  []string          `json:"availableFactors"`
			MaskedIdentifiers map[string]string `json:"maskedIdentifiers"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil || !slices.Equal(data.AvailableFactors, []string{"EmailVerificationCode"}) ||
			data.MaskedIdentifiers["EmailVerificationCode"] != "seco****@example.com" {
			t.Errorf("require_mfa_verification data = %s, want the email factor and seco****@example.com", e.Data)
		}
		before := len(inbox(t, a, email))
		id := b.sendMfaCode()
		code := newCode(t, a, email, before)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		b.fails("POST", "/api/experience/verification/mfa-verification-code/verify", map[string]string{"verificationId": id, "code": wrong},
			http.StatusBadRequest, "verification_code.code_mismatch")
		b.fails("POST", "/api/experience/verification/mfa-verification-code/verify", map[string]string{"verificationId": "not-the-record", "code": code},
			http.StatusNotFound, "session.verification_session_not_found")
		b.ok("POST", "/api/experience/verification/mfa-verification-code/verify", map[string]string{"verificationId": id, "code": code}, http.StatusOK, nil)
		token := b.signedIn(b.submit())
		if got := amr(t, token); token.Subject != u.ID || !slices.Equal(got, []string{experience.AMRPassword, experience.AMRCode, experience.AMRMFA}) {
			t.Errorf("the ID token: sub %s amr %v, want %s by pwd, otp and mfa", token.Subject, got, u.ID)
		}
		if msgs := inbox(t, a, email); msgs[0].Type != "MfaVerification" {
			t.Errorf("the second-factor code's template is %s, want MfaVerification", msgs[0].Type)
		}

		// A code sent before identification cannot stand in: a fresh
		// sign-in asks again.
		again := passwordIdentified(t, a, email, pw)
		again.fails("POST", "/api/experience/submit", nil, http.StatusForbidden, "session.mfa.require_mfa_verification")
		again.mfaCodeVerified(email, "MfaVerification")
		again.signedIn(again.submit())
	})
}

// TestUserControlledMfaIsBoundPerUser: under the UserControlled policy a
// user who did not bind the factor signs in with the password alone; one
// who binds it (a BindMfa code to their address, then POST
// /api/experience/profile/mfa) is signed in at once with amr mfa, has the
// factor stored, and is asked for the code at every later sign-in, while
// another user still is not; binding again is refused, and so are
// binding before identification and with a record that is not verified.
func TestUserControlledMfaIsBoundPerUser(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		mfaByEmail(t, a, string(tenant.MfaUserControlled))
		const email, other, pw = "opt.in@example.com", "opt.out@example.com", "correct horse battery"
		u := createUser(t, a, map[string]any{"primaryEmail": email, "password": pw})
		createUser(t, a, map[string]any{"primaryEmail": other, "password": pw})

		plain := passwordIdentified(t, a, email, pw)
		if got := amr(t, plain.signedIn(plain.submit())); !slices.Equal(got, []string{experience.AMRPassword}) {
			t.Errorf("a user without the factor signs in with amr %v, want pwd alone", got)
		}

		early := newBrowser(t, a)
		early.event("SignIn")
		early.fails("POST", "/api/experience/profile/mfa", map[string]string{"type": "EmailVerificationCode", "verificationId": "x"},
			http.StatusNotFound, "session.identifier_not_found")

		b := passwordIdentified(t, a, email, pw)
		unverified := b.sendMfaCode()
		b.fails("POST", "/api/experience/profile/mfa", map[string]string{"type": "EmailVerificationCode", "verificationId": unverified},
			http.StatusBadRequest, "session.verification_failed")
		id := b.mfaCodeVerified(email, "BindMfa")
		b.fails("POST", "/api/experience/profile/mfa", map[string]string{"type": "Totp", "verificationId": id},
			http.StatusBadRequest, "session.mfa.mfa_factor_not_enabled")
		b.ok("POST", "/api/experience/profile/mfa", map[string]string{"type": "EmailVerificationCode", "verificationId": id}, http.StatusNoContent, nil)
		if got := amr(t, b.signedIn(b.submit())); !slices.Contains(got, experience.AMRMFA) {
			t.Errorf("the binding sign-in has amr %v, want mfa in it", got)
		}
		factors, err := a.App.Users.MFAFactors(t.Context(), tenant.Default, u.ID)
		if err != nil || len(factors) != 1 || factors[0].Type != identity.MFAEmailCode || factors[0].ID == "" {
			t.Fatalf("the user's factors = %+v (%v), want the email factor", factors, err)
		}

		next := passwordIdentified(t, a, email, pw)
		next.fails("POST", "/api/experience/submit", nil, http.StatusForbidden, "session.mfa.require_mfa_verification")
		vid := next.mfaCodeVerified(email, "MfaVerification")
		next.fails("POST", "/api/experience/profile/mfa", map[string]string{"type": "EmailVerificationCode", "verificationId": vid},
			http.StatusBadRequest, "session.mfa.bind_mfa_existed")
		next.signedIn(next.submit())

		o := passwordIdentified(t, a, other, pw)
		o.signedIn(o.submit())
	})
}
