package api_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// scopesServer answers SendGrid's GET /v3/scopes for one key and counts
// the Mail Send calls it gets, which a check must not make.
type scopesServer struct {
	*httptest.Server
	key   string
	auths atomic.Value // the last Authorization header
	sends atomic.Int32
}

func newScopesServer(t *testing.T, key string) *scopesServer {
	t.Helper()
	s := &scopesServer{key: key}
	s.auths.Store("")
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.auths.Store(r.Header.Get("Authorization"))
		if r.URL.Path == "/v3/mail/send" {
			s.sends.Add(1)
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet || r.URL.Path != "/v3/scopes" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+s.key {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"field":null,"message":"The provided authorization grant is invalid, expired, or revoked"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"scopes":["mail.send"]}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func sendgridConfig(endpoint, key string) map[string]any {
	return map[string]any{"apiKey": key, "fromEmail": "no-reply@auth.example.com", "endpoint": endpoint}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// closedSMTPConfig points the SMTP connector at a port nothing listens on.
func closedSMTPConfig(t *testing.T) map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": closedPort(t), "fromEmail": "no-reply@auth.example.com"}
}

// TestCheckRouteProvesAConfigWithoutSending: a working config answers
// 204 and sends nothing; a refused key answers 400 connector.general with
// the provider's message and without the key; nothing is saved either way.
func TestCheckRouteProvesAConfigWithoutSending(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		const key = "SG.check-key-0123456789"
		sg := newScopesServer(t, key)
		if status, b := a.Do("POST", "/api/connectors/sendgrid/check", map[string]any{"config": sendgridConfig(sg.URL, key)}); status != http.StatusNoContent {
			t.Fatalf("check of a working config = %d %s, want 204", status, b)
		}
		const wrong = "SG.wrong-key-9876543210"
		e := a.WantError("POST", "/api/connectors/sendgrid/check", map[string]any{"config": sendgridConfig(sg.URL, wrong)}, http.StatusBadRequest, "connector.general")
		if !strings.Contains(e.Message, "authorization grant is invalid") {
			t.Errorf("error %q does not carry SendGrid's message", e.Message)
		}
		if strings.Contains(e.Message+string(e.Data), wrong) {
			t.Errorf("error %s %s shows the key", e.Message, e.Data)
		}
		if n := sg.sends.Load(); n != 0 {
			t.Errorf("a check sent %d messages", n)
		}
		var list []installed
		a.JSON("GET", "/api/connectors", nil, http.StatusOK, &list)
		for _, c := range list {
			if c.ConnectorID == "sendgrid" {
				t.Errorf("a check saved a connector: %+v", c)
			}
		}
	})
}

// TestCheckRouteSMTP: a reachable server passes; a closed port is the
// connector's error (the address and the refusal) as connector.general.
func TestCheckRouteSMTP(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		if status, b := a.Do("POST", "/api/connectors/smtp/check", map[string]any{"config": smtpConfig(sink)}); status != http.StatusNoContent {
			t.Fatalf("check of a listening SMTP server = %d %s, want 204", status, b)
		}
		if n := len(sink.Messages()); n != 0 {
			t.Errorf("a check delivered %d messages", n)
		}
		e := a.WantError("POST", "/api/connectors/smtp/check", map[string]any{"config": closedSMTPConfig(t)}, http.StatusBadRequest, "connector.general")
		if !strings.Contains(e.Message, "refused") {
			t.Errorf("error %q does not say the connection was refused", e.Message)
		}
	})
}

// TestCheckRouteUsesTheSavedSecretForARedactedEcho: a console checking an
// edit of the saved connector sends its key back redacted; the check
// presents the saved one.
func TestCheckRouteUsesTheSavedSecretForARedactedEcho(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		const key = "SG.saved-key-0123456789"
		sg := newScopesServer(t, key)
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "sendgrid", "config": sendgridConfig(sg.URL, key)}, http.StatusOK, nil)
		body := map[string]any{"config": sendgridConfig(sg.URL, "[redacted]")}
		if status, b := a.Do("POST", "/api/connectors/sendgrid/check", body); status != http.StatusNoContent {
			t.Fatalf("check with the saved key echoed redacted = %d %s, want 204", status, b)
		}
		if got := sg.auths.Load(); got != "Bearer "+key {
			t.Errorf("SendGrid got Authorization %q, want the saved key", got)
		}
	})
}

// TestCheckRouteOfAConnectorThatCannotCheck answers 501
// connector.not_implemented pointing at the test route, and an unknown
// factory the 422 every route gives it.
func TestCheckRouteOfAConnectorThatCannotCheck(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		e := a.WantError("POST", "/api/connectors/http-email/check", map[string]any{"config": map[string]any{"endpoint": "https://hooks.example.com/mail"}},
			http.StatusNotImplemented, "connector.not_implemented")
		if !strings.Contains(e.Message, "/api/connectors/http-email/test") {
			t.Errorf("error %q does not point at the test route", e.Message)
		}
		a.WantError("POST", "/api/connectors/no-such-factory/check", map[string]any{"config": map[string]any{}}, http.StatusUnprocessableEntity, "connector.not_found_with_connector_id")
		a.WantError("POST", "/api/connectors/smtp/check", map[string]any{}, http.StatusBadRequest, "guard.invalid_input")
	})
}

// savedWithCheck is the answer to a save made with ?check=true.
type savedWithCheck struct {
	installed
	Check *struct {
		Result  string `json:"result"`
		Message string `json:"message"`
	} `json:"check"`
}

// TestSaveWithCheckRefusesAPermanentFailure: POST /api/connectors?check=true
// with a refused key answers 400 connector.general and saves nothing, so
// the connector in use stays; PATCH ?check=true likewise keeps the saved
// config. A passing check saves and says so.
func TestSaveWithCheckRefusesAPermanentFailure(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		const key = "SG.good-key-0123456789"
		sg := newScopesServer(t, key)
		var saved savedWithCheck
		a.JSON("POST", "/api/connectors?check=true", map[string]any{"connectorId": "sendgrid", "config": sendgridConfig(sg.URL, key)}, http.StatusOK, &saved)
		if saved.Check == nil || saved.Check.Result != "passed" {
			t.Fatalf("save with a passing check answered check = %+v, want passed", saved.Check)
		}
		a.WantError("POST", "/api/connectors?check=true", map[string]any{"connectorId": "sendgrid", "config": sendgridConfig(sg.URL, "SG.bad-key-000")},
			http.StatusBadRequest, "connector.general")
		a.WantError("PATCH", "/api/connectors/"+saved.ID+"?check=true", map[string]any{"config": sendgridConfig(sg.URL, "SG.bad-key-000")},
			http.StatusBadRequest, "connector.general")
		var list []installed
		a.JSON("GET", "/api/connectors", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != saved.ID {
			t.Fatalf("connectors after refused saves = %+v, want only %s", list, saved.ID)
		}
		// The saved key still works: a check of the redacted config passes.
		if status, b := a.Do("POST", "/api/connectors/sendgrid/check", map[string]any{"config": json.RawMessage(list[0].Config)}); status != http.StatusNoContent {
			t.Errorf("check of the saved config = %d %s; a refused PATCH changed it", status, b)
		}
	})
}

// TestSaveWithCheckKeepsATemporaryFailureAndSaysSo: a server that does not
// answer now may later, so the save goes ahead with check.result
// temporary_failure and the connector's error; a connector that cannot
// check saves with not_supported. Without ?check=true nothing is checked.
func TestSaveWithCheckKeepsATemporaryFailureAndSaysSo(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		closed := closedSMTPConfig(t)
		var saved savedWithCheck
		a.JSON("POST", "/api/connectors?check=true", map[string]any{"connectorId": "smtp", "config": closed}, http.StatusOK, &saved)
		if saved.Check == nil || saved.Check.Result != "temporary_failure" || !strings.Contains(saved.Check.Message, "refused") {
			t.Fatalf("save against a closed port answered check = %+v, want temporary_failure saying the connection was refused", saved.Check)
		}
		if !strings.Contains(a.Logs(), "connector check failed temporarily") {
			t.Errorf("the saved temporary failure was not logged")
		}
		a.JSON("POST", "/api/connectors?check=true", map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": "https://hooks.example.com/mail"}}, http.StatusOK, &saved)
		if saved.Check == nil || saved.Check.Result != "not_supported" {
			t.Fatalf("save of http-email with check answered check = %+v, want not_supported", saved.Check)
		}
		var plain savedWithCheck
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": closed}, http.StatusOK, &plain)
		if plain.Check != nil {
			t.Errorf("save without check=true answered check = %+v, want none", plain.Check)
		}
	})
}
