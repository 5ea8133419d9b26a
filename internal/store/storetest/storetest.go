// Package storetest opens migrated, isolated databases for tests: a fresh
// SQLite file, and a fresh schema in the PostgreSQL database named by
// AUTHMAIL_TEST_DATABASE_URL. Without that variable PostgreSQL tests skip,
// except when CI=true, where they fail.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/authmail/authmail/internal/store"
)

// EnvURL names the variable holding the PostgreSQL test database URL.
const EnvURL = "AUTHMAIL_TEST_DATABASE_URL"

// ForEach runs fn as a subtest against SQLite and against PostgreSQL.
func ForEach(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("SQLite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("Postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLiteURL returns the URL of a fresh SQLite file in a temporary folder.
func SQLiteURL(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "authmail.db")
}

// SQLite opens and migrates a fresh SQLite database.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, SQLiteURL(t))
}

// PostgresURL creates a fresh schema in the test database and returns a
// URL whose search_path points at it; the schema is dropped at cleanup.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the PostgreSQL tests", EnvURL)
		}
		t.Skipf("%s is not set", EnvURL)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("creating test schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens and migrates a fresh PostgreSQL schema.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return open(t, PostgresURL(t))
}

func open(t testing.TB, u string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, u, nil)
	if err != nil {
		t.Fatalf("opening %s: %v", u, err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	return s
}
