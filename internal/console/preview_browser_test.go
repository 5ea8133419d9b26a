package console_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/browsertest"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/testwait"
)

// toggle sets a checkbox on or off as a click would, so the form's
// change event fires.
func (cb *consoleBrowser) toggle(ctx context.Context, id string, on bool) {
	cb.t.Helper()
	cb.b.Do(ctx, "setting #"+id, chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById(`+strconv.Quote(id)+`);
		e.checked = `+strconv.FormatBool(on)+`; e.dispatchEvent(new Event('change', {bubbles: true})); })()`))
}

// lookHosted saves a screenshot of a hosted sign-in page and checks its
// accessibility as a page of one form.
func (cb *consoleBrowser) lookHosted(ctx context.Context, name string) {
	cb.t.Helper()
	cb.b.Look(ctx, name, browsertest.OneForm)
}

// inPreview evaluates a JavaScript expression in the preview frame's
// document (d), once it has one.
func (cb *consoleBrowser) inPreview(ctx context.Context, expr string) string {
	cb.t.Helper()
	return browsertest.Get(cb.b, ctx, "reading the preview", chromedp.Evaluate[string](`(() => {
		const d = document.getElementById('sign-in-preview').contentDocument;
		if (!d || !d.body) { return ''; }
		return String(`+expr+`); })()`))
}

// previewHeading is the heading of the page the preview frame shows.
func (cb *consoleBrowser) previewHeading(ctx context.Context) string {
	cb.t.Helper()
	return cb.inPreview(ctx, `d.querySelector('h1') ? d.querySelector('h1').textContent : ''`)
}

// TestTheAdminTurnsOnEmailSignInAndTriesIt: the admin turns on email
// sign-in by password and code, and the preview frame follows the unsaved
// form as it changes (the password screen, then the method turned off
// when the password box is unchecked, then the same in French); the
// admin saves, clicks "Try sign-in", signs in in the new tab with a code
// read from the dev inbox, and sees the demo application's signed-in
// page with the address, and signs out there.
func TestTheAdminTurnsOnEmailSignInAndTriesIt(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	b := browsertest.New(t)
	cb := &consoleBrowser{t: t, b: b, a: a}
	ctx := b.Context()
	cb.page(ctx, "sign-in", "/console/sign-in")
	b.Do(ctx, "typing the admin key", chromedp.SendKeys(chromedp.CSS("#key"), a.AdminKey))
	b.Navigating(ctx, "signing in", chromedp.Click(chromedp.CSS("form[action='/console/sign-in'] button")))

	cb.page(ctx, "sign-in-experience", "/console/sign-in-experience")
	wait := func(want, why string) {
		t.Helper()
		testwait.Until(t, 10*time.Second, func() bool { return cb.previewHeading(ctx) == want }, "%s (the preview shows %q)", why, cb.previewHeading(ctx))
	}
	wait("Sign-in cannot continue", "the preview frame shows that a new tenant has no sign-in method")
	cb.set(ctx, "signup-identifier", "email")
	cb.set(ctx, "method-0-identifier", "email")
	cb.toggle(ctx, "method-0-password", true)
	cb.toggle(ctx, "method-0-code", true)
	cb.toggle(ctx, "forgot-password", true)
	wait("Sign in", "the sign-in page of the unsaved email sign-in")
	if cb.inPreview(ctx, `!!d.querySelector('a[href="/register"]')`) != "true" {
		t.Fatal("the sign-in screen does not offer to create an account with email sign-up on")
	}
	cb.set(ctx, "preview-screen", "password")
	wait("Enter your password", "the password screen of the unsaved email sign-in")
	if cb.inPreview(ctx, `!!d.querySelector('#password')`) != "true" {
		t.Fatal("the password screen has no password field")
	}
	cb.look(ctx, "sign-in-experience-preview-password")
	cb.toggle(ctx, "method-0-password", false)
	testwait.Until(t, 10*time.Second, func() bool { return cb.inPreview(ctx, `!d.querySelector('#password')`) == "true" },
		"the password field leaves the preview when password sign-in is turned off")
	if alert := cb.inPreview(ctx, `d.querySelector('[role=alert]') ? d.querySelector('[role=alert]').textContent : ''`); alert != "This way of signing in is not available here." {
		t.Fatalf("the preview of the password screen without password sign-in says %q", alert)
	}
	cb.set(ctx, "preview-lang", "fr")
	wait("La connexion ne peut pas continuer", "the preview in French")
	cb.look(ctx, "sign-in-experience-preview-off-fr")
	cb.set(ctx, "preview-screen", "sign-in")
	wait("Connexion", "the French sign-in screen")
	cb.set(ctx, "preview-lang", "en")
	wait("Sign in", "the English sign-in screen")

	b.Navigating(ctx, "saving email sign-in by code", chromedp.Click(chromedp.CSS("#save-sign-in-exp")))
	if n := cb.text(ctx, ".notice"); !strings.Contains(n, "The sign-in experience is saved") {
		t.Fatalf("after saving: %q", n)
	}
	cb.look(ctx, "sign-in-experience-saved")
	a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "ann@example.com", "name": "Ann"}, http.StatusOK, nil)

	opened := chromedp.WaitNewTarget(ctx, func(*target.Info) bool { return true })
	b.Do(ctx, "clicking Try sign-in", chromedp.Click(chromedp.CSS("#try-sign-in")))
	id, ok := <-opened
	if !ok {
		t.Fatal("Try sign-in opened no tab")
	}
	tab, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	defer cancel()
	b.Do(tab, "waiting for the hosted sign-in page", chromedp.WaitVisible(chromedp.CSS("form[action='/sign-in'] #email")))
	cb.lookHosted(tab, "try-sign-in")
	b.Do(tab, "typing the address", chromedp.SendKeys(chromedp.CSS("#email"), "ann@example.com"))
	b.Navigating(tab, "asking for a code", chromedp.Click(chromedp.CSS("form[action='/sign-in'] button")))
	b.Do(tab, "waiting for the code page", chromedp.WaitVisible(chromedp.CSS("#code")))
	cb.lookHosted(tab, "try-code")
	var code string
	testwait.Until(t, 15*time.Second, func() bool {
		var msgs []struct {
			Payload map[string]any `json:"payload"`
		}
		a.JSON("GET", "/api/dev-inbox/messages?to=ann%40example.com", nil, http.StatusOK, &msgs)
		if len(msgs) > 0 {
			code, _ = msgs[0].Payload["code"].(string)
		}
		return code != ""
	}, "the sign-in code reaches the dev inbox")
	// The last digit submits the form.
	b.Navigating(tab, "typing the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	b.Do(tab, "waiting for the demo app", chromedp.WaitVisible(chromedp.CSS("#claim-email")))
	if email := cb.text(tab, "#claim-email"); email != "ann@example.com" {
		t.Fatalf("the demo app says %q signed in", email)
	}
	if h := cb.text(tab, "h1"); h != "You are signed in" {
		t.Fatalf("the demo app's heading is %q", h)
	}
	cb.look(tab, "demo-app-signed-in")
	b.Navigating(tab, "signing out of the demo app", chromedp.Click(chromedp.CSS("#sign-out")))
	b.Do(tab, "waiting for the signed-out page", chromedp.WaitVisible(chromedp.CSS("#sign-in-again")))
	cb.look(tab, "demo-app-signed-out")
}
