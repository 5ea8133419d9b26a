package pages_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// wantSecurityHeaders fails t unless h has the headers every page and
// asset carries.
func wantSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %s", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q allows inline or eval'd script", what, csp)
	}
	for name, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
}

// TestAPageWithoutASignInSaysSessionNotFound: a page of the flow opened
// without the interaction cookie answers the error page with Logto's
// sentence, in the browser's language.
func TestAPageWithoutASignInSaysSessionNotFound(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := newVisitor(t, a)
		r := v.get("/sign-in")
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("GET /sign-in without a sign-in: %d, want 400", r.StatusCode)
		}
		if got, want := r.alert(), "Session not found. Please go back and sign in again."; got != want {
			t.Errorf("the page says %q, want %q", got, want)
		}
		if r.lang() != "en" {
			t.Errorf("<html lang=%q>, want en", r.lang())
		}
		wantSecurityHeaders(t, "the error page", r.Header)
		v.lang = "fr-FR,fr;q=0.9,en;q=0.5"
		r = v.get("/sign-in")
		if got, want := r.alert(), "Session introuvable. Revenez en arrière et connectez-vous à nouveau."; got != want {
			t.Errorf("in French the page says %q, want %q", got, want)
		}
		if r.lang() != "fr" || r.Header.Get("Content-Language") != "fr" {
			t.Errorf("<html lang=%q>, Content-Language %q, want fr", r.lang(), r.Header.Get("Content-Language"))
		}
	})
}

// TestThePagesFallBackToTheTenantsLanguage: with no language of the
// browser served, the page is in the tenant's fallback language.
func TestThePagesFallBackToTheTenantsLanguage(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"languageInfo": map[string]any{"fallbackLanguage": "fr"}}, http.StatusOK, nil)
		v := newVisitor(t, a)
		v.lang = "de-DE, es;q=0.5"
		if r := v.get("/sign-in"); r.lang() != "fr" {
			t.Errorf("with the fallback fr and a browser in German: <html lang=%q>, want fr", r.lang())
		}
		v.lang = "en"
		if r := v.get("/sign-in"); r.lang() != "en" {
			t.Errorf("with the fallback fr and a browser in English: <html lang=%q>, want en", r.lang())
		}
	})
}

// TestAssetsAreEmbeddedAndCachedByVersion: the stylesheet and the script
// come from this server, a versioned URL is cached for good, and the
// theme stylesheet carries the tenant's colour and a readable text colour.
func TestAssetsAreEmbeddedAndCachedByVersion(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	v := newVisitor(t, a)
	page := v.get("/sign-in")
	var sheets, scripts []string
	for _, n := range findAll(page.doc, byTag("link")) {
		if href, _ := attr(n, "href"); href != "" {
			sheets = append(sheets, href)
		}
	}
	for _, n := range findAll(page.doc, byTag("script")) {
		src, ok := attr(n, "src")
		if !ok || text(n) != "" {
			t.Errorf("a script without src or with inline code: %q", text(n))
		}
		scripts = append(scripts, src)
	}
	if len(sheets) != 2 || len(scripts) != 1 {
		t.Fatalf("stylesheets %v and scripts %v, want the style, the theme and one script", sheets, scripts)
	}
	for _, u := range append(sheets, scripts...) {
		if !strings.HasPrefix(u, "/assets/") {
			t.Errorf("asset %s is not served by this server", u)
			continue
		}
		r := v.get(u)
		if r.StatusCode != http.StatusOK || r.body == "" {
			t.Errorf("GET %s: %d, %d bytes", u, r.StatusCode, len(r.body))
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want immutable for a versioned URL", u, cc)
		}
		wantSecurityHeaders(t, u, r.Header)
	}
	r := v.get("/assets/theme.css?p=ffeb3b")
	if !strings.Contains(r.body, "--primary:#ffeb3b") || !strings.Contains(r.body, "--on-primary:#000000") {
		t.Errorf("theme for a yellow primary colour: %s, want black text on it", r.body)
	}
	r = v.get("/assets/theme.css?p=0b1f66")
	if !strings.Contains(r.body, "--on-primary:#ffffff") {
		t.Errorf("theme for a dark blue primary colour: %s, want white text on it", r.body)
	}
	r = v.get("/assets/theme.css?p=red;}body{display:none")
	if strings.Contains(r.body, "display") {
		t.Errorf("the theme copied a colour that is not one: %s", r.body)
	}
	if r := v.get("/assets/nothing.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /assets/nothing.js: %d, want 404", r.StatusCode)
	}
}
