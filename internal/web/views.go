package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Views are a surface's page templates parsed once per language: each
// page file of a directory, together with the shared files (the layout
// first, which the page fills in, then partials), with that language's
// template functions.
type Views struct {
	byLang map[string]map[string]*template.Template
}

// ParseViews parses every *.html page of dir in fsys except the shared
// ones, for each language, with the functions funcs gives for it. A page
// is named by its file name without .html.
func ParseViews(fsys fs.FS, dir string, shared []string, langs []string, funcs func(lang string) template.FuncMap) (*Views, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var pages []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".html") && !slices.Contains(shared, e.Name()) {
			pages = append(pages, strings.TrimSuffix(e.Name(), ".html"))
		}
	}
	if len(shared) == 0 {
		return nil, fmt.Errorf("views of %s: no layout", dir)
	}
	v := &Views{byLang: map[string]map[string]*template.Template{}}
	for _, lang := range langs {
		v.byLang[lang] = map[string]*template.Template{}
		for _, name := range pages {
			files := make([]string, 0, len(shared)+1)
			for _, s := range shared {
				files = append(files, path.Join(dir, s))
			}
			t, err := template.New(shared[0]).Funcs(funcs(lang)).ParseFS(fsys, append(files, path.Join(dir, name+".html"))...)
			if err != nil {
				return nil, fmt.Errorf("page %s: %w", name, err)
			}
			v.byLang[lang][name] = t
		}
	}
	return v, nil
}

// Page returns page name in lang, or nil when there is none.
func (v *Views) Page(lang, name string) *template.Template { return v.byLang[lang][name] }
