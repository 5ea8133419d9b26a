package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestPurge(t *testing.T) {
	ctx := context.Background()

	run(t, "DeletesWhatEndedAndKeepsTheRest", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			email   string
			expires time.Time
		}{{"old@example.com", now.Add(-time.Minute)}, {"live@example.com", now.Add(time.Minute)}} {
			must(w.CodePut(ctx, store.Code{TenantID: "default", Email: c.email, UsageType: "Generic", Hash: "h", CreatedAt: now.Add(-time.Hour), ExpiresAt: c.expires}))
		}
		must(w.RateAdd(ctx, "default", "send", "k", now.Add(-2*time.Hour)))
		must(w.RateAdd(ctx, "default", "send", "k", now.Add(-time.Hour)))
		// Counters go when their whole hour is older than keepEvents.
		for _, at := range []time.Time{now.Add(-3 * time.Hour), now} {
			must(s.InTx(ctx, func(tx *store.Tx) error {
				return tx.Counted(ctx, "default", store.Count{Bucket: "send", Key: "c", At: at,
					Counters: []store.Counter{{Bucket: "send_tenant", Key: "default"}}, Hour: at.Truncate(time.Hour)})
			}))
		}
		must(w.LockoutPut(ctx, store.Lockout{TenantID: "default", KeyHash: "ended", Until: now.Add(-time.Second)}))
		must(w.LockoutPut(ctx, store.Lockout{TenantID: "default", KeyHash: "active", Until: now.Add(time.Hour)}))
		old, recent := now.Add(-48*time.Hour), now.Add(-time.Hour)
		for _, m := range []struct {
			id, status string
			created    time.Time
		}{
			{"old-sent", store.StatusSent, old}, {"old-failed", store.StatusFailed, old},
			{"old-queued", store.StatusQueued, old}, {"old-sending", store.StatusSending, old},
			{"recent-sent", store.StatusSent, recent},
		} {
			must(w.MessageInsert(ctx, store.Message{TenantID: "default", ID: m.id, Status: m.status, CreatedAt: m.created, UpdatedAt: m.created}))
			must(s.InTx(ctx, func(tx *store.Tx) error {
				return tx.MessageRecord(ctx, store.Outcome{TenantID: "default", MessageID: m.id, Attempt: 1, StartedAt: m.created, Status: m.status, At: m.created})
			}))
		}
		must(w.InboxInsert(ctx, store.InboxMessage{TenantID: "default", ID: "old", Payload: "{}", CreatedAt: old}))
		must(w.InboxInsert(ctx, store.InboxMessage{TenantID: "default", ID: "recent", Payload: "{}", CreatedAt: recent}))

		for _, x := range []struct {
			id      string
			expires time.Time
		}{{"ended", now.Add(-time.Second)}, {"live", now.Add(time.Hour)}} {
			must(w.InteractionInsert(ctx, store.Interaction{TenantID: "default", IDHash: x.id, AuthRequestID: "ar", Request: "{}", State: "s",
				CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour), ExpiresAt: x.expires}))
			must(w.SessionInsert(ctx, store.SignInSession{TenantID: "default", IDHash: x.id, UserID: "u", AuthTime: now.Add(-time.Hour), AMR: "[]",
				CreatedAt: now.Add(-time.Hour), ExpiresAt: x.expires}))
		}

		r, err := w.Purge(ctx, now, 90*time.Minute, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.PurgeResult{Codes: 1, RateEvents: 2, RateCounters: 1, Lockouts: 1, Messages: 2, Interactions: 1, Sessions: 1}); r != want {
			t.Fatalf("purge = %+v, want %+v", r, want)
		}

		if _, err := s.CodeGet(ctx, "default", "live@example.com", "Generic"); err != nil {
			t.Errorf("live code: %v", err)
		}
		if n, _ := s.RateCount(ctx, "default", "send", "k", time.Time{}); n != 1 {
			t.Errorf("%d rate events left, want the recent one", n)
		}
		if until, _ := s.LockoutUntil(ctx, "default", "active"); until.IsZero() {
			t.Error("the active lockout was purged")
		}
		list, err := s.MessageList(ctx, store.MessageFilter{Tenant: "default"})
		left := map[string]bool{}
		for _, m := range list {
			left[m.ID] = true
		}
		if err != nil || len(list) != 3 || !left["old-queued"] || !left["old-sending"] || !left["recent-sent"] {
			t.Errorf("messages left = %v, %v; want the unsettled and the recent ones", left, err)
		}
		for id, want := range map[string]int{"old-sent": 0, "old-queued": 1, "recent-sent": 1} {
			if atts, err := s.AttemptList(ctx, "default", id); err != nil || len(atts) != want {
				t.Errorf("attempts of %s = %d, %v; want %d", id, len(atts), err, want)
			}
		}
		if _, err := s.InteractionGet(ctx, "default", "live", now); err != nil {
			t.Errorf("the live interaction: %v", err)
		}
		if _, err := s.SessionGet(ctx, "default", "live", now); err != nil {
			t.Errorf("the live sign-in session: %v", err)
		}
		if inbox, err := s.InboxList(ctx, "default", "", 10); err != nil || len(inbox) != 1 || inbox[0].ID != "recent" {
			t.Errorf("inbox = %+v, %v; want only the recent message", inbox, err)
		}
	})
}
