package delivery

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestBackoffFitsACodesLifetime(t *testing.T) {
	var total time.Duration
	prev := time.Duration(0)
	for attempt := 1; attempt <= 6; attempt++ {
		d := backoff(attempt, 0)
		if d <= prev {
			t.Fatalf("retry %d waits %v, not longer than %v", attempt, d, prev)
		}
		prev = d
		total += d
	}
	if first := backoff(1, 0); first > 5*time.Second {
		t.Errorf("the first retry waits %v; a code needs its first retries within seconds", first)
	}
	// Six retries fit in a default 10-minute code.
	if total > 10*time.Minute {
		t.Errorf("six retries take %v, longer than a default code lives", total)
	}
	if got := backoff(100, 0); got != backoffSteps[len(backoffSteps)-1] {
		t.Errorf("late retries wait %v, want the cap %v", got, backoffSteps[len(backoffSteps)-1])
	}
	for _, r := range []float64{-1, 1} {
		d := backoff(3, r)
		if d < 9*time.Second || d > 11*time.Second {
			t.Errorf("jitter %v gives %v, want within 10%% of 10s", r, d)
		}
	}
}

func TestExpiredReasonKeepsTheLastError(t *testing.T) {
	if got := expiredReason(""); got != "expired before delivery" {
		t.Errorf("got %q", got)
	}
	if got := expiredReason("temporary failure (status 503)"); got != "expired before delivery; last error: temporary failure (status 503)" {
		t.Errorf("got %q", got)
	}
}

// TestNextRetryUsesTheServiceClock: the retry time is reckoned from the
// clock the service was given, like the safety-net job's schedule, and a
// job whose attempt began RescueAfter ago by that clock runs at once.
func TestNextRetryUsesTheServiceClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := retryPolicy{rescueAfter: 30 * time.Second, now: func() time.Time { return at }}
	recent := at.Add(-time.Second)
	next := p.NextRetry(&rivertype.JobRow{Attempt: 1, AttemptedAt: &recent})
	if d := next.Sub(at); d < 1800*time.Millisecond || d > 2200*time.Millisecond {
		t.Errorf("first retry at %v, want 2s ±10%% after the service clock's %v", next, at)
	}
	stuck := at.Add(-31 * time.Second)
	if next := p.NextRetry(&rivertype.JobRow{Attempt: 1, AttemptedAt: &stuck}); !next.Equal(at) {
		t.Errorf("a rescued job retries at %v, want now by the service clock (%v)", next, at)
	}
}
