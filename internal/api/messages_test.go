package api_test

import (
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestMessageFilterIsBounded: the message log's to filter goes to the
// database, so it is held to an address's length like the dev inbox's.
func TestMessageFilterIsBounded(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.WantError("GET", "/api/messages?to="+strings.Repeat("a", 250)+"%40example.com", nil, 400, "guard.invalid_input")
		a.WantError("GET", "/api/messages?to=a%0D%0Ab%40example.com", nil, 400, "guard.invalid_input")
		var out []map[string]any
		a.JSON("GET", "/api/messages?to=nobody%40example.com", nil, 200, &out)
		if len(out) != 0 {
			t.Errorf("messages to nobody@example.com = %v, want none", out)
		}
	})
}
