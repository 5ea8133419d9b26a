package store_test

import (
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

// run runs fn as the subtest name, once on a fresh SQLite database and
// once on a fresh PostgreSQL schema, so no subtest sees another's rows.
func run(t *testing.T, name string, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run(name, func(t *testing.T) { storetest.ForEach(t, fn) })
}

// testNow is a time the database keeps exactly (microseconds, UTC).
func testNow() time.Time { return time.Now().Truncate(time.Microsecond).UTC() }
