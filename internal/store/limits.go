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

// --- failed verifications and lockouts ---

// RateAddEach records one event at a time for each of the keys, in one
// statement.
func (w Writer) RateAddEach(ctx context.Context, tenant string, at time.Time, keys ...Counter) error {
	if len(keys) == 0 {
		return nil
	}
	args := []any{tenant, Micros(at)}
	rows := make([]string, len(keys))
	for i, k := range keys {
		args = append(args, k.Bucket, k.Key)
		rows[i] = fmt.Sprintf("($1, $%d, $%d, $2)", len(args)-1, len(args))
	}
	_, err := w.exec(ctx, `INSERT INTO rate_events (tenant_id, bucket, key_hash, created_at) VALUES `+strings.Join(rows, ", "), args...)
	return err
}

// RateCountEach counts the events of each of the keys after since, in one
// statement, in the keys' order.
func (r Reader) RateCountEach(ctx context.Context, tenant string, since time.Time, keys ...Counter) ([]int, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	args := []any{tenant, Micros(since)}
	cols := make([]string, len(keys))
	for i, k := range keys {
		args = append(args, k.Bucket, k.Key)
		cols[i] = fmt.Sprintf("(SELECT COUNT(*) FROM rate_events WHERE tenant_id = $1 AND bucket = $%d AND key_hash = $%d AND created_at > $2)", len(args)-1, len(args))
	}
	out := make([]int, len(keys))
	dest := make([]any, len(keys))
	for i := range out {
		dest[i] = &out[i]
	}
	err := r.db.QueryRowContext(ctx, `SELECT `+strings.Join(cols, ", "), args...).Scan(dest...)
	return out, interpret(err)
}

// Lockout is a key locked out of verifying codes.
type Lockout struct {
	TenantID string
	// KeyHash is the locked key, a keyed hash: the lockout's ID.
	KeyHash string
	// Scope says what is locked: "address" (the address, for every client)
	// or "client" (one client of the address).
	Scope string
	// AddressHash is the keyed hash of the address the lockout is for, by
	// which an address's lockouts are found.
	AddressHash string
	// Subject says whom the lockout is for, sealed by the caller (empty for
	// a lockout made before subjects were kept).
	Subject string
	// LockedAt is when the lockout began (zero when not known); Until when
	// it ends.
	LockedAt, Until time.Time
}

// LockoutPut locks l.KeyHash until l.Until, replacing an earlier lockout
// of the key.
func (w Writer) LockoutPut(ctx context.Context, l Lockout) error {
	_, err := w.exec(ctx, `INSERT INTO lockouts (tenant_id, key_hash, until, scope, address_hash, subject, locked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id, key_hash) DO UPDATE SET until = excluded.until, scope = excluded.scope,
			address_hash = excluded.address_hash, subject = excluded.subject, locked_at = excluded.locked_at`,
		l.TenantID, l.KeyHash, Micros(l.Until), l.Scope, l.AddressHash, l.Subject, Micros(l.LockedAt))
	return err
}

// LockoutFilter selects lockouts in force.
type LockoutFilter struct {
	Tenant string
	// Now is the time lockouts must last beyond.
	Now time.Time
	// AddressHash, when set, keeps only the lockouts of that address.
	AddressHash string
	// Limit caps the rows (default 100).
	Limit int
}

// LockoutList returns the lockouts in force, the latest to end first.
func (r Reader) LockoutList(ctx context.Context, f LockoutFilter) ([]Lockout, error) {
	q := `SELECT tenant_id, key_hash, until, scope, address_hash, subject, locked_at FROM lockouts WHERE tenant_id = $1 AND until > $2`
	args := []any{f.Tenant, Micros(f.Now)}
	if f.AddressHash != "" {
		args = append(args, f.AddressHash)
		q += ` AND address_hash = $3`
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args = append(args, f.Limit)
	rows, err := r.db.QueryContext(ctx, q+fmt.Sprintf(` ORDER BY until DESC, key_hash LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	var out []Lockout
	for rows.Next() {
		var l Lockout
		var until, locked int64
		if err := rows.Scan(&l.TenantID, &l.KeyHash, &until, &l.Scope, &l.AddressHash, &l.Subject, &locked); err != nil {
			return nil, interpret(err)
		}
		l.Until, l.LockedAt = FromMicros(until), FromMicros(locked)
		out = append(out, l)
	}
	return out, interpret(rows.Err())
}

// LockoutGet returns the lockout of a key if it lasts beyond now, or
// ErrNotFound.
func (r Reader) LockoutGet(ctx context.Context, tenant, key string, now time.Time) (Lockout, error) {
	l := Lockout{TenantID: tenant, KeyHash: key}
	var until, locked int64
	err := r.db.QueryRowContext(ctx, `SELECT until, scope, address_hash, subject, locked_at FROM lockouts WHERE tenant_id = $1 AND key_hash = $2 AND until > $3`,
		tenant, key, Micros(now)).Scan(&until, &l.Scope, &l.AddressHash, &l.Subject, &locked)
	l.Until, l.LockedAt = FromMicros(until), FromMicros(locked)
	return l, interpret(err)
}

// LockoutLift ends the lockout of a key and forgets the key's events in
// bucket, so that the next failure starts a new count; it reports whether
// a lockout in force was lifted. Call it in a transaction.
func (w Writer) LockoutLift(ctx context.Context, tenant, key, bucket string, now time.Time) (bool, error) {
	n, err := w.exec(ctx, `DELETE FROM lockouts WHERE tenant_id = $1 AND key_hash = $2 AND until > $3`, tenant, key, Micros(now))
	if err != nil || n == 0 {
		return false, err
	}
	_, err = w.exec(ctx, `DELETE FROM rate_events WHERE tenant_id = $1 AND bucket = $2 AND key_hash = $3`, tenant, bucket, key)
	return err == nil, err
}

// --- request caps ---

// CounterHit adds one to the counter c in the window starting at start
// and returns its count there and in the window before it (starting at
// previous), in one statement. A request cap counts under one shard: a
// client's requests seldom arrive at once.
func (w Writer) CounterHit(ctx context.Context, tenant string, c Counter, start, previous time.Time) (HourCounts, error) {
	var out HourCounts
	err := w.db.QueryRowContext(ctx, `INSERT INTO rate_counters (tenant_id, bucket, key_hash, window_start, shard, n) VALUES ($1, $2, $3, $4, 0, 1)
		ON CONFLICT (tenant_id, bucket, key_hash, window_start, shard) DO UPDATE SET n = rate_counters.n + 1
		RETURNING n, (SELECT COALESCE(SUM(p.n), 0) FROM rate_counters p WHERE p.tenant_id = $1 AND p.bucket = $2 AND p.key_hash = $3 AND p.window_start = $5)`,
		tenant, c.Bucket, c.Key, Micros(start), Micros(previous)).Scan(&out.Current, &out.Previous)
	return out, interpret(err)
}
