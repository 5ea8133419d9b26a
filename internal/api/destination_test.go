package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// keyListener is an HTTP server that records the Authorization header of
// every request and accepts it as SendGrid does.
type keyListener struct {
	*httptest.Server
	mu   sync.Mutex
	keys []string
}

func newKeyListener(t *testing.T) *keyListener {
	l := &keyListener{}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.keys = append(l.keys, r.Header.Get("Authorization"))
		l.mu.Unlock()
		w.Header().Set("X-Message-Id", "sg-1")
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(l.Close)
	return l
}

func (l *keyListener) Keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.keys...)
}

// secretReuse is the data of a refused secret reuse.
type secretReuse struct {
	Field   string   `json:"field"`
	Fields  []string `json:"fields"`
	Changed []string `json:"changed"`
}

// TestStoredSecretIsNotSentToANewEndpoint: a test send, a check or a PATCH that
// echoes SendGrid's stored key redacted while pointing the connector at
// another endpoint is refused with a 400 naming apiKey, and the other
// endpoint never hears from authmail; with the endpoint unchanged the
// stored key is used, and a key typed anew may go anywhere.
func TestStoredSecretIsNotSentToANewEndpoint(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		home, attacker := newKeyListener(t), newKeyListener(t)
		cfg := func(key, endpoint string) map[string]any {
			return map[string]any{"apiKey": key, "fromEmail": "no-reply@auth.example.com", "endpoint": endpoint}
		}
		c := createConnector(t, a, "sendgrid", cfg("SG.stored-key", home.URL))
		moved := cfg("[redacted]", attacker.URL)
		for _, req := range []struct {
			method, path string
			body         map[string]any
		}{
			{"POST", "/api/connectors/sendgrid/test", map[string]any{"email": "you@example.com", "config": moved}},
			{"POST", "/api/connectors/sendgrid/check", map[string]any{"config": moved}},
			{"PATCH", "/api/connectors/" + c.ID, map[string]any{"config": moved}},
		} {
			e := a.WantError(req.method, req.path, req.body, http.StatusBadRequest, "connector.invalid_config")
			var data secretReuse
			if err := json.Unmarshal(e.Data, &data); err != nil || data.Field != "apiKey" || !slices.Equal(data.Fields, []string{"apiKey"}) || !slices.Equal(data.Changed, []string{"endpoint"}) {
				t.Errorf("%s %s: data %s, want apiKey named and endpoint changed (%s)", req.method, req.path, e.Data, e.Message)
			}
		}
		if keys := attacker.Keys(); len(keys) != 0 {
			t.Fatalf("the other endpoint received %v", keys)
		}
		// The refused PATCH changed nothing.
		var got installed
		a.JSON("GET", "/api/connectors/"+c.ID, nil, http.StatusOK, &got)
		var stored map[string]any
		_ = json.Unmarshal(got.Config, &stored)
		if stored["endpoint"] != home.URL {
			t.Errorf("after the refused PATCH the endpoint is %v", stored["endpoint"])
		}
		// Same endpoint: the stored key is used.
		a.JSON("POST", "/api/connectors/sendgrid/test", map[string]any{"email": "you@example.com", "config": cfg("[redacted]", home.URL)}, http.StatusNoContent, nil)
		if keys := home.Keys(); len(keys) != 1 || keys[0] != "Bearer SG.stored-key" {
			t.Errorf("home endpoint got %v, want the stored key", keys)
		}
		// A key typed anew may go to another endpoint.
		a.JSON("POST", "/api/connectors/sendgrid/test", map[string]any{"email": "you@example.com", "config": cfg("SG.typed-key", attacker.URL)}, http.StatusNoContent, nil)
		if keys := attacker.Keys(); len(keys) != 1 || keys[0] != "Bearer SG.typed-key" {
			t.Errorf("the other endpoint got %v, want only the key typed for it", keys)
		}
	})
}

// TestSMTPPasswordIsNotSentOverWeakerTLS: the SMTP settings that decide
// who can read the password on its way (certificate checks, the CA,
// STARTTLS) count as its destination: changing one while echoing the
// password redacted is refused, naming auth.pass.
func TestSMTPPasswordIsNotSentOverWeakerTLS(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	base := func() map[string]any {
		return map[string]any{"host": "smtp.example.com", "port": 587, "requireTLS": true, "fromEmail": "no-reply@example.com",
			"auth": map[string]any{"user": "mailer", "pass": "stored-smtp-password"}}
	}
	createConnector(t, a, "smtp", base())
	for _, tc := range []struct {
		changed string
		edit    func(cfg map[string]any)
	}{
		{"tls.rejectUnauthorized", func(cfg map[string]any) { cfg["tls"] = map[string]any{"rejectUnauthorized": false} }},
		{"requireTLS", func(cfg map[string]any) { cfg["requireTLS"] = false }},
		{"host", func(cfg map[string]any) { cfg["host"] = "smtp.attacker.example" }},
	} {
		cfg := base()
		cfg["auth"] = map[string]any{"user": "mailer", "pass": "[redacted]"}
		tc.edit(cfg)
		e := a.WantError("POST", "/api/connectors/smtp/test", map[string]any{"email": "you@example.com", "config": cfg}, http.StatusBadRequest, "connector.invalid_config")
		var data secretReuse
		if err := json.Unmarshal(e.Data, &data); err != nil || data.Field != "auth.pass" || !slices.Equal(data.Changed, []string{tc.changed}) {
			t.Errorf("changing %s: data %s (%s), want auth.pass named and %s changed", tc.changed, e.Data, e.Message, tc.changed)
		}
	}
}
