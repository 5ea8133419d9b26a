package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestConnectorHealth(t *testing.T) {
	ctx := context.Background()
	// attempt records one attempt of a new message through connector row.
	attempt := func(t *testing.T, s *store.Store, row string, at time.Time, errText string) {
		t.Helper()
		id := fmt.Sprintf("m-%d", at.UnixNano())
		if err := s.WriteQ().MessageInsert(ctx, store.Message{TenantID: "default", ID: id, Recipient: "a@example.com", UsageType: "SignIn",
			Locale: "en", Content: "sealed", Status: store.StatusSending, CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		status := store.StatusSent
		if errText != "" {
			status = store.StatusQueued
		}
		if err := s.MessageSettle(ctx, store.Outcome{TenantID: "default", MessageID: id, Attempt: 1, StartedAt: at, Duration: 3 * time.Millisecond,
			ConnectorID: "smtp", ConnectorRowID: row, Status: status, Error: errText, At: at.Add(3 * time.Millisecond)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	health := func(t *testing.T, s *store.Store, row string) store.ConnectorHealth {
		t.Helper()
		h, err := s.ConnectorHealth(ctx, "default", row)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	run(t, "NoAttemptsIsTheZeroHealth", func(t *testing.T, s *store.Store) {
		if h := health(t, s, "conn_1"); h != (store.ConnectorHealth{}) {
			t.Fatalf("health without attempts = %+v, want zero", h)
		}
	})

	run(t, "FollowsTheConnectorsOwnAttempts", func(t *testing.T, s *store.Store) {
		t0 := testNow()
		attempt(t, s, "conn_1", t0, "")
		attempt(t, s, "conn_1", t0.Add(time.Second), "temporary failure: connection refused")
		attempt(t, s, "conn_1", t0.Add(2*time.Second), "temporary failure: timeout")
		// Another connector's attempts, and attempts through no connector, do not count.
		attempt(t, s, "conn_2", t0.Add(3*time.Second), "")
		attempt(t, s, "", t0.Add(4*time.Second), "building connector: invalid config")
		want := store.ConnectorHealth{LastSuccessAt: t0.Add(3 * time.Millisecond), LastFailureAt: t0.Add(2*time.Second + 3*time.Millisecond),
			LastError: "temporary failure: timeout", ConsecutiveFailures: 2}
		if h := health(t, s, "conn_1"); h != want {
			t.Fatalf("health after a success and two failures = %+v, want %+v", h, want)
		}
		attempt(t, s, "conn_1", t0.Add(5*time.Second), "")
		h := health(t, s, "conn_1")
		if h.ConsecutiveFailures != 0 || !h.LastSuccessAt.Equal(t0.Add(5*time.Second+3*time.Millisecond)) || h.LastError != want.LastError {
			t.Fatalf("health after a new success = %+v, want no consecutive failures, the new success and the old last error", h)
		}
	})

	run(t, "AllListsEveryConnector", func(t *testing.T, s *store.Store) {
		t0 := testNow()
		for _, c := range []store.Connector{{TenantID: "default", ID: "conn_1", ConnectorID: "smtp"}, {TenantID: "other", ID: "conn_9", ConnectorID: "sendgrid"}} {
			c.Config, c.CreatedAt, c.UpdatedAt = "sealed", t0, t0
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.ConnectorReplace(ctx, c) }); err != nil {
				t.Fatal(err)
			}
		}
		attempt(t, s, "conn_1", t0, "rejected")
		all, err := s.ConnectorHealthAll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].ID != "conn_1" || all[0].ConnectorID != "smtp" || all[0].ConsecutiveFailures != 1 ||
			all[1].TenantID != "other" || all[1].ConsecutiveFailures != 0 {
			t.Fatalf("ConnectorHealthAll = %+v, want conn_1 (smtp, 1 failure) and other's conn_9 (none)", all)
		}
	})
}
