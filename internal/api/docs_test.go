package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	}
	return "object"
}

// shape is an object's field names with their JSON types, one level deep
// and, for objects, one more ("payload.code=string").
func shape(obj map[string]any) []string {
	var out []string
	for k, v := range obj {
		out = append(out, k+"="+jsonKind(v))
		if inner, ok := v.(map[string]any); ok {
			for ik, iv := range inner {
				out = append(out, k+"."+ik+"="+jsonKind(iv))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestDevInboxGuideShowsTheRealResponse: the example answer in the dev
// inbox guide has the fields, and the JSON types, that GET
// /api/dev-inbox/messages answers for a code sent with
// POST /api/verification-codes.
func TestDevInboxGuideShowsTheRealResponse(t *testing.T) {
	guide, err := os.ReadFile("../../connectors/devinbox/README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```json\\s*(\\[\\s*\\{.*?\\])\\s*```").FindSubmatch(guide)
	if m == nil {
		t.Fatal("the dev inbox guide has no example response (a ```json block holding a list)")
	}
	var documented []map[string]any
	if err := json.Unmarshal(m[1], &documented); err != nil || len(documented) == 0 {
		t.Fatalf("the guide's example response is not a JSON list of messages: %v", err)
	}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sendCode(t, a, "alice@example.com")
		var real []map[string]any
		a.JSON("GET", "/api/dev-inbox/messages?to=alice@example.com", nil, http.StatusOK, &real)
		if len(real) != 1 {
			t.Fatalf("%d messages in the dev inbox, want 1", len(real))
		}
		if got, want := shape(documented[0]), shape(real[0]); !slices.Equal(got, want) {
			b, _ := json.MarshalIndent(real[0], "", "  ")
			t.Errorf("the guide's example has fields\n  %s\nthe route answers\n  %s\nfor example:\n%s",
				strings.Join(got, " "), strings.Join(want, " "), b)
		}
	})
}
