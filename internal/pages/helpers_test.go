package pages_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/testwait"
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

// completer stands in for the OIDC provider: it records the logins the
// sign-ins complete and sends the browser to an app's callback.
type completer struct {
	// to is the callback the browser goes to; "" is callback.
	to     string
	mu     sync.Mutex
	logins map[string]experience.Login // by authorization request
}

// callback is where completer sends the browser.
const callback = "https://app.example.test/callback"

func (c *completer) Complete(_ context.Context, _, authRequestID string, login experience.Login) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logins == nil {
		c.logins = map[string]experience.Login{}
	}
	c.logins[authRequestID] = login
	to := c.to
	if to == "" {
		to = callback
	}
	return to + "?request=" + url.QueryEscape(authRequestID), nil
}

func (c *completer) login(id string) (experience.Login, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.logins[id]
	return l, ok
}

// newApp starts an app whose sign-ins complete through a completer, with
// sign-up and sign-in by email code, sign-in by password and password
// reset by email turned on.
func newApp(t *testing.T, dbURL string) (*apptest.App, *completer) {
	t.Helper()
	c := &completer{}
	a := apptest.New(t, dbURL, apptest.WithCompleter(c))
	a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
		"signUp":                map[string]any{"identifiers": []string{"email"}, "verify": true, "password": false},
		"signIn":                map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": true, "password": true, "isPasswordPrimary": false}}},
		"forgotPasswordMethods": []string{"EmailVerificationCode"},
	}, http.StatusOK, nil)
	return a, c
}

var requestIDs atomic.Int64

// start begins a sign-in for the visitor as /oidc/auth does, and returns
// the authorization request's ID.
func (v *visitor) start(req experience.AuthRequest) string {
	v.t.Helper()
	if req.ID == "" {
		req.ID = fmt.Sprintf("authreq-%d", requestIDs.Add(1))
	}
	if req.ClientID == "" {
		req.ClientID = "app-1"
	}
	res, err := v.a.App.Experience.Start(context.Background(), tenant.Default, req, "")
	if err != nil {
		v.t.Fatalf("starting a sign-in: %v", err)
	}
	v.setCookie(experience.InteractionCookie, res.InteractionCookie)
	return req.ID
}

// form is a page's form: its method, action and fields.
type form struct {
	method, action string
	values         url.Values
}

// form returns the page form whose action is action, failing the test
// unless it is a POST form with the CSRF token.
func (r response) form(t *testing.T, action string) form {
	t.Helper()
	n := find(r.doc, func(n *html.Node) bool { a, _ := attr(n, "action"); return n.Data == "form" && a == action })
	if n == nil {
		t.Fatalf("the page has no form to %s:\n%s", action, r.body)
	}
	f := form{action: action, values: url.Values{}}
	f.method, _ = attr(n, "method")
	if f.method != "post" {
		t.Fatalf("the form to %s has method %q, want post", action, f.method)
	}
	for _, in := range findAll(n, byTag("input")) {
		name, _ := attr(in, "name")
		val, _ := attr(in, "value")
		if name != "" {
			f.values.Set(name, val)
		}
	}
	if f.values.Get("csrf") == "" {
		t.Fatalf("the form to %s has no CSRF token", action)
	}
	return f
}

// submit fills the form's fields and posts it.
func (v *visitor) submit(f form, fields ...string) response {
	v.t.Helper()
	vals := url.Values{}
	for k, vs := range f.values {
		vals[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		vals.Set(fields[i], fields[i+1])
	}
	return v.post(f.action, vals)
}

// follow GETs where a 303 answer points, failing unless the answer is one.
func (v *visitor) follow(r response) response {
	v.t.Helper()
	if r.StatusCode != http.StatusSeeOther {
		v.t.Fatalf("got %d, want 303 See Other; page says %q\n%.2000s", r.StatusCode, r.alert(), r.body)
	}
	return v.get(r.Header.Get("Location"))
}

// wantRedirect fails unless r is a 303 to path.
func wantRedirect(t *testing.T, r response, path string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != path {
		t.Fatalf("got %d to %q, want 303 to %s; page says %q", r.StatusCode, r.Header.Get("Location"), path, r.alert())
	}
}

// inboxMessage is a dev inbox message as GET /api/dev-inbox/messages
// lists it.
type inboxMessage struct {
	To      string         `json:"to"`
	Subject string         `json:"subject"`
	Payload map[string]any `json:"payload"`
}

// codes returns the codes the dev inbox holds for to, newest first.
func codes(t *testing.T, a *apptest.App, to string) []string {
	t.Helper()
	var msgs []inboxMessage
	a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(to), nil, http.StatusOK, &msgs)
	var out []string
	for _, m := range msgs {
		if c, _ := m.Payload["code"].(string); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// nthCode waits until the dev inbox holds n codes for to and returns the
// newest (delivery may finish after the page answered).
func nthCode(t *testing.T, a *apptest.App, to string, n int) string {
	t.Helper()
	var got []string
	have := 0
	testwait.Until(t, 15*time.Second, func() bool { got = codes(t, a, to); have = len(got); return have >= n },
		"the dev inbox has %d codes for %s, want %d", &have, to, n)
	return got[0]
}

// wrongCode is a code of the right length that is not code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}
