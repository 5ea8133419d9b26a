package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestUsersAreListedSearchedCreatedSuspendedAndGivenAPassword: the list
// finds a user by search; the create form refuses a taken address and a
// password the policy refuses, next to their fields; a user can be
// suspended, reinstated, given the admin role and then not, and given a
// new password.
func TestUsersAreListedSearchedCreatedSuspendedAndGivenAPassword(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "ann@example.com", "name": "Ann"}, http.StatusOK, nil)
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "bob@example.com", "username": "bob"}, http.StatusOK, nil)
		v := signedIn(t, a)
		page := v.get("/console/users?search=ann")
		if !strings.Contains(page.body, "ann@example.com") || strings.Contains(page.body, "bob@example.com") || page.byIDText("user-total") != "Users found: 1" {
			t.Fatalf("search for ann: total %q", page.byIDText("user-total"))
		}
		r := v.submit(page, "/console/users", "", map[string]string{"primaryEmail": "ANN@example.com"})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("new-email") != "Another user has this email address." {
			t.Fatalf("a taken address: %d %q", r.StatusCode, r.fieldError("new-email"))
		}
		r = v.submit(page, "/console/users", "", map[string]string{"primaryEmail": "cy@example.com", "password": "short"})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.fieldError("new-password"), "password policy") || r.value("new-email") != "cy@example.com" {
			t.Fatalf("a weak password: %d %q, email kept %q", r.StatusCode, r.fieldError("new-password"), r.value("new-email"))
		}
		if strings.Contains(r.body, "value=\"short\"") {
			t.Fatal("the refused password is echoed in the page")
		}
		r = v.submit(page, "/console/users", "", map[string]string{"primaryEmail": "cy@example.com", "name": "Cy", "password": "correct horse battery staple 42"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("create: %d %s", r.StatusCode, r.alert())
		}
		user := v.get(r.Header.Get("Location"))
		if user.h1() != "cy@example.com" || !strings.Contains(user.body, "The user is created.") {
			t.Fatalf("the new user's page: %q", user.h1())
		}
		id := strings.TrimPrefix(strings.Split(r.Header.Get("Location"), "?")[0], "/console/users/")
		r = v.submit(user, "/console/users/"+id+"/suspend", "", nil)
		if r.StatusCode != http.StatusSeeOther || v.get(r.Header.Get("Location")).byIDText("user-state") != "Suspended" {
			t.Fatalf("suspend: %d", r.StatusCode)
		}
		var got map[string]any
		a.JSON("GET", "/api/users/"+id, nil, http.StatusOK, &got)
		if got["isSuspended"] != true {
			t.Fatalf("the user is not suspended: %v", got)
		}
		suspended := v.get("/console/users/" + id)
		if r := v.submit(suspended, "/console/users/"+id+"/suspend", "", nil); v.get(r.Header.Get("Location")).byIDText("user-state") != "Active" {
			t.Fatal("reinstate did not reinstate")
		}
		r = v.submit(suspended, "/console/users/"+id+"/password", "", map[string]string{"password": "abc"})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("user-password") == "" {
			t.Fatalf("a weak new password: %d %q", r.StatusCode, r.fieldError("user-password"))
		}
		r = v.submit(suspended, "/console/users/"+id+"/password", "", map[string]string{"password": "another long passphrase 77"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("new password: %d %s", r.StatusCode, r.alert())
		}
		// The admin role: given, then taken.
		userRoles := func() int {
			var roles []map[string]any
			a.JSON("GET", "/api/users/"+id+"/roles", nil, http.StatusOK, &roles)
			return len(roles)
		}
		page = v.get("/console/users/" + id)
		r = v.submit(page, "/console/users/"+id+"/admin", "", nil)
		if page = v.get(r.Header.Get("Location")); !strings.Contains(page.byIDText("user-admin"), "admin role") || userRoles() != 1 {
			t.Fatalf("give the admin role: %d, the page says %q", r.StatusCode, page.byIDText("user-admin"))
		}
		r = v.submit(page, "/console/users/"+id+"/admin", "", nil)
		if page = v.get(r.Header.Get("Location")); strings.Contains(page.byIDText("user-admin"), "admin role") || userRoles() != 0 {
			t.Fatalf("take the admin role: %d, the page says %q", r.StatusCode, page.byIDText("user-admin"))
		}
		if r := v.get("/console/users/nobody"); r.StatusCode != http.StatusNotFound {
			t.Fatalf("an unknown user: %d", r.StatusCode)
		}
	})
}

// TestApplicationsShowTheirSecretOnceAndTakeTheManagementRole: creating a
// Traditional app shows its secret once (never again on its page); a bad
// redirect URI is refused next to its field; a machine-to-machine app
// gets and loses management API access.
func TestApplicationsShowTheirSecretOnceAndTakeTheManagementRole(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		page := v.get("/console/applications")
		r := v.submit(page, "/console/applications", "", map[string]string{"name": "Web", "type": "Traditional", "redirectUris": "http://evil.example/cb"})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("app-redirects") == "" {
			t.Fatalf("an http redirect URI off loopback: %d %q %s", r.StatusCode, r.fieldError("app-redirects"), r.alert())
		}
		r = v.submit(page, "/console/applications", "", map[string]string{"name": "Web", "type": "Traditional", "redirectUris": "https://app.example/cb\n\nhttp://localhost:3000/cb"})
		secret := r.value("app-secret")
		if r.StatusCode != http.StatusOK || len(secret) < 20 {
			t.Fatalf("create: %d, secret %q %s", r.StatusCode, secret, r.alert())
		}
		id := r.byIDText("app-id")
		detail := v.get("/console/applications/" + id)
		if strings.Contains(detail.body, secret) {
			t.Fatal("the application's page shows its secret again")
		}
		if got := rawText(find(detail.doc, byID("app-redirects"))); got != "https://app.example/cb\nhttp://localhost:3000/cb" {
			t.Fatalf("redirect URIs %q", got)
		}
		r = v.submit(page, "/console/applications", "", map[string]string{"name": "Robot", "type": "MachineToMachine"})
		m2m := r.byIDText("app-id")
		robot := v.get("/console/applications/" + m2m)
		if find(robot.doc, byID("app-admin")) == nil {
			t.Fatal("a machine-to-machine app's page has no management API switch")
		}
		if r := v.submit(robot, "/console/applications/"+m2m, "", map[string]string{"isAdmin": "true"}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("giving management access: %d %s", r.StatusCode, r.alert())
		}
		var got map[string]any
		a.JSON("GET", "/api/applications/"+m2m, nil, http.StatusOK, &got)
		if got["isAdmin"] != true {
			t.Fatalf("after the switch: %v", got["isAdmin"])
		}
		if r := v.submit(v.get("/console/applications/"+m2m), "/console/applications/"+m2m, "", map[string]string{"isAdmin": ""}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("taking management access: %d", r.StatusCode)
		}
		a.JSON("GET", "/api/applications/"+m2m, nil, http.StatusOK, &got)
		if got["isAdmin"] != false {
			t.Fatalf("after turning the switch off: %v", got["isAdmin"])
		}
		if find(detail.doc, byID("app-admin")) != nil {
			t.Fatal("a Traditional app's page offers management API access")
		}
	})
}
