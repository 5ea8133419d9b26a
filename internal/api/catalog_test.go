package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestCatalog: the factory list, lookups by ID and by Logto's alias, and
// creating a connector through an alias.
func TestCatalog(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var list []struct {
			ID           string   `json:"id"`
			Type         string   `json:"type"`
			ReadMe       string   `json:"readme"`
			SecretFields []string `json:"secretFields"`
		}
		a.JSON("GET", "/api/connector-factories", nil, http.StatusOK, &list)
		ids := map[string]bool{}
		for _, f := range list {
			ids[f.ID] = true
			if f.Type != "Email" || f.ReadMe == "" {
				t.Errorf("factory %s: type %q, readme %d bytes", f.ID, f.Type, len(f.ReadMe))
			}
			if f.ID == "http-email" && !slices.Equal(f.SecretFields, []string{"authorization", "signingSecret"}) {
				t.Errorf("http-email secret fields = %v", f.SecretFields)
			}
		}
		for _, want := range []string{"dev-inbox", "smtp", "http-email", "sendgrid", "mailgun", "postmark", "aws-ses", "aliyun-dm"} {
			if !ids[want] {
				t.Errorf("catalog lacks %s", want)
			}
		}
		var one struct {
			ID string `json:"id"`
		}
		a.JSON("GET", "/api/connector-factories/simple-mail-transfer-protocol", nil, http.StatusOK, &one)
		if one.ID != "smtp" {
			t.Errorf("alias lookup gave %q, want smtp", one.ID)
		}
		sink := startSink(t)
		c := createConnector(t, a, "simple-mail-transfer-protocol", smtpConfig(sink))
		if c.ConnectorID != "smtp" {
			t.Errorf("created through the alias: connectorId %q, want smtp", c.ConnectorID)
		}
		var got installed
		a.JSON("GET", "/api/connectors/"+c.ID, nil, http.StatusOK, &got)
		if got.ID != c.ID || got.ConnectorID != "smtp" {
			t.Errorf("GET /api/connectors/%s = %+v", c.ID, got)
		}
	})
}

// TestCodeExpires: a code is refused once its lifetime has passed.
func TestCodeExpires(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		const to = "olga@example.com"
		sendCode(t, a, to)
		code := codeFromInbox(t, a, to)
		clock.Advance(601 * time.Second)
		a.WantError("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": code}, 400, "verification_code.expired")
		// The cooldown has passed too: a new code is sent and verifies.
		sendCode(t, a, to)
		code = codeFromInbox(t, a, to)
		a.JSON("POST", "/api/verification-codes/verify", map[string]string{"email": to, "verificationCode": code}, http.StatusNoContent, nil)
	})
}
