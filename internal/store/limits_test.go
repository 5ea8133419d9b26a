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

func TestLockouts(t *testing.T) {
	ctx := context.Background()

	run(t, "PutReplacesTheLockoutAndUntilTakesTheLatestOfItsKeys", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		if until, err := s.LockoutUntil(ctx, "default", "a", "c"); err != nil || !until.IsZero() {
			t.Fatalf("lockout before any = %v, %v; want zero", until, err)
		}
		for _, until := range []time.Time{now.Add(time.Hour), now.Add(time.Minute)} {
			if err := w.LockoutPut(ctx, store.Lockout{TenantID: "default", KeyHash: "a", Scope: "address", AddressHash: "a", Until: until}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.LockoutUntil(ctx, "default", "a"); err != nil || !got.Equal(until) {
				t.Fatalf("lockout = %v, %v; want %v", got, err, until)
			}
		}
		if err := w.LockoutPut(ctx, store.Lockout{TenantID: "default", KeyHash: "c", Scope: "client", AddressHash: "a", Until: now.Add(2 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LockoutUntil(ctx, "default", "a", "c", "none"); err != nil || !got.Equal(now.Add(2*time.Minute)) {
			t.Fatalf("lockout of a or c = %v, %v; want the later, c's", got, err)
		}
		if got, err := s.LockoutUntil(ctx, "acme", "a", "c"); err != nil || !got.IsZero() {
			t.Fatalf("another tenant's lockout = %v, %v; want none", got, err)
		}
	})

	run(t, "ListShowsLockoutsInForceByAddressAndLiftForgetsTheFailures", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		for _, l := range []store.Lockout{
			{TenantID: "default", KeyHash: "addr1", Scope: "address", AddressHash: "addr1", Subject: "sealed1", LockedAt: now, Until: now.Add(time.Hour)},
			{TenantID: "default", KeyHash: "client1", Scope: "client", AddressHash: "addr1", Subject: "sealed2", LockedAt: now, Until: now.Add(2 * time.Hour)},
			{TenantID: "default", KeyHash: "client2", Scope: "client", AddressHash: "addr2", LockedAt: now, Until: now.Add(30 * time.Minute)},
			{TenantID: "default", KeyHash: "ended", Scope: "client", AddressHash: "addr1", Until: now.Add(-time.Second)},
			{TenantID: "acme", KeyHash: "other", Scope: "address", AddressHash: "addr1", Until: now.Add(time.Hour)},
		} {
			if err := w.LockoutPut(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		keys := func(ls []store.Lockout) []string {
			var out []string
			for _, l := range ls {
				out = append(out, l.KeyHash)
			}
			return out
		}
		all, err := s.LockoutList(ctx, store.LockoutFilter{Tenant: "default", Now: now})
		if got := keys(all); err != nil || len(got) != 3 || got[0] != "client1" || got[1] != "addr1" || got[2] != "client2" {
			t.Fatalf("lockouts in force = %v, %v; want client1, addr1, client2 (latest to end first)", got, err)
		}
		if l := all[0]; l.Scope != "client" || l.AddressHash != "addr1" || l.Subject != "sealed2" || !l.LockedAt.Equal(now) || !l.Until.Equal(now.Add(2*time.Hour)) {
			t.Errorf("lockout = %+v, want every field as put", l)
		}
		one, err := s.LockoutList(ctx, store.LockoutFilter{Tenant: "default", Now: now, AddressHash: "addr1", Limit: 1})
		if got := keys(one); err != nil || len(got) != 1 || got[0] != "client1" {
			t.Fatalf("addr1's first lockout = %v, %v; want client1", got, err)
		}

		for range 3 {
			if err := w.RateAddEach(ctx, "default", now, store.Counter{Bucket: "verify_fail_client", Key: "client1"}, store.Counter{Bucket: "verify_fail", Key: "addr1"}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.RateCountEach(ctx, "default", now.Add(-time.Minute), store.Counter{Bucket: "verify_fail_client", Key: "client1"}, store.Counter{Bucket: "verify_fail", Key: "addr1"})
		if err != nil || len(n) != 2 || n[0] != 3 || n[1] != 3 {
			t.Fatalf("failures = %v, %v; want 3 of each", n, err)
		}
		lift := func(key, bucket string) bool {
			t.Helper()
			var ok bool
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				ok, err = tx.LockoutLift(ctx, "default", key, bucket, now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !lift("client1", "verify_fail_client") {
			t.Fatal("lifting client1 lifted nothing")
		}
		if _, err := s.LockoutGet(ctx, "default", "client1", now); err == nil {
			t.Error("client1 is still locked after the lift")
		}
		n, _ = s.RateCountEach(ctx, "default", now.Add(-time.Minute), store.Counter{Bucket: "verify_fail_client", Key: "client1"}, store.Counter{Bucket: "verify_fail", Key: "addr1"})
		if n[0] != 0 || n[1] != 3 {
			t.Errorf("failures after the lift = %v, want client1's forgotten and addr1's kept", n)
		}
		if lift("client1", "verify_fail_client") || lift("ended", "verify_fail_client") {
			t.Error("lifting a lockout not in force reported a lift")
		}
		if l, err := s.LockoutGet(ctx, "default", "addr1", now); err != nil || l.Subject != "sealed1" || l.Scope != "address" {
			t.Errorf("addr1 = %+v, %v; want it still in force", l, err)
		}
	})
}

func TestCounterHit(t *testing.T) {
	ctx := context.Background()
	run(t, "CountsEachHitAndReadsThePreviousWindow", func(t *testing.T, s *store.Store) {
		w := s.WriteQ()
		start := testNow().Truncate(time.Minute)
		prev := start.Add(-time.Minute)
		c := store.Counter{Bucket: "requests", Key: "client"}
		for i := 1; i <= 3; i++ {
			if got, err := w.CounterHit(ctx, "default", c, prev, prev.Add(-time.Minute)); err != nil || got.Current != i || got.Previous != 0 {
				t.Fatalf("hit %d in the earlier window = %+v, %v", i, got, err)
			}
		}
		got, err := w.CounterHit(ctx, "default", c, start, prev)
		if err != nil || got != (store.HourCounts{Current: 1, Previous: 3}) {
			t.Errorf("first hit of the next window = %+v, %v; want 1 and the 3 before", got, err)
		}
		if got, err := w.CounterHit(ctx, "other", c, start, prev); err != nil || got != (store.HourCounts{Current: 1}) {
			t.Errorf("another tenant's counter = %+v, %v; want its own", got, err)
		}
	})
}
