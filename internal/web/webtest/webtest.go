// Package webtest helps the tests of the server-rendered surfaces hold
// their message catalogues to what they use: it finds the keys templates
// and code name, and checks that every catalogue has exactly those.
package webtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/authmail/authmail/internal/web"
)

// Keys maps each message key in use to where it is used.
type Keys map[string][]string

// Add records key as used at where.
func (k Keys) Add(key, where string) { k[key] = append(k[key], where) }

// TemplateKeys finds the first argument of every call of the template
// function fn ({{t "area.name"}}) in the files of fsys that match pattern.
func TemplateKeys(t testing.TB, fsys fs.FS, pattern, fn string) Keys {
	t.Helper()
	names, err := fs.Glob(fsys, pattern)
	if err != nil || len(names) == 0 {
		t.Fatalf("no templates match %s: %v", pattern, err)
	}
	used := Keys{}
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
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
			walk(tree.Root, fn, func(key string) { used.Add(key, name) })
		}
	}
	return used
}

// walk calls found with the key of every fn call under n.
func walk(n parse.Node, fn string, found func(string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, fn, found)
		}
	case *parse.ActionNode:
		walk(n.Pipe, fn, found)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walk(c, fn, found)
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 {
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == fn {
				if s, ok := n.Args[1].(*parse.StringNode); ok {
					found(s.Text)
				}
			}
		}
		for _, a := range n.Args {
			walk(a, fn, found)
		}
	case *parse.IfNode:
		walk(n.Pipe, fn, found)
		walk(n.List, fn, found)
		walk(n.ElseList, fn, found)
	case *parse.RangeNode:
		walk(n.Pipe, fn, found)
		walk(n.List, fn, found)
		walk(n.ElseList, fn, found)
	case *parse.WithNode:
		walk(n.Pipe, fn, found)
		walk(n.List, fn, found)
		walk(n.ElseList, fn, found)
	case *parse.TemplateNode:
		walk(n.Pipe, fn, found)
	}
}

// CallKeys finds the argument of every call fn("area.name") in the
// non-test Go files of dir. A call of fn with anything but one string
// literal fails t: keys must be written out so they can be found.
func CallKeys(t testing.TB, dir, fn string) Keys {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	used := Keys{}
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
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != fn {
				return true
			}
			var lit *ast.BasicLit
			if len(call.Args) == 1 {
				lit, _ = call.Args[0].(*ast.BasicLit)
			}
			if lit == nil || lit.Kind != token.STRING {
				t.Errorf("%s: %s(...) of something other than a string literal: keys must be written out so they can be found", fset.Position(call.Pos()), fn)
				return true
			}
			key, _ := strconv.Unquote(lit.Value)
			used.Add(key, fset.Position(call.Pos()).String())
			return true
		})
	}
	return used
}

// Merge returns the union of the key sets.
func Merge(sets ...Keys) Keys {
	out := Keys{}
	for _, s := range sets {
		for k, where := range s {
			out[k] = append(out[k], where...)
		}
	}
	return out
}

// CheckCatalogues fails t unless every catalogue of cs has a sentence for
// every key in used and no other, no sentence is empty, and each has the
// placeholders of the default language's. It also fails when langs are
// not all there, or when fewer than min keys are in use (the search no
// longer finds them).
func CheckCatalogues(t testing.TB, cs *web.Catalogues, used Keys, min int, langs ...string) {
	t.Helper()
	for _, l := range langs {
		if !slices.Contains(cs.Langs, l) {
			t.Errorf("catalogues %v lack %s", cs.Langs, l)
		}
	}
	if len(used) < min {
		t.Fatalf("found only %d keys in use; the search no longer finds them", len(used))
	}
	def := cs.ByLang[web.DefaultLanguage]
	for _, lang := range cs.Langs {
		c := cs.ByLang[lang]
		for _, key := range slices.Sorted(maps.Keys(used)) {
			s, ok := c.Messages[key]
			if !ok {
				t.Errorf("%s.json lacks %q (used at %s)", lang, key, strings.Join(used[key], ", "))
				continue
			}
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s.json: %q is empty", lang, key)
			}
			if want, got := web.Placeholders(def.Messages[key]), web.Placeholders(s); !slices.Equal(want, got) {
				t.Errorf("%s.json: %q has placeholders %v, %s has %v", lang, key, got, web.DefaultLanguage, want)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(c.Messages)) {
			if _, ok := used[key]; !ok {
				t.Errorf("%s.json has %q, which nothing uses", lang, key)
			}
		}
	}
}
