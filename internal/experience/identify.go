package experience

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/verification"
)

// Identified is what Identify did.
type Identified struct {
	// Created says a user was created (Register; the API answers 201).
	Created bool
	// UserID is the user the interaction is now for.
	UserID string
}

// errForgotPasswordMethod is ErrNotForForgotPassword for a record type or
// method forgot password does not take (422, where the event switch's is
// 400).
var errForgotPasswordMethod = &Error{Status: http.StatusUnprocessableEntity, Code: ErrNotForForgotPassword.Code, Message: ErrNotForForgotPassword.Message}

// userNotExist is user.user_not_exist for the identifier.
func userNotExist(email string) *Error {
	e := ErrUserNotExist.with(map[string]string{"identifier": email})
	e.Message = "User with " + email + " does not exist."
	return e
}

// missingProfile is user.missing_profile with what is missing.
func missingProfile(missing []string) *Error {
	return ErrMissingProfile.with(map[string]any{"missingProfile": missing})
}

// Identify identifies the user of a verified record (POST
// /api/experience/identification), and in Register creates it, checking
// in Logto's order (reference §1.5).
//
// SignIn and ForgotPassword: the record must exist (ErrVerificationNotFound),
// the event be allowed (ErrForbidden), the method enabled
// (ErrMethodNotEnabled; for ForgotPassword only an email code, when
// forgotPasswordMethods has it, errForgotPasswordMethod), the record
// verified (ErrVerificationFailed), a user have the address (user.user_not_exist),
// not be suspended (ErrSuspended) and be the one identified already, if
// any (ErrIdentityConflict). The code's verification record is consumed
// in the transaction that identifies the user.
//
// Register: with a verificationId, its email record's address (verified,
// no user's: ErrEmailInUse) goes into the profile; then the event must be
// allowed and the profile complete (user.missing_profile with
// data.missingProfile, the address kept for the next call, which may give
// no verificationId). The user is created from the profile in one
// transaction with the consumption of the code that verified its email.
func (s *Service) Identify(ctx context.Context, c Caller, verificationID string) (Identified, error) {
	in, err := s.begun(ctx, c)
	if err != nil {
		return Identified{}, err
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return Identified{}, err
	}
	if in.st.Event == EventRegister {
		return s.register(ctx, c, in, r, verificationID)
	}
	return s.identify(ctx, c, in, r, verificationID)
}

func (s *Service) identify(ctx context.Context, c Caller, in *interaction, r rules, verificationID string) (Identified, error) {
	event := in.st.Event
	rec := in.st.recordByID(verificationID)
	if rec == nil {
		return Identified{}, ErrVerificationNotFound
	}
	if !r.allows(event) {
		return Identified{}, ErrForbidden
	}
	switch event {
	case EventSignIn:
		if !r.signsInWith(rec.Type) {
			return Identified{}, ErrMethodNotEnabled
		}
	case EventForgotPassword:
		if rec.Type != RecordEmailCode || !r.resetsByEmail() {
			return Identified{}, errForgotPasswordMethod
		}
	}
	if !rec.Verified {
		return Identified{}, ErrVerificationFailed
	}
	u, err := s.recordUser(ctx, c.Tenant, rec)
	if err != nil {
		return Identified{}, err
	}
	if u.IsSuspended {
		return Identified{}, ErrSuspended
	}
	if in.st.UserID != "" && in.st.UserID != u.ID {
		return Identified{}, ErrIdentityConflict
	}
	err = s.update(ctx, c, func(tx *store.Tx, in *interaction) error {
		cur := in.st.recordByID(verificationID)
		if cur == nil || cur.ID != rec.ID {
			return ErrVerificationNotFound // replaced or used meanwhile
		}
		if in.st.Event != event {
			return ErrInvalidInteractionType
		}
		if in.st.UserID != "" && in.st.UserID != u.ID {
			return ErrIdentityConflict
		}
		if err := s.consume(ctx, tx, c.Tenant, cur.Proof, cur.Usage); err != nil {
			return err
		}
		if cur.Type == RecordEmailCode && !u.EmailVerified {
			// The code proved the address.
			verified := true
			if _, err := s.d.Users.UpdateIn(ctx, tx, c.Tenant, u.ID, identity.Patch{EmailVerified: &verified}); err != nil {
				return err
			}
		}
		delete(in.st.Records, cur.Type)
		in.st.UserID = u.ID
		in.st.addAMR(cur.Type)
		return nil
	})
	if err != nil {
		return Identified{}, err
	}
	return Identified{UserID: u.ID}, nil
}

// recordUser is the user a verified record is for: the password's user,
// or the one with the code's address.
func (s *Service) recordUser(ctx context.Context, tenant string, rec *record) (identity.User, error) {
	var u identity.User
	var err error
	if rec.Type == RecordPassword {
		u, err = s.d.Users.Get(ctx, tenant, rec.UserID)
	} else {
		var a address.Address
		if a, err = address.Parse(rec.Email); err == nil {
			u, err = s.d.Users.FindByEmail(ctx, tenant, a)
		}
	}
	if errors.Is(err, identity.ErrUserNotFound) {
		return identity.User{}, userNotExist(rec.Email)
	}
	return u, err
}

// consume takes a code's verification record in tx; a proof that is gone
// (expired, or taken by another step) is ErrVerificationNotFound. A
// record with no proof (a password's) has nothing to consume.
func (s *Service) consume(ctx context.Context, tx *store.Tx, tenant, proof, usage string) error {
	if proof == "" {
		return nil
	}
	_, err := s.d.Verification.Consume(ctx, tx, tenant, proof, usage)
	if errors.Is(err, verification.ErrRecordNotFound) {
		return ErrVerificationNotFound
	}
	return err
}

// addAMR notes how the user proved who they are.
func (st *state) addAMR(t RecordType) {
	m := AMRCode
	if t == RecordPassword {
		m = AMRPassword
	}
	if !slices.Contains(st.AMR, m) {
		st.AMR = append(st.AMR, m)
	}
}

func (s *Service) register(ctx context.Context, c Caller, in *interaction, r rules, verificationID string) (Identified, error) {
	var rec *record
	p := in.st.Profile
	if verificationID != "" {
		if rec = in.st.recordByID(verificationID); rec == nil {
			return Identified{}, ErrVerificationNotFound
		}
		if rec.Type != RecordEmailCode || !rec.Verified {
			return Identified{}, ErrVerificationFailed
		}
		if err := s.unused(ctx, c.Tenant, rec.Email); err != nil {
			return Identified{}, err
		}
		p.Email, p.EmailProof, p.EmailUsage = rec.Email, rec.Proof, rec.Usage
	}
	// withRecord saves the record's address into the fresh state's profile.
	withRecord := func(in *interaction) error {
		if rec == nil {
			return nil
		}
		cur := in.st.recordByID(verificationID)
		if cur == nil || cur.ID != rec.ID {
			return ErrVerificationNotFound
		}
		in.st.Profile.Email, in.st.Profile.EmailProof, in.st.Profile.EmailUsage = rec.Email, rec.Proof, rec.Usage
		return nil
	}
	refusal := error(nil)
	if !r.allows(EventRegister) {
		refusal = ErrForbidden
	} else if missing := r.missing(have{email: p.Email != "", username: p.Username != "", password: p.PasswordDigest != ""}); len(missing) > 0 {
		refusal = missingProfile(missing)
	}
	if refusal != nil {
		err := s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
			if in.st.Event != EventRegister {
				return ErrInvalidInteractionType
			}
			if err := withRecord(in); err != nil {
				return err
			}
			return keep{refusal}
		})
		return Identified{}, err
	}
	prepared, err := s.d.Users.Prepare(ctx, c.Tenant, identity.NewUser{PrimaryEmail: p.Email, EmailVerified: p.Email != "",
		Username: p.Username, PasswordDigest: p.PasswordDigest}, r.PasswordPolicy)
	if err != nil {
		return Identified{}, err
	}
	var created identity.User
	err = s.update(ctx, c, func(tx *store.Tx, in *interaction) error {
		if in.st.Event != EventRegister {
			return ErrInvalidInteractionType
		}
		if err := withRecord(in); err != nil {
			return err
		}
		if in.st.Profile != p {
			return store.ErrConflict // the profile changed meanwhile
		}
		if err := s.consume(ctx, tx, c.Tenant, p.EmailProof, p.EmailUsage); err != nil {
			return err
		}
		u, err := s.d.Users.Insert(ctx, tx, prepared)
		if err != nil {
			return userConflict(err)
		}
		created = u
		for t, r := range in.st.Records {
			if r.Proof != "" && r.Proof == p.EmailProof {
				delete(in.st.Records, t)
			}
		}
		in.st.UserID, in.st.Profile = u.ID, profile{}
		if p.Email != "" {
			in.st.addAMR(RecordEmailCode)
		} else {
			in.st.addAMR(RecordPassword)
		}
		return nil
	})
	if err != nil {
		return Identified{}, err
	}
	return Identified{Created: true, UserID: created.ID}, nil
}

// unused refuses an address a user has (ErrEmailInUse).
func (s *Service) unused(ctx context.Context, tenant, email string) error {
	a, err := address.Parse(email)
	if err != nil {
		return err
	}
	_, err = s.d.Users.FindByEmail(ctx, tenant, a)
	switch {
	case err == nil:
		return ErrEmailInUse
	case errors.Is(err, identity.ErrUserNotFound):
		return nil
	}
	return err
}

// userConflict turns identity's uniqueness refusals into Logto's.
func userConflict(err error) error {
	switch {
	case errors.Is(err, identity.ErrEmailInUse):
		return ErrEmailInUse
	case errors.Is(err, identity.ErrUsernameInUse):
		return ErrUsernameInUse
	}
	return err
}
