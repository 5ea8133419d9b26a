package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The send caps count in two ways. A cap on one mailbox keeps an event per
// send in rate_events, a sliding log: exact, and small, since one mailbox
// gets few codes. A cap that counts many recipients under one key (a
// domain, a client, the tenant) keeps hourly counters in rate_counters: a
// row per key, fixed hour and shard, so that reading it costs a few rows
// however many sends it counts.

// CounterShards is how many rows one counter's hour is spread over, so
// that concurrent sends on PostgreSQL, each holding the row it raised
// until it commits, seldom wait for one another.
const CounterShards = 16

// Counter names an hourly counter: a key in a bucket.
type Counter struct {
	Bucket, Key string
}

// HourCounts are a counter's counts in a fixed hour and in the hour before
// it.
type HourCounts struct {
	Current, Previous int
}

// SendQuery is what issuing a code reads, in one statement.
type SendQuery struct {
	Tenant string
	// Email and Usage name the live code whose creation time is read. With
	// Email empty none is (a test send has no code).
	Email, Usage string
	// Bucket and Key are the rate events counted after Since.
	Bucket, Key string
	Since       time.Time
	// Counters are read for the hour starting at Hour and the hour before.
	Counters []Counter
	Hour     time.Time
}

// SendState is what issuing a code checks: when the recipient's live code
// was created, the send events of its key in the window, and the counts of
// the hourly counters.
type SendState struct {
	// CodeCreatedAt is when the live code of that usage type was created;
	// zero when there is none.
	CodeCreatedAt time.Time
	// Events counts the events since the window's start; Oldest is the
	// first of them (zero when none).
	Events int
	Oldest time.Time
	// Counts holds the counts of the query's Counters, in their order.
	Counts []HourCounts
}

// SendStateGet reads, in one statement, the code's creation time, the
// count and oldest of the rate events, and every counter's two hours.
func (r Reader) SendStateGet(ctx context.Context, q SendQuery) (SendState, error) {
	args := []any{q.Tenant, q.Bucket, q.Key, Micros(q.Since)}
	var b strings.Builder
	b.WriteString("SELECT ")
	if q.Email != "" {
		args = append(args, q.Email, q.Usage)
		b.WriteString("(SELECT created_at FROM verification_codes WHERE tenant_id = $1 AND email = $5 AND usage_type = $6)")
	} else {
		b.WriteString("NULL")
	}
	b.WriteString(", COUNT(*), MIN(created_at)")
	if len(q.Counters) > 0 {
		args = append(args, Micros(q.Hour), Micros(q.Hour.Add(-time.Hour)))
		hours := []int{len(args) - 1, len(args)}
		for _, c := range q.Counters {
			args = append(args, c.Bucket, c.Key)
			for _, h := range hours {
				fmt.Fprintf(&b, ", (SELECT COALESCE(SUM(n), 0) FROM rate_counters WHERE tenant_id = $1 AND bucket = $%d AND key_hash = $%d AND window_start = $%d)",
					len(args)-1, len(args), h)
			}
		}
	}
	b.WriteString(" FROM rate_events WHERE tenant_id = $1 AND bucket = $2 AND key_hash = $3 AND created_at > $4")

	var created, oldest sql.NullInt64
	st := SendState{Counts: make([]HourCounts, len(q.Counters))}
	dest := []any{&created, &st.Events, &oldest}
	for i := range st.Counts {
		dest = append(dest, &st.Counts[i].Current, &st.Counts[i].Previous)
	}
	err := r.db.QueryRowContext(ctx, b.String(), args...).Scan(dest...)
	st.CodeCreatedAt, st.Oldest = FromMicros(created.Int64), FromMicros(oldest.Int64)
	return st, interpret(err)
}

// Count is what one send adds to the limits: an event of Key in Bucket at
// At, and one to each of Counters in the fixed hour starting at Hour, in
// shard Shard (0 to CounterShards-1).
type Count struct {
	Bucket, Key string
	At          time.Time
	Counters    []Counter
	Hour        time.Time
	Shard       int
}

// CodePutCounted stores c as CodePut does and adds n, in c's tenant: on PostgreSQL in one
// statement, on SQLite in a few (call it in a transaction).
func (w Writer) CodePutCounted(ctx context.Context, c Code, n Count) error {
	return w.ops.codePutCounted(ctx, w, c, n)
}

// Counted adds n, for a send without a code (a test send): on PostgreSQL
// in one statement, on SQLite in two (call it in a transaction).
func (w Writer) Counted(ctx context.Context, tenant string, n Count) error {
	return w.ops.counted(ctx, w, tenant, n)
}

// counterUpsert is the statement that adds one to each of n's counters,
// with the tenant as $1 and its other arguments appended to args.
func counterUpsert(n Count, args []any) (string, []any) {
	args = append(args, Micros(n.Hour), n.Shard)
	hour, shard := len(args)-1, len(args)
	var b strings.Builder
	b.WriteString("INSERT INTO rate_counters (tenant_id, bucket, key_hash, window_start, shard, n) VALUES ")
	for i, c := range n.Counters {
		args = append(args, c.Bucket, c.Key)
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($1, $%d, $%d, $%d, $%d, 1)", len(args)-1, len(args), hour, shard)
	}
	b.WriteString(" ON CONFLICT (tenant_id, bucket, key_hash, window_start, shard) DO UPDATE SET n = rate_counters.n + 1")
	return b.String(), args
}

// counterAdd runs counterUpsert on its own.
func (w Writer) counterAdd(ctx context.Context, tenant string, n Count) error {
	if len(n.Counters) == 0 {
		return nil
	}
	q, args := counterUpsert(n, []any{tenant})
	_, err := w.exec(ctx, q, args...)
	return err
}
