package experience

import (
	"context"
	"errors"

	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/store"
)

// maxPasswordInput bounds a password given to check: far beyond any
// policy's maximum, short of making the hash chew on a megabyte.
const maxPasswordInput = 1024

// VerifyPassword checks the password of the user with the email address
// (POST /api/experience/verification/password) and returns the
// verificationId of a verified password record, which replaces the
// interaction's previous one.
//
// An address no user has, a user without a password and a wrong password
// are one answer, ErrInvalidCredentials, after one argon2id run each. Each
// counts toward the lockouts wrong codes count toward (Logto's sentinel,
// keyed on the canonical address); while the address or the caller is
// locked out the answer is ErrBlocked, whatever the password. A suspended
// user's right password is ErrSuspended.
func (s *Service) VerifyPassword(ctx context.Context, c Caller, id Identifier, password string) (string, error) {
	in, err := s.begun(ctx, c)
	if err != nil {
		return "", err
	}
	to, err := checkIdentifier(id)
	if err != nil {
		return "", err
	}
	if password == "" || len(password) > maxPasswordInput {
		return "", invalidInput("password", "must be the account's password")
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return "", err
	}
	u, err := s.d.Users.Authenticate(ctx, c.Tenant, to, password)
	if err != nil && !errors.Is(err, identity.ErrInvalidCredentials) {
		return "", err
	}
	ok := err == nil
	if err := s.d.Verification.ReportCheck(ctx, s.d.Store, c.Tenant, to, c.IP, r.policy(), ok); err != nil {
		return "", s.blocked(err, in.req, c)
	}
	if !ok {
		return "", ErrInvalidCredentials
	}
	if u.IsSuspended {
		return "", ErrSuspended
	}
	rec := &record{ID: newSecret(), Type: RecordPassword, Email: to.String(), Verified: true, UserID: u.ID}
	if err := s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
		if in.st.Event == "" {
			return ErrInteractionNotFound
		}
		in.st.putRecord(rec)
		return nil
	}); err != nil {
		return "", err
	}
	return rec.ID, nil
}
