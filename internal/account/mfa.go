package account

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
)

// MfaFactor is a second factor the user bound, as Logto's account API
// lists mfa verifications: its ID, type (EmailVerificationCode) and when
// it was bound.
type MfaFactor struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"createdAt"`
}

// ErrMfaFactorNotFound is the user having no second factor with the ID.
var ErrMfaFactorNotFound = &experience.Error{Status: http.StatusNotFound, Code: "entity.not_found", Message: "Entity not found."}

// MfaFactors lists the second factors the caller bound (GET
// /api/my-account/mfa-verifications), oldest first: the account center's
// mfa field at least ReadOnly.
func (s *Service) MfaFactors(ctx context.Context, c Caller) ([]MfaFactor, error) {
	p, _, err := s.Allowed(ctx, c, FieldMfa, ControlReadOnly)
	if err != nil {
		return nil, err
	}
	factors, err := s.d.Users.MFAFactors(ctx, c.Tenant, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]MfaFactor, 0, len(factors))
	for _, f := range factors {
		out = append(out, MfaFactor{ID: f.ID, Type: f.Type, CreatedAt: f.CreatedAt})
	}
	return out, nil
}

// RemoveMfaFactor unbinds one of the caller's second factors (DELETE
// /api/my-account/mfa-verifications/{id}) once re-verified (the
// logto-verification-id header, CheckVerification), the mfa field Edit.
// Under the UserControlled policy the user is then no longer asked for a
// code at sign-in. An ID the user has no factor with is
// ErrMfaFactorNotFound.
func (s *Service) RemoveMfaFactor(ctx context.Context, c Caller, id string) error {
	p, err := s.Verified(ctx, c, FieldMfa)
	if err != nil {
		return err
	}
	err = s.d.Users.RemoveMFAFactor(ctx, c.Tenant, p.UserID, id)
	if errors.Is(err, identity.ErrMFAFactorNotFound) {
		return ErrMfaFactorNotFound
	}
	return err
}
