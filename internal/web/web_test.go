package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// TestCSPAllowsInlineStylesAndFramesOnlyWhenAsked: the default policy
// allows no inline style, no frame and no fetch, and forms post only here
// unless a page's forms redirect elsewhere; a page that shows an
// email may ask for inline styles, any https image and srcdoc frames, and
// never gets inline script.
func TestCSPAllowsInlineStylesAndFramesOnlyWhenAsked(t *testing.T) {
	def := CSP(Policy{})
	for _, bad := range []string{"unsafe-inline", "frame-src", "connect-src", "https:"} {
		if strings.Contains(def, bad) {
			t.Errorf("default policy %q has %s", def, bad)
		}
	}
	mail := CSP(Policy{InlineStyles: true, AnyImages: true, Frames: true, Connect: true})
	for _, want := range []string{"style-src 'self' 'unsafe-inline'", "img-src 'self' https: data:", "frame-src 'self'", "connect-src 'self'", "script-src 'self';", "frame-ancestors 'none'"} {
		if !strings.Contains(mail, want) {
			t.Errorf("mail policy %q lacks %s", mail, want)
		}
	}
	if !strings.Contains(def, "form-action 'self'") || strings.Contains(CSP(Policy{FormsLeave: true}), "form-action") {
		t.Errorf("form-action: default policy %q should have it, FormsLeave should drop it", def)
	}
	if got := CSP(Policy{FramedBySelf: true}); !strings.Contains(got, "frame-ancestors 'self'") || strings.Contains(def, "frame-ancestors 'self'") {
		t.Errorf("FramedBySelf: policy %q should let this origin frame it, the default %q should not", got, def)
	}
	if got := CSP(Policy{ImageOrigins: Origins("https://cdn.example.com/logo.png", "javascript:alert(1)", "https://cdn.example.com/x")}); !strings.Contains(got, "img-src 'self' https://cdn.example.com;") {
		t.Errorf("policy with a logo: %q, want the logo's origin once", got)
	}
}

// TestAssetsAreCachedForGoodOnlyUnderTheirHash: a URL with the current
// hash is immutable, another revalidates, an unknown name is 404.
func TestAssetsAreCachedForGoodOnlyUnderTheirHash(t *testing.T) {
	a, err := NewAssets(fstest.MapFS{"a/x.css": {Data: []byte("b{}")}}, "a", "/s/")
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.URL("x.css")
	if err != nil || !strings.HasPrefix(u, "/s/x.css?v=") {
		t.Fatalf("URL = %q, %v", u, err)
	}
	w := httptest.NewRecorder()
	a.Serve(w, httptest.NewRequest("GET", u, nil), "x.css")
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") || w.Body.String() != "b{}" {
		t.Errorf("versioned URL: Cache-Control %q, body %q", cc, w.Body.String())
	}
	w = httptest.NewRecorder()
	a.Serve(w, httptest.NewRequest("GET", "/s/x.css?v=old", nil), "x.css")
	if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("old version: Cache-Control %q, want no-cache", cc)
	}
	w = httptest.NewRecorder()
	a.Serve(w, httptest.NewRequest("GET", "/s/y.css", nil), "y.css")
	if w.Code != 404 {
		t.Errorf("unknown asset: %d", w.Code)
	}
	if _, err := a.URL("y.css"); err == nil {
		t.Error("URL of an unknown asset did not fail")
	}
}
