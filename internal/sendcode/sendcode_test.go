package sendcode_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// inbox returns what the dev inbox kept for to, oldest first.
func inbox(t *testing.T, a *apptest.App, to string) []store.InboxMessage {
	t.Helper()
	msgs, err := a.App.Store.InboxList(context.Background(), tenant.Default, to, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs
}

func payload(t *testing.T, m store.InboxMessage) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTestSendBuildsTheMessageARealSendBuilds sends a real code and a test
// through the same (dev inbox) connector, under stored settings: a
// fallback language, branding and a stored template, and under the
// built-in templates. The two messages differ only in their code.
func TestTestSendBuildsTheMessageARealSendBuilds(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		ctx := context.Background()
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"languageInfo": map[string]any{"fallbackLanguage": "fr"},
			"emailBranding": map[string]any{"senderName": "Acme", "companyInformation": "Acme SA, Lyon"}}, http.StatusOK, nil)
		a.JSON("PUT", "/api/email-templates", map[string]any{"templates": []any{map[string]any{"languageTag": "fr", "templateType": "Generic",
			"details": map[string]any{"subject": "{{branding.senderName}} : {{code}} ({{locale}})", "sendFrom": "Acme <auth@acme.example>",
				"content": "<p>{{code}}</p><p>{{expiresInMinutes}} min</p><p>{{branding.companyInformation}}</p>"}}}}, http.StatusOK, nil)
		for _, tc := range []struct{ name, to, locale, subject string }{
			{"stored template", "stored@example.com", "fr-CA", "Acme : "},
			{"built-in template", "builtin@example.com", "en", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := a.App.Codes.SendCode(ctx, sendcode.Request{Tenant: tenant.Default, Email: addr(tc.to), Usage: connector.UsageGeneric, Locale: tc.locale}); err != nil {
					t.Fatal(err)
				}
				if err := a.App.Codes.TestSend(ctx, sendcode.TestRequest{Tenant: tenant.Default, Email: addr(tc.to), FactoryID: "dev-inbox",
					Config: json.RawMessage(`{}`), Locale: tc.locale}); err != nil {
					t.Fatal(err)
				}
				msgs := inbox(t, a, tc.to)
				if len(msgs) != 2 {
					t.Fatalf("dev inbox has %d messages for %s, want the real one and the test", len(msgs), tc.to)
				}
				real, test := msgs[0], msgs[1]
				code, _ := payload(t, real)["code"].(string)
				if len(code) != 6 || code == sendcode.TestCode {
					t.Fatalf("real send's code = %q, want an issued six-digit code", code)
				}
				if !strings.HasPrefix(real.Subject, tc.subject) {
					t.Errorf("real send's subject %q does not start with %q: the settings were not applied", real.Subject, tc.subject)
				}
				swap := func(s string) string { return strings.ReplaceAll(s, code, sendcode.TestCode) }
				if swap(real.Subject) != test.Subject || swap(real.HTML) != test.HTML || swap(real.Text) != test.Text ||
					real.From != test.From || real.Type != test.Type {
					t.Errorf("the test send built another message:\nreal %+v\ntest %+v", real, test)
				}
				rp, tp := payload(t, real), payload(t, test)
				rp["code"] = sendcode.TestCode
				if !maps.Equal(stringify(rp), stringify(tp)) {
					t.Errorf("payloads differ beyond the code:\nreal %v\ntest %v", rp, tp)
				}
			})
		}
	})
}

func stringify(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		b, _ := json.Marshal(v)
		out[k] = string(b)
	}
	return out
}

// TestTestSendIssuesNoCode: a test send records no message and stores no
// code, so its 000000 verifies nothing.
func TestTestSendIssuesNoCode(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		ctx := context.Background()
		const to = "tester@example.com"
		if err := a.App.Codes.TestSend(ctx, sendcode.TestRequest{Tenant: tenant.Default, Email: addr(to), FactoryID: "dev-inbox", Config: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if n := len(inbox(t, a, to)); n != 1 {
			t.Fatalf("dev inbox has %d messages, want the test", n)
		}
		msgs, err := a.App.Store.MessageList(ctx, store.MessageFilter{Tenant: tenant.Default, To: to})
		if err != nil || len(msgs) != 0 {
			t.Fatalf("message log after a test send: %v, %v; want nothing", msgs, err)
		}
		if err := a.App.Codes.Verify(ctx, tenant.Default, addr(to), connector.UsageGeneric, sendcode.TestCode, ""); !errors.Is(err, verification.ErrNotFound) {
			t.Fatalf("verifying the test code: %v, want %v", err, verification.ErrNotFound)
		}
	})
}

// TestSendCodeKeepsTheCallersPayload: the caller's values reach the
// message, and the caller's map is not changed by the send.
func TestSendCodeKeepsTheCallersPayload(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		const to = "payload@example.com"
		given := map[string]any{"application": map[string]any{"name": "Shop"}}
		before := stringify(given)
		if err := a.App.Codes.SendCode(context.Background(), sendcode.Request{Tenant: tenant.Default, Email: addr(to),
			Usage: connector.UsageSignIn, Payload: given}); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(before, stringify(given)) {
			t.Errorf("the caller's payload changed: %v", given)
		}
		msgs := inbox(t, a, to)
		if len(msgs) != 1 {
			t.Fatalf("dev inbox has %d messages, want 1", len(msgs))
		}
		p := payload(t, msgs[0])
		if app, _ := p["application"].(map[string]any); app["name"] != "Shop" || p["code"] == nil {
			t.Errorf("message payload %v lacks the caller's application or the code", p)
		}
	})
}

// TestVerifyUsesTheTenantPolicy: with one try allowed per code, a wrong
// code kills it, so the right one is refused next.
func TestVerifyUsesTheTenantPolicy(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		ctx := context.Background()
		const to = "policy@example.com"
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"verificationCodePolicy": map[string]any{"maxRetryAttempts": 1}}, http.StatusOK, nil)
		if err := a.App.Codes.SendCode(ctx, sendcode.Request{Tenant: tenant.Default, Email: addr(to), Usage: connector.UsageGeneric}); err != nil {
			t.Fatal(err)
		}
		msgs := inbox(t, a, to)
		if len(msgs) != 1 {
			t.Fatalf("dev inbox has %d messages, want 1", len(msgs))
		}
		code, _ := payload(t, msgs[0])["code"].(string)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		if err := a.App.Codes.Verify(ctx, tenant.Default, addr(to), connector.UsageGeneric, wrong, ""); !errors.Is(err, verification.ErrMismatch) {
			t.Fatalf("wrong code: %v, want %v", err, verification.ErrMismatch)
		}
		if err := a.App.Codes.Verify(ctx, tenant.Default, addr(to), connector.UsageGeneric, code, ""); !errors.Is(err, verification.ErrExceedMaxTry) {
			t.Fatalf("right code after the one allowed try: %v, want %v", err, verification.ErrExceedMaxTry)
		}
	})
}

// addr parses a test address that is known to be valid.
func addr(s string) address.Address {
	a, err := address.Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// TestTheClientIPIsCappedUnlessTheAdminAsks: sends and test sends asked
// for by an end user's client count toward its per-IP cap; with the admin
// key (the app's server, asking for all of its users) they do not.
func TestTheClientIPIsCappedUnlessTheAdminAsks(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		ctx := context.Background()
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"verificationCodePolicy": map[string]any{"ipSendLimit": 2}}, http.StatusOK, nil)
		const ip = "198.51.100.4"
		send := func(to string, fromAdmin bool) error {
			return a.App.Codes.SendCode(ctx, sendcode.Request{Tenant: tenant.Default, Email: addr(to), Usage: connector.UsageGeneric, IP: ip, FromAdmin: fromAdmin})
		}
		test := func(to string, fromAdmin bool) error {
			return a.App.Codes.TestSend(ctx, sendcode.TestRequest{Tenant: tenant.Default, Email: addr(to), FactoryID: "dev-inbox",
				Config: json.RawMessage(`{}`), IP: ip, FromAdmin: fromAdmin})
		}
		for i := range 3 {
			if err := send(fmt.Sprintf("admin%d@example.com", i), true); err != nil {
				t.Fatalf("send %d with the admin key: %v", i+1, err)
			}
		}
		if err := send("user0@example.com", false); err != nil {
			t.Fatal(err)
		}
		if err := test("user1@example.com", false); err != nil {
			t.Fatal(err)
		}
		if err := send("user2@example.com", false); !errors.Is(err, verification.ErrRateLimited) {
			t.Fatalf("3rd send from the client = %v, want %v", err, verification.ErrRateLimited)
		}
		if err := test("user2@example.com", false); !errors.Is(err, verification.ErrRateLimited) {
			t.Fatalf("test send from the capped client = %v, want %v", err, verification.ErrRateLimited)
		}
		if err := test("admin3@example.com", true); err != nil {
			t.Fatalf("test send with the admin key: %v", err)
		}
	})
}

// TestSendMailsALinkWithoutACodeInTheCallersTransaction: Send delivers
// the caller's payload with no code issued, runs the caller's writes in
// the transaction that records the message, with the message's ID; when
// those writes fail, no message is recorded or delivered.
func TestSendMailsALinkWithoutACodeInTheCallersTransaction(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		ctx := context.Background()
		req := sendcode.Request{Tenant: tenant.Default, Email: addr("invitee@example.com"), Usage: connector.UsageOrganizationInvitation,
			Payload: map[string]any{"link": "https://app.example.com/join", "organization": map[string]any{"name": "Acme"}}, FromAdmin: true}
		var within string
		id, err := a.App.Codes.Send(ctx, req, func(tx *store.Tx, messageID string) error {
			within = messageID
			_, err := tx.MessageGet(ctx, tenant.Default, messageID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if id == "" || within != id {
			t.Fatalf("Send answered message %q and ran the caller's writes with %q, want one ID", id, within)
		}
		msgs := inbox(t, a, "invitee@example.com")
		if len(msgs) != 1 {
			t.Fatalf("dev inbox has %d messages, want 1", len(msgs))
		}
		p := payload(t, msgs[0])
		if p["link"] != "https://app.example.com/join" || p["code"] != nil || p["expiresInMinutes"] != nil {
			t.Errorf("payload = %v, want the link and no code", p)
		}
		if !strings.Contains(msgs[0].Text, "https://app.example.com/join") {
			t.Errorf("the text part does not hold the link: %s", msgs[0].Text)
		}
		if _, err := a.App.Store.CodeGet(ctx, tenant.Default, "invitee@example.com", string(connector.UsageOrganizationInvitation)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Send issued a code (lookup: %v)", err)
		}

		refused := errors.New("the caller's write failed")
		if _, err := a.App.Codes.Send(ctx, sendcode.Request{Tenant: tenant.Default, Email: addr("nobody@example.com"), Usage: connector.UsageOrganizationInvitation,
			Payload: map[string]any{"link": "https://app.example.com/join"}, FromAdmin: true}, func(*store.Tx, string) error { return refused }); !errors.Is(err, refused) {
			t.Fatalf("Send with failing writes = %v, want their error", err)
		}
		logged, err := a.App.Store.MessageList(ctx, store.MessageFilter{Tenant: tenant.Default, To: "nobody@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if len(logged) != 0 || len(inbox(t, a, "nobody@example.com")) != 0 {
			t.Errorf("after the caller's writes failed: %d messages logged, %d delivered; want none", len(logged), len(inbox(t, a, "nobody@example.com")))
		}
	})
}
