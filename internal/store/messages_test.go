package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestMessagesAndAttempts(t *testing.T) {
	ctx := context.Background()
	message := func(id, to string, now time.Time) store.Message {
		return store.Message{TenantID: "default", ID: id, Recipient: to, UsageType: "SignIn", Locale: "en",
			ConnectorID: "smtp", Content: "sealed", Status: store.StatusQueued, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Minute)}
	}
	insert := func(t *testing.T, s *store.Store, ms ...store.Message) {
		t.Helper()
		for _, m := range ms {
			if err := s.WriteQ().MessageInsert(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}

	run(t, "InsertKeepsEveryFieldAndRefusesADuplicate", func(t *testing.T, s *store.Store) {
		now := testNow()
		m := message("m1", "a@example.com", now)
		m.JobID, m.LeaseUntil = 42, now.Add(time.Second)
		insert(t, s, m)
		if err := s.WriteQ().MessageInsert(ctx, m); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate insert: err = %v, want ErrConflict", err)
		}
		got, err := s.MessageGet(ctx, "default", "m1")
		if err != nil || got != m {
			t.Fatalf("message = %+v, %v; want %+v", got, err, m)
		}
		if _, err := s.MessageGet(ctx, "default", "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing message: err = %v, want ErrNotFound", err)
		}
	})

	run(t, "ClaimLeasesTheMessageOnce", func(t *testing.T, s *store.Store) {
		now := testNow()
		insert(t, s, message("m1", "a@example.com", now))
		w := s.WriteQ()
		ok, attempts, err := w.MessageClaim(ctx, "default", "m1", now, now.Add(10*time.Second))
		if err != nil || !ok || attempts != 0 {
			t.Fatalf("claim = %v, %d, %v", ok, attempts, err)
		}
		if ok, _, err := w.MessageClaim(ctx, "default", "m1", now.Add(time.Second), now.Add(10*time.Second)); err != nil || ok {
			t.Fatalf("claim of a leased message = %v, %v; want refused", ok, err)
		}
		if ok, _, err := w.MessageClaim(ctx, "default", "m1", now.Add(11*time.Second), now.Add(20*time.Second)); err != nil || !ok {
			t.Fatalf("claim after the lease ran out = %v, %v; want claimed", ok, err)
		}
	})

	run(t, "ClaimSeesTheSettledAttemptCount", func(t *testing.T, s *store.Store) {
		now := testNow()
		insert(t, s, message("m1", "a@example.com", now))
		w := s.WriteQ()
		if ok, _, err := w.MessageClaim(ctx, "default", "m1", now, now.Add(10*time.Second)); err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		err := s.MessageSettle(ctx, store.Outcome{TenantID: "default", MessageID: "m1", Attempt: 1, StartedAt: now,
			ConnectorID: "smtp", Status: store.StatusQueued, Error: "temporary failure", At: now}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok, attempts, err := w.MessageClaim(ctx, "default", "m1", now.Add(time.Second), now.Add(30*time.Second)); err != nil || !ok || attempts != 1 {
			t.Fatalf("claim after one attempt = %v, %d, %v; want the count 1 from the row", ok, attempts, err)
		}
	})

	run(t, "RecordSetsTheStatusAndKeepsTheAttempts", func(t *testing.T, s *store.Store) {
		now := testNow()
		insert(t, s, message("m1", "a@example.com", now))
		outcomes := []store.Outcome{
			{TenantID: "default", MessageID: "m1", Attempt: 1, StartedAt: now, Duration: time.Millisecond,
				ConnectorID: "smtp", Status: store.StatusQueued, Error: "temporary failure", At: now},
			{TenantID: "default", MessageID: "m1", Attempt: 2, StartedAt: now.Add(time.Second), Duration: 3 * time.Millisecond,
				ConnectorID: "smtp", Status: store.StatusSent, ProviderMessageID: "p1", At: now.Add(time.Second)},
		}
		for _, o := range outcomes {
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.MessageRecord(ctx, o) }); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.MessageGet(ctx, "default", "m1")
		if err != nil || got.Status != store.StatusSent || got.Attempts != 2 || got.ProviderMessageID != "p1" ||
			!got.SentAt.Equal(now.Add(time.Second)) || got.LastError != "" || !got.LeaseUntil.IsZero() {
			t.Fatalf("message = %+v, %v", got, err)
		}
		atts, err := s.AttemptList(ctx, "default", "m1")
		if err != nil || len(atts) != 2 {
			t.Fatalf("attempts = %+v, %v", atts, err)
		}
		if a := atts[0]; a.Attempt != 1 || a.Outcome != "error" || a.Error != "temporary failure" || a.Duration != time.Millisecond || !a.StartedAt.Equal(now) {
			t.Errorf("first attempt = %+v", a)
		}
		if a := atts[1]; a.Attempt != 2 || a.Outcome != "sent" || a.Error != "" || a.Duration != 3*time.Millisecond {
			t.Errorf("second attempt = %+v", a)
		}
	})

	run(t, "SettlingAMissingMessageIsNotFound", func(t *testing.T, s *store.Store) {
		err := s.MessageSettle(ctx, store.Outcome{TenantID: "default", MessageID: "nope", Attempt: 1, Status: store.StatusSent, At: testNow()}, 0)
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("settle = %v, want ErrNotFound", err)
		}
	})

	run(t, "FailKeepsTheReasonButNeverUndoesASend", func(t *testing.T, s *store.Store) {
		now := testNow()
		sent := message("m2", "b@example.com", now)
		sent.Status = store.StatusSent
		insert(t, s, message("m1", "a@example.com", now), sent)
		for _, id := range []string{"m1", "m2"} {
			if err := s.WriteQ().MessageFail(ctx, "default", id, "expired", now); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.MessageGet(ctx, "default", "m1"); got.Status != store.StatusFailed || got.LastError != "expired" {
			t.Fatalf("failed message = %+v", got)
		}
		if got, _ := s.MessageGet(ctx, "default", "m2"); got.Status != store.StatusSent || got.LastError != "" {
			t.Fatalf("sent message after a fail = %+v; want it untouched", got)
		}
	})

	run(t, "ListFiltersNewestFirstAndPages", func(t *testing.T, s *store.Store) {
		now := testNow()
		var ms []store.Message
		for i, to := range []string{"a@example.com", "b@example.com", "a@example.com", "a@example.com"} {
			m := message(string(rune('1'+i)), to, now.Add(time.Duration(i)*time.Second))
			if i == 3 {
				m.Status = store.StatusSent
			}
			ms = append(ms, m)
		}
		other := message("x", "a@example.com", now)
		other.TenantID = "other"
		insert(t, s, append(ms, other)...)
		ids := func(f store.MessageFilter) string {
			t.Helper()
			list, err := s.MessageList(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, m := range list {
				out += m.ID
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    store.MessageFilter
			want string
		}{
			{"all", store.MessageFilter{Tenant: "default"}, "4321"},
			{"recipient", store.MessageFilter{Tenant: "default", To: "a@example.com"}, "431"},
			{"status", store.MessageFilter{Tenant: "default", Status: store.StatusQueued}, "321"},
			{"before", store.MessageFilter{Tenant: "default", Before: now.Add(2 * time.Second)}, "21"},
			{"limit", store.MessageFilter{Tenant: "default", Limit: 2}, "43"},
		} {
			if got := ids(c.f); got != c.want {
				t.Errorf("%s: messages %q, want %q", c.name, got, c.want)
			}
		}
	})

	run(t, "CountsAreOfMessagesInFlight", func(t *testing.T, s *store.Store) {
		now := testNow()
		var ms []store.Message
		for i, status := range []string{store.StatusQueued, store.StatusQueued, store.StatusSending, store.StatusSent, store.StatusFailed} {
			m := message(string(rune('1'+i)), "a@example.com", now)
			m.Status = status
			ms = append(ms, m)
		}
		insert(t, s, ms...)
		got, err := s.MessageCounts(ctx)
		if err != nil || len(got) != 2 || got[store.StatusQueued] != 2 || got[store.StatusSending] != 1 {
			t.Fatalf("counts = %v, %v; want 2 queued and 1 sending", got, err)
		}
	})
}
