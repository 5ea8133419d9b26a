package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*/*.sql
var migrationFS embed.FS

const (
	// versionTable is where goose records the applied migrations.
	versionTable = "authmail_goose_version"
	// legacyTable is where the store's own migrator recorded them before
	// goose did.
	legacyTable = "authmail_migrations"
	// migrationLockID is the advisory lock migrations hold on PostgreSQL
	// (the number the earlier migrator used, so an older process starting
	// beside a newer one waits for it too).
	migrationLockID = 7243318
)

// Migrate applies River's migrations (rivermigrate) and then authmail's
// (goose, from the embedded directory of the database's dialect). A
// database migrated before goose is adopted first: the versions the
// earlier migrator recorded are copied into goose's table once.
func (s *Store) Migrate(ctx context.Context) error {
	m, err := rivermigrate.New(s.RiverDriver(), &rivermigrate.Config{Logger: s.logger})
	if err != nil {
		return fmt.Errorf("preparing queue migrations: %w", err)
	}
	// Under the migration lock: processes that start together on a fresh
	// PostgreSQL database would otherwise each create the queue's tables,
	// and all but one fail.
	release, err := s.ops.migrationLock(ctx, s.write)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	release()
	if err != nil {
		return fmt.Errorf("migrating queue tables: %w", err)
	}
	if err := s.adoptLegacyMigrations(ctx); err != nil {
		return fmt.Errorf("adopting earlier migrations: %w", err)
	}
	p, err := s.migrationProvider()
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			s.logger.InfoContext(ctx, "applied migration", "version", r.Source.Version,
				"name", path.Base(r.Source.Path), "duration", r.Duration)
		}
	}
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	return nil
}

// migrationProvider is goose on the write handle, over the dialect's
// migrations. Goose logs through the store's logger and only when asked
// to be verbose, which it is not, so it prints nothing.
func (s *Store) migrationProvider() (*goose.Provider, error) {
	dir, err := fs.Sub(migrationFS, "migrations/"+string(s.Dialect()))
	if err != nil {
		return nil, err
	}
	opts := append(s.ops.gooseOptions(),
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(s.logger),
		// Features are built side by side, each with its own number, and
		// may land in another order than their numbers: a database that
		// has a higher number gets a lower one that arrived later. Each
		// migration touches only its own tables and columns.
		goose.WithAllowOutofOrder(true))
	p, err := goose.NewProvider(s.ops.gooseDialect(), s.write, dir, opts...)
	if err != nil {
		return nil, fmt.Errorf("preparing migrations: %w", err)
	}
	return p, nil
}

// adoptLegacyMigrations creates goose's version table holding the
// versions the earlier migrator recorded in its own table, when that
// table exists and goose's does not; otherwise it does nothing. It runs in
// one write transaction under the migration lock, so two processes cannot
// both adopt, and a failure leaves no half-made table. The earlier table
// is left in place.
func (s *Store) adoptLegacyMigrations(ctx context.Context) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if err := s.ops.lock(ctx, tx.tx, migrationLockID); err != nil {
			return fmt.Errorf("locking migrations: %w", err)
		}
		legacy, err := s.ops.tableExists(ctx, tx.tx, legacyTable)
		if err != nil || !legacy {
			return err
		}
		adopted, err := s.ops.tableExists(ctx, tx.tx, versionTable)
		if err != nil || adopted {
			return err
		}
		rows, err := tx.tx.QueryContext(ctx, `SELECT version FROM `+legacyTable+` ORDER BY version`)
		if err != nil {
			return err
		}
		var versions []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			versions = append(versions, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		gs, err := database.NewStore(s.ops.gooseDialect(), versionTable)
		if err != nil {
			return err
		}
		if err := gs.CreateVersionTable(ctx, tx.tx); err != nil {
			return err
		}
		// Goose's own first row, which it writes whenever it creates the
		// table, and then one row per version already applied.
		for _, v := range append([]int64{0}, versions...) {
			if err := gs.Insert(ctx, tx.tx, database.InsertRequest{Version: v}); err != nil {
				return err
			}
		}
		s.logger.InfoContext(ctx, "adopted earlier migrations", "versions", versions)
		return nil
	})
}

// Migration is one numbered schema change.
type Migration struct {
	Version int64
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations of a dialect, in order,
// numbered as goose numbers them (the digits before the first "_").
func Migrations(d Dialect) ([]Migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		v, err := goose.NumericComponent(e.Name())
		if err != nil {
			return nil, fmt.Errorf("migration file %s: %w", e.Name(), err)
		}
		_, name, _ := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		b, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
