package console

import (
	"bytes"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/authmail/authmail/connector"
)

// readmes are the connectors' guides (their embedded READMEs) rendered
// from Markdown once, at start. goldmark renders no raw HTML and no
// javascript: links (its safe default), so a guide cannot script the
// console.
type readmes struct {
	byFactory map[string]template.HTML
}

func renderReadmes() (*readmes, error) {
	md := goldmark.New(goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(demote{}, 100))))
	out := &readmes{byFactory: map[string]template.HTML{}}
	for _, f := range connector.Factories() {
		var buf bytes.Buffer
		if err := md.Convert([]byte(f.ReadMe), &buf); err != nil {
			return nil, err
		}
		out.byFactory[f.ID] = template.HTML(buf.String()) // goldmark's safe output
	}
	return out, nil
}

// demote moves a guide's headings two levels down, below the page's h1
// and the guide's own h2 ("README: SMTP"): a page has one h1.
type demote struct{}

// Transform demotes every heading of doc.
func (demote) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			h.Level = min(h.Level+2, 6)
		}
		return ast.WalkContinue, nil
	})
}

// of is factory id's rendered guide.
func (r *readmes) of(id string) template.HTML { return r.byFactory[id] }
