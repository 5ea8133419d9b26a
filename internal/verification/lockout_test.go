package verification_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/verification"
)

// verify checks code for email, given by the client at ip.
func verify(b bundle, email, code, ip string, p verification.Policy) error {
	return b.svc.Verify(context.Background(), b.st, "default", addr(email), "Generic", code, ip, p)
}

// issueCode sends a code to email and returns it with a wrong one.
func issueCode(t *testing.T, b bundle, email string, p verification.Policy) (right, wrong string) {
	t.Helper()
	var code string
	err := b.st.InTx(context.Background(), func(tx *store.Tx) error {
		is, err := b.svc.Issue(context.Background(), tx, "default", addr(email), "Generic", "", p)
		code = is.Code
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wrong = "000000"
	if code == wrong {
		wrong = "111111"
	}
	return code, wrong
}

// locked fails the test unless err is a lockout of about d.
func locked(t *testing.T, err error, d time.Duration, what string) {
	t.Helper()
	var e *verification.Error
	if !errors.As(err, &e) || !errors.Is(err, verification.ErrIdentifierLock) {
		t.Fatalf("%s = %v, want %v", what, err, verification.ErrIdentifierLock)
	}
	if !near(e.RetryAfter, d) {
		t.Errorf("%s: retry after %v, want about %v", what, e.RetryAfter, d)
	}
}

func TestLockouts(t *testing.T) {
	policy := func(client, address int) verification.Policy {
		return with(func(p *verification.Policy) {
			p.LockoutFailures, p.Sentinel.MaxAttempts, p.Sentinel.LockoutDuration = client, address, 30
		})
	}

	capsTest(t, "ChecksWithoutALiveCodeDoNotCount", func(t *testing.T, b bundle) {
		p := with(func(p *verification.Policy) {
			p.LockoutFailures, p.Sentinel.MaxAttempts, p.MaxRetryAttempts = 3, 3, 2
		})
		const to = "victim@example.com"
		// No code at all: 100 junk checks.
		for i := range 100 {
			if err := verify(b, to, "123456", "203.0.113.9", p); !errors.Is(err, verification.ErrNotFound) {
				t.Fatalf("junk check %d = %v, want %v", i+1, err, verification.ErrNotFound)
			}
		}
		// A code used up by its two tries (two failures, below the three
		// that lock), then checked again and again.
		_, wrong := issueCode(t, b, to, p)
		for range 2 {
			if err := verify(b, to, wrong, "203.0.113.9", p); !errors.Is(err, verification.ErrMismatch) {
				t.Fatalf("wrong code = %v", err)
			}
		}
		for range 20 {
			if err := verify(b, to, wrong, "203.0.113.9", p); !errors.Is(err, verification.ErrExceedMaxTry) {
				t.Fatalf("check of a used-up code = %v, want %v", err, verification.ErrExceedMaxTry)
			}
		}
		// An expired code, checked again and again.
		b.clock.Add(time.Duration(p.ResendCooldown) * time.Second)
		issueCode(t, b, to, p)
		b.clock.Add(time.Duration(p.ExpirationDuration) * time.Second)
		for range 20 {
			if err := verify(b, to, wrong, "203.0.113.9", p); !errors.Is(err, verification.ErrExpired) {
				t.Fatalf("check of an expired code = %v, want %v", err, verification.ErrExpired)
			}
		}
		right, _ := issueCode(t, b, to, p)
		if err := verify(b, to, right, "203.0.113.9", p); err != nil {
			t.Fatalf("the owner's right code after 142 checks without a live code: %v", err)
		}
	})

	capsTest(t, "AClientLocksOutOnlyItself", func(t *testing.T, b bundle) {
		p := policy(3, 100)
		const to = "alice@example.com"
		right, wrong := issueCode(t, b, to, p)
		for range 3 {
			if err := verify(b, to, wrong, "203.0.113.66", p); !errors.Is(err, verification.ErrMismatch) {
				t.Fatal(err)
			}
		}
		locked(t, verify(b, to, right, "203.0.113.66", p), 30*time.Minute, "the guessing client's right code")
		if err := verify(b, to, right, "203.0.113.7", p); err != nil {
			t.Fatalf("another client's right code: %v", err)
		}
	})

	capsTest(t, "ManyClientsReachTheAddressCeiling", func(t *testing.T, b bundle) {
		p := policy(3, 5)
		const to = "bob@example.com"
		right, wrong := issueCode(t, b, to, p)
		for i := range 5 {
			if err := verify(b, to, wrong, fmt.Sprintf("2001:db8:%d::1", i), p); !errors.Is(err, verification.ErrMismatch) {
				t.Fatalf("wrong code %d = %v", i+1, err)
			}
		}
		locked(t, verify(b, to, right, "198.51.100.1", p), 30*time.Minute, "a new client's right code once the address is locked")
		b.clock.Add(30 * time.Minute)
		right, _ = issueCode(t, b, to, p)
		if err := verify(b, to, right, "198.51.100.1", p); err != nil {
			t.Fatalf("a new code once the lockout ended: %v", err)
		}
	})

	capsTest(t, "AnAdminListsAndLiftsLockouts", func(t *testing.T, b bundle) {
		ctx := context.Background()
		p := policy(2, 3)
		const to, ip = "carol@example.com", "2001:db8:aa:bb:1::9"
		right, wrong := issueCode(t, b, to, p)
		for range 2 {
			_ = verify(b, to, wrong, ip, p)
		}
		other := "dave@example.com"
		_, otherWrong := issueCode(t, b, other, p)
		for i := range 3 {
			_ = verify(b, other, otherWrong, fmt.Sprintf("198.51.100.%d", i), p)
		}

		all, err := b.svc.Lockouts(ctx, b.st.Reader, "default", nil, 0)
		if err != nil || len(all) != 2 {
			t.Fatalf("lockouts = %+v, %v; want carol's client and dave's address", all, err)
		}
		carol := addr(to)
		mine, err := b.svc.Lockouts(ctx, b.st.Reader, "default", &carol, 0)
		if err != nil || len(mine) != 1 {
			t.Fatalf("carol's lockouts = %+v, %v; want one", mine, err)
		}
		l := mine[0]
		if l.Scope != verification.ScopeClient || l.Email != to || l.IP != "2001:db8:aa:bb::/64" ||
			!l.LockedAt.Equal(b.clock.Now()) || !l.Until.Equal(b.clock.Now().Add(30*time.Minute)) || l.ID == "" {
			t.Errorf("carol's lockout = %+v", l)
		}
		dave := addr(other)
		if ls, err := b.svc.Lockouts(ctx, b.st.Reader, "default", &dave, 0); err != nil || len(ls) != 1 ||
			ls[0].Scope != verification.ScopeAddress || ls[0].Email != other || ls[0].IP != "" {
			t.Errorf("dave's lockouts = %+v, %v; want his address's", ls, err)
		}

		if err := b.svc.Lift(ctx, b.st, "default", l.ID); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Lift(ctx, b.st, "default", l.ID); !errors.Is(err, verification.ErrLockoutNotFound) {
			t.Errorf("lifting it again = %v, want %v", err, verification.ErrLockoutNotFound)
		}
		if mine, _ := b.svc.Lockouts(ctx, b.st.Reader, "default", &carol, 0); len(mine) != 0 {
			t.Errorf("carol's lockouts after the lift = %+v", mine)
		}
		// The lift forgot the client's two failures: one more does not
		// lock it again. (The address's own count goes on: 3 reaches it.)
		if err := verify(b, to, wrong, ip, p); !errors.Is(err, verification.ErrMismatch) {
			t.Fatalf("a wrong code after the lift = %v, want %v", err, verification.ErrMismatch)
		}
		locked(t, verify(b, to, right, ip, p), 30*time.Minute, "the right code after the address's third failure")
	})

	capsTest(t, "PasswordAndCodeFailuresShareOnePoolUntilLifted", func(t *testing.T, b bundle) {
		ctx := context.Background()
		p := policy(3, 100)
		const to, ip = "frank@example.com", "203.0.113.5"
		report := func(ok bool) error { return b.svc.ReportCheck(ctx, b.st, "default", addr(to), ip, p, ok) }
		right, wrong := issueCode(t, b, to, p)
		// Two wrong passwords, given with another spelling of the address,
		// and one wrong code: three failures of one client for one address.
		for range 2 {
			if err := b.svc.ReportCheck(ctx, b.st, "default", addr("Frank@EXAMPLE.com"), ip, p, false); err != nil {
				t.Fatalf("a wrong password below the threshold = %v, want nil", err)
			}
		}
		if err := verify(b, to, wrong, ip, p); !errors.Is(err, verification.ErrMismatch) {
			t.Fatal(err)
		}
		locked(t, report(true), 30*time.Minute, "the right password once the pool is full")
		locked(t, verify(b, to, right, ip, p), 30*time.Minute, "the right code once the pool is full")
		if err := b.svc.ReportCheck(ctx, b.st, "default", addr(to), "198.51.100.7", p, true); err != nil {
			t.Errorf("another client's right password: %v", err)
		}
		who := addr(to)
		ls, err := b.svc.Lockouts(ctx, b.st.Reader, "default", &who, 0)
		if err != nil || len(ls) != 1 || ls[0].Scope != verification.ScopeClient || ls[0].IP != ip {
			t.Fatalf("frank's lockouts = %+v, %v; want his client's", ls, err)
		}
		if err := b.svc.Lift(ctx, b.st, "default", ls[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := report(true); err != nil {
			t.Errorf("the right password after the lift: %v", err)
		}
	})

	capsTest(t, "ALockoutKeepsItsAddressSealed", func(t *testing.T, b bundle) {
		p := policy(1, 1)
		const to, ip = "erin@example.com", "192.0.2.44"
		_, wrong := issueCode(t, b, to, p)
		_ = verify(b, to, wrong, ip, p)
		rows, err := b.st.LockoutList(context.Background(), store.LockoutFilter{Tenant: "default", Now: b.clock.Now()})
		if err != nil || len(rows) != 2 {
			t.Fatalf("lockout rows = %+v, %v; want the client's and the address's", rows, err)
		}
		for _, r := range rows {
			for _, field := range []string{r.KeyHash, r.AddressHash, r.Subject} {
				if field == "" || strings.Contains(field, "erin") || strings.Contains(field, ip) {
					t.Errorf("lockout row %+v holds %q, which shows the address or the IP (or nothing)", r, field)
				}
			}
		}
	})
}
