package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/tenant"
)

// TestFirstAttemptSettlesTheJob checks the outcome of the first attempt and
// the message's delivery job together: a sent or refused message leaves no
// job behind, a temporary failure keeps it for the retry.
func TestFirstAttemptSettlesTheJob(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		rc := newReceiver(t,
			answer{http.StatusOK, `{"id":"prov-1"}`},
			answer{http.StatusBadRequest, "unknown recipient"},
			answer{http.StatusServiceUnavailable, "busy"})
		createConnector(t, a, "http-email", rc.config(nil))
		jobs := func(to string) (status string, job int) {
			t.Helper()
			ms := messages(t, a, to)
			if len(ms) != 1 {
				t.Fatalf("%d messages to %s, want 1", len(ms), to)
			}
			m, err := a.App.Store.MessageGet(context.Background(), tenant.Default, ms[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.JobID == 0 {
				t.Fatalf("message %s has no job", m.ID)
			}
			if err := a.App.Store.WriteDB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job WHERE id = $1`, m.JobID).Scan(&job); err != nil {
				t.Fatal(err)
			}
			return m.Status, job
		}

		sendCode(t, a, "sent@example.com")
		if status, n := jobs("sent@example.com"); status != "sent" || n != 0 {
			t.Errorf("sent message: status %s, %d jobs left; want sent and none", status, n)
		}
		a.WantError("POST", "/api/verification-codes", map[string]string{"email": "refused@example.com"}, 400, "connector.general")
		if status, n := jobs("refused@example.com"); status != "failed" || n != 0 {
			t.Errorf("refused message: status %s, %d jobs left; want failed and none", status, n)
		}
		sendCode(t, a, "later@example.com")
		if status, n := jobs("later@example.com"); status != "queued" || n != 1 {
			t.Errorf("temporarily failed message: status %s, %d jobs; want queued and its job", status, n)
		}
	})
}
