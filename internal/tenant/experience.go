package tenant

import (
	"errors"
	"fmt"
	"slices"

	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/verification"
)

// Experience is a tenant's sign-in experience, in the shape of Logto's
// (GET/PATCH /api/sign-in-exp) for what an email-only service has, as it
// is in force: the fields the tenant set, and the defaults of
// DefaultExperience for the others.
type Experience struct {
	// SignInMode says whether users may sign in, register, or both.
	SignInMode SignInMode `json:"signInMode"`
	// SignUp and SignIn say which identifiers and factors the flows take.
	SignUp SignUp `json:"signUp"`
	SignIn SignIn `json:"signIn"`
	// ForgotPasswordMethods lists how a user may reset a forgotten
	// password; only ForgotPasswordByEmailCode exists here. Empty (the
	// default, as Logto's for a new tenant) turns password reset off.
	ForgotPasswordMethods []string `json:"forgotPasswordMethods"`
	// PasswordPolicy is what a new password must satisfy.
	PasswordPolicy password.Policy `json:"passwordPolicy"`
	// Mfa is the second factors on offer and when they are asked for.
	Mfa Mfa `json:"mfa"`
	// SentinelPolicy is the address-wide lockout (Logto's sentinel).
	SentinelPolicy verification.SentinelPolicy `json:"sentinelPolicy"`
	// VerificationCodePolicy is the code policy (Logto's field, extended).
	// Its Sentinel is SentinelPolicy.
	VerificationCodePolicy verification.Policy `json:"verificationCodePolicy"`
	// LanguageInfo holds the fallback language for templates and pages.
	LanguageInfo LanguageInfo `json:"languageInfo"`
	// Color and Branding are the hosted pages' (Logto's color and
	// branding).
	Color    Color    `json:"color"`
	Branding Branding `json:"branding"`
	// EmailBranding is what the emails show: available to every template
	// as branding.*. It is not derived from Color and Branding: an email
	// client has no dark mode switch, and emails carry a sender name and
	// company information the pages do not.
	EmailBranding emailtemplate.Branding `json:"emailBranding"`
	// MagicLink is authmail's: whether sign-in and sign-up code emails
	// also carry a link that completes the same verification, in the
	// browser that asked for the code only.
	MagicLink MagicLink `json:"magicLink"`
}

// MagicLink is the magic link setting (authmail's; Logto has none).
type MagicLink struct {
	// Enabled puts a link beside the code in SignIn and Register emails
	// (the link placeholder); off by default.
	Enabled bool `json:"enabled"`
}

// SignInMode is Logto's signInMode.
type SignInMode string

// The sign-in modes.
const (
	ModeSignIn            SignInMode = "SignIn"
	ModeRegister          SignInMode = "Register"
	ModeSignInAndRegister SignInMode = "SignInAndRegister"
)

// SignInModes lists the sign-in modes.
func SignInModes() []SignInMode { return []SignInMode{ModeSignIn, ModeRegister, ModeSignInAndRegister} }

// Identifiers a user is known by.
const (
	IdentifierEmail    = "email"
	IdentifierUsername = "username"
)

// ForgotPasswordByEmailCode is the forgot-password method by an email
// code (Logto's ForgotPasswordMethod.EmailVerificationCode).
const ForgotPasswordByEmailCode = "EmailVerificationCode"

// LanguageInfo is Logto's languageInfo.
type LanguageInfo struct {
	// AutoDetect says whether the request's languages (Accept-Language)
	// come before FallbackLanguage.
	AutoDetect bool `json:"autoDetect"`
	// FallbackLanguage is the language tag templates and pages fall back to.
	FallbackLanguage string `json:"fallbackLanguage"`
}

// SignUp is Logto's signUp.
type SignUp struct {
	// Identifiers are the identifiers sign-up asks for (email, username).
	Identifiers []string `json:"identifiers"`
	// Password says whether sign-up sets a password.
	Password bool `json:"password"`
	// Verify says whether the email identifier is verified with a code.
	Verify bool `json:"verify"`
	// SecondaryIdentifiers are asked for beside the primary one.
	SecondaryIdentifiers []SecondaryIdentifier `json:"secondaryIdentifiers"`
}

// SecondaryIdentifier is one of signUp.secondaryIdentifiers.
type SecondaryIdentifier struct {
	// Identifier is email or username.
	Identifier string `json:"identifier"`
	// Verify says whether an email is verified with a code (optional, as
	// Logto's).
	Verify bool `json:"verify,omitempty"`
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
	// IsPasswordPrimary says whether the page offers the password first
	// when the method takes both.
	IsPasswordPrimary bool `json:"isPasswordPrimary"`
}

// Mfa is Logto's mfa.
type Mfa struct {
	// Factors are the enabled second factors; only MfaEmailCode exists
	// here.
	Factors []string `json:"factors"`
	// Policy is when users are asked to set up and use a second factor.
	Policy MfaPolicy `json:"policy"`
	// OrganizationRequiredMfaPolicy applies to members of organizations
	// that require MFA; "" is NoPrompt, as Logto.
	OrganizationRequiredMfaPolicy string `json:"organizationRequiredMfaPolicy,omitempty"`
}

// MfaEmailCode is the email verification code factor (Logto's
// MfaFactor.EmailVerificationCode).
const MfaEmailCode = "EmailVerificationCode"

// MfaPolicy is Logto's MfaPolicy.
type MfaPolicy string

// The MFA policies, Logto's.
const (
	// MfaUserControlled is deprecated by Logto for MfaPromptAtSignInAndSignUp.
	MfaUserControlled                   MfaPolicy = "UserControlled"
	MfaMandatory                        MfaPolicy = "Mandatory"
	MfaPromptOnlyAtSignIn               MfaPolicy = "PromptOnlyAtSignIn"
	MfaPromptAtSignInAndSignUp          MfaPolicy = "PromptAtSignInAndSignUp"
	MfaNoPrompt                         MfaPolicy = "NoPrompt"
	MfaPromptAtSignInAndSignUpMandatory MfaPolicy = "PromptAtSignInAndSignUpMandatory"
	MfaPromptOnlyAtSignInMandatory      MfaPolicy = "PromptOnlyAtSignInMandatory"
)

// MfaPolicies lists the MFA policies.
func MfaPolicies() []MfaPolicy {
	return []MfaPolicy{MfaUserControlled, MfaMandatory, MfaPromptOnlyAtSignIn, MfaPromptAtSignInAndSignUp,
		MfaNoPrompt, MfaPromptAtSignInAndSignUpMandatory, MfaPromptOnlyAtSignInMandatory}
}

// Color is Logto's color: the hosted pages' colours.
type Color struct {
	PrimaryColor      string `json:"primaryColor"`
	IsDarkModeEnabled bool   `json:"isDarkModeEnabled"`
	DarkPrimaryColor  string `json:"darkPrimaryColor"`
}

// Branding is Logto's branding: the hosted pages' images, each an
// absolute https URL (http only on loopback) or "".
type Branding struct {
	LogoURL     string `json:"logoUrl,omitempty"`
	DarkLogoURL string `json:"darkLogoUrl,omitempty"`
	Favicon     string `json:"favicon,omitempty"`
	DarkFavicon string `json:"darkFavicon,omitempty"`
}

// DefaultExperience is the settings of a tenant that never changed them,
// and the value a field takes when it is reset (set to null): sign-in and
// registration allowed, but no sign-up identifier or sign-in method until
// the tenant picks them (email ones need an email connector), password
// reset off, no MFA, Logto's password policy (without the breach check)
// and sentinel.
func DefaultExperience() Experience {
	return Experience{
		SignInMode: ModeSignInAndRegister,
		// Empty lists, not nil: GET answers [] rather than null.
		SignUp:                 SignUp{Identifiers: []string{}, SecondaryIdentifiers: []SecondaryIdentifier{}},
		SignIn:                 SignIn{Methods: []SignInMethod{}},
		ForgotPasswordMethods:  []string{},
		PasswordPolicy:         password.DefaultPolicy(),
		Mfa:                    Mfa{Factors: []string{}, Policy: MfaPromptAtSignInAndSignUp},
		SentinelPolicy:         verification.DefaultSentinelPolicy(),
		VerificationCodePolicy: verification.DefaultPolicy(),
		LanguageInfo:           LanguageInfo{AutoDetect: true, FallbackLanguage: "en"},
		Color:                  Color{PrimaryColor: emailtemplate.DefaultPrimaryColor, DarkPrimaryColor: DefaultDarkPrimaryColor},
		Branding:               Branding{},
		EmailBranding:          emailtemplate.Branding{PrimaryColor: emailtemplate.DefaultPrimaryColor},
	}
}

// DefaultDarkPrimaryColor is color.darkPrimaryColor when the tenant set
// none: a lighter shade of the default primary colour, for dark
// backgrounds.
const DefaultDarkPrimaryColor = "#60a5fa"

// SignInAllowed reports whether signInMode lets existing users sign in.
func (e Experience) SignInAllowed() bool { return e.SignInMode != ModeRegister }

// RegisterAllowed reports whether signInMode lets new users register.
func (e Experience) RegisterAllowed() bool { return e.SignInMode != ModeSignIn }

// SignInMethod returns the sign-in method for identifier (email or
// username), and whether there is one.
func (e Experience) SignInMethod(identifier string) (SignInMethod, bool) {
	for _, m := range e.SignIn.Methods {
		if m.Identifier == identifier {
			return m, true
		}
	}
	return SignInMethod{}, false
}

// ForgotPasswordByEmail reports whether a forgotten password may be reset
// with an email code.
func (e Experience) ForgotPasswordByEmail() bool {
	return slices.Contains(e.ForgotPasswordMethods, ForgotPasswordByEmailCode)
}

// MfaByEmail reports whether the email code is an enabled MFA factor.
func (e Experience) MfaByEmail() bool { return slices.Contains(e.Mfa.Factors, MfaEmailCode) }

// Missing profile items, Logto's user.missing_profile data.missingProfile values.
const (
	ProfileEmail    = "email"
	ProfileUsername = "username"
	ProfilePassword = "password"
)

// MandatoryProfile is what registration must collect before it creates
// the user, as Logto's getMandatoryUserProfileBySignUpMethods: of the
// primary identifiers, "username" if it is one, else "email" if it is
// one; each secondary identifier; and "password" when signUp.password is
// set. The values are Logto's user.missing_profile items.
func (e Experience) MandatoryProfile() []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	switch {
	case slices.Contains(e.SignUp.Identifiers, IdentifierUsername):
		add(ProfileUsername)
	case slices.Contains(e.SignUp.Identifiers, IdentifierEmail):
		add(ProfileEmail)
	}
	for _, s := range e.SignUp.SecondaryIdentifiers {
		add(s.Identifier)
	}
	if e.SignUp.Password {
		add(ProfilePassword)
	}
	return out
}

// SignUpVerifiesEmail reports whether registration verifies the email
// with a code: email is a primary identifier with signUp.verify, or a
// secondary one with its own verify.
func (e Experience) SignUpVerifiesEmail() bool {
	if slices.Contains(e.SignUp.Identifiers, IdentifierEmail) && e.SignUp.Verify {
		return true
	}
	for _, s := range e.SignUp.SecondaryIdentifiers {
		if s.Identifier == IdentifierEmail && s.Verify {
			return true
		}
	}
	return false
}

// EmailConnectorUses lists what in the settings needs an email
// connector, by JSON path: "signUp.identifiers" (email sign-up),
// "signUp.secondaryIdentifiers" (an email asked for beside the primary
// identifier), "signIn.methods" (email sign-in with a code),
// "forgotPasswordMethods" (password reset by email code) and
// "mfa.factors" (the email code as a second factor). It is empty when
// nothing does.
func (e Experience) EmailConnectorUses() []string {
	var out []string
	if slices.Contains(e.SignUp.Identifiers, IdentifierEmail) {
		out = append(out, "signUp.identifiers")
	}
	if slices.ContainsFunc(e.SignUp.SecondaryIdentifiers, func(s SecondaryIdentifier) bool { return s.Identifier == IdentifierEmail }) {
		out = append(out, "signUp.secondaryIdentifiers")
	}
	if e.emailCodeSignIn() {
		out = append(out, "signIn.methods")
	}
	if e.ForgotPasswordByEmail() {
		out = append(out, "forgotPasswordMethods")
	}
	if e.MfaByEmail() {
		out = append(out, "mfa.factors")
	}
	return out
}

// UsesEmailCodes reports whether anything in the settings needs an email
// connector (EmailConnectorUses).
func (e Experience) UsesEmailCodes() bool { return len(e.EmailConnectorUses()) > 0 }

// emailCodeSignIn reports whether an email sign-in method takes a code.
func (e Experience) emailCodeSignIn() bool {
	m, ok := e.SignInMethod(IdentifierEmail)
	return ok && m.VerificationCode
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

// Validate checks the settings' types and ranges, returning a
// *FieldError for the first field at fault, or a *RuleError for a value
// an email-only service does not have (a phone identifier, an MFA factor
// other than the email code).
func (e Experience) Validate() error {
	if !slices.Contains(SignInModes(), e.SignInMode) {
		return invalid("signInMode", "must be one of %v", SignInModes())
	}
	if err := e.validateSignUpIn(); err != nil {
		return err
	}
	if len(e.ForgotPasswordMethods) > 2 {
		return invalid("forgotPasswordMethods", "at most 2 methods")
	}
	for _, m := range e.ForgotPasswordMethods {
		switch m {
		case ForgotPasswordByEmailCode:
		case "PhoneVerificationCode":
			return phoneNotSupported("forgotPasswordMethods", m)
		default:
			return invalid("forgotPasswordMethods", "%q is not a method; use %s", m, ForgotPasswordByEmailCode)
		}
	}
	var ppe *password.FieldError
	if err := e.PasswordPolicy.Validate(); errors.As(err, &ppe) {
		return invalid("passwordPolicy."+ppe.Field, "%s", ppe.Reason)
	} else if err != nil {
		return invalid("passwordPolicy", "%s", err.Error())
	}
	if err := e.validateMfa(); err != nil {
		return err
	}
	var pe *verification.PolicyError
	if err := e.SentinelPolicy.Validate(); errors.As(err, &pe) {
		return invalid("sentinelPolicy."+pe.Field, "%s", pe.Reason())
	} else if err != nil {
		return invalid("sentinelPolicy", "%s", err.Error())
	}
	if err := e.VerificationCodePolicy.Validate(); errors.As(err, &pe) {
		return invalid("verificationCodePolicy."+pe.Field, "%s", pe.Reason())
	} else if err != nil {
		return invalid("verificationCodePolicy", "%s", err.Error())
	}
	if _, err := emailtemplate.CanonicalLanguageTag(e.LanguageInfo.FallbackLanguage); err != nil {
		return invalid("languageInfo.fallbackLanguage", "%s", err.Error())
	}
	if err := e.validateLook(); err != nil {
		return err
	}
	var ve *emailtemplate.ValidationError
	if err := e.EmailBranding.Validate(); errors.As(err, &ve) {
		return invalid("emailBranding."+ve.Field, "%s", ve.Reason)
	} else if err != nil {
		return invalid("emailBranding", "%s", err.Error())
	}
	return nil
}

// validIdentifier checks one sign-up or sign-in identifier: email or
// username; phone (and, for secondary identifiers, emailOrPhone) is
// refused as a service without SMS has no phone numbers.
func validIdentifier(field, id string, secondary bool) error {
	switch id {
	case IdentifierEmail, IdentifierUsername:
		return nil
	case "phone":
		return phoneNotSupported(field, id)
	case "emailOrPhone":
		if secondary {
			return phoneNotSupported(field, id)
		}
	}
	return invalid(field, "%q must be email or username", id)
}

func (e Experience) validateSignUpIn() error {
	if len(e.SignUp.Identifiers) > 4 {
		return invalid("signUp.identifiers", "at most 4 identifiers")
	}
	for _, id := range e.SignUp.Identifiers {
		if err := validIdentifier("signUp.identifiers", id, false); err != nil {
			return err
		}
	}
	if len(e.SignUp.SecondaryIdentifiers) > 4 {
		return invalid("signUp.secondaryIdentifiers", "at most 4 identifiers")
	}
	for _, s := range e.SignUp.SecondaryIdentifiers {
		if err := validIdentifier("signUp.secondaryIdentifiers.identifier", s.Identifier, true); err != nil {
			return err
		}
	}
	if len(e.SignIn.Methods) > 8 {
		return invalid("signIn.methods", "at most 8 methods")
	}
	for _, m := range e.SignIn.Methods {
		if err := validIdentifier("signIn.methods.identifier", m.Identifier, false); err != nil {
			return err
		}
	}
	return nil
}

func (e Experience) validateMfa() error {
	if len(e.Mfa.Factors) > 5 {
		return invalid("mfa.factors", "at most 5 factors")
	}
	for _, f := range e.Mfa.Factors {
		switch f {
		case MfaEmailCode:
		case "PhoneVerificationCode":
			return phoneNotSupported("mfa.factors", f)
		case "Totp", "WebAuthn", "BackupCode":
			return &RuleError{Code: "sign_in_experiences.mfa_factor_not_supported", Status: 400,
				Message: fmt.Sprintf("The MFA factor %s is not supported: the only factor is %s.", f, MfaEmailCode),
				Data:    map[string]any{"field": "mfa.factors", "factor": f}}
		default:
			return invalid("mfa.factors", "%q is not an MFA factor; use %s", f, MfaEmailCode)
		}
	}
	if !slices.Contains(MfaPolicies(), e.Mfa.Policy) {
		return invalid("mfa.policy", "must be one of %v", MfaPolicies())
	}
	switch e.Mfa.OrganizationRequiredMfaPolicy {
	case "", "NoPrompt", "Mandatory":
	default:
		return invalid("mfa.organizationRequiredMfaPolicy", "must be NoPrompt or Mandatory")
	}
	return nil
}

// validateLook checks the pages' colours and images.
func (e Experience) validateLook() error {
	for field, c := range map[string]string{"color.primaryColor": e.Color.PrimaryColor, "color.darkPrimaryColor": e.Color.DarkPrimaryColor} {
		if !emailtemplate.ValidColor(c) {
			return invalid(field, "must be a colour such as #2563eb")
		}
	}
	for field, u := range map[string]string{"branding.logoUrl": e.Branding.LogoURL, "branding.darkLogoUrl": e.Branding.DarkLogoURL,
		"branding.favicon": e.Branding.Favicon, "branding.darkFavicon": e.Branding.DarkFavicon} {
		if u == "" {
			continue
		}
		if err := emailtemplate.CheckImageURL(u); err != nil {
			return invalid(field, "%s", err.Error())
		}
	}
	return nil
}

// phoneNotSupported refuses a phone setting.
func phoneNotSupported(field, value string) *RuleError {
	return &RuleError{Code: "sign_in_experiences.phone_not_supported", Status: 400,
		Message: fmt.Sprintf("%s: %s is not supported: this service signs users in by email only, with no SMS connector.", field, value),
		Data:    map[string]any{"field": field, "value": value}}
}

// RuleError is a sign-in experience refused by one of Logto's rules
// (rules.go), with Logto's code (sign_in_experiences.*), status and
// English message, and the data the code carries (such as {"type":
// "Email"} for enabled_connector_not_found).
type RuleError struct {
	Code    string
	Status  int
	Message string
	Data    map[string]any
	// is is the error errors.Is matches beside the RuleError itself.
	is error
}

// Error returns "code: message".
func (e *RuleError) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the sentinel error the rule stands for, if any
// (ErrNoEmailConnector).
func (e *RuleError) Unwrap() error { return e.is }
