package smtp

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Pool limits. A connection idle longer than idleTimeoutDefault is closed
// rather than reused, and one that carried maxMessagesDefault messages is
// replaced, as nodemailer's pool does.
const (
	idleTimeoutDefault = 30 * time.Second
	maxMessagesDefault = 100
)

// errPoolClosed is returned by a Send after Close.
var errPoolClosed = errors.New("smtp connector is closed")

// pool keeps up to max open, authenticated connections. Each connection is
// used by one Send at a time; a Send waits for a free slot when all are busy.
type pool struct {
	dial        func(ctx context.Context) (*conn, error)
	idleTimeout time.Duration
	maxMessages int

	slots chan struct{} // one token per connection in use

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
	reaper *time.Timer
	quits  sync.WaitGroup
}

func newPool(maxConns int, dial func(ctx context.Context) (*conn, error)) *pool {
	return &pool{
		dial:        dial,
		idleTimeout: idleTimeoutDefault,
		maxMessages: maxMessagesDefault,
		slots:       make(chan struct{}, maxConns),
	}
}

// get returns an idle connection, or dials one, once a slot is free.
// reused reports whether the connection served an earlier message.
func (p *pool) get(ctx context.Context) (c *conn, reused bool, err error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	c, err = p.takeIdle()
	if err != nil {
		<-p.slots
		return nil, false, err
	}
	if c != nil {
		return c, true, nil
	}
	c, err = p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, false, err
	}
	return c, false, nil
}

// takeIdle pops the most recently used idle connection that has not idled
// too long; the others that have are closed.
func (p *pool) takeIdle() (*conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	expired := p.expireLocked(time.Now())
	var c *conn
	if n := len(p.idle); n > 0 {
		c = p.idle[n-1]
		p.idle = p.idle[:n-1]
	}
	p.mu.Unlock()
	p.quitAll(expired)
	return c, nil
}

// put returns a connection that just delivered a message.
func (p *pool) put(c *conn) {
	defer func() { <-p.slots }()
	c.lastUsed = time.Now()
	c.sent++
	p.mu.Lock()
	if p.closed || c.raw.broken() || c.sent >= p.maxMessages {
		p.mu.Unlock()
		p.quitAll([]*conn{c})
		return
	}
	p.idle = append(p.idle, c)
	if p.reaper == nil {
		p.reaper = time.AfterFunc(p.idleTimeout, p.reap)
	}
	p.mu.Unlock()
}

// discard drops a connection that failed.
func (p *pool) discard(c *conn) {
	c.close()
	<-p.slots
}

// reap closes connections that idled too long.
func (p *pool) reap() {
	p.mu.Lock()
	p.reaper = nil
	expired := p.expireLocked(time.Now())
	if len(p.idle) > 0 && !p.closed {
		next := p.idle[0].lastUsed.Add(p.idleTimeout).Sub(time.Now())
		p.reaper = time.AfterFunc(max(next, time.Millisecond), p.reap)
	}
	p.mu.Unlock()
	p.quitAll(expired)
}

// expireLocked removes and returns the idle connections older than the
// idle timeout.
func (p *pool) expireLocked(now time.Time) []*conn {
	var expired []*conn
	kept := p.idle[:0]
	for _, c := range p.idle {
		if now.Sub(c.lastUsed) >= p.idleTimeout {
			expired = append(expired, c)
		} else {
			kept = append(kept, c)
		}
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	return expired
}

// quitAll ends sessions in the background.
func (p *pool) quitAll(cs []*conn) {
	for _, c := range cs {
		p.quits.Add(1)
		go func() {
			defer p.quits.Done()
			c.quit()
		}()
	}
}

// Close quits the idle connections and makes later gets fail. Connections
// in use are quit when their Send returns.
func (p *pool) Close() error {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	if p.reaper != nil {
		p.reaper.Stop()
		p.reaper = nil
	}
	p.mu.Unlock()
	p.quitAll(idle)
	p.quits.Wait()
	return nil
}

// idleCount reports the number of idle connections.
func (p *pool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
