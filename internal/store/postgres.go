package store

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
)

// openPostgres opens one pool that serves reads and writes.
func openPostgres(databaseURL string) (read, write *sql.DB, err error) {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("opening postgres: %w", err)
	}
	db.SetMaxOpenConns(max(8, 4*runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(8, 4*runtime.GOMAXPROCS(0)))
	return db, db, nil
}

// postgresOps is PostgreSQL's side of dialectOps. PostgreSQL lets a
// statement carry several writes (data-modifying WITH clauses), so where
// SQLite runs writes one after another PostgreSQL sends them as one
// statement: one round trip, and atomic without a transaction. Processes
// sharing the database coordinate through advisory locks.
type postgresOps struct{}

func (postgresOps) dialect() Dialect { return Postgres }

// lock takes a transaction-scoped advisory lock, released when tx ends.
func (postgresOps) lock(ctx context.Context, tx *sql.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, id)
	return interpret(err)
}

// codePutCounted inserts the rate event and upserts the counters in WITH
// clauses of the code upsert: one statement.
func (postgresOps) codePutCounted(ctx context.Context, w Writer, c Code, n Count) error {
	q := `WITH event AS (INSERT INTO rate_events (tenant_id, bucket, key_hash, created_at) VALUES ($1, $7, $8, $9))`
	args := []any{c.TenantID, c.Email, c.UsageType, c.Hash, Micros(c.CreatedAt), Micros(c.ExpiresAt), n.Bucket, n.Key, Micros(n.At)}
	if len(n.Counters) > 0 {
		var counters string
		counters, args = counterUpsert(n, args)
		q += `, counters AS (` + counters + `)`
	}
	_, err := w.exec(ctx, q+" "+codePutSQL, args...)
	return err
}

// counted upserts the counters in a WITH clause of the event insert: one
// statement.
func (postgresOps) counted(ctx context.Context, w Writer, tenant string, n Count) error {
	q := `INSERT INTO rate_events (tenant_id, bucket, key_hash, created_at) VALUES ($1, $2, $3, $4)`
	args := []any{tenant, n.Bucket, n.Key, Micros(n.At)}
	if len(n.Counters) > 0 {
		var counters string
		counters, args = counterUpsert(n, args)
		q = `WITH counters AS (` + counters + `) ` + q
	}
	_, err := w.exec(ctx, q, args...)
	return err
}

// messageRecord inserts the attempt in a WITH clause of the message
// update: one statement.
func (ops postgresOps) messageRecord(ctx context.Context, w Writer, o Outcome) error {
	return ops.record(ctx, w, o, 0)
}

// messageSettle adds the job delete as one more WITH clause: still one
// statement, on the write handle, with no transaction around it.
func (ops postgresOps) messageSettle(ctx context.Context, s *Store, o Outcome, jobID int64) error {
	return ops.record(ctx, s.WriteQ(), o, jobID)
}

// record is messageRecord, deleting the job jobID too when it is not 0.
func (postgresOps) record(ctx context.Context, w Writer, o Outcome, jobID int64) error {
	attempt := `WITH attempt AS (INSERT INTO message_attempts (tenant_id, message_id, attempt, started_at, duration_us, outcome, error, connector_row_id)
			VALUES ($1, $2, $4, $10, $11, $12, $5, $13))`
	args := append(messageUpdateArgs(o), Micros(o.StartedAt), o.Duration.Microseconds(), attemptOutcome(o), o.ConnectorRowID)
	if jobID != 0 {
		attempt += `, job AS (DELETE FROM river_job WHERE id = $14 AND state <> 'running')`
		args = append(args, jobID)
	}
	n, err := w.exec(ctx, attempt+" "+messageUpdate, args...)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// riverDriver is River's database/sql driver, over pgx's stdlib.
func (postgresOps) riverDriver(write *sql.DB) riverdriver.Driver[*sql.Tx] {
	return riverdatabasesql.New(write)
}

func (postgresOps) gooseDialect() goose.Dialect { return goose.DialectPostgres }

// gooseOptions holds the migration lock for the whole run, so processes
// starting at once migrate one at a time.
func (postgresOps) gooseOptions() []goose.ProviderOption {
	return []goose.ProviderOption{goose.WithSessionLocker(pgSessionLock{id: migrationLockID})}
}

// tableExists looks the table up in the current schema (the first of the
// search path), where the migrations create their tables.
func (postgresOps) tableExists(ctx context.Context, q querier, name string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1)`, name).Scan(&ok)
	return ok, err
}

// migrationLock takes the migration lock on a connection of its own and
// keeps it until released, while the queue's migrations commit version by
// version on others.
func (postgresOps) migrationLock(ctx context.Context, db *sql.DB) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, interpret(err)
	}
	l := pgSessionLock{id: migrationLockID}
	if err := l.SessionLock(ctx, conn); err != nil {
		conn.Close()
		return nil, err
	}
	return func() {
		_ = l.SessionUnlock(context.WithoutCancel(ctx), conn)
		conn.Close()
	}, nil
}

// pgSessionLock is a session-level advisory lock on the connection the
// migration library runs on. It waits for the lock (goose's own locker
// polls for it every few seconds instead), so a process that finds
// another migrating goes on the moment that one is done.
type pgSessionLock struct{ id int64 }

// SessionLock waits for the lock.
func (l pgSessionLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, l.id); err != nil {
		return fmt.Errorf("locking migrations: %w", err)
	}
	return nil
}

// SessionUnlock releases the lock.
func (l pgSessionLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.id); err != nil {
		return fmt.Errorf("unlocking migrations: %w", err)
	}
	return nil
}
