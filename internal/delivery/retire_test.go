package delivery

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

type closingConn struct{ closed atomic.Int32 }

func (c *closingConn) Send(context.Context, connector.Message) (connector.Receipt, error) {
	return connector.Receipt{}, nil
}
func (c *closingConn) Close() error { c.closed.Add(1); return nil }

// TestCloseClosesRetiredConnectors: a connector replaced moments before
// shutdown is closed by Close, once, not left to a timer that outlives it.
func TestCloseClosesRetiredConnectors(t *testing.T) {
	c := &Connectors{cache: map[string]*cachedConnector{}, retired: map[*Active]*time.Timer{}}
	old, cur := &closingConn{}, &closingConn{}
	c.cache["default"] = &cachedConnector{active: &Active{Conn: cur}}
	c.retire(&Active{Conn: old})
	c.Close()
	if old.closed.Load() != 1 || cur.closed.Load() != 1 {
		t.Fatalf("closed retired %d times and current %d times, want once each", old.closed.Load(), cur.closed.Load())
	}
	if len(c.retired) != 0 || len(c.cache) != 0 {
		t.Fatalf("Close left %d retired and %d cached connectors", len(c.retired), len(c.cache))
	}
}
