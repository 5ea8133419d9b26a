package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestConsoleSessions(t *testing.T) {
	ctx := context.Background()
	run(t, "ASessionIsFoundByItsHashUntilDeletedOrPurged", func(t *testing.T, s *store.Store) {
		now := testNow()
		sess := store.ConsoleSession{TenantID: "default", IDHash: "h1", KeyCheck: "k", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		old := store.ConsoleSession{TenantID: "default", IDHash: "h2", KeyCheck: "k", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		for _, x := range []store.ConsoleSession{sess, old} {
			if err := s.WriteQ().ConsoleSessionInsert(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.ConsoleSessionGet(ctx, "default", "h1"); err != nil || got != sess {
			t.Fatalf("session = %+v, %v; want %+v", got, err, sess)
		}
		if _, err := s.ConsoleSessionGet(ctx, "other", "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another tenant's session: %v, want ErrNotFound", err)
		}
		r, err := s.WriteQ().Purge(ctx, now.Add(2*time.Minute), time.Hour, time.Hour)
		if err != nil || r.ConsoleSessions != 1 {
			t.Fatalf("purge = %+v, %v; want the expired session purged", r, err)
		}
		if _, err := s.ConsoleSessionGet(ctx, "default", "h2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("purged session: %v, want ErrNotFound", err)
		}
		if err := s.WriteQ().ConsoleSessionDelete(ctx, "default", "h1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsoleSessionGet(ctx, "default", "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted session: %v, want ErrNotFound", err)
		}
		if err := s.WriteQ().ConsoleSessionDelete(ctx, "default", "h1"); err != nil {
			t.Fatalf("deleting it again: %v", err)
		}
	})
}

func TestMessageLogForTheConsole(t *testing.T) {
	ctx := context.Background()
	msg := func(id, usage, status string, at time.Time) store.Message {
		return store.Message{TenantID: "default", ID: id, Recipient: "a@example.com", UsageType: usage, Locale: "en",
			Content: "sealed", Status: status, CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(time.Hour)}
	}
	run(t, "FiltersByUsageTypeAndTimeAndCountsByStatus", func(t *testing.T, s *store.Store) {
		now := testNow()
		for _, m := range []store.Message{msg("m1", "SignIn", store.StatusSent, now.Add(-2*time.Hour)),
			msg("m2", "SignIn", store.StatusFailed, now.Add(-30*time.Minute)), msg("m3", "Register", store.StatusSent, now.Add(-time.Minute))} {
			if err := s.WriteQ().MessageInsert(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.MessageList(ctx, store.MessageFilter{Tenant: "default", UsageType: "SignIn", Since: now.Add(-time.Hour)})
		if err != nil || len(got) != 1 || got[0].ID != "m2" {
			t.Fatalf("SignIn in the last hour = %v, %v; want m2", got, err)
		}
		counts, err := s.MessageStatusCounts(ctx, "default", now.Add(-time.Hour))
		if err != nil || counts[store.StatusSent] != 1 || counts[store.StatusFailed] != 1 || len(counts) != 2 {
			t.Fatalf("counts in the last hour = %v, %v; want one sent, one failed", counts, err)
		}
	})
	run(t, "RequeueTakesOnlyAFailedMessage", func(t *testing.T, s *store.Store) {
		now := testNow()
		for _, m := range []store.Message{msg("m1", "SignIn", store.StatusFailed, now), msg("m2", "SignIn", store.StatusSent, now)} {
			if err := s.WriteQ().MessageInsert(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := s.WriteQ().MessageRequeue(ctx, "default", "m1", 7, now); err != nil || !ok {
			t.Fatalf("requeue of a failed message = %v, %v", ok, err)
		}
		if m, _ := s.MessageGet(ctx, "default", "m1"); m.Status != store.StatusQueued || m.JobID != 7 {
			t.Fatalf("requeued message = %+v, want queued under job 7", m)
		}
		if ok, err := s.WriteQ().MessageRequeue(ctx, "default", "m2", 8, now); err != nil || ok {
			t.Fatalf("requeue of a sent message = %v, %v; want refused", ok, err)
		}
	})
	run(t, "InboxGetFindsOneMessage", func(t *testing.T, s *store.Store) {
		now := testNow()
		in := store.InboxMessage{TenantID: "default", ID: "i1", MessageID: "m1", To: "a@example.com", From: "x@example.com",
			Subject: "s", HTML: "<p>h</p>", Text: "h", Type: "SignIn", Payload: "{}", CreatedAt: now}
		if err := s.WriteQ().InboxInsert(ctx, in); err != nil {
			t.Fatal(err)
		}
		if got, err := s.InboxGet(ctx, "default", "i1"); err != nil || got != in {
			t.Fatalf("inbox message = %+v, %v; want %+v", got, err, in)
		}
		if _, err := s.InboxGet(ctx, "default", "i2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing inbox message: %v", err)
		}
	})
}
