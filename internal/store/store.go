// Package store is authmail's storage: one set of queries over SQLite
// (modernc.org/sqlite, the embedded default) and PostgreSQL (pgx), with
// embedded migrations for both.
//
// Reads and writes have their own types. A Reader has only the statements
// that read; a Writer embeds a Reader and adds the statements that write,
// which are defined on Writer alone. A Store embeds a Reader on its read
// pool (query-only on SQLite), WriteQ returns a Writer on the write
// handle, and a Tx is a Writer inside a write transaction, so a write
// through the read pool does not compile.
//
// Both databases are reached through database/sql, and most statements
// are the same text on both: times are Unix microseconds in integer
// columns and placeholders are $N, which both drivers bind by position.
// The few that differ are methods of dialectOps, implemented once per
// database side by side (sqliteOps in sqlite.go, postgresOps in
// postgres.go) and chosen once in Open: where PostgreSQL chains several
// writes into one statement SQLite runs them one by one, and PostgreSQL's
// advisory locks have no SQLite counterpart because SQLite has a single
// writer. River, the delivery queue, lives in the same database, so a
// message row and its job commit together.
//
// Migrations are SQL files embedded per dialect (migrations/sqlite and
// migrations/postgres, the same versions in both, differing in column
// types and trigger syntax), applied by goose
// (github.com/pressly/goose/v3) after River's own migrations. Goose
// records them in authmail_goose_version; a database migrated before
// goose, which recorded them in authmail_migrations, is adopted on the
// first run (see Migrate).
//
// On SQLite writes go through a single connection (SQLite allows one
// writer; River's SQLite driver asks for it) and reads through a pool of
// their own, in WAL mode.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river/riverdriver"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names a database kind.
type Dialect string

// The supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Errors the store returns; callers check them with errors.Is.
var (
	// ErrNotFound means no row matched.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique constraint refused the write.
	ErrConflict = errors.New("already exists")
	// ErrUnavailable means the database did not answer: it is down,
	// unreachable, shutting down, out of connections, busy past the busy
	// timeout, or closed. Trying again later may work.
	ErrUnavailable = errors.New("the database is unavailable")
)

// Store is an open database. The read methods it has are those of the
// Reader it embeds, on the read pool; writes go through WriteQ or InTx.
type Store struct {
	Reader
	ops    dialectOps
	read   *sql.DB
	write  *sql.DB
	logger *slog.Logger
}

// Open connects to databaseURL: "sqlite://PATH" (or "sqlite:PATH") or
// "postgres://..." / "postgresql://...". It does not migrate.
func Open(ctx context.Context, databaseURL string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{logger: logger}
	var err error
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		s.ops = postgresOps{}
		s.read, s.write, err = openPostgres(databaseURL)
	case strings.HasPrefix(databaseURL, "sqlite:"):
		s.ops = sqliteOps{}
		s.read, s.write, err = openSQLite(strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite:"), "//"))
	default:
		return nil, fmt.Errorf("unsupported database URL %q: use sqlite://PATH or postgres://...", redactURL(databaseURL))
	}
	if err != nil {
		return nil, err
	}
	s.Reader = Reader{db: s.read, ops: s.ops}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// redactURL hides a password in a database URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

// Dialect reports which database this is.
func (s *Store) Dialect() Dialect { return s.ops.dialect() }

// Ping checks the database answers. Any failure but the caller's own
// context ending is ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	err := s.write.PingContext(ctx)
	if err == nil || ctx.Err() != nil {
		return err
	}
	if err = interpret(err); !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// WriteDB returns the handle writes must use (River gets it too).
func (s *Store) WriteDB() *sql.DB { return s.write }

// RiverDriver returns River's driver for this database.
func (s *Store) RiverDriver() riverdriver.Driver[*sql.Tx] { return s.ops.riverDriver(s.write) }

// Tx is a write transaction: a Writer whose statements run in it.
type Tx struct {
	Writer
	tx *sql.Tx
}

// SQL returns the underlying transaction, for River's InsertTx.
func (t *Tx) SQL() *sql.Tx { return t.tx }

// InTx runs fn in a write transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", interpret(err))
	}
	if err := fn(&Tx{Writer: Writer{Reader{db: tx, ops: s.ops}}, tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", interpret(err))
	}
	return nil
}

// WriteQ returns a Writer on the write handle, for single statements that
// need no transaction.
func (s *Store) WriteQ() Writer { return Writer{Reader{db: s.write, ops: s.ops}} }

// interpret turns driver errors into the store's sentinels: ErrNotFound,
// ErrConflict and ErrUnavailable, each wrapping the driver's error.
// It is the one place that knows how each driver reports a lost
// database; an error it already interpreted passes through unchanged.
func interpret(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The caller gave up; the database may be fine.
		return err
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrUnavailable):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case unavailable(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
	}
	return err
}

// unavailable reports whether err says the database cannot be reached or
// cannot serve now, as opposed to refusing a statement.
func unavailable(err error) bool {
	// database/sql: the pool is closed, or a connection broke.
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	// PostgreSQL: no connection could be made, the connection broke
	// (class 08), the server is shutting down or starting (57P01-57P03),
	// or it has no connection left (53300).
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) {
		return true
	}
	// SQLite: locked past the busy timeout, or the file cannot be opened
	// or read.
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return true
		}
	}
	return false
}

// Micros converts a time to Unix microseconds; the zero time is 0.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros converts Unix microseconds back; 0 is the zero time.
func FromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
