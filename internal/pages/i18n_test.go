package pages

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"

	"golang.org/x/text/language"
)

// usedKeys finds every message key the package uses: the first argument
// of each {{t "..."}} in the templates, each msg("...") in the Go source,
// and the sentences errorTexts maps error codes to.
func usedKeys(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{} // key -> where
	names, err := filepath.Glob("templates/*.html")
	if err != nil || len(names) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, name := range names {
		src, err := templateFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		trees := map[string]*parse.Tree{}
		tree := parse.New(name)
		tree.Mode = parse.SkipFuncCheck
		if _, err := tree.Parse(string(src), "{{", "}}", trees); err != nil {
			t.Fatal(err)
		}
		for _, tree := range trees {
			walkTemplate(tree.Root, func(key string) { used[key] = append(used[key], name) })
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "msg" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: msg(...) of something other than a string literal: keys must be written out so they can be found", fset.Position(call.Pos()))
				return true
			}
			key, _ := strconv.Unquote(lit.Value)
			used[key] = append(used[key], fset.Position(call.Pos()).String())
			return true
		})
	}
	for code, et := range errorTexts {
		used[string(et.key)] = append(used[string(et.key)], "errorTexts["+code+"]")
	}
	return used
}

// walkTemplate calls found with the key of every t call under n.
func walkTemplate(n parse.Node, found func(string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkTemplate(c, found)
		}
	case *parse.ActionNode:
		walkTemplate(n.Pipe, found)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkTemplate(c, found)
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 {
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
				if s, ok := n.Args[1].(*parse.StringNode); ok {
					found(s.Text)
				}
			}
		}
		for _, a := range n.Args {
			walkTemplate(a, found)
		}
	case *parse.IfNode:
		walkTemplate(n.Pipe, found)
		walkTemplate(n.List, found)
		walkTemplate(n.ElseList, found)
	case *parse.RangeNode:
		walkTemplate(n.Pipe, found)
		walkTemplate(n.List, found)
		walkTemplate(n.ElseList, found)
	case *parse.WithNode:
		walkTemplate(n.Pipe, found)
		walkTemplate(n.List, found)
		walkTemplate(n.ElseList, found)
	case *parse.TemplateNode:
		walkTemplate(n.Pipe, found)
	}
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
	if !slices.Contains(cats.langs, "en") || !slices.Contains(cats.langs, "fr") {
		t.Fatalf("catalogues %v, want at least en and fr", cats.langs)
	}
	used := usedKeys(t)
	if len(used) < 20 {
		t.Fatalf("found only %d keys in use; the search no longer finds them", len(used))
	}
	for _, lang := range cats.langs {
		c := cats.byLang[lang]
		for _, key := range slices.Sorted(maps.Keys(used)) {
			s, ok := c.messages[key]
			if !ok {
				t.Errorf("%s.json lacks %q (used at %s)", lang, key, strings.Join(used[key], ", "))
				continue
			}
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s.json: %q is empty", lang, key)
			}
			if want, got := placeholders(cats.byLang[defaultLanguage].messages[key]), placeholders(s); !slices.Equal(want, got) {
				t.Errorf("%s.json: %q has placeholders %v, English has %v", lang, key, got, want)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(c.messages)) {
			if _, ok := used[key]; !ok {
				t.Errorf("%s.json has %q, which no page uses", lang, key)
			}
		}
	}
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
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
