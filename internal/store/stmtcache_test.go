package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestStatementReuse runs the same statements many times on SQLite's one
// write connection, whose statements are prepared once and re-bound: a
// failed statement, a statement run again while its rows are still open,
// and many distinct statements (past the cache's bound) must all give the
// answers the database holds.
func TestStatementReuse(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := context.Background()
	now := time.Now()
	w := s.WriteQ()
	for i := range 3 {
		if err := w.SettingPut(ctx, "reuse", fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), now); err != nil {
			t.Fatal(err)
		}
	}
	// A unique violation through a cached statement, then the same
	// statement again with other values.
	tpl := store.Template{TenantID: "default", ID: "t1", LanguageTag: "en", TemplateType: "Generic", Details: "{}", CreatedAt: now}
	if err := w.MessageInsert(ctx, store.Message{TenantID: "default", ID: "m1", Status: store.StatusSending}); err != nil {
		t.Fatal(err)
	}
	if err := w.MessageInsert(ctx, store.Message{TenantID: "default", ID: "m1", Status: store.StatusSending}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate insert: err = %v, want ErrConflict", err)
	}
	if err := w.MessageInsert(ctx, store.Message{TenantID: "default", ID: "m2", Status: store.StatusSending}); err != nil {
		t.Fatalf("insert after a failed one: %v", err)
	}
	if _, err := w.TemplateUpsert(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	// The same query while its rows are open, on one connection: the
	// nested run must not disturb the outer rows.
	conn, err := s.WriteDB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const q = `SELECT name, value FROM settings WHERE tenant_id = $1 ORDER BY name`
	rows, err := conn.QueryContext(ctx, q, "reuse")
	if err != nil {
		t.Fatal(err)
	}
	outer := 0
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		if want := "v" + name[1:]; value != want {
			t.Fatalf("setting %s = %q, want %q", name, value, want)
		}
		outer++
		inner, err := conn.QueryContext(ctx, q, "reuse")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		if err := inner.Close(); err != nil || n != 3 {
			t.Fatalf("nested run saw %d settings (%v), want 3", n, err)
		}
	}
	if err := rows.Err(); err != nil || outer != 3 {
		t.Fatalf("outer run saw %d settings (%v), want 3", outer, err)
	}
	rows.Close()
	// More distinct statements than a connection keeps.
	for i := range 300 {
		var n int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT $1 + %d`, i), 1).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("statement %d = %d, %v", i, n, err)
		}
	}
	conn.Close()
	for i := range 3 {
		if v, err := w.SettingGet(ctx, "reuse", fmt.Sprintf("k%d", i)); err != nil || v != fmt.Sprintf("v%d", i) {
			t.Fatalf("setting k%d = %q, %v", i, v, err)
		}
	}
}
