package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authmail/authmail/internal/store"
)

// MFAEmailCode is the email verification code factor, Logto's
// MfaFactor.EmailVerificationCode: the only second factor here.
const MFAEmailCode = "EmailVerificationCode"

// ErrMFAFactorNotFound means the user has no second factor with the ID.
var ErrMFAFactorNotFound = errors.New("no such MFA factor")

// MFAFactor is a second factor a user set up, an item of Logto's
// mfaVerifications.
type MFAFactor struct {
	// ID names the factor; Type is MFAEmailCode.
	ID   string `json:"id"`
	Type string `json:"type"`
	// CreatedAt is when the user bound it.
	CreatedAt time.Time `json:"createdAt"`
}

// MFAFactors returns the second factors the user bound, oldest first.
// ErrUserNotFound when there is no such user.
func (s *Service) MFAFactors(ctx context.Context, tenant, id string) ([]MFAFactor, error) {
	return s.mfaFactors(ctx, s.st.Reader, tenant, id)
}

func (s *Service) mfaFactors(ctx context.Context, r store.Reader, tenant, id string) ([]MFAFactor, error) {
	raw, err := r.UserMFA(ctx, tenant, id)
	if err != nil {
		return nil, writeError(err)
	}
	out := []MFAFactor{}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("user %s: stored mfa_verifications: %w", id, err)
	}
	return out, nil
}

// HasMFAFactor reports whether the user bound a factor of the type.
func HasMFAFactor(factors []MFAFactor, factorType string) bool {
	return slices.ContainsFunc(factors, func(f MFAFactor) bool { return f.Type == factorType })
}

// AddMFAFactor binds a factor of the type to the user inside tx and
// returns it; a user who has one of the type keeps it (added is false).
// ErrUserNotFound when there is no such user.
func (s *Service) AddMFAFactor(ctx context.Context, tx *store.Tx, tenant, id, factorType string) (f MFAFactor, added bool, err error) {
	if err := tx.LockKey(ctx, "user:"+tenant+":"+id); err != nil {
		return MFAFactor{}, false, err
	}
	factors, err := s.mfaFactors(ctx, tx.Reader, tenant, id)
	if err != nil {
		return MFAFactor{}, false, err
	}
	for _, f := range factors {
		if f.Type == factorType {
			return f, false, nil
		}
	}
	now := s.now()
	f = MFAFactor{ID: newID(), Type: factorType, CreatedAt: now.Truncate(time.Millisecond)}
	if err := s.writeMFA(ctx, tx, tenant, id, append(factors, f), now); err != nil {
		return MFAFactor{}, false, err
	}
	return f, true, nil
}

// RemoveMFAFactor unbinds the user's factor with the ID:
// ErrMFAFactorNotFound when the user has none, ErrUserNotFound when there
// is no such user.
func (s *Service) RemoveMFAFactor(ctx context.Context, tenant, id, factorID string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, "user:"+tenant+":"+id); err != nil {
			return err
		}
		factors, err := s.mfaFactors(ctx, tx.Reader, tenant, id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(factors, func(f MFAFactor) bool { return f.ID == factorID })
		if i < 0 {
			return ErrMFAFactorNotFound
		}
		return s.writeMFA(ctx, tx, tenant, id, slices.Delete(factors, i, i+1), s.now())
	})
}

func (s *Service) writeMFA(ctx context.Context, tx *store.Tx, tenant, id string, factors []MFAFactor, now time.Time) error {
	b, err := json.Marshal(factors)
	if err != nil {
		return err
	}
	return writeError(tx.UserSetMFA(ctx, tenant, id, string(b), now))
}
