package emailtemplate

import (
	"context"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/connector"
)

// languageStore is a memStore that lists its languages.
type languageStore struct{ *memStore }

func (s languageStore) TemplateLanguages(_ context.Context, tenant string, usages []connector.UsageType) ([]string, error) {
	var out []string
	for k := range s.templates {
		parts := strings.Split(k, "/")
		if parts[0] == tenant && slices.Contains(usages, connector.UsageType(parts[2])) && !slices.Contains(out, parts[1]) {
			out = append(out, parts[1])
		}
	}
	return out, nil
}

func tags(ts []language.Tag) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, " ")
}

// TestParseAcceptLanguage: best first by weight, in header order between
// equals; entries that do not parse, "*" and q=0 are dropped, not the
// whole header; at most ten languages.
func TestParseAcceptLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ header, want string }{
		{"", ""},
		{"fr-CA,fr;q=0.9,en;q=0.8", "fr-CA fr en"},
		{"en;q=0.2, de-CH, fr;q=0.5", "de-CH fr en"},
		{"zz-ZZ-not a tag, fr", "fr"},
		{"*, es", "es"},
		{"ja;q=0, it", "it"},
		{"fr, fr", "fr"},
		{"a1,en,fr,de,es,it,pt,nl,sv,da,fi,nb", "en fr de es it pt nl sv da fi"},
		{strings.Repeat("en,", 400), ""},
	} {
		if got := tags(ParseAcceptLanguage(tc.header)); got != tc.want {
			t.Errorf("ParseAcceptLanguage(%.40q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

// TestRenderFillsTheLocalePlaceholders: {{locale}} is the payload's, else
// the requested locale, else the match of the preferred languages, else
// the template's language; {{uiLocales}} lists what was asked for.
func TestRenderFillsTheLocalePlaceholders(t *testing.T) {
	t.Parallel()
	st := languageStore{&memStore{templates: map[string]Details{
		"t/de/Generic": {Subject: "de {{locale}}|{{uiLocales}}", Content: "x", ContentType: ContentTypePlain},
	}}}
	pref := func(h string) []language.Tag { return ParseAcceptLanguage(h) }
	for _, tc := range []struct {
		name          string
		store         Store
		locale        string
		preferred     []language.Tag
		payload       map[string]any
		subject       string
		lang          string
		wantLocale    string
		wantUILocales string
	}{
		{"nothing asked", st, "", nil, nil, "", "en", "en", "en"},
		{"requested", st, "fr-CA", nil, nil, "", "fr", "fr-CA", "fr-CA"},
		{"requested and preferred", st, "fr-CA", pref("de, it"), nil, "", "fr", "fr-CA", "fr-CA de it"},
		{"preferred matches a stored language", st, "", pref("de-AT, en;q=0.1"), nil, "de de|de-AT en", "de", "de", "de-AT en"},
		{"preferred matches a built-in one", st, "", pref("ja, fr-CH"), nil, "", "fr", "fr", "ja fr-CH"},
		{"a store that lists nothing: built-ins only", &memStore{templates: st.templates}, "", pref("de-AT, fr;q=0.5"), nil, "", "fr", "fr", "de-AT fr"},
		{"nothing close: the fallback", st, "", pref("ja"), nil, "", "en", "en", "ja"},
		{"the payload's own values win", st, "", pref("de"), map[string]any{"locale": "x-mine", "uiLocales": "mine"}, "de x-mine|mine", "de", "x-mine", "mine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := map[string]any{"code": "123456"}
			for k, v := range tc.payload {
				payload[k] = v
			}
			r, err := Render(context.Background(), tc.store, Request{Tenant: "t", Usage: connector.UsageGeneric, Locale: tc.locale,
				Preferred: tc.preferred, FallbackLanguage: "en", Payload: payload})
			if err != nil {
				t.Fatal(err)
			}
			if r.Language != tc.lang || r.Locale != tc.wantLocale || r.UILocales != tc.wantUILocales {
				t.Errorf("rendered in %q with locale %q and uiLocales %q, want %q, %q, %q", r.Language, r.Locale, r.UILocales, tc.lang, tc.wantLocale, tc.wantUILocales)
			}
			if tc.subject != "" && r.Subject != tc.subject {
				t.Errorf("subject %q, want %q", r.Subject, tc.subject)
			}
			if strings.Contains(r.Subject+r.Text+r.HTML, "{{") {
				t.Errorf("a placeholder stayed literal: %q", r.Subject+r.Text)
			}
		})
	}
}
