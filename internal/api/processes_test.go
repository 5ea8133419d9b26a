package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"authmail/internal/api"
	"authmail/internal/app/apptest"
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
		apptest.Eventually(t, settingsBound, "the other process never used the new code length", func() bool {
			n++
			to := "other" + strconv.Itoa(n) + "@example.com"
			sendCode(t, b, to)
			return len(payloadCode(t, b, to)) == 8
		})
		t.Logf("new policy applied in the other process after %v", time.Since(start).Round(time.Millisecond))

		// A new admin key written by another process (as a restart with a
		// new AUTHMAIL_ADMIN_KEY does).
		const newKey = "am_rotated_key_0123456789abcdef"
		if _, err := api.EnsureAdminKey(context.Background(), a.App.Store, newKey, time.Now()); err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, settingsBound, "the old admin key kept working", func() bool {
			resp, _ := b.Request("GET", "/api/connectors", http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}, nil)
			return resp.StatusCode == http.StatusUnauthorized
		})
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
