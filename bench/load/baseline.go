package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/authmail/authmail/internal/smtpsink"
)

// runBaseline measures the sink alone: conc plain go-smtp clients, one
// connection each (reused, like the connector's pool), send n messages
// of the size of a code email. It is the ceiling any delivery through
// the sink can reach on this machine.
func runBaseline(ctx context.Context, o options) (Result, error) {
	sink, err := smtpsink.Start()
	if err != nil {
		return Result{}, err
	}
	defer sink.Close()
	arrivals := sink.Subscribe(o.n + 100)
	col := newCollector(arrivals)
	go col.run(ctx)
	body := "From: no-reply@load.test\r\nSubject: Your code\r\nContent-Type: text/plain\r\n\r\n" +
		strings.Repeat("Your verification code is 123456, valid for 10 minutes.\r\n", 30)
	b := &batch{results: make([]sendResult, o.n)}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	b.start = time.Now()
	for range o.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(sink.Addr())
			if err != nil {
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1) - 1)
				if i >= o.n || ctx.Err() != nil {
					return
				}
				to := fmt.Sprintf("base-%d@load.test", i)
				start := time.Now()
				err := c.SendMail("no-reply@load.test", []string{to}, strings.NewReader(body))
				r := sendResult{to: to, start: start, latency: time.Since(start)}
				if err != nil {
					r.err = err.Error()
				}
				b.results[i] = r
			}
		}()
	}
	wg.Wait()
	b.duration = time.Since(b.start)
	if e, ok := firstErr.Load().(string); ok {
		return Result{}, fmt.Errorf("baseline: %s", e)
	}
	col.wait(ctx, b.recipients(), 30*time.Second)
	o.db, o.mode = "none", "sink-baseline"
	return summarize(o, b, col), nil
}
