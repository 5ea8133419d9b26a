package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/testwait"
)

// settingsBound is how long a setting changed through one process may
// take to apply in another: the cache's one second, with room for a slow
// machine.
const settingsBound = 5 * time.Second

// TestSettingsReachOtherProcesses runs two apps on one database: email
// settings changed through one apply to the other's sends within the
// bound (and to its own at once), and an admin key replaced through one
// stops working in the other within the bound.
func TestSettingsReachOtherProcesses(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a := apptest.New(t, dbURL)
		b := apptest.New(t, dbURL)
		createConnector(t, a, "dev-inbox", map[string]any{})

		// b reads (and caches) the settings before they change.
		sendCode(t, b, "before@example.com")
		if code := codeFromInbox(t, b, "before@example.com"); len(code) != 6 {
			t.Fatalf("code %q, want 6 digits", code)
		}
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"length": 8}})
		sendCode(t, a, "same@example.com")
		if code := payloadCode(t, a, "same@example.com"); len(code) != 8 {
			t.Fatalf("code sent by the process that changed the policy = %q, want 8 digits at once", code)
		}
		start := time.Now()
		n := 0
		testwait.Until(t, settingsBound, func() bool {
			n++
			to := "other" + strconv.Itoa(n) + "@example.com"
			sendCode(t, b, to)
			return len(payloadCode(t, b, to)) == 8
		}, "the other process never used the new code length")
		t.Logf("new policy applied in the other process after %v", time.Since(start).Round(time.Millisecond))

		// A new admin key written by another process (as a restart with a
		// new AUTHMAIL_ADMIN_KEY does).
		const newKey = "am_rotated_key_0123456789abcdef"
		if _, err := a.App.Tenants.EnsureAdminKey(context.Background(), tenant.Default, newKey, nil); err != nil {
			t.Fatal(err)
		}
		testwait.Until(t, settingsBound, func() bool {
			resp, _ := b.Request("GET", "/api/connectors", http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}, nil)
			return resp.StatusCode == http.StatusUnauthorized
		}, "the old admin key kept working")
		resp, body := b.Request("GET", "/api/connectors", http.Header{"Authorization": {"Bearer " + newKey}}, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("new admin key: %d %s", resp.StatusCode, body)
		}
	})
}

// payloadCode is the code of the newest dev inbox message to to.
func payloadCode(t *testing.T, a *apptest.App, to string) string {
	t.Helper()
	msgs := inbox(t, a, to)
	if len(msgs) == 0 {
		t.Fatalf("dev inbox has nothing for %s", to)
	}
	code, _ := msgs[0].Payload["code"].(string)
	return code
}

// TestTemplatesReachOtherProcesses runs two apps on one database: a
// template saved, changed or deleted through one is used by the other's
// very next send, although the other keeps the templates it has read.
func TestTemplatesReachOtherProcesses(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a := apptest.New(t, dbURL)
		b := apptest.New(t, dbURL)
		createConnector(t, a, "dev-inbox", map[string]any{})
		n := 0
		subjectFromB := func() string {
			t.Helper()
			n++
			to := "t" + strconv.Itoa(n) + "@example.com"
			sendCode(t, b, to)
			msgs := inbox(t, b, to)
			if len(msgs) != 1 {
				t.Fatalf("dev inbox has %d messages for %s, want 1", len(msgs), to)
			}
			return msgs[0].Subject
		}
		builtin := subjectFromB()
		if builtin == "" || subjectFromB() != builtin {
			t.Fatalf("built-in subject %q not stable", builtin)
		}

		var saved []struct {
			ID string `json:"id"`
		}
		a.JSON("PUT", "/api/email-templates", map[string]any{"templates": []any{map[string]any{"languageTag": "en", "templateType": "Generic",
			"details": map[string]any{"subject": "Saved {{code}}", "content": "<p>{{code}}</p>"}}}}, http.StatusOK, &saved)
		if got := subjectFromB(); !strings.HasPrefix(got, "Saved ") {
			t.Fatalf("send after the save through the other process: subject %q, want the saved template", got)
		}
		if len(saved) != 1 {
			t.Fatalf("saved %+v, want one template", saved)
		}
		a.JSON("PATCH", "/api/email-templates/"+saved[0].ID+"/details", map[string]any{"subject": "Patched {{code}}"}, http.StatusOK, nil)
		if got := subjectFromB(); !strings.HasPrefix(got, "Patched ") {
			t.Fatalf("send after the patch through the other process: subject %q, want the patched template", got)
		}
		a.JSON("DELETE", "/api/email-templates/"+saved[0].ID, nil, http.StatusNoContent, nil)
		if got := subjectFromB(); got != builtin {
			t.Fatalf("send after the delete through the other process: subject %q, want the built-in %q", got, builtin)
		}
		a.JSON("PUT", "/api/email-templates", map[string]any{"templates": []any{map[string]any{"languageTag": "en", "templateType": "Generic",
			"details": map[string]any{"subject": "Again {{code}}", "content": "<p>{{code}}</p>"}}}}, http.StatusOK, nil)
		if got := subjectFromB(); !strings.HasPrefix(got, "Again ") {
			t.Fatalf("send after a second save: subject %q", got)
		}
		a.JSON("DELETE", "/api/email-templates?languageTag=en", nil, http.StatusOK, nil)
		if got := subjectFromB(); got != builtin {
			t.Fatalf("send after a filtered delete: subject %q, want the built-in %q", got, builtin)
		}
	})
}
