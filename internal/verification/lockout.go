package verification

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/store"
)

// The lockout (Logto's "sentinel") counts the wrong codes given for an
// address's live code twice: for the address and the client together,
// and for the address alone. LockoutFailures of them from one client in
// an hour lock that client out of the address; Sentinel.MaxAttempts
// from all clients together, a far higher ceiling, lock the address for
// everyone. So a client guessing at someone's code locks out only itself,
// and only a crowd of clients, each of which has its own lockout to reach
// first, can lock the owner out. Checks of an address without a live code
// count toward neither: no guess can succeed there.
//
// Lockouts are keyed by keyed hashes, which say nothing about the address.
// For an admin to see whom a lockout is for, it keeps the address and the
// client sealed with the server secret, bound to its key (a database
// reader learns no more than from the hashes, and the admin, who sees
// every address in the message log anyway, sees the exact address and
// IP, not a hint that several addresses could share), and the keyed hash
// of the address, by which the lockouts of one address are found without
// opening them all.

// Lockout scopes.
const (
	// ScopeAddress locks an address for every client.
	ScopeAddress = "address"
	// ScopeClient locks one client out of an address.
	ScopeClient = "client"
)

// guard is what a check counts its failures under.
type guard struct {
	tenant, email, client string
	// addressKey counts the address's failures; clientKey the client's for
	// the address. Each is a lockout's key.
	addressKey, clientKey string
}

func (s *Service) guardFor(tenant string, to address.Address, ip string) guard {
	email, client := to.String(), clientKey(ip)
	return guard{tenant: tenant, email: email, client: client,
		addressKey: s.keys.IdentifierHash(tenant, bucketVerifyFail, email),
		clientKey:  s.keys.IdentifierHash(tenant, bucketVerifyFailClient, email+"\x00"+client)}
}

// countFailure records a wrong code under both of g's keys and locks out
// each key whose failures in the last hour reached its threshold.
func (s *Service) countFailure(ctx context.Context, tx *store.Tx, g guard, p Policy, now time.Time) error {
	keys := []store.Counter{{Bucket: bucketVerifyFail, Key: g.addressKey}, {Bucket: bucketVerifyFailClient, Key: g.clientKey}}
	if err := tx.RateAddEach(ctx, g.tenant, now, keys...); err != nil {
		return err
	}
	n, err := tx.RateCountEach(ctx, g.tenant, now.Add(-time.Hour), keys...)
	if err != nil {
		return err
	}
	until := now.Add(time.Duration(p.Sentinel.LockoutDuration) * time.Minute)
	if n[1] >= p.LockoutFailures {
		if err := tx.LockoutPut(ctx, s.lockout(g, ScopeClient, g.clientKey, now, until)); err != nil {
			return err
		}
	}
	if n[0] >= p.Sentinel.MaxAttempts {
		return tx.LockoutPut(ctx, s.lockout(g, ScopeAddress, g.addressKey, now, until))
	}
	return nil
}

// subject is what a lockout keeps sealed about whom it is for.
type subject struct {
	Email string `json:"email"`
	IP    string `json:"ip,omitempty"`
}

func (s *Service) lockout(g guard, scope, key string, now, until time.Time) store.Lockout {
	sub := subject{Email: g.email}
	if scope == ScopeClient {
		sub.IP = g.client
	}
	b, _ := json.Marshal(sub) // two strings always marshal
	return store.Lockout{TenantID: g.tenant, KeyHash: key, Scope: scope, AddressHash: g.addressKey,
		Subject: s.keys.Seal(b, subjectAAD(g.tenant, key)), LockedAt: now, Until: until}
}

func subjectAAD(tenant, key string) string { return "lockout\x00" + tenant + "\x00" + key }

// Lockout is a lockout in force, as an admin sees it.
type Lockout struct {
	// ID names the lockout, to lift it: the locked key, a keyed hash.
	ID string
	// Scope is ScopeAddress or ScopeClient.
	Scope string
	// Email is the address locked, or the one the client is locked out
	// of; empty for a lockout made before lockouts kept it.
	Email string
	// IP is the client of a ScopeClient lockout, an IPv6 client by its
	// /64; empty when the client's address was unknown.
	IP string
	// LockedAt is when it began (zero when not known); Until when it ends.
	LockedAt, Until time.Time
}

// Lockouts lists the tenant's lockouts in force, the latest to end first,
// at most limit (100 when 0); with email set, only that address's.
func (s *Service) Lockouts(ctx context.Context, r store.Reader, tenant string, email *address.Address, limit int) ([]Lockout, error) {
	f := store.LockoutFilter{Tenant: tenant, Now: s.now(), Limit: limit}
	if email != nil {
		f.AddressHash = s.keys.IdentifierHash(tenant, bucketVerifyFail, email.String())
	}
	rows, err := r.LockoutList(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Lockout, 0, len(rows))
	for _, l := range rows {
		out = append(out, s.view(l))
	}
	return out, nil
}

// view opens a lockout's subject; one that does not open (made before
// subjects were kept) shows no address.
func (s *Service) view(l store.Lockout) Lockout {
	v := Lockout{ID: l.KeyHash, Scope: l.Scope, LockedAt: l.LockedAt, Until: l.Until}
	if b, err := s.keys.Open(l.Subject, subjectAAD(l.TenantID, l.KeyHash)); err == nil {
		var sub subject
		if json.Unmarshal(b, &sub) == nil {
			v.Email, v.IP = sub.Email, sub.IP
		}
	}
	return v
}

// ErrLockoutNotFound means no lockout in force has the ID.
var ErrLockoutNotFound = errors.New("no lockout in force has this ID")

// Lift ends the lockout with the ID and forgets the failures it counted,
// so that the next wrong code starts a new count. It returns
// ErrLockoutNotFound when no lockout in force has the ID.
func (s *Service) Lift(ctx context.Context, st *store.Store, tenant, id string) error {
	return st.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		l, err := tx.LockoutGet(ctx, tenant, id, now)
		if errors.Is(err, store.ErrNotFound) {
			return ErrLockoutNotFound
		}
		if err != nil {
			return err
		}
		bucket := bucketVerifyFail
		if l.Scope == ScopeClient {
			bucket = bucketVerifyFailClient
		}
		lifted, err := tx.LockoutLift(ctx, tenant, id, bucket, now)
		if err == nil && !lifted {
			return ErrLockoutNotFound // lifted or ended meanwhile
		}
		return err
	})
}

// ReportCheck records the outcome of a check of something other than a
// code for an address (a password), made by the client at ip, under the
// same lockouts as wrong codes: Logto's sentinel, whose password and code
// failures share one pool. A failure (ok false) counts as a wrong code
// does, for the address with the client and for the address alone. While
// the address or the client is locked out the answer is ErrIdentifierLock
// (with RetryAfter) whatever the outcome, so a right password tells a
// guesser nothing then; otherwise it is nil.
//
// The check itself (an argon2id run) is the caller's, made before this and
// outside any transaction.
func (s *Service) ReportCheck(ctx context.Context, st *store.Store, tenant string, to address.Address, ip string, p Policy, ok bool) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("reporting a check: %w", err)
	}
	var outcome error
	err := st.InTx(ctx, func(tx *store.Tx) error {
		outcome = nil
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
		if ok {
			return nil
		}
		return s.countFailure(ctx, tx, g, p, now)
	})
	if err != nil {
		return err
	}
	return outcome
}
