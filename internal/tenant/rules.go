package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/store"
)

// The rules of Logto's PATCH /api/sign-in-exp (its sign-up, sign-in and
// MFA validators) that concern an email-only service, with Logto's codes
// and English messages. They run on the merged settings, after Validate
// and before anything is written:
//
//   - the rules that hold between settings (identifiers, factors, MFA)
//     run on every patch, so stored settings always satisfy them;
//   - the rules that need something outside the settings run when the
//     patch touches what they guard, as Logto's do: an email connector for
//     signUp, signIn, forgotPasswordMethods and mfa, and a language with
//     templates for languageInfo. So after a forced connector delete an
//     unrelated change (branding, say) still goes through, while turning
//     on or editing email sign-in does not.

// Rule codes, Logto's (sign_in_experiences.*), and the ones authmail adds
// for what an email-only service lacks.
const (
	CodeConnectorNotFound          = "sign_in_experiences.enabled_connector_not_found"
	CodeAtLeastOneFactor           = "sign_in_experiences.at_least_one_authentication_factor"
	CodeCodeSignInMustBeEnabled    = "sign_in_experiences.code_sign_in_must_be_enabled"
	CodePasswordlessRequiresVerify = "sign_in_experiences.passwordless_requires_verify"
	CodeDuplicatedSignUpIDs        = "sign_in_experiences.duplicated_sign_up_identifiers"
	CodeMissingSignUpIDs           = "sign_in_experiences.missing_sign_up_identifiers"
	CodeEmailCodeNotForSignIn      = "sign_in_experiences.email_verification_code_cannot_be_used_for_sign_in"
	CodeEmailCodeNotForMfa         = "sign_in_experiences.email_verification_code_cannot_be_used_for_mfa"
	CodeDuplicatedMfaFactors       = "sign_in_experiences.duplicated_mfa_factors"
	CodeNonAdaptiveMfaSkippable    = "sign_in_experiences.non_adaptive_mfa_requires_skippable_policy"
	CodeForgotPasswordConnector    = "sign_in_experiences.forgot_password_method_requires_connector"
	CodeUnsupportedDefaultLanguage = "sign_in_experiences.unsupported_default_language"
	// CodePhoneNotSupported refuses a phone identifier, emailOrPhone or
	// PhoneVerificationCode: there is no SMS here.
	CodePhoneNotSupported = "sign_in_experiences.phone_not_supported"
	// CodeMfaFactorNotSupported refuses Totp, WebAuthn and BackupCode.
	CodeMfaFactorNotSupported = "sign_in_experiences.mfa_factor_not_supported"
)

func rule(code, message string, data map[string]any) *RuleError {
	return &RuleError{Code: code, Status: http.StatusBadRequest, Message: message, Data: data}
}

// errNoEmailConnector is enabled_connector_not_found {type: Email}; it
// matches ErrNoEmailConnector.
func errNoEmailConnector() *RuleError {
	e := rule(CodeConnectorNotFound, "Enabled Email connector not found.", map[string]any{"type": "Email"})
	e.is = ErrNoEmailConnector
	return e
}

// touched is the set of top-level fields a patch names.
type touched map[string]bool

func touchedBy(patch []byte) touched {
	var top map[string]json.RawMessage
	_ = json.Unmarshal(patch, &top) // checkPatch made sure it is an object
	t := touched{}
	for k := range top {
		t[k] = true
	}
	return t
}

func (t touched) any(fields ...string) bool {
	return slices.ContainsFunc(fields, func(f string) bool { return t[f] })
}

// checkRules applies the rules to e, the settings a patch touching t
// would put in force, reading what they need outside the settings in tx.
func checkRules(ctx context.Context, tx *store.Tx, tenant string, e Experience, t touched) error {
	if t["languageInfo"] {
		if err := checkLanguage(ctx, tx, tenant, e.LanguageInfo.FallbackLanguage); err != nil {
			return err
		}
	}
	hasConnector := func() (bool, error) {
		_, err := tx.ConnectorActive(ctx, tenant)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	needs := func(yes bool, fail func() *RuleError) error {
		if !yes {
			return nil
		}
		ok, err := hasConnector()
		if err != nil {
			return err
		}
		if !ok {
			return fail()
		}
		return nil
	}
	// signUp
	if err := e.signUpRules(); err != nil {
		return err
	}
	uses := e.EmailConnectorUses()
	usesAny := func(paths ...string) bool {
		return slices.ContainsFunc(paths, func(p string) bool { return slices.Contains(uses, p) })
	}
	if err := needs(t["signUp"] && usesAny("signUp.identifiers", "signUp.secondaryIdentifiers"), errNoEmailConnector); err != nil {
		return err
	}
	// signIn
	if err := needs(t["signIn"] && usesAny("signIn.methods"), errNoEmailConnector); err != nil {
		return err
	}
	if err := e.signInRules(); err != nil {
		return err
	}
	// signIn and mfa together: which code depends on which side the patch
	// changed, as Logto's (the sign-in side when both).
	if e.emailCodeSignIn() && e.MfaByEmail() {
		if t["mfa"] && !t["signIn"] {
			return rule(CodeEmailCodeNotForMfa, "Email verification code cannot be used for MFA when email verification is enabled for sign-in.", nil)
		}
		return rule(CodeEmailCodeNotForSignIn, "Email verification code cannot be used for sign-in when it is enabled for MFA.", nil)
	}
	// mfa
	if err := e.mfaRules(); err != nil {
		return err
	}
	if err := needs(t["mfa"] && usesAny("mfa.factors"), errNoEmailConnector); err != nil {
		return err
	}
	// forgotPasswordMethods
	return needs(t["forgotPasswordMethods"] && usesAny("forgotPasswordMethods"), func() *RuleError {
		return rule(CodeForgotPasswordConnector, "Forgot password method requires a corresponding email connector to be configured.",
			map[string]any{"method": "email"})
	})
}

// signUpRules are Logto's validateSignUp without its connector checks.
func (e Experience) signUpRules() error {
	su := e.SignUp
	if len(su.SecondaryIdentifiers) > 0 && len(su.Identifiers) == 0 {
		return rule(CodeMissingSignUpIDs, "Primary sign-up identifier cannot be empty.", nil)
	}
	dup := rule(CodeDuplicatedSignUpIDs, "Duplicate sign-up identifiers detected.", nil)
	primary := map[string]bool{}
	for _, id := range su.Identifiers {
		if primary[id] {
			return dup
		}
		primary[id] = true
	}
	secondary := map[string]bool{}
	for _, s := range su.SecondaryIdentifiers {
		if secondary[s.Identifier] || primary[s.Identifier] {
			return dup
		}
		secondary[s.Identifier] = true
	}
	verify := rule(CodePasswordlessRequiresVerify, "Must enable verify for email/phone sign up identifier.", nil)
	notUsername := func(id string) bool { return id != IdentifierUsername }
	if (slices.ContainsFunc(su.Identifiers, notUsername) ||
		slices.ContainsFunc(su.SecondaryIdentifiers, func(s SecondaryIdentifier) bool { return notUsername(s.Identifier) })) && !su.Verify {
		return verify
	}
	for _, s := range su.SecondaryIdentifiers {
		if notUsername(s.Identifier) && !s.Verify {
			return verify
		}
	}
	return nil
}

// signInRules are Logto's validateSignIn without its connector checks
// and its MFA conflict (checkRules has it).
func (e Experience) signInRules() error {
	for _, m := range e.SignIn.Methods {
		if !m.Password && !m.VerificationCode {
			return rule(CodeAtLeastOneFactor, "You have to select at least one authentication factor.",
				map[string]any{"identifier": m.Identifier})
		}
	}
	if e.SignUp.Verify && !e.SignUp.Password {
		for _, m := range e.SignIn.Methods {
			if !m.VerificationCode && m.Identifier != IdentifierUsername {
				return rule(CodeCodeSignInMustBeEnabled, "Verification code sign in must be enabled when set a password is not required in sign up.",
					map[string]any{"identifier": m.Identifier})
			}
		}
	}
	return nil
}

// mfaRules are Logto's validateMfa (its backup-code rule cannot apply:
// there are no backup codes) and its adaptive-MFA rule: authmail has no
// adaptive MFA, so the policies only adaptive MFA uses are refused while
// a factor is on.
func (e Experience) mfaRules() error {
	seen := map[string]bool{}
	for _, f := range e.Mfa.Factors {
		if seen[f] {
			return rule(CodeDuplicatedMfaFactors, "Duplicated MFA factors.", nil)
		}
		seen[f] = true
	}
	if len(e.Mfa.Factors) > 0 && (e.Mfa.Policy == MfaPromptAtSignInAndSignUpMandatory || e.Mfa.Policy == MfaPromptOnlyAtSignInMandatory) {
		e := rule(CodeNonAdaptiveMfaSkippable, "When adaptive MFA is disabled, MFA prompt policy must be skippable. Do not use PromptOnlyAtSignInMandatory or PromptAtSignInAndSignUpMandatory.",
			map[string]any{"policy": string(e.Mfa.Policy)})
		e.Status = http.StatusUnprocessableEntity
		return e
	}
	return nil
}

// checkLanguage is Logto's unsupported_default_language: the fallback
// language must have built-in templates (itself or its base language, as
// a send falls back) or templates the tenant saved in it.
func checkLanguage(ctx context.Context, tx *store.Tx, tenant, tag string) error {
	canon, err := emailtemplate.CanonicalLanguageTag(tag)
	if err != nil {
		return invalid("languageInfo.fallbackLanguage", "%s", err.Error())
	}
	if emailtemplate.HasBuiltinLanguage(canon) {
		return nil
	}
	ts, err := tx.TemplateList(ctx, tenant, canon, "")
	if err != nil {
		return err
	}
	if len(ts) > 0 {
		return nil
	}
	return rule(CodeUnsupportedDefaultLanguage, fmt.Sprintf("This language - %s is not supported at the moment.", tag),
		map[string]any{"language": tag, "builtIn": emailtemplate.BuiltinLanguages()})
}
