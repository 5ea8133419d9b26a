package store

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
)

// dialectOps holds what the two databases do differently, and nothing
// else: every other statement is one text in shared code. Open picks one
// implementation, sqliteOps (sqlite.go) or postgresOps (postgres.go), and
// the readers, writers and the Store call through it; the two files keep
// the implementations of each operation side by side.
type dialectOps interface {
	// dialect names the database.
	dialect() Dialect

	// lock holds the lock id until tx ends.
	lock(ctx context.Context, tx *sql.Tx, id int64) error

	// codePutCounted stores a code and adds a send's count.
	codePutCounted(ctx context.Context, w Writer, c Code, n Count) error

	// counted adds a send's count.
	counted(ctx context.Context, w Writer, tenant string, n Count) error

	// messageRecord inserts an attempt row and updates the message from
	// it.
	messageRecord(ctx context.Context, w Writer, o Outcome) error

	// messageSettle does what messageRecord does and, when jobID is not 0,
	// deletes the delivery job unless a worker runs it, all at once.
	messageSettle(ctx context.Context, s *Store, o Outcome, jobID int64) error

	// riverDriver returns River's driver over the write handle.
	riverDriver(write *sql.DB) riverdriver.Driver[*sql.Tx]

	// gooseDialect names the database to the migration library.
	gooseDialect() goose.Dialect

	// migrationLock holds the migration lock across transactions, for the
	// queue's migrations (which commit one version at a time), and returns
	// its release.
	migrationLock(ctx context.Context, db *sql.DB) (release func(), err error)
	// gooseOptions are the migration library's options for the database
	// (its lock, where there is one).
	gooseOptions() []goose.ProviderOption

	// tableExists reports whether the current schema has the table.
	tableExists(ctx context.Context, q querier, name string) (bool, error)
}

// Both databases implement every operation.
var (
	_ dialectOps = sqliteOps{}
	_ dialectOps = postgresOps{}
)
