// Package testwait is the one way authmail's tests wait for something
// that happens in another goroutine or process: poll a condition until it
// holds or a bound passes. Tests that can make an event deterministic
// (testing/synctest, a channel the code under test closes) do that
// instead; this is for what crosses a process, a socket or a queue.
package testwait

import (
	"fmt"
	"testing"
	"time"
)

// Until polls cond until it returns true, failing the test after timeout
// with the message format and args. The args are formatted at the
// failure, so a pointer to what cond last saw shows its final state.
// Polling starts at 5 ms and backs off to 50 ms.
func Until(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, fmt.Sprintf(format, args...))
		}
		time.Sleep(interval)
		interval = min(2*interval, 50*time.Millisecond)
	}
}
