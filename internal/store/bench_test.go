package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

// BenchmarkMessageInsert measures one message-log insert in its own
// write transaction, the row every send writes.
func BenchmarkMessageInsert(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"SQLite", storetest.SQLite}, {"Postgres", storetest.Postgres}} {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			ctx := context.Background()
			now := time.Now().UTC()
			content := "v1:" + strings.Repeat("A", 2400) // a sealed code email's size
			i := 0
			for b.Loop() {
				i++
				m := store.Message{TenantID: "default", ID: "msg_bench_" + strconv.Itoa(i), Recipient: "u" + strconv.Itoa(i) + "@example.com",
					UsageType: "Generic", Locale: "en", Content: content, Status: store.StatusSending, JobID: int64(i),
					LeaseUntil: now, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
				if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.MessageInsert(ctx, m) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
