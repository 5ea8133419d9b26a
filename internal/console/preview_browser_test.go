package console_test

import (
	"context"
	"strconv"
	"testing"
	"time"

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

// TestTheAdminWatchesThePreviewFollowTheForm: the admin turns on email
// sign-in by password and code, and the preview frame follows the unsaved
// form as it changes: the password screen, then the method turned off
// when the password box is unchecked, then the same in French; nothing
// is saved until Save.
func TestTheAdminWatchesThePreviewFollowTheForm(t *testing.T) {
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
}
