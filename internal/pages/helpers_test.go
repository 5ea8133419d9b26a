package pages_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/authmail/authmail/internal/app/apptest"
)

// visitor is a browser without JavaScript: it keeps cookies, sends forms
// as a browser does and does not follow redirects, so a test sees each
// step of Post/Redirect/Get.
type visitor struct {
	t      *testing.T
	a      *apptest.App
	client *http.Client
	lang   string // Accept-Language
}

func newVisitor(t *testing.T, a *apptest.App) *visitor {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *a.Client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &visitor{t: t, a: a, client: &c}
}

// setCookie gives the visitor a cookie for the app's origin.
func (v *visitor) setCookie(name, value string) {
	u, _ := url.Parse(v.a.BaseURL)
	v.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// response is a page as the visitor got it.
type response struct {
	*http.Response
	body string
	doc  *html.Node
}

func (v *visitor) do(method, path string, form url.Values) response {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, v.a.BaseURL+path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if v.lang != "" {
		req.Header.Set("Accept-Language", v.lang)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	out := response{Response: resp, body: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if out.doc, err = html.Parse(strings.NewReader(out.body)); err != nil {
			v.t.Fatalf("%s %s: the page is not HTML: %v", method, path, err)
		}
	}
	return out
}

func (v *visitor) get(path string) response { v.t.Helper(); return v.do("GET", path, nil) }

func (v *visitor) post(path string, form url.Values) response {
	v.t.Helper()
	return v.do("POST", path, form)
}

// find returns the first element under n for which match holds, or nil.
func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, match); f != nil {
			return f
		}
	}
	return nil
}

// findAll returns every element under n for which match holds.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return out
}

func attr(n *html.Node, name string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func byID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id }
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

// text is the text under n, its spaces collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// alert is the text of the page's role="alert" elements.
func (r response) alert() string {
	var parts []string
	for _, n := range findAll(r.doc, func(n *html.Node) bool { v, _ := attr(n, "role"); return v == "alert" }) {
		parts = append(parts, text(n))
	}
	return strings.Join(parts, " ")
}

// lang is the page's <html lang>.
func (r response) lang() string {
	v, _ := attr(find(r.doc, byTag("html")), "lang")
	return v
}

// csrf is the CSRF token of the page's first form.
func (r response) csrf() string {
	v, _ := attr(find(r.doc, func(n *html.Node) bool { name, _ := attr(n, "name"); return n.Data == "input" && name == "csrf" }), "value")
	return v
}
