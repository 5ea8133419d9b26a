package console_test

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

// signedIn is a visitor signed in to the console with the admin key.
func signedIn(t *testing.T, a *apptest.App) *visitor {
	t.Helper()
	v := newVisitor(t, a)
	page := v.get("/console/sign-in")
	r := v.post("/console/sign-in", url.Values{"csrf": {page.csrf()}, "key": {a.AdminKey}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console" {
		t.Fatalf("signing in: %d to %q, want 303 to /console; %s", r.StatusCode, r.Header.Get("Location"), r.alert())
	}
	return v
}

// cookie is the visitor's cookie name for path, or "".
func (v *visitor) cookie(path, name string) string {
	u, _ := url.Parse(v.a.BaseURL + path)
	for _, c := range v.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
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

// submit sends the page's POST form whose action is action, with its fields
// as the page has them (inputs, selects, text areas; checked boxes only),
// changed by set (a value "" removes the field) and the button named
// action=button when button is not "".
func (v *visitor) submit(page response, action, button string, set map[string]string) response {
	v.t.Helper()
	values := v.formValues(page, action, set)
	if button != "" {
		values.Set("action", button)
	}
	return v.post(action, values)
}

// formValues are the fields the page's POST form whose action is action
// sends, changed by set (a value "" removes the field).
func (v *visitor) formValues(page response, action string, set map[string]string) url.Values {
	v.t.Helper()
	form := find(page.doc, func(n *html.Node) bool {
		a, _ := attr(n, "action")
		m, _ := attr(n, "method")
		return n.Data == "form" && a == action && strings.EqualFold(m, "post")
	})
	if form == nil {
		v.t.Fatalf("the page has no form posting to %s", action)
	}
	values := url.Values{}
	for _, n := range findAll(form, func(n *html.Node) bool { return n.Data == "input" || n.Data == "select" || n.Data == "textarea" }) {
		name, _ := attr(n, "name")
		if name == "" {
			continue
		}
		switch n.Data {
		case "input":
			typ, _ := attr(n, "type")
			if typ == "checkbox" {
				if _, on := attr(n, "checked"); on {
					val, _ := attr(n, "value")
					values.Add(name, val)
				}
				continue
			}
			val, _ := attr(n, "value")
			values.Add(name, val)
		case "textarea":
			values.Add(name, rawText(n))
		case "select":
			val := ""
			for i, o := range findAll(n, byTag("option")) {
				ov, _ := attr(o, "value")
				if _, sel := attr(o, "selected"); sel || i == 0 {
					val = ov
				}
			}
			values.Add(name, val)
		}
	}
	for k, val := range set {
		if val == "" {
			values.Del(k)
		} else {
			values.Set(k, val)
		}
	}
	return values
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

// rawText is the text under n as it is.
func rawText(n *html.Node) string {
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
	return b.String()
}

// text is the text under n, its spaces collapsed.
func text(n *html.Node) string { return strings.Join(strings.Fields(rawText(n)), " ") }

// alert is the text of the page's alerts (the page's error and the
// refused fields).
func (r response) alert() string {
	var parts []string
	for _, n := range findAll(r.doc, func(n *html.Node) bool {
		c, _ := attr(n, "class")
		role, _ := attr(n, "role")
		return role == "alert" || c == "field-error"
	}) {
		parts = append(parts, text(n))
	}
	return strings.Join(parts, " ")
}

// byIDText is the text of the element with that ID ("" when absent).
func (r response) byIDText(id string) string { return text(find(r.doc, byID(id))) }

// fieldError is the sentence next to the input whose ID is id.
func (r response) fieldError(id string) string { return r.byIDText(id + "-error") }

// value is the value attribute of the element with that ID.
func (r response) value(id string) string {
	v, _ := attr(find(r.doc, byID(id)), "value")
	return v
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

// h1 is the page's heading.
func (r response) h1() string { return text(find(r.doc, byTag("h1"))) }
