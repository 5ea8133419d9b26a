package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/emailtemplate"
)

// sendCodeAs sends a code with the Accept-Language header (none when
// empty) and the body given, and wants 204.
func sendCodeAs(t *testing.T, a *apptest.App, acceptLanguage string, body map[string]string) {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer " + a.AdminKey}}
	if acceptLanguage != "" {
		h.Set("Accept-Language", acceptLanguage)
	}
	if resp, b := a.Request("POST", "/api/verification-codes", h, body); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("send with Accept-Language %q and %v: %d %s", acceptLanguage, body, resp.StatusCode, b)
	}
}

// builtinSubject is the subject of the built-in Generic template in the
// language for the payload a message carried.
func builtinSubject(t *testing.T, lang string, payload map[string]any) string {
	t.Helper()
	r, err := emailtemplate.Render(context.Background(), nil, emailtemplate.Request{Usage: connector.UsageGeneric, Locale: lang, Payload: payload})
	if err != nil || r.Language != lang {
		t.Fatalf("rendering the built-in %s template: %+v, %v", lang, r, err)
	}
	return r.Subject
}

// TestSendCodeLocale: POST /api/verification-codes takes the message's
// language from its locale, else from Accept-Language (the closest of
// the languages there are templates in), else the fallback language.
func TestSendCodeLocale(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		if en, fr := builtinSubject(t, "en", map[string]any{"code": "1"}), builtinSubject(t, "fr", map[string]any{"code": "1"}); en == fr {
			t.Fatalf("the built-in English and French subjects are both %q; this test cannot tell them apart", en)
		}
		for _, tc := range []struct {
			name, to, header, locale, want string
		}{
			{"French Accept-Language", "amelie@example.com", "fr-CA, en;q=0.5", "", "fr"},
			{"unserved first choice, French second", "bruno@example.com", "ja, fr;q=0.8, en;q=0.2", "", "fr"},
			{"explicit locale beats the header", "chloe@example.com", "fr", "en", "en"},
			{"explicit locale without a header", "denis@example.com", "", "fr-BE", "fr"},
			{"no language asked for: the fallback", "emile@example.com", "", "", "en"},
			{"nothing served in the header: the fallback", "fanny@example.com", "ja, ko", "", "en"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				body := map[string]string{"email": tc.to}
				if tc.locale != "" {
					body["locale"] = tc.locale
				}
				sendCodeAs(t, a, tc.header, body)
				msgs := inbox(t, a, tc.to)
				if len(msgs) != 1 {
					t.Fatalf("%d messages to %s, want 1", len(msgs), tc.to)
				}
				if want := builtinSubject(t, tc.want, msgs[0].Payload); msgs[0].Subject != want {
					t.Errorf("subject %q, want the built-in %s one %q", msgs[0].Subject, tc.want, want)
				}
				if m := onlyMessage(t, a, tc.to); m.Locale != tc.want {
					t.Errorf("message log locale %q, want %q", m.Locale, tc.want)
				}
			})
		}

		e := a.WantError("POST", "/api/verification-codes", map[string]string{"email": "gil@example.com", "locale": "not a tag!"},
			http.StatusBadRequest, "guard.invalid_input")
		var data struct{ Field string }
		if err := json.Unmarshal(e.Data, &data); err != nil || data.Field != "locale" {
			t.Errorf("a bad locale: data %s, want the field locale", e.Data)
		}
		if n := len(messages(t, a, "gil@example.com")); n != 0 {
			t.Errorf("a refused send logged %d messages", n)
		}
	})
}

// TestLocalePlaceholdersAreFilled: {{locale}} and {{uiLocales}} render as
// the language picked and the languages asked for, in a stored template
// and in the payload a connector gets; the header's match may be a stored
// template's language that no built-in has.
func TestLocalePlaceholdersAreFilled(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		for _, lang := range []string{"en", "de"} {
			a.JSON("PUT", "/api/email-templates", map[string]any{"templates": []any{map[string]any{"languageTag": lang, "templateType": "Generic",
				"details": map[string]any{"subject": lang + " [{{locale}}] [{{uiLocales}}]", "contentType": "text/plain",
					"content": "{{code}} locale={{locale}} uiLocales={{uiLocales}}"}}}}, http.StatusOK, nil)
		}
		for _, tc := range []struct {
			name, to, header, locale, subject string
		}{
			{"header matched to a stored language", "hanna@example.com", "de-CH, fr;q=0.7", "", "de [de] [de-CH fr]"},
			{"explicit locale and a header", "ines@example.com", "de", "en-GB", "en [en-GB] [en-GB de]"},
			{"nothing asked for", "jonas@example.com", "", "", "en [en] [en]"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				body := map[string]string{"email": tc.to}
				if tc.locale != "" {
					body["locale"] = tc.locale
				}
				sendCodeAs(t, a, tc.header, body)
				msgs := inbox(t, a, tc.to)
				if len(msgs) != 1 {
					t.Fatalf("%d messages to %s, want 1", len(msgs), tc.to)
				}
				m := msgs[0]
				if m.Subject != tc.subject {
					t.Errorf("subject %q, want %q", m.Subject, tc.subject)
				}
				p := m.Payload
				if want := "locale=" + p["locale"].(string) + " uiLocales=" + p["uiLocales"].(string); !strings.Contains(m.Text, want) {
					t.Errorf("text %q does not show the payload's %q", m.Text, want)
				}
			})
		}
	})
}
