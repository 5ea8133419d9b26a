package pages_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/browsertest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// countdown is a wait as the resend button counts it down.
var countdown = regexp.MustCompile(`\b[01]:\d\d\b`)

// browserApp is an authmail, an app that signs its users in through it,
// and a browser.
type browserApp struct {
	t  *testing.T
	a  *apptest.App
	b  *browsertest.Browser
	rp *relyingParty
}

// newBrowserApp starts authmail (SQLite) with the flows and the app of
// newApp, and a browser.
func newBrowserApp(t *testing.T) *browserApp {
	t.Helper()
	b := browsertest.New(t)
	a, rp := newApp(t, storetest.SQLiteURL(t))
	return &browserApp{t: t, a: a, b: b, rp: rp}
}

// start sends the browser to the app's login, which sends it through
// /oidc/auth to the hosted page, and checks it lands on page.
func (ba *browserApp) start(ctx context.Context, uiLocales, firstScreen, page string) {
	ba.t.Helper()
	q := url.Values{}
	if uiLocales != "" {
		q.Set("ui_locales", uiLocales)
	}
	if firstScreen != "" {
		q.Set("first_screen", firstScreen)
	}
	ba.b.Do(ctx, "signing in to the app", chromedp.Navigate(ba.rp.srv.URL+"/login?"+q.Encode()))
	loc := browsertest.Get(ba.b, ctx, "reading where the browser is", chromedp.Location())
	if want := ba.a.BaseURL + page; loc != want {
		ba.t.Fatalf("the app's login leads to %s, want %s", loc, want)
	}
}

// signedIn waits for the app's page and checks it verified an ID token
// for email.
func (ba *browserApp) signedIn(ctx context.Context, email string) {
	ba.t.Helper()
	ba.b.Do(ctx, "waiting for the app", chromedp.WaitVisible(chromedp.CSS("#signed-in, #failed")))
	if ok := browsertest.Get(ba.b, ctx, "reading the app's page", chromedp.Evaluate[bool](`!!document.getElementById("signed-in")`)); !ok {
		ba.t.Fatalf("the app did not sign the user in: %s", ba.text(ctx, "#failed"))
	}
	if got := ba.text(ctx, "#email"); got != email {
		ba.t.Fatalf("the app signed in %q, want %q", got, email)
	}
}

// act runs steps, the last of which loads another page (a click, the
// code's last digit typed or pasted), waits for that page to load and, when
// next is given, for the element next on it.
func (ba *browserApp) act(ctx context.Context, doing, next string, steps ...chromedp.Action[chromedp.Void]) {
	ba.t.Helper()
	if len(steps) > 1 {
		ba.b.Do(ctx, doing, steps[:len(steps)-1]...)
	}
	ba.b.Navigating(ctx, doing, steps[len(steps)-1])
	if next != "" {
		ba.b.Do(ctx, doing+": waiting for "+next, chromedp.WaitVisible(chromedp.CSS(next)))
	}
}

// lang is the page's <html lang>.
func (ba *browserApp) lang(ctx context.Context) string {
	return browsertest.Get(ba.b, ctx, "reading <html lang>", chromedp.Evaluate[string](`document.documentElement.lang`))
}

// focused is the ID of the element that has the focus, read after two
// animation frames: the browser applies autofocus in a rendering update
// after the page is shown, so the second frame comes after it.
func (ba *browserApp) focused(ctx context.Context) string {
	return browsertest.Get(ba.b, ctx, "reading the focus", chromedp.Evaluate[string](
		`new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(document.activeElement ? document.activeElement.id : ""))))`,
		chromedp.EvalAwaitPromise))
}

// text is the text of the element sel.
func (ba *browserApp) text(ctx context.Context, sel string) string {
	return strings.Join(strings.Fields(browsertest.Get(ba.b, ctx, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))), " ")
}

// TestASignUpAndASignInInTheBrowserInEnglishAndFrench: in a real browser,
// a person creates an account with the code from the mail, typed digit by
// digit (the page submits itself on the last one), and signs in again by
// pasting the code, in English and in French (ui_locales); a wrong code
// says why and keeps the focus on the code; the countdown shows the
// server's cooldown.
func TestASignUpAndASignInInTheBrowserInEnglishAndFrench(t *testing.T) {
	ba := newBrowserApp(t)
	for _, c := range []struct {
		lang, email string
		ui          string // ui_locales
		heading     string
		wrong       string
	}{
		{"en", "ada@example.com", "", "Check your email", "This code is not right. Check the email we sent you and try again."},
		{"fr", "adele@example.fr", "fr-CA fr", "Consultez vos e-mails", "Ce code n’est pas le bon. Vérifiez l’e-mail que nous vous avons envoyé et réessayez."},
	} {
		ctx := ba.b.Context()
		shot := func(name string) { ba.b.Look(ctx, c.lang+"-"+name, browsertest.OneForm) }

		ba.start(ctx, c.ui, "register", "/register")
		if got := ba.lang(ctx); got != c.lang {
			t.Fatalf("the registration page is in %q, want %s", got, c.lang)
		}
		if got := ba.focused(ctx); got != "email" {
			t.Errorf("the registration page focuses %q, want the email field", got)
		}
		shot("register")
		ba.act(ctx, "asking for a registration code", "#code",
			chromedp.SendKeys(chromedp.CSS("#email"), c.email),
			chromedp.Click(chromedp.CSS("button[type=submit]")))
		if got := ba.text(ctx, "h1"); got != c.heading {
			t.Errorf("the code page's heading is %q, want %q", got, c.heading)
		}
		disabled := browsertest.Get(ba.b, ctx, "reading the resend button", chromedp.Evaluate[bool](`document.getElementById("resend").disabled`))
		label := ba.text(ctx, "#resend")
		if !disabled || !countdown.MatchString(label) {
			t.Errorf("the resend button right after a send: disabled %v, %q; want a countdown", disabled, label)
		}
		shot("register-code")
		code := nthCode(t, ba.a, c.email, 1)

		ba.act(ctx, "typing a wrong code", "#code-error", chromedp.SendKeys(chromedp.CSS("#code"), wrongCode(code)))
		if got := ba.text(ctx, "#code-error"); got != c.wrong {
			t.Errorf("after a wrong code the page says %q, want %q", got, c.wrong)
		}
		if got := ba.focused(ctx); got != "code" {
			t.Errorf("after a wrong code the focus is on %q, want the code input", got)
		}
		shot("register-wrong-code")
		ba.act(ctx, "typing the code", "", chromedp.SendKeys(chromedp.CSS("#code"), code))
		ba.signedIn(ctx, c.email)

		// A second browser profile signs in, pasting the code.
		ctx = ba.b.Context()
		ba.start(ctx, c.ui, "", "/sign-in")
		shot("sign-in")
		ba.act(ctx, "asking for a sign-in code", "#code",
			chromedp.SendKeys(chromedp.CSS("#email"), c.email),
			chromedp.Click(chromedp.CSS("button[type=submit]")))
		shot("sign-in-code")
		code = nthCode(t, ba.a, c.email, 2)
		ba.act(ctx, "pasting the code", "", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const data = new DataTransfer();
			data.setData("text/plain", "Your code: %s %s");
			document.getElementById("code").dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
		})()`, code[:3], code[3:])))
		ba.signedIn(ctx, c.email)
	}
}

// TestTheFormsWorkWithJavaScriptOff: with scripts disabled, a person
// signs in with a password after resetting a forgotten one, pressing the
// buttons (nothing submits by itself, and no countdown runs).
func TestTheFormsWorkWithJavaScriptOff(t *testing.T) {
	ba := newBrowserApp(t)
	ba.a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"signIn": map[string]any{"methods": []map[string]any{
		{"identifier": "email", "verificationCode": true, "password": true, "isPasswordPrimary": true}}}}, http.StatusOK, nil)
	const email, fresh = "turing@example.com", "bombe machine 2"
	createUser(t, ba.a, email, "enigma machine 1")
	ctx := ba.b.Context()
	ba.b.Do(ctx, "turning scripts off", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	shot := func(name string) { ba.b.Look(ctx, "nojs-"+name, browsertest.OneForm) }
	ba.start(ctx, "", "", "/sign-in")
	ba.act(ctx, "going to the password page", "#password",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	shot("password")
	ba.act(ctx, "following forgot password", `form[action="/forgot-password"]`, chromedp.Click(chromedp.CSS(`a[href="/forgot-password"]`)))
	shot("forgot-password")
	ba.act(ctx, "asking for a reset code", `form[action="/forgot-password/verification-code"]`,
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	if got := ba.text(ctx, "#resend"); got != "Send a new code" {
		t.Errorf("without scripts the resend button says %q, want its label (no countdown)", got)
	}
	if got := ba.text(ctx, "#resend-wait"); !strings.HasPrefix(got, "You can ask for a new code in ") || !countdown.MatchString(got) {
		t.Errorf("without scripts the page says %q about the next code, want the server's wait", got)
	}
	shot("forgot-password-code")
	ba.act(ctx, "sending the reset code", "#confirm",
		chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, email, 1)),
		chromedp.Click(chromedp.CSS(`form[action="/forgot-password/verification-code"] button[type=submit]`)))
	shot("reset-password")
	ba.act(ctx, "choosing a new password", ".notice",
		chromedp.SendKeys(chromedp.CSS("#password"), fresh),
		chromedp.SendKeys(chromedp.CSS("#confirm"), fresh),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	if got := ba.text(ctx, ".notice"); got != "Password changed. Sign in with your new password." {
		t.Errorf("after the reset the page says %q", got)
	}
	shot("password-changed")
	ba.act(ctx, "going on to the password page", "#password", chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "signing in with the new password", "",
		chromedp.SendKeys(chromedp.CSS("#password"), fresh),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.signedIn(ctx, email)
}

// TestTheOtherPagesInTheBrowser: the cross-over pages, the pages that ask
// for a missing password or username and the error page, each as a person
// sees it.
func TestTheOtherPagesInTheBrowser(t *testing.T) {
	ba := newBrowserApp(t)
	const newcomer, member = "newcomer@example.com", "member@example.com"
	createUser(t, ba.a, member, "")
	ctx := ba.b.Context()
	shot := func(name string) { ba.b.Look(ctx, name, browsertest.OneForm) }

	ba.b.Do(ctx, "opening the sign-in page without a sign-in", chromedp.Navigate(ba.a.BaseURL+"/sign-in"),
		chromedp.WaitVisible(chromedp.CSS("#page-error")))
	if got := ba.text(ctx, "#page-error"); got != "Session not found. Please go back and sign in again." {
		t.Errorf("the error page says %q", got)
	}
	shot("session-not-found")

	ba.start(ctx, "", "", "/sign-in")
	ba.act(ctx, "signing in with an address without an account", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), newcomer),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the code", `form[action="/sign-in/create-account"]`, chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, newcomer, 1)))
	if got := ba.focused(ctx); got != "confirm" {
		t.Errorf("the cross-over page focuses %q, want its button", got)
	}
	shot("create-account")
	ba.act(ctx, "creating the account", "", chromedp.Click(chromedp.CSS("#confirm")))
	ba.signedIn(ctx, newcomer)

	ctx = ba.b.Context()
	ba.start(ctx, "", "register", "/register")
	ba.act(ctx, "registering an address that has an account", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), member),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the code", `form[action="/register/existing-account"]`, chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, member, 1)))
	shot("existing-account")
	ba.act(ctx, "signing in instead", "", chromedp.Click(chromedp.CSS("#confirm")))
	ba.signedIn(ctx, member)

	ba.a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true, "password": true}}, http.StatusOK, nil)
	const third = "third@example.com"
	ctx = ba.b.Context()
	ba.start(ctx, "", "register", "/register")
	ba.act(ctx, "registering with a password to choose", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), third),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the code", "#confirm", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, third, 1)))
	shot("continue-password")
	ba.act(ctx, "choosing the password", "",
		chromedp.SendKeys(chromedp.CSS("#password"), "difference engine"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "difference engine"),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.signedIn(ctx, third)

	ba.a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true, "password": false,
		"secondaryIdentifiers": []map[string]any{{"identifier": "username", "verify": false}}}}, http.StatusOK, nil)
	const fourth = "fourth@example.com"
	ctx = ba.b.Context()
	ba.start(ctx, "", "register", "/register")
	ba.act(ctx, "registering with a username to choose", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), fourth),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the code", "#username", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, fourth, 1)))
	shot("continue-username")
	ba.act(ctx, "choosing the username", "",
		chromedp.SendKeys(chromedp.CSS("#username"), "fourth"),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.signedIn(ctx, fourth)
}

// TestAnInviteeAcceptsOnTheHostedPageInTheBrowser: in a real browser, an
// invitee opens the link from the invitation email, asks for a code,
// types the one from the dev inbox, and lands on the organization's return
// URL in the app, which signs the new member in.
func TestAnInviteeAcceptsOnTheHostedPageInTheBrowser(t *testing.T) {
	ba := newBrowserApp(t)
	const invitee = "iris@example.com"
	_, _, invID, path := invitedOrg(t, ba.a, ba.rp.srv.URL+"/login", invitee)
	ctx := ba.b.Context()
	shot := func(name string) { ba.b.Look(ctx, name, browsertest.OneForm) }

	ba.b.Do(ctx, "opening the invitation link", chromedp.Navigate(ba.a.BaseURL+path), chromedp.WaitVisible(chromedp.CSS("#send")))
	if got := ba.text(ctx, "h1"); got != "Join Acme Rockets" {
		t.Errorf("the accept page's heading is %q", got)
	}
	if got := ba.focused(ctx); got != "send" {
		t.Errorf("the accept page focuses %q, want its button", got)
	}
	shot("invitation")
	ba.act(ctx, "asking for a code", "#code", chromedp.Click(chromedp.CSS("#send")))
	shot("invitation-code")
	ba.act(ctx, "typing the code", "", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, invitee, 1)))
	ba.b.Do(ctx, "waiting for the sign-in page", chromedp.WaitVisible(chromedp.CSS("#email")))
	loc := browsertest.Get(ba.b, ctx, "reading where the browser is", chromedp.Location())
	if loc != ba.a.BaseURL+"/sign-in" {
		t.Fatalf("after accepting the browser is at %s, want the app's sign-in", loc)
	}
	var inv invitationState
	ba.a.JSON("GET", "/api/organization-invitations/"+invID, nil, http.StatusOK, &inv)
	if inv.Status != "Accepted" {
		t.Fatalf("the invitation is %s after the accept page", inv.Status)
	}
	ba.act(ctx, "signing in as the new member", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), invitee),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the sign-in code", "", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, invitee, 2)))
	ba.signedIn(ctx, invitee)
}
