package demoapp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/testwait"
	"github.com/authmail/authmail/internal/web"
	"github.com/authmail/authmail/internal/web/webtest"
)

// browser is a browser without JavaScript: it keeps cookies and follows
// redirects, as one does.
type browser struct {
	t      *testing.T
	a      *apptest.App
	client *http.Client
}

func newBrowser(t *testing.T, a *apptest.App) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *a.Client
	c.Jar = jar
	c.CheckRedirect = nil
	return &browser{t: t, a: a, client: &c}
}

// page is where the browser ended up and what it shows.
type page struct {
	status int
	url    *url.URL
	body   string
	doc    *html.Node
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.a.BaseURL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(string(raw)))
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(raw), doc: doc}
}

// find returns the first element under n for which match holds, or nil.
func find(n *html.Node, match func(*html.Node) bool) *html.Node {
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

func attr(n *html.Node, name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	if n == nil {
		return ""
	}
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
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func (p page) byID(id string) string {
	return text(find(p.doc, func(n *html.Node) bool { return attr(n, "id") == id }))
}

func (p page) h1() string {
	return text(find(p.doc, func(n *html.Node) bool { return n.Data == "h1" }))
}

// csrf is the CSRF token of the page's first form.
func (p page) csrf() string {
	return attr(find(p.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == "csrf" }), "value")
}

// code waits for the dev inbox's code for to and returns it.
func code(t *testing.T, a *apptest.App, to string) string {
	t.Helper()
	var got string
	testwait.Until(t, 15*time.Second, func() bool {
		var msgs []struct {
			Payload map[string]any `json:"payload"`
		}
		a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(to), nil, http.StatusOK, &msgs)
		if len(msgs) > 0 {
			got, _ = msgs[0].Payload["code"].(string)
		}
		return got != ""
	}, "a code for %s reaches the dev inbox", to)
	return got
}

// TestTheDemoAppSignsInThroughTheHostedPages: the demo application starts
// a real sign-in (code flow with PKCE) with the saved sign-in experience;
// the user signs in on the hosted pages with a code read from the dev
// inbox; back at its redirect URI it exchanges the code at the provider
// and shows the ID token's email, sub and amr; signing out ends the
// sign-in session at the provider too, so the next sign-in asks again.
func TestTheDemoAppSignsInThroughTheHostedPages(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": true, "password": false, "isPasswordPrimary": false}}},
		}, http.StatusOK, nil)
		var u struct {
			ID string `json:"id"`
		}
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "ann@example.com", "name": "Ann"}, http.StatusOK, &u)

		b := newBrowser(t, a)
		signIn := b.do("GET", "/demo-app", nil)
		if signIn.url.Path != "/sign-in" || signIn.status != http.StatusOK {
			t.Fatalf("the demo app led to %s (%d), want the hosted sign-in page", signIn.url, signIn.status)
		}
		codePage := b.do("POST", "/sign-in", url.Values{"csrf": {signIn.csrf()}, "email": {"ann@example.com"}})
		if codePage.url.Path != "/sign-in/verification-code" {
			t.Fatalf("after the address: %s %q", codePage.url, codePage.h1())
		}
		home := b.do("POST", "/sign-in/verification-code", url.Values{"csrf": {codePage.csrf()}, "code": {code(t, a, "ann@example.com")}})
		if home.url.Path != "/demo-app" || home.status != http.StatusOK || home.h1() != "You are signed in" {
			t.Fatalf("after the code: %s (%d) %q: %s", home.url, home.status, home.h1(), home.byID("main"))
		}
		if email, sub, amr := home.byID("claim-email"), home.byID("claim-sub"), home.byID("claim-amr"); email != "ann@example.com" || sub != u.ID || amr == "" {
			t.Fatalf("the demo app shows email %q, sub %q (want %q), amr %q", email, sub, u.ID, amr)
		}
		if strings.Contains(home.body, "eyJ") {
			t.Fatal("the demo app's page shows a token")
		}

		if r := b.do("POST", "/demo-app/sign-out", url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
			t.Fatalf("signing out with a wrong CSRF token: %d, want 403", r.status)
		}
		out := b.do("POST", "/demo-app/sign-out", url.Values{"csrf": {home.csrf()}})
		if out.url.Path != "/demo-app" || out.h1() != "You are signed out" {
			t.Fatalf("after signing out: %s %q", out.url, out.h1())
		}
		again := b.do("GET", "/demo-app?start=1", nil)
		if again.url.Path != "/sign-in" {
			t.Fatalf("signing in again after signing out went to %s: the sign-in session did not end", again.url)
		}
	})
}

// TestTheDemoAppRefusesACallbackItDidNotStart: a redirect to the demo
// app with a code and a state it did not make is refused, and nothing is
// signed in.
func TestTheDemoAppRefusesACallbackItDidNotStart(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		b := newBrowser(t, a)
		b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		r := b.do("GET", "/demo-app?code=stolen&state=guessed", nil)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "This sign-in was not started here") {
			t.Fatalf("a callback the demo app did not start: %d %q", r.status, r.h1())
		}
		// One it started, with another state.
		start := b.do("GET", "/demo-app", nil)
		if start.status != http.StatusSeeOther {
			t.Fatalf("starting: %d", start.status)
		}
		if r := b.do("GET", "/demo-app?code=stolen&state=guessed", nil); r.status != http.StatusBadRequest {
			t.Fatalf("a callback with another state: %d, want 400", r.status)
		}
	})
}

// TestTheDemoAppIsABuiltInApplication: with the demo app on, the
// management API reads the application demo-app (Logto's Live Preview, a
// single-page app) and does not list it; with --demo-app=false there is
// neither the application nor its page.
func TestTheDemoAppIsABuiltInApplication(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var app map[string]any
		a.JSON("GET", "/api/applications/demo-app", nil, http.StatusOK, &app)
		if app["name"] != "Live Preview" || app["type"] != "SPA" || app["isAdmin"] != false {
			t.Fatalf("demo-app: %v", app)
		}
		var list []map[string]any
		a.JSON("GET", "/api/applications", nil, http.StatusOK, &list)
		for _, l := range list {
			if l["id"] == "demo-app" {
				t.Fatal("the application list shows the built-in demo app")
			}
		}
	})
	off := apptest.New(t, storetest.SQLiteURL(t), apptest.WithSettings(func(s *config.Settings) { s.NoDemoApp = true }))
	off.WantError("GET", "/api/applications/demo-app", nil, http.StatusNotFound, "entity.not_exists_with_id")
	if st, _ := off.Do("GET", "/demo-app", nil); st != http.StatusNotFound {
		t.Fatalf("with the demo app off, /demo-app answers %d, want 404", st)
	}
}

// TestEveryLanguageHasEverySentenceTheDemoAppUses: the keys the templates
// and the code use, the English catalogue's and the French one's are one
// and the same set.
func TestEveryLanguageHasEverySentenceTheDemoAppUses(t *testing.T) {
	cats, err := web.LoadCatalogues(os.DirFS("."), "i18n")
	if err != nil {
		t.Fatal(err)
	}
	used := webtest.Merge(webtest.TemplateKeys(t, os.DirFS("."), "templates/*.html", "t"), webtest.CallKeys(t, ".", "msg"))
	webtest.CheckCatalogues(t, cats, used, 10, "en", "fr")
}

// TestTheInProcessClientReachesOnlyTheProvider: the provider's
// in-process client gets its discovery document without the network and
// refuses any URL that is not the provider's.
func TestTheInProcessClientReachesOnlyTheProvider(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	c := a.App.OIDC.InProcessClient()
	resp, err := c.Get(a.App.OIDC.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK || doc.Issuer != a.App.OIDC.Issuer() {
		t.Fatalf("discovery in process: %d, issuer %q, %v", resp.StatusCode, doc.Issuer, err)
	}
	for _, other := range []string{a.BaseURL + "/api/status", "https://example.com/oidc/jwks", a.App.OIDC.Issuer() + "x/jwks"} {
		if resp, err := c.Get(other); err == nil {
			resp.Body.Close()
			t.Errorf("the in-process client reached %s", other)
		}
	}
}

// TestDesignListsEveryDemoAppRoute: docs/DESIGN.md's section "Demo
// application" lists exactly the routes the demo application serves.
func TestDesignListsEveryDemoAppRoute(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Demo application\n")
	if !ok {
		t.Fatal("docs/DESIGN.md has no section Demo application")
	}
	section, _, _ = strings.Cut(section, "\n### ")
	cell := regexp.MustCompile("^- `([A-Z]+) (/[^` ?]*)`")
	var documented []string
	for _, line := range strings.Split(section, "\n") {
		if m := cell.FindStringSubmatch(line); m != nil {
			documented = append(documented, m[1]+" "+m[2])
		}
	}
	served := apptest.New(t, storetest.SQLiteURL(t)).App.DemoApp.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("DESIGN lists %v, the demo app serves %v", documented, served)
	}
}
