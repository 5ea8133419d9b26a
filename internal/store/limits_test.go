package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestSendCounters(t *testing.T) {
	ctx := context.Background()
	domain := store.Counter{Bucket: "send_domain", Key: "d"}
	tenant := store.Counter{Bucket: "send_tenant", Key: "default"}

	run(t, "CountersSumTheirShardsPerHour", func(t *testing.T, s *store.Store) {
		now := testNow()
		hour := now.Truncate(time.Hour)
		add := func(n store.Count) {
			t.Helper()
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.Counted(ctx, "default", n) }); err != nil {
				t.Fatal(err)
			}
		}
		// This hour: three sends to the domain over two shards, one of
		// them also counted for the tenant; the hour before: one.
		add(store.Count{Bucket: "send", Key: "k", At: now, Counters: []store.Counter{domain, tenant}, Hour: hour, Shard: 0})
		add(store.Count{Bucket: "send", Key: "k", At: now, Counters: []store.Counter{domain}, Hour: hour, Shard: 0})
		add(store.Count{Bucket: "send", Key: "k", At: now, Counters: []store.Counter{domain}, Hour: hour, Shard: store.CounterShards - 1})
		add(store.Count{Bucket: "send", Key: "k", At: now, Counters: []store.Counter{domain}, Hour: hour.Add(-time.Hour), Shard: 3})
		// Neither another key nor another tenant nor an older hour counts.
		add(store.Count{Bucket: "send", Key: "k", At: now, Counters: []store.Counter{{Bucket: "send_domain", Key: "other"}}, Hour: hour})
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			return tx.Counted(ctx, "acme", store.Count{Bucket: "send", Key: "k", At: now, Counters: []store.Counter{domain}, Hour: hour})
		}); err != nil {
			t.Fatal(err)
		}
		add(store.Count{Bucket: "send", Key: "k", At: now, Counters: []store.Counter{domain}, Hour: hour.Add(-2 * time.Hour)})

		q := sendQuery(now.Add(-time.Minute))
		q.Counters, q.Hour = []store.Counter{domain, tenant, {Bucket: "send_ip", Key: "none"}}, hour
		st, err := s.SendStateGet(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.HourCounts{{Current: 3, Previous: 1}, {Current: 1}, {}}
		if len(st.Counts) != len(want) {
			t.Fatalf("counts = %+v, want %+v", st.Counts, want)
		}
		for i := range want {
			if st.Counts[i] != want[i] {
				t.Errorf("counter %d = %+v, want %+v", i, st.Counts[i], want[i])
			}
		}
		if st.Events != 6 {
			t.Errorf("events = %d, want 6 (one per count in the tenant)", st.Events)
		}
	})

	run(t, "PutCountedAddsTheCodeTheEventAndTheCounters", func(t *testing.T, s *store.Store) {
		now := testNow()
		hour := now.Truncate(time.Hour)
		c := store.Code{TenantID: "default", Email: "a@example.com", UsageType: "Generic", Hash: "h1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		n := store.Count{Bucket: "send", Key: "k", At: now, Counters: []store.Counter{domain, tenant}, Hour: hour, Shard: 5}
		for range 2 {
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.CodePutCounted(ctx, c, n) }); err != nil {
				t.Fatal(err)
			}
		}
		q := sendQuery(now.Add(-time.Minute))
		q.Counters, q.Hour = []store.Counter{domain, tenant}, hour
		st, err := s.SendStateGet(ctx, q)
		if err != nil || !st.CodeCreatedAt.Equal(now) || st.Events != 2 || st.Counts[0] != (store.HourCounts{Current: 2}) || st.Counts[1] != (store.HourCounts{Current: 2}) {
			t.Fatalf("send state = %+v, %v; want the code, 2 events and 2 in each counter", st, err)
		}
		// Without an address the query reads no code.
		q.Email = ""
		if st, err := s.SendStateGet(ctx, q); err != nil || !st.CodeCreatedAt.IsZero() || st.Events != 2 {
			t.Fatalf("send state without a code = %+v, %v; want no code and 2 events", st, err)
		}
	})
}
