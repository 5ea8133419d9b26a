package pages_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/browsertest"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/tenant"
)

// countdown is a wait as the resend button counts it down.
var countdown = regexp.MustCompile(`\b[01]:\d\d\b`)

// browserApp is an authmail and an app to sign in to, for a browser.
type browserApp struct {
	t   *testing.T
	a   *apptest.App
	c   *completer
	b   *browsertest.Browser
	app *httptest.Server
}

// newBrowserApp starts authmail (SQLite) with the flows of newApp, an app
// whose callback page says who signed in, and a browser.
func newBrowserApp(t *testing.T) *browserApp {
	t.Helper()
	b := browsertest.New(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>App</title><h1 id="signed-in">Signed in</h1><p id="request">%s</p>`, r.URL.Query().Get("request"))
	}))
	t.Cleanup(app.Close)
	a, c := newApp(t, storetest.SQLiteURL(t))
	c.to = app.URL + "/callback"
	return &browserApp{t: t, a: a, c: c, b: b, app: app}
}

// start begins a sign-in in the browser's profile, as /oidc/auth does:
// the interaction cookie is set, and the browser opens the page.
func (ba *browserApp) start(ctx context.Context, req experience.AuthRequest, page string) string {
	ba.t.Helper()
	if req.ID == "" {
		req.ID = fmt.Sprintf("authreq-%d", requestIDs.Add(1))
	}
	req.ClientID = "app-1"
	res, err := ba.a.App.Experience.Start(context.Background(), tenant.Default, req, "")
	if err != nil {
		ba.t.Fatalf("starting a sign-in: %v", err)
	}
	ba.b.Do(ctx, "giving the browser its sign-in", chromedp.Navigate(ba.a.BaseURL+"/healthz"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: experience.InteractionCookie,
				Value: res.InteractionCookie, URL: ba.a.BaseURL, HTTPOnly: new(true)})
			return err
		}),
		chromedp.Navigate(ba.a.BaseURL+page))
	return req.ID
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

// focused is the ID of the element that has the focus.
func (ba *browserApp) focused(ctx context.Context) string {
	return browsertest.Get(ba.b, ctx, "reading the focus", chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
}

// text is the text of the element sel.
func (ba *browserApp) text(ctx context.Context, sel string) string {
	return strings.Join(strings.Fields(browsertest.Get(ba.b, ctx, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))), " ")
}

// signedIn waits for the app's page and checks the sign-in it ended was
// for req.
func (ba *browserApp) signedIn(ctx context.Context, req string) {
	ba.t.Helper()
	ba.b.Do(ctx, "waiting for the app", chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	if got := ba.text(ctx, "#request"); got != req {
		ba.t.Fatalf("the app got the sign-in of request %q, want %q", got, req)
	}
	if l, ok := ba.c.login(req); !ok || l.UserID == "" {
		ba.t.Fatalf("request %s completed with %+v", req, l)
	}
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
		ui          []string
		heading     string
		wrong       string
	}{
		{"en", "ada@example.com", nil, "Check your email", "This code is not right. Check the email we sent you and try again."},
		{"fr", "adele@example.fr", []string{"fr-CA", "fr"}, "Consultez vos e-mails", "Ce code n’est pas le bon. Vérifiez l’e-mail que nous vous avons envoyé et réessayez."},
	} {
		ctx := ba.b.Context()
		shot := func(name string) { ba.b.Screenshot(ctx, c.lang+"-"+name) }

		req := ba.start(ctx, experience.AuthRequest{UILocales: c.ui, FirstScreen: "register"}, "/register")
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
		ba.signedIn(ctx, req)

		// A second browser profile signs in, pasting the code.
		ctx = ba.b.Context()
		req = ba.start(ctx, experience.AuthRequest{UILocales: c.ui}, "/sign-in")
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
		ba.signedIn(ctx, req)
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
	shot := func(name string) { ba.b.Screenshot(ctx, "nojs-"+name) }
	req := ba.start(ctx, experience.AuthRequest{}, "/sign-in")
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
	ba.signedIn(ctx, req)
}

// TestTheOtherPagesInTheBrowser: the cross-over pages, the page that asks
// for a missing password and the error page, each as a person sees it.
func TestTheOtherPagesInTheBrowser(t *testing.T) {
	ba := newBrowserApp(t)
	const newcomer, member = "newcomer@example.com", "member@example.com"
	createUser(t, ba.a, member, "")
	ctx := ba.b.Context()
	shot := func(name string) { ba.b.Screenshot(ctx, name) }

	ba.b.Do(ctx, "opening the sign-in page without a sign-in", chromedp.Navigate(ba.a.BaseURL+"/sign-in"),
		chromedp.WaitVisible(chromedp.CSS("#page-error")))
	if got := ba.text(ctx, "#page-error"); got != "Session not found. Please go back and sign in again." {
		t.Errorf("the error page says %q", got)
	}
	shot("session-not-found")

	req := ba.start(ctx, experience.AuthRequest{}, "/sign-in")
	ba.act(ctx, "signing in with an address without an account", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), newcomer),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the code", `form[action="/sign-in/create-account"]`, chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, newcomer, 1)))
	if got := ba.focused(ctx); got != "confirm" {
		t.Errorf("the cross-over page focuses %q, want its button", got)
	}
	shot("create-account")
	ba.act(ctx, "creating the account", "", chromedp.Click(chromedp.CSS("#confirm")))
	ba.signedIn(ctx, req)

	ctx = ba.b.Context()
	req = ba.start(ctx, experience.AuthRequest{}, "/register")
	ba.act(ctx, "registering an address that has an account", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), member),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the code", `form[action="/register/existing-account"]`, chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, member, 1)))
	shot("existing-account")
	ba.act(ctx, "signing in instead", "", chromedp.Click(chromedp.CSS("#confirm")))
	ba.signedIn(ctx, req)

	ba.a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true, "password": true}}, http.StatusOK, nil)
	const third = "third@example.com"
	ctx = ba.b.Context()
	req = ba.start(ctx, experience.AuthRequest{}, "/register")
	ba.act(ctx, "registering with a password to choose", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), third),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.act(ctx, "typing the code", "#confirm", chromedp.SendKeys(chromedp.CSS("#code"), nthCode(t, ba.a, third, 1)))
	shot("continue-password")
	ba.act(ctx, "choosing the password", "",
		chromedp.SendKeys(chromedp.CSS("#password"), "difference engine"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "difference engine"),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	ba.signedIn(ctx, req)
}
