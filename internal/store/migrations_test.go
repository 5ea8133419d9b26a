package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

// databases are the two dialects with a way to make a fresh, unmigrated
// database of each.
var databases = []struct {
	name    string
	dialect store.Dialect
	url     func(testing.TB) string
}{
	{"SQLite", store.SQLite, storetest.SQLiteURL},
	{"Postgres", store.Postgres, storetest.PostgresURL},
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()

	run(t, "MigrateTwiceIsANoOp", func(t *testing.T, s *store.Store) {
		if err := s.WriteQ().SettingPut(ctx, "default", "x", "1", testNow()); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if v, err := s.SettingGet(ctx, "default", "x"); err != nil || v != "1" {
			t.Fatalf("setting after the second migrate = %q, %v", v, err)
		}
	})

	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Run("LogsThroughTheStoreLoggerAndPrintsNothing", func(t *testing.T) {
				var logged records
				s, err := store.Open(ctx, db.url(t), slog.New(&logged))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				printed := capturePrinted(t, func() {
					if err := s.Migrate(ctx); err != nil {
						t.Error(err)
					}
				})
				if printed != "" {
					t.Errorf("migrating printed %q", printed)
				}
				migs, err := store.Migrations(db.dialect)
				if err != nil {
					t.Fatal(err)
				}
				var want, got []int64
				for _, m := range migs {
					want = append(want, m.Version)
				}
				for _, r := range logged.all() {
					if r.Message == "applied migration" {
						r.Attrs(func(a slog.Attr) bool {
							if a.Key == "version" {
								got = append(got, a.Value.Int64())
							}
							return true
						})
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("logged applied versions %v, want %v", got, want)
				}
			})

			// A database the earlier migrator made, with all of its
			// migrations applied or only the first: Migrate adopts what it
			// recorded and applies only the rest.
			for _, applied := range []int64{1, 2} {
				t.Run(fmt.Sprintf("AdoptsTheEarlierMigrator/%dApplied", applied), func(t *testing.T) {
					s, err := store.Open(ctx, db.url(t), nil)
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					legacyMigrate(t, s, db.dialect, applied)
					if err := s.WriteQ().SettingPut(ctx, "default", "kept", "1", testNow()); err != nil {
						t.Fatal(err)
					}
					until := testNow().Add(time.Hour)
					if _, err := s.WriteDB().ExecContext(ctx, `INSERT INTO lockouts (tenant_id, key_hash, until) VALUES ('default', 'old', $1)`, store.Micros(until)); err != nil {
						t.Fatal(err)
					}
					if err := s.Migrate(ctx); err != nil {
						t.Fatalf("migrating a database of the earlier migrator: %v", err)
					}
					// A lockout from before lockouts kept their subject
					// locks its address, whose hash was its key.
					if ls, err := s.LockoutList(ctx, store.LockoutFilter{Tenant: "default", Now: testNow(), AddressHash: "old"}); err != nil ||
						len(ls) != 1 || ls[0].Scope != "address" || ls[0].Subject != "" || !ls[0].Until.Equal(until) {
						t.Fatalf("the lockout from before = %+v, %v; want it found by its key as the address's", ls, err)
					}
					if v, err := s.SettingGet(ctx, "default", "kept"); err != nil || v != "1" {
						t.Fatalf("a row from before = %q, %v", v, err)
					}
					// Migration 2's triggers, made by either migrator.
					if _, err := s.WriteQ().TemplateUpsert(ctx, store.Template{TenantID: "default", ID: "t1", LanguageTag: "en", TemplateType: "Generic", Details: "{}"}); err != nil {
						t.Fatal(err)
					}
					if v, err := s.SettingGet(ctx, "default", store.TemplatesVersionSetting); err != nil || v != "1" {
						t.Fatalf("templates version = %q, %v; want 1", v, err)
					}
					if err := s.Migrate(ctx); err != nil {
						t.Fatalf("migrating again: %v", err)
					}
				})
			}
		})
	}
}

// legacyMigrate does what the store's migrator did before goose: it ran
// each migration file (kept as they were in testdata/legacy) up to
// version last and recorded it in authmail_migrations.
func legacyMigrate(t *testing.T, s *store.Store, d store.Dialect, last int64) {
	t.Helper()
	ctx := context.Background()
	db := s.WriteDB()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS authmail_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "legacy", string(d), "*.sql"))
	if err != nil || len(files) < int(last) {
		t.Fatalf("legacy migrations: %v, %v", files, err)
	}
	for i, f := range files[:last] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("legacy %s: %v", f, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO authmail_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			i+1, filepath.Base(f), store.Micros(testNow())); err != nil {
			t.Fatal(err)
		}
	}
}

// capturePrinted runs fn and returns what it wrote to standard output,
// standard error or the standard logger.
func capturePrinted(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, logOut := os.Stdout, os.Stderr, log.Writer()
	os.Stdout, os.Stderr = w, w
	log.SetOutput(w)
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, r); close(done) }()
	defer func() {
		os.Stdout, os.Stderr = stdout, stderr
		log.SetOutput(logOut)
	}()
	fn()
	w.Close()
	<-done
	r.Close()
	return buf.String()
}

// records is a slog handler that keeps what it is given.
type records struct {
	mu sync.Mutex
	rs []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rs = append(h.rs, r.Clone())
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }
func (h *records) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.rs)
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	a, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Version != b[i].Version || a[i].Name != b[i].Name {
			t.Errorf("migration %d: sqlite %03d_%s, postgres %03d_%s", i, a[i].Version, a[i].Name, b[i].Version, b[i].Name)
		}
	}
}

// TestProcessesStartingTogetherMigrateOneFreshDatabase: several processes
// migrating one fresh PostgreSQL database at the same moment all succeed
// (the queue's migrations and authmail's run under one advisory lock), as
// a deployment that starts its replicas together needs.
func TestProcessesStartingTogetherMigrateOneFreshDatabase(t *testing.T) {
	ctx := context.Background()
	u := storetest.PostgresURL(t)
	const processes = 4
	stores := make([]*store.Store, processes)
	for i := range stores {
		s, err := store.Open(ctx, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	start := make(chan struct{})
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
}
