package emailtemplate

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// TextFromHTML derives a plain-text alternative from an HTML body: the
// head, styles, scripts and hidden elements (style display:none) are
// dropped; a link becomes "text (url)" unless its text is the URL;
// paragraphs, headings, list items, table rows, divs and <br> break lines;
// whitespace is collapsed and entities are decoded.
func TextFromHTML(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var (
		w         textWriter
		skip      atom.Atom // element being skipped, with its nesting depth
		skipDepth int
		links     []openLink
	)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip == 0 {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if skip != 0 {
				if tok.DataAtom == skip && tt == html.StartTagToken {
					skipDepth++
				}
				continue
			}
			if tt == html.StartTagToken && !isVoid(tok.DataAtom) && skipped(tok) {
				skip, skipDepth = tok.DataAtom, 1
				continue
			}
			switch {
			case tok.DataAtom == atom.Br:
				w.hardBreak()
			case tok.DataAtom == atom.Td || tok.DataAtom == atom.Th:
				w.text(" ")
			case tok.DataAtom == atom.A && tt == html.StartTagToken:
				links = append(links, openLink{href: attr(tok, "href"), start: w.b.Len()})
			}
			w.block(breakBefore(tok.DataAtom))
			if tok.DataAtom == atom.Li {
				w.text("- ")
			}
		case html.EndTagToken:
			tok := z.Token()
			if skip != 0 {
				if tok.DataAtom == skip {
					if skipDepth--; skipDepth == 0 {
						skip = 0
					}
				}
				continue
			}
			if tok.DataAtom == atom.A && len(links) > 0 {
				l := links[len(links)-1]
				links = links[:len(links)-1]
				writeLinkTarget(&w, l)
			}
			if tok.DataAtom == atom.Td || tok.DataAtom == atom.Th {
				w.text(" ")
			}
			w.block(breakAfter(tok.DataAtom))
		}
	}
}

// openLink is an <a> whose text is being written.
type openLink struct {
	href  string
	start int
}

// writeLinkTarget appends " (url)" after a link's text, or the URL alone
// when the link has no text; nothing when the text is the URL or the link
// goes nowhere useful.
func writeLinkTarget(w *textWriter, l openLink) {
	href := strings.TrimSpace(l.href)
	lower := strings.ToLower(href)
	if href == "" || strings.HasPrefix(href, "#") || strings.HasPrefix(lower, "javascript:") {
		return
	}
	text := strings.Join(strings.Fields(w.b.String()[l.start:]), " ")
	shown := strings.TrimPrefix(href, "mailto:")
	switch {
	case text == "":
		w.text(href)
	case text == href || text == shown:
	default:
		w.text(" (" + href + ")")
	}
}

func attr(t html.Token, name string) string {
	for _, a := range t.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// skipped reports whether an element and its content are left out.
func skipped(t html.Token) bool {
	switch t.DataAtom {
	case atom.Head, atom.Style, atom.Script, atom.Title, atom.Template, atom.Noscript:
		return true
	}
	style := strings.ToLower(strings.Join(strings.Fields(attr(t, "style")), ""))
	return strings.Contains(style, "display:none")
}

func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input,
		atom.Link, atom.Meta, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

// Breaks an element asks for.
const (
	noBreak   = 0
	lineBreak = 1 // start a new line
	paraBreak = 2 // leave a blank line
)

func breakBefore(a atom.Atom) int {
	switch a {
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Blockquote, atom.Pre:
		return paraBreak
	case atom.Li, atom.Tr, atom.Div, atom.Table, atom.Ul, atom.Ol, atom.Hr, atom.Section, atom.Article,
		atom.Header, atom.Footer, atom.Dl, atom.Dt, atom.Dd:
		return lineBreak
	}
	return noBreak
}

func breakAfter(a atom.Atom) int {
	if a == atom.Hr {
		return lineBreak
	}
	return breakBefore(a)
}

// textWriter accumulates text. Block breaks are held back until more text
// comes, so that nested blocks give one break, not several.
type textWriter struct {
	b       strings.Builder
	pending int
}

// block asks for at least a break of kind k before the next text.
func (w *textWriter) block(k int) { w.pending = max(w.pending, k) }

// hardBreak writes a line break now, as <br> does.
func (w *textWriter) hardBreak() {
	w.flush()
	w.b.WriteByte('\n')
}

func (w *textWriter) flush() {
	if w.b.Len() > 0 {
		switch w.pending {
		case lineBreak:
			w.b.WriteByte('\n')
		case paraBreak:
			w.b.WriteString("\n\n")
		}
	}
	w.pending = noBreak
}

// text writes s with every run of whitespace (source line breaks
// included) as one space and control characters dropped.
func (w *textWriter) text(s string) {
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r):
		default:
			w.flush()
			if space && w.b.Len() > 0 {
				w.b.WriteByte(' ')
			}
			space = false
			w.b.WriteRune(r)
		}
	}
	if space {
		w.b.WriteByte(' ')
	}
}

// String trims every line, collapses spaces, keeps at most one blank line
// in a row and trims the whole.
func (w *textWriter) String() string {
	var out []string
	blank := false
	for line := range strings.SplitSeq(w.b.String(), "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
