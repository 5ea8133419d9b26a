package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmail/authmail/internal/smtpsink"
)

// client calls authmail's API over keep-alive connections.
type client struct {
	base, key string
	http      *http.Client
}

func newClient(base, key string, conc int) *client {
	tr := &http.Transport{MaxIdleConns: conc + 4, MaxIdleConnsPerHost: conc + 4, IdleConnTimeout: time.Minute}
	return &client{base: base, key: key, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// post sends a JSON body and returns the status and the response body.
func (c *client) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, err
}

// createSMTPConnector makes the SMTP connector pointing at the sink the
// tenant's active email connector.
func (c *client) createSMTPConnector(ctx context.Context, port, conns int) error {
	body, _ := json.Marshal(map[string]any{"connectorId": "smtp", "config": map[string]any{
		"host": "127.0.0.1", "port": port, "fromEmail": "Load test <no-reply@load.test>",
		"name": "authmail.load.test", "maxConnections": conns}})
	status, resp, err := c.post(ctx, "/api/connectors", body)
	if err != nil {
		return fmt.Errorf("creating the SMTP connector: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("creating the SMTP connector: %d %s", status, resp)
	}
	return nil
}

// raiseCaps lifts the domain and tenant caps to their highest values:
// every code of a run goes to one domain, thousands in a minute. The caps
// are still read and counted on every send, as with the defaults.
func (c *client) raiseCaps(ctx context.Context) error {
	body, _ := json.Marshal(map[string]any{"verificationCodePolicy": map[string]any{
		"domainSendLimit": 1000000, "tenantSendLimit": 10000000}})
	req, err := http.NewRequestWithContext(ctx, "PATCH", c.base+"/api/sign-in-exp", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("raising the send caps: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		// A build from before the caps (-server with an older binary) has
		// none to raise.
		if resp.StatusCode == http.StatusBadRequest && bytes.Contains(b, []byte(`"field":"domainSendLimit"`)) && bytes.Contains(b, []byte("unknown field")) {
			return nil
		}
		return fmt.Errorf("raising the send caps: %d %s", resp.StatusCode, b)
	}
	return nil
}

// sendResult is one code request.
type sendResult struct {
	to      string
	start   time.Time
	latency time.Duration
	err     string // empty when accepted (204)
}

// batch is the outcome of one series of requests.
type batch struct {
	results  []sendResult
	start    time.Time
	duration time.Duration
}

func (b *batch) accepted() int {
	n := 0
	for _, r := range b.results {
		if r.err == "" {
			n++
		}
	}
	return n
}

func (b *batch) firstError() string {
	for _, r := range b.results {
		if r.err != "" {
			return r.err
		}
	}
	return ""
}

// recipients are the addresses whose request was accepted.
func (b *batch) recipients() []string {
	var out []string
	for _, r := range b.results {
		if r.err == "" {
			out = append(out, r.to)
		}
	}
	return out
}

// send posts n codes to distinct addresses, conc at a time.
func (c *client) send(ctx context.Context, prefix string, n, conc int) *batch {
	run := randomHex(3)
	b := &batch{results: make([]sendResult, n)}
	for i := range b.results {
		b.results[i].err = "not sent: the run ended first"
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.start = time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				to := fmt.Sprintf("%s-%s-%d@load.test", prefix, run, i)
				body := []byte(`{"email":"` + to + `"}`)
				start := time.Now()
				status, resp, err := c.post(ctx, "/api/verification-codes", body)
				r := sendResult{to: to, start: start, latency: time.Since(start)}
				switch {
				case err != nil:
					r.err = err.Error()
				case status != http.StatusNoContent:
					r.err = fmt.Sprintf("%d %s", status, strings.TrimSpace(string(resp)))
				}
				b.results[i] = r
			}
		}()
	}
	wg.Wait()
	b.duration = time.Since(b.start)
	return b
}

// collector records when each recipient's message reached the sink.
type collector struct {
	in      <-chan smtpsink.Message
	mu      sync.Mutex
	arrived map[string]time.Time
	changed chan struct{}
}

func newCollector(in <-chan smtpsink.Message) *collector {
	return &collector{in: in, arrived: map[string]time.Time{}, changed: make(chan struct{}, 1)}
}

func (c *collector) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-c.in:
			c.mu.Lock()
			for _, to := range m.To {
				if _, seen := c.arrived[to]; !seen {
					c.arrived[to] = m.ReceivedAt
				}
			}
			c.mu.Unlock()
			select {
			case c.changed <- struct{}{}:
			default:
			}
		}
	}
}

// arrival returns when a recipient's first message arrived.
func (c *collector) arrival(to string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.arrived[to]
	return t, ok
}

// wait returns once every recipient has a message, or after limit.
func (c *collector) wait(ctx context.Context, recipients []string, limit time.Duration) {
	deadline := time.After(limit)
	for {
		missing := 0
		c.mu.Lock()
		for _, to := range recipients {
			if _, ok := c.arrived[to]; !ok {
				missing++
			}
		}
		c.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-c.changed:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// summarize computes the figures of a measured batch.
func summarize(o options, b *batch, col *collector) Result {
	res := Result{DB: o.db, Mode: o.mode, N: o.n, C: o.c, RequestSeconds: b.duration.Seconds()}
	var reqLat, inboxLat []time.Duration
	var last time.Time
	for _, r := range b.results {
		if r.err != "" {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = r.err
			}
			continue
		}
		res.Accepted++
		reqLat = append(reqLat, r.latency)
		if at, ok := col.arrival(r.to); ok {
			res.Delivered++
			inboxLat = append(inboxLat, at.Sub(r.start))
			if at.After(last) {
				last = at
			}
		}
	}
	res.RequestsPerSec = float64(res.Accepted) / b.duration.Seconds()
	if res.Delivered > 0 {
		res.DeliveredPerS = float64(res.Delivered) / last.Sub(b.start).Seconds()
	}
	res.DeliveredRatio = float64(res.Delivered) / float64(o.n)
	res.ReqP50Ms, res.ReqP99Ms = ms(percentile(reqLat, 50)), ms(percentile(reqLat, 99))
	res.InboxP50Ms, res.InboxP99Ms = ms(percentile(inboxLat, 50)), ms(percentile(inboxLat, 99))
	return res
}

// percentile is the nearest-rank percentile p of d.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
