package pages

import (
	"embed"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/internal/web"
)

// msg is the key of a sentence in the message catalogues. Go code writes
// every key it uses as msg("area.name"), and templates as {{t "area.name"}},
// so a test can find them all.
type msg string

//go:embed i18n/*.json
var catalogueFiles embed.FS

// catalogue is one language's sentences (web.Catalogue) as the pages use
// them: keys written as msg.
type catalogue struct {
	*web.Catalogue
	lang string
}

// catalogues are the page languages, the first the default.
type catalogues struct {
	*web.Catalogues
	byLang map[string]*catalogue
}

// loadCatalogues reads every i18n/<lang>.json; English comes first, being
// the language of last resort.
func loadCatalogues() (*catalogues, error) {
	cs, err := web.LoadCatalogues(catalogueFiles, "i18n")
	if err != nil {
		return nil, err
	}
	out := &catalogues{Catalogues: cs, byLang: map[string]*catalogue{}}
	for lang, c := range cs.ByLang {
		out.byLang[lang] = &catalogue{Catalogue: c, lang: lang}
	}
	return out, nil
}

// defaultLanguage is the language of last resort.
const defaultLanguage = web.DefaultLanguage

// match returns the page language closest to tag, or "" when none is
// close enough: "fr" for "fr-CA", "" for "de".
func (cs *catalogues) match(tag language.Tag) string { return cs.Match(tag) }

// choose picks the page language, as Logto's hosted pages do: the first of
// the interaction's ui_locales that a catalogue serves, then, when the
// tenant lets the browser's languages count (languageInfo.autoDetect), the
// first of the Accept-Language header's, then the tenant's fallback
// language, then English.
func (cs *catalogues) choose(uiLocales []string, acceptLanguage string, autoDetect bool, fallback string) string {
	return cs.Choose(uiLocales, acceptLanguage, autoDetect, fallback)
}

// text returns the sentence for key in the catalogue's language with its
// placeholders filled from args, given as name, value pairs. A key the
// catalogue lacks (a test keeps that from happening) shows as the key.
func (c *catalogue) text(key msg, args ...string) string { return c.Text(string(key), args...) }

// translate is text for a key a template names.
func (c *catalogue) translate(key string, args ...string) string { return c.Text(key, args...) }
