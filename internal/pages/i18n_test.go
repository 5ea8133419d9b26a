package pages

import (
	"testing"

	"github.com/authmail/authmail/internal/web/webtest"
	"golang.org/x/text/language"
)

// usedKeys finds every message key the package uses: the first argument
// of each {{t "..."}} in the templates, each msg("...") in the Go source,
// and the sentences errorTexts maps error codes to.
func usedKeys(t *testing.T) webtest.Keys {
	t.Helper()
	used := webtest.Merge(webtest.TemplateKeys(t, templateFiles, "templates/*.html", "t"), webtest.CallKeys(t, ".", "msg"))
	for code, et := range errorTexts {
		used.Add(string(et.key), "errorTexts["+code+"]")
	}
	return used
}

// TestEveryLanguageHasEverySentenceThePagesUse: the keys the templates and
// the code use, the English catalogue's and every other catalogue's are
// one and the same set, no sentence is empty, and each translation has
// the placeholders of the English sentence.
func TestEveryLanguageHasEverySentenceThePagesUse(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	webtest.CheckCatalogues(t, cats.Catalogues, usedKeys(t), 20, "en", "fr")
}

// TestLanguageIsUILocalesThenBrowserThenFallback: the page language is
// the first ui_locales tag a catalogue serves, else the browser's first
// served language when autoDetect is on, else the fallback language, else
// English.
func TestLanguageIsUILocalesThenBrowserThenFallback(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		ui         []string
		accept     string
		autoDetect bool
		fallback   string
		want       string
	}{
		{"ui_locales first", []string{"fr-CA"}, "en-US,en", true, "en", "fr"},
		{"first served ui_locales tag", []string{"de", "fr"}, "en", true, "en", "fr"},
		{"browser when ui_locales has none served", []string{"de"}, "de-DE, fr;q=0.8", true, "en", "fr"},
		{"browser's best served language", nil, "es, fr;q=0.5, en;q=0.9", true, "fr", "en"},
		{"no browser without autoDetect", nil, "fr", false, "en", "en"},
		{"fallback without autoDetect", nil, "en", false, "fr", "fr"},
		{"fallback when the browser has none served", nil, "de, es", true, "fr", "fr"},
		{"English when the fallback is not served", nil, "", true, "de", "en"},
	} {
		if got := cats.choose(c.ui, c.accept, c.autoDetect, c.fallback); got != c.want {
			t.Errorf("%s: ui_locales %v, Accept-Language %q, autoDetect %v, fallback %q: got %s, want %s",
				c.name, c.ui, c.accept, c.autoDetect, c.fallback, got, c.want)
		}
	}
	if cats.match(language.MustParse("fr-CA")) != "fr" || cats.match(language.MustParse("de")) != "" {
		t.Error("fr-CA should match fr and de nothing")
	}
}
