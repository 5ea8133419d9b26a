package account

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
)

// View is the account as GET /api/my-account answers it: id always, and
// each other member only when the token's scopes and the field's control
// allow it (profile: username, name, avatar, profile; email: primaryEmail;
// custom_data: customData), null when the user has none.
type View struct {
	ID           string           `json:"id"`
	Username     *string          `json:"username,omitempty"`
	PrimaryEmail *string          `json:"primaryEmail,omitempty"`
	Name         *string          `json:"name,omitempty"`
	Avatar       *string          `json:"avatar,omitempty"`
	CustomData   map[string]any   `json:"customData,omitempty"`
	Profile      identity.Profile `json:"profile,omitzero"`
	// shown are the members allowed, by JSON name.
	shown map[string]bool
}

// MarshalJSON writes id and the members allowed, an unset one as null.
func (v View) MarshalJSON() ([]byte, error) {
	out := map[string]any{"id": v.ID}
	put := func(name string, val any) {
		if v.shown[name] {
			out[name] = val
		}
	}
	put(FieldUsername, v.Username)
	put("primaryEmail", v.PrimaryEmail)
	put(FieldName, v.Name)
	put(FieldAvatar, v.Avatar)
	put(FieldCustomData, v.CustomData)
	put(FieldProfile, v.Profile)
	return json.Marshal(out)
}

// view is a user as p may see it under the center's controls.
func view(u identity.User, p Principal, center Center) View {
	orNull := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	v := View{ID: u.ID, Username: orNull(u.Username), PrimaryEmail: orNull(u.PrimaryEmail), Name: orNull(u.Name),
		Avatar: orNull(u.Avatar), CustomData: u.CustomData, Profile: u.Profile, shown: map[string]bool{}}
	if v.CustomData == nil {
		v.CustomData = map[string]any{}
	}
	show := func(member, field, scope string) {
		if p.has(scope) && center.Fields.control(field) != ControlOff {
			v.shown[member] = true
		}
	}
	show(FieldUsername, FieldUsername, ScopeProfile)
	show(FieldName, FieldName, ScopeProfile)
	show(FieldAvatar, FieldAvatar, ScopeProfile)
	show(FieldProfile, FieldProfile, ScopeProfile)
	show("primaryEmail", FieldEmail, ScopeEmail)
	show(FieldCustomData, FieldCustomData, ScopeCustomData)
	return v
}

// Get answers the caller's account (GET /api/my-account).
func (s *Service) Get(ctx context.Context, c Caller) (View, error) {
	p, center, err := s.Allowed(ctx, c, "", "")
	if err != nil {
		return View{}, err
	}
	u, err := s.user(ctx, c.Tenant, p.UserID)
	if err != nil {
		return View{}, err
	}
	return view(u, p, center), nil
}

// Patch is PATCH /api/my-account: a member left out is kept; "" clears
// name or avatar. customData replaces the old value whole.
type Patch struct {
	Name       *string        `json:"name,omitempty"`
	Avatar     *string        `json:"avatar,omitempty"`
	Username   *string        `json:"username,omitempty"`
	CustomData map[string]any `json:"customData,omitempty"`
}

// Update changes the caller's name, avatar, username or customData (PATCH
// /api/my-account) and answers the account. Each member given needs its
// field at Edit (account_center.field_not_editable) and its scope
// (profile, custom_data: auth.forbidden); a username needs the caller
// re-verified (since Logto 1.40), follows the username rule and is unique
// (user.username_already_in_use).
func (s *Service) Update(ctx context.Context, c Caller, patch Patch) (View, error) {
	p, center, err := s.Allowed(ctx, c, "", "")
	if err != nil {
		return View{}, err
	}
	type member struct {
		given        bool
		field, scope string
	}
	for _, m := range []member{{patch.Name != nil, FieldName, ScopeProfile}, {patch.Avatar != nil, FieldAvatar, ScopeProfile},
		{patch.Username != nil, FieldUsername, ScopeProfile}, {patch.CustomData != nil, FieldCustomData, ScopeCustomData}} {
		if !m.given {
			continue
		}
		if err := center.Fields.check(m.field, ControlEdit); err != nil {
			return View{}, err
		}
		if !p.has(m.scope) {
			return View{}, ErrForbidden
		}
	}
	if patch.Username != nil {
		if err := s.CheckVerification(ctx, c.Tenant, p.UserID, c.VerificationID); err != nil {
			return View{}, err
		}
		if *patch.Username == "" {
			return View{}, invalidInput("username", "must not be empty")
		}
	}
	u, err := s.d.Users.Update(ctx, c.Tenant, p.UserID, identity.Patch{Name: patch.Name, Avatar: patch.Avatar,
		Username: patch.Username, CustomData: patch.CustomData})
	if errors.Is(err, identity.ErrUsernameInUse) {
		return View{}, experience.ErrUsernameInUse
	}
	if errors.Is(err, identity.ErrUserNotFound) {
		return View{}, ErrUnauthorized
	}
	if err != nil {
		return View{}, err
	}
	return view(u, p, center), nil
}

// SetPassword changes the caller's password (POST
// /api/my-account/password). A user with a password or an email must be
// re-verified; the password field must be Edit; the new password must
// pass the tenant's password policy (password.rejected) and differ from
// the old one (user.same_password).
func (s *Service) SetPassword(ctx context.Context, c Caller, pw string) error {
	p, err := s.Authenticate(ctx, c)
	if err != nil {
		return err
	}
	center, err := s.enabled(ctx, c.Tenant)
	if err != nil {
		return err
	}
	u, err := s.user(ctx, c.Tenant, p.UserID)
	if err != nil {
		return err
	}
	if u.HasPassword || u.PrimaryEmail != "" {
		if err := s.CheckVerification(ctx, c.Tenant, u.ID, c.VerificationID); err != nil {
			return err
		}
	}
	if err := center.Fields.check(FieldPassword, ControlEdit); err != nil {
		return err
	}
	if pw == "" || len(pw) > maxPasswordInput {
		return invalidInput("password", "must be the new password")
	}
	if same, err := s.d.Users.CheckPasswordOf(ctx, c.Tenant, u.ID, pw); err != nil && !errors.Is(err, identity.ErrMalformedDigest) {
		return err
	} else if same && err == nil {
		return experience.ErrSamePassword
	}
	exp, err := s.d.Tenants.Experience(ctx, c.Tenant)
	if err != nil {
		return err
	}
	_, err = s.d.Users.SetPassword(ctx, c.Tenant, u.ID, pw, exp.PasswordPolicy)
	return err
}

// EmailChanged is what SetPrimaryEmail did.
type EmailChanged struct {
	// Old is the address the account had, "" when it had none; New the
	// address it has now, both canonical.
	Old, New string
}

// SetPrimaryEmail links an email to the caller's account or replaces its
// primary email (POST /api/my-account/primary-email), in Logto's order:
// the caller re-verified (verification_record.permission_denied), the
// email field Edit, the email scope, then newRecordID a verified
// BindNewIdentifier record of the caller's for that address
// (verification_record.not_found), and no other user with the address in
// its canonical form (user.email_already_in_use). The record is consumed
// in the write's transaction, so it changes the email once. The old address,
// when there was one, is told of the change.
func (s *Service) SetPrimaryEmail(ctx context.Context, c Caller, email, newRecordID string) (EmailChanged, error) {
	p, err := s.Verified(ctx, c, FieldEmail)
	if err != nil {
		return EmailChanged{}, err
	}
	if !p.has(ScopeEmail) {
		return EmailChanged{}, ErrForbidden
	}
	to, err := address.Parse(email)
	var ae *address.Error
	if errors.As(err, &ae) {
		return EmailChanged{}, invalidInput("email", ae.Reason)
	}
	if err != nil {
		return EmailChanged{}, err
	}
	v, err := s.record(ctx, c.Tenant, p.UserID, newRecordID)
	if err != nil {
		return EmailChanged{}, err
	}
	if v.Kind != KindEmailCode || v.UsageType != string(UsageNewIdentifier) || !v.Verified || v.Email != to.String() {
		return EmailChanged{}, ErrRecordNotFound
	}
	u, err := s.user(ctx, c.Tenant, p.UserID)
	if err != nil {
		return EmailChanged{}, err
	}
	changed := EmailChanged{Old: u.PrimaryEmail, New: to.String()}
	err = s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AccountVerificationConsume(ctx, c.Tenant, v.IDHash, s.d.Now()); errors.Is(err, store.ErrNotFound) {
			return ErrRecordNotFound
		} else if err != nil {
			return err
		}
		verified := true
		_, err := s.d.Users.UpdateIn(ctx, tx, c.Tenant, u.ID, identity.Patch{PrimaryEmail: &changed.New, EmailVerified: &verified})
		return err
	})
	if errors.Is(err, identity.ErrEmailInUse) {
		return EmailChanged{}, experience.ErrEmailInUse
	}
	if err != nil {
		return EmailChanged{}, err
	}
	if changed.Old != "" && changed.Old != changed.New {
		s.notifyEmailChanged(ctx, c, p, changed.Old)
	}
	return changed, nil
}

// notifyEmailChanged tells the old address that the account's email
// changed (authmail's addition: Logto tells only the new one): a Generic
// message with the built-in notice's words and no code, in the caller's
// language, naming the app whose token made the change. It is delivered
// after the answer; a failure is logged and the change stands.
func (s *Service) notifyEmailChanged(ctx context.Context, c Caller, p Principal, old string) {
	to, err := address.Parse(old)
	if err == nil {
		payload := map[string]any{}
		if s.d.AppName != nil && p.ClientID != "" {
			if name, err := s.d.AppName(ctx, c.Tenant, p.ClientID); err == nil && name != "" {
				payload["application"] = map[string]any{"id": p.ClientID, "name": name}
			}
		}
		_, err = s.d.Codes.Send(ctx, sendcode.Request{Tenant: c.Tenant, Email: to, Usage: connector.UsageGeneric,
			Notice: emailtemplate.NoticeEmailChanged, Preferred: c.Languages, Payload: payload, IP: c.IP, Detach: true}, nil)
	}
	if err != nil {
		s.d.Logger.WarnContext(ctx, "telling the old address of an email change", "err", err)
	}
}

// RemovePrimaryEmail unlinks the caller's primary email (DELETE
// /api/my-account/primary-email): re-verified, email Edit, and refused
// with user.last_sign_in_method_required when the user would be left
// with no way to sign in (no password and no username).
func (s *Service) RemovePrimaryEmail(ctx context.Context, c Caller) error {
	p, err := s.Verified(ctx, c, FieldEmail)
	if err != nil {
		return err
	}
	u, err := s.user(ctx, c.Tenant, p.UserID)
	if err != nil {
		return err
	}
	if u.PrimaryEmail == "" {
		return nil
	}
	if !u.HasPassword || u.Username == "" {
		return ErrLastSignInMethod
	}
	empty := ""
	_, err = s.d.Users.Update(ctx, c.Tenant, u.ID, identity.Patch{PrimaryEmail: &empty})
	return err
}

// Delete removes the caller's account (DELETE /api/my-account, authmail's
// addition): re-verified and the deleteAccount field Edit. The user, their
// sign-in sessions and their verification records go in one transaction;
// their tokens stop working at once, since a token's user must exist.
func (s *Service) Delete(ctx context.Context, c Caller) error {
	p, err := s.Verified(ctx, c, FieldDeleteAccount)
	if err != nil {
		return err
	}
	return s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := s.d.Users.DeleteIn(ctx, tx, c.Tenant, p.UserID); errors.Is(err, identity.ErrUserNotFound) {
			return ErrUnauthorized
		} else if err != nil {
			return err
		}
		if _, err := tx.SessionDeleteUser(ctx, c.Tenant, p.UserID); err != nil {
			return err
		}
		return tx.AccountVerificationsDeleteUser(ctx, c.Tenant, p.UserID)
	})
}
