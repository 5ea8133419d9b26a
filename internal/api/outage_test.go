package api_test

import (
	"net/http"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestDatabaseOutageIsNotAWrongKey: when the database does not answer, an
// admin request gets 503, not 401, and /readyz says so too.
func TestDatabaseOutageIsNotAWrongKey(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	if err := a.App.Store.Close(); err != nil {
		t.Fatal(err)
	}
	a.WantError("GET", "/api/connectors", nil, http.StatusServiceUnavailable, "request.unavailable")
	if status, body := a.Do("GET", "/readyz", nil); status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d %s, want 503", status, body)
	}
}
