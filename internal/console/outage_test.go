package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestConsolePagesAnswer503WhenTheDatabaseIsDown: with the database gone,
// every console page a signed-in browser opens says the database is not
// answering (503, with Retry-After), never a 500 and never the sign-in
// page, as if the session had ended.
func TestConsolePagesAnswer503WhenTheDatabaseIsDown(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	v := signedIn(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.App.Delivery.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.App.Store.Close(); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	checked := 0
	for _, r := range a.App.Console.Routes() {
		method, path, _ := strings.Cut(r, " ")
		if method != "GET" || strings.HasPrefix(path, "/console/assets/") {
			continue
		}
		path = param.ReplaceAllString(path, "x")
		if path == "/console/templates/x/x" {
			path = "/console/templates/Generic/en"
		}
		resp := v.get(path)
		checked++
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(resp.alert(), "The database is not answering") {
			t.Errorf("GET %s with the database down: %d, Retry-After %q, %q", path, resp.StatusCode, resp.Header.Get("Retry-After"), resp.alert())
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d pages", checked)
	}
}

// TestConsoleCookiesAreSecureOverHTTPS: with an https public URL, the
// session cookie is Secure as well as HttpOnly and SameSite=Strict.
func TestConsoleCookiesAreSecureOverHTTPS(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t), apptest.WithSettings(func(s *config.Settings) { s.PublicURL = "https://auth.example.com" }))
	v := newVisitor(t, a)
	page := v.get("/console/sign-in")
	for _, c := range page.Cookies() {
		if !c.Secure {
			t.Errorf("pre-sign-in cookie %s is not Secure", c.Name)
		}
	}
	// The jar keeps Secure cookies off plain http, so the pre-sign-in
	// cookie goes back by hand.
	var pre string
	for _, c := range page.Cookies() {
		if c.Name == "authmail_console_pre" {
			pre = c.Value
		}
	}
	req, err := http.NewRequest("POST", a.BaseURL+"/console/sign-in", strings.NewReader(url.Values{"csrf": {page.csrf()}, "key": {a.AdminKey}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "authmail_console_pre", Value: pre})
	r, err := v.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	found := false
	for _, c := range r.Cookies() {
		if c.Name == "authmail_console" {
			found = true
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie %+v, want Secure, HttpOnly, SameSite=Strict", c)
			}
		}
	}
	if !found {
		t.Fatalf("no session cookie: %d", r.StatusCode)
	}
}
