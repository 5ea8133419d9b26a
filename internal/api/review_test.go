package api_test

import (
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestConnectorIDIsChecked: a caller-chosen connector ID becomes part of
// the URL of every later request on the connector, so one that no URL can
// address (a slash, a space, a control character) is refused up front.
func TestConnectorIDIsChecked(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		for _, id := range []string{"a/b", "has space", "tab\there", "dot.dot", "..", strings.Repeat("x", 129)} {
			a.WantError("POST", "/api/connectors", map[string]any{"connectorId": "dev-inbox", "id": id}, 400, "guard.invalid_input")
		}
		var got installed
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "dev-inbox", "id": "my-inbox_2"}, 200, &got)
		a.JSON("GET", "/api/connectors/my-inbox_2", nil, 200, &got)
		if got.ID != "my-inbox_2" {
			t.Fatalf("connector id = %q", got.ID)
		}
	})
}

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
