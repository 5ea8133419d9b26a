package emailtemplate

import (
	"context"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

// TestTheEmailChangedNoticeHasNeitherCodeNorLink: the notice renders the
// built-in layout with its own words in each language, no code box and
// no link, even where the tenant saved a Generic template (written for a
// code) and the connector has one.
func TestTheEmailChangedNoticeHasNeitherCodeNorLink(t *testing.T) {
	t.Parallel()
	store := &memStore{templates: map[string]Details{"t/en/Generic": stored("saved"), "t/fr/Generic": stored("saved")}}
	for lang, subject := range map[string]string{"en": "Your email address was changed", "fr": "Votre adresse e-mail a été changée"} {
		r, err := Render(context.Background(), store, Request{Tenant: "t", Usage: connector.UsageGeneric, Locale: lang, Notice: NoticeEmailChanged,
			Payload:            map[string]any{"application": map[string]any{"name": "Acme"}},
			ConnectorTemplates: []connector.Template{{UsageType: connector.UsageGeneric, Subject: "connector {{code}}", Content: "{{code}}"}}})
		if err != nil {
			t.Fatal(err)
		}
		codeLabel, _ := builtins.languages[lang].get(connector.UsageGeneric, "", "codeLabel")
		if r.Subject != subject || r.Source != SourceBuiltin {
			t.Errorf("%s: subject %q from %s, want %q, built in", lang, r.Subject, r.Source, subject)
		}
		for part, body := range map[string]string{"HTML": r.HTML, "text": r.Text} {
			if strings.Contains(body, codeLabel[0]) || strings.Contains(body, "{{") || strings.Contains(body, "href=\"\"") {
				t.Errorf("%s %s part has a code, a link or a placeholder left:\n%s", lang, part, body)
			}
			if !strings.Contains(body, "Acme") {
				t.Errorf("%s %s part does not name the application:\n%s", lang, part, body)
			}
		}
	}
}
