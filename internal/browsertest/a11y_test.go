package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authmail/authmail/internal/browsertest"
)

// TestTheAccessibilityCheckFindsWhatItLooksFor: a page with each problem
// gets a sentence for each; the same page fixed gets none.
func TestTheAccessibilityCheckFindsWhatItLooksFor(t *testing.T) {
	pages := map[string]string{
		"/bad": `<!doctype html><html><head><title> </title></head><body>
<p style="color:#999999;background:#ffffff">grey on white</p>
<input id="x" name="x"><img src="data:,"><iframe srcdoc="hi"></iframe><a href="/"></a>
<p id="d">one</p><p id="d">two</p><input aria-describedby="gone" aria-label="y">
<h1>a</h1><h1>b</h1></body></html>`,
		"/good": `<!doctype html><html lang="en"><head><title>Good</title></head><body>
<nav aria-label="n"><a href="/">Home</a></nav><main><h1>Good</h1>
<p style="color:#1f2937">dark on white</p><label for="x">X</label><input id="x" name="x" aria-describedby="h"><p id="h">hint</p>
<img src="data:," alt=""><iframe srcdoc="hi" title="frame"></iframe><button>Go</button></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(pages[r.URL.Path]))
	}))
	t.Cleanup(srv.Close)
	b := browsertest.New(t)
	ctx := b.Context()
	b.Do(ctx, "opening the bad page", chromedp.Navigate(srv.URL+"/bad"))
	bad := b.AccessibilityProblems(ctx)
	for _, want := range []string{"no lang", "no title", "no main landmark", "no nav landmark", "2 h1 headings", "without a label",
		"image without alt", "frame without a title", "without a name", "id d is used twice", "names gone", "contrast 2.85:1 for \"grey on white\""} {
		if !slices.ContainsFunc(bad, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("the check missed %q; it found:\n%s", want, strings.Join(bad, "\n"))
		}
	}
	b.Do(ctx, "opening the good page", chromedp.Navigate(srv.URL+"/good"))
	if good := b.AccessibilityProblems(ctx); len(good) != 0 {
		t.Errorf("the check found problems on a good page:\n%s", strings.Join(good, "\n"))
	}
}
