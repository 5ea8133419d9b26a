package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// openSQLite opens the SQLite file at path: a single write connection
// (SQLite allows one writer; River's SQLite driver asks for it) and a pool
// of query-only read connections, in WAL mode, each keeping its prepared
// statements (stmtcache.go).
func openSQLite(path string) (read, write *sql.DB, err error) {
	if path == "" {
		return nil, nil, errors.New("sqlite URL has no path: use sqlite://PATH")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("creating database directory: %w", err)
		}
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	write = sql.OpenDB(&sqliteConnector{dsn: base + "&_txlock=immediate"})
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read = sql.OpenDB(&sqliteConnector{dsn: base + "&_pragma=query_only(1)"})
	read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	return read, write, nil
}

// sqliteOps is SQLite's side of dialectOps. SQLite has one writer and
// modernc's driver runs one statement per call, so where PostgreSQL
// chains writes into one statement SQLite runs them one after another on
// the write connection, which no other writer can interleave with.
type sqliteOps struct{}

func (sqliteOps) dialect() Dialect { return SQLite }

// lock does nothing: every write transaction already holds the
// database's single write lock (transactions begin IMMEDIATE).
func (sqliteOps) lock(context.Context, *sql.Tx, int64) error { return nil }

// migrationLock is nothing on SQLite: its one writer already serialises
// what migrates.
func (sqliteOps) migrationLock(context.Context, *sql.DB) (func(), error) { return func() {}, nil }

// codePutCounted runs the code upsert, the event insert and the counter
// upsert one after another; the caller's transaction makes them one
// change.
func (ops sqliteOps) codePutCounted(ctx context.Context, w Writer, c Code, n Count) error {
	if err := w.CodePut(ctx, c); err != nil {
		return err
	}
	return ops.counted(ctx, w, c.TenantID, n)
}

// counted runs the event insert and the counter upsert as two statements.
func (sqliteOps) counted(ctx context.Context, w Writer, tenant string, n Count) error {
	if err := w.RateAdd(ctx, tenant, n.Bucket, n.Key, n.At); err != nil {
		return err
	}
	return w.counterAdd(ctx, tenant, n)
}

// messageRecord runs the attempt insert and the message update as two
// statements; MessageSettle (or the caller's transaction) makes them one
// change.
func (sqliteOps) messageRecord(ctx context.Context, w Writer, o Outcome) error {
	if _, err := w.exec(ctx, `INSERT INTO message_attempts (tenant_id, message_id, attempt, started_at, duration_us, outcome, error, connector_row_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		o.TenantID, o.MessageID, o.Attempt, Micros(o.StartedAt), o.Duration.Microseconds(), attemptOutcome(o), o.Error, o.ConnectorRowID); err != nil {
		return err
	}
	n, err := w.exec(ctx, messageUpdate, messageUpdateArgs(o)...)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// messageSettle runs the attempt, the update and the job delete in one
// write transaction.
func (ops sqliteOps) messageSettle(ctx context.Context, s *Store, o Outcome, jobID int64) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if err := ops.messageRecord(ctx, tx.Writer, o); err != nil {
			return err
		}
		if jobID == 0 {
			return nil
		}
		_, err := tx.exec(ctx, deleteJob, jobID)
		return err
	})
}

// riverDriver is River's SQLite driver.
func (sqliteOps) riverDriver(write *sql.DB) riverdriver.Driver[*sql.Tx] {
	return riversqlite.New(write)
}

func (sqliteOps) gooseDialect() goose.Dialect { return goose.DialectSQLite3 }

// gooseOptions sets no lock. The migrations run on the one write
// connection, and each in a write transaction, which SQLite runs one at a
// time across processes too. (Two processes migrating one file at the
// same instant may both try the same migration, as with River's
// migrator: the second fails, and finds it applied when it starts again.)
func (sqliteOps) gooseOptions() []goose.ProviderOption { return nil }

// tableExists looks the table up in sqlite_master.
func (sqliteOps) tableExists(ctx context.Context, q querier, name string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1)`, name).Scan(&ok)
	return ok, err
}
