package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
	"github.com/authmail/authmail/internal/testwait"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Factory: Factory(),
		NewBackend: func(t *testing.T) connectortest.Backend {
			return newTestServer(t, serverOpts{user: testUser, pass: testPass})
		},
		InvalidConfigs: invalidConfigs,
		Secrets:        []string{testPass},
	})
}

func TestConformanceRateLimit421(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass, rate421: true})
	c := build(t, s.Config(), nil)
	s.Fail(connectortest.FailRateLimit)
	_, err := c.Send(context.Background(), connectortest.Message("rate-421"))
	if !errors.Is(err, connector.ErrRateLimited) {
		t.Fatalf("error = %v, want rate limited", err)
	}
	if connector.RetryAfter(err) != 0 {
		t.Errorf("RetryAfter = %v, want 0 (SMTP has none)", connector.RetryAfter(err))
	}
}

// invalidConfigs must each be refused naming their field.
var invalidConfigs = []connectortest.InvalidConfig{
	{Name: "MissingHost", Config: cfgJSON(`"port": 587, "fromEmail": "a@acme.test"`), Field: "host"},
	{Name: "EmptyHost", Config: cfgJSON(`"host": " ", "port": 587, "fromEmail": "a@acme.test"`), Field: "host"},
	{Name: "HostWithScheme", Config: cfgJSON(`"host": "smtp://mail.acme.test", "port": 587, "fromEmail": "a@acme.test"`), Field: "host"},
	{Name: "MissingPort", Config: cfgJSON(`"host": "mail.acme.test", "fromEmail": "a@acme.test"`), Field: "port"},
	{Name: "PortTooLarge", Config: cfgJSON(`"host": "mail.acme.test", "port": 70000, "fromEmail": "a@acme.test"`), Field: "port"},
	{Name: "PortNotANumber", Config: cfgJSON(`"host": "mail.acme.test", "port": "587", "fromEmail": "a@acme.test"`), Field: "port"},
	{Name: "MissingFromEmail", Config: cfgJSON(`"host": "mail.acme.test", "port": 587`), Field: "fromEmail"},
	{Name: "BadFromEmail", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "Acme no-reply"`), Field: "fromEmail"},
	{Name: "BadReplyTo", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "replyTo": "nobody"`), Field: "replyTo"},
	{Name: "SecureOn587", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "secure": true, "fromEmail": "a@acme.test"`), Field: "secure"},
	{Name: "PlainOn465", Config: cfgJSON(`"host": "mail.acme.test", "port": 465, "fromEmail": "a@acme.test"`), Field: "secure"},
	{Name: "RequireAndIgnoreTLS", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "requireTLS": true, "ignoreTLS": true, "fromEmail": "a@acme.test"`), Field: "ignoreTLS"},
	{Name: "UnknownAuthType", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "auth": {"type": "ntlm", "user": "u", "pass": "p"}`), Field: "auth.type"},
	{Name: "UserWithoutPass", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "auth": {"user": "u"}`), Field: "auth.pass"},
	{Name: "PassWithoutUser", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "auth": {"pass": "p"}`), Field: "auth.user"},
	{Name: "OAuth2WithoutToken", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "auth": {"type": "oauth2", "user": "u", "clientId": "c", "clientSecret": "s", "refreshToken": "r"}`), Field: "auth.accessToken"},
	{Name: "OAuth2ServiceAccount", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "auth": {"type": "oauth2", "user": "u", "privateKey": "k", "serviceClient": "1"}`), Field: "auth.privateKey"},
	{Name: "BadMinVersion", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "tls": {"minVersion": "SSLv3"}`), Field: "tls.minVersion"},
	{Name: "BadCA", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "tls": {"ca": "not a certificate"}`), Field: "tls.ca"},
	{Name: "BadHELOName", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "name": "mon serveur"`), Field: "name"},
	{Name: "BadHeaderValue", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "customHeaders": {"X-Tag": 5}`), Field: "customHeaders.X-Tag"},
	{Name: "ProtectedHeader", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "customHeaders": {"subject": "hi"}`), Field: "customHeaders.subject"},
	{Name: "NegativeTimeout", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "socketTimeout": -1`), Field: "socketTimeout"},
	{Name: "MaxConnectionsZero", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "maxConnections": 0`), Field: "maxConnections"},
	{Name: "TemplateBadContentType", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "templates": [{"usageType": "SignIn", "contentType": "text/markdown", "subject": "s", "content": "c"}]`), Field: "templates.0.contentType"},
	{Name: "TemplateWithoutSubject", Config: cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test", "templates": [{"usageType": "SignIn", "content": "c"}]`), Field: "templates.0.subject"},
}

func cfgJSON(body string) json.RawMessage { return json.RawMessage("{" + body + "}") }

// TestNewNamesFields checks the config's own validation, without the
// schema in front of it, names the same fields.
func TestNewNamesFields(t *testing.T) {
	for _, tc := range invalidConfigs {
		if tc.Name == "PortNotANumber" || tc.Name == "MissingPort" {
			continue // a type error or an absent number: the schema names these
		}
		t.Run(tc.Name, func(t *testing.T) {
			_, err := connectortest.BuildUnchecked(context.Background(), Factory(), tc.Config, testEnv(nil))
			var ce *connector.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a ConfigError", err)
			}
			if ce.Field != tc.Field {
				t.Errorf("field = %q, want %q (%v)", ce.Field, tc.Field, err)
			}
		})
	}
	_, err := connectortest.BuildUnchecked(context.Background(), Factory(), cfgJSON(`"host": "mail.acme.test", "fromEmail": "a@acme.test"`), testEnv(nil))
	var ce *connector.ConfigError
	if !errors.As(err, &ce) || ce.Field != "port" {
		t.Errorf("config without a port: error = %v, want a ConfigError naming port", err)
	}
}

// logSink collects log output.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testEnv is connectortest.Env with a sink this package can read.
func testEnv(logs *logSink) connector.Env {
	if logs == nil {
		logs = &logSink{}
	}
	return connector.Env{
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient: &http.Client{},
		Now:        time.Now,
	}
}

// build builds the connector through the registry (schema, then New).
func build(t *testing.T, raw json.RawMessage, logs *logSink) *sender {
	t.Helper()
	c, err := connector.Build(context.Background(), LogtoID, raw, testEnv(logs))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	s := c.(*sender)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func send(t *testing.T, c connector.Connector, msg connector.Message) connector.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Send(ctx, msg)
	if err != nil {
		t.Fatalf("Send %s: %v", msg.ID, err)
	}
	return r
}

// merge returns raw with the keys of extra set.
func merge(t *testing.T, raw json.RawMessage, extra map[string]any) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func configField(t *testing.T, err error) string {
	t.Helper()
	var ce *connector.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a ConfigError", err)
	}
	return ce.Field
}

func TestRequireTLSWithoutStartTLSFailsBeforeAuth(t *testing.T) {
	s := newTestServer(t, serverOpts{noStartTLS: true, user: testUser, pass: testPass})
	c := build(t, merge(t, s.Config(), map[string]any{"requireTLS": true}), nil)
	_, err := c.Send(context.Background(), connectortest.Message("require-tls"))
	if f := configField(t, err); f != "requireTLS" {
		t.Errorf("field = %q, want requireTLS (%v)", f, err)
	}
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error %q does not say STARTTLS is missing", err)
	}
	if n := s.AuthTries(); n != 0 {
		t.Errorf("server saw %d AUTH attempts; credentials must not be sent in clear", n)
	}
	if n := len(s.Received()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	s := newTestServer(t, serverOpts{implicitTLS: true, user: testUser, pass: testPass})
	c := build(t, s.Config(), nil)
	send(t, c, connectortest.Message("implicit-tls"))
	d := s.Deliveries()
	if len(d) != 1 || !d[0].tls {
		t.Fatalf("deliveries = %+v, want one over TLS", d)
	}
}

func TestSecureAgainstPlainServerNamesSecure(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, merge(t, s.Config(), map[string]any{"secure": true}), nil)
	_, err := c.Send(context.Background(), connectortest.Message("wrong-secure"))
	if f := configField(t, err); f != "secure" {
		t.Errorf("field = %q, want secure (%v)", f, err)
	}
}

func TestOpportunisticSTARTTLS(t *testing.T) {
	t.Run("UsedWhenOffered", func(t *testing.T) {
		s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
		send(t, build(t, s.Config(), nil), connectortest.Message("starttls"))
		if d := s.Deliveries(); len(d) != 1 || !d[0].tls {
			t.Fatalf("deliveries = %+v, want one over STARTTLS", d)
		}
	})
	t.Run("PlainWhenNotOffered", func(t *testing.T) {
		s := newTestServer(t, serverOpts{noStartTLS: true})
		send(t, build(t, s.Config(), nil), connectortest.Message("no-starttls"))
		if d := s.Deliveries(); len(d) != 1 || d[0].tls {
			t.Fatalf("deliveries = %+v, want one in clear", d)
		}
	})
	t.Run("IgnoreTLS", func(t *testing.T) {
		s := newTestServer(t, serverOpts{})
		send(t, build(t, merge(t, s.Config(), map[string]any{"ignoreTLS": true}), nil), connectortest.Message("ignore-tls"))
		if d := s.Deliveries(); len(d) != 1 || d[0].tls {
			t.Fatalf("deliveries = %+v, want one in clear", d)
		}
	})
}

func TestCertificateVerification(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	t.Run("UntrustedFailsNamingTLS", func(t *testing.T) {
		c := build(t, merge(t, s.Config(), map[string]any{"tls": map[string]any{}}), nil)
		_, err := c.Send(context.Background(), connectortest.Message("untrusted"))
		if f := configField(t, err); f != "tls" {
			t.Errorf("field = %q, want tls (%v)", f, err)
		}
		if s.AuthTries() != 0 {
			t.Errorf("credentials were sent to an unverified server")
		}
	})
	t.Run("WrongServerName", func(t *testing.T) {
		c := build(t, merge(t, s.Config(), map[string]any{"servername": "other.acme.test"}), nil)
		_, err := c.Send(context.Background(), connectortest.Message("wrong-name"))
		if f := configField(t, err); f != "tls" {
			t.Errorf("field = %q, want tls (%v)", f, err)
		}
	})
	t.Run("ServerNameInCertificate", func(t *testing.T) {
		_, ca := testCert(t)
		c := build(t, merge(t, s.Config(), map[string]any{"servername": "mail.acme.test", "tls": map[string]any{"ca": []string{ca}}}), nil)
		send(t, c, connectortest.Message("sni"))
	})
	t.Run("RejectUnauthorizedFalse", func(t *testing.T) {
		logs := &logSink{}
		c := build(t, merge(t, s.Config(), map[string]any{"tls": map[string]any{"rejectUnauthorized": false}}), logs)
		send(t, c, connectortest.Message("insecure"))
		if !strings.Contains(logs.String(), "verification is off") {
			t.Errorf("no warning about disabled verification in logs:\n%s", logs)
		}
	})
}

func TestTLSVersionMismatchNamesTLS(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass, tlsMax: tls.VersionTLS12})
	_, ca := testCert(t)
	c := build(t, merge(t, s.Config(), map[string]any{"tls": map[string]any{"ca": ca, "minVersion": "TLSv1.3"}}), nil)
	_, err := c.Send(context.Background(), connectortest.Message("tls13-only"))
	if f := configField(t, err); f != "tls" {
		t.Errorf("field = %q, want tls (%v)", f, err)
	}
	if s.AuthTries() != 0 {
		t.Errorf("credentials were sent after a failed handshake")
	}
}

func TestLoginInClearOnLoopbackWithoutWarning(t *testing.T) {
	s := newTestServer(t, serverOpts{noStartTLS: true, user: testUser, pass: testPass})
	logs := &logSink{}
	send(t, build(t, s.Config(), logs), connectortest.Message("clear-loopback"))
	if d := s.Deliveries(); len(d) != 1 || d[0].tls || d[0].authUser != testUser {
		t.Fatalf("deliveries = %+v, want one authenticated in clear", d)
	}
	if strings.Contains(logs.String(), "unencrypted") {
		t.Errorf("warned about clear-text credentials on loopback:\n%s", logs)
	}
}

func TestAuthMechanisms(t *testing.T) {
	cases := []struct {
		name     string
		opts     serverOpts
		extra    map[string]any
		wantMech string
	}{
		{"PlainPreferred", serverOpts{user: testUser, pass: testPass}, nil, "PLAIN"},
		{"LoginWhenOnlyOffered", serverOpts{user: testUser, pass: testPass, mechs: []string{"LOGIN"}}, nil, "LOGIN"},
		{"LoginForced", serverOpts{user: testUser, pass: testPass}, map[string]any{"authMethod": "LOGIN"}, "LOGIN"},
		{"UpperCaseLoginType", serverOpts{user: testUser, pass: testPass}, map[string]any{
			"auth": map[string]any{"type": "LOGIN", "user": testUser, "pass": testPass}}, "PLAIN"},
		{"XOAUTH2", serverOpts{user: testUser, token: testToken}, nil, "XOAUTH2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, tc.opts)
			raw := s.Config()
			if tc.extra != nil {
				raw = merge(t, raw, tc.extra)
			}
			send(t, build(t, raw, nil), connectortest.Message("auth-"+tc.name))
			d := s.Deliveries()
			if len(d) != 1 {
				t.Fatalf("server received %d messages", len(d))
			}
			if d[0].authMech != tc.wantMech || d[0].authUser != testUser {
				t.Errorf("authenticated as %q with %q, want %q with %q", d[0].authUser, d[0].authMech, testUser, tc.wantMech)
			}
		})
	}
}

func TestWrongCredentials(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		auth         map[string]any
	}{
		{"Password", "wrong-Pa55-1234", map[string]any{"type": "login", "user": testUser, "pass": "wrong-Pa55-1234"}},
		{"Token", "ya29.wrong-token", map[string]any{"type": "oauth2", "user": testUser, "accessToken": "ya29.wrong-token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, serverOpts{user: testUser, pass: testPass, token: testToken})
			logs := &logSink{}
			c := build(t, merge(t, s.Config(), map[string]any{"auth": tc.auth}), logs)
			_, err := c.Send(context.Background(), connectortest.Message("wrong-"+tc.name))
			if !errors.Is(err, connector.ErrAuth) {
				t.Fatalf("error = %v, want ErrAuth", err)
			}
			var ce *connector.Error
			if !errors.As(err, &ce) || ce.Status != 535 || ce.Code != "5.7.8" {
				t.Errorf("error = %#v, want status 535 and code 5.7.8", err)
			}
			if strings.Contains(err.Error(), tc.secret) || strings.Contains(logs.String(), tc.secret) {
				t.Errorf("the secret leaked: error %q, logs:\n%s", err, logs)
			}
			if len(s.Received()) != 0 {
				t.Errorf("server accepted a message with wrong credentials")
			}
		})
	}
}

func TestNoAuthRelay(t *testing.T) {
	for name, auth := range map[string]any{"Absent": nil, "Empty": map[string]any{}, "TypeOnly": map[string]any{"type": "login"}} {
		t.Run(name, func(t *testing.T) {
			s := newTestServer(t, serverOpts{})
			raw := s.Config()
			if auth != nil {
				raw = merge(t, raw, map[string]any{"auth": auth})
			}
			send(t, build(t, raw, nil), connectortest.Message("relay-"+name))
			if len(s.Received()) != 1 || s.AuthTries() != 0 {
				t.Errorf("received %d, AUTH tries %d; want 1 message without AUTH", len(s.Received()), s.AuthTries())
			}
		})
	}
	t.Run("AuthNotOfferedNamesAuth", func(t *testing.T) {
		s := newTestServer(t, serverOpts{})
		c := build(t, merge(t, s.Config(), map[string]any{"auth": map[string]any{"user": testUser, "pass": testPass}}), nil)
		_, err := c.Send(context.Background(), connectortest.Message("relay-with-auth"))
		if f := configField(t, err); f != "auth" {
			t.Errorf("field = %q, want auth (%v)", f, err)
		}
	})
}

func TestReusesConnection(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, s.Config(), nil)
	for i := range 5 {
		send(t, c, connectortest.Message(fmt.Sprintf("reuse-%d", i)))
	}
	if n := s.Accepted(); n != 1 {
		t.Errorf("server accepted %d connections for 5 sequential sends, want 1", n)
	}
	if n := len(s.Received()); n != 5 {
		t.Errorf("server received %d messages, want 5", n)
	}
}

func TestRecoversDroppedConnection(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, s.Config(), nil)
	send(t, c, connectortest.Message("before-drop"))
	s.DropAll()
	send(t, c, connectortest.Message("after-drop"))
	if n := s.Accepted(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
	if got := s.Received(); len(got) != 2 || !strings.Contains(got[1].MessageID, "after-drop") {
		t.Errorf("received = %+v, want both messages", got)
	}
}

func TestRetriesAfterIdleTimeout421(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass, reuse421: true})
	c := build(t, s.Config(), nil)
	send(t, c, connectortest.Message("first"))
	send(t, c, connectortest.Message("second"))
	if n, got := s.Accepted(), len(s.Received()); n != 2 || got != 2 {
		t.Errorf("accepted %d connections and %d messages, want 2 and 2", n, got)
	}
}

func TestNoRetryOnceDataWasSent(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass, dropAfterData: true})
	c := build(t, s.Config(), nil)
	send(t, c, connectortest.Message("first"))
	_, err := c.Send(context.Background(), connectortest.Message("second"))
	if !errors.Is(err, connector.ErrTemporary) {
		t.Fatalf("error = %v, want a temporary failure", err)
	}
	if n := s.Accepted(); n != 1 {
		t.Errorf("server accepted %d connections; a send must not be repeated after DATA", n)
	}
	send(t, c, connectortest.Message("third")) // a fresh connection works
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, s.Config(), nil)
	c.pool.idleTimeout = 50 * time.Millisecond
	send(t, c, connectortest.Message("idle-1"))
	testwait.Until(t, 5*time.Second, func() bool { now, _ := s.Open(); return now == 0 && c.pool.idleCount() == 0 }, "the idle connection to close")
	send(t, c, connectortest.Message("idle-2"))
	if n := s.Accepted(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

func TestConcurrentSendsShareTheBoundedPool(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, merge(t, s.Config(), map[string]any{"maxConnections": 2}), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.Send(ctx, connectortest.Message(fmt.Sprintf("concurrent-%d", i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if _, most := s.Open(); most > 2 {
		t.Errorf("%d connections were open at once, want at most 2", most)
	}
	if n := len(s.Received()); n != 12 {
		t.Errorf("server received %d messages, want 12", n)
	}
}

func TestSendAfterCloseIsTemporary(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, s.Config(), nil)
	send(t, c, connectortest.Message("before-close"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 5*time.Second, func() bool { now, _ := s.Open(); return now == 0 }, "the server to see the connection closed")
	if _, err := c.Send(context.Background(), connectortest.Message("after-close")); !errors.Is(err, connector.ErrTemporary) {
		t.Errorf("error = %v, want a temporary failure", err)
	}
}

func TestMessageIDIsStable(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, s.Config(), nil)
	msg := connectortest.Message("0b7e6c1a-retry-key")
	r1 := send(t, c, msg)
	r2 := send(t, c, msg)
	got := s.Received()
	want := "<0b7e6c1a-retry-key@acme.test>"
	if got[0].MessageID != want || got[1].MessageID != want {
		t.Errorf("Message-IDs = %q, %q, want %q twice", got[0].MessageID, got[1].MessageID, want)
	}
	if r1.ProviderMessageID != "0b7e6c1a-retry-key@acme.test" || r2 != r1 {
		t.Errorf("receipts = %+v, %+v", r1, r2)
	}
	msg.ID = "odd id <with> spaces@x"
	send(t, c, msg)
	if id := s.Received()[2].MessageID; id != "<odd_id__with__spaces_x@acme.test>" {
		t.Errorf("Message-ID = %q, want the ID made safe", id)
	}
}

func TestMIMEStructure(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, s.Config(), nil)
	send(t, c, connectortest.Message("html"))
	textOnly := connectortest.Message("text-only")
	textOnly.HTML = ""
	send(t, c, textOnly)
	d := s.Deliveries()

	m, err := mail.ReadMessage(bytes.NewReader(d[0].raw))
	if err != nil {
		t.Fatal(err)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	var order []string
	if err := walkParts(m.Header.Get("Content-Type"), "", m.Body, func(ct, _ string) { order = append(order, ct) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "text/plain,text/html" {
		t.Errorf("parts = %v, want text/plain then text/html", order)
	}
	if m.Header.Get("Date") == "" || m.Header.Get("Mime-Version") != "1.0" {
		t.Errorf("missing Date or MIME-Version: %v", m.Header)
	}
	if ua := m.Header.Get("User-Agent") + m.Header.Get("X-Mailer"); ua != "" {
		t.Errorf("message advertises the mail library: %q", ua)
	}

	m, err = mail.ReadMessage(bytes.NewReader(d[1].raw))
	if err != nil {
		t.Fatal(err)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "utf-8") {
		t.Errorf("text-only Content-Type = %q, want text/plain; charset=UTF-8", ct)
	}
	if d[1].HTML != "" || !strings.Contains(d[1].Text, "Your code is 123456") {
		t.Errorf("text-only message = %+v", d[1].Received)
	}
}

func TestHeaders(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	raw := merge(t, s.Config(), map[string]any{
		"replyTo": "Support <support@acme.test>",
		"customHeaders": map[string]any{
			"X-Campaign": "sign-in",
			"x-tags":     []string{"auth", "code"},
			"X-Team":     "Équipe sécurité",
		},
	})
	c := build(t, raw, nil)
	msg := connectortest.Message("headers")
	msg.Headers = map[string]string{"X-Campaign": "override", "X-Request-Id": "req-42", "Subject": "injected", "X-Evil": "a\r\nBcc: eve@evil.test"}
	send(t, c, msg)
	msg2 := connectortest.Message("reply-to-override")
	msg2.ReplyTo = connector.Address{Email: "owner@acme.test"}
	send(t, c, msg2)
	d := s.Deliveries()

	m, err := mail.ReadMessage(bytes.NewReader(d[0].raw))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	checks := map[string][]string{
		"X-Campaign":   {"override"},
		"X-Tags":       {"auth", "code"},
		"X-Request-Id": {"req-42"},
		"X-Team":       {"Équipe sécurité"},
		"Subject":      {msg.Subject},
		"X-Evil":       {"aBcc: eve@evil.test"},
	}
	for k, want := range checks {
		got := decodeAll(h[k])
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(h["Bcc"]) != 0 {
		t.Errorf("a header was injected: %v", h["Bcc"])
	}
	if d[0].ReplyTo != "support@acme.test" || d[1].ReplyTo != "owner@acme.test" {
		t.Errorf("Reply-To = %q, %q; want the config's, then the message's", d[0].ReplyTo, d[1].ReplyTo)
	}
}

func TestLogtoConfigAsIs(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	_, ca := testCert(t)
	logto := fmt.Sprintf(`{
  "host": "127.0.0.1",
  "port": %d,
  "auth": {"type": "login", "user": %q, "pass": %q},
  "fromEmail": "Acme <no-reply@acme.test>",
  "replyTo": "support@acme.test",
  "secure": false,
  "requireTLS": true,
  "tls": {"rejectUnauthorized": true, "minVersion": "TLSv1.2", "ca": %q, "ciphers": "HIGH"},
  "logger": false,
  "debug": false,
  "disableFileAccess": true,
  "disableUrlAccess": true,
  "connectionTimeout": 120000,
  "greetingTimeout": 30000,
  "socketTimeout": 600000,
  "dnsTimeout": 30000,
  "pool": true,
  "maxMessages": 100,
  "customHeaders": {"X-Source": "logto"},
  "templates": [
    {"usageType": "SignIn", "contentType": "text/plain", "subject": "Sign-in code", "content": "Your code is {{code}}"},
    {"usageType": "Register", "contentType": "text/html", "subject": "Register", "content": "<p>Your code is {{code}}</p>"},
    {"usageType": "ForgotPassword", "contentType": "text/plain", "subject": "Reset", "content": "Your code is {{code}}"},
    {"usageType": "Generic", "contentType": "text/plain", "subject": "Code", "content": "Your code is {{code}}"}
  ]
}`, s.port, testUser, testPass, ca)
	if err := connector.ValidateSchema(LogtoID, json.RawMessage(logto)); err != nil {
		t.Fatalf("schema refuses Logto's config: %v", err)
	}
	c := build(t, json.RawMessage(logto), nil)
	tpl := c.Templates()
	if len(tpl) != 4 || tpl[0].UsageType != connector.UsageSignIn || tpl[3].UsageType != connector.UsageGeneric || tpl[1].ContentType != "text/html" {
		t.Errorf("templates = %+v", tpl)
	}
	if c.cfg.connectTimeout != TimeoutMax || c.cfg.socketTimeout != TimeoutMax || c.cfg.greetTimeout != 30*time.Second {
		t.Errorf("timeouts = %v %v %v, want nodemailer's minutes capped at %v", c.cfg.connectTimeout, c.cfg.greetTimeout, c.cfg.socketTimeout, TimeoutMax)
	}
	send(t, c, connectortest.Message("from-logto"))
	if d := s.Deliveries(); len(d) != 1 || !d[0].tls || d[0].FromName != "Acme" {
		t.Errorf("deliveries = %+v", d)
	}
}

func TestDefaultConfigPassesSchema(t *testing.T) {
	f := Factory()
	if err := connector.ValidateSchema(ID, f.DefaultConfig); err != nil {
		t.Errorf("default config fails the schema: %v", err)
	}
	if _, err := connectortest.BuildUnchecked(context.Background(), Factory(), f.DefaultConfig, testEnv(nil)); err != nil {
		t.Errorf("default config fails New: %v", err)
	}
	if g, ok := connector.Lookup(LogtoID); !ok || g.ID != ID {
		t.Errorf("Logto's ID does not resolve to %q", ID)
	}
}

func TestNoSecretsInLogsOrErrors(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass, token: testToken})
	logs := &logSink{}
	c := build(t, s.Config(), logs)
	oauth := build(t, merge(t, s.Config(), map[string]any{"auth": map[string]any{"type": "oauth2", "user": testUser, "accessToken": testToken}}), logs)
	var errs []string
	for _, f := range []connectortest.Failure{connectortest.FailNone, connectortest.FailAuth, connectortest.FailReject, connectortest.FailTemporary} {
		s.Fail(f)
		for _, conn := range []*sender{c, oauth} {
			if _, err := conn.Send(context.Background(), connectortest.Message("secrets")); err != nil {
				errs = append(errs, err.Error(), fmt.Sprintf("%#v", err))
			}
		}
	}
	if len(errs) == 0 {
		t.Fatal("no failures were produced")
	}
	text := strings.Join(errs, "\n") + logs.String() + fmt.Sprintf("%v %+v", c.cfg, oauth.cfg)
	for _, sec := range []string{testPass, testToken} {
		if strings.Contains(text, sec) {
			t.Errorf("secret %q leaked:\n%s", sec, text)
		}
	}
	if !strings.Contains(logs.String(), "smtp connection opened") {
		t.Errorf("debug logs were not captured:\n%s", logs)
	}
}

func TestClassifyReplies(t *testing.T) {
	cases := []struct {
		stage stage
		code  int
		text  string
		want  error
	}{
		{stageMail, 421, "4.7.0 Too many messages", connector.ErrRateLimited},
		{stageMail, 451, "4.7.1 Greylisted, try again later", connector.ErrRateLimited},
		{stageMail, 450, "Too many connections from your IP", connector.ErrRateLimited},
		{stageRcpt, 452, "4.5.3 Rate limit exceeded for this sender", connector.ErrRateLimited},
		{stageMail, 451, "4.3.0 Local error in processing", connector.ErrTemporary},
		{stageRcpt, 452, "4.3.1 Insufficient system storage", connector.ErrTemporary},
		{stageMail, 421, "4.4.2 Idle timeout", connector.ErrTemporary},
		{stageAuth, 454, "4.7.0 Temporary authentication failure", connector.ErrTemporary},
		{stageAuth, 535, "5.7.8 Authentication credentials invalid", connector.ErrAuth},
		{stageAuth, 534, "5.7.9 Please log in with your web browser", connector.ErrAuth},
		{stageMail, 530, "5.7.0 Authentication required", connector.ErrAuth},
		{stageRcpt, 550, "5.1.1 No such user", connector.ErrRejected},
		{stageRcpt, 554, "5.7.1 Relay access denied", connector.ErrRejected},
		{stageContent, 552, "5.3.4 Message too big", connector.ErrRejected},
	}
	for _, tc := range cases {
		err := replyError(tc.stage, tc.code, tc.text, []string{"hunter2"})
		if !errors.Is(err, tc.want) {
			t.Errorf("%d %s at %s = %v, want %v", tc.code, tc.text, tc.stage, err, tc.want)
		}
	}
	err := replyError(stageRcpt, 550, "5.1.1 <hunter2@x> unknown "+strings.Repeat("x", 2000), []string{"hunter2"})
	var e *connector.Error
	if !errors.As(err, &e) || e.Code != "5.1.1" || strings.Contains(e.Message, "hunter2") || len(e.Message) > connector.SnippetLimit+10 {
		t.Errorf("error = %#v, want a bounded, redacted message with code 5.1.1", err)
	}
}

func TestCancelledWhileWaitingForAConnection(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, merge(t, s.Config(), map[string]any{"maxConnections": 1}), nil)
	s.Fail(connectortest.FailSlow)
	slow, cancelSlow := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(slow, connectortest.Message("holds-the-slot"))
		done <- err
	}()
	testwait.Until(t, 5*time.Second, func() bool { return len(c.pool.slots) == 1 }, "the slow send to hold the only slot")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Send(ctx, connectortest.Message("waits")); !connector.Temporary(err) {
		t.Errorf("error = %v, want a temporary deadline error", err)
	}
	cancelSlow()
	if err := <-done; err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled send error = %v, want context.Canceled", err)
	}
}

// decodeAll decodes RFC 2047 header values.
func decodeAll(vals []string) []string {
	dec := new(mime.WordDecoder)
	var out []string
	for _, v := range vals {
		d, err := dec.DecodeHeader(v)
		if err != nil {
			d = v
		}
		out = append(out, d)
	}
	return out
}
