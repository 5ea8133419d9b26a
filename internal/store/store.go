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
// writer. The migration files differ only in column types and trigger
// syntax. River, the delivery queue, lives in the same database, so a
// message row and its job commit together.
//
// On SQLite writes go through a single connection (SQLite allows one
// writer; River's SQLite driver asks for it) and reads through a pool of
// their own, in WAL mode.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*/*.sql
var migrationFS embed.FS

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

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
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

// Migrate applies River's migrations and then authmail's.
func (s *Store) Migrate(ctx context.Context) error {
	m, err := rivermigrate.New(s.RiverDriver(), &rivermigrate.Config{Logger: s.logger})
	if err != nil {
		return fmt.Errorf("preparing queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrating queue tables: %w", err)
	}
	return s.migrateOwn(ctx)
}

// migrationLockID is the advisory lock migrations hold on PostgreSQL.
const migrationLockID = 7243318

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations of a dialect, in order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: want NNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func (s *Store) migrateOwn(ctx context.Context) error {
	migs, err := Migrations(s.Dialect())
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS authmail_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("creating migrations table: %w", err)
		}
		// Two processes starting at once apply migrations one at a time.
		if err := s.ops.lock(ctx, tx.tx, migrationLockID); err != nil {
			return fmt.Errorf("locking migrations: %w", err)
		}
		applied := map[int]bool{}
		rows, err := tx.tx.QueryContext(ctx, `SELECT version FROM authmail_migrations`)
		if err != nil {
			return fmt.Errorf("reading migrations: %w", err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		for _, m := range migs {
			if applied[m.Version] {
				continue
			}
			for _, stmt := range splitSQL(m.SQL) {
				if _, err := tx.tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
				}
			}
			if _, err := tx.tx.ExecContext(ctx, `INSERT INTO authmail_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, Micros(time.Now())); err != nil {
				return err
			}
			s.logger.InfoContext(ctx, "applied migration", "version", m.Version, "name", m.Name)
		}
		return nil
	})
}

// splitSQL splits a migration file into statements on semicolons at line
// ends, dropping comment-only lines.
func splitSQL(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// interpret turns driver errors into the store's sentinels.
func interpret(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
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
