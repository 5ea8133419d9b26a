package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestAllowCapsEachClientAndSharesTheCountThroughTheDatabase: the cap's
// N requests pass and the next is refused with a wait within the window;
// another client is not affected, an IPv6 client is one with its /64, a
// second limiter on the same database (another process) sees the same
// count, and once the window has slid by the client may come back.
func TestAllowCapsEachClientAndSharesTheCountThroughTheDatabase(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		keys, err := keyring.New([]byte("ratelimit-test-key-0123456789abc"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2030, 1, 1, 12, 0, 30, 0, time.UTC)
		clock := func() time.Time { return now }
		one, other := ratelimit.New(s, keys, clock), ratelimit.New(s, keys, clock)
		lim := ratelimit.Limit{Name: "test", N: 3, Window: time.Minute}
		for i, l := range []*ratelimit.Limiter{one, other, one} {
			if err := l.Allow(ctx, "default", lim, "192.0.2.1"); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		var le *ratelimit.LimitedError
		if err := other.Allow(ctx, "default", lim, "192.0.2.1"); !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetryAfter > time.Minute+time.Second {
			t.Fatalf("4th request: %v, want a LimitedError with a wait within the window", err)
		}
		if err := one.Allow(ctx, "default", lim, "192.0.2.2"); err != nil {
			t.Errorf("another client: %v", err)
		}
		for i, ip := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::ffff:1"} {
			if err := one.Allow(ctx, "default", lim, ip); err != nil {
				t.Fatalf("IPv6 request %d: %v", i+1, err)
			}
		}
		if err := one.Allow(ctx, "default", lim, "2001:db8::3"); !errors.As(err, &le) {
			t.Errorf("a 4th address of the same /64: %v, want refused", err)
		}
		if err := one.Allow(ctx, "default", lim, "2001:db8:0:1::1"); err != nil {
			t.Errorf("another /64: %v", err)
		}
		if err := one.Allow(ctx, "default", lim, ""); err != nil {
			t.Errorf("an unknown client: %v", err)
		}
		now = now.Add(2 * time.Minute)
		if err := one.Allow(ctx, "default", lim, "192.0.2.1"); err != nil {
			t.Errorf("two windows later: %v", err)
		}
	})
}

// TestWaitEndsWhenTheSlidingEstimateFallsBelowTheLimit: the wait Wait
// gives is the moment the estimate allows one more, not earlier.
func TestWaitEndsWhenTheSlidingEstimateFallsBelowTheLimit(t *testing.T) {
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w := time.Minute
	for _, c := range []store.HourCounts{{Current: 5, Previous: 0}, {Current: 2, Previous: 10}, {Current: 9, Previous: 3}} {
		now := start.Add(15 * time.Second)
		wait := ratelimit.Wait(c, 5, now, start, w)
		if wait <= 0 {
			t.Fatalf("%+v: no wait, want one", c)
		}
		// At the end of the wait the same counts (shifted when it crosses
		// into the next window) allow a request.
		at := now.Add(wait)
		cc, st := c, start
		if at.Sub(start) >= w {
			cc, st = store.HourCounts{Previous: c.Current}, start.Add(w)
		}
		if ratelimit.Wait(cc, 5, at, st, w) != 0 {
			t.Errorf("%+v: still refused after the %s wait", c, wait)
		}
		if before := now.Add(wait - 2*time.Second); before.Sub(start) < w && ratelimit.Wait(c, 5, before, start, w) == 0 {
			t.Errorf("%+v: allowed 2 s before the end of the %s wait", c, wait)
		}
	}
}
