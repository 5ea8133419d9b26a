package account

import (
	"context"
	"errors"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
)

// Record kinds, Logto's VerificationType.
const (
	KindPassword  = "Password"
	KindEmailCode = "EmailVerificationCode"
)

// The code templates of the account API's records.
const (
	// UsagePermission proves the user is who they say (the current
	// address).
	UsagePermission = connector.UsageUserPermissionValidation
	// UsageNewIdentifier proves a new address is the user's.
	UsageNewIdentifier = connector.UsageBindNewIdentifier
	// UsageBindMfa is a code to the current address for binding it as a
	// second factor; it is not a permission record.
	UsageBindMfa = connector.UsageBindMfa
)

// maxPasswordInput bounds a password given to check.
const maxPasswordInput = 1024

// Created is a new verification record.
type Created struct {
	// VerificationRecordID is the record's ID, a bearer secret.
	VerificationRecordID string `json:"verificationRecordId"`
	// ExpiresAt is when it can no longer be used.
	ExpiresAt time.Time `json:"expiresAt"`
}

// SendCode mails a code to an address for the caller (POST
// /api/verifications/verification-code) and returns the unverified
// record. As Logto's: an address other than the user's primary email gets
// a BindNewIdentifier code; the primary email gets templateType's
// (UserPermissionValidation when empty, or BindMfa). The address is
// compared in its canonical form.
func (s *Service) SendCode(ctx context.Context, c Caller, id experience.Identifier, templateType string) (Created, error) {
	p, _, err := s.Allowed(ctx, c, "", "")
	if err != nil {
		return Created{}, err
	}
	to, err := experience.ParseIdentifier(id)
	if err != nil {
		return Created{}, err
	}
	usage := connector.UsageType(templateType)
	switch usage {
	case "":
		usage = UsagePermission
	case UsagePermission, UsageBindMfa:
	default:
		return Created{}, invalidInput("templateType", "must be UserPermissionValidation or BindMfa")
	}
	u, err := s.user(ctx, c.Tenant, p.UserID)
	if err != nil {
		return Created{}, err
	}
	if to.String() != u.PrimaryEmail {
		usage = UsageNewIdentifier
	}
	payload := map[string]any{}
	if c.IP != "" {
		payload["ip"] = c.IP
	}
	if err := s.d.Codes.SendCode(ctx, sendcode.Request{Tenant: c.Tenant, Email: to, Usage: usage, Preferred: c.Languages,
		Payload: payload, IP: c.IP}); err != nil {
		return Created{}, err
	}
	return s.insert(ctx, store.AccountVerification{TenantID: c.Tenant, UserID: p.UserID, Kind: KindEmailCode,
		UsageType: string(usage), Email: to.String()})
}

// VerifyCode checks the code of a code record the caller made (POST
// /api/verifications/verification-code/verify) and returns the record's
// ID, now verified. A record that is unknown, expired, used, another
// user's or not a code record is verification_record.not_found; an
// identifier other than the record's is verification_code.email_mismatch;
// a wrong code counts toward the address's lockouts as a sign-in's does.
func (s *Service) VerifyCode(ctx context.Context, c Caller, id experience.Identifier, verificationID, code string) (string, error) {
	p, _, err := s.Allowed(ctx, c, "", "")
	if err != nil {
		return "", err
	}
	to, err := experience.ParseIdentifier(id)
	if err != nil {
		return "", err
	}
	if code == "" || len(code) > 32 {
		return "", invalidInput("code", "must be the code from the email")
	}
	v, err := s.record(ctx, c.Tenant, p.UserID, verificationID)
	if err != nil {
		return "", err
	}
	if v.Kind != KindEmailCode {
		return "", ErrRecordNotFound
	}
	if v.Email != to.String() {
		return "", experience.ErrEmailMismatch
	}
	exp, err := s.d.Tenants.Experience(ctx, c.Tenant)
	if err != nil {
		return "", err
	}
	if err := s.d.Verification.Verify(ctx, s.d.Store, c.Tenant, to, v.UsageType, code, c.IP, exp.VerificationCodePolicy); err != nil {
		return "", experience.Blocked(err, c.Languages)
	}
	err = s.d.Store.WriteQ().AccountVerificationVerify(ctx, c.Tenant, v.IDHash, s.d.Now())
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrRecordNotFound // expired meanwhile
	}
	if err != nil {
		return "", err
	}
	return verificationID, nil
}

// VerifyPassword checks the caller's password (POST
// /api/verifications/password) and returns a verified permission record.
// A wrong password, or a user without one, is session.invalid_credentials
// (422); failures count toward the lockouts of the user's primary email,
// which password sign-ins share, and while it is locked the answer is
// session.verification_blocked_too_many_attempts.
func (s *Service) VerifyPassword(ctx context.Context, c Caller, pw string) (Created, error) {
	p, _, err := s.Allowed(ctx, c, "", "")
	if err != nil {
		return Created{}, err
	}
	if pw == "" || len(pw) > maxPasswordInput {
		return Created{}, invalidInput("password", "must be the account's password")
	}
	u, err := s.user(ctx, c.Tenant, p.UserID)
	if err != nil {
		return Created{}, err
	}
	ok, err := s.d.Users.CheckPasswordOf(ctx, c.Tenant, u.ID, pw)
	if err != nil && !errors.Is(err, identity.ErrMalformedDigest) {
		return Created{}, err
	}
	ok = ok && err == nil
	if u.PrimaryEmail != "" {
		email, err := address.Parse(u.PrimaryEmail)
		if err != nil {
			return Created{}, err
		}
		exp, err := s.d.Tenants.Experience(ctx, c.Tenant)
		if err != nil {
			return Created{}, err
		}
		if err := s.d.Verification.ReportCheck(ctx, s.d.Store, c.Tenant, email, c.IP, exp.VerificationCodePolicy, ok); err != nil {
			return Created{}, experience.Blocked(err, c.Languages)
		}
	}
	if !ok {
		return Created{}, experience.ErrInvalidCredentials
	}
	return s.insert(ctx, store.AccountVerification{TenantID: c.Tenant, UserID: u.ID, Kind: KindPassword, Verified: true})
}

// insert stores a new record with a fresh ID.
func (s *Service) insert(ctx context.Context, v store.AccountVerification) (Created, error) {
	id := newRecordID()
	now := s.d.Now()
	v.IDHash, v.CreatedAt, v.ExpiresAt = s.recordHash(v.TenantID, id), now, now.Add(RecordTTL)
	if err := s.d.Store.WriteQ().AccountVerificationInsert(ctx, v); err != nil {
		return Created{}, err
	}
	return Created{VerificationRecordID: id, ExpiresAt: v.ExpiresAt}, nil
}

// record reads a live, unconsumed record of the user's;
// ErrRecordNotFound otherwise.
func (s *Service) record(ctx context.Context, tenant, userID, id string) (store.AccountVerification, error) {
	if id == "" || len(id) > 128 {
		return store.AccountVerification{}, ErrRecordNotFound
	}
	v, err := s.d.Store.AccountVerificationGet(ctx, tenant, s.recordHash(tenant, id), s.d.Now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.UserID != userID) {
		return store.AccountVerification{}, ErrRecordNotFound
	}
	return v, err
}

// user reads the caller's user; one deleted meanwhile is auth.unauthorized.
func (s *Service) user(ctx context.Context, tenant, id string) (identity.User, error) {
	u, err := s.d.Users.Get(ctx, tenant, id)
	if errors.Is(err, identity.ErrUserNotFound) || (err == nil && u.IsSuspended) {
		return identity.User{}, ErrUnauthorized
	}
	return u, err
}
