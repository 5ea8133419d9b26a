package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/tenant"
)

// TestTheConsoleNeedsTheAdminKey: a console page without a session sends
// the browser to sign in and back; a wrong key is refused on the form;
// the right one starts a session in an HttpOnly, SameSite=Strict cookie
// whose value the database does not keep.
func TestTheConsoleNeedsTheAdminKey(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := newVisitor(t, a)
		r := v.get("/console/connectors")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/sign-in?next=%2Fconsole%2Fconnectors" {
			t.Fatalf("GET /console/connectors signed out: %d to %q, want 303 to the sign-in page", r.StatusCode, r.Header.Get("Location"))
		}
		page := v.get(r.Header.Get("Location"))
		if page.StatusCode != http.StatusOK || find(page.doc, byID("key")) == nil {
			t.Fatalf("sign-in page: %d, no key field", page.StatusCode)
		}
		wrong := v.submit(page, "/console/sign-in", "", map[string]string{"key": "am_not_the_key_at_all_0000000000"})
		if wrong.StatusCode != http.StatusUnauthorized || wrong.fieldError("key") != "This is not the admin key." {
			t.Fatalf("wrong key: %d, %q", wrong.StatusCode, wrong.fieldError("key"))
		}
		if v.cookie("/console", "authmail_console") != "" {
			t.Fatal("a wrong key got a session cookie")
		}
		ok := v.submit(wrong, "/console/sign-in", "", map[string]string{"key": a.AdminKey})
		if ok.StatusCode != http.StatusSeeOther || ok.Header.Get("Location") != "/console/connectors" {
			t.Fatalf("right key: %d to %q, want 303 back to /console/connectors", ok.StatusCode, ok.Header.Get("Location"))
		}
		var set *http.Cookie
		for _, c := range ok.Cookies() {
			if c.Name == "authmail_console" {
				set = c
			}
		}
		if set == nil || !set.HttpOnly || set.SameSite != http.SameSiteStrictMode || set.Path != "/console" || set.Secure {
			t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/console, not Secure over http", set)
		}
		if strings.Contains(a.Logs(), set.Value) {
			t.Fatal("the session token is in the log")
		}
		if _, err := a.App.Store.ConsoleSessionGet(context.Background(), tenant.Default, set.Value); err == nil {
			t.Fatal("the database keeps the session token as it is")
		}
		if r := v.get("/console/connectors"); r.StatusCode != http.StatusOK || r.h1() != "Email connector" {
			t.Fatalf("GET /console/connectors signed in: %d %q", r.StatusCode, r.h1())
		}
	})
}

// TestSigningOutEndsTheSessionInTheDatabase: after sign-out, the old
// cookie opens nothing, even sent again by hand.
func TestSigningOutEndsTheSessionInTheDatabase(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		token := v.cookie("/console", "authmail_console")
		page := v.get("/console")
		r := v.submit(page, "/console/sign-out", "", nil)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/sign-in") {
			t.Fatalf("sign-out: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		again := newVisitor(t, a)
		u, _ := url.Parse(a.BaseURL + "/console")
		again.client.Jar.SetCookies(u, []*http.Cookie{{Name: "authmail_console", Value: token, Path: "/console"}})
		if r := again.get("/console"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the signed-out session's cookie still opens the console: %d", r.StatusCode)
		}
	})
}

// TestReplacingTheAdminKeyEndsConsoleSessions: a session started with the
// old key stops working once the key is replaced.
func TestReplacingTheAdminKeyEndsConsoleSessions(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		if r := v.get("/console"); r.StatusCode != http.StatusOK {
			t.Fatalf("signed in: %d", r.StatusCode)
		}
		if _, err := a.App.Tenants.EnsureAdminKey(context.Background(), tenant.Default, "am_a_brand_new_admin_key_0123456789", nil); err != nil {
			t.Fatal(err)
		}
		if r := v.get("/console"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("after the key changed: %d, want 303 to sign in again", r.StatusCode)
		}
	})
}

// TestAFormWithoutItsCSRFTokenIsRefused: every console form needs the
// token bound to the session (or, before signing in, to the browser's
// pre-sign-in cookie); without it or with another session's, nothing is
// done.
func TestAFormWithoutItsCSRFTokenIsRefused(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := newVisitor(t, a)
		if r := v.post("/console/sign-in", url.Values{"key": {a.AdminKey}}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("sign-in without a token: %d, want 403", r.StatusCode)
		}
		if v.cookie("/console", "authmail_console") != "" {
			t.Fatal("a sign-in without a CSRF token started a session")
		}
		admin := signedIn(t, a)
		other := signedIn(t, a)
		otherToken := other.get("/console").csrf()
		for _, form := range []url.Values{{}, {"csrf": {"nope"}}, {"csrf": {otherToken}}} {
			r := admin.post("/console/sign-out", form)
			if r.StatusCode != http.StatusForbidden || r.alert() == "" {
				t.Fatalf("sign-out with token %q: %d, want 403 with a sentence", form.Get("csrf"), r.StatusCode)
			}
		}
		if r := admin.get("/console"); r.StatusCode != http.StatusOK {
			t.Fatalf("a refused sign-out signed out anyway: %d", r.StatusCode)
		}
	})
}

// TestSignInReturnsOnlyToConsolePages: the next parameter cannot send the
// browser elsewhere.
func TestSignInReturnsOnlyToConsolePages(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	for next, want := range map[string]string{
		"/console/templates?x=1": "/console/templates?x=1",
		"https://evil.example/":  "/console",
		"//evil.example/console": "/console",
		"/api/users":             "/console",
		"/console/sign-in":       "/console",
		"/\\evil.example":        "/console",
	} {
		v := newVisitor(t, a)
		page := v.get("/console/sign-in?next=" + url.QueryEscape(next))
		r := v.submit(page, "/console/sign-in", "", map[string]string{"key": a.AdminKey})
		if got := r.Header.Get("Location"); got != want {
			t.Errorf("next=%q: signed in to %q, want %q", next, got, want)
		}
	}
}
