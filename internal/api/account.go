package api

import (
	"net/http"

	"github.com/authmail/authmail/internal/account"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/tenant"
)

// The account API (Logto's /api/my-account and /api/verifications):
// public (no admin key), authenticated by the user's opaque access token,
// capped per client. Each handler decodes the body, calls one step of the
// account service and encodes its answer. The account center settings
// (/api/account-center) are management routes.

// accountPasswordBody is POST /api/verifications/password and POST
// /api/my-account/password.
type accountPasswordBody struct {
	Password string `json:"password"`
}

// accountCodeBody is POST /api/verifications/verification-code.
type accountCodeBody struct {
	Identifier experience.Identifier `json:"identifier"`
	// TemplateType is the code's template for the user's own address:
	// UserPermissionValidation (the default) or BindMfa.
	TemplateType string `json:"templateType,omitempty"`
}

// accountVerifyBody is POST /api/verifications/verification-code/verify.
type accountVerifyBody struct {
	Identifier     experience.Identifier `json:"identifier"`
	VerificationID string                `json:"verificationId"`
	Code           string                `json:"code"`
}

// verifiedRecordJSON is the verify step's answer.
type verifiedRecordJSON struct {
	VerificationRecordID string `json:"verificationRecordId"`
}

// primaryEmailBody is POST /api/my-account/primary-email.
type primaryEmailBody struct {
	Email                             string `json:"email"`
	NewIdentifierVerificationRecordID string `json:"newIdentifierVerificationRecordId"`
}

// accountCenterJSON is the account center settings.
type accountCenterJSON account.Center

func (s *Server) accountCaller(r *http.Request) account.Caller {
	return account.CallerOf(r, tenant.FromContext(r.Context()))
}

func (s *Server) getMyAccount(w http.ResponseWriter, r *http.Request) error {
	v, err := s.Account.Get(r.Context(), s.accountCaller(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) patchMyAccount(w http.ResponseWriter, r *http.Request) error {
	var b account.Patch
	if err := decode(r, &b); err != nil {
		return err
	}
	v, err := s.Account.Update(r.Context(), s.accountCaller(r), b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) deleteMyAccount(w http.ResponseWriter, r *http.Request) error {
	if err := s.Account.Delete(r.Context(), s.accountCaller(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) setMyPassword(w http.ResponseWriter, r *http.Request) error {
	var b accountPasswordBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.Account.SetPassword(r.Context(), s.accountCaller(r), b.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) setMyPrimaryEmail(w http.ResponseWriter, r *http.Request) error {
	var b primaryEmailBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if _, err := s.Account.SetPrimaryEmail(r.Context(), s.accountCaller(r), b.Email, b.NewIdentifierVerificationRecordID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeMyPrimaryEmail(w http.ResponseWriter, r *http.Request) error {
	if err := s.Account.RemovePrimaryEmail(r.Context(), s.accountCaller(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listMyMfa(w http.ResponseWriter, r *http.Request) error {
	factors, err := s.Account.MfaFactors(r.Context(), s.accountCaller(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, factors)
	return nil
}

func (s *Server) removeMyMfa(w http.ResponseWriter, r *http.Request) error {
	if err := s.Account.RemoveMfaFactor(r.Context(), s.accountCaller(r), r.PathValue("verificationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) verifyAccountPassword(w http.ResponseWriter, r *http.Request) error {
	var b accountPasswordBody
	if err := decode(r, &b); err != nil {
		return err
	}
	out, err := s.Account.VerifyPassword(r.Context(), s.accountCaller(r), b.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) sendAccountCode(w http.ResponseWriter, r *http.Request) error {
	var b accountCodeBody
	if err := decode(r, &b); err != nil {
		return err
	}
	out, err := s.Account.SendCode(r.Context(), s.accountCaller(r), b.Identifier, b.TemplateType)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) verifyAccountCode(w http.ResponseWriter, r *http.Request) error {
	var b accountVerifyBody
	if err := decode(r, &b); err != nil {
		return err
	}
	id, err := s.Account.VerifyCode(r.Context(), s.accountCaller(r), b.Identifier, b.VerificationID, b.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, verifiedRecordJSON{VerificationRecordID: id})
	return nil
}

func (s *Server) getAccountCenter(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Account.Center(r.Context(), tenant.FromContext(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accountCenterJSON(c))
	return nil
}

func (s *Server) patchAccountCenter(w http.ResponseWriter, r *http.Request) error {
	var b account.CenterPatch
	if err := decode(r, &b); err != nil {
		return err
	}
	c, err := s.Account.PatchCenter(r.Context(), tenant.FromContext(r.Context()), b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accountCenterJSON(c))
	return nil
}

// verificationHeader documents the logto-verification-id header.
func verificationHeader() param {
	return param{name: account.VerificationHeader, description: "A verification record (POST /api/verifications/password or a verified UserPermissionValidation code) of the token's user, valid 10 minutes",
		schema: map[string]any{"type": "string"}}
}
