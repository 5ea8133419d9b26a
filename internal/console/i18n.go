package console

import (
	"embed"

	"github.com/authmail/authmail/internal/web"
)

// msg is the key of a sentence in the message catalogues. Go code writes
// every key it uses as msg("area.name"), and templates as {{t "area.name"}},
// so a test can find them all.
type msg string

//go:embed i18n/*.json
var catalogueFiles embed.FS

// catalogue is one language's sentences.
type catalogue struct{ *web.Catalogue }

// text returns the sentence for key with its placeholders filled from
// args, given as name, value pairs.
func (c *catalogue) text(key msg, args ...string) string { return c.Text(string(key), args...) }

// catalogues are the console's languages, English first.
type catalogues struct {
	*web.Catalogues
	byLang map[string]*catalogue
}

func loadCatalogues() (*catalogues, error) {
	cs, err := web.LoadCatalogues(catalogueFiles, "i18n")
	if err != nil {
		return nil, err
	}
	out := &catalogues{Catalogues: cs, byLang: map[string]*catalogue{}}
	for lang, c := range cs.ByLang {
		out.byLang[lang] = &catalogue{c}
	}
	return out, nil
}
