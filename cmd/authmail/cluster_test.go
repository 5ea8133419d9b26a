package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/testwait"
)

// TestTwoProcessesShareTheQueue runs two authmail processes on one
// PostgreSQL database. Every first attempt fails temporarily, so the queue
// delivers everything: each recipient must get exactly one message, and
// both processes must have delivered some.
func TestTwoProcessesShareTheQueue(t *testing.T) {
	t.Parallel()
	database := storetest.PostgresURL(t)
	sink := startSink(t)
	sink.setRule(func(string) rcptAction { return tempErr })
	k := newKeys()
	dir := t.TempDir()
	a := instance{dataDir: filepath.Join(dir, "a"), database: database, env: k.env()}.start(t)
	b := instance{dataDir: filepath.Join(dir, "b"), database: database, env: k.env()}.start(t)
	a.useSink(sink) // stored in the shared database: b uses it too

	const n = 60
	to := recipients("shared", n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, addr := range to {
		p := a
		if i%2 == 1 {
			p = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body, err := p.sendCode(addr)
			if err != nil || status != http.StatusNoContent {
				errs <- fmt.Errorf("sending to %s through %s: status %d, err %v: %s", addr, p.url, status, err, body)
			}
		}()
		if i%8 == 7 {
			wg.Wait() // eight requests in flight at most
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, addr := range to {
		if sink.attemptsFor(addr) != 1 {
			t.Fatalf("%s: %d attempts before the queue ran, want the first attempt only", addr, sink.attemptsFor(addr))
		}
	}
	if got := len(sink.Messages()); got != 0 {
		t.Fatalf("the sink accepted %d messages while refusing", got)
	}

	// The queue takes over ten seconds after each send. A slow server keeps
	// each process's workers busy, so both fetch jobs.
	sink.setRule(func(string) rcptAction { return rcptAction{delay: 200 * time.Millisecond} })
	testwait.Until(t, 60*time.Second, func() bool { return len(sink.receivedBy()) == n }, "every message to arrive")
	testwait.Until(t, 10*time.Second, func() bool {
		log := a.messages()
		for _, addr := range to {
			if len(log[addr]) != 1 || log[addr][0].Status != "sent" {
				return false
			}
		}
		return true
	}, "every message to be logged as sent")
	got := sink.receivedBy()
	for _, addr := range to {
		if got[addr] != 1 {
			t.Errorf("%s received %d messages, want exactly 1", addr, got[addr])
		}
	}
	if len(got) != n {
		t.Errorf("the sink received mail for %d addresses, want %d", len(got), n)
	}
	sentA, sentB := a.sentCount(), b.sentCount()
	t.Logf("process a delivered %d, process b delivered %d", sentA, sentB)
	if sentA == 0 || sentB == 0 {
		t.Errorf("one process did all the work: a sent %d, b sent %d", sentA, sentB)
	}
	if sentA+sentB != n {
		t.Errorf("the processes report %d sends, want %d", sentA+sentB, n)
	}
}
