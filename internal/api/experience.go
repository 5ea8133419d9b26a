package api

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/authmail/authmail/connector"
	"net/http"

	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/verification"
)

// Experience is a tenant's email settings, in the shape of the parts of
// Logto's sign-in experience that concern email.
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
	FallbackLanguage string `json:"fallbackLanguage"`
}

// SignUp says whether sign-up verifies an email with a code.
type SignUp struct {
	Identifiers []string `json:"identifiers"`
	Verify      bool     `json:"verify"`
}

// SignIn lists sign-in methods.
type SignIn struct {
	Methods []SignInMethod `json:"methods"`
}

// SignInMethod is one sign-in method.
type SignInMethod struct {
	Identifier       string `json:"identifier"`
	Password         bool   `json:"password"`
	VerificationCode bool   `json:"verificationCode"`
}

func defaultExperience() Experience {
	return Experience{LanguageInfo: LanguageInfo{FallbackLanguage: "en"}}
}

// renderRequest is the template request for a message under these
// settings: their fallback language and branding.
func (e Experience) renderRequest(tenant string, usage connector.UsageType, locale string, payload map[string]any, connTemplates []connector.Template) emailtemplate.Request {
	return emailtemplate.Request{Tenant: tenant, Usage: usage, Locale: locale, FallbackLanguage: e.LanguageInfo.FallbackLanguage,
		Payload: payload, Branding: e.EmailBranding, ConnectorTemplates: connTemplates}
}

// usesEmailCodes reports whether sign-up or sign-in relies on email codes.
func (e Experience) usesEmailCodes() bool {
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

func (e Experience) validate() error {
	if err := e.VerificationCodePolicy.Validate(); err != nil {
		return invalidInput("verificationCodePolicy", "%s", err.Error())
	}
	if _, err := emailtemplate.CanonicalLanguageTag(e.LanguageInfo.FallbackLanguage); err != nil {
		return invalidInput("languageInfo.fallbackLanguage", "%s", err.Error())
	}
	if err := e.EmailBranding.Validate(); err != nil {
		return invalidInput("emailBranding", "%s", err.Error())
	}
	if len(e.SignUp.Identifiers) > 4 {
		return invalidInput("signUp.identifiers", "at most 4 identifiers")
	}
	if len(e.SignIn.Methods) > 8 {
		return invalidInput("signIn.methods", "at most 8 methods")
	}
	for i, id := range e.SignUp.Identifiers {
		if id != "email" && id != "username" {
			return invalidInput("signUp.identifiers", "item %d must be email or username", i)
		}
	}
	for _, m := range e.SignIn.Methods {
		if m.Identifier != "email" && m.Identifier != "username" {
			return invalidInput("signIn.methods.identifier", "must be email or username")
		}
		if !m.Password && !m.VerificationCode {
			return invalidInput("signIn.methods", "each method needs password or verificationCode")
		}
	}
	return nil
}

// experience loads the tenant's settings. They are read at most once a
// second (settingsTTL): a change made through another process applies
// here within a second; one made through this process, at once.
func (s *Server) experience(ctx context.Context, tenant string) (Experience, error) {
	raw, err := s.settings.get(ctx, tenant, settingExperience)
	if errors.Is(err, store.ErrNotFound) {
		return defaultExperience(), nil
	}
	if err != nil {
		return Experience{}, err
	}
	e := defaultExperience()
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return Experience{}, err
	}
	return e, nil
}

func (s *Server) getExperience(w http.ResponseWriter, r *http.Request) error {
	e, err := s.experience(r.Context(), DefaultTenant)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// patchExperience merges the given top-level fields into the settings.
func (s *Server) patchExperience(w http.ResponseWriter, r *http.Request) error {
	cur, err := s.experience(r.Context(), DefaultTenant)
	if err != nil {
		return err
	}
	if err := decode(r, &cur); err != nil {
		return err
	}
	if err := cur.validate(); err != nil {
		return err
	}
	if cur.usesEmailCodes() {
		if _, err := s.Store.ConnectorActive(r.Context(), DefaultTenant); errors.Is(err, store.ErrNotFound) {
			return &Error{Status: http.StatusBadRequest, Code: "sign_in_experiences.enabled_connector_not_found",
				Message: "email codes need an email connector: create one first", Data: map[string]string{"type": "Email"}}
		} else if err != nil {
			return err
		}
	}
	b, _ := json.Marshal(cur)
	err = s.Store.WriteQ().SettingPut(r.Context(), DefaultTenant, settingExperience, string(b), s.Now())
	s.settings.forget(DefaultTenant, settingExperience)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cur)
	return nil
}
