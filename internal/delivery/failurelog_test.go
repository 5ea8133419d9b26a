package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

// failingFactory is a connector kind whose sends fail the way its config
// says, quoting its secret token in the error as a careless provider
// would.
const failingFactory = "test-failing"

type failingConfig struct {
	Token     connector.Secret `json:"token"`
	Temporary bool             `json:"temporary"`
}

func (c *failingConfig) Build(context.Context, connector.Env) (connector.Connector, error) {
	return &failingConn{cfg: *c}, nil
}

type failingConn struct{ cfg failingConfig }

func (c *failingConn) Send(context.Context, connector.Message) (connector.Receipt, error) {
	kind := connector.ErrRejected
	if c.cfg.Temporary {
		kind = connector.ErrTemporary
	}
	return connector.Receipt{}, &connector.Error{Kind: kind,
		Message: "dial tcp 127.0.0.1:2525: connect: connection refused (token " + c.cfg.Token.Reveal() + ")"}
}

func init() {
	connector.Register(connector.Factory{ID: failingFactory, Name: "Failing", Description: "fails every send",
		SecretFields: []string{"token"}, NewConfig: func() connector.Config { return &failingConfig{} }})
}

// recordingHandler is a slog.Handler that keeps every record with the
// attributes the logger carried, for tests that check what was logged.
type recordingHandler struct {
	mu      *sync.Mutex
	records *[]slog.Record
	attrs   []slog.Attr
}

func newRecordingHandler() *recordingHandler {
	return &recordingHandler{mu: &sync.Mutex{}, records: &[]slog.Record{}}
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.records = append(*h.records, r)
	return nil
}

func (h *recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := *h
	out.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &out
}

func (h *recordingHandler) WithGroup(string) slog.Handler { return h }

// at returns the records of level or above, each as its message and
// attributes.
func (h *recordingHandler) at(level slog.Level) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range *h.records {
		if r.Level < level {
			continue
		}
		m := map[string]string{"msg": r.Message, "level": r.Level.String()}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
		out = append(out, m)
	}
	return out
}

// newTestService is a delivery service without workers on st, logging
// into h, with the failing connector installed as the tenant's.
func newTestService(t *testing.T, st *store.Store, h slog.Handler, cfg json.RawMessage) *Service {
	t.Helper()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(h)
	conns := NewConnectors(st, keys, logger, time.Now, Network{})
	t.Cleanup(conns.Close)
	svc, err := New(st, keys, conns, nil, logger, time.Now, Config{FirstAttemptWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	row := store.Connector{TenantID: "default", ID: "conn_failing", ConnectorID: failingFactory,
		Config: conns.SealConfig("default", "conn_failing", cfg), CreatedAt: now, UpdatedAt: now}
	ctx := context.Background()
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.ConnectorReplace(ctx, row) }); err != nil {
		t.Fatal(err)
	}
	return svc
}

// enqueueAndDeliver enqueues one message and makes its first attempt.
func enqueueAndDeliver(t *testing.T, st *store.Store, svc *Service) (Pending, error) {
	t.Helper()
	ctx := context.Background()
	var p Pending
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		p, err = svc.Enqueue(ctx, tx, Outgoing{Tenant: "default", To: "alice@example.com", Usage: connector.UsageGeneric,
			Locale: "en", Content: Content{Subject: "Your code", Text: "123456"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, svc.Deliver(ctx, p)
}

// TestAFailedFirstAttemptIsLoggedAtWarn: a connector that cannot reach its
// server makes the first attempt's failure a WARN line naming the message,
// the connector and its error, with the secret masked, while the message
// stays queued for a retry.
func TestAFailedFirstAttemptIsLoggedAtWarn(t *testing.T) {
	const token = "tok-9f2c-very-secret"
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		h := newRecordingHandler()
		svc := newTestService(t, st, h, json.RawMessage(`{"token":"`+token+`","temporary":true}`))
		p, err := enqueueAndDeliver(t, st, svc)
		if err != nil {
			t.Fatalf("Deliver of a temporary failure = %v, want nil (the queue retries)", err)
		}
		warns := h.at(slog.LevelWarn)
		if len(warns) != 1 {
			t.Fatalf("got %d WARN records, want 1: %v", len(warns), warns)
		}
		w := warns[0]
		if w["message"] != p.ID || w["connector"] != failingFactory || w["attempt"] != "1" {
			t.Errorf("WARN record %v does not name message %s, connector %s and attempt 1", w, p.ID, failingFactory)
		}
		if !strings.Contains(w["err"], "connection refused") || !strings.Contains(w["err"], connector.Redacted) {
			t.Errorf("WARN record's err = %q, want the connector's error with its secret masked", w["err"])
		}
		for _, r := range h.at(slog.LevelDebug) {
			for k, v := range r {
				if strings.Contains(v, token) {
					t.Errorf("log record %v shows the secret in %s", r, k)
				}
			}
		}
		m, err := st.MessageGet(context.Background(), "default", p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != store.StatusQueued {
			t.Errorf("message status = %s, want queued", m.Status)
		}
	})
}

// TestAPermanentFailureIsLoggedAtWarn: a refusal fails the message for
// good, and the log says so at WARN.
func TestAPermanentFailureIsLoggedAtWarn(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		h := newRecordingHandler()
		svc := newTestService(t, st, h, json.RawMessage(`{"token":"tok-1"}`))
		p, err := enqueueAndDeliver(t, st, svc)
		var se *SendError
		if !errors.As(err, &se) {
			t.Fatalf("Deliver of a permanent failure = %v, want a *SendError", err)
		}
		warns := h.at(slog.LevelWarn)
		if len(warns) != 1 || warns[0]["msg"] != "message failed" || warns[0]["message"] != p.ID {
			t.Fatalf("WARN records = %v, want one saying message %s failed", warns, p.ID)
		}
	})
}
