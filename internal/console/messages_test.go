package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/testwait"
)

// TestTheDeliveryLogFiltersCountsAndRetries: the log counts the last hour
// and day, filters by recipient, kind and status, shows a message's
// attempts with their errors, and a failed message retried goes out
// through the connector in place; one that is not failed is not retried.
func TestTheDeliveryLogFiltersCountsAndRetries(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		refuse := true
		sink.FailRecipients(func(rcpt string) *smtp.SMTPError {
			if refuse && strings.HasPrefix(rcpt, "bounce@") {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
			}
			return nil
		})
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": map[string]any{"host": "127.0.0.1", "port": sink.Port(),
			"fromEmail": "Acme <no-reply@acme.test>", "ignoreTLS": true}}, http.StatusOK, nil)
		a.JSON("POST", "/api/verification-codes", map[string]any{"email": "ok@example.com"}, http.StatusNoContent, nil)
		a.Do("POST", "/api/verification-codes", map[string]any{"email": "bounce@example.com"}) // refused for good: 400
		v := signedIn(t, a)
		page := v.get("/console/messages")
		if page.byIDText("count-hour-sent") != "1" || page.byIDText("count-hour-failed") != "1" || page.byIDText("count-day-sent") != "1" {
			t.Fatalf("counts: hour sent %q failed %q, day sent %q", page.byIDText("count-hour-sent"), page.byIDText("count-hour-failed"), page.byIDText("count-day-sent"))
		}
		var msgs []store.Message
		msgs, err := a.App.Delivery.Messages(t.Context(), store.MessageFilter{Tenant: "default", Status: store.StatusFailed})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("failed messages %v, %v", msgs, err)
		}
		failed := msgs[0]
		if r := v.get("/console/messages?status=failed"); find(r.doc, byID("msg-"+failed.ID)) == nil || strings.Contains(r.body, "ok@example.com") {
			t.Fatal("the status filter does not keep only the failed message")
		}
		if r := v.get("/console/messages?to=OK%40Example.com&type=Generic&since=1h"); strings.Contains(r.body, "bounce@example.com") || !strings.Contains(r.body, "ok@example.com") {
			t.Fatal("the recipient filter does not keep only ok@example.com")
		}
		if r := v.get("/console/messages?type=SignIn"); !strings.Contains(r.body, "No message matches.") {
			t.Fatal("the kind filter keeps Generic messages for SignIn")
		}
		if r := v.get("/console/messages?to=nope"); r.StatusCode != http.StatusBadRequest || r.fieldError("filter-to") == "" {
			t.Fatalf("a bad recipient filter: %d", r.StatusCode)
		}
		detail := v.get("/console/messages/" + failed.ID)
		if !strings.Contains(detail.body, "mailbox unavailable") || find(detail.doc, byID("retry")) == nil {
			t.Fatal("the failed message's page shows no error or no retry")
		}
		refuse = false
		r := v.submit(detail, "/console/messages/"+failed.ID+"/retry", "", nil)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("retry: %d %s", r.StatusCode, r.alert())
		}
		testwait.Until(t, 15*time.Second, func() bool { return len(sink.To("bounce@example.com")) == 1 }, "the retried message arrives")
		testwait.Until(t, 15*time.Second, func() bool {
			m, _, err := a.App.Delivery.Message(t.Context(), "default", failed.ID)
			return err == nil && m.Status == store.StatusSent
		}, "the retried message is sent")
		after := v.get("/console/messages/" + failed.ID)
		if find(after.doc, byID("retry")) != nil || after.byIDText("message-status") != "sent" {
			t.Fatalf("after the retry: status %q, retry offered %v", after.byIDText("message-status"), find(after.doc, byID("retry")) != nil)
		}
		if r := v.submit(detail, "/console/messages/"+failed.ID+"/retry", "", nil); r.StatusCode != http.StatusConflict {
			t.Fatalf("retrying a sent message: %d, want 409", r.StatusCode)
		}
	})
}

// TestAnExpiredMessageIsNotRetried: once the code in a failed message has
// expired, the retry is refused and says why.
func TestAnExpiredMessageIsNotRetried(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{} // one per database: the subtests run at once
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		sink := startSink(t)
		sink.FailRecipients(func(string) *smtp.SMTPError {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
		})
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": map[string]any{"host": "127.0.0.1", "port": sink.Port(),
			"fromEmail": "Acme <no-reply@acme.test>", "ignoreTLS": true}}, http.StatusOK, nil)
		a.Do("POST", "/api/verification-codes", map[string]any{"email": "late@example.com"})
		msgs, err := a.App.Delivery.Messages(t.Context(), store.MessageFilter{Tenant: "default", To: "late@example.com"})
		if err != nil || len(msgs) != 1 || msgs[0].Status != store.StatusFailed {
			t.Fatalf("messages %v, %v", msgs, err)
		}
		v := signedIn(t, a)
		detail := v.get("/console/messages/" + msgs[0].ID)
		clock.Advance(time.Hour)
		r := v.submit(detail, "/console/messages/"+msgs[0].ID+"/retry", "", nil)
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.alert(), "expired") {
			t.Fatalf("retry of an expired message: %d %q", r.StatusCode, r.alert())
		}
	})
}

// TestTheDevInboxShowsMessagesAsAMailClientDoes: the list shows sender,
// recipient, subject and date; a message shows its headers, its code,
// the HTML part in a sandboxed frame and the text part.
func TestTheDevInboxShowsMessagesAsAMailClientDoes(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("POST", "/api/verification-codes", map[string]any{"email": "dev@example.com"}, http.StatusNoContent, nil)
		kept := inbox(t, a, "dev@example.com")
		if len(kept) != 1 {
			t.Fatalf("dev inbox: %v", kept)
		}
		id := kept[0]["id"].(string)
		code := kept[0]["payload"].(map[string]any)["code"].(string)
		v := signedIn(t, a)
		list := v.get("/console/inbox?to=dev%40example.com")
		link := find(list.doc, byID("inbox-"+id))
		if link == nil || text(link) != kept[0]["subject"] {
			t.Fatal("the inbox does not list the message by its subject")
		}
		page := v.get("/console/inbox/" + id)
		if page.byIDText("inbox-code") != code || !strings.Contains(page.byIDText("inbox-text"), code) {
			t.Fatalf("the message page shows code %q, text %q; want %s", page.byIDText("inbox-code"), page.byIDText("inbox-text"), code)
		}
		frame := find(page.doc, byID("inbox-html"))
		if src, _ := attr(frame, "srcdoc"); !strings.Contains(src, code) {
			t.Fatal("the HTML part is not in the frame")
		}
		if sb, ok := attr(frame, "sandbox"); !ok || sb != "" {
			t.Fatalf("the frame's sandbox is %q (present %v), want every restriction", sb, ok)
		}
		if r := v.get("/console/inbox/nope"); r.StatusCode != http.StatusNotFound {
			t.Fatalf("an unknown message: %d", r.StatusCode)
		}
	})
}
