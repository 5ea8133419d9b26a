package verification_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/verification"
)

// BenchmarkIssueVerify measures issuing a code (limits checked, hash
// stored, in a transaction) and verifying it, for a new recipient each
// time.
func BenchmarkIssueVerify(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"SQLite", storetest.SQLite}, {"Postgres", storetest.Postgres}} {
		b.Run(db.name, func(b *testing.B) {
			st := db.open(b)
			keys, _ := keyring.New(keyring.RandomBytes(keyring.KeySize))
			svc := verification.New(keys, func() time.Time { return time.Now().UTC() })
			ctx := context.Background()
			// Every recipient is at one domain and asks from one client:
			// the hourly caps go to their highest values, and every send
			// still reads and counts all three.
			p := verification.DefaultPolicy()
			p.DomainSendLimit, p.IPSendLimit, p.TenantSendLimit = 1000000, 1000000, 10000000
			i := 0
			for b.Loop() {
				i++
				email := "u" + strconv.Itoa(i) + "@example.com"
				var code string
				err := st.InTx(ctx, func(tx *store.Tx) error {
					is, err := svc.Issue(ctx, tx, "default", addr(email), "Generic", "203.0.113.1", p)
					code = is.Code
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := svc.Verify(ctx, st, "default", addr(email), "Generic", code, "", p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
