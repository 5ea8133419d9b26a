package console_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// wantSecurityHeaders fails t unless h has the headers every console page
// and asset carries.
func wantSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %s", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || regexp.MustCompile(`script-src[^;]*unsafe-inline`).MatchString(csp) {
		t.Errorf("%s: Content-Security-Policy %q allows inline or eval'd script", what, csp)
	}
	for name, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
}

// TestEveryConsolePageCarriesTheSecurityHeaders: every page reachable
// from the navigation, the sign-in page, the assets and an unknown path
// carry them, and pages are never cached.
func TestEveryConsolePageCarriesTheSecurityHeaders(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	anon := newVisitor(t, a)
	r := anon.get("/console/sign-in")
	wantSecurityHeaders(t, "sign-in", r.Header)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("sign-in page: Cache-Control %q", cc)
	}
	v := signedIn(t, a)
	home := v.get("/console")
	paths := []string{"/console/nothing-here"}
	for _, n := range findAll(home.doc, byTag("a")) {
		if h, _ := attr(n, "href"); strings.HasPrefix(h, "/console") && !slices.Contains(paths, h) {
			paths = append(paths, h)
		}
	}
	for _, n := range append(findAll(home.doc, byTag("link")), findAll(home.doc, byTag("script"))...) {
		h, _ := attr(n, "href")
		if src, ok := attr(n, "src"); ok {
			h = src
		}
		if !strings.HasPrefix(h, "/console/assets/") {
			t.Errorf("asset %q is not served by the console", h)
		}
		paths = append(paths, h)
	}
	if len(paths) < 4 {
		t.Fatalf("found only %v to check", paths)
	}
	for _, p := range paths {
		r := v.get(p)
		wantSecurityHeaders(t, p, r.Header)
		if strings.HasPrefix(p, "/console/assets/") {
			if cc := r.Header.Get("Cache-Control"); r.StatusCode != http.StatusOK || !strings.Contains(cc, "immutable") {
				t.Errorf("%s: %d, Cache-Control %q", p, r.StatusCode, cc)
			}
		}
	}
}

// TestTheConsoleSpeaksFrench: the browser's language picks French, and
// the language chosen in the footer wins over it.
func TestTheConsoleSpeaksFrench(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := newVisitor(t, a)
		v.lang = "fr-CA,fr;q=0.9,en;q=0.5"
		page := v.get("/console/sign-in")
		if page.lang() != "fr" || page.h1() != "Se connecter à la console" || page.Header.Get("Content-Language") != "fr" {
			t.Fatalf("French browser: lang %q, heading %q", page.lang(), page.h1())
		}
		r := v.submit(page, "/console/language", "", map[string]string{"lang": "en"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("choosing English: %d", r.StatusCode)
		}
		if page := v.get(r.Header.Get("Location")); page.lang() != "en" || page.h1() != "Sign in to the console" {
			t.Fatalf("after choosing English: lang %q, heading %q", page.lang(), page.h1())
		}
		if r := v.post("/console/language", url.Values{"csrf": {page.csrf()}, "lang": {"xx"}}); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("an unknown language: %d, want 400", r.StatusCode)
		}
	})
}

// TestDesignListsEveryConsoleRoute: the console routes listed in
// docs/DESIGN.md ("Admin console" in section 8) are the console's route
// table.
func TestDesignListsEveryConsoleRoute(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Admin console\n")
	if !ok {
		t.Fatal("docs/DESIGN.md has no section Admin console")
	}
	if i := regexp.MustCompile(`\n##+ `).FindStringIndex(section); i != nil {
		section = section[:i[0]]
	}
	cell := regexp.MustCompile("`((?:[A-Z]+/)*[A-Z]+) (/[^` ?]*)`")
	var documented []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "- ") {
			continue
		}
		for _, m := range cell.FindAllStringSubmatch(line, -1) {
			for _, method := range strings.Split(m[1], "/") {
				documented = append(documented, method+" "+m[2])
			}
		}
	}
	a := apptest.New(t, storetest.SQLiteURL(t))
	served := a.App.Console.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	documented = slices.Compact(documented)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not listed in docs/DESIGN.md (Admin console)", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("%s is listed in docs/DESIGN.md (Admin console) but not served", r)
		}
	}
}

// TestGuidesPointAtConsolePagesThatExist: every console path the README,
// the docs and the connectors' guides name is a page the console serves.
func TestGuidesPointAtConsolePagesThatExist(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	var pages []*regexp.Regexp
	for _, r := range a.App.Console.Routes() {
		_, path, _ := strings.Cut(r, " ")
		pages = append(pages, regexp.MustCompile("^"+regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(path), "[^/]+")+"$"))
	}
	guides, err := filepath.Glob("../../connectors/*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	mention := regexp.MustCompile(`/console(?:/[A-Za-z0-9_.{}-]+)*`)
	found := 0
	for _, g := range append(append(guides, docs...), "../../README.md") {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range mention.FindAllStringIndex(string(b), -1) {
			if at[0] > 0 && (b[at[0]-1] == '_' || b[at[0]-1] >= 'a' && b[at[0]-1] <= 'z') {
				continue // a package path, internal/console/...
			}
			m := string(b[at[0]:at[1]])
			found++
			if !slices.ContainsFunc(pages, func(re *regexp.Regexp) bool { return re.MatchString(m) || strings.Contains(m, "{") }) {
				t.Errorf("%s names %s, which the console does not serve", g, m)
			}
		}
	}
	if found == 0 {
		t.Fatal("no guide names a console page; the search no longer finds them")
	}
}
