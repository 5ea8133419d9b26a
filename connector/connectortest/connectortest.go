// Package connectortest is the conformance suite every email connector's
// tests run. A connector's test supplies a Backend (a real server speaking
// the provider's protocol, which can be told to fail) and calls Run.
package connectortest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

// Failure is how a Backend answers the sends that follow.
type Failure int

// The failures a Backend can be told to produce.
const (
	// FailNone accepts messages.
	FailNone Failure = iota
	// FailAuth rejects the credentials (HTTP 401, SMTP 535).
	FailAuth
	// FailReject permanently rejects the message (HTTP 400/422, SMTP 550).
	FailReject
	// FailRateLimit asks the sender to slow down (HTTP 429 with
	// Retry-After: 7; SMTP 421 or 451).
	FailRateLimit
	// FailTemporary fails temporarily (HTTP 500/503, SMTP 451).
	FailTemporary
	// FailSlow answers only after the caller's deadline has passed.
	FailSlow
)

// Received is one message as the backend got it, normalised.
type Received struct {
	To       string
	From     string // the sender address
	FromName string // the sender display name, decoded
	ReplyTo  string // the reply-to address, if any
	Subject  string // decoded
	HTML     string
	Text     string
	// MessageID is where the provider received authmail's message ID: the
	// Message-ID header, a custom argument, a tag or a metadata field.
	MessageID string
	// Type is the usage type, for receivers that get it (HTTP connector).
	Type string
	// Payload is the template data, for connectors that render on the
	// provider's side.
	Payload map[string]any
}

// Backend is a test server that speaks one provider's protocol.
type Backend interface {
	// Config returns a valid config pointing the connector at the backend.
	Config() json.RawMessage
	// Received returns the messages accepted so far, oldest first.
	Received() []Received
	// Fail sets how the backend answers from now on.
	Fail(f Failure)
}

// InvalidConfig is a config that must be refused, naming Field.
type InvalidConfig struct {
	Name   string
	Config json.RawMessage
	Field  string
}

// Suite describes a connector under test.
type Suite struct {
	// Factory is the connector's factory; it must be registered.
	Factory connector.Factory
	// NewBackend starts a fresh backend for one subtest.
	NewBackend func(t *testing.T) Backend
	// InvalidConfigs must each fail validation naming their field.
	InvalidConfigs []InvalidConfig
	// Secrets are the secret values in Backend.Config(); none may appear in
	// an error, a log line or the redacted config. Empty means the
	// connector has none, which the suite checks too.
	Secrets []string
	// NoDisplayName is set for providers that cannot carry a sender name
	// (or no sender at all, as a webhook).
	NoDisplayName bool
	// RetryAfter is what the backend's FailRateLimit answer says, or zero
	// when the protocol has no such field (SMTP).
	RetryAfter time.Duration
	// Failures lists the failures the backend can produce, for a connector
	// whose far side cannot fail in every way (the dev inbox has no
	// credentials to reject). Nil means all of them.
	Failures []Failure
}

func (s Suite) can(f Failure) bool {
	if s.Failures == nil {
		return true
	}
	for _, g := range s.Failures {
		if g == f {
			return true
		}
	}
	return false
}

// Run runs the conformance suite: sending (text and HTML, or the payload
// for a connector whose provider renders the message; UTF-8; the message
// ID), cancellation and deadlines, the classification of failures, the
// connection check of a connector.Checker, invalid configs, secrets, and the connector's description of itself (the
// schema, the config type and the form agree; destination fields; DNS
// hints; the sender identity). A check that does not apply to the
// connector is a skipped subtest that says why.
func Run(t *testing.T, s Suite) {
	t.Helper()
	if s.Factory.ID == "" || s.Factory.NewConfig == nil || s.NewBackend == nil {
		t.Fatal("connectortest: Suite needs a Factory (with NewConfig) and NewBackend")
	}
	t.Run("Metadata", func(t *testing.T) { s.testMetadata(t) })
	t.Run("SendsTextAndHTML", func(t *testing.T) { s.testTextAndHTML(t) })
	t.Run("UTF8SubjectAndName", func(t *testing.T) { s.testUTF8(t) })
	t.Run("CarriesMessageID", func(t *testing.T) { s.testMessageID(t) })
	t.Run("HonoursCancellation", func(t *testing.T) { s.testCancellation(t) })
	t.Run("ClassifiesFailures", func(t *testing.T) { s.testClassification(t) })
	t.Run("ChecksWithoutSending", func(t *testing.T) { s.testCheck(t) })
	t.Run("RejectsInvalidConfigs", func(t *testing.T) { s.testInvalidConfigs(t) })
	if len(s.Secrets) > 0 {
		t.Run("KeepsSecretsOut", func(t *testing.T) { s.testSecrets(t) })
	} else {
		t.Run("HasNoSecrets", func(t *testing.T) { s.testNoSecrets(t) })
	}
	t.Run("DescriptionsAgree", func(t *testing.T) { s.testConfigDescription(t) })
	t.Run("DeclaresDestinationFields", func(t *testing.T) { s.testDestinationFields(t) })
	t.Run("DNSHintsWellFormed", func(t *testing.T) { s.testDNSHints(t) })
	t.Run("SendsAsItsSenderIdentity", func(t *testing.T) { s.testSenderIdentity(t) })
}

// logBuffer collects log output for the secrets check.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Env returns a connector.Env for tests, logging at debug level into w.
func Env(w io.Writer) connector.Env {
	var h slog.Handler = slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
	return connector.Env{
		Logger:     slog.New(h),
		HTTPClient: &http.Client{},
		Now:        time.Now,
	}
}

func (s Suite) build(t *testing.T, b Backend, logs *logBuffer) connector.Connector {
	t.Helper()
	if logs == nil {
		logs = &logBuffer{}
	}
	c, err := connector.Build(context.Background(), s.Factory.ID, b.Config(), Env(logs))
	if err != nil {
		t.Fatalf("building %s with the backend's config: %v", s.Factory.ID, err)
	}
	if cl, ok := c.(interface{ Close() error }); ok {
		t.Cleanup(func() { _ = cl.Close() })
	}
	return c
}

// Message returns a typical message with the given ID.
func Message(id string) connector.Message {
	return connector.Message{
		ID:      id,
		To:      "alice@example.com",
		Type:    connector.UsageSignIn,
		Locale:  "en",
		Subject: "Your sign-in code",
		HTML:    "<p>Your code is <b>123456</b></p>",
		Text:    "Your code is 123456",
		Payload: map[string]any{"code": "123456", "locale": "en"},
		IP:      "203.0.113.9",
	}
}

func (s Suite) sendOne(t *testing.T, msg connector.Message) Received {
	t.Helper()
	b := s.NewBackend(t)
	c := s.build(t, b, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Send(ctx, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := b.Received()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want 1", len(got))
	}
	if got[0].To != msg.To {
		t.Errorf("recipient = %q, want %q", got[0].To, msg.To)
	}
	return got[0]
}

func (s Suite) testMetadata(t *testing.T) {
	f, ok := connector.Lookup(s.Factory.ID)
	if !ok {
		t.Fatalf("factory %q is not registered", s.Factory.ID)
	}
	for _, a := range f.Aliases {
		if g, ok := connector.Lookup(a); !ok || g.ID != f.ID {
			t.Errorf("alias %q does not resolve to %q", a, f.ID)
		}
	}
	if f.Name == "" || f.Description == "" || f.Logo == "" {
		t.Errorf("factory needs a name, a description and a logo")
	}
	if len(f.ReadMe) < 200 {
		t.Errorf("factory README is %d bytes; it must be a setup guide", len(f.ReadMe))
	}
	if len(f.ConfigSchema) == 0 {
		t.Errorf("factory has no config schema")
	}
	b := s.NewBackend(t)
	if err := connector.ValidateSchema(f.ID, b.Config()); err != nil {
		t.Errorf("the backend's config fails the schema: %v", err)
	}
	if len(f.DefaultConfig) > 0 {
		var v map[string]any
		if err := json.Unmarshal(f.DefaultConfig, &v); err != nil {
			t.Errorf("default config is not a JSON object: %v", err)
		}
	}
}

// testTextAndHTML checks the rendered message arrives whole or, for a
// connector whose provider renders it, that the payload does.
func (s Suite) testTextAndHTML(t *testing.T) {
	msg := Message("msg-text-html")
	got := s.sendOne(t, msg)
	if s.Factory.RendersOnProvider {
		checkPayload(t, got, msg)
		return
	}
	if got.Subject != msg.Subject {
		t.Errorf("subject = %q, want %q", got.Subject, msg.Subject)
	}
	if !strings.Contains(got.HTML, "<b>123456</b>") {
		t.Errorf("HTML body = %q, want the rendered HTML", got.HTML)
	}
	if !strings.Contains(got.Text, "Your code is 123456") {
		t.Errorf("text body = %q, want the text part", got.Text)
	}
}

// testUTF8 checks non-ASCII text survives: the subject and bodies, or the
// payload for a connector whose provider renders the message, and the
// sender's name.
func (s Suite) testUTF8(t *testing.T) {
	msg := Message("msg-utf8")
	msg.Subject = "Votre code — 認証コード ✓"
	msg.From = connector.Address{Name: "Équipe Sécurité Ünïcode"}
	msg.HTML = "<p>Ваш код: <b>123456</b> ✓</p>"
	msg.Text = "Ваш код: 123456 ✓"
	msg.Payload = map[string]any{"code": "123456", "locale": "fr", "organization": map[string]any{"name": "Équipe — 認証 ✓"}}
	got := s.sendOne(t, msg)
	if s.Factory.RendersOnProvider {
		checkPayload(t, got, msg)
	} else {
		if got.Subject != msg.Subject {
			t.Errorf("subject = %q, want %q", got.Subject, msg.Subject)
		}
		if !strings.Contains(got.Text, "Ваш код: 123456 ✓") {
			t.Errorf("text body = %q, want the UTF-8 text", got.Text)
		}
	}
	if !s.NoDisplayName && got.FromName != msg.From.Name {
		t.Errorf("sender name = %q, want %q", got.FromName, msg.From.Name)
	}
}

// checkPayload checks the provider got every payload value of msg, and
// its usage type when the protocol carries one.
func checkPayload(t *testing.T, got Received, msg connector.Message) {
	t.Helper()
	if len(msg.Payload) == 0 {
		t.Fatal("connectortest: the message has no payload to check")
	}
	for k, want := range msg.Payload {
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got.Payload[k])
		if !bytes.Equal(w, g) {
			t.Errorf("payload %s = %s, want %s (the provider renders from the payload)", k, g, w)
		}
	}
	if got.Type != "" && got.Type != string(msg.Type) {
		t.Errorf("usage type = %q, want %q", got.Type, msg.Type)
	}
}

func (s Suite) testMessageID(t *testing.T) {
	msg := Message("4f1c2a9e-idem-key")
	got := s.sendOne(t, msg)
	if !strings.Contains(got.MessageID, msg.ID) {
		t.Errorf("provider got message ID %q, want it to carry %q", got.MessageID, msg.ID)
	}
}

func (s Suite) testCancellation(t *testing.T) {
	t.Run("CancelledContext", func(t *testing.T) {
		b := s.NewBackend(t)
		c := s.build(t, b, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Send(ctx, Message("msg-cancelled")); err == nil {
			t.Errorf("Send with a cancelled context succeeded")
		}
	})
	t.Run("DeadlineOfASlowBackend", func(t *testing.T) {
		if !s.can(FailSlow) {
			t.Skip("the backend cannot be slow (Suite.Failures)")
		}
		s.testDeadline(t)
	})
}

func (s Suite) testDeadline(t *testing.T) {
	b := s.NewBackend(t)
	c := s.build(t, b, nil)
	b.Fail(FailSlow)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Send(ctx, Message("msg-deadline"))
	if err == nil {
		t.Fatalf("Send to a backend slower than the deadline succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v after a 300ms deadline", d)
	}
	if !connector.Temporary(err) {
		t.Errorf("a timeout must be temporary, got %v", err)
	}
}

func (s Suite) testClassification(t *testing.T) {
	cases := []struct {
		name    string
		failure Failure
		want    error
	}{
		{"Auth", FailAuth, connector.ErrAuth},
		{"Reject", FailReject, connector.ErrRejected},
		{"RateLimit", FailRateLimit, connector.ErrRateLimited},
		{"Temporary", FailTemporary, connector.ErrTemporary},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !s.can(tc.failure) {
				t.Skip("the backend cannot produce this failure (Suite.Failures)")
			}
			b := s.NewBackend(t)
			c := s.build(t, b, nil)
			b.Fail(tc.failure)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.Send(ctx, Message("msg-fail-"+tc.name))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want class %v", err, tc.want)
			}
			wantTemp := tc.want == connector.ErrTemporary || tc.want == connector.ErrRateLimited
			if connector.Temporary(err) != wantTemp {
				t.Errorf("Temporary(%v) = %v, want %v", err, !wantTemp, wantTemp)
			}
			if tc.failure == FailRateLimit && s.RetryAfter > 0 && connector.RetryAfter(err) != s.RetryAfter {
				t.Errorf("RetryAfter = %v, want %v", connector.RetryAfter(err), s.RetryAfter)
			}
			if n := len(b.Received()); n != 0 {
				t.Errorf("backend accepted %d messages while failing", n)
			}
			b.Fail(FailNone)
			if _, err := c.Send(ctx, Message("msg-after-"+tc.name)); err != nil {
				t.Errorf("Send after the backend recovered: %v", err)
			}
		})
	}
}

// testCheck holds a connector.Checker to its contract: the backend's
// config checks fine and sends nothing, refused credentials are ErrAuth
// (permanent, secrets masked), and a check honours cancellation and
// deadlines. A connector that implements no Checker skips it, saying so.
func (s Suite) testCheck(t *testing.T) {
	checker := func(t *testing.T, b Backend) connector.Checker {
		t.Helper()
		c, ok := s.build(t, b, nil).(connector.Checker)
		if !ok {
			t.Skipf("%s implements no connector.Checker: its config can only be tried by sending", s.Factory.ID)
		}
		return c
	}
	t.Run("PassesWithTheBackendsConfig", func(t *testing.T) {
		b := s.NewBackend(t)
		c := checker(t, b)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Check(ctx); err != nil {
			t.Fatalf("Check with the backend's config: %v", err)
		}
		if n := len(b.Received()); n != 0 {
			t.Errorf("the backend received %d messages from a check; a check sends none", n)
		}
	})
	t.Run("RefusedCredentialsAreErrAuth", func(t *testing.T) {
		if !s.can(FailAuth) {
			t.Skip("the backend cannot refuse credentials (Suite.Failures)")
		}
		b := s.NewBackend(t)
		c := checker(t, b)
		b.Fail(FailAuth)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := c.Check(ctx)
		if !errors.Is(err, connector.ErrAuth) {
			t.Fatalf("Check with refused credentials = %v, want class %v", err, connector.ErrAuth)
		}
		if connector.Temporary(err) {
			t.Errorf("refused credentials must be permanent, got %v", err)
		}
		for _, sec := range s.Secrets {
			if strings.Contains(err.Error(), sec) {
				t.Errorf("check error %q reveals a secret", err)
			}
		}
		b.Fail(FailNone)
		if err := c.Check(ctx); err != nil {
			t.Errorf("Check after the backend recovered: %v", err)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		c := checker(t, s.NewBackend(t))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Check(ctx); err == nil {
			t.Errorf("Check with a cancelled context succeeded")
		}
	})
	t.Run("EndsByItsDeadline", func(t *testing.T) {
		if !s.can(FailSlow) {
			t.Skip("the backend cannot be slow (Suite.Failures)")
		}
		b := s.NewBackend(t)
		c := checker(t, b)
		b.Fail(FailSlow)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.Check(ctx)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Check took %v after a 300ms deadline", d)
		}
		// A backend slow only at sending (SMTP's MAIL) lets a check pass.
		if err != nil && !connector.Temporary(err) {
			t.Errorf("a check cut short by its deadline must be temporary, got %v", err)
		}
	})
}

func (s Suite) testInvalidConfigs(t *testing.T) {
	cases := append([]InvalidConfig{
		{Name: "NotAnObject", Config: json.RawMessage(`[1,2]`), Field: ""},
		{Name: "NotJSON", Config: json.RawMessage(`{"`), Field: ""},
	}, s.InvalidConfigs...)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := connector.Build(context.Background(), s.Factory.ID, tc.Config, Env(&logBuffer{}))
			if !errors.Is(err, connector.ErrInvalidConfig) {
				t.Fatalf("error = %v, want ErrInvalidConfig", err)
			}
			var ce *connector.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *connector.ConfigError", err)
			}
			if ce.Field != tc.Field {
				t.Errorf("field = %q, want %q (%v)", ce.Field, tc.Field, err)
			}
		})
	}
}

// testNoSecrets checks that a connector whose suite lists no secret
// values has none: the factory declares no secret field, and the
// backend's config holds no value in one.
func (s Suite) testNoSecrets(t *testing.T) {
	if len(s.Factory.SecretFields) > 0 {
		t.Errorf("the factory declares secret fields %v, but Suite.Secrets lists no secret value of the backend's config", s.Factory.SecretFields)
	}
	if got := connector.Secrets(s.Factory, s.NewBackend(t).Config()); len(got) > 0 {
		t.Errorf("the backend's config holds %d secret values, but Suite.Secrets lists none", len(got))
	}
}

func (s Suite) testSecrets(t *testing.T) {
	b := s.NewBackend(t)
	logs := &logBuffer{}
	c := s.build(t, b, logs)
	var errs []string
	for _, f := range []Failure{FailAuth, FailReject, FailRateLimit, FailTemporary} {
		if !s.can(f) {
			continue
		}
		b.Fail(f)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := c.Send(ctx, Message("msg-secret")); err != nil {
			errs = append(errs, err.Error())
		}
		cancel()
	}
	redacted := string(connector.Redact(s.Factory, b.Config()))
	for _, sec := range s.Secrets {
		for _, e := range errs {
			if strings.Contains(e, sec) {
				t.Errorf("error %q reveals a secret", e)
			}
		}
		if strings.Contains(logs.String(), sec) {
			t.Errorf("logs reveal a secret:\n%s", logs.String())
		}
		if strings.Contains(redacted, sec) {
			t.Errorf("redacted config reveals a secret: %s", redacted)
		}
	}
	got := connector.Secrets(s.Factory, b.Config())
	for _, sec := range s.Secrets {
		found := false
		for _, g := range got {
			found = found || g == sec
		}
		if !found {
			t.Errorf("secret %q is not in a field listed in Factory.SecretFields", sec)
		}
	}
}

// Build builds the connector of factory id with env, or fails the test.
func Build(t testing.TB, id string, raw json.RawMessage, env connector.Env) connector.Connector {
	t.Helper()
	c, err := connector.Build(context.Background(), id, raw, env)
	if err != nil {
		t.Fatalf("building %s: %v", id, err)
	}
	return c
}

// Send sends msg with a 10 s deadline, or fails the test.
func Send(t testing.TB, c connector.Connector, msg connector.Message) connector.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := c.Send(ctx, msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return rc
}

// Recorder is the part of a Backend every test server shares: what it has
// accepted and how it has been told to fail. Embed it in a backend and
// call Failure and Record from its handler.
type Recorder struct {
	mu       sync.Mutex
	fail     Failure
	received []Received
}

// Fail sets how the backend answers from now on.
func (r *Recorder) Fail(f Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

// Failure is how the backend must answer now.
func (r *Recorder) Failure() Failure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fail
}

// Record keeps an accepted message.
func (r *Recorder) Record(m Received) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received = append(r.received, m)
}

// Received returns the accepted messages, oldest first.
func (r *Recorder) Received() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.received...)
}

// Invalid is an InvalidConfig from a JSON string, for tables of them.
func Invalid(name, raw, field string) InvalidConfig {
	return InvalidConfig{Name: name, Config: json.RawMessage(raw), Field: field}
}

// BuildUnchecked decodes raw into a new config of f (connector.DecodeConfig)
// and builds it with env, without the schema check connector.Build makes
// first, so that a test can show a config's own validation names the
// fields the schema would.
func BuildUnchecked(ctx context.Context, f connector.Factory, raw json.RawMessage, env connector.Env) (connector.Connector, error) {
	cfg := f.NewConfig()
	if err := connector.DecodeConfig(raw, cfg); err != nil {
		return nil, err
	}
	return cfg.Build(ctx, env)
}
