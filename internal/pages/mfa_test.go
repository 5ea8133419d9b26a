package pages_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/browsertest"
)

// mfaPath is the second-factor code page.
const mfaPath = "/mfa-verification/EmailVerificationCode"

// mfaByEmail turns on sign-in by password only, sign-up with a password,
// and the email code as the second factor under policy.
func mfaByEmail(t *testing.T, a *apptest.App, policy string) {
	t.Helper()
	a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
		"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true, "password": true},
		"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "verificationCode": false, "password": true, "isPasswordPrimary": true}}},
		"mfa":    map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": policy},
	}, http.StatusOK, nil)
}

// toPassword starts a sign-in for email and answers the password page's
// form with the password and the extra fields.
func (v *visitor) toPassword(rp *relyingParty, email, pw string, fields ...string) response {
	v.t.Helper()
	if got := v.start(rp, "", ""); got != "/sign-in" {
		v.t.Fatalf("the sign-in starts on %s", got)
	}
	r := v.submit(v.get("/sign-in").form(v.t, "/sign-in"), "email", email)
	wantRedirect(v.t, r, "/sign-in/password")
	return v.submit(v.follow(r).form(v.t, "/sign-in/password"), append([]string{"password", pw}, fields...)...)
}

// TestAPasswordSignInAsksForTheEmailCodeWithPlainForms: with the email
// code as second factor, the password leads to "Two-step verification",
// where the code mailed to the account's address (and only it: a wrong
// one is refused on the field) signs the person in.
func TestAPasswordSignInAsksForTheEmailCodeWithPlainForms(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		mfaByEmail(t, a, "PromptAtSignInAndSignUp")
		const email, pw = "two.steps@example.com", "correct horse battery"
		createUser(t, a, email, pw)
		v := newVisitor(t, a)
		r := v.toPassword(rp, email, pw)
		wantRedirect(t, r, mfaPath)
		page := v.follow(r)
		if got := text(find(page.doc, byTag("h1"))); got != "Two-step verification" {
			t.Errorf("the second-factor page's heading is %q", got)
		}
		if find(page.doc, byID("mfa")) != nil {
			t.Error("the second-factor page offers to turn the factor on")
		}
		code := nthCode(t, a, email, 1)
		bad := v.submit(page.form(t, mfaPath), "code", wrongCode(code))
		if bad.StatusCode != http.StatusBadRequest || fieldError(t, bad, "code") == "" {
			t.Fatalf("a wrong second-factor code: %d %q, want 400 with the code field refused", bad.StatusCode, bad.alert())
		}
		if got, _ := v.signedIn(v.submit(bad.form(t, mfaPath), "code", code)); got != email {
			t.Errorf("the app signed in %q, want %s", got, email)
		}
	})
}

// TestUserControlledMfaIsTurnedOnFromThePasswordPage: under the
// UserControlled policy the password page offers the factor to everyone;
// left unticked the password alone finishes the sign-in; ticked, the code
// page turns it on and signs in; from then on every sign-in asks for the
// code.
func TestUserControlledMfaIsTurnedOnFromThePasswordPage(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		mfaByEmail(t, a, "UserControlled")
		const email, pw = "chooser@example.com", "correct horse battery"
		createUser(t, a, email, pw)

		// Unticked: the password alone finishes the sign-in (to the
		// provider's callback; the app then wants a proved address, which
		// only a code gives).
		v := newVisitor(t, a)
		if r := v.toPassword(rp, email, pw); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), a.BaseURL+"/oidc/") {
			t.Fatalf("an unticked password sign-in: %d to %q, want 303 to the provider's callback", r.StatusCode, r.Header.Get("Location"))
		}

		v = newVisitor(t, a)
		r := v.toPassword(rp, email, pw, "mfa", "on")
		wantRedirect(t, r, mfaPath)
		page := v.follow(r)
		if got := text(find(page.doc, byTag("h1"))); got != "Turn on two-step verification" {
			t.Errorf("the binding page's heading is %q", got)
		}
		v.signedIn(v.submit(page.form(t, mfaPath), "code", nthCode(t, a, email, 1)))

		v = newVisitor(t, a)
		r = v.toPassword(rp, email, pw)
		wantRedirect(t, r, mfaPath)
		page = v.follow(r)
		if got := text(find(page.doc, byTag("h1"))); got != "Two-step verification" {
			t.Errorf("after turning it on the sign-in's code page is %q", got)
		}
		v.signedIn(v.submit(page.form(t, mfaPath), "code", nthCode(t, a, email, 2)))
	})
}

// TestTwoStepVerificationInTheBrowser: in a real browser, a person ticks
// two-step verification on the password page, turns it on with the
// mailed code, and at the next sign-in is asked for a code again, in
// English and in French.
func TestTwoStepVerificationInTheBrowser(t *testing.T) {
	ba := newBrowserApp(t)
	mfaByEmail(t, ba.a, "UserControlled")
	ba.a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"verificationCodePolicy": map[string]any{"resendCooldown": 0}}, http.StatusOK, nil)
	const email, pw = "hopper@example.com", "compiler a0 first"
	createUser(t, ba.a, email, pw)
	n := 0
	for _, c := range []struct{ lang, ui, bind, verify string }{
		{"en", "", "Turn on two-step verification", "Two-step verification"},
		{"fr", "fr", "Activer la validation en deux étapes", "Validation en deux étapes"},
	} {
		ctx := ba.b.Context()
		shot := func(name string) { ba.b.Look(ctx, c.lang+"-"+name, browsertest.OneForm) }
		ba.start(ctx, c.ui, "", "/sign-in")
		ba.act(ctx, "going to the password page", "#password",
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.Click(chromedp.CSS("button[type=submit]")))
		want := c.verify
		if n == 0 {
			want = c.bind
			shot("password-with-mfa")
			ba.b.Do(ctx, "ticking two-step verification", chromedp.Click(chromedp.CSS("#mfa")))
		}
		ba.act(ctx, "signing in with the password", "#code",
			chromedp.SendKeys(chromedp.CSS("#password"), pw),
			chromedp.Click(chromedp.CSS(`form[action="/sign-in/password"] button[type=submit]`)))
		if got := ba.text(ctx, "h1"); got != want {
			t.Errorf("%s: the code page's heading is %q, want %q", c.lang, got, want)
		}
		n++
		shot("mfa-code")
		ba.act(ctx, "typing the code", "", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, email, n)))
		ba.signedIn(ctx, email)
	}
}
