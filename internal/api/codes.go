package api

import (
	"net"
	"net/http"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/tenant"
)

type sendCodeBody struct {
	Email string `json:"email"`
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

func (s *Server) sendCode(w http.ResponseWriter, r *http.Request) error {
	var body sendCodeBody
	if err := decode(r, &body); err != nil {
		return err
	}
	email, err := checkEmail("email", body.Email)
	if err != nil {
		return err
	}
	req := sendcode.Request{Tenant: tenant.FromContext(r.Context()), Email: email, Usage: connector.UsageGeneric, IP: clientIP(r)}
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
	if err := s.Codes.Verify(r.Context(), tenant.FromContext(r.Context()), email, connector.UsageGeneric, body.VerificationCode); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
