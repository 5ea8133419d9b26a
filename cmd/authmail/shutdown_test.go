package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/testwait"
)

// TestSIGTERMFinishesInFlightSends sends SIGTERM while a request's first
// attempt and a queue worker's attempt are both in flight on a slow SMTP
// server: the process must let both finish, answer the request, exit 0,
// and a restart must show both messages sent, delivered once.
func TestSIGTERMFinishesInFlightSends(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, testSIGTERM)
}

func testSIGTERM(t *testing.T, database string) {
	const (
		viaRequest = "via-request@example.com"
		viaWorker  = "via-worker@example.com"
	)
	sink := startSink(t)
	slow := rcptAction{delay: time.Second}
	sink.setRule(func(rcpt string) rcptAction {
		if rcpt == viaWorker && sink.attemptsFor(rcpt) == 1 {
			return tempErr // the first attempt fails: the queue retries it
		}
		return slow
	})
	inst := newInstance(t, newKeys(), database)
	p := inst.start(t)
	p.useSink(sink)

	if status, body, err := p.sendCode(viaWorker); err != nil || status != http.StatusNoContent {
		t.Fatalf("sending to %s: status %d, err %v: %s", viaWorker, status, err, body)
	}
	testwait.Until(t, 30*time.Second, func() bool { return sink.attemptsFor(viaWorker) >= 2 }, "the queue's attempt for %s", viaWorker)
	answered := make(chan int, 1)
	go func() {
		status, _, err := p.sendCode(viaRequest)
		if err != nil {
			t.Errorf("the request in flight at SIGTERM failed: %v", err)
		}
		answered <- status
	}()
	testwait.Until(t, 10*time.Second, func() bool { return sink.attemptsFor(viaRequest) >= 1 }, "the first attempt for %s", viaRequest)
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages arrived before SIGTERM; both sends should still be in flight", n)
	}

	if code := p.terminate(25 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if status := <-answered; status != http.StatusNoContent {
		t.Errorf("the request in flight at SIGTERM answered %d, want 204", status)
	}
	got := sink.receivedBy()
	if got[viaRequest] != 1 || got[viaWorker] != 1 {
		t.Fatalf("received by the sink at exit: %v; want one message each for %s and %s", got, viaRequest, viaWorker)
	}
	if !strings.Contains(p.out.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", tail(p.out.String(), 20))
	}

	p = inst.start(t)
	log := p.messages()
	for to, attempts := range map[string]int{viaRequest: 1, viaWorker: 2} {
		if len(log[to]) != 1 || log[to][0].Status != "sent" || log[to][0].Attempts != attempts {
			t.Errorf("message log for %s after restart: %+v; want one message, sent, after %d attempts", to, log[to], attempts)
		}
	}
	if got := sink.receivedBy(); got[viaRequest] != 1 || got[viaWorker] != 1 {
		t.Errorf("received after restart: %v; want no duplicate", got)
	}
}
