package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/internal/emailtemplate"
)

// DefaultLanguage is the language of last resort: every surface has a
// catalogue in it.
const DefaultLanguage = "en"

// Catalogue is one language's sentences by key. A sentence may hold
// placeholders such as {email}, which Text fills in.
type Catalogue struct {
	// Lang is the language tag, such as "fr".
	Lang string
	// Messages are the sentences by key.
	Messages map[string]string
}

// Catalogues are a surface's languages, DefaultLanguage first.
type Catalogues struct {
	// Langs are the languages, DefaultLanguage first, then by tag.
	Langs []string
	// ByLang holds each language's catalogue.
	ByLang  map[string]*Catalogue
	matcher language.Matcher
}

// LoadCatalogues reads every <lang>.json in directory dir of fsys: a JSON
// object of sentences by key. There must be one for DefaultLanguage.
func LoadCatalogues(fsys fs.FS, dir string) (*Catalogues, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	cs := &Catalogues{ByLang: map[string]*Catalogue{}}
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		raw, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		c := &Catalogue{Lang: lang}
		if err := json.Unmarshal(raw, &c.Messages); err != nil {
			return nil, fmt.Errorf("message catalogue %s: %w", e.Name(), err)
		}
		if _, err := language.Parse(lang); err != nil {
			return nil, fmt.Errorf("message catalogue %s: %q is not a language tag", e.Name(), lang)
		}
		cs.ByLang[lang] = c
		cs.Langs = append(cs.Langs, lang)
	}
	if cs.ByLang[DefaultLanguage] == nil {
		return nil, fmt.Errorf("no message catalogue for %s", DefaultLanguage)
	}
	slices.SortFunc(cs.Langs, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == DefaultLanguage:
			return -1
		case b == DefaultLanguage:
			return 1
		}
		return strings.Compare(a, b)
	})
	tags := make([]language.Tag, len(cs.Langs))
	for i, l := range cs.Langs {
		tags[i] = language.MustParse(l)
	}
	cs.matcher = language.NewMatcher(tags)
	return cs, nil
}

// Match returns the language closest to tag, or "" when none is close
// enough: "fr" for "fr-CA", "" for "de".
func (cs *Catalogues) Match(tag language.Tag) string {
	_, i, conf := cs.matcher.Match(tag)
	if conf < language.High {
		return ""
	}
	return cs.Langs[i]
}

// MatchString is Match for a tag given as text.
func (cs *Catalogues) MatchString(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	return cs.Match(t)
}

// Choose picks the language, as Logto's hosted pages do: the first of
// explicit (the interaction's ui_locales, or a language the person chose)
// that a catalogue serves, then, when autoDetect allows, the first of the
// Accept-Language header's, then fallback, then DefaultLanguage.
func (cs *Catalogues) Choose(explicit []string, acceptLanguage string, autoDetect bool, fallback string) string {
	for _, l := range explicit {
		if m := cs.MatchString(l); m != "" {
			return m
		}
	}
	if autoDetect {
		for _, t := range emailtemplate.ParseAcceptLanguage(acceptLanguage) {
			if m := cs.Match(t); m != "" {
				return m
			}
		}
	}
	if m := cs.MatchString(fallback); m != "" {
		return m
	}
	return DefaultLanguage
}

// placeholder is a {name} in a sentence.
var placeholder = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// Placeholders lists the names of the placeholders in sentence s, sorted,
// each once.
func Placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Text returns the sentence for key with its placeholders filled from
// args, given as name, value pairs. A key the catalogue lacks (the
// surfaces' tests keep that from happening) shows as the key.
func (c *Catalogue) Text(key string, args ...string) string {
	s, ok := c.Messages[key]
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
