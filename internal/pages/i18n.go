package pages

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/internal/emailtemplate"
)

// msg is the key of a sentence in the message catalogues. Go code writes
// every key it uses as msg("area.name"), and templates as {{t "area.name"}},
// so a test can find them all.
type msg string

//go:embed i18n/*.json
var catalogueFiles embed.FS

// catalogue is one language's sentences by key. A value may hold
// placeholders such as {email}, filled in by text.
type catalogue struct {
	lang     string
	messages map[string]string
}

// catalogues are the page languages, the first the default.
type catalogues struct {
	langs   []string // "en", "fr"
	byLang  map[string]*catalogue
	matcher language.Matcher
}

// loadCatalogues reads every i18n/<lang>.json; English comes first, being
// the language of last resort.
func loadCatalogues() (*catalogues, error) {
	names, err := catalogueFiles.ReadDir("i18n")
	if err != nil {
		return nil, err
	}
	cs := &catalogues{byLang: map[string]*catalogue{}}
	for _, n := range names {
		lang := strings.TrimSuffix(n.Name(), ".json")
		raw, err := catalogueFiles.ReadFile(path.Join("i18n", n.Name()))
		if err != nil {
			return nil, err
		}
		c := &catalogue{lang: lang}
		if err := json.Unmarshal(raw, &c.messages); err != nil {
			return nil, fmt.Errorf("message catalogue %s: %w", n.Name(), err)
		}
		cs.byLang[lang] = c
		cs.langs = append(cs.langs, lang)
	}
	if cs.byLang[defaultLanguage] == nil {
		return nil, fmt.Errorf("no message catalogue for %s", defaultLanguage)
	}
	slices.SortFunc(cs.langs, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == defaultLanguage:
			return -1
		case b == defaultLanguage:
			return 1
		}
		return strings.Compare(a, b)
	})
	tags := make([]language.Tag, len(cs.langs))
	for i, l := range cs.langs {
		tags[i] = language.MustParse(l)
	}
	cs.matcher = language.NewMatcher(tags)
	return cs, nil
}

// defaultLanguage is the language of last resort.
const defaultLanguage = "en"

// match returns the page language closest to tag, or "" when none is
// close enough: "fr" for "fr-CA", "" for "de".
func (cs *catalogues) match(tag language.Tag) string {
	_, i, conf := cs.matcher.Match(tag)
	if conf < language.High {
		return ""
	}
	return cs.langs[i]
}

// matchString is match for a tag given as text.
func (cs *catalogues) matchString(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	return cs.match(t)
}

// choose picks the page language, as Logto's hosted pages do: the first of
// the interaction's ui_locales that a catalogue serves, then, when the
// tenant lets the browser's languages count (languageInfo.autoDetect), the
// first of the Accept-Language header's, then the tenant's fallback
// language, then English.
func (cs *catalogues) choose(uiLocales []string, acceptLanguage string, autoDetect bool, fallback string) string {
	for _, l := range uiLocales {
		if m := cs.matchString(l); m != "" {
			return m
		}
	}
	if autoDetect {
		for _, t := range emailtemplate.ParseAcceptLanguage(acceptLanguage) {
			if m := cs.match(t); m != "" {
				return m
			}
		}
	}
	if m := cs.matchString(fallback); m != "" {
		return m
	}
	return defaultLanguage
}

// placeholder is a {name} in a sentence.
var placeholder = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// text returns the sentence for key in the catalogue's language with its
// placeholders filled from args, given as name, value pairs. A key the
// catalogue lacks (a test keeps that from happening) shows as the key.
func (c *catalogue) text(key msg, args ...string) string { return c.translate(string(key), args...) }

// translate is text for a key a template names.
func (c *catalogue) translate(key string, args ...string) string {
	s, ok := c.messages[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == name {
				return args[i+1]
			}
		}
		return m
	})
}
