package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/tenant"
)

// emailCode, emailPassword and usernamePassword are sign-in methods as
// Logto's API takes them (every field given).
var (
	emailCode        = map[string]any{"identifier": "email", "password": false, "verificationCode": true, "isPasswordPrimary": false}
	emailPassword    = map[string]any{"identifier": "email", "password": true, "verificationCode": false, "isPasswordPrimary": true}
	usernamePassword = map[string]any{"identifier": "username", "password": true, "verificationCode": false, "isPasswordPrimary": true}
)

func methods(ms ...map[string]any) map[string]any {
	return map[string]any{"methods": ms}
}

// getExperience reads GET /api/sign-in-exp; the code policy's Sentinel,
// which the JSON leaves out, is the sentinelPolicy the JSON has.
func getExperience(t *testing.T, a *apptest.App) tenant.Experience {
	t.Helper()
	var e tenant.Experience
	a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &e)
	e.VerificationCodePolicy.Sentinel = e.SentinelPolicy
	return e
}

// deleteEmailConnector removes the tenant's one connector, which nothing
// relies on yet.
func deleteEmailConnector(t *testing.T, a *apptest.App) {
	t.Helper()
	for _, c := range connectors(t, a) {
		a.JSON("DELETE", "/api/connectors/"+c.ID, nil, http.StatusNoContent, nil)
	}
}

// TestSignInExpDefaultsAreLogtos: a fresh tenant's GET answers the
// defaults the code declares, which are Logto's where Logto has one:
// SignInAndRegister, password reset off ([]), no MFA, a 60-minute
// sentinel lockout, 8 to 256 characters, language auto-detection.
func TestSignInExpDefaultsAreLogtos(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		got := getExperience(t, a)
		want := tenant.DefaultExperience()
		want.VerificationCodePolicy.Sentinel = want.SentinelPolicy
		if !reflect.DeepEqual(got, want) {
			t.Errorf("fresh GET = %+v\nwant the defaults %+v", got, want)
		}
		if got.SignInMode != "SignInAndRegister" || len(got.ForgotPasswordMethods) != 0 || got.SentinelPolicy.LockoutDuration != 60 ||
			got.PasswordPolicy.Length.Min != 8 || got.PasswordPolicy.Length.Max != 256 || !got.LanguageInfo.AutoDetect || len(got.Mfa.Factors) != 0 {
			t.Errorf("fresh GET = %+v, want Logto's defaults", got)
		}
		// Lists are [] rather than null.
		_, b := a.Do("GET", "/api/sign-in-exp", nil)
		for _, field := range []string{`"forgotPasswordMethods":[]`, `"factors":[]`, `"secondaryIdentifiers":[]`, `"words":[]`} {
			if !strings.Contains(string(b), field) {
				t.Errorf("fresh GET %s lacks %s", b, field)
			}
		}
	})
}

// TestSignInExpRulesRefuseWithLogtosCodes: each of Logto's rules refuses
// the settings that break it with its code, status and data, and writes
// nothing.
func TestSignInExpRulesRefuseWithLogtosCodes(t *testing.T) {
	emailSignUp := map[string]any{"identifiers": []string{"email"}, "password": false, "verify": true}
	cases := []struct {
		name        string
		noConnector bool
		before      map[string]any // applied first, must succeed
		patch       map[string]any
		status      int
		code        string
		data        map[string]any // fields data must have
	}{
		{name: "email sign-up needs a connector", noConnector: true, patch: map[string]any{"signUp": emailSignUp},
			status: 400, code: "sign_in_experiences.enabled_connector_not_found", data: map[string]any{"type": "Email"}},
		{name: "secondary email needs a connector", noConnector: true,
			patch: map[string]any{"signUp": map[string]any{"identifiers": []string{"username"}, "password": true, "verify": true,
				"secondaryIdentifiers": []map[string]any{{"identifier": "email", "verify": true}}}},
			status: 400, code: "sign_in_experiences.enabled_connector_not_found", data: map[string]any{"type": "Email"}},
		{name: "email code sign-in needs a connector", noConnector: true, patch: map[string]any{"signIn": methods(emailCode)},
			status: 400, code: "sign_in_experiences.enabled_connector_not_found", data: map[string]any{"type": "Email"}},
		{name: "email MFA needs a connector", noConnector: true, patch: map[string]any{"mfa": map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": "PromptAtSignInAndSignUp"}},
			status: 400, code: "sign_in_experiences.enabled_connector_not_found", data: map[string]any{"type": "Email"}},
		{name: "forgot password by email needs a connector", noConnector: true, patch: map[string]any{"forgotPasswordMethods": []string{"EmailVerificationCode"}},
			status: 400, code: "sign_in_experiences.forgot_password_method_requires_connector", data: map[string]any{"method": "email"}},
		{name: "a method with neither factor", patch: map[string]any{"signIn": methods(map[string]any{"identifier": "email", "password": false, "verificationCode": false, "isPasswordPrimary": false})},
			status: 400, code: "sign_in_experiences.at_least_one_authentication_factor"},
		{name: "passwordless sign-up needs code sign-in", patch: map[string]any{"signUp": emailSignUp, "signIn": methods(emailPassword)},
			status: 400, code: "sign_in_experiences.code_sign_in_must_be_enabled"},
		{name: "passwordless sign-up, changed on its own", before: map[string]any{"signIn": methods(emailPassword)}, patch: map[string]any{"signUp": emailSignUp},
			status: 400, code: "sign_in_experiences.code_sign_in_must_be_enabled"},
		{name: "email sign-up without verify", patch: map[string]any{"signUp": map[string]any{"identifiers": []string{"email"}, "password": true, "verify": false}},
			status: 400, code: "sign_in_experiences.passwordless_requires_verify"},
		{name: "secondary email without its verify", patch: map[string]any{"signUp": map[string]any{"identifiers": []string{"username"}, "password": true, "verify": true,
			"secondaryIdentifiers": []map[string]any{{"identifier": "email"}}}},
			status: 400, code: "sign_in_experiences.passwordless_requires_verify"},
		{name: "a primary identifier twice", patch: map[string]any{"signUp": map[string]any{"identifiers": []string{"username", "username"}, "password": true, "verify": false}},
			status: 400, code: "sign_in_experiences.duplicated_sign_up_identifiers"},
		{name: "a secondary identifier that is primary", patch: map[string]any{"signUp": map[string]any{"identifiers": []string{"username"}, "password": true, "verify": false,
			"secondaryIdentifiers": []map[string]any{{"identifier": "username"}}}},
			status: 400, code: "sign_in_experiences.duplicated_sign_up_identifiers"},
		{name: "secondary identifiers with no primary", patch: map[string]any{"signUp": map[string]any{"identifiers": []string{}, "password": true, "verify": false,
			"secondaryIdentifiers": []map[string]any{{"identifier": "username"}}}},
			status: 400, code: "sign_in_experiences.missing_sign_up_identifiers"},
		{name: "email code sign-in while email is an MFA factor", before: map[string]any{"mfa": map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": "Mandatory"}},
			patch: map[string]any{"signIn": methods(emailCode)}, status: 400, code: "sign_in_experiences.email_verification_code_cannot_be_used_for_sign_in"},
		{name: "email MFA while email code sign-in is on", before: map[string]any{"signIn": methods(emailCode)},
			patch:  map[string]any{"mfa": map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": "Mandatory"}},
			status: 400, code: "sign_in_experiences.email_verification_code_cannot_be_used_for_mfa"},
		{name: "a factor twice", patch: map[string]any{"mfa": map[string]any{"factors": []string{"EmailVerificationCode", "EmailVerificationCode"}, "policy": "Mandatory"}},
			status: 400, code: "sign_in_experiences.duplicated_mfa_factors"},
		{name: "an adaptive-only MFA policy", patch: map[string]any{"mfa": map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": "PromptOnlyAtSignInMandatory"}},
			status: 422, code: "sign_in_experiences.non_adaptive_mfa_requires_skippable_policy"},
		{name: "a fallback language with no templates", patch: map[string]any{"languageInfo": map[string]any{"autoDetect": true, "fallbackLanguage": "sw"}},
			status: 400, code: "sign_in_experiences.unsupported_default_language", data: map[string]any{"language": "sw"}},
		{name: "phone forgot password", patch: map[string]any{"forgotPasswordMethods": []string{"PhoneVerificationCode"}},
			status: 400, code: "sign_in_experiences.phone_not_supported", data: map[string]any{"field": "forgotPasswordMethods", "value": "PhoneVerificationCode"}},
		{name: "phone sign-up", patch: map[string]any{"signUp": map[string]any{"identifiers": []string{"phone"}, "password": false, "verify": true}},
			status: 400, code: "sign_in_experiences.phone_not_supported", data: map[string]any{"value": "phone"}},
		{name: "phone MFA", patch: map[string]any{"mfa": map[string]any{"factors": []string{"PhoneVerificationCode"}, "policy": "Mandatory"}},
			status: 400, code: "sign_in_experiences.phone_not_supported", data: map[string]any{"field": "mfa.factors"}},
		{name: "TOTP MFA", patch: map[string]any{"mfa": map[string]any{"factors": []string{"Totp"}, "policy": "Mandatory"}},
			status: 400, code: "sign_in_experiences.mfa_factor_not_supported", data: map[string]any{"factor": "Totp"}},
		{name: "an unknown sign-in mode", patch: map[string]any{"signInMode": "Anything"},
			status: 400, code: "guard.invalid_input", data: map[string]any{"field": "signInMode"}},
		{name: "a password policy out of range", patch: map[string]any{"passwordPolicy": map[string]any{"characterTypes": map[string]any{"min": 5}}},
			status: 400, code: "guard.invalid_input", data: map[string]any{"field": "passwordPolicy.characterTypes.min"}},
		{name: "a sentinel policy out of range", patch: map[string]any{"sentinelPolicy": map[string]any{"lockoutDuration": 0}},
			status: 400, code: "guard.invalid_input", data: map[string]any{"field": "sentinelPolicy.lockoutDuration"}},
		{name: "a bad colour", patch: map[string]any{"color": map[string]any{"primaryColor": "blue"}},
			status: 400, code: "guard.invalid_input", data: map[string]any{"field": "color.primaryColor"}},
		{name: "a logo URL that is not https", patch: map[string]any{"branding": map[string]any{"logoUrl": "http://example.com/logo.png"}},
			status: 400, code: "guard.invalid_input", data: map[string]any{"field": "branding.logoUrl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apptest.Run(t, func(t *testing.T, a *apptest.App) {
				if tc.noConnector {
					deleteEmailConnector(t, a)
				}
				if tc.before != nil {
					patchExperience(t, a, tc.before)
				}
				before := getExperience(t, a)
				e := a.WantError("PATCH", "/api/sign-in-exp", tc.patch, tc.status, tc.code)
				var data map[string]any
				if len(tc.data) > 0 {
					if err := json.Unmarshal(e.Data, &data); err != nil {
						t.Fatalf("data %s: %v", e.Data, err)
					}
				}
				for k, v := range tc.data {
					if !reflect.DeepEqual(data[k], v) {
						t.Errorf("data.%s = %v, want %v (data %s)", k, data[k], v, e.Data)
					}
				}
				if e.Message == "" {
					t.Error("the error has no message")
				}
				if after := getExperience(t, a); !reflect.DeepEqual(after, before) {
					t.Errorf("a refused patch changed the settings:\n%+v\n->\n%+v", before, after)
				}
			})
		})
	}
}

// TestSignInExpAcceptsWhatTheRulesAllow: the settings of an email
// product pass every rule: email code sign-up and sign-in with a
// password sign-in beside it, password reset by email, and, instead of
// code sign-in, the email code as a second factor; a built-in language's
// regional variant is a fallback language.
func TestSignInExpAcceptsWhatTheRulesAllow(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		patchExperience(t, a, map[string]any{
			"signInMode":            "SignIn",
			"signUp":                map[string]any{"identifiers": []string{"email"}, "password": true, "verify": true, "secondaryIdentifiers": []map[string]any{{"identifier": "username"}}},
			"signIn":                methods(map[string]any{"identifier": "email", "password": true, "verificationCode": true, "isPasswordPrimary": false}, usernamePassword),
			"forgotPasswordMethods": []string{"EmailVerificationCode"},
			"languageInfo":          map[string]any{"autoDetect": false, "fallbackLanguage": "fr-CA"},
		})
		e := getExperience(t, a)
		if e.SignInAllowed() != true || e.RegisterAllowed() != false || !e.ForgotPasswordByEmail() {
			t.Errorf("SignIn mode with password reset: SignInAllowed %v, RegisterAllowed %v, ForgotPasswordByEmail %v", e.SignInAllowed(), e.RegisterAllowed(), e.ForgotPasswordByEmail())
		}
		if m, ok := e.SignInMethod("email"); !ok || !m.Password || !m.VerificationCode {
			t.Errorf("SignInMethod(email) = %+v, %v", m, ok)
		}
		if got := e.MandatoryProfile(); !slices.Equal(got, []string{"email", "username", "password"}) {
			t.Errorf("MandatoryProfile = %v, want [email username password]", got)
		}
		patchExperience(t, a, map[string]any{"signIn": methods(emailPassword),
			"mfa": map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": "Mandatory"}})
		if e := getExperience(t, a); !e.MfaByEmail() {
			t.Errorf("mfa = %+v, want the email factor", e.Mfa)
		}
	})
}

// TestSignInExpMergesNestedObjects: a patch of one member of a nested
// object keeps its siblings; null resets that object to its default, and
// only it.
func TestSignInExpMergesNestedObjects(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		def := tenant.DefaultExperience()
		patchExperience(t, a, map[string]any{"passwordPolicy": map[string]any{"length": map[string]any{"min": 12}}, "sentinelPolicy": map[string]any{"maxAttempts": 50}})
		patchExperience(t, a, map[string]any{"passwordPolicy": map[string]any{"rejects": map[string]any{"words": []string{"acme"}}}, "color": map[string]any{"isDarkModeEnabled": true}})
		e := getExperience(t, a)
		if e.PasswordPolicy.Length.Min != 12 || e.PasswordPolicy.Length.Max != def.PasswordPolicy.Length.Max ||
			!slices.Equal(e.PasswordPolicy.Rejects.Words, []string{"acme"}) || e.PasswordPolicy.Rejects.RepetitionAndSequence != def.PasswordPolicy.Rejects.RepetitionAndSequence {
			t.Errorf("passwordPolicy after two patches = %+v", e.PasswordPolicy)
		}
		inForce, err := a.App.Tenants.Experience(t.Context(), tenant.Default)
		if err != nil {
			t.Fatal(err)
		}
		if e.SentinelPolicy.MaxAttempts != 50 || e.SentinelPolicy.LockoutDuration != def.SentinelPolicy.LockoutDuration ||
			inForce.VerificationCodePolicy.Sentinel != e.SentinelPolicy {
			t.Errorf("sentinelPolicy = %+v (the code policy's in force %+v), want maxAttempts 50 and the default duration, in force", e.SentinelPolicy, inForce.VerificationCodePolicy.Sentinel)
		}
		if !e.Color.IsDarkModeEnabled || e.Color.PrimaryColor != def.Color.PrimaryColor {
			t.Errorf("color = %+v", e.Color)
		}
		a.JSON("PATCH", "/api/sign-in-exp", json.RawMessage(`{"passwordPolicy":{"length":null},"sentinelPolicy":{}}`), http.StatusOK, nil)
		e = getExperience(t, a)
		if e.PasswordPolicy.Length != def.PasswordPolicy.Length || !slices.Equal(e.PasswordPolicy.Rejects.Words, []string{"acme"}) {
			t.Errorf("after resetting length: %+v", e.PasswordPolicy)
		}
		if e.SentinelPolicy.MaxAttempts != 50 {
			t.Errorf("an empty sentinelPolicy patch changed it: %+v", e.SentinelPolicy)
		}
		a.JSON("PATCH", "/api/sign-in-exp", json.RawMessage(`{"sentinelPolicy":null}`), http.StatusOK, nil)
		if e := getExperience(t, a); e.SentinelPolicy != def.SentinelPolicy {
			t.Errorf("after resetting sentinelPolicy: %+v, want the defaults", e.SentinelPolicy)
		}
	})
}

// TestDeleteConnectorSaysWhatReliesOnIt: deleting the email connector
// while the settings rely on it is 409 connector.in_use listing every
// setting that does; ?force=true deletes it, after which an unrelated
// change still goes through and a change to email sign-in does not.
func TestDeleteConnectorSaysWhatReliesOnIt(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		patchExperience(t, a, map[string]any{
			"signUp":                map[string]any{"identifiers": []string{"email"}, "password": false, "verify": true},
			"signIn":                methods(emailCode),
			"forgotPasswordMethods": []string{"EmailVerificationCode"},
		})
		c := connectors(t, a)[0]
		e := a.WantError("DELETE", "/api/connectors/"+c.ID, nil, http.StatusConflict, "connector.in_use")
		var data struct{ UsedBy []string }
		if err := json.Unmarshal(e.Data, &data); err != nil || !slices.Equal(data.UsedBy, []string{"signUp.identifiers", "signIn.methods", "forgotPasswordMethods"}) {
			t.Errorf("connector.in_use data = %s, want usedBy signUp.identifiers, signIn.methods, forgotPasswordMethods", e.Data)
		}
		// Password sign-in with email MFA relies on it too.
		patchExperience(t, a, map[string]any{"signUp": map[string]any{"identifiers": []string{"username"}, "password": true, "verify": false},
			"signIn": methods(usernamePassword), "forgotPasswordMethods": []string{},
			"mfa": map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": "Mandatory"}})
		e = a.WantError("DELETE", "/api/connectors/"+c.ID, nil, http.StatusConflict, "connector.in_use")
		if err := json.Unmarshal(e.Data, &data); err != nil || !slices.Equal(data.UsedBy, []string{"mfa.factors"}) {
			t.Errorf("connector.in_use data = %s, want usedBy mfa.factors", e.Data)
		}
		if len(connectors(t, a)) != 1 {
			t.Fatal("a refused delete removed the connector")
		}
		a.JSON("DELETE", "/api/connectors/"+c.ID+"?force=true", nil, http.StatusNoContent, nil)
		if n := len(connectors(t, a)); n != 0 {
			t.Fatalf("%d connectors after a forced delete", n)
		}
		patchExperience(t, a, map[string]any{"color": map[string]any{"isDarkModeEnabled": true}})
		a.WantError("PATCH", "/api/sign-in-exp", map[string]any{"mfa": map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": "PromptAtSignInAndSignUp"}},
			http.StatusBadRequest, "sign_in_experiences.enabled_connector_not_found")
		patchExperience(t, a, map[string]any{"mfa": map[string]any{"factors": []string{}, "policy": "NoPrompt"}})
	})
}

// TestStoredOldLockoutNamesStillApply: settings stored by an earlier
// version under verificationCodePolicy.addressLockoutFailures and
// lockoutMinutes are sentinelPolicy's and lock an address as they said.
func TestStoredOldLockoutNamesStillApply(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		old := `{"verificationCodePolicy":{"addressLockoutFailures":2,"lockoutMinutes":7,"lockoutFailures":50}}`
		if err := a.App.Store.WriteQ().SettingPut(t.Context(), tenant.Default, "experience", old, time.Now()); err != nil {
			t.Fatal(err)
		}
		e := getExperience(t, a)
		if e.SentinelPolicy.MaxAttempts != 2 || e.SentinelPolicy.LockoutDuration != 7 || e.VerificationCodePolicy.LockoutFailures != 50 {
			t.Fatalf("old names read as sentinelPolicy %+v, lockoutFailures %d; want 2, 7 and 50", e.SentinelPolicy, e.VerificationCodePolicy.LockoutFailures)
		}
		const to = "nina@example.com"
		sendCode(t, a, to)
		wrong := "999999"
		if codeFromInbox(t, a, to) == wrong {
			wrong = "999998"
		}
		for range 2 {
			a.WantError("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": wrong}, 400, "verification_code.code_mismatch")
		}
		ls := lockouts(t, a, to)
		if len(ls) != 1 || ls[0].Scope != "address" || ls[0].ExpiresAt-ls[0].LockedAt != 7*60*1000 {
			t.Fatalf("lockouts = %+v, want the address locked for 7 minutes", ls)
		}
		// The next change stores the new names.
		patchExperience(t, a, map[string]any{"color": map[string]any{"isDarkModeEnabled": true}})
		raw, err := a.App.Store.SettingGet(t.Context(), tenant.Default, "experience")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "addressLockoutFailures") || strings.Contains(raw, "lockoutMinutes") || !strings.Contains(raw, `"maxAttempts":2`) {
			t.Errorf("stored after a change: %s, want the new names only", raw)
		}
	})
}
