package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestInbox(t *testing.T) {
	ctx := context.Background()
	fill := func(t *testing.T, s *store.Store) time.Time {
		t.Helper()
		now := testNow()
		for i, to := range []string{"a@example.com", "b@example.com", "a@example.com"} {
			err := s.WriteQ().InboxInsert(ctx, store.InboxMessage{TenantID: "default", ID: string(rune('x' + i)), MessageID: "m",
				To: to, From: "noreply@example.com", Subject: "s", HTML: "<p>h</p>", Text: "t", Type: "SignIn", Payload: "{}",
				CreatedAt: now.Add(time.Duration(i) * time.Second)})
			if err != nil {
				t.Fatal(err)
			}
		}
		return now
	}
	ids := func(list []store.InboxMessage) (out string) {
		for _, m := range list {
			out += m.ID
		}
		return out
	}

	run(t, "ListsNewestFirst", func(t *testing.T, s *store.Store) {
		now := fill(t, s)
		list, err := s.InboxList(ctx, "default", "", 10)
		if err != nil || ids(list) != "zyx" {
			t.Fatalf("inbox = %q, %v; want zyx", ids(list), err)
		}
		want := store.InboxMessage{TenantID: "default", ID: "z", MessageID: "m", To: "a@example.com", From: "noreply@example.com",
			Subject: "s", HTML: "<p>h</p>", Text: "t", Type: "SignIn", Payload: "{}", CreatedAt: now.Add(2 * time.Second)}
		if list[0] != want {
			t.Fatalf("newest = %+v, want %+v", list[0], want)
		}
	})

	run(t, "FiltersByRecipientAndLimits", func(t *testing.T, s *store.Store) {
		fill(t, s)
		if list, err := s.InboxList(ctx, "default", "a@example.com", 10); err != nil || ids(list) != "zx" {
			t.Fatalf("inbox of a@ = %q, %v; want zx", ids(list), err)
		}
		if list, err := s.InboxList(ctx, "default", "", 1); err != nil || ids(list) != "z" {
			t.Fatalf("inbox limited to 1 = %q, %v; want z", ids(list), err)
		}
		if list, err := s.InboxList(ctx, "other", "", 10); err != nil || len(list) != 0 {
			t.Fatalf("another tenant's inbox = %q, %v; want empty", ids(list), err)
		}
	})
}
