package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/verification"
)

// signInExp is the part of GET /api/sign-in-exp these tests read: the
// policy as a map, so that every field the policy declares is checked.
type signInExp struct {
	VerificationCodePolicy map[string]int    `json:"verificationCodePolicy"`
	LanguageInfo           map[string]any    `json:"languageInfo"`
	EmailBranding          map[string]string `json:"emailBranding"`
}

func getSignInExp(t *testing.T, a *apptest.App) signInExp {
	t.Helper()
	var e signInExp
	a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &e)
	return e
}

// TestSignInExpShowsTheSettingsInForce: GET answers every policy field
// with its default on a fresh tenant; a negative cooldown is refused
// naming the field; an explicit 0 is shown and turns the cooldown off;
// null puts the default back, in force for the next send.
func TestSignInExpShowsTheSettingsInForce(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		e := getSignInExp(t, a)
		for _, f := range verification.PolicyFields() {
			if v, ok := e.VerificationCodePolicy[f.Name]; !ok || v != f.Default {
				t.Errorf("fresh GET: verificationCodePolicy.%s = %d (present %v), want the default %d", f.Name, v, ok, f.Default)
			}
		}
		if e.LanguageInfo["fallbackLanguage"] != "en" || e.EmailBranding["primaryColor"] != emailtemplate.DefaultPrimaryColor {
			t.Errorf("fresh GET: %+v, want the default language and colour", e)
		}

		er := a.WantError("PATCH", "/api/sign-in-exp", map[string]any{"verificationCodePolicy": map[string]any{"resendCooldown": -1}},
			http.StatusBadRequest, "guard.invalid_input")
		var data struct{ Field string }
		if err := json.Unmarshal(er.Data, &data); err != nil || data.Field != "verificationCodePolicy.resendCooldown" {
			t.Errorf("a negative cooldown: data %s, want the field verificationCodePolicy.resendCooldown", er.Data)
		}

		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"resendCooldown": 0},
			"emailBranding": map[string]any{"senderName": "Acme"}})
		if e := getSignInExp(t, a); e.VerificationCodePolicy["resendCooldown"] != 0 || e.EmailBranding["senderName"] != "Acme" {
			t.Fatalf("after setting the cooldown to 0: %+v", e)
		}
		sendCode(t, a, "eve@example.com")
		sendCode(t, a, "eve@example.com") // no cooldown

		a.JSON("PATCH", "/api/sign-in-exp", json.RawMessage(`{"verificationCodePolicy":{"resendCooldown":null},"emailBranding":null}`), http.StatusOK, nil)
		e = getSignInExp(t, a)
		if e.VerificationCodePolicy["resendCooldown"] != verification.DefaultPolicy().ResendCooldown {
			t.Errorf("after resetting the cooldown: %d, want the default", e.VerificationCodePolicy["resendCooldown"])
		}
		if _, ok := e.EmailBranding["senderName"]; ok || e.EmailBranding["primaryColor"] != emailtemplate.DefaultPrimaryColor {
			t.Errorf("after resetting the branding: %v, want the default", e.EmailBranding)
		}
		a.WantError("POST", "/api/verification-codes", map[string]string{"email": "eve@example.com"},
			http.StatusTooManyRequests, "verification_code.resend_too_soon")
	})
}
