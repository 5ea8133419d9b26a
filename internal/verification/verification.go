// Package verification issues and checks one-time email codes: six digits
// by default, stored only as keyed hashes, compared in constant time, with
// a try limit per code, a resend cooldown, a per-recipient send cap and an
// identifier lockout after many failures. Every counter lives in the
// database so several processes enforce one limit.
package verification

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
)

// Error is a verification failure with a stable code.
type Error struct {
	// Code is the stable error code, such as "verification_code.expired".
	Code string
	// Message says what happened and what to do.
	Message string
	// RetryAfter is set on limits: when trying again can succeed.
	RetryAfter time.Duration
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Is matches errors with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// The failures, matched with errors.Is.
var (
	ErrNotFound       = &Error{Code: "verification_code.not_found", Message: "no code was sent to this address, or it was already used: request a new code"}
	ErrMismatch       = &Error{Code: "verification_code.code_mismatch", Message: "the code is wrong"}
	ErrExpired        = &Error{Code: "verification_code.expired", Message: "the code has expired: request a new code"}
	ErrExceedMaxTry   = &Error{Code: "verification_code.exceed_max_try", Message: "too many wrong tries for this code: request a new code"}
	ErrRateLimited    = &Error{Code: "request.message_rate_limited", Message: "too many codes sent to this address: try again later"}
	ErrResendTooSoon  = &Error{Code: "verification_code.resend_too_soon", Message: "a code was sent to this address moments ago: wait before requesting another"}
	ErrIdentifierLock = &Error{Code: "session.verification_blocked_too_many_attempts", Message: "too many failed verifications for this address: try again later"}
)

func withRetry(e *Error, d time.Duration) *Error {
	out := *e
	out.RetryAfter = d.Round(time.Second)
	if out.RetryAfter < time.Second {
		out.RetryAfter = time.Second
	}
	return &out
}

// Service issues and verifies codes.
type Service struct {
	keys *keyring.Keyring
	now  func() time.Time
}

// New returns a Service; now is the clock (time.Now in production).
func New(keys *keyring.Keyring, now func() time.Time) *Service {
	return &Service{keys: keys, now: now}
}

const (
	bucketSend       = "send"
	bucketVerifyFail = "verify_fail"
	bucketRecord     = "verification_record" // the purpose of a record ID's hash
)

// Issued is a new code.
type Issued struct {
	Code      string
	ExpiresAt time.Time
}

// Issue checks the send limits for the recipient (in canonical form: the
// code, its limits and its lockout are keyed by it) and stores a new code
// that replaces the previous one, inside tx, so that the code, the
// message and its delivery job commit together.
func (s *Service) Issue(ctx context.Context, tx *store.Tx, tenant string, to address.Address, usage string, p Policy) (Issued, error) {
	if err := p.Validate(); err != nil {
		return Issued{}, fmt.Errorf("issuing a code: %w", err)
	}
	email := to.String()
	if err := tx.LockKey(ctx, lockKey(tenant, email)); err != nil {
		return Issued{}, err
	}
	now := s.now()
	key := s.keys.IdentifierHash(tenant, bucketSend, email)
	window := time.Duration(p.SendWindow) * time.Second
	st, err := tx.SendStateGet(ctx, tenant, email, usage, bucketSend, key, now.Add(-window))
	if err != nil {
		return Issued{}, err
	}
	if p.ResendCooldown > 0 && !st.CodeCreatedAt.IsZero() {
		if wait := st.CodeCreatedAt.Add(time.Duration(p.ResendCooldown) * time.Second).Sub(now); wait > 0 {
			return Issued{}, withRetry(ErrResendTooSoon, wait)
		}
	}
	if st.Events >= p.SendLimit {
		return Issued{}, withRetry(ErrRateLimited, st.Oldest.Add(window).Sub(now))
	}
	code := randomDigits(p.Length)
	expires := now.Add(time.Duration(p.ExpirationDuration) * time.Second)
	err = tx.CodePutCounted(ctx, store.Code{TenantID: tenant, Email: email, UsageType: usage,
		Hash: s.keys.CodeHash(tenant, email, usage, code), CreatedAt: now, ExpiresAt: expires}, bucketSend, key)
	if err != nil {
		return Issued{}, err
	}
	return Issued{Code: code, ExpiresAt: expires}, nil
}

// Verify checks a code for a recipient and usage type. A right code is
// consumed, so it verifies once. A wrong one counts a try on the code and
// a failure on the identifier.
func (s *Service) Verify(ctx context.Context, st *store.Store, tenant string, to address.Address, usage, code string, p Policy) error {
	_, err := s.verify(ctx, st, tenant, to, usage, code, p, false)
	return err
}

// RecordTTL is how long a verification record can be consumed after its
// code was verified, as Logto's verification records.
const RecordTTL = 10 * time.Minute

// Record is proof that an address received a code: what a verified code
// turns into for the step of a flow that needs it (sign-up, a password
// reset, a change of email). Its ID is a bearer secret handed to the
// client; one step consumes it, once.
type Record struct {
	// ID is the secret the client presents; only its keyed hash is stored.
	ID string
	// Tenant, Email and Usage are what was verified: the canonical address
	// and the usage type of the code.
	Tenant, Email, Usage string
	// VerifiedAt is when the code was verified; ExpiresAt when the record
	// can no longer be consumed.
	VerifiedAt, ExpiresAt time.Time
}

// ErrRecordNotFound means a verification record does not exist, was for
// another usage type, has expired or was consumed (Logto's code).
var ErrRecordNotFound = &Error{Code: "verification_record.not_found", Message: "the verification is unknown, expired or already used: verify the email again"}

// VerifyRecord is Verify that, when the code is right, also stores a
// verification record in the same transaction and returns it.
func (s *Service) VerifyRecord(ctx context.Context, st *store.Store, tenant string, to address.Address, usage, code string, p Policy) (Record, error) {
	return s.verify(ctx, st, tenant, to, usage, code, p, true)
}

// Consume takes a verification record of the usage type, inside the
// caller's transaction so that the step it unlocks and the consumption
// commit together. Of two steps presenting one record, only one gets it.
func (s *Service) Consume(ctx context.Context, tx *store.Tx, tenant, id, usage string) (Record, error) {
	if id == "" {
		return Record{}, ErrRecordNotFound
	}
	r, err := tx.RecordConsume(ctx, tenant, s.recordHash(tenant, id), usage, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return Record{}, ErrRecordNotFound
	}
	if err != nil {
		return Record{}, err
	}
	return Record{ID: id, Tenant: tenant, Email: r.Email, Usage: r.UsageType, VerifiedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}, nil
}

func (s *Service) recordHash(tenant, id string) string {
	return s.keys.IdentifierHash(tenant, bucketRecord, id)
}

// verify checks the code in one transaction and, with keep, stores the
// verification record it yields.
func (s *Service) verify(ctx context.Context, st *store.Store, tenant string, to address.Address, usage, code string, p Policy, keep bool) (Record, error) {
	if err := p.Validate(); err != nil {
		return Record{}, fmt.Errorf("verifying a code: %w", err)
	}
	email := to.String()
	var outcome error
	var rec Record
	err := st.InTx(ctx, func(tx *store.Tx) error {
		outcome = nil
		// Concurrent checks (and sends) for one recipient, in any process,
		// run one at a time, so none reads a try count or a send count
		// that another is about to raise.
		if err := tx.LockKey(ctx, lockKey(tenant, email)); err != nil {
			return err
		}
		now := s.now()
		idKey := s.keys.IdentifierHash(tenant, bucketVerifyFail, email)
		until, err := tx.LockoutUntil(ctx, tenant, idKey)
		if err != nil {
			return err
		}
		if until.After(now) {
			outcome = withRetry(ErrIdentifierLock, until.Sub(now))
			return nil
		}
		fail := func(e error) error {
			outcome = e
			if err := tx.RateAdd(ctx, tenant, bucketVerifyFail, idKey, now); err != nil {
				return err
			}
			n, err := tx.RateCount(ctx, tenant, bucketVerifyFail, idKey, now.Add(-time.Hour))
			if err != nil {
				return err
			}
			if n >= p.LockoutFailures {
				return tx.LockoutSet(ctx, tenant, idKey, now.Add(time.Duration(p.LockoutMinutes)*time.Minute))
			}
			return nil
		}
		c, err := tx.CodeGet(ctx, tenant, email, usage)
		if errors.Is(err, store.ErrNotFound) {
			return fail(ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !now.Before(c.ExpiresAt) {
			return fail(ErrExpired)
		}
		if c.Tries >= p.MaxRetryAttempts {
			return fail(ErrExceedMaxTry)
		}
		if !s.keys.CodeEqual(c.Hash, tenant, email, usage, code) {
			if _, err := tx.CodeAddTry(ctx, tenant, email, usage, c.Hash); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return fail(ErrMismatch)
		}
		ok, err := tx.CodeConsume(ctx, tenant, email, usage, c.Hash)
		if err != nil {
			return err
		}
		if !ok {
			return fail(ErrNotFound)
		}
		if !keep {
			return nil
		}
		rec = Record{ID: newRecordID(), Tenant: tenant, Email: email, Usage: usage, VerifiedAt: now, ExpiresAt: now.Add(RecordTTL)}
		return tx.RecordInsert(ctx, store.VerificationRecord{TenantID: tenant, IDHash: s.recordHash(tenant, rec.ID),
			UsageType: usage, Email: email, CreatedAt: now, ExpiresAt: rec.ExpiresAt})
	})
	if err != nil {
		return Record{}, err
	}
	if outcome != nil {
		return Record{}, outcome
	}
	return rec, nil
}

// lockKey names the per-recipient lock.
func lockKey(tenant, email string) string { return "recipient\x00" + tenant + "\x00" + email }

// newRecordID returns a fresh verification record ID: 160 random bits.
func newRecordID() string {
	return "vr_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(keyring.RandomBytes(20)))
}

// randomDigits returns n uniformly random decimal digits.
func randomDigits(n int) string {
	var b strings.Builder
	ten := big.NewInt(10)
	for range n {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}
