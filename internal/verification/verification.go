// Package verification issues and checks one-time email codes: six digits
// by default, stored only as keyed hashes, compared in constant time, with
// a try limit per code, a resend cooldown, send caps per mailbox, domain,
// client and tenant, and lockouts of a guessing client and, far later, of
// the address (lockout.go). Every counter lives in the database so several
// processes enforce one limit.
package verification

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/ratelimit"
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

// The other send caps refuse with ErrRateLimited's code, saying which cap
// was reached.
var (
	errDomainRateLimited = &Error{Code: ErrRateLimited.Code, Message: "too many codes sent to addresses at this domain in the last hour: try again later"}
	errIPRateLimited     = &Error{Code: ErrRateLimited.Code, Message: "too many codes requested from this client in the last hour: try again later"}
	errTenantRateLimited = &Error{Code: ErrRateLimited.Code, Message: "this service sent too many codes in the last hour: try again later"}
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
	bucketSendDomain = "send_domain"
	bucketSendIP     = "send_ip"
	bucketSendTenant = "send_tenant"
	bucketVerifyFail = "verify_fail"
	// bucketVerifyFailClient counts the failures of one client for one
	// address.
	bucketVerifyFailClient = "verify_fail_client"
	bucketRecord           = "verification_record" // the purpose of a record ID's hash
)

// Issued is a new code.
type Issued struct {
	Code      string
	ExpiresAt time.Time
}

// Issue checks the send limits for the recipient (in canonical form: the
// code, its limits and its lockout are keyed by it) and for the client at
// ip (empty when it is unknown or not to be counted), and stores a new
// code that replaces the previous one, inside tx, so that the code, the
// message and its delivery job commit together.
func (s *Service) Issue(ctx context.Context, tx *store.Tx, tenant string, to address.Address, usage, ip string, p Policy) (Issued, error) {
	if err := p.Validate(); err != nil {
		return Issued{}, fmt.Errorf("issuing a code: %w", err)
	}
	var issued Issued
	err := s.charge(ctx, tx, tenant, to, usage, ip, p, func(now time.Time, n store.Count) error {
		code := randomDigits(p.Length)
		email := to.String()
		issued = Issued{Code: code, ExpiresAt: now.Add(time.Duration(p.ExpirationDuration) * time.Second)}
		return tx.CodePutCounted(ctx, store.Code{TenantID: tenant, Email: email, UsageType: usage,
			Hash: s.keys.CodeHash(tenant, email, usage, code), CreatedAt: now, ExpiresAt: issued.ExpiresAt}, n)
	})
	if err != nil {
		return Issued{}, err
	}
	return issued, nil
}

// CountSend checks the send caps for a message that carries no code (a
// test send) to the recipient, from the client at ip, and counts it toward
// them, inside tx. No cooldown applies: there is no code to replace.
func (s *Service) CountSend(ctx context.Context, tx *store.Tx, tenant string, to address.Address, ip string, p Policy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("counting a send: %w", err)
	}
	return s.charge(ctx, tx, tenant, to, "", ip, p, func(_ time.Time, n store.Count) error {
		return tx.Counted(ctx, tenant, n)
	})
}

// charge takes the mailbox's lock, reads the code's age and every cap in
// one statement, and refuses when the cooldown runs or a cap is reached
// (with the longest wait of those reached); otherwise put stores what the
// send adds. With usage empty no code is looked at.
func (s *Service) charge(ctx context.Context, tx *store.Tx, tenant string, to address.Address, usage, ip string, p Policy, put func(now time.Time, n store.Count) error) error {
	mailbox := to.Base()
	if err := tx.LockKey(ctx, lockKey(tenant, mailbox)); err != nil {
		return err
	}
	now := s.now()
	window := time.Duration(p.SendWindow) * time.Second
	q := store.SendQuery{Tenant: tenant, Bucket: bucketSend, Key: s.keys.IdentifierHash(tenant, bucketSend, mailbox),
		Since: now.Add(-window), Hour: now.Truncate(time.Hour)}
	if usage != "" {
		q.Email, q.Usage = to.String(), usage
	}
	caps := s.hourlyCaps(tenant, to, ip, p)
	for _, c := range caps {
		q.Counters = append(q.Counters, c.counter)
	}
	st, err := tx.SendStateGet(ctx, q)
	if err != nil {
		return err
	}
	if p.ResendCooldown > 0 && !st.CodeCreatedAt.IsZero() {
		if wait := st.CodeCreatedAt.Add(time.Duration(p.ResendCooldown) * time.Second).Sub(now); wait > 0 {
			return withRetry(ErrResendTooSoon, wait)
		}
	}
	var refused *Error
	var wait time.Duration
	if st.Events >= p.SendLimit {
		refused, wait = ErrRateLimited, st.Oldest.Add(window).Sub(now)
	}
	for i, c := range caps {
		if w := hourlyWait(st.Counts[i], c.limit, now, q.Hour); w > 0 && (refused == nil || w > wait) {
			refused, wait = c.refusal, w
		}
	}
	if refused != nil {
		return withRetry(refused, wait)
	}
	return put(now, store.Count{Bucket: q.Bucket, Key: q.Key, At: now, Counters: q.Counters, Hour: q.Hour, Shard: shardOf(mailbox)})
}

// hourlyCap is a cap over many recipients, counted per hour.
type hourlyCap struct {
	counter store.Counter
	limit   int
	refusal *Error
}

// hourlyCaps are the caps a send to `to` from the client at ip counts
// toward, always in the same order (PostgreSQL locks the counter rows in
// it, so that two sends never wait for each other in a cycle).
func (s *Service) hourlyCaps(tenant string, to address.Address, ip string, p Policy) []hourlyCap {
	var caps []hourlyCap
	if p.DomainSendLimit > 0 {
		caps = append(caps, hourlyCap{store.Counter{Bucket: bucketSendDomain, Key: s.keys.IdentifierHash(tenant, bucketSendDomain, to.Domain())},
			p.DomainSendLimit, errDomainRateLimited})
	}
	if client := clientKey(ip); client != "" && p.IPSendLimit > 0 {
		caps = append(caps, hourlyCap{store.Counter{Bucket: bucketSendIP, Key: s.keys.IdentifierHash(tenant, bucketSendIP, client)},
			p.IPSendLimit, errIPRateLimited})
	}
	if p.TenantSendLimit > 0 {
		caps = append(caps, hourlyCap{store.Counter{Bucket: bucketSendTenant, Key: tenant}, p.TenantSendLimit, errTenantRateLimited})
	}
	return caps
}

// hourlyWait is how long until a cap of limit sends an hour allows one
// more: zero when it does now (the sliding hour is estimated as
// ratelimit.Wait says).
func hourlyWait(c store.HourCounts, limit int, now, hour time.Time) time.Duration {
	return ratelimit.Wait(c, limit, now, hour, time.Hour)
}

// shardOf spreads mailboxes over the counter shards.
func shardOf(mailbox string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(mailbox))
	return int(h.Sum32() % store.CounterShards)
}

// clientKey is what a client's IP is counted under (ratelimit.ClientKey:
// an IPv6 client by its /64); empty means unknown.
func clientKey(ip string) string { return ratelimit.ClientKey(ip) }

// Verify checks a code for a recipient and usage type, presented by the
// client at ip (empty when unknown). A right code is consumed, so it
// verifies once. A wrong one counts a try on the code and a failure
// toward the lockouts of the address and of the client for the address
// (lockout.go).
func (s *Service) Verify(ctx context.Context, st *store.Store, tenant string, to address.Address, usage, code, ip string, p Policy) error {
	_, err := s.verify(ctx, st, tenant, to, usage, code, ip, p, false)
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
func (s *Service) VerifyRecord(ctx context.Context, st *store.Store, tenant string, to address.Address, usage, code, ip string, p Policy) (Record, error) {
	return s.verify(ctx, st, tenant, to, usage, code, ip, p, true)
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
func (s *Service) verify(ctx context.Context, st *store.Store, tenant string, to address.Address, usage, code, ip string, p Policy, keep bool) (Record, error) {
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
		if err := tx.LockKey(ctx, lockKey(tenant, to.Base())); err != nil {
			return err
		}
		now := s.now()
		g := s.guardFor(tenant, to, ip)
		until, err := tx.LockoutUntil(ctx, tenant, g.addressKey, g.clientKey)
		if err != nil {
			return err
		}
		if until.After(now) {
			outcome = withRetry(ErrIdentifierLock, until.Sub(now))
			return nil
		}
		// A wrong code for a live code counts toward the lockouts; a check
		// of an address with no live code does not, since no guess can
		// succeed there, so that nobody can lock out an address by
		// sending junk for it.
		fail := func(e error) error {
			outcome = e
			return s.countFailure(ctx, tx, g, p, now)
		}
		refuse := func(e error) error {
			outcome = e
			return nil
		}
		c, err := tx.CodeGet(ctx, tenant, email, usage)
		if errors.Is(err, store.ErrNotFound) {
			return refuse(ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !now.Before(c.ExpiresAt) {
			return refuse(ErrExpired)
		}
		if c.Tries >= p.MaxRetryAttempts {
			return refuse(ErrExceedMaxTry)
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
			return refuse(ErrNotFound)
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

// lockKey names the per-mailbox lock: sends and checks for an address and
// its sub-addresses run one at a time.
func lockKey(tenant, mailbox string) string { return "recipient\x00" + tenant + "\x00" + mailbox }

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
