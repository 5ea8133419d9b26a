package api

import (
	"net"
	"net/http"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/tenant"
)

type sendCodeBody struct {
	Email string `json:"email"`
	// Locale is the language of the message, such as "fr-CA"; without
	// it, the request's Accept-Language picks among the languages there
	// are templates in.
	Locale string `json:"locale,omitempty"`
}

type verifyCodeBody struct {
	Email            string `json:"email"`
	VerificationCode string `json:"verificationCode"`
}

// clientIP is the caller's address (no proxy headers are trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// checkLocale returns an optional language tag in canonical form, or a
// guard.invalid_input naming the field.
func checkLocale(field, tag string) (string, error) {
	if tag == "" {
		return "", nil
	}
	return checkLanguage(field, tag)
}

// preferredLanguages are the languages of the request's Accept-Language,
// best first; entries that do not parse are ignored.
func preferredLanguages(r *http.Request) []language.Tag {
	return emailtemplate.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
}

func (s *Server) sendCode(w http.ResponseWriter, r *http.Request) error {
	var body sendCodeBody
	if err := decode(r, &body); err != nil {
		return err
	}
	email, err := checkEmail("email", body.Email)
	if err != nil {
		return err
	}
	locale, err := checkLocale("locale", body.Locale)
	if err != nil {
		return err
	}
	req := sendcode.Request{Tenant: tenant.FromContext(r.Context()), Email: email, Usage: connector.UsageGeneric,
		Locale: locale, Preferred: preferredLanguages(r), IP: clientIP(r), FromAdmin: true}
	if err := s.Codes.SendCode(r.Context(), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request) error {
	var body verifyCodeBody
	if err := decode(r, &body); err != nil {
		return err
	}
	email, err := checkEmail("email", body.Email)
	if err != nil {
		return err
	}
	if body.VerificationCode == "" {
		return invalidInput("verificationCode", "is required (the code from the email)")
	}
	if len(body.VerificationCode) > 32 {
		return invalidInput("verificationCode", "is over 32 characters; send the code from the email")
	}
	if err := s.Codes.Verify(r.Context(), tenant.FromContext(r.Context()), email, connector.UsageGeneric, body.VerificationCode, clientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
