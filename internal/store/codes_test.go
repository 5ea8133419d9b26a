package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

// sendQuery reads the code of a@example.com and the send events of key k
// after since.
func sendQuery(since time.Time) store.SendQuery {
	return store.SendQuery{Tenant: "default", Email: "a@example.com", Usage: "Generic", Bucket: "send", Key: "k", Since: since}
}

func TestCodesAndRateLimits(t *testing.T) {
	ctx := context.Background()
	code := func(hash string, now time.Time) store.Code {
		return store.Code{TenantID: "default", Email: "a@example.com", UsageType: "Generic", Hash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	}

	run(t, "PutReplacesTheCodeAndResetsTries", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		if err := w.CodePut(ctx, code("h1", now)); err != nil {
			t.Fatal(err)
		}
		if n, err := w.CodeAddTry(ctx, "default", "a@example.com", "Generic", "h1"); err != nil || n != 1 {
			t.Fatalf("tries = %d, %v; want 1", n, err)
		}
		later := now.Add(time.Second)
		if err := w.CodePut(ctx, code("h2", later)); err != nil {
			t.Fatal(err)
		}
		got, err := s.CodeGet(ctx, "default", "a@example.com", "Generic")
		if err != nil || got.Hash != "h2" || got.Tries != 0 || !got.CreatedAt.Equal(later) || !got.ExpiresAt.Equal(later.Add(time.Minute)) {
			t.Fatalf("code = %+v, %v; want h2 with tries reset", got, err)
		}
	})

	run(t, "TryOnAReplacedCodeIsNotCharged", func(t *testing.T, s *store.Store) {
		w := s.WriteQ()
		if err := w.CodePut(ctx, code("h2", testNow())); err != nil {
			t.Fatal(err)
		}
		if _, err := w.CodeAddTry(ctx, "default", "a@example.com", "Generic", "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("try on a replaced code: err = %v, want ErrNotFound", err)
		}
		if got, _ := s.CodeGet(ctx, "default", "a@example.com", "Generic"); got.Tries != 0 {
			t.Fatalf("the live code has %d tries, want 0", got.Tries)
		}
	})

	run(t, "ACodeIsConsumedOnce", func(t *testing.T, s *store.Store) {
		w := s.WriteQ()
		if err := w.CodePut(ctx, code("h1", testNow())); err != nil {
			t.Fatal(err)
		}
		if ok, err := w.CodeConsume(ctx, "default", "a@example.com", "Generic", "h0"); err != nil || ok {
			t.Fatalf("consume with another hash = %v, %v; want nothing consumed", ok, err)
		}
		if ok, err := w.CodeConsume(ctx, "default", "a@example.com", "Generic", "h1"); err != nil || !ok {
			t.Fatalf("consume = %v, %v", ok, err)
		}
		if ok, err := w.CodeConsume(ctx, "default", "a@example.com", "Generic", "h1"); err != nil || ok {
			t.Fatalf("second consume = %v, %v; want nothing consumed", ok, err)
		}
	})

	run(t, "PutCountedStoresTheCodeAndOneEvent", func(t *testing.T, s *store.Store) {
		now := testNow()
		err := s.InTx(ctx, func(tx *store.Tx) error {
			return tx.CodePutCounted(ctx, code("h1", now), store.Count{Bucket: "send", Key: "k", At: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.CodeGet(ctx, "default", "a@example.com", "Generic"); err != nil || got.Hash != "h1" {
			t.Fatalf("code = %+v, %v", got, err)
		}
		st, err := s.SendStateGet(ctx, sendQuery(now.Add(-time.Hour)))
		if err != nil || !st.CodeCreatedAt.Equal(now) || st.Events != 1 || !st.Oldest.Equal(now) {
			t.Fatalf("send state = %+v, %v; want the code's time and one event at it", st, err)
		}
	})

	run(t, "SendStateWithoutCodeOrEventsIsZero", func(t *testing.T, s *store.Store) {
		st, err := s.SendStateGet(ctx, sendQuery(testNow().Add(-time.Hour)))
		if err != nil || !st.CodeCreatedAt.IsZero() || st.Events != 0 || !st.Oldest.IsZero() {
			t.Fatalf("send state = %+v, %v; want zero", st, err)
		}
	})

	run(t, "RateCountsOnlyTheWindowAndTheKey", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		for i := range 3 {
			if err := w.RateAdd(ctx, "default", "send", "k", now.Add(-time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.RateAdd(ctx, "default", "send", "other", now); err != nil {
			t.Fatal(err)
		}
		if err := w.RateAdd(ctx, "default", "verify_fail", "k", now); err != nil {
			t.Fatal(err)
		}
		since := now.Add(-90 * time.Minute)
		if n, err := s.RateCount(ctx, "default", "send", "k", since); err != nil || n != 2 {
			t.Fatalf("count = %d, %v; want 2", n, err)
		}
		if o, err := s.RateOldest(ctx, "default", "send", "k", since); err != nil || !o.Equal(now.Add(-time.Hour)) {
			t.Fatalf("oldest = %v, %v; want %v", o, err, now.Add(-time.Hour))
		}
		if o, err := s.RateOldest(ctx, "default", "send", "none", since); err != nil || !o.IsZero() {
			t.Fatalf("oldest of a key without events = %v, %v; want zero", o, err)
		}
	})
}
