package api_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestSecretsNeverShown runs sends through an HTTP email connector whose
// secrets are distinctive strings, with a receiver that echoes them back
// in its errors, and checks that no response and no log line holds them.
func TestSecretsNeverShown(t *testing.T) {
	const token = "tok-QuoddyHeadLighthouse-7f3a9c"
	signingKey := base64.StdEncoding.EncodeToString([]byte("signing-key-of-32-bytes-ZanzibarX"))
	signing := "whsec_" + signingKey
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		// The receiver answers in turn: 200, then 401, 503 and 422 that
		// echo the Authorization header, then 200.
		var mu sync.Mutex
		statuses := []int{200, 401, 503, 422, 403}
		var seen []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			status := 200
			if len(statuses) > 0 {
				status, statuses = statuses[0], statuses[1:]
			}
			seen = append(seen, r.Header.Get("Authorization"))
			mu.Unlock()
			w.WriteHeader(status)
			_, _ = w.Write([]byte("refused credentials " + r.Header.Get("Authorization") + " signed " + r.Header.Get("webhook-signature")))
		}))
		t.Cleanup(srv.Close)
		var bodies []string
		do := func(method, path string, body any) int {
			status, b := a.Do(method, path, body)
			bodies = append(bodies, string(b))
			return status
		}
		cfg := map[string]any{"endpoint": srv.URL + "/email", "authorization": "Bearer " + token, "signingSecret": signing}
		if status := do("POST", "/api/connectors", map[string]any{"connectorId": "http-email", "config": cfg}); status != 200 {
			t.Fatalf("create: %d %s", status, bodies[len(bodies)-1])
		}
		id := connectors(t, a)[0].ID
		do("GET", "/api/connectors", nil)
		do("GET", "/api/connectors/"+id, nil)
		do("PATCH", "/api/connectors/"+id, map[string]any{"config": cfg})
		for _, to := range []string{"s1@example.com", "s2@example.com", "s3@example.com", "s4@example.com"} {
			do("POST", "/api/verification-codes", map[string]string{"email": to})
		}
		// A test send with an unsaved config, refused by the receiver.
		do("POST", "/api/connectors/http-email/test", map[string]any{"email": "s5@example.com", "config": cfg})
		do("GET", "/api/messages", nil)
		for _, m := range messages(t, a, "") {
			do("GET", "/api/messages/"+m.ID, nil)
		}
		// The receiver did get the real secret on every request (the 503
		// one may have been retried by now).
		mu.Lock()
		if len(seen) < 5 {
			t.Errorf("receiver got %d requests, want at least 5", len(seen))
		}
		for _, h := range seen {
			if h != "Bearer "+token {
				t.Errorf("receiver saw Authorization %q", h)
			}
		}
		mu.Unlock()
		failed := 0
		for _, m := range messages(t, a, "") {
			if m.Status == "failed" || m.Status == "queued" {
				failed++
				if !strings.Contains(m.LastError, "refused credentials") {
					t.Errorf("lastError %q lacks the receiver's answer", m.LastError)
				}
			}
		}
		if failed < 3 {
			t.Errorf("%d messages failed or queued, want the 401, 503 and 422 ones", failed)
		}
		echoed := 0
		for _, b := range bodies {
			if strings.Contains(b, "refused credentials") {
				echoed++
			}
		}
		if echoed < 3 { // the 401 and 422 sends, the 403 test, and the message log
			t.Errorf("%d responses carry the receiver's answer, want at least 3", echoed)
		}
		logs := a.Logs()
		if !strings.Contains(logs, "http-email") {
			t.Fatalf("the log capture looks empty:\n%.2000s", logs)
		}
		for _, secret := range []string{token, signing, signingKey} {
			for i, b := range bodies {
				if strings.Contains(b, secret) {
					t.Errorf("response %d holds a secret: %s", i, b)
				}
			}
			if i := strings.Index(logs, secret); i >= 0 {
				t.Errorf("the log holds a secret: ...%s...", logs[max(0, i-200):min(len(logs), i+100)])
			}
		}
	})
}
