package verification_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/verification"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// addr parses a test address that is known to be valid.
func addr(s string) address.Address {
	a, err := address.Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

type bundle struct {
	st    *store.Store
	svc   *verification.Service
	clock *clock
}

func issue(t *testing.T, b bundle, email string, p verification.Policy) (string, error) {
	t.Helper()
	var code string
	err := b.st.InTx(context.Background(), func(tx *store.Tx) error {
		is, err := b.svc.Issue(context.Background(), tx, "default", addr(email), "Generic", "", p)
		code = is.Code
		return err
	})
	return code, err
}

func TestVerification(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		keys, _ := keyring.New(keyring.RandomBytes(keyring.KeySize))
		setup := func() bundle {
			c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			return bundle{st: st, svc: verification.New(keys, c.Now), clock: c}
		}
		ctx := context.Background()
		p := verification.DefaultPolicy()

		t.Run("RightCodeVerifiesOnce", func(t *testing.T) {
			b := setup()
			code, err := issue(t, b, "Once@Example.com", p)
			if err != nil || len(code) != 6 {
				t.Fatalf("issue = %q, %v", code, err)
			}
			if err := b.svc.Verify(ctx, st, "default", addr("once@example.com"), "Generic", code, "", p); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if err := b.svc.Verify(ctx, st, "default", addr("once@example.com"), "Generic", code, "", p); !errors.Is(err, verification.ErrNotFound) {
				t.Fatalf("second verify = %v, want not_found", err)
			}
		})

		t.Run("CodeIsStoredOnlyAsKeyedHash", func(t *testing.T) {
			b := setup()
			code, _ := issue(t, b, "hash@example.com", p)
			c, err := st.CodeGet(ctx, "default", "hash@example.com", "Generic")
			if err != nil {
				t.Fatal(err)
			}
			if c.Hash == code || len(c.Hash) != 64 {
				t.Fatalf("stored %q for code %q", c.Hash, code)
			}
		})

		t.Run("EleventhTryFailsEvenWithTheRightCode", func(t *testing.T) {
			b := setup()
			code, _ := issue(t, b, "tries@example.com", p)
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			for i := 0; i < 10; i++ {
				if err := b.svc.Verify(ctx, st, "default", addr("tries@example.com"), "Generic", wrong, "", p); !errors.Is(err, verification.ErrMismatch) {
					t.Fatalf("try %d = %v, want code_mismatch", i+1, err)
				}
			}
			if err := b.svc.Verify(ctx, st, "default", addr("tries@example.com"), "Generic", code, "", p); !errors.Is(err, verification.ErrExceedMaxTry) {
				t.Fatalf("11th try = %v, want exceed_max_try", err)
			}
		})

		t.Run("ExpiredCode", func(t *testing.T) {
			b := setup()
			code, _ := issue(t, b, "late@example.com", p)
			b.clock.Add(600 * time.Second)
			if err := b.svc.Verify(ctx, st, "default", addr("late@example.com"), "Generic", code, "", p); !errors.Is(err, verification.ErrExpired) {
				t.Fatalf("verify = %v, want expired", err)
			}
		})

		t.Run("NewCodeReplacesOldAfterCooldown", func(t *testing.T) {
			b := setup()
			first, _ := issue(t, b, "again@example.com", p)
			if _, err := issue(t, b, "again@example.com", p); !errors.Is(err, verification.ErrResendTooSoon) {
				t.Fatalf("resend within cooldown = %v, want resend_too_soon", err)
			}
			var e *verification.Error
			if _, err := issue(t, b, "again@example.com", p); !errors.As(err, &e) || e.RetryAfter != 60*time.Second {
				t.Fatalf("retry after = %+v", e)
			}
			b.clock.Add(61 * time.Second)
			second, err := issue(t, b, "again@example.com", p)
			if err != nil {
				t.Fatal(err)
			}
			if first != second {
				if err := b.svc.Verify(ctx, st, "default", addr("again@example.com"), "Generic", first, "", p); !errors.Is(err, verification.ErrMismatch) {
					t.Fatalf("old code = %v, want code_mismatch", err)
				}
			}
			if err := b.svc.Verify(ctx, st, "default", addr("again@example.com"), "Generic", second, "", p); err != nil {
				t.Fatalf("new code: %v", err)
			}
		})

		t.Run("PerRecipientSendCap", func(t *testing.T) {
			b := setup()
			p := noCooldown()
			for i := 0; i < 10; i++ {
				if _, err := issue(t, b, "cap@example.com", p); err != nil {
					t.Fatalf("send %d: %v", i+1, err)
				}
				b.clock.Add(10 * time.Second)
			}
			_, err := issue(t, b, "cap@example.com", p)
			var e *verification.Error
			if !errors.As(err, &e) || e.Code != "request.message_rate_limited" {
				t.Fatalf("11th send = %v, want request.message_rate_limited", err)
			}
			if e.RetryAfter <= 0 || e.RetryAfter > 10*time.Minute {
				t.Fatalf("retry after = %v", e.RetryAfter)
			}
			if _, err := issue(t, b, "other@example.com", p); err != nil {
				t.Fatalf("the cap leaked to another recipient: %v", err)
			}
			b.clock.Add(e.RetryAfter)
			if _, err := issue(t, b, "cap@example.com", p); err != nil {
				t.Fatalf("send after the window: %v", err)
			}
		})

		t.Run("IdentifierLockout", func(t *testing.T) {
			b := setup()
			lp := lockoutAfter(3)
			code, _ := issue(t, b, "lock@example.com", lp)
			for i := 0; i < 3; i++ {
				_ = b.svc.Verify(ctx, st, "default", addr("lock@example.com"), "Generic", "x", "", lp)
			}
			if err := b.svc.Verify(ctx, st, "default", addr("lock@example.com"), "Generic", code, "", lp); !errors.Is(err, verification.ErrIdentifierLock) {
				t.Fatalf("verify while locked = %v, want lockout", err)
			}
			b.clock.Add(61 * time.Minute)
			if err := b.svc.Verify(ctx, st, "default", addr("lock@example.com"), "Generic", code, "", lp); !errors.Is(err, verification.ErrExpired) {
				t.Fatalf("after lockout = %v, want expired (the code outlived by the lock)", err)
			}
		})
	})
}

// TestCapHoldsAcrossProcesses sends concurrently through two separate
// connection pools on one PostgreSQL database, as two authmail processes
// would: the per-recipient cap must still hold exactly.
func TestCapHoldsAcrossProcesses(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	var stores []*store.Store
	for i := 0; i < 2; i++ {
		st, err := store.Open(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
	}
	keys, _ := keyring.New(keyring.RandomBytes(keyring.KeySize))
	svc := verification.New(keys, time.Now)
	p := noCooldown()
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent, limited := 0, 0
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(st *store.Store) {
			defer wg.Done()
			err := st.InTx(ctx, func(tx *store.Tx) error {
				_, err := svc.Issue(ctx, tx, "default", addr("race@example.com"), "Generic", "", p)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				sent++
			case errors.Is(err, verification.ErrRateLimited):
				limited++
			default:
				t.Errorf("issue: %v", err)
			}
		}(stores[i%2])
	}
	wg.Wait()
	if sent != 10 || limited != 14 {
		t.Fatalf("sent %d and limited %d of 24 concurrent sends; want exactly 10 sent", sent, limited)
	}
}
