package tenant

import (
	"errors"
	"fmt"

	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/verification"
)

// Experience is a tenant's email settings, in the shape of the parts of
// Logto's sign-in experience that concern email, as they are in force:
// the fields the tenant set, and the defaults of DefaultExperience for
// the others.
type Experience struct {
	// VerificationCodePolicy is the code policy (Logto's field, extended).
	VerificationCodePolicy verification.Policy `json:"verificationCodePolicy"`
	// LanguageInfo holds the fallback language for templates.
	LanguageInfo LanguageInfo `json:"languageInfo"`
	// EmailBranding is available to every template as branding.*.
	EmailBranding emailtemplate.Branding `json:"emailBranding"`
	// SignUp and SignIn say which methods use email codes.
	SignUp SignUp `json:"signUp"`
	SignIn SignIn `json:"signIn"`
}

// LanguageInfo is Logto's languageInfo.
type LanguageInfo struct {
	// FallbackLanguage is the language tag templates fall back to.
	FallbackLanguage string `json:"fallbackLanguage"`
}

// SignUp says whether sign-up verifies an email with a code.
type SignUp struct {
	// Identifiers are the identifiers sign-up asks for (email, username).
	Identifiers []string `json:"identifiers"`
	// Verify says whether the email identifier is verified with a code.
	Verify bool `json:"verify"`
}

// SignIn lists sign-in methods.
type SignIn struct {
	// Methods are the sign-in methods, in order.
	Methods []SignInMethod `json:"methods"`
}

// SignInMethod is one sign-in method.
type SignInMethod struct {
	// Identifier is email or username.
	Identifier string `json:"identifier"`
	// Password says whether the method takes a password.
	Password bool `json:"password"`
	// VerificationCode says whether the method takes a code.
	VerificationCode bool `json:"verificationCode"`
}

// DefaultExperience is the settings of a tenant that never changed them,
// and the value a field takes when it is reset (set to null).
func DefaultExperience() Experience {
	return Experience{
		VerificationCodePolicy: verification.DefaultPolicy(),
		LanguageInfo:           LanguageInfo{FallbackLanguage: "en"},
		EmailBranding:          emailtemplate.Branding{PrimaryColor: emailtemplate.DefaultPrimaryColor},
		// Empty lists, not nil: GET answers [] rather than null.
		SignUp: SignUp{Identifiers: []string{}},
		SignIn: SignIn{Methods: []SignInMethod{}},
	}
}

// UsesEmailCodes reports whether sign-up or sign-in relies on email codes.
func (e Experience) UsesEmailCodes() bool {
	for _, id := range e.SignUp.Identifiers {
		if id == "email" && e.SignUp.Verify {
			return true
		}
	}
	for _, m := range e.SignIn.Methods {
		if m.Identifier == "email" && m.VerificationCode {
			return true
		}
	}
	return false
}

// FieldError is a setting that fails validation: the JSON path of the
// field at fault and what is wrong with it.
type FieldError struct {
	// Field is the JSON path, such as "languageInfo.fallbackLanguage".
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error names the field and the reason.
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks the settings, returning a *FieldError for the first
// field at fault.
func (e Experience) Validate() error {
	var pe *verification.PolicyError
	if err := e.VerificationCodePolicy.Validate(); errors.As(err, &pe) {
		return invalid("verificationCodePolicy."+pe.Field, "%s", pe.Reason())
	} else if err != nil {
		return invalid("verificationCodePolicy", "%s", err.Error())
	}
	if _, err := emailtemplate.CanonicalLanguageTag(e.LanguageInfo.FallbackLanguage); err != nil {
		return invalid("languageInfo.fallbackLanguage", "%s", err.Error())
	}
	var ve *emailtemplate.ValidationError
	if err := e.EmailBranding.Validate(); errors.As(err, &ve) {
		return invalid("emailBranding."+ve.Field, "%s", ve.Reason)
	} else if err != nil {
		return invalid("emailBranding", "%s", err.Error())
	}
	if len(e.SignUp.Identifiers) > 4 {
		return invalid("signUp.identifiers", "at most 4 identifiers")
	}
	if len(e.SignIn.Methods) > 8 {
		return invalid("signIn.methods", "at most 8 methods")
	}
	for i, id := range e.SignUp.Identifiers {
		if id != "email" && id != "username" {
			return invalid("signUp.identifiers", "item %d must be email or username", i)
		}
	}
	for _, m := range e.SignIn.Methods {
		if m.Identifier != "email" && m.Identifier != "username" {
			return invalid("signIn.methods.identifier", "must be email or username")
		}
		if !m.Password && !m.VerificationCode {
			return invalid("signIn.methods", "each method needs password or verificationCode")
		}
	}
	return nil
}
