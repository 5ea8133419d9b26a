package api_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authmail/authmail/connector"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/store/storetest"
)

// wantRefused checks that a connector of factory with cfg is refused at
// connect time, with an error holding want, both by the test route and by
// a real send (whose message fails at once, its lastError saying why).
func wantRefused(t *testing.T, a *apptest.App, factory string, cfg map[string]any, to, want string) {
	t.Helper()
	e := a.WantError("POST", "/api/connectors/"+factory+"/test", map[string]any{"email": to, "config": cfg}, http.StatusBadRequest, "connector.general")
	if !strings.Contains(e.Message, want) {
		t.Errorf("test send: %q does not say %q", e.Message, want)
	}
	createConnector(t, a, factory, cfg)
	e = a.WantError("POST", "/api/verification-codes", map[string]string{"email": to}, http.StatusBadRequest, "connector.general")
	if !strings.Contains(e.Message, want) {
		t.Errorf("send: %q does not say %q", e.Message, want)
	}
	m := onlyMessage(t, a, to)
	if m.Status != "failed" || m.Attempts != 1 || !strings.Contains(m.LastError, want) {
		t.Errorf("message %s: status %s after %d attempts, lastError %q; want failed at once saying %q", to, m.Status, m.Attempts, m.LastError, want)
	}
}

// TestConnectorsCannotReachInside: endpoints and SMTP hosts aimed at a
// cloud metadata address, a private address or authmail's own address
// are refused when the connection is made, on the test route and on real
// sends, with an error naming the setting that would allow it (or saying
// none does); the receiver is never reached.
func TestConnectorsCannotReachInside(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		never := "which connectors never connect to"
		allowPrivate := "--" + config.AllowPrivateEndpoints
		wantRefused(t, a, "http-email", map[string]any{"endpoint": "https://169.254.169.254/latest/meta-data/"}, "metadata@example.com", "169.254.169.254:443: it is a link-local or cloud metadata address, "+never)
		wantRefused(t, a, "http-email", map[string]any{"endpoint": "https://[fd00:ec2::254]/latest/api/token"}, "metadata6@example.com", "[fd00:ec2::254]:443")
		wantRefused(t, a, "http-email", map[string]any{"endpoint": "https://100.100.100.200/latest/meta-data/"}, "aliyun@example.com", never)
		wantRefused(t, a, "smtp", map[string]any{"host": "169.254.169.254", "port": 25, "fromEmail": "a@example.com", "ignoreTLS": true}, "smtp-metadata@example.com", never)
		wantRefused(t, a, "http-email", map[string]any{"endpoint": "https://10.255.255.1/hook"}, "private@example.com", "it is a private address; connectors may connect to it only with "+allowPrivate)
		wantRefused(t, a, "smtp", map[string]any{"host": "192.168.255.254", "port": 587, "fromEmail": "a@example.com"}, "smtp-private@example.com", allowPrivate)
		// authmail's own address, although loopback is allowed here.
		wantRefused(t, a, "http-email", map[string]any{"endpoint": a.BaseURL + "/api/openapi.json"}, "self@example.com", "authmail's own listen address (--addr)")
	})
}

// TestLoopbackNeedsTheSetting: without the operator's leave, a receiver
// on loopback is refused whether it is named by IP or by a host name that
// resolves to loopback; with --allow-private-endpoints it is reached, and
// authmail's own address still is not.
func TestLoopbackNeedsTheSetting(t *testing.T) {
	rc := newReceiver(t)
	port := strconv.Itoa(rc.Listener.Addr().(*net.TCPAddr).Port)
	sink := startSink(t)
	strict := apptest.New(t, storetest.SQLiteURL(t), apptest.WithSettings(func(s *config.Settings) { s.AllowEndpoints = nil }))
	allowPrivate := "--" + config.AllowPrivateEndpoints
	wantRefused(t, strict, "http-email", rc.config(nil), "ip@example.com", "it is a loopback address; connectors may connect to it only with "+allowPrivate)
	wantRefused(t, strict, "http-email", map[string]any{"endpoint": "http://localhost:" + port + "/email"}, "name@example.com", allowPrivate)
	wantRefused(t, strict, "smtp", smtpConfig(sink), "smtp@example.com", allowPrivate)
	if n := len(rc.Requests()); n != 0 || len(sink.Messages()) != 0 {
		t.Fatalf("the loopback receivers were reached: %d requests, %d messages", n, len(sink.Messages()))
	}

	open := apptest.New(t, storetest.SQLiteURL(t), apptest.WithSettings(func(s *config.Settings) {
		s.AllowEndpoints, s.AllowPrivateEndpoints = nil, true
	}))
	local := map[string]any{"endpoint": "http://localhost:" + port + "/email"}
	open.JSON("POST", "/api/connectors/http-email/test", map[string]any{"email": "test@example.com", "config": local}, http.StatusNoContent, nil)
	createConnector(t, open, "http-email", local)
	sendCode(t, open, "sent@example.com")
	open.JSON("POST", "/api/connectors/smtp/test", map[string]any{"email": "smtp@example.com", "config": smtpConfig(sink)}, http.StatusNoContent, nil)
	if n := len(rc.Requests()); n != 2 || len(sink.To("smtp@example.com")) != 1 {
		t.Errorf("with private endpoints allowed: receiver got %d requests (want 2), sink %d messages (want 1)", n, len(sink.Messages()))
	}
	wantRefused(t, open, "http-email", map[string]any{"endpoint": open.BaseURL + "/healthz"}, "self@example.com", "authmail's own listen address")
}

// TestEveryConnectorDialsThroughThePolicy: every built-in connector that
// reaches a provider (the SDKs of SendGrid, Mailgun, SES and Aliyun
// included) connects through the host's guarded client or dialer: aimed
// at a loopback server that the policy does not allow, each test send is
// refused and the server never hears from it.
func TestEveryConnectorDialsThroughThePolicy(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	configs := map[string]map[string]any{
		"smtp":       {"host": "127.0.0.1", "port": port, "fromEmail": "a@example.com", "ignoreTLS": true},
		"http-email": {"endpoint": srv.URL},
		"sendgrid":   {"apiKey": "SG.k", "fromEmail": "a@example.com", "endpoint": srv.URL},
		"mailgun":    {"apiKey": "key-k", "domain": "mg.example.com", "from": "a@mg.example.com", "endpoint": srv.URL},
		"postmark":   {"serverToken": "pm-k", "fromEmail": "a@example.com", "endpoint": srv.URL},
		"aws-ses":    {"accessKeyId": "AKID", "accessKeySecret": "ses-secret-k", "region": "us-east-1", "emailAddress": "a@example.com", "endpoint": srv.URL},
		"aliyun-dm":  {"accessKeyId": "LTAI", "accessKeySecret": "ali-secret-k", "accountName": "a@example.com", "endpoint": srv.URL},
	}
	a := apptest.New(t, storetest.SQLiteURL(t), apptest.WithSettings(func(s *config.Settings) { s.AllowEndpoints = nil }))
	for _, f := range connector.Factories() {
		t.Run(f.ID, func(t *testing.T) {
			if f.ID == "dev-inbox" {
				t.Skip("the dev inbox reaches nothing outside the database")
			}
			cfg, ok := configs[f.ID]
			if !ok {
				t.Fatalf("no config aimed at the loopback server for %s: add one to this test", f.ID)
			}
			e := a.WantError("POST", "/api/connectors/"+f.ID+"/test", map[string]any{"email": "you@example.com", "config": cfg}, http.StatusBadRequest, "connector.general")
			if !strings.Contains(e.Message, "it is a loopback address") {
				t.Errorf("%s: %q, want the outbound policy's refusal", f.ID, e.Message)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server was reached %d times", n)
	}
}
