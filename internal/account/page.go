package account

import (
	"context"
	"errors"

	"github.com/authmail/authmail/internal/experience"
)

// Security is what the hosted account page shows of the caller.
type Security struct {
	// Email is the primary email (canonical), "" when there is none or the
	// email field is Off.
	Email string
	// HasPassword says the user can re-verify by password.
	HasPassword bool
	// EmailEditable and PasswordEditable say the fields are Edit.
	EmailEditable, PasswordEditable bool
	// Verified says the caller's VerificationID is a live permission
	// record of theirs: the changes are unlocked.
	Verified bool
}

// Security reads what the hosted account page shows (the account center
// on, as for every step).
func (s *Service) Security(ctx context.Context, c Caller) (Security, error) {
	p, center, err := s.Allowed(ctx, c, "", "")
	if err != nil {
		return Security{}, err
	}
	u, err := s.user(ctx, c.Tenant, p.UserID)
	if err != nil {
		return Security{}, err
	}
	out := Security{HasPassword: u.HasPassword, EmailEditable: center.Fields.control(FieldEmail) == ControlEdit,
		PasswordEditable: center.Fields.control(FieldPassword) == ControlEdit}
	if center.Fields.control(FieldEmail) != ControlOff {
		out.Email = u.PrimaryEmail
	}
	err = s.CheckVerification(ctx, c.Tenant, u.ID, c.VerificationID)
	switch {
	case err == nil:
		out.Verified = true
	case !errors.Is(err, ErrPermissionDenied):
		return Security{}, err
	}
	return out, nil
}

// OwnCode is a code sent to the caller's own address.
type OwnCode struct {
	Created
	// Email is the address it went to.
	Email string
}

// SendOwnCode mails a UserPermissionValidation code to the caller's
// primary email (the hosted page's "email me a code"), as SendCode does
// for that address. A user without one is verification_record.not_found.
func (s *Service) SendOwnCode(ctx context.Context, c Caller) (OwnCode, error) {
	p, err := s.Authenticate(ctx, c)
	if err != nil {
		return OwnCode{}, err
	}
	u, err := s.user(ctx, c.Tenant, p.UserID)
	if err != nil {
		return OwnCode{}, err
	}
	if u.PrimaryEmail == "" {
		return OwnCode{}, ErrRecordNotFound
	}
	created, err := s.SendCode(ctx, c, experience.Identifier{Type: "email", Value: u.PrimaryEmail}, "")
	return OwnCode{Created: created, Email: u.PrimaryEmail}, err
}

// ChangeEmailWithCode verifies the code of the caller's BindNewIdentifier
// record for email and changes the primary email with it (the hosted
// page's last step): VerifyCode, then SetPrimaryEmail.
func (s *Service) ChangeEmailWithCode(ctx context.Context, c Caller, email, recordID, code string) (EmailChanged, error) {
	id, err := s.VerifyCode(ctx, c, experience.Identifier{Type: "email", Value: email}, recordID, code)
	if err != nil {
		return EmailChanged{}, err
	}
	return s.SetPrimaryEmail(ctx, c, email, id)
}
