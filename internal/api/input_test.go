package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestBadInput sends refused requests and checks each answer, and that
// nothing was written.
func TestBadInput(t *testing.T) {
	auth := http.Header{"Authorization": {"Bearer " + apptest.AdminKey}}
	with := func(h http.Header, k, v string) http.Header {
		out := h.Clone()
		out.Set(k, v)
		return out
	}
	huge := `{"email":"` + strings.Repeat("a", 1<<20) + `@example.com"}`
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com"
	sendTo := func(email string) string {
		b, _ := json.Marshal(map[string]string{"email": email})
		return string(b)
	}
	tpl := func(lang, typ string) string {
		b, _ := json.Marshal(map[string]any{"templates": []any{map[string]any{"languageTag": lang, "templateType": typ,
			"details": map[string]any{"subject": "s {{code}}", "content": "c {{code}}"}}}})
		return string(b)
	}
	conn := func(factory, config string) string {
		return `{"connectorId":"` + factory + `","config":` + config + `}`
	}
	cases := []struct {
		name         string
		method, path string
		header       http.Header
		body         string
		status       int
		code         string
		field        string // data.field, when the answer names one
	}{
		{name: "no admin key", method: "GET", path: "/api/connectors", header: http.Header{}, status: 401, code: "auth.unauthorized"},
		{name: "wrong admin key", method: "GET", path: "/api/connectors", header: http.Header{"Authorization": {"Bearer am_wrong"}}, status: 401, code: "auth.unauthorized"},
		{name: "empty bearer", method: "GET", path: "/api/messages", header: http.Header{"Authorization": {"Bearer "}}, status: 401, code: "auth.unauthorized"},
		{name: "basic auth", method: "GET", path: "/api/messages", header: http.Header{"Authorization": {"Basic " + apptest.AdminKey}}, status: 401, code: "auth.unauthorized"},
		{name: "no key on a send", method: "POST", path: "/api/verification-codes", header: http.Header{}, body: sendTo("a@example.com"), status: 401, code: "auth.unauthorized"},
		{name: "body over 1 MiB", method: "POST", path: "/api/verification-codes", body: huge, status: 413, code: "guard.request_too_large"},
		{name: "malformed JSON", method: "POST", path: "/api/verification-codes", body: `{"email":`, status: 400, code: "guard.invalid_input"},
		{name: "not JSON at all", method: "POST", path: "/api/connectors", body: `connectorId=smtp`, status: 400, code: "guard.invalid_input"},
		{name: "empty body", method: "POST", path: "/api/verification-codes", body: ``, status: 400, code: "guard.invalid_input"},
		{name: "two JSON values", method: "POST", path: "/api/verification-codes", body: sendTo("a@example.com") + sendTo("b@example.com"), status: 400, code: "guard.invalid_input"},
		{name: "unknown field", method: "POST", path: "/api/verification-codes", body: `{"email":"a@example.com","phone":"+1"}`, status: 400, code: "guard.invalid_input", field: "phone"},
		{name: "wrong type", method: "POST", path: "/api/verification-codes", body: `{"email":5}`, status: 400, code: "guard.invalid_input", field: "email"},
		{name: "wrong type in verify", method: "POST", path: "/api/verification-codes/verify", body: `{"email":"a@example.com","verificationCode":123456}`, status: 400, code: "guard.invalid_input", field: "verificationCode"},
		{name: "array body", method: "POST", path: "/api/verification-codes", body: `["a@example.com"]`, status: 400, code: "guard.invalid_input"},
		{name: "text content type", method: "POST", path: "/api/verification-codes", header: with(auth, "Content-Type", "text/plain"), body: sendTo("a@example.com"), status: 415, code: "guard.invalid_content_type"},
		{name: "no email", method: "POST", path: "/api/verification-codes", body: `{}`, status: 400, code: "guard.invalid_input", field: "email"},
		{name: "email over 254 bytes", method: "POST", path: "/api/verification-codes", body: sendTo(long), status: 400, code: "guard.invalid_input", field: "email"},
		{name: "email without domain", method: "POST", path: "/api/verification-codes", body: sendTo("alice"), status: 400, code: "guard.invalid_input", field: "email"},
		{name: "email with dotless domain", method: "POST", path: "/api/verification-codes", body: sendTo("alice@localhost"), status: 400, code: "guard.invalid_input", field: "email"},
		{name: "email with CRLF injection", method: "POST", path: "/api/verification-codes", body: sendTo("alice@example.com\r\nBcc: eve@example.com"), status: 400, code: "guard.invalid_input", field: "email"},
		{name: "email with LF", method: "POST", path: "/api/verification-codes", body: sendTo("alice@example.com\nx"), status: 400, code: "guard.invalid_input", field: "email"},
		{name: "display-name email", method: "POST", path: "/api/verification-codes", body: sendTo("Alice <alice@example.com>"), status: 400, code: "guard.invalid_input", field: "email"},
		{name: "two addresses", method: "POST", path: "/api/verification-codes", body: sendTo("a@example.com, b@example.com"), status: 400, code: "guard.invalid_input", field: "email"},
		{name: "verify without code", method: "POST", path: "/api/verification-codes/verify", body: `{"email":"a@example.com"}`, status: 400, code: "guard.invalid_input", field: "verificationCode"},
		{name: "verify with a huge code", method: "POST", path: "/api/verification-codes/verify", body: `{"email":"a@example.com","verificationCode":"` + strings.Repeat("1", 64) + `"}`, status: 400, code: "guard.invalid_input", field: "verificationCode"},
		{name: "unknown usage type", method: "PUT", path: "/api/email-templates", body: tpl("en", "Welcome"), status: 400, code: "guard.invalid_input", field: "templates[0].templateType"},
		{name: "bad language tag", method: "PUT", path: "/api/email-templates", body: tpl("not a tag!", "Generic"), status: 400, code: "guard.invalid_input", field: "templates[0].languageTag"},
		{name: "no templates", method: "PUT", path: "/api/email-templates", body: `{"templates":[]}`, status: 400, code: "guard.invalid_input", field: "templates"},
		{name: "template without subject", method: "PUT", path: "/api/email-templates", body: `{"templates":[{"languageTag":"en","templateType":"Generic","details":{"content":"x"}}]}`, status: 400, code: "email_template.invalid", field: "subject"},
		{name: "template list bad type filter", method: "GET", path: "/api/email-templates?templateType=Welcome", status: 400, code: "guard.invalid_input", field: "templateType"},
		{name: "smtp without host", method: "POST", path: "/api/connectors", body: conn("smtp", `{"port":25,"fromEmail":"a@example.com"}`), status: 400, code: "connector.invalid_config", field: "host"},
		{name: "smtp with a string port", method: "POST", path: "/api/connectors", body: conn("smtp", `{"host":"127.0.0.1","port":"twenty-five","fromEmail":"a@example.com"}`), status: 400, code: "connector.invalid_config", field: "port"},
		{name: "http-email over plain http", method: "POST", path: "/api/connectors", body: conn("http-email", `{"endpoint":"http://mail.example.com/hook"}`), status: 400, code: "connector.invalid_config", field: "endpoint"},
		{name: "http-email bad signing secret", method: "POST", path: "/api/connectors", body: conn("http-email", `{"endpoint":"https://mail.example.com/hook","signingSecret":"plain"}`), status: 400, code: "connector.invalid_config", field: "signingSecret"},
		{name: "http-email reserved header", method: "POST", path: "/api/connectors", body: conn("http-email", `{"endpoint":"https://mail.example.com/hook","headers":{"Authorization":"x"}}`), status: 400, code: "connector.invalid_config", field: "headers.Authorization"},
		{name: "unknown factory", method: "POST", path: "/api/connectors", body: conn("carrier-pigeon", `{}`), status: 422, code: "connector.not_found_with_connector_id"},
		{name: "no factory", method: "POST", path: "/api/connectors", body: `{"config":{}}`, status: 400, code: "guard.invalid_input", field: "connectorId"},
		{name: "unknown factory lookup", method: "GET", path: "/api/connector-factories/carrier-pigeon", status: 422, code: "connector.not_found_with_connector_id"},
		{name: "unknown connector", method: "GET", path: "/api/connectors/conn_nope", status: 404, code: "entity.not_found"},
		{name: "code policy out of range", method: "PATCH", path: "/api/sign-in-exp", body: `{"verificationCodePolicy":{"expirationDuration":5}}`, status: 400, code: "guard.invalid_input", field: "verificationCodePolicy.expirationDuration"},
		{name: "branding with a link", method: "PATCH", path: "/api/sign-in-exp", body: `{"emailBranding":{"senderName":"Visit https://evil.example"}}`, status: 400, code: "guard.invalid_input", field: "emailBranding.senderName"},
		{name: "bad fallback language", method: "PATCH", path: "/api/sign-in-exp", body: `{"languageInfo":{"fallbackLanguage":"??"}}`, status: 400, code: "guard.invalid_input", field: "languageInfo.fallbackLanguage"},
		{name: "message status filter", method: "GET", path: "/api/messages?status=lost", status: 400, code: "guard.invalid_input", field: "status"},
		{name: "message limit", method: "GET", path: "/api/messages?limit=0", status: 400, code: "guard.invalid_input", field: "limit"},
		{name: "unknown message", method: "GET", path: "/api/messages/msg_nope", status: 404, code: "entity.not_found"},
		{name: "unknown route", method: "GET", path: "/api/nothing-here", status: 404, code: "request.not_found"},
		{name: "unknown route without key", method: "GET", path: "/nothing", header: http.Header{}, status: 404, code: "request.not_found"},
		{name: "wrong method", method: "PUT", path: "/api/verification-codes", body: `{}`, status: 404, code: "request.not_found"},
	}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		before := connectors(t, a)
		var expBefore json.RawMessage
		a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &expBefore)
		for _, tc := range cases {
			h := tc.header
			if h == nil {
				h = auth
			}
			var body any
			if tc.body != "" || tc.method == "POST" {
				body = tc.body
			}
			resp, b := a.Request(tc.method, tc.path, h, body)
			var e apptest.Error
			if err := json.Unmarshal(b, &e); err != nil {
				t.Errorf("%s: status %d, body is not JSON: %.200s", tc.name, resp.StatusCode, b)
				continue
			}
			if resp.StatusCode != tc.status || e.Code != tc.code {
				t.Errorf("%s: got %d %s (%s), want %d %s", tc.name, resp.StatusCode, e.Code, e.Message, tc.status, tc.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type %q", tc.name, ct)
			}
			if e.Message == "" {
				t.Errorf("%s: empty message", tc.name)
			}
			if tc.field != "" {
				var d struct {
					Field string `json:"field"`
				}
				if err := json.Unmarshal(e.Data, &d); err != nil || d.Field != tc.field {
					t.Errorf("%s: data %s, want field %q", tc.name, e.Data, tc.field)
				}
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
			}
		}
		// Nothing was written.
		after := connectors(t, a)
		if len(after) != len(before) || after[0].ID != before[0].ID || after[0].ConnectorID != "dev-inbox" {
			t.Errorf("connectors changed: %+v -> %+v", before, after)
		}
		if ms := messages(t, a, ""); len(ms) != 0 {
			t.Errorf("message log has %d rows after refused requests", len(ms))
		}
		if msgs := inbox(t, a, ""); len(msgs) != 0 {
			t.Errorf("dev inbox has %d messages after refused requests", len(msgs))
		}
		var list []emailTemplate
		a.JSON("GET", "/api/email-templates", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("templates saved by refused requests: %+v", list)
		}
		var expAfter json.RawMessage
		a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &expAfter)
		if string(expAfter) != string(expBefore) {
			t.Errorf("sign-in settings changed: %s -> %s", expBefore, expAfter)
		}
		// The server still works.
		sendCode(t, a, "after@example.com")
		if len(inbox(t, a, "after@example.com")) != 1 {
			t.Error("no message after the refused requests")
		}
	})
}
