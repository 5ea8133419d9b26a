package pages_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestSignUpAndSignInByCodeWithPlainForms: with no JavaScript, a person
// creates an account on the registration page with the code from the
// mail, lands on the app's callback, and later signs in the same way;
// every step is a POST form answered by a redirect.
func TestSignUpAndSignInByCodeWithPlainForms(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		const email = "ada@example.com"

		v := newVisitor(t, a)
		if got := v.start(rp, "", "register"); got != "/register" {
			t.Fatalf("first_screen=register leads to %s", got)
		}
		page := v.get("/register")
		if page.StatusCode != http.StatusOK {
			t.Fatalf("GET /register: %d %q", page.StatusCode, page.alert())
		}
		r := v.submit(page.form(t, "/register"), "email", email)
		wantRedirect(t, r, "/register/verification-code")
		page = v.follow(r)
		input := find(page.doc, byID("code"))
		for name, want := range map[string]string{"autocomplete": "one-time-code", "inputmode": "numeric", "name": "code"} {
			if got, _ := attr(input, name); got != want {
				t.Errorf("the code input has %s=%q, want %q", name, got, want)
			}
		}
		if n := len(findAll(page.doc, func(n *html.Node) bool { name, _ := attr(n, "name"); return name == "code" })); n != 1 {
			t.Errorf("the code page has %d code inputs, want one", n)
		}
		if !strings.Contains(text(page.doc), email) {
			t.Errorf("the code page does not say where the code went")
		}
		code := nthCode(t, a, email, 1)
		gotEmail, sub := v.signedIn(v.submit(page.form(t, "/register/verification-code"), "code", code))
		var users []struct {
			ID           string `json:"id"`
			PrimaryEmail string `json:"primaryEmail"`
		}
		a.JSON("GET", "/api/users?search="+email, nil, http.StatusOK, &users)
		if len(users) != 1 || users[0].ID != sub || gotEmail != email {
			t.Fatalf("users %+v, want the one the app signed in (%s, %s)", users, sub, gotEmail)
		}

		// Another browser signs in to that account.
		v = newVisitor(t, a)
		v.start(rp, "", "")
		page = v.get("/sign-in")
		r = v.submit(page.form(t, "/sign-in"), "email", email)
		wantRedirect(t, r, "/sign-in/verification-code")
		page = v.follow(r)
		code = nthCode(t, a, email, 2)
		if _, again := v.signedIn(v.submit(page.form(t, "/sign-in/verification-code"), "code", code)); again != sub {
			t.Fatalf("the sign-in signed in %s, want the account made at sign-up, %s", again, sub)
		}
	})
}

// fieldError is the sentence a page shows about field id, checking that
// the field is marked invalid and points at it.
func fieldError(t *testing.T, r response, id string) string {
	t.Helper()
	in := find(r.doc, byID(id))
	if in == nil {
		t.Fatalf("the page has no field %s:\n%.2000s", id, r.body)
	}
	if v, _ := attr(in, "aria-invalid"); v != "true" {
		t.Errorf("field %s is not marked aria-invalid", id)
	}
	desc, _ := attr(in, "aria-describedby")
	if !slices.Contains(strings.Fields(desc), id+"-error") {
		t.Errorf("field %s has aria-describedby %q, which does not name its error", id, desc)
	}
	if _, ok := attr(in, "autofocus"); !ok {
		t.Errorf("the refused field %s is not the one focused", id)
	}
	e := find(r.doc, byID(id+"-error"))
	if role, _ := attr(e, "role"); role != "alert" {
		t.Errorf("the error of field %s is not announced (role=%q)", id, role)
	}
	title := text(find(r.doc, byTag("title")))
	if !strings.HasPrefix(title, "Error:") && !strings.HasPrefix(title, "Erreur") {
		t.Errorf("the title of a refused form, %q, does not begin by saying so", title)
	}
	return text(e)
}

// TestFormsRefuseAMissingOrWrongCSRFToken: a form posted without the
// page's CSRF token, with a wrong one or with another sign-in's is
// refused and does nothing; the page's own token works.
func TestFormsRefuseAMissingOrWrongCSRFToken(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		const email = "mallory-target@example.com"
		other := newVisitor(t, a)
		other.start(rp, "", "")
		othersToken := other.get("/sign-in").csrf()

		v := newVisitor(t, a)
		v.start(rp, "", "")
		token := v.get("/sign-in").csrf()
		for name, form := range map[string]url.Values{
			"no token":              {"email": {email}},
			"a wrong token":         {"email": {email}, "csrf": {strings.Repeat("0", len(token))}},
			"another sign-in's":     {"email": {email}, "csrf": {othersToken}},
			"the token with a tail": {"email": {email}, "csrf": {token + "0"}},
		} {
			r := v.post("/sign-in", form)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("with %s: %d, want 403", name, r.StatusCode)
			}
			if want := "This form has expired or was not sent from this page. Go back, reload the page and try again."; r.alert() != want {
				t.Errorf("with %s the page says %q, want %q", name, r.alert(), want)
			}
		}
		if got := codes(t, a, email); len(got) != 0 {
			t.Fatalf("a refused form sent %d codes", len(got))
		}
		r := v.post("/sign-in", url.Values{"email": {email}, "csrf": {token}})
		wantRedirect(t, r, "/sign-in/verification-code")
	})
}

// TestEachRefusalSaysWhatHappened: every refusal on the identifier,
// code and password pages comes back as the same page with a sentence
// on the field at fault, focused and announced, and the status of the
// refusal.
func TestEachRefusalSaysWhatHappened(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		rp := newRelyingParty(t, a)
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signUp":                 map[string]any{"identifiers": []string{"email"}, "verify": true, "password": false},
			"signIn":                 map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": true, "password": true, "isPasswordPrimary": false}}},
			"verificationCodePolicy": map[string]any{"maxRetryAttempts": 3},
		}, http.StatusOK, nil)
		const email = "grace@example.com"
		v := newVisitor(t, a)
		v.start(rp, "", "")
		page := v.get("/sign-in")
		f := page.form(t, "/sign-in")

		for _, c := range []struct{ typed, want string }{
			{"", "Enter your email address."},
			{"grace", "Enter an email address such as name@example.com."},
		} {
			r := v.submit(f, "email", c.typed)
			if r.StatusCode != http.StatusBadRequest {
				t.Errorf("email %q: %d, want 400", c.typed, r.StatusCode)
			}
			if got := fieldError(t, r, "email"); got != c.want {
				t.Errorf("email %q: the page says %q, want %q", c.typed, got, c.want)
			}
			if got, _ := attr(find(r.doc, byID("email")), "value"); got != c.typed {
				t.Errorf("the refused email field holds %q, want what was typed, %q", got, c.typed)
			}
		}

		page = v.follow(v.submit(f, "email", email))
		code := nthCode(t, a, email, 1)
		cf := page.form(t, "/sign-in/verification-code")
		r := v.submit(cf, "code", "")
		if got := fieldError(t, r, "code"); got != "Enter the code from the email." {
			t.Errorf("no code: the page says %q", got)
		}
		r = v.submit(cf, "code", wrongCode(code))
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("a wrong code: %d, want 400", r.StatusCode)
		}
		if got, want := fieldError(t, r, "code"), "This code is not right. Check the email we sent you and try again."; got != want {
			t.Errorf("a wrong code: the page says %q, want %q", got, want)
		}
		if got, _ := attr(find(r.doc, byID("code")), "value"); got != "" {
			t.Errorf("after a wrong code the input holds %q, want it empty", got)
		}

		r = v.submit(page.form(t, "/sign-in/verification-code/send"))
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("a new code at once: %d, Retry-After %q, want 429 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
		}
		if got := r.alert(); !strings.HasPrefix(got, "A code was sent moments ago. You can ask for a new one in ") || !strings.HasSuffix(got, " s.") {
			t.Errorf("a new code at once: the page says %q", got)
		}

		clock.Advance(11 * time.Minute)
		r = v.submit(cf, "code", code)
		if got, want := fieldError(t, r, "code"), "This code has expired. Ask for a new code."; got != want {
			t.Errorf("an expired code: the page says %q, want %q", got, want)
		}

		r = v.submit(page.form(t, "/sign-in/verification-code/send"))
		wantRedirect(t, r, "/sign-in/verification-code")
		page = v.follow(r)
		if n := find(page.doc, func(n *html.Node) bool { role, _ := attr(n, "role"); return role == "status" }); text(n) != "We sent you a new code." {
			t.Errorf("after sending a new code the page says %q", text(n))
		}
		code = nthCode(t, a, email, 2)
		cf = page.form(t, "/sign-in/verification-code")
		for range 3 {
			v.submit(cf, "code", wrongCode(code))
		}
		r = v.submit(cf, "code", code)
		if got, want := fieldError(t, r, "code"), "Too many wrong codes. Ask for a new code."; got != want {
			t.Errorf("the right code after 3 wrong ones (the most a code takes): the page says %q, want %q", got, want)
		}

		const other = "grace.h@example.com"
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": other, "password": "correct horse battery"}, http.StatusOK, nil)
		v = newVisitor(t, a)
		v.start(rp, "", "")
		v.submit(v.get("/sign-in").form(t, "/sign-in"), "email", other)
		page = v.get("/sign-in/password")
		if page.StatusCode != http.StatusOK {
			t.Fatalf("GET /sign-in/password after the identifier page: %d %q", page.StatusCode, page.alert())
		}
		r = v.submit(page.form(t, "/sign-in/password"), "password", "wrong horse battery")
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a wrong password: %d, want 422", r.StatusCode)
		}
		if got, want := fieldError(t, r, "password"), "The email address or the password is wrong."; got != want {
			t.Errorf("a wrong password: the page says %q, want %q", got, want)
		}
	})
}

// createUser makes a user with the address (and password, when given)
// through the management API, and returns its ID.
func createUser(t *testing.T, a *apptest.App, email, password string) string {
	t.Helper()
	body := map[string]any{"primaryEmail": email}
	if password != "" {
		body["password"] = password
	}
	var u struct {
		ID string `json:"id"`
	}
	a.JSON("POST", "/api/users", body, http.StatusOK, &u)
	return u.ID
}

// TestCrossOversOfferTheOtherFlow: signing in with an address that has no
// account offers to create it, and registering an address that has one
// offers to sign in, each keeping the verified code, as Logto's pages do.
func TestCrossOversOfferTheOtherFlow(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		const newcomer, member = "newcomer@example.com", "member@example.com"
		memberID := createUser(t, a, member, "")

		v := newVisitor(t, a)
		v.start(rp, "", "")
		page := v.follow(v.submit(v.get("/sign-in").form(t, "/sign-in"), "email", newcomer))
		r := v.submit(page.form(t, "/sign-in/verification-code"), "code", nthCode(t, a, newcomer, 1))
		wantRedirect(t, r, "/sign-in/create-account")
		page = v.follow(r)
		if got, want := text(find(page.doc, byTag("main"))), "No account found for "+newcomer+". Create a new one?"; !strings.Contains(got, want) {
			t.Errorf("the cross-over page says %q, want %q", got, want)
		}
		if got, _ := v.signedIn(v.submit(page.form(t, "/sign-in/create-account"))); got != newcomer {
			t.Errorf("the app signed in %q, want %s", got, newcomer)
		}
		var users []struct {
			PrimaryEmail string `json:"primaryEmail"`
		}
		a.JSON("GET", "/api/users?search="+newcomer, nil, http.StatusOK, &users)
		if len(users) != 1 {
			t.Fatalf("after creating the account: %d users for %s", len(users), newcomer)
		}

		v = newVisitor(t, a)
		v.start(rp, "", "register")
		page = v.follow(v.submit(v.get("/register").form(t, "/register"), "email", member))
		r = v.submit(page.form(t, "/register/verification-code"), "code", nthCode(t, a, member, 1))
		wantRedirect(t, r, "/register/existing-account")
		page = v.follow(r)
		if got, want := text(find(page.doc, byTag("main"))), "An account with "+member+" already exists. Continue to sign in."; !strings.Contains(got, want) {
			t.Errorf("the cross-over page says %q, want %q", got, want)
		}
		if _, sub := v.signedIn(v.submit(page.form(t, "/register/existing-account"))); sub != memberID {
			t.Errorf("the app signed in %s, want the existing account %s", sub, memberID)
		}
	})
}

// TestForgotPasswordEndsWithPasswordChangedAndSignIn: a password reset
// by code refuses a password the policy or the confirmation refuses,
// then sets the new one and sends the browser to the sign-in page with
// "Password changed", where the new password signs in. An address with no
// account gets the same pages and no mail.
func TestForgotPasswordEndsWithPasswordChangedAndSignIn(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"signIn": map[string]any{"methods": []map[string]any{
			{"identifier": "email", "verificationCode": true, "password": true, "isPasswordPrimary": true}}}}, http.StatusOK, nil)
		const email, old, fresh = "hopper@example.com", "old password 1", "a new password 2"
		userID := createUser(t, a, email, old)

		v := newVisitor(t, a)
		v.start(rp, "", "")
		r := v.submit(v.get("/sign-in").form(t, "/sign-in"), "email", email)
		wantRedirect(t, r, "/sign-in/password")
		page := v.follow(r)
		if n := find(page.doc, func(n *html.Node) bool { h, _ := attr(n, "href"); return h == "/forgot-password" }); n == nil {
			t.Fatal("the password page has no link to reset a forgotten password")
		}
		page = v.get("/forgot-password")
		r = v.submit(page.form(t, "/forgot-password"), "email", email)
		wantRedirect(t, r, "/forgot-password/verification-code")
		page = v.follow(r)
		if !strings.Contains(text(page.doc), "If an account uses this address, we sent a code to "+email) {
			t.Errorf("the reset code page does not say the code goes only to an account: %q", text(find(page.doc, byID("code-sent"))))
		}
		r = v.submit(page.form(t, "/forgot-password/verification-code"), "code", nthCode(t, a, email, 1))
		wantRedirect(t, r, "/forgot-password/reset")
		page = v.follow(r)
		if got, _ := attr(find(page.doc, byID("password")), "autocomplete"); got != "new-password" {
			t.Errorf("the new password field has autocomplete=%q, want new-password", got)
		}
		f := page.form(t, "/forgot-password/reset")
		for _, c := range []struct{ pw, confirm, field, want string }{
			{fresh, fresh + "x", "confirm", "The two passwords are not the same. Type the same password twice."},
			{"short", "short", "password", "This password cannot be used. It needs at least 8 characters."},
			{old, old, "password", "The new password must be different from the current one."},
		} {
			r := v.submit(f, "password", c.pw, "confirm", c.confirm)
			if got := fieldError(t, r, c.field); got != c.want {
				t.Errorf("new password %q, confirmed %q: the page says %q, want %q", c.pw, c.confirm, got, c.want)
			}
		}
		r = v.submit(f, "password", fresh, "confirm", fresh)
		wantRedirect(t, r, "/sign-in")
		page = v.follow(r)
		if n := find(page.doc, func(n *html.Node) bool { role, _ := attr(n, "role"); return role == "status" }); text(n) != "Password changed. Sign in with your new password." {
			t.Errorf("after the reset the sign-in page says %q", text(n))
		}
		if again := v.get("/sign-in"); find(again.doc, func(n *html.Node) bool { role, _ := attr(n, "role"); return role == "status" }) != nil {
			t.Error("the notice shows again on the next visit")
		}
		v.submit(page.form(t, "/sign-in"), "email", email)
		page = v.get("/sign-in/password")
		if _, sub := v.signedIn(v.submit(page.form(t, "/sign-in/password"), "password", fresh)); sub != userID {
			t.Errorf("the new password signed in %s, want %s", sub, userID)
		}

		// An address without an account: the same answer, and no mail.
		const stranger = "stranger@example.com"
		v = newVisitor(t, a)
		v.start(rp, "", "")
		r = v.submit(v.get("/forgot-password").form(t, "/forgot-password"), "email", stranger)
		wantRedirect(t, r, "/forgot-password/verification-code")
		if page := v.follow(r); page.StatusCode != http.StatusOK {
			t.Errorf("the reset code page for an unknown address: %d", page.StatusCode)
		}
		if got := codes(t, a, stranger); len(got) != 0 {
			t.Errorf("an address without an account got %d reset codes", len(got))
		}
	})
}

// TestAMissingPasswordIsAskedForBeforeTheAccountIsMade: when sign-up
// requires a password, the registration code leads to /continue/password,
// and the account is made with it.
func TestAMissingPasswordIsAskedForBeforeTheAccountIsMade(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true, "password": true}}, http.StatusOK, nil)
		const email = "lovelace@example.com"
		v := newVisitor(t, a)
		v.start(rp, "", "register")
		page := v.follow(v.submit(v.get("/register").form(t, "/register"), "email", email))
		r := v.submit(page.form(t, "/register/verification-code"), "code", nthCode(t, a, email, 1))
		wantRedirect(t, r, "/continue/password")
		page = v.follow(r)
		if hint := text(find(page.doc, byID("password-hint"))); hint != "Use 8 to 256 characters." {
			t.Errorf("the password hint says %q", hint)
		}
		_, sub := v.signedIn(v.submit(page.form(t, "/continue/password"), "password", "analytical engine", "confirm", "analytical engine"))
		var u struct {
			PrimaryEmail string `json:"primaryEmail"`
			HasPassword  bool   `json:"hasPassword"`
		}
		a.JSON("GET", "/api/users/"+sub, nil, http.StatusOK, &u)
		if u.PrimaryEmail != email || !u.HasPassword {
			t.Errorf("the new account is %+v, want %s with a password", u, email)
		}
	})
}

// TestAMissingUsernameIsAskedFor: when sign-up requires a username, the
// registration code leads to /continue/username, which refuses a
// malformed one with a sentence and makes the account with a good one.
func TestAMissingUsernameIsAskedFor(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true, "password": false,
			"secondaryIdentifiers": []map[string]any{{"identifier": "username", "verify": false}}}}, http.StatusOK, nil)
		const email = "babbage@example.com"
		v := newVisitor(t, a)
		v.start(rp, "", "register")
		page := v.follow(v.submit(v.get("/register").form(t, "/register"), "email", email))
		r := v.submit(page.form(t, "/register/verification-code"), "code", nthCode(t, a, email, 1))
		wantRedirect(t, r, "/continue/username")
		page = v.follow(r)
		f := page.form(t, "/continue/username")
		r = v.submit(f, "username", "9 lives")
		if got, want := fieldError(t, r, "username"), "A username starts with a letter or an underscore and has only letters, digits and underscores."; got != want {
			t.Errorf("a malformed username: the page says %q, want %q", got, want)
		}
		_, sub := v.signedIn(v.submit(f, "username", "charles"))
		var u struct {
			Username string `json:"username"`
		}
		a.JSON("GET", "/api/users/"+sub, nil, http.StatusOK, &u)
		if u.Username != "charles" {
			t.Errorf("the new account's username is %q", u.Username)
		}
	})
}
