package tenant_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authmail/authmail/internal/tenant"
)

// TestValidateNamesTheFieldAtFault: every refused setting names the JSON
// path the API reports as the guard.invalid_input field.
func TestValidateNamesTheFieldAtFault(t *testing.T) {
	cases := []struct {
		name   string
		change func(e *tenant.Experience)
		field  string
	}{
		{"code policy out of range", func(e *tenant.Experience) { e.VerificationCodePolicy.ExpirationDuration = 5 }, "verificationCodePolicy.expirationDuration"},
		{"negative resend cooldown", func(e *tenant.Experience) { e.VerificationCodePolicy.ResendCooldown = -1 }, "verificationCodePolicy.resendCooldown"},
		{"unknown fallback language", func(e *tenant.Experience) { e.LanguageInfo.FallbackLanguage = "??" }, "languageInfo.fallbackLanguage"},
		{"branding with a link", func(e *tenant.Experience) { e.EmailBranding.SenderName = "Visit https://evil.example" }, "emailBranding.senderName"},
		{"too many identifiers", func(e *tenant.Experience) {
			e.SignUp.Identifiers = []string{"email", "email", "email", "email", "email"}
		}, "signUp.identifiers"},
		{"unknown identifier", func(e *tenant.Experience) { e.SignUp.Identifiers = []string{"nickname"} }, "signUp.identifiers"},
		{"too many methods", func(e *tenant.Experience) {
			for range 9 {
				e.SignIn.Methods = append(e.SignIn.Methods, tenant.SignInMethod{Identifier: "email", Password: true})
			}
		}, "signIn.methods"},
		{"unknown method identifier", func(e *tenant.Experience) {
			e.SignIn.Methods = []tenant.SignInMethod{{Identifier: "nickname", Password: true}}
		}, "signIn.methods.identifier"},
	}
	if err := tenant.DefaultExperience().Validate(); err != nil {
		t.Fatalf("the default settings fail validation: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := tenant.DefaultExperience()
			tc.change(&e)
			var fe *tenant.FieldError
			if err := e.Validate(); !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *FieldError", err)
			}
			if fe.Field != tc.field || fe.Reason == "" {
				t.Errorf("FieldError = %+v, want field %q with a reason", fe, tc.field)
			}
		})
	}
}

// TestUsesEmailCodes: only email sign-up or an email sign-in method with
// a code relies on email codes.
func TestUsesEmailCodes(t *testing.T) {
	cases := []struct {
		name string
		e    tenant.Experience
		want bool
	}{
		{"defaults", tenant.DefaultExperience(), false},
		{"email sign-up verified", tenant.Experience{SignUp: tenant.SignUp{Identifiers: []string{"email"}, Verify: true}}, true},
		{"email sign-up unverified", tenant.Experience{SignUp: tenant.SignUp{Identifiers: []string{"email"}}}, true},
		{"username sign-up verified", tenant.Experience{SignUp: tenant.SignUp{Identifiers: []string{"username"}, Verify: true}}, false},
		{"email sign-in with a code", tenant.Experience{SignIn: tenant.SignIn{Methods: []tenant.SignInMethod{{Identifier: "username", Password: true}, {Identifier: "email", VerificationCode: true}}}}, true},
		{"email sign-in with a password", tenant.Experience{SignIn: tenant.SignIn{Methods: []tenant.SignInMethod{{Identifier: "email", Password: true}}}}, false},
		{"username sign-in with a code", tenant.Experience{SignIn: tenant.SignIn{Methods: []tenant.SignInMethod{{Identifier: "username", VerificationCode: true}}}}, false},
	}
	for _, tc := range cases {
		if got := tc.e.UsesEmailCodes(); got != tc.want {
			t.Errorf("%s: UsesEmailCodes = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestContextCarriesTheTenant: the tenant put in a context is the one read
// back, and reading a context that carries none panics rather than guess.
func TestContextCarriesTheTenant(t *testing.T) {
	ctx := tenant.NewContext(context.Background(), "acme")
	if got := tenant.FromContext(ctx); got != "acme" {
		t.Fatalf("FromContext = %q, want acme", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("FromContext of a context with no tenant returned instead of panicking")
		}
	}()
	tenant.FromContext(context.Background())
}
