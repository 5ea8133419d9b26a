// Package ratelimit caps how many requests one client may make to the
// public routes (the experience API, and the hosted pages and OIDC
// endpoints beside it). A cap counts per client key (its IP, an IPv6
// client by its /64) in a counter row per window in the database
// (rate_counters), so that every process enforces one limit, read as a
// sliding window estimated from the window in progress and the one
// before it. The same estimate serves the hourly send caps of package
// verification.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
)

// Limit is a cap: at most N requests per Window from one client, counted
// under Name (one name per group of routes that share a cap). N 0 is no
// cap.
type Limit struct {
	Name   string
	N      int
	Window time.Duration
}

// LimitedError refuses a request over its cap; RetryAfter is when the
// client may try again.
type LimitedError struct {
	Limit      Limit
	RetryAfter time.Duration
	// App says the cap is an application's (AllowApp), not a client's.
	App bool
}

// Error says which cap was reached.
func (e *LimitedError) Error() string {
	who := "this client"
	if e.App {
		who = "this application"
	}
	return fmt.Sprintf("too many requests from %s: at most %d per %s; try again in %s", who, e.Limit.N, e.Limit.Window, e.RetryAfter)
}

// Limiter counts requests in the database.
type Limiter struct {
	st   *store.Store
	keys *keyring.Keyring
	now  func() time.Time
}

// New returns a limiter over st; client keys are stored as keyed hashes
// made with keys; now is the clock.
func New(st *store.Store, keys *keyring.Keyring, now func() time.Time) *Limiter {
	return &Limiter{st: st, keys: keys, now: now}
}

// bucketPrefix keeps request caps apart from the send caps sharing the
// counters table.
const bucketPrefix = "requests:"

// Allow counts a request of the client at ip toward lim and returns a
// *LimitedError when the client is over it. Every request counts, the
// refused ones too, so a client that keeps knocking stays out. A client
// whose address is unknown ("") is not capped.
func (l *Limiter) Allow(ctx context.Context, tenant string, lim Limit, ip string) error {
	return l.count(ctx, tenant, lim, ClientKey(ip))
}

// AllowApp counts a request made for the application clientID toward lim,
// as Allow counts a client's: a cap on what one application's sign-ins
// without redirects may do, whatever addresses they come from. An empty
// clientID is not capped.
func (l *Limiter) AllowApp(ctx context.Context, tenant string, lim Limit, clientID string) error {
	if clientID == "" {
		return nil
	}
	err := l.count(ctx, tenant, lim, "app:"+clientID)
	var le *LimitedError
	if errors.As(err, &le) {
		le.App = true
	}
	return err
}

// count counts a request of the client key toward lim.
func (l *Limiter) count(ctx context.Context, tenant string, lim Limit, client string) error {
	if lim.N <= 0 || lim.Window <= 0 || client == "" {
		return nil
	}
	bucket := bucketPrefix + lim.Name
	now := l.now()
	start := windowStart(now, lim.Window)
	c, err := l.st.WriteQ().CounterHit(ctx, tenant, store.Counter{Bucket: bucket, Key: l.keys.IdentifierHash(tenant, bucket, client)},
		start, start.Add(-lim.Window))
	if err != nil {
		return err
	}
	// The request just counted is allowed while the estimate, it
	// included, stays within the cap.
	if wait := Wait(store.HourCounts{Current: c.Current - 1, Previous: c.Previous}, lim.N, now, start, lim.Window); wait > 0 {
		return &LimitedError{Limit: lim, RetryAfter: wait.Round(time.Second)}
	}
	return nil
}

// windowStart is the start of the fixed window of length w holding t.
func windowStart(t time.Time, w time.Duration) time.Time {
	return time.UnixMicro(t.UnixMicro() - t.UnixMicro()%w.Microseconds()).UTC()
}

// Wait is how long until a cap of limit events per window allows one more,
// given the counts of the window in progress (starting at start) and of
// the one before: zero when it does now. The sliding window is estimated
// from the two fixed ones, the earlier weighted by the share of it the
// sliding window still covers, as many rate limiters do: a few rows to
// read however many events are counted, exact for events spread evenly,
// and never off by more than the earlier window's count.
func Wait(c store.HourCounts, limit int, now, start time.Time, window time.Duration) time.Duration {
	f := float64(now.Sub(start)) / float64(window)
	cur, prev, l := float64(c.Current), float64(c.Previous), float64(limit)
	if prev*(1-f)+cur < l {
		return 0
	}
	// The share of the window in progress at which, with no more events,
	// the estimate falls below the limit: within it while its own count is
	// below the limit (prev is then above zero), else in the next window,
	// where this one's count is the previous one.
	until := 2 - l/cur
	if cur < l {
		until = 1 - (l-cur)/prev
	}
	return time.Duration((until-f)*float64(window)) + time.Second
}

// ClientKey is what a client's IP is counted under: an IPv4 address as it
// is, an IPv6 address by its /64 (a subscriber's usual allocation, so that
// hopping within it gains nothing), and an address that does not parse as
// it was given. Empty means unknown.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}
