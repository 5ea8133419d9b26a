package pages_test

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
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
	// routes are the page routes of the app that answered.
	routes []string
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
	return v.send(req)
}

// send sends req with the visitor's cookies and reads the answer.
func (v *visitor) send(req *http.Request) response {
	v.t.Helper()
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	out := response{Response: resp, body: string(b), routes: v.a.App.Pages.Routes()}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if out.doc, err = html.Parse(strings.NewReader(out.body)); err != nil {
			v.t.Fatalf("%s %s: the page is not HTML: %v", req.Method, req.URL, err)
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

// newApp starts an app with sign-up and sign-in by email code, sign-in by
// password and password reset by email turned on, and a registered app
// that signs users in through /oidc/auth.
func newApp(t *testing.T, dbURL string) (*apptest.App, *relyingParty) {
	t.Helper()
	a := apptest.New(t, dbURL)
	configureFlows(t, a)
	return a, newRelyingParty(t, a)
}

// relyingParty is an app as a real one signs users in: its /login sends
// the browser to /oidc/auth (authorization code with PKCE and a nonce), and
// its /callback exchanges the code for tokens with x/oauth2, verifies the
// ID token against the provider's keys with go-oidc, and shows whom it
// signed in.
type relyingParty struct {
	t        *testing.T
	srv      *httptest.Server
	ctx      context.Context
	provider *gooidc.Provider
	conf     oauth2.Config
	mu       sync.Mutex
	pending  map[string]string // state -> PKCE verifier
}

func newRelyingParty(t *testing.T, a *apptest.App) *relyingParty {
	t.Helper()
	rp := &relyingParty{t: t, pending: map[string]string{}, ctx: gooidc.ClientContext(context.Background(), a.Client)}
	rp.srv = httptest.NewServer(rp)
	t.Cleanup(rp.srv.Close)
	created, err := a.App.Apps.Create(rp.ctx, tenant.Default, apps.NewApplication{Name: "Acme Notes", Type: apps.TypeTraditional,
		RedirectURIs: []string{rp.srv.URL + "/callback"}, PostLogoutRedirectURIs: []string{}})
	if err != nil {
		t.Fatalf("registering the app: %v", err)
	}
	if rp.provider, err = gooidc.NewProvider(rp.ctx, a.BaseURL+"/oidc"); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp.conf = oauth2.Config{ClientID: created.Application.ID, ClientSecret: created.Secret, Endpoint: rp.provider.Endpoint(),
		RedirectURL: rp.srv.URL + "/callback", Scopes: []string{gooidc.ScopeOpenID, "email"}}
	rp.conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return rp
}

// ServeHTTP is the app: /login?ui_locales=&first_screen= and /callback.
func (rp *relyingParty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch r.URL.Path {
	case "/login":
		state, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		rp.mu.Lock()
		rp.pending[state] = verifier
		rp.mu.Unlock()
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(state)}
		for _, p := range []string{"ui_locales", "first_screen"} {
			if v := r.URL.Query().Get(p); v != "" {
				opts = append(opts, oauth2.SetAuthURLParam(p, v))
			}
		}
		http.Redirect(w, r, rp.conf.AuthCodeURL(state, opts...), http.StatusFound)
	case "/callback":
		email, sub, err := rp.finish(r)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<!doctype html><title>App</title><p id="failed">%s</p>`, template.HTMLEscapeString(err.Error()))
			return
		}
		fmt.Fprintf(w, `<!doctype html><title>App</title><h1 id="signed-in">Signed in</h1><p id="email">%s</p><p id="sub">%s</p>`,
			template.HTMLEscapeString(email), template.HTMLEscapeString(sub))
	default:
		http.NotFound(w, r)
	}
}

// finish exchanges the callback's code and verifies the ID token.
func (rp *relyingParty) finish(r *http.Request) (email, sub string, err error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", "", fmt.Errorf("the provider answered %s: %s", e, q.Get("error_description"))
	}
	state := q.Get("state")
	rp.mu.Lock()
	verifier, ok := rp.pending[state]
	delete(rp.pending, state)
	rp.mu.Unlock()
	if !ok {
		return "", "", fmt.Errorf("unknown state %q", state)
	}
	tok, err := rp.conf.Exchange(rp.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", "", fmt.Errorf("exchanging the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.provider.Verifier(&gooidc.Config{ClientID: rp.conf.ClientID}).Verify(rp.ctx, raw)
	if err != nil {
		return "", "", fmt.Errorf("verifying the ID token: %w", err)
	}
	if idt.Nonce != state {
		return "", "", fmt.Errorf("the ID token's nonce is %q, want %q", idt.Nonce, state)
	}
	var claims struct {
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", "", err
	}
	if !claims.Verified {
		return "", "", fmt.Errorf("the ID token says %s is not verified", claims.Email)
	}
	return claims.Email, idt.Subject, nil
}

// configureFlows turns on sign-up and sign-in by email code, sign-in by
// password and password reset by email.
func configureFlows(t *testing.T, a *apptest.App) {
	t.Helper()
	a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
		"signUp":                map[string]any{"identifiers": []string{"email"}, "verify": true, "password": false},
		"signIn":                map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": true, "password": true, "isPasswordPrimary": false}}},
		"forgotPasswordMethods": []string{"EmailVerificationCode"},
	}, http.StatusOK, nil)
}

// getURL GETs an absolute URL (the app's, or one a redirect names).
func (v *visitor) getURL(raw string) response {
	v.t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		v.t.Fatal(err)
	}
	if u.Host == "" {
		raw = v.a.BaseURL + raw
	}
	req, err := http.NewRequest("GET", raw, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	if v.lang != "" {
		req.Header.Set("Accept-Language", v.lang)
	}
	return v.send(req)
}

// start signs in to the app rp: its login sends the visitor to
// /oidc/auth (with ui_locales and first_screen when given), which sends it
// through /oidc/interaction to a hosted page; start follows those
// redirects and returns the page's path.
func (v *visitor) start(rp *relyingParty, uiLocales, firstScreen string) string {
	v.t.Helper()
	q := url.Values{}
	if uiLocales != "" {
		q.Set("ui_locales", uiLocales)
	}
	if firstScreen != "" {
		q.Set("first_screen", firstScreen)
	}
	r := v.getURL(rp.srv.URL + "/login?" + q.Encode())
	for range 5 {
		loc := r.Header.Get("Location")
		if r.StatusCode/100 != 3 || loc == "" {
			v.t.Fatalf("signing in to the app: %d at %s, want redirects to a hosted page\n%.1000s", r.StatusCode, r.Request.URL, r.body)
		}
		if u, _ := url.Parse(loc); !strings.HasPrefix(u.Path, "/oidc/") {
			return u.Path
		}
		r = v.getURL(loc)
	}
	v.t.Fatal("signing in to the app: too many redirects")
	return ""
}

// signedIn follows r, a page's answer to its last form, to the app: the
// OIDC provider's callback sends the visitor to the app's, where the app
// exchanges the code and verifies the ID token. It returns the email and
// the subject the ID token names, failing unless the app signed the
// visitor in.
func (v *visitor) signedIn(r response) (email, sub string) {
	v.t.Helper()
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), v.a.BaseURL+"/oidc/") {
		v.t.Fatalf("got %d to %q, want 303 to the OIDC provider's callback; page says %q", r.StatusCode, r.Header.Get("Location"), r.alert())
	}
	var gotSession bool
	for _, ck := range r.Cookies() {
		gotSession = gotSession || (ck.Name == experience.SessionCookie && ck.Value != "")
	}
	if !gotSession {
		v.t.Error("the sign-in set no sign-in session cookie")
	}
	r = v.getURL(r.Header.Get("Location"))
	for range 3 {
		if r.StatusCode/100 != 3 {
			break
		}
		r = v.getURL(r.Header.Get("Location"))
	}
	if n := find(r.doc, byID("signed-in")); n == nil {
		v.t.Fatalf("the app did not sign the visitor in: %d %s", r.StatusCode, text(find(r.doc, byID("failed"))))
	}
	return text(find(r.doc, byID("email"))), text(find(r.doc, byID("sub")))
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
	if !slices.ContainsFunc(r.routes, func(rt string) bool { return routeTakes(rt, "POST "+action) }) {
		t.Fatalf("the form posts to %s, which no page route takes", action)
	}
	return f
}

// routeTakes reports whether a route ("METHOD /pattern") takes a request
// ("METHOD /path"): a pattern's {name} segment takes any one segment.
func routeTakes(route, request string) bool {
	want, got := strings.Split(route, "/"), strings.Split(request, "/")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i] != got[i] && !(strings.HasPrefix(want[i], "{") && strings.HasSuffix(want[i], "}") && got[i] != "") {
			return false
		}
	}
	return true
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
