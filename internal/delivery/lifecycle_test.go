package delivery

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
)

// countingFactory is a connector kind whose builds and closes are counted.
// A build waits for the gate when one is set, so a test can hold every
// caller at the moment the connector is being built.
const countingFactory = "test-counting"

var counting struct {
	builds atomic.Int32
	gate   atomic.Pointer[chan struct{}]
}

type countingConn struct{ closed atomic.Int32 }

func (c *countingConn) Send(context.Context, connector.Message) (connector.Receipt, error) {
	return connector.Receipt{}, nil
}
func (c *countingConn) Close() error { c.closed.Add(1); return nil }

// countingConfig is the counting factory's (empty) config.
type countingConfig struct{}

func (*countingConfig) Build(context.Context, connector.Env) (connector.Connector, error) {
	counting.builds.Add(1)
	if g := counting.gate.Load(); g != nil {
		<-*g
	}
	return &countingConn{}, nil
}

func init() {
	connector.Register(connector.Factory{ID: countingFactory, Name: "Counting", Description: "counts builds and closes",
		NewConfig: func() connector.Config { return &countingConfig{} }})
}

func newTestConnectors(t *testing.T) *Connectors {
	t.Helper()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return NewConnectors(nil, keys, slog.New(slog.DiscardHandler), time.Now, Network{})
}

func countingRow(c *Connectors, updated time.Time) store.Connector {
	return store.Connector{TenantID: "default", ID: "conn_1", ConnectorID: countingFactory,
		Config: c.SealConfig("default", "conn_1", json.RawMessage(`{}`)), UpdatedAt: updated}
}

func conn(a *Active) *countingConn { return a.Conn.(*countingConn) }

// TestConcurrentSendsAfterAChangeBuildTheConnectorOnce: sends that all
// find the cached connector out of date share one build instead of each
// building (and opening connections for) their own.
func TestConcurrentSendsAfterAChangeBuildTheConnectorOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		counting.builds.Store(0)
		gate := make(chan struct{})
		counting.gate.Store(&gate)
		defer counting.gate.Store(nil)
		c := newTestConnectors(t)
		row := countingRow(c, time.Unix(1000, 0))
		const senders = 32
		got := make([]*Active, senders)
		var wg sync.WaitGroup
		for i := range senders {
			wg.Go(func() {
				a, err := c.built(context.Background(), "default", row)
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = a
			})
		}
		synctest.Wait() // every sender is now waiting on the build
		close(gate)
		wg.Wait()
		if n := counting.builds.Load(); n != 1 {
			t.Fatalf("%d senders built the connector %d times, want once", senders, n)
		}
		for i, a := range got {
			if a != got[0] {
				t.Fatalf("sender %d got a different connector", i)
			}
			a.Release()
		}
		if n := conn(got[0]).closed.Load(); n != 0 {
			t.Fatalf("the current connector was closed %d times after its sends released it; the cache still holds it", n)
		}
	})
}

// TestReplacedConnectorClosesWhenItsLastSendEnds: a connector replaced by
// a config change stays open while a send still holds it, and closes, once,
// when that send releases it; the new one stays open.
func TestReplacedConnectorClosesWhenItsLastSendEnds(t *testing.T) {
	c := newTestConnectors(t)
	ctx := context.Background()
	old, err := c.built(ctx, "default", countingRow(c, time.Unix(1000, 0)))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := c.built(ctx, "default", countingRow(c, time.Unix(2000, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if old == cur {
		t.Fatal("a changed row reused the old connector")
	}
	if n := conn(old).closed.Load(); n != 0 {
		t.Fatalf("the replaced connector was closed while a send held it (%d closes)", n)
	}
	old.Release()
	if n := conn(old).closed.Load(); n != 1 {
		t.Fatalf("the replaced connector was closed %d times after its last send, want once", n)
	}
	cur.Release()
	if n := conn(cur).closed.Load(); n != 0 {
		t.Fatalf("the current connector was closed %d times; the cache still holds it", n)
	}
}

// TestCloseClosesEveryConnectorOnce: at shutdown the current connector and
// a replaced one still held are closed, once each, and a late release does
// not close again.
func TestCloseClosesEveryConnectorOnce(t *testing.T) {
	c := newTestConnectors(t)
	ctx := context.Background()
	old, err := c.built(ctx, "default", countingRow(c, time.Unix(1000, 0)))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := c.built(ctx, "default", countingRow(c, time.Unix(2000, 0)))
	if err != nil {
		t.Fatal(err)
	}
	cur.Release()
	c.Close()
	old.Release()
	if a, b := conn(old).closed.Load(), conn(cur).closed.Load(); a != 1 || b != 1 {
		t.Fatalf("closed the replaced connector %d times and the current one %d times, want once each", a, b)
	}
}
