package experience

import (
	"context"
	"errors"
	"net/http"

	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/store"
)

// The profile types AddProfile takes, Logto's.
const (
	ProfileEmail    = "email"
	ProfileUsername = "username"
	ProfilePassword = "password"
)

// ProfileInput is one item of profile (POST /api/experience/profile):
// {type: "email", verificationId}, {type: "username", value} or
// {type: "password", value}.
type ProfileInput struct {
	Type           string
	Value          string
	VerificationID string
}

// Refusals of a profile item the identified user already has.
var (
	errUsernameExistsInProfile = newError(http.StatusUnprocessableEntity, "user.username_exists_in_profile",
		"Username has been set for profile.")
	errPasswordExistsInProfile = newError(http.StatusUnprocessableEntity, "user.password_exists_in_profile",
		"Password already exists in profile.")
)

// AddProfile adds to the profile sign-up requires (POST
// /api/experience/profile): a verified email record's address (no user's:
// ErrEmailInUse), a username, or a password (checked against the policy,
// then kept as its digest). In SignIn it fills what the identified user
// lacks, written at Submit; in Register the user is created from it at the
// next Identify. Refused in ForgotPassword (ErrNotForForgotPassword).
func (s *Service) AddProfile(ctx context.Context, c Caller, p ProfileInput) error {
	in, err := s.begun(ctx, c)
	if err != nil {
		return err
	}
	if in.st.Event == EventForgotPassword {
		return ErrNotForForgotPassword
	}
	var user *identity.User
	if in.st.UserID != "" {
		u, err := s.d.Users.Get(ctx, c.Tenant, in.st.UserID)
		if err != nil && !errors.Is(err, identity.ErrUserNotFound) {
			return err
		}
		if err == nil {
			user = &u
		}
	}
	var set func(*profile) error
	switch p.Type {
	case ProfilePassword:
		if user != nil && user.HasPassword {
			return errPasswordExistsInProfile
		}
		if len(p.Value) > maxPasswordInput {
			return invalidInput("value", "is too long for a password")
		}
		r, err := s.rules(ctx, c.Tenant)
		if err != nil {
			return err
		}
		info := password.UserInfo{Email: in.st.Profile.Email, Username: in.st.Profile.Username}
		if user != nil {
			info = password.UserInfo{Name: user.Name, Username: user.Username, Email: user.PrimaryEmail}
		}
		digest, err := s.d.Users.HashPassword(ctx, r.PasswordPolicy, p.Value, info)
		if err != nil {
			return err
		}
		set = func(pr *profile) error { pr.PasswordDigest = digest; return nil }
	case ProfileUsername:
		if user != nil && user.Username != "" {
			return errUsernameExistsInProfile
		}
		if err := identity.CheckUsername(p.Value); err != nil {
			var fe *identity.FieldError
			if errors.As(err, &fe) {
				return invalidInput("value", fe.Reason)
			}
			return err
		}
		set = func(pr *profile) error { pr.Username = p.Value; return nil }
	case ProfileEmail:
		if user != nil && user.PrimaryEmail != "" {
			return ErrEmailExistsInProfile
		}
		rec := in.st.recordByID(p.VerificationID)
		if rec == nil {
			return ErrVerificationNotFound
		}
		if rec.Type != RecordEmailCode || !rec.Verified {
			return ErrVerificationFailed
		}
		if err := s.unused(ctx, c.Tenant, rec.Email); err != nil {
			return err
		}
		set = func(pr *profile) error {
			pr.Email, pr.EmailProof, pr.EmailUsage = rec.Email, rec.Proof, rec.Usage
			return nil
		}
	default:
		return invalidInput("type", "must be email, username or password")
	}
	event := in.st.Event
	return s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
		if in.st.Event != event {
			return ErrInvalidInteractionType
		}
		return set(&in.st.Profile)
	})
}

// ResetPassword sets the new password of a ForgotPassword interaction's
// identified user (PUT /api/experience/profile/password), written at
// Submit: ErrInvalidInteractionType outside ForgotPassword,
// ErrIdentifierNotFound before Identify, password.rejected by the policy
// and ErrSamePassword for the password the user has.
func (s *Service) ResetPassword(ctx context.Context, c Caller, pw string) error {
	in, err := s.begun(ctx, c)
	if err != nil {
		return err
	}
	if in.st.Event != EventForgotPassword {
		return ErrInvalidInteractionType
	}
	if in.st.UserID == "" {
		return ErrIdentifierNotFound
	}
	if len(pw) > maxPasswordInput {
		return invalidInput("password", "is too long for a password")
	}
	u, err := s.d.Users.Get(ctx, c.Tenant, in.st.UserID)
	if errors.Is(err, identity.ErrUserNotFound) {
		return ErrIdentifierNotFound
	}
	if err != nil {
		return err
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return err
	}
	// The policy first, then the old password, as Logto's
	// PasswordValidator.
	digest, err := s.d.Users.HashPassword(ctx, r.PasswordPolicy, pw, password.UserInfo{Name: u.Name, Username: u.Username, Email: u.PrimaryEmail})
	if err != nil {
		return err
	}
	same, err := s.d.Users.CheckPasswordOf(ctx, c.Tenant, u.ID, pw)
	if err != nil {
		return err
	}
	if same {
		return ErrSamePassword
	}
	user := in.st.UserID
	return s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
		if in.st.Event != EventForgotPassword || in.st.UserID != user {
			return ErrIdentifierNotFound
		}
		in.st.Profile.PasswordDigest = digest
		return nil
	})
}
