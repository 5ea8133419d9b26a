package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestInteractions(t *testing.T) {
	ctx := context.Background()

	run(t, "AnInteractionReadsBackUntilItExpires", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		i := store.Interaction{TenantID: "default", IDHash: "h1", AuthRequestID: "ar1", Request: `{"clientId":"app"}`, State: "sealed",
			CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := w.InteractionInsert(ctx, i); err != nil {
			t.Fatal(err)
		}
		if got, err := s.InteractionGet(ctx, "default", "h1", now); err != nil || got != i {
			t.Fatalf("get = %+v, %v; want %+v", got, err, i)
		}
		if _, err := s.InteractionGet(ctx, "default", "h1", now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("at its expiry: err = %v, want ErrNotFound", err)
		}
		if _, err := s.InteractionGet(ctx, "other", "h1", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant's: err = %v, want ErrNotFound", err)
		}
		later := now.Add(time.Minute)
		if err := w.InteractionSetState(ctx, "default", "h1", "sealed2", later); err != nil {
			t.Fatal(err)
		}
		if got, err := s.InteractionGet(ctx, "default", "h1", now); err != nil || got.State != "sealed2" || !got.UpdatedAt.Equal(later) {
			t.Errorf("after the update: %+v, %v", got, err)
		}
		if err := w.InteractionSetState(ctx, "default", "nope", "x", later); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("updating a missing interaction: err = %v, want ErrNotFound", err)
		}
		if err := w.InteractionDelete(ctx, "default", "h1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InteractionGet(ctx, "default", "h1", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: err = %v, want ErrNotFound", err)
		}
		if err := w.InteractionDelete(ctx, "default", "h1"); err != nil {
			t.Errorf("deleting it again: %v", err)
		}
	})

	run(t, "ASignInSessionReadsBackUntilItExpiresOrEnds", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		x := store.SignInSession{TenantID: "default", IDHash: "s1", UserID: "u1", AuthTime: now.Add(-time.Minute), AMR: `["otp"]`,
			CreatedAt: now, ExpiresAt: now.Add(14 * 24 * time.Hour)}
		if err := w.SessionInsert(ctx, x); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SessionGet(ctx, "default", "s1", now); err != nil || got != x {
			t.Fatalf("get = %+v, %v; want %+v", got, err, x)
		}
		if _, err := s.SessionGet(ctx, "default", "s1", x.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("at its expiry: err = %v, want ErrNotFound", err)
		}
		if err := w.SessionDelete(ctx, "default", "s1"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b"} {
			y := x
			y.IDHash = id
			if err := w.SessionInsert(ctx, y); err != nil {
				t.Fatal(err)
			}
		}
		y := x
		y.IDHash, y.UserID = "c", "u2"
		if err := w.SessionInsert(ctx, y); err != nil {
			t.Fatal(err)
		}
		if n, err := w.SessionDeleteUser(ctx, "default", "u1"); err != nil || n != 2 {
			t.Errorf("deleting u1's sessions: %d, %v; want 2", n, err)
		}
		if _, err := s.SessionGet(ctx, "default", "c", now); err != nil {
			t.Errorf("another user's session after deleting u1's: %v", err)
		}
		if _, err := s.SessionGet(ctx, "default", "s1", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: err = %v, want ErrNotFound", err)
		}
	})
}
