package devinbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
)

// memInbox is an in-memory connector.Inbox that records messages and can
// be told to fail.
type memInbox struct {
	name string

	mu     sync.Mutex
	fail   connectortest.Failure
	stored []connector.Message
}

// Store implements connector.Inbox like a database would: it honours ctx.
func (m *memInbox) Store(ctx context.Context, msg connector.Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	fail := m.fail
	m.mu.Unlock()
	switch fail {
	case connectortest.FailTemporary:
		return "", errors.New("database is locked")
	case connectortest.FailSlow:
		<-ctx.Done()
		return "", ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stored = append(m.stored, msg)
	return fmt.Sprintf("inbox-%d", len(m.stored)), nil
}

// Config implements connectortest.Backend: the note names this inbox.
func (m *memInbox) Config() json.RawMessage {
	b, _ := json.Marshal(map[string]string{"note": m.name})
	return b
}

// Received implements connectortest.Backend.
func (m *memInbox) Received() []connectortest.Received {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]connectortest.Received, 0, len(m.stored))
	for _, msg := range m.stored {
		out = append(out, connectortest.Received{
			To: msg.To, From: msg.From.Email, FromName: msg.From.Name, ReplyTo: msg.ReplyTo.Email,
			Subject: msg.Subject, HTML: msg.HTML, Text: msg.Text,
			MessageID: msg.ID, Type: string(msg.Type), Payload: msg.Payload,
		})
	}
	return out
}

// Fail implements connectortest.Backend.
func (m *memInbox) Fail(f connectortest.Failure) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = f
}

// inboxes maps a backend's note to its inbox, for the suite's factory.
var inboxes sync.Map

// suiteID is the factory the conformance suite builds through. The suite
// builds connectors with an Env that has no Inbox, so this factory is the
// real one with a config whose Build passes the backend's inbox, found by
// the config's note.
const suiteID = "dev-inbox-conformance"

// suiteConfig is Config, built on the inbox its note names.
type suiteConfig struct{ Config }

func (c *suiteConfig) Build(ctx context.Context, env connector.Env) (connector.Connector, error) {
	if in, ok := inboxes.Load(c.Note); ok {
		env.Inbox = in.(*memInbox)
	}
	return c.Config.Build(ctx, env)
}

func init() {
	f := Factory()
	f.ID = suiteID
	f.NewConfig = func() connector.Config { return &suiteConfig{} }
	connector.Register(f)
}

func newInbox(t *testing.T) *memInbox {
	m := &memInbox{name: t.Name()}
	inboxes.Store(m.name, m)
	t.Cleanup(func() { inboxes.Delete(m.name) })
	return m
}

func TestConformance(t *testing.T) {
	f, _ := connector.Lookup(suiteID)
	connectortest.Run(t, connectortest.Suite{
		Factory:    f,
		NewBackend: func(t *testing.T) connectortest.Backend { return newInbox(t) },
		InvalidConfigs: []connectortest.InvalidConfig{
			{Name: "NoteNotString", Config: json.RawMessage(`{"note":7}`), Field: "note"},
		},
		Failures:      []connectortest.Failure{connectortest.FailNone, connectortest.FailTemporary, connectortest.FailSlow},
		NoDisplayName: false,
	})
}

func testEnv(in connector.Inbox) connector.Env {
	return connector.Env{Logger: slog.New(slog.DiscardHandler), HTTPClient: &http.Client{}, Inbox: in, Now: time.Now}
}

func TestRegisteredWithMetadata(t *testing.T) {
	f, ok := connector.Lookup(ID)
	if !ok {
		t.Fatal("dev-inbox is not registered")
	}
	if f.Name != "Dev inbox" || f.RendersOnProvider || len(f.SecretFields) != 0 {
		t.Errorf("factory = %+v", f)
	}
	if err := connector.ValidateSchema(ID, json.RawMessage(`{}`)); err != nil {
		t.Errorf("empty config refused: %v", err)
	}
	if err := connector.ValidateSchema(ID, f.DefaultConfig); err != nil {
		t.Errorf("default config refused: %v", err)
	}
}

func TestNewWithoutInbox(t *testing.T) {
	_, err := connector.Build(context.Background(), ID, json.RawMessage(`{}`), testEnv(nil))
	if !errors.Is(err, ErrNoInbox) {
		t.Fatalf("error = %v, want ErrNoInbox", err)
	}
	if errors.Is(err, connector.ErrInvalidConfig) {
		t.Errorf("a missing inbox is not a config error: %v", err)
	}
}

func TestSendStoresResolvedMessage(t *testing.T) {
	in := &memInbox{}
	c, err := connector.Build(context.Background(), ID, json.RawMessage(`{}`), testEnv(in))
	if err != nil {
		t.Fatal(err)
	}
	msg := connectortest.Message("m-1")
	rc, err := c.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderMessageID != "inbox-1" {
		t.Errorf("ProviderMessageID = %q, want the inbox's ID inbox-1", rc.ProviderMessageID)
	}
	msg.From = connector.Address{Name: "Acme"}
	if _, err := c.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	msg.From = connector.Address{Email: "team@acme.example"}
	if _, err := c.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	want := []connector.Address{
		{Name: "authmail", Email: "no-reply@authmail.localhost"},
		{Name: "Acme", Email: "no-reply@authmail.localhost"},
		{Name: "authmail", Email: "team@acme.example"},
	}
	if len(in.stored) != len(want) {
		t.Fatalf("stored %d messages, want %d", len(in.stored), len(want))
	}
	for i, w := range want {
		if got := in.stored[i].From; got != w {
			t.Errorf("message %d from %+v, want %+v", i, got, w)
		}
	}
	if got := in.stored[0]; got.ID != "m-1" || got.Payload["code"] != "123456" || got.Text != msg.Text {
		t.Errorf("stored message = %+v, want the message as sent", got)
	}
}

func TestStoreErrorsClassified(t *testing.T) {
	in := &memInbox{}
	c, err := connector.Build(context.Background(), ID, nil, testEnv(in))
	if err != nil {
		t.Fatal(err)
	}
	in.Fail(connectortest.FailTemporary)
	_, err = c.Send(context.Background(), connectortest.Message("t"))
	if !errors.Is(err, connector.ErrTemporary) {
		t.Errorf("inbox failure: error = %v, want temporary", err)
	}
	in.Fail(connectortest.FailSlow)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Send(ctx, connectortest.Message("s"))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, connector.ErrTemporary) {
		t.Errorf("deadline: error = %v, want context.DeadlineExceeded unwrapped", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	in.Fail(connectortest.FailNone)
	if _, err = c.Send(ctx, connectortest.Message("c")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v, want context.Canceled", err)
	}
	if len(in.stored) != 0 {
		t.Errorf("stored %d messages while failing", len(in.stored))
	}
}
