package console

import (
	"bytes"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

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
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
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

// of is factory id's rendered guide.
func (r *readmes) of(id string) template.HTML { return r.byFactory[id] }
