package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authmail/authmail/internal/browsertest"
)

// page serves a form that sets a cookie from what is typed, and shows the
// cookie the browser sent back.
func page() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		seen := "none"
		if c, err := r.Cookie("who"); err == nil {
			seen = c.Value
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><p id="seen">` + seen + `</p>
<form method="post" action="/set"><label>Name <input id="name" name="name"></label><button id="go">Go</button></form>`))
	})
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "who", Value: r.FormValue("name"), Path: "/"})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return mux
}

func TestBrowserSubmitsFormsAndKeepsEachContextsCookiesApart(t *testing.T) {
	srv := httptest.NewServer(page())
	t.Cleanup(srv.Close)
	b := browsertest.New(t)

	first := b.Context()
	b.Do(first, "filling in the form",
		chromedp.Navigate(srv.URL),
		chromedp.SendKeys(chromedp.CSS("#name"), "ada"),
	)
	b.Navigating(first, "submitting the form", chromedp.Click(chromedp.CSS("#go")))
	seen := browsertest.Get(b, first, "reading the page", chromedp.Text(chromedp.CSS("#seen")))
	if seen != "ada" {
		t.Fatalf("after submitting, the page shows cookie %q, want %q", seen, "ada")
	}

	second := b.Context()
	b.Do(second, "opening the page in a second profile", chromedp.Navigate(srv.URL))
	seen = browsertest.Get(b, second, "reading the page", chromedp.Text(chromedp.CSS("#seen")))
	if seen != "none" {
		t.Fatalf("a second context sent cookie %q, want none: contexts share cookies", seen)
	}

	path := b.Screenshot(first, "form")
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG (%d bytes)", path, len(png))
	}
}
