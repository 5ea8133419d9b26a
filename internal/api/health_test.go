package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/testwait"
)

// connectorHealth is the health member of an installed connector.
type connectorHealth struct {
	LastSuccessAt       *int64 `json:"lastSuccessAt"`
	LastFailureAt       *int64 `json:"lastFailureAt"`
	LastError           string `json:"lastError"`
	ConsecutiveFailures int    `json:"consecutiveFailures"`
}

type withHealth struct {
	ID     string           `json:"id"`
	Health *connectorHealth `json:"health"`
}

func health(t *testing.T, a *apptest.App, id string) connectorHealth {
	t.Helper()
	var c withHealth
	a.JSON("GET", "/api/connectors/"+id, nil, http.StatusOK, &c)
	if c.Health == nil {
		t.Fatalf("GET /api/connectors/%s has no health", id)
	}
	return *c.Health
}

func metrics(t *testing.T, a *apptest.App) []byte {
	t.Helper()
	resp, b := a.Request("GET", "/metrics", http.Header{}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	return b
}

// TestConnectorHealthShowsFailuresAndRecovery: an SMTP connector saved
// against a closed port answers sends with 204 while its mail waits; its
// health (in GET /api/connectors/{id}, the list and the metrics) shows the
// failures and the connector's error. Once its config points at a server
// that answers, a delivery clears the consecutive failures and records the
// success; the last error stays for reference.
func TestConnectorHealthShowsFailuresAndRecovery(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var saved installed
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": closedSMTPConfig(t)}, http.StatusOK, &saved)
		if h := health(t, a, saved.ID); h != (connectorHealth{}) {
			t.Fatalf("health of a new connector = %+v, want empty", h)
		}
		start := time.Now()
		sendCode(t, a, "dora@example.com")
		h := health(t, a, saved.ID)
		if h.ConsecutiveFailures < 1 || h.LastFailureAt == nil || h.LastSuccessAt != nil || !strings.Contains(h.LastError, "refused") {
			t.Fatalf("health after a send to a closed port = %+v, want a failure saying the connection was refused and no success", h)
		}
		if at := time.UnixMilli(*h.LastFailureAt); at.Before(start.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("lastFailureAt = %v, want about now", at)
		}
		var list []withHealth
		a.JSON("GET", "/api/connectors", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].Health == nil || list[0].Health.ConsecutiveFailures < 1 {
			t.Errorf("GET /api/connectors = %+v, want the connector with its failures", list)
		}
		m := metrics(t, a)
		if v := metricValue(m, "authmail_connector_consecutive_failures", `connector="smtp"`, `tenant="default"`); v < 1 {
			t.Errorf("authmail_connector_consecutive_failures{smtp} = %v, want at least 1\n%s", v, grepLines(m, "authmail_connector"))
		}
		if v := metricValue(m, "authmail_connector_last_success_timestamp_seconds", `connector="smtp"`); v != 0 {
			t.Errorf("authmail_connector_last_success_timestamp_seconds{smtp} = %v, want 0 before any success", v)
		}

		sink := startSink(t)
		a.JSON("PATCH", "/api/connectors/"+saved.ID, map[string]any{"config": smtpConfig(sink)}, http.StatusOK, nil)
		sendCode(t, a, "eve@example.com")
		testwait.Until(t, 10*time.Second, func() bool { return len(sink.To("eve@example.com")) == 1 }, "eve's code did not arrive")
		h = health(t, a, saved.ID)
		if h.ConsecutiveFailures != 0 || h.LastSuccessAt == nil || !strings.Contains(h.LastError, "refused") {
			t.Fatalf("health after a delivery = %+v, want no consecutive failures, a success and the last error kept", h)
		}
		m = metrics(t, a)
		if v := metricValue(m, "authmail_connector_consecutive_failures", `connector="smtp"`); v != 0 {
			t.Errorf("authmail_connector_consecutive_failures{smtp} after a delivery = %v, want 0", v)
		}
		if v := metricValue(m, "authmail_connector_last_success_timestamp_seconds", `connector="smtp"`); v < float64(start.Unix()) {
			t.Errorf("authmail_connector_last_success_timestamp_seconds{smtp} = %v, want a time after %d", v, start.Unix())
		}
	})
}
