package console

import (
	"testing"

	"github.com/authmail/authmail/internal/web/webtest"
)

// TestEveryLanguageHasEverySentenceTheConsoleUses: the keys the templates
// and the code use, the English catalogue's and the French one's are one
// and the same set, each sentence is there and has the English one's
// placeholders.
func TestEveryLanguageHasEverySentenceTheConsoleUses(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	used := webtest.Merge(webtest.TemplateKeys(t, templateFiles, "templates/*.html", "t"), webtest.CallKeys(t, ".", "msg"))
	// The reasons a form field gives are catalogue keys too.
	used.Add(reasonNumber, "reasonNumber")
	used.Add(reasonJSON, "reasonJSON")
	used.Add("language.name", "the footer's language choice")
	webtest.CheckCatalogues(t, cats.Catalogues, used, 50, "en", "fr")
}
