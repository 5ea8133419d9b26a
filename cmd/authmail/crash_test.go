package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/testwait"
)

// forEachDatabase runs fn against SQLite in the data dir and against a
// fresh PostgreSQL schema (skipped without AUTHMAIL_TEST_DATABASE_URL,
// except under CI=true), in parallel.
func forEachDatabase(t *testing.T, fn func(t *testing.T, database string)) {
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		fn(t, "")
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, storetest.PostgresURL(t))
	})
}

// TestKillLosesNothing kills authmail with SIGKILL while messages are
// waiting for a retry, while a worker's attempt is in flight and while a
// request's first attempt is in flight, then restarts it on the same data:
// every message must arrive exactly once within a minute, with production
// settings.
func TestKillLosesNothing(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, testKillLosesNothing)
}

func testKillLosesNothing(t *testing.T, database string) {
	sink := startSink(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseHeld := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseHeld)
	const (
		inWorker  = "in-worker@example.com"  // a worker's attempt is in flight at the kill
		inRequest = "in-request@example.com" // the request's first attempt is in flight at the kill
	)
	sink.setRule(func(rcpt string) rcptAction {
		if rcpt == inWorker || rcpt == inRequest {
			return rcptAction{hold: release, refuse: true}
		}
		return tempErr
	})
	inst := newInstance(t, newKeys(), database)
	p := inst.start(t)
	p.useSink(sink)

	// The held first attempt lasts the first-attempt wait (8s), then the
	// request answers 204 and the job takes over at 10s.
	workerSent := make(chan int, 1)
	go func() {
		status, _, _ := p.sendCode(inWorker)
		workerSent <- status
	}()
	queued := recipients("queued", 30)
	for _, to := range queued {
		status, body, err := p.sendCode(to)
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("sending to %s: status %d, err %v: %s", to, status, err, body)
		}
	}
	if status := <-workerSent; status != http.StatusNoContent {
		t.Fatalf("sending to %s: status %d, want 204 (a held attempt is a temporary failure)", inWorker, status)
	}
	testwait.Until(t, 30*time.Second, func() bool { return sink.attemptsFor(inWorker) >= 2 }, "the queue's attempt for %s", inWorker)
	go func() { _, _, _ = p.sendCode(inRequest) }() // the kill interrupts it
	testwait.Until(t, 10*time.Second, func() bool { return sink.attemptsFor(inRequest) >= 1 }, "the first attempt for %s", inRequest)

	for to, ms := range p.messages() {
		for _, m := range ms {
			if m.Status == "sent" || m.Status == "failed" {
				t.Fatalf("message to %s is %s before the kill; the sink accepted nothing", to, m.Status)
			}
		}
	}
	p.kill()
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("the sink received %d messages before the kill, want 0", n)
	}
	sink.setRule(nil)
	releaseHeld()

	restart := time.Now()
	p = inst.start(t)
	want := append([]string{inWorker, inRequest}, queued...)
	var missing []string
	testwait.Until(t, 60*time.Second, func() bool {
		got := sink.receivedBy()
		missing = missing[:0]
		for _, to := range want {
			if got[to] == 0 {
				missing = append(missing, to)
			}
		}
		return len(missing) == 0
	}, "%s", lazy(func() string {
		log := p.messages()
		var states []string
		for _, to := range missing {
			for _, m := range log[to] {
				states = append(states, to+": "+m.Status+" ("+m.LastError+")")
			}
		}
		return fmt.Sprintf("%d of %d messages did not arrive after the restart:\n%s", len(missing), len(want), strings.Join(states, "\n"))
	}))
	t.Logf("all %d messages arrived %s after the restart", len(want), time.Since(restart).Round(100*time.Millisecond))

	// The sink has every message; its log row says sent once the attempt
	// that delivered it is recorded.
	var pending []string
	testwait.Until(t, 20*time.Second, func() bool {
		log := p.messages()
		pending = pending[:0]
		for _, to := range want {
			if len(log[to]) != 1 || log[to][0].Status != "sent" {
				state := "no log row"
				if len(log[to]) > 0 {
					state = fmt.Sprintf("%d rows, first %s (%s)", len(log[to]), log[to][0].Status, log[to][0].LastError)
				}
				pending = append(pending, to+": "+state)
			}
		}
		return len(pending) == 0
	}, "messages delivered but not logged as sent:\n%s", lazy(func() string { return strings.Join(pending, "\n") }))
	for to, n := range sink.receivedBy() {
		if n != 1 {
			t.Errorf("%s received %d messages, want 1", to, n)
		}
	}
	if got := len(sink.receivedBy()); got != len(want) {
		t.Errorf("the sink received mail for %d addresses, want %d", got, len(want))
	}
}

// lazy is a failure message worked out only when it is printed.
type lazy func() string

func (l lazy) String() string { return l() }
