package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
	"golang.org/x/net/html"
)

// path is loc, an absolute URL of the app or a path, as a path with its
// query.
func (v *visitor) path(loc string) string {
	v.t.Helper()
	u, err := url.Parse(loc)
	if err != nil || (u.Host != "" && v.a.BaseURL != u.Scheme+"://"+u.Host) {
		v.t.Fatalf("redirect to %q, outside the app", loc)
	}
	return u.RequestURI()
}

// followTo follows r's redirects until one leads to a path with prefix,
// and returns that path.
func (v *visitor) followTo(r response, prefix string) string {
	v.t.Helper()
	for range 8 {
		if r.StatusCode/100 != 3 {
			v.t.Fatalf("got %d at %s, want redirects to %s; %s", r.StatusCode, r.Request.URL, prefix, r.alert())
		}
		p := v.path(r.Header.Get("Location"))
		if strings.HasPrefix(p, prefix) {
			return p
		}
		r = v.get(p)
	}
	v.t.Fatalf("too many redirects before %s", prefix)
	return ""
}

// signInWithAccount signs in to the console through the hosted pages by
// an email code, and returns the console's answer to the callback.
func (v *visitor) signInWithAccount(email string, nth int) response {
	v.t.Helper()
	page := v.get("/console/sign-in")
	link := find(page.doc, func(n *html.Node) bool {
		h, _ := attr(n, "href")
		return strings.HasPrefix(h, "/console/sign-in/account")
	})
	if link == nil {
		v.t.Fatalf("the sign-in page offers no sign-in with an account:\n%s", page.body)
	}
	href, _ := attr(link, "href")
	hosted := v.followTo(v.get(href), "/sign-in")
	page = v.get(hosted)
	r := v.submit(page, "/sign-in", "", map[string]string{"email": email})
	code := v.path(r.Header.Get("Location"))
	page = v.get(code)
	r = v.submit(page, "/sign-in/verification-code", "", map[string]string{"code": v.a.NthCode(email, nth)})
	callback := v.followTo(r, "/console/callback")
	return v.get(callback)
}

// emailCodeSignIn turns on sign-in by email code.
func emailCodeSignIn(t *testing.T, a *apptest.App) {
	t.Helper()
	a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
		"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": true, "password": false, "isPasswordPrimary": false}}},
	}, http.StatusOK, nil)
}

// adminUser makes a user holding the admin role, with sign-in by email
// code on.
func adminUser(t *testing.T, a *apptest.App, email string) string {
	t.Helper()
	emailCodeSignIn(t, a)
	var u struct{ ID string }
	a.JSON("POST", "/api/users", map[string]any{"primaryEmail": email}, http.StatusOK, &u)
	a.JSON("POST", "/api/users/"+u.ID+"/roles", map[string]any{"roleIds": []string{apps.AdminRoleID}}, http.StatusCreated, nil)
	return u.ID
}

func TestAnAdministratorSignsInToTheConsoleThroughTheHostedPages(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		id := adminUser(t, a, "ada@example.com")
		v := newVisitor(t, a)
		r := v.signInWithAccount("ada@example.com", 1)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console" {
			t.Fatalf("the callback answered %d to %q, want 303 to /console; %s", r.StatusCode, r.Header.Get("Location"), r.alert())
		}
		if page := v.get("/console/users"); page.StatusCode != http.StatusOK {
			t.Fatalf("signed in, /console/users answers %d", page.StatusCode)
		}
		// The session lasts while the user holds the admin role.
		a.JSON("DELETE", "/api/users/"+id+"/roles/"+apps.AdminRoleID, nil, http.StatusNoContent, nil)
		if r := v.get("/console/users"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/sign-in") {
			t.Errorf("after the role was taken /console/users answers %d to %q, want the sign-in page", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

func TestAUserWithoutTheAdminRoleIsRefusedTheConsole(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		emailCodeSignIn(t, a)
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "bob@example.com"}, http.StatusOK, nil)
		v := newVisitor(t, a)
		r := v.signInWithAccount("bob@example.com", 1)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.alert(), "admin role") {
			t.Fatalf("the callback answered %d %q, want 403 saying the admin role is needed", r.StatusCode, r.alert())
		}
		if r := v.get("/console"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("after a refused sign-in /console answers %d, want the sign-in page", r.StatusCode)
		}
	})
}

func TestASuspendedAdministratorIsRefusedTheConsole(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		id := adminUser(t, a, "cy@example.com")
		v := newVisitor(t, a)
		if r := v.signInWithAccount("cy@example.com", 1); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the callback answered %d %q", r.StatusCode, r.alert())
		}
		a.JSON("PATCH", "/api/users/"+id+"/is-suspended", map[string]any{"isSuspended": true}, http.StatusOK, nil)
		if r := v.get("/console"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("a suspended administrator's session still opens /console (%d)", r.StatusCode)
		}
	})
}

func TestAConsoleCallbackWorksOnceAndOnlyInTheBrowserThatStartedIt(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		adminUser(t, a, "dee@example.com")
		v := newVisitor(t, a)
		hosted := v.followTo(v.get("/console/sign-in/account"), "/sign-in")
		page := v.get(hosted)
		r := v.submit(page, "/sign-in", "", map[string]string{"email": "dee@example.com"})
		page = v.get(v.path(r.Header.Get("Location")))
		r = v.submit(page, "/sign-in/verification-code", "", map[string]string{"code": a.NthCode("dee@example.com", 1)})
		callback := v.followTo(r, "/console/callback")
		// Another browser with the callback URL gets no session.
		other := newVisitor(t, a)
		if r := other.get(callback); r.StatusCode != http.StatusBadRequest || r.alert() == "" {
			t.Errorf("another browser's callback answered %d %q, want 400 with the reason", r.StatusCode, r.alert())
		}
		if r := v.get(callback); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the browser's own callback answered %d %q", r.StatusCode, r.alert())
		}
		// The same callback again is refused.
		if r := v.get(callback); r.StatusCode != http.StatusBadRequest {
			t.Errorf("the callback used again answered %d, want 400", r.StatusCode)
		}
	})
}
