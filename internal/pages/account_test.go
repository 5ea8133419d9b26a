package pages_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/browsertest"
	"github.com/authmail/authmail/internal/testwait"
)

// accountCenterOn turns the account center on with the email and the
// password editable.
func accountCenterOn(t *testing.T, a *apptest.App) {
	t.Helper()
	a.JSON("PATCH", "/api/account-center", map[string]any{"enabled": true, "fields": map[string]string{"email": "Edit", "password": "Edit"}}, http.StatusOK, nil)
}

// signedInVisitor signs a new visitor in to rp by email code as email,
// so that it holds the sign-in session's cookie.
func signedInVisitor(t *testing.T, a *apptest.App, rp *relyingParty, email string) *visitor {
	t.Helper()
	v := newVisitor(t, a)
	v.start(rp, "", "")
	before := len(codes(t, a, email))
	r := v.submit(v.get("/sign-in").form(t, "/sign-in"), "email", email)
	wantRedirect(t, r, "/sign-in/verification-code")
	page := v.follow(r)
	if got, _ := v.signedIn(v.submit(page.form(t, "/sign-in/verification-code"), "code", nthCode(t, a, email, before+1))); got != email {
		t.Fatalf("signed in as %q, want %s", got, email)
	}
	return v
}

// notice is the page's notice.
func (r response) notice() string {
	if n := find(r.doc, func(n *html.Node) bool { c, _ := attr(n, "class"); return c == "notice" }); n != nil {
		return text(n)
	}
	return ""
}

// TestTheAccountPageChangesTheEmailAndThePasswordWithPlainForms: with no
// JavaScript, a signed-in user opens /account/security, confirms it is
// them with a code to their address, changes their email with a code to
// the new address (the old one is told), and changes their password;
// each step is a POST form answered by a redirect, and the new email and
// password sign in.
func TestTheAccountPageChangesTheEmailAndThePasswordWithPlainForms(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		accountCenterOn(t, a)
		const email, fresh = "lin@example.com", "lin.new@example.com"
		id := createUser(t, a, email, "first horse battery")
		v := signedInVisitor(t, a, rp, email)

		page := v.get("/account/security")
		if page.StatusCode != http.StatusOK || text(find(page.doc, byID("current-email"))) != email {
			t.Fatalf("GET /account/security: %d, current email %q; page says %q", page.StatusCode, text(find(page.doc, byID("current-email"))), page.alert())
		}
		if find(page.doc, byID("email")) != nil {
			t.Fatal("the account page offers to change the email before the user confirmed it is them")
		}
		page.form(t, "/account/security/verify/password")
		r := v.submit(page.form(t, "/account/security/verify/send"))
		wantRedirect(t, r, "/account/security/verify")
		page = v.follow(r)
		if !strings.Contains(text(page.doc), email) {
			t.Error("the code page does not say where the code went")
		}
		r = v.submit(page.form(t, "/account/security/verify"), "code", nthCode(t, a, email, 2))
		wantRedirect(t, r, "/account/security")
		page = v.follow(r)
		if got := page.notice(); !strings.HasPrefix(got, "It is you.") {
			t.Errorf("after the code the page says %q", got)
		}

		r = v.submit(page.form(t, "/account/security/email"), "email", fresh)
		wantRedirect(t, r, "/account/security/email/verify")
		page = v.follow(r)
		r = v.submit(page.form(t, "/account/security/email/verify"), "code", wrongCode(nthCode(t, a, fresh, 1)))
		if r.StatusCode != http.StatusBadRequest || fieldError(t, r, "code") == "" {
			t.Fatalf("a wrong code: %d %q, want the code page again saying why", r.StatusCode, r.alert())
		}
		r = v.submit(page.form(t, "/account/security/email/verify"), "code", nthCode(t, a, fresh, 1))
		wantRedirect(t, r, "/account/security")
		page = v.follow(r)
		if got := page.notice(); got != "Your email address has changed." {
			t.Errorf("after the new address's code the page says %q", got)
		}
		if got := text(find(page.doc, byID("current-email"))); got != fresh {
			t.Errorf("the account page shows %q, want %s", got, fresh)
		}
		var u struct {
			PrimaryEmail string `json:"primaryEmail"`
		}
		a.JSON("GET", "/api/users/"+id, nil, http.StatusOK, &u)
		if u.PrimaryEmail != fresh {
			t.Fatalf("the user's email is %q, want %s", u.PrimaryEmail, fresh)
		}
		testwait.Until(t, 10*time.Second, func() bool {
			var msgs []inboxMessage
			a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(email), nil, http.StatusOK, &msgs)
			return len(msgs) > 0 && msgs[0].Subject == "Your email address was changed"
		}, "the old address %s was not told of the change", email)

		f := page.form(t, "/account/security/password")
		r = v.submit(f, "password", "second horse battery", "confirm", "second horse batteries")
		if r.StatusCode != http.StatusBadRequest || fieldError(t, r, "confirm") == "" {
			t.Fatalf("two different passwords: %d, want the confirm field refused", r.StatusCode)
		}
		r = v.submit(f, "password", "second horse battery", "confirm", "second horse battery")
		wantRedirect(t, r, "/account/security")
		if got := v.follow(r).notice(); got != "Your password has changed." {
			t.Errorf("after the password change the page says %q", got)
		}

		// The new address and the new password sign in.
		w := newVisitor(t, a)
		w.start(rp, "", "")
		r = w.submit(w.get("/sign-in").form(t, "/sign-in"), "email", fresh)
		wantRedirect(t, r, "/sign-in/verification-code")
		w.follow(r)
		page = w.get("/sign-in/password")
		if got, _ := w.signedIn(w.submit(page.form(t, "/sign-in/password"), "password", "second horse battery")); got != fresh {
			t.Errorf("the new password signed in %q, want %s", got, fresh)
		}
	})
}

// TestTheAccountPageRefuses: without a sign-in session the page says to
// sign in first (401); with the account center off it says the settings
// are not available; a form without its CSRF token is refused (403); a
// wrong password is said on the field; the email form posted before the
// user confirmed it is them changes nothing.
func TestTheAccountPageRefuses(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a, rp := newApp(t, dbURL)
		const email = "mo@example.com"
		createUser(t, a, email, "first horse battery")

		r := newVisitor(t, a).get("/account/security")
		if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.alert(), "You are not signed in.") {
			t.Errorf("without a session: %d %q, want 401 saying to sign in", r.StatusCode, r.alert())
		}
		v := signedInVisitor(t, a, rp, email)
		if r := v.get("/account/security"); r.StatusCode != http.StatusNotFound || r.alert() != "Account settings are not available here." {
			t.Errorf("with the account center off: %d %q", r.StatusCode, r.alert())
		}
		accountCenterOn(t, a)
		page := v.get("/account/security")
		f := page.form(t, "/account/security/verify/password")
		if r := v.post(f.action, url.Values{"current": {"first horse battery"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("a form without its CSRF token: %d, want 403", r.StatusCode)
		}
		r = v.submit(f, "current", "wrong horse battery")
		if r.StatusCode != http.StatusUnprocessableEntity || fieldError(t, r, "current") != "The email address or the password is wrong." {
			t.Errorf("a wrong password: %d %q", r.StatusCode, fieldError(t, r, "current"))
		}
		r = v.post("/account/security/email", url.Values{"csrf": {f.values.Get("csrf")}, "email": {"mo.new@example.com"}})
		wantRedirect(t, r, "/account/security/email/verify")
		page = v.follow(r)
		r = v.submit(page.form(t, "/account/security/email/verify"), "code", nthCode(t, a, "mo.new@example.com", 1))
		if r.StatusCode != http.StatusUnauthorized || fieldError(t, r, "code") != "Confirm it is you again: it has been more than 10 minutes." {
			t.Errorf("an email change before confirming: %d %q", r.StatusCode, r.alert())
		}
		var us []struct {
			PrimaryEmail string `json:"primaryEmail"`
		}
		a.JSON("GET", "/api/users?search=mo", nil, http.StatusOK, &us)
		if len(us) != 1 || us[0].PrimaryEmail != email {
			t.Errorf("users after the refused change = %+v, want the email unchanged", us)
		}
		r = v.submit(v.get("/account/security").form(t, "/account/security/verify/password"), "current", "first horse battery")
		wantRedirect(t, r, "/account/security")
		if page := v.follow(r); page.form(t, "/account/security/email").action == "" {
			t.Error("the password did not unlock the changes")
		}
	})
}

// TestAUserChangesTheirEmailOnTheAccountPageInTheBrowser: in a real
// browser, a signed-in user opens the account page, confirms it is them
// with the code mailed to their address and changes their email with the
// code mailed to the new one, both read from the dev inbox and typed
// (the page submits itself on the last digit); the page in French says
// the same.
func TestAUserChangesTheirEmailOnTheAccountPageInTheBrowser(t *testing.T) {
	ba := newBrowserApp(t)
	accountCenterOn(t, ba.a)
	const email, fresh = "noor@example.com", "noor.new@example.com"
	createUser(t, ba.a, email, "")
	ctx := ba.b.Context()
	shot := func(name string) { ba.b.Look(ctx, name, browsertest.OneForm) }

	ba.signInAndOpenTheAccountPage(ctx, "", email, 1)
	if got := ba.text(ctx, "#current-email"); got != email {
		t.Errorf("the account page shows %q, want %s", got, email)
	}
	shot("account-security")
	ba.act(ctx, "asking for a code to confirm it is me", "#code", chromedp.Click(chromedp.CSS("#send-code")))
	shot("account-verify-code")
	ba.act(ctx, "typing the code", "#email", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, email, 2)))
	if got := ba.text(ctx, ".notice"); !strings.HasPrefix(got, "It is you.") {
		t.Errorf("after the code the page says %q", got)
	}
	if got := ba.focused(ctx); got == "code" {
		t.Errorf("the focus stayed on %q", got)
	}
	shot("account-verified")
	ba.act(ctx, "asking for a code to the new address", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), fresh),
		chromedp.Click(chromedp.CSS(`form[action="/account/security/email"] button[type=submit]`)))
	if got := ba.text(ctx, ".address"); got != fresh {
		t.Errorf("the code page says the code went to %q, want %s", got, fresh)
	}
	shot("account-email-code")
	ba.act(ctx, "typing the new address's code", ".notice", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, fresh, 1)))
	if got := ba.text(ctx, ".notice"); got != "Your email address has changed." {
		t.Errorf("after the new address's code the page says %q", got)
	}
	if got := ba.text(ctx, "#current-email"); got != fresh {
		t.Errorf("the account page shows %q, want %s", got, fresh)
	}
	shot("account-email-changed")

	// In French (the browser asks for it), the page and its code page.
	ctx = ba.b.Context()
	shot = func(name string) { ba.b.Look(ctx, "fr-"+name, browsertest.OneForm) }
	ba.b.Do(ctx, "asking for French", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "fr-FR,fr;q=0.9"}})
		return err
	}))
	ba.signInAndOpenTheAccountPage(ctx, "fr", fresh, 2)
	if lang, h := ba.lang(ctx), ba.text(ctx, "h1"); lang != "fr" || h != "Sécurité" {
		t.Errorf("the French account page: lang %q, heading %q", lang, h)
	}
	shot("account-security")
	ba.act(ctx, "asking for a code to confirm it is me", "#code", chromedp.Click(chromedp.CSS("#send-code")))
	shot("account-verify-code")
}

// signInAndOpenTheAccountPage signs in to the app by code as email (the
// nth code the address gets) and opens the account page.
func (ba *browserApp) signInAndOpenTheAccountPage(ctx context.Context, uiLocales, email string, nth int) {
	ba.t.Helper()
	ba.start(ctx, uiLocales, "", "/sign-in")
	ba.act(ctx, "asking for a sign-in code", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the sign-in code", "", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(ba.t, ba.a, email, nth)))
	ba.signedIn(ctx, email)
	ba.act(ctx, "opening the account page", "#send-code", chromedp.Navigate(ba.a.BaseURL+"/account/security"))
}

// TestTheAccountPageAsksAgainAfterTenMinutes: the confirmation unlocks
// the changes for the permission record's ten minutes; then the page asks
// the user to confirm it is them again.
func TestTheAccountPageAsksAgainAfterTenMinutes(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		configureFlows(t, a)
		rp := newRelyingParty(t, a)
		accountCenterOn(t, a)
		const email = "quinn@example.com"
		createUser(t, a, email, "first horse battery")
		v := signedInVisitor(t, a, rp, email)
		r := v.submit(v.get("/account/security").form(t, "/account/security/verify/password"), "current", "first horse battery")
		wantRedirect(t, r, "/account/security")
		v.follow(r).form(t, "/account/security/email")

		clock.Advance(10*time.Minute + time.Second)
		page := v.get("/account/security")
		if find(page.doc, byID("email")) != nil {
			t.Fatal("ten minutes on, the account page still offers to change the email")
		}
		page.form(t, "/account/security/verify/password")
	})
}
