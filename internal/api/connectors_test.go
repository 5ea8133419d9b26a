package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/smtpsink"
)

func startSink(t *testing.T) *smtpsink.Sink {
	t.Helper()
	sink, err := smtpsink.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	return sink
}

// smtpConfig points the SMTP connector at the sink: plain SMTP on
// loopback, no auth (the sink offers none), STARTTLS never attempted.
func smtpConfig(sink *smtpsink.Sink) map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": sink.Port(), "fromEmail": "Acme <no-reply@acme.test>", "ignoreTLS": true}
}

// textAndHTML reads the parts of a multipart/alternative message.
func textAndHTML(t *testing.T, raw []byte) (text, html string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing received message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		body, _ := io.ReadAll(decodePart(p))
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			text = string(body)
		case "text/html":
			html = string(body)
		}
	}
	if text == "" || html == "" {
		t.Fatalf("message lacks a text or an HTML part:\n%s", raw)
	}
	return text, html
}

func decodePart(p *multipart.Part) io.Reader {
	// multipart.Part decodes quoted-printable itself; base64 is left to us.
	if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
		return base64Reader(p)
	}
	return p
}

// TestSMTPConnector sends a code through the SMTP connector to a real SMTP
// server and follows it in the message log.
func TestSMTPConnector(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		// With credentials: the response and the list redact the password.
		withAuth := smtpConfig(sink)
		withAuth["auth"] = map[string]any{"user": "mailer", "pass": "smtp-pass-S3cr3t-value"}
		c := createConnector(t, a, "smtp", withAuth)
		if strings.Contains(string(c.Config), "smtp-pass-S3cr3t-value") || !strings.Contains(string(c.Config), `"pass":"[redacted]"`) {
			t.Errorf("created connector config = %s, want the password redacted", c.Config)
		}
		status, body := a.Do("GET", "/api/connectors", nil)
		if status != 200 || bytes.Contains(body, []byte("smtp-pass-S3cr3t-value")) || !bytes.Contains(body, []byte(`"pass":"[redacted]"`)) {
			t.Fatalf("GET /api/connectors = %d %s, want the password redacted", status, body)
		}
		conns := connectors(t, a)
		if len(conns) != 1 || conns[0].ConnectorID != "smtp" || conns[0].ID != c.ID {
			t.Fatalf("connectors = %+v, want the smtp connector alone (the dev inbox replaced)", conns)
		}

		// The sink offers no AUTH, so this config fails for good, and says why.
		const early = "early@example.com"
		e := a.WantError("POST", "/api/verification-codes", map[string]string{"email": early}, http.StatusBadRequest, "connector.invalid_config")
		if !strings.Contains(e.Message, "AUTH") || string(e.Data) != `{"field":"auth"}` || strings.Contains(e.Message, "smtp-pass-S3cr3t-value") {
			t.Fatalf("send with auth against a server without AUTH: %+v, want invalid_config naming auth", e)
		}
		if m := onlyMessage(t, a, early); m.Status != "failed" || m.Attempts != 1 {
			t.Errorf("message after a config error = %+v, want failed after 1 attempt", m)
		}

		// Without auth, as a relay on loopback.
		c = createConnector(t, a, "smtp", smtpConfig(sink))
		if conns := connectors(t, a); len(conns) != 1 || conns[0].ID != c.ID {
			t.Fatalf("connectors = %+v, want only the new smtp connector", conns)
		}
		const to = "dave@example.com"
		sendCode(t, a, to)
		got := sink.To(to)
		if len(got) != 1 {
			t.Fatalf("sink received %d messages for %s, want 1", len(got), to)
		}
		text, html := textAndHTML(t, got[0].Raw)
		codes := sixDigits.FindAllString(text, -1)
		if len(codes) == 0 || !strings.Contains(html, codes[0]) {
			t.Fatalf("no six-digit code in both parts; text:\n%s", text)
		}
		if from := got[0].Header.Get("From"); !strings.Contains(from, "no-reply@acme.test") {
			t.Errorf("From = %q", from)
		}
		m := onlyMessage(t, a, to)
		if m.Status != "sent" || m.Attempts != 1 || m.Connector != "smtp" || m.SentAt == 0 {
			t.Errorf("message = %+v, want sent by smtp in one attempt", m)
		}
		if len(m.AttemptLog) != 1 || m.AttemptLog[0].Attempt != 1 || m.AttemptLog[0].Outcome != "sent" {
			t.Errorf("attempt log = %+v, want one sent attempt", m.AttemptLog)
		}
		// The provider message ID is the Message-ID header.
		if mid := got[0].Header.Get("Message-Id"); m.ProviderMessageID == "" || !strings.Contains(mid, strings.Trim(m.ProviderMessageID, "<>")) {
			t.Errorf("providerMessageId %q does not match Message-ID %q", m.ProviderMessageID, mid)
		}
		// The code verifies.
		a.JSON("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": codes[0]}, http.StatusNoContent, nil)
	})
}

// TestHTTPEmailConnector covers the HTTP email connector: the body sent,
// a refusal surfacing in the request, and a temporary failure retried by
// the queue.
func TestHTTPEmailConnector(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		rc := newReceiver(t,
			answer{http.StatusBadRequest, "unknown recipient domain"},
			answer{http.StatusServiceUnavailable, "busy"},
			answer{http.StatusOK, `{"id":"prov-42"}`})
		createConnector(t, a, "http-email", rc.config(nil))

		// 400: the request fails with the receiver's message.
		const refused = "refused@example.com"
		e := a.WantError("POST", "/api/verification-codes", map[string]string{"email": refused}, 400, "connector.general")
		if !strings.Contains(e.Message, "unknown recipient domain") {
			t.Errorf("error message %q lacks the receiver's answer", e.Message)
		}
		var data map[string]any
		if err := json.Unmarshal(e.Data, &data); err != nil || data["status"] != float64(400) {
			t.Errorf("error data = %s, want status 400", e.Data)
		}
		m := onlyMessage(t, a, refused)
		if m.Status != "failed" || !strings.Contains(m.LastError, "unknown recipient domain") || m.Attempts != 1 {
			t.Errorf("refused message = %+v, want failed with the receiver's answer", m)
		}

		// The body is exactly {to, type, payload, ip}.
		reqs := rc.Requests()
		var body map[string]json.RawMessage
		if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
			t.Fatalf("receiver got %s: %v", reqs[0].Body, err)
		}
		if len(body) != 4 || body["to"] == nil || body["type"] == nil || body["payload"] == nil || body["ip"] == nil {
			t.Fatalf("body = %s, want exactly to, type, payload, ip", reqs[0].Body)
		}
		var typed struct {
			To      string         `json:"to"`
			Type    string         `json:"type"`
			IP      string         `json:"ip"`
			Payload map[string]any `json:"payload"`
		}
		_ = json.Unmarshal(reqs[0].Body, &typed)
		if typed.To != refused || typed.Type != "Generic" || net.ParseIP(typed.IP) == nil || !sixDigits.MatchString(typed.Payload["code"].(string)) {
			t.Errorf("body = %s", reqs[0].Body)
		}

		// 503 then 200: the request succeeds, the queue delivers.
		const retried = "retried@example.com"
		sendCode(t, a, retried)
		first := onlyMessage(t, a, retried)
		if first.Status != "queued" || first.Attempts != 1 || !strings.Contains(first.LastError, "503") {
			t.Errorf("after the first attempt: %+v, want queued with the 503", first)
		}
		m = waitStatus(t, a, first.ID, "sent")
		if m.Attempts != 2 || len(m.AttemptLog) != 2 || m.ProviderMessageID != "prov-42" {
			t.Errorf("retried message = %+v, want sent on the 2nd attempt with provider id prov-42", m)
		}
		reqs = rc.Requests()
		if len(reqs) != 3 || reqs[1].Header.Get("webhook-id") != first.ID || reqs[2].Header.Get("webhook-id") != first.ID {
			t.Errorf("receiver got %d requests; the retry must carry the same webhook-id %s", len(reqs), first.ID)
		}
	})
}

// TestExpiredBeforeDelivery: a message that cannot be delivered before its
// code expires stops being retried and fails.
func TestExpiredBeforeDelivery(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		rc := newReceiver(t, answer{http.StatusServiceUnavailable, "down for maintenance"})
		createConnector(t, a, "http-email", rc.config(nil))
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"expirationDuration": 60}})
		const to = "late@example.com"
		sendCode(t, a, to)
		m := onlyMessage(t, a, to)
		if m.Status != "queued" {
			t.Fatalf("after a 503: %+v, want queued", m)
		}
		// Most of the code's life passes: the next retries land past expiry.
		clock.Advance(50 * time.Second)
		m = waitStatus(t, a, m.ID, "failed")
		if !strings.HasPrefix(m.LastError, "expired before delivery") || !strings.Contains(m.LastError, "503") {
			t.Errorf("lastError = %q, want it to start with \"expired before delivery\" and keep the last error", m.LastError)
		}
		if m.Attempts < 2 || len(rc.Requests()) != m.Attempts {
			t.Errorf("attempts = %d, receiver saw %d requests", m.Attempts, len(rc.Requests()))
		}
	})
}

// TestPatchKeepsRedactedSecret: echoing the redacted config back keeps
// the stored secret.
func TestPatchKeepsRedactedSecret(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		rc := newReceiver(t)
		c := createConnector(t, a, "http-email", rc.config(map[string]any{"authorization": "Bearer original-token-123"}))
		var cfg map[string]any
		if err := json.Unmarshal(c.Config, &cfg); err != nil || cfg["authorization"] != "[redacted]" {
			t.Fatalf("config = %s, want authorization redacted", c.Config)
		}
		cfg["headers"] = map[string]string{"X-Tenant": "acme"}
		var patched installed
		a.JSON("PATCH", "/api/connectors/"+c.ID, map[string]any{"config": cfg}, http.StatusOK, &patched)
		if !strings.Contains(string(patched.Config), `"X-Tenant":"acme"`) || !strings.Contains(string(patched.Config), `"authorization":"[redacted]"`) {
			t.Fatalf("patched config = %s", patched.Config)
		}
		sendCode(t, a, "erin@example.com")
		reqs := rc.Requests()
		if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer original-token-123" || reqs[0].Header.Get("X-Tenant") != "acme" {
			t.Fatalf("receiver saw %d requests, Authorization %q, X-Tenant %q", len(reqs), reqs[0].Header.Get("Authorization"), reqs[0].Header.Get("X-Tenant"))
		}
		// A new value replaces it.
		cfg["authorization"] = "Bearer rotated-token-456"
		a.JSON("PATCH", "/api/connectors/"+c.ID, map[string]any{"config": cfg}, http.StatusOK, nil)
		sendCode(t, a, "frank@example.com")
		if reqs := rc.Requests(); len(reqs) != 2 || reqs[1].Header.Get("Authorization") != "Bearer rotated-token-456" {
			t.Fatalf("after rotating, Authorization = %q", reqs[len(reqs)-1].Header.Get("Authorization"))
		}
		// An invalid patch changes nothing.
		a.WantError("PATCH", "/api/connectors/"+c.ID, map[string]any{"config": map[string]any{"endpoint": "ftp://x"}}, 400, "connector.invalid_config")
		sendCode(t, a, "gina@example.com")
		if reqs := rc.Requests(); len(reqs) != 3 || reqs[2].Header.Get("Authorization") != "Bearer rotated-token-456" {
			t.Fatalf("after a refused patch the connector changed: %d requests", len(reqs))
		}
		a.WantError("PATCH", "/api/connectors/conn_missing", map[string]any{"config": cfg}, 404, "entity.not_found")
	})
}

// TestConnectorSwitch: a new connector takes effect for the next message.
func TestConnectorSwitch(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		one, two := newReceiver(t), newReceiver(t)
		createConnector(t, a, "http-email", one.config(nil))
		sendCode(t, a, "h1@example.com")
		createConnector(t, a, "http-email", two.config(nil))
		sendCode(t, a, "h2@example.com")
		sink := startSink(t)
		createConnector(t, a, "smtp", smtpConfig(sink))
		sendCode(t, a, "h3@example.com")
		if len(one.Requests()) != 1 || len(two.Requests()) != 1 || len(sink.To("h3@example.com")) != 1 {
			t.Fatalf("requests: first %d, second %d, smtp %d; want one each", len(one.Requests()), len(two.Requests()), len(sink.Messages()))
		}
		if !bytes.Contains(two.Requests()[0].Body, []byte("h2@example.com")) {
			t.Errorf("second receiver got %s", two.Requests()[0].Body)
		}
		if n := len(inbox(t, a, "")); n != 0 {
			t.Errorf("dev inbox has %d messages, want none", n)
		}
	})
}

// TestDeleteConnector: refused while sign-in uses email codes, unless
// forced; afterwards sending answers 501.
func TestDeleteConnector(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		c := connectors(t, a)[0]
		patchExperience(t, a, map[string]any{"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": true, "password": false, "isPasswordPrimary": false}}}})
		a.WantError("DELETE", "/api/connectors/"+c.ID, nil, http.StatusConflict, "connector.in_use")
		if len(connectors(t, a)) != 1 {
			t.Fatal("a refused delete removed the connector")
		}
		a.JSON("DELETE", "/api/connectors/"+c.ID+"?force=true", nil, http.StatusNoContent, nil)
		if n := len(connectors(t, a)); n != 0 {
			t.Fatalf("%d connectors after a forced delete", n)
		}
		a.WantError("POST", "/api/verification-codes", map[string]string{"email": "ivan@example.com"}, http.StatusNotImplemented, "connector.not_found")
		if ms := messages(t, a, "ivan@example.com"); len(ms) != 0 {
			t.Errorf("a send with no connector logged %+v", ms)
		}
		a.WantError("DELETE", "/api/connectors/"+c.ID, nil, http.StatusNotFound, "entity.not_found")
		// Email sign-in cannot be turned on again without a connector.
		status, _ := a.Do("PATCH", "/api/sign-in-exp", map[string]any{"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true}})
		if status != http.StatusBadRequest {
			t.Errorf("enabling email sign-up with no connector: %d, want 400", status)
		}
	})
}

// TestDeleteConnectorWhenUnused: with no sign-in relying on email codes a
// plain delete works.
func TestDeleteConnectorWhenUnused(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		c := connectors(t, a)[0]
		a.JSON("DELETE", "/api/connectors/"+c.ID, nil, http.StatusNoContent, nil)
		a.WantError("POST", "/api/verification-codes", map[string]string{"email": "judy@example.com"}, http.StatusNotImplemented, "connector.not_found")
	})
}

// TestConnectorTestRoute sends a Generic test message with an unsaved
// config and saves nothing.
func TestConnectorTestRoute(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		before := connectors(t, a)
		a.JSON("POST", "/api/connectors/smtp/test", map[string]any{"email": "tester@example.com", "config": smtpConfig(sink)}, http.StatusNoContent, nil)
		got := sink.To("tester@example.com")
		if len(got) != 1 {
			t.Fatalf("sink got %d test messages, want 1", len(got))
		}
		text, _ := textAndHTML(t, got[0].Raw)
		if !strings.Contains(text, "000000") {
			t.Errorf("test message text lacks code 000000:\n%s", text)
		}
		after := connectors(t, a)
		if len(after) != len(before) || after[0].ID != before[0].ID || after[0].ConnectorID != "dev-inbox" {
			t.Errorf("connectors changed by a test send: %+v -> %+v", before, after)
		}
		if ms := messages(t, a, "tester@example.com"); len(ms) != 0 {
			t.Errorf("test send logged messages: %+v", ms)
		}

		// An unreachable port: a listener closed at once.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cfg := smtpConfig(sink)
		cfg["port"] = port
		cfg["connectionTimeout"] = 2000
		e := a.WantError("POST", "/api/connectors/smtp/test", map[string]any{"email": "tester@example.com", "config": cfg}, 400, "connector.general")
		if !strings.Contains(e.Message, "connection refused") {
			t.Errorf("unreachable server error %q says nothing about the connection", e.Message)
		}
		// Bad configs and unknown factories are refused before any send.
		a.WantError("POST", "/api/connectors/smtp/test", map[string]any{"email": "tester@example.com", "config": map[string]any{"host": "127.0.0.1"}}, 400, "connector.invalid_config")
		a.WantError("POST", "/api/connectors/nope/test", map[string]any{"email": "tester@example.com", "config": map[string]any{}}, 422, "connector.not_found_with_connector_id")
		if n := len(sink.Messages()); n != 1 {
			t.Errorf("sink got %d messages in all, want 1", n)
		}
	})
}

// TestConnectorIDIsChecked: a caller-chosen connector ID becomes part of
// the URL of every later request on the connector, so one that no URL can
// address (a slash, a space, a control character) is refused up front.
func TestConnectorIDIsChecked(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		for _, id := range []string{"a/b", "has space", "tab\there", "dot.dot", "..", strings.Repeat("x", 129)} {
			a.WantError("POST", "/api/connectors", map[string]any{"connectorId": "dev-inbox", "id": id}, 400, "guard.invalid_input")
		}
		var got installed
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "dev-inbox", "id": "my-inbox_2"}, 200, &got)
		a.JSON("GET", "/api/connectors/my-inbox_2", nil, 200, &got)
		if got.ID != "my-inbox_2" {
			t.Fatalf("connector id = %q", got.ID)
		}
	})
}
