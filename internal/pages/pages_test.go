package pages_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/config"
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

// TestThePageLanguageFollowsUILocalesThenTheBrowser: the interaction's
// ui_locales choose the language before the browser's Accept-Language,
// which comes before the fallback language only while
// languageInfo.autoDetect is on.
func TestThePageLanguageFollowsUILocalesThenTheBrowser(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		rp := newRelyingParty(t, a)
		for _, c := range []struct {
			name       string
			ui         []string
			accept     string
			autoDetect bool
			want       string
			heading    string
		}{
			{"ui_locales over the browser", []string{"fr"}, "en-US,en", true, "fr", "Connexion"},
			{"the browser without ui_locales", nil, "fr-CH, en;q=0.5", true, "fr", "Connexion"},
			{"the fallback without autoDetect", nil, "fr", false, "en", "Sign in"},
			{"ui_locales without autoDetect", []string{"fr-FR"}, "en", false, "fr", "Connexion"},
		} {
			a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
				"signIn":       map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": false, "password": true, "isPasswordPrimary": true}}},
				"languageInfo": map[string]any{"autoDetect": c.autoDetect, "fallbackLanguage": "en"}}, http.StatusOK, nil)
			v := newVisitor(t, a)
			v.lang = c.accept
			v.start(rp, strings.Join(c.ui, " "), "")
			r := v.get("/sign-in")
			if r.lang() != c.want || text(find(r.doc, byTag("h1"))) != c.heading {
				t.Errorf("%s: <html lang=%q>, heading %q; want %s, %q", c.name, r.lang(), text(find(r.doc, byTag("h1"))), c.want, c.heading)
			}
		}
	})
}

// TestEveryPageCarriesTheSecurityHeaders: each page of the route table,
// opened in a sign-in, answers with the security headers and is never
// cached; the branding's logo origin is the only other image source.
func TestEveryPageCarriesTheSecurityHeaders(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signIn":   map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": false, "password": true, "isPasswordPrimary": true}}},
			"branding": map[string]any{"logoUrl": "https://cdn.example.net/logo.png"},
		}, http.StatusOK, nil)
		v := newVisitor(t, a)
		v.start(newRelyingParty(t, a), "", "")
		checked := 0
		for _, route := range a.App.Pages.Routes() {
			method, path, _ := strings.Cut(route, " ")
			if method != "GET" || strings.Contains(path, "{") {
				continue
			}
			r := v.get(path)
			wantSecurityHeaders(t, path, r.Header)
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: Cache-Control %q, want no-store", path, cc)
			}
			if r.StatusCode == http.StatusOK {
				if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https://cdn.example.net;") {
					t.Errorf("%s: Content-Security-Policy %q does not allow the logo's origin alone", path, csp)
				}
			}
			checked++
		}
		if checked < 10 {
			t.Fatalf("checked %d pages", checked)
		}
	})
}

// TestThePagesShowTheAppAndTheTenantsBranding: the identifier page names
// the app the sign-in is for, shows the tenant's logo, and takes its
// colour from the theme stylesheet.
func TestThePagesShowTheAppAndTheTenantsBranding(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
		"signIn":   map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": false, "password": true, "isPasswordPrimary": true}}},
		"branding": map[string]any{"logoUrl": "https://cdn.example.net/logo.png", "darkLogoUrl": "https://cdn.example.net/dark.png"},
		"color":    map[string]any{"primaryColor": "#7c3aed", "isDarkModeEnabled": true, "darkPrimaryColor": "#c4b5fd"},
	}, http.StatusOK, nil)
	v := newVisitor(t, a)
	v.start(newRelyingParty(t, a), "", "")
	r := v.get("/sign-in")
	if got := text(find(r.doc, byTag("title"))); got != "Sign in · Acme Notes" {
		t.Errorf("the title is %q", got)
	}
	if got := text(find(r.doc, func(n *html.Node) bool { c, _ := attr(n, "class"); return c == "lead" })); got != "to continue to Acme Notes" {
		t.Errorf("the page says %q under its heading", got)
	}
	logo := find(r.doc, byTag("img"))
	if src, _ := attr(logo, "src"); src != "https://cdn.example.net/logo.png" {
		t.Errorf("the logo is %q", src)
	}
	if alt, _ := attr(logo, "alt"); alt != "Acme Notes" {
		t.Errorf("the logo's alt text is %q", alt)
	}
	if dark := find(r.doc, byTag("source")); dark == nil {
		t.Error("no dark logo for dark mode")
	}
	if cls, _ := attr(find(r.doc, byTag("html")), "class"); cls != "dark-mode" {
		t.Errorf("<html class=%q>, want dark-mode", cls)
	}
	var theme string
	for _, l := range findAll(r.doc, byTag("link")) {
		if href, _ := attr(l, "href"); strings.Contains(href, "theme.css") {
			theme = href
		}
	}
	css := v.get(theme).body
	if !strings.Contains(css, "--primary:#7c3aed") || !strings.Contains(css, "--primary:#c4b5fd") {
		t.Errorf("the theme %s is %q, want the primary colour and its dark twin", theme, css)
	}
}

// TestThePagesAreCappedPerClient: one client's requests to the pages
// count toward the public cap, and one over it gets a sentence and
// Retry-After.
func TestThePagesAreCappedPerClient(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t), apptest.WithSettings(func(s *config.Settings) { s.PublicRequestLimit = 3 }))
	v := newVisitor(t, a)
	v.start(newRelyingParty(t, a), "", "")
	if r := v.get("/sign-in"); r.StatusCode == http.StatusTooManyRequests {
		t.Fatalf("the first page, under the cap, was refused: %q", r.alert())
	}
	var r response
	for range 3 {
		if r = v.get("/sign-in"); r.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("past the cap of 3: %d, Retry-After %q; want 429 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if got := r.alert(); !strings.HasPrefix(got, "Too many attempts from your connection. Try again in ") {
		t.Errorf("the page says %q", got)
	}
}
