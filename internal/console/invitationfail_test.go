package console_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestAnInvitationWhoseEmailFailsShowsTheErrorAndIsSentAgain: the SMTP
// server refuses the first invitation email; the invitation is Pending
// all the same, the page says the email was not sent and shows the
// delivery failed with the server's refusal; sending it again delivers
// it, and the row then reads sent.
func TestAnInvitationWhoseEmailFailsShowsTheErrorAndIsSentAgain(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		var calls atomic.Int32
		sink.FailRecipients(func(string) *smtp.SMTPError {
			if calls.Add(1) == 1 {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
			}
			return nil
		})
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": map[string]any{"host": "127.0.0.1", "port": sink.Port(),
			"fromEmail": "Acme <no-reply@acme.test>", "ignoreTLS": true}}, http.StatusOK, nil)
		var org struct {
			ID string `json:"id"`
		}
		a.JSON("POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &org)
		v := signedIn(t, a)
		orgPage := "/console/organizations/" + org.ID
		r := v.submit(v.get(orgPage), orgPage+"/invitations", "", map[string]string{"invitee": "dana@example.com"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("inviting: %d %s", r.StatusCode, r.alert())
		}
		page := v.get(r.Header.Get("Location"))
		if !strings.Contains(page.body, "its email could not be sent") {
			t.Fatal("the page does not say the email was not sent")
		}
		var invs []struct {
			ID string `json:"id"`
		}
		a.JSON("GET", "/api/organization-invitations?organizationId="+org.ID, nil, http.StatusOK, &invs)
		if len(invs) != 1 {
			t.Fatalf("invitations: %+v", invs)
		}
		id := invs[0].ID
		if got := page.byIDText("invitation-" + id + "-status"); got != "Pending" {
			t.Fatalf("the invitation whose email failed reads %q", got)
		}
		if got := page.byIDText("invitation-" + id + "-delivery"); !strings.HasPrefix(got, "failed") || !strings.Contains(got, "mailbox unavailable") {
			t.Fatalf("the failed email's delivery reads %q", got)
		}
		r = v.submit(page, orgPage+"/invitations/"+id+"/resend", "", nil)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("resending: %d %s", r.StatusCode, r.alert())
		}
		page = v.get(r.Header.Get("Location"))
		if got := page.byIDText("invitation-" + id + "-delivery"); got != "sent" {
			t.Fatalf("after resending the delivery reads %q", got)
		}
		if got := sink.To("dana@example.com"); len(got) != 1 {
			t.Fatalf("the sink got %d messages for dana, want one", len(got))
		}
	})
}
