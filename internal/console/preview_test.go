package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/store/storetest"
)

const previewPath = "/console/sign-in-experience/preview"

// TestThePreviewShowsTheHostedPagesWithTheUnsavedSettings: the preview
// frame shows the hosted page a sign-in would show with the form as it
// is, saved or not (the password page loses its "Forgot your password?"
// link when password reset is turned off on the form, and says the method
// is off when password sign-in is), in English or French, inert and
// framed only by the console; the saved settings do not change.
func TestThePreviewShowsTheHostedPagesWithTheUnsavedSettings(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		page := v.get("/console/sign-in-experience")
		if r := v.submit(page, "/console/sign-in-experience", "", map[string]string{"signUp.identifier": "email",
			"method.0.identifier": "email", "method.0.password": "true", "method.0.verificationCode": "true",
			"method.0.isPasswordPrimary": "true", "forgotPassword": "true"}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving email sign-in: %d %s", r.StatusCode, r.alert())
		}
		page = v.get("/console/sign-in-experience")
		src, _ := attr(find(page.doc, byID("sign-in-preview")), "src")
		if !strings.HasPrefix(src, previewPath+"?") {
			t.Fatalf("the preview frame's address is %q", src)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src 'self'") {
			t.Fatalf("the page's policy %q does not allow its preview frame", csp)
		}
		if try := find(page.doc, byID("try-sign-in")); try == nil {
			t.Fatal("no Try sign-in link")
		} else if href, _ := attr(try, "href"); href != "/demo-app" {
			t.Fatalf("Try sign-in goes to %q, want the demo app", href)
		} else if target, _ := attr(try, "target"); target != "_blank" {
			t.Fatalf("Try sign-in opens in %q, want a new tab", target)
		}
		var offered []string
		for _, o := range findAll(find(page.doc, byID("preview-screen")), byTag("option")) {
			val, _ := attr(o, "value")
			if text(o) == "" {
				t.Errorf("the preview's screen %q has no label", val)
			}
			offered = append(offered, val)
		}
		if strings.Join(offered, " ") != strings.Join(a.App.Pages.PreviewScreens(), " ") {
			t.Errorf("the preview offers the screens %v, the pages render %v", offered, a.App.Pages.PreviewScreens())
		}
		frame := v.get(src)
		if frame.StatusCode != http.StatusOK || frame.h1() != "Sign in" || find(frame.doc, byID("email")) == nil {
			t.Fatalf("the saved settings' preview: %d %q", frame.StatusCode, frame.h1())
		}
		if csp := frame.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") || frame.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
			t.Fatalf("the preview may not be framed by the console: %q, X-Frame-Options %q", csp, frame.Header.Get("X-Frame-Options"))
		}
		if _, inert := attr(find(frame.doc, byTag("main")), "inert"); !inert || strings.Contains(frame.body, "autofocus") {
			t.Fatal("the preview can be used: its page is not inert, or takes the focus")
		}

		preview := func(set map[string]string) response {
			t.Helper()
			return v.post(previewPath, v.formValues(page, "/console/sign-in-experience", set))
		}
		r := preview(map[string]string{"preview.screen": "password"})
		if r.StatusCode != http.StatusOK || r.h1() != "Enter your password" || !strings.Contains(r.body, "Forgot your password?") {
			t.Fatalf("password screen: %d %q", r.StatusCode, r.h1())
		}
		r = preview(map[string]string{"preview.screen": "password", "forgotPassword": ""})
		if r.h1() != "Enter your password" || strings.Contains(r.body, "Forgot your password?") {
			t.Fatalf("password reset turned off on the form: %q, the link is still there: %v", r.h1(), strings.Contains(r.body, "Forgot your password?"))
		}
		r = preview(map[string]string{"preview.screen": "password", "method.0.password": "", "method.0.isPasswordPrimary": "", "preview.lang": "fr"})
		if r.lang() != "fr" || !strings.Contains(r.body, "Ce mode de connexion n’est pas disponible ici.") || find(r.doc, byID("password")) != nil {
			t.Fatalf("password sign-in turned off, in French: lang %q, %q", r.lang(), r.alert())
		}
		r = preview(map[string]string{"preview.screen": "sign-in", "signInMode": "Register"})
		if r.h1() != "Create your account" {
			t.Fatalf("a tenant that only registers: the sign-in screen shows %q, want the registration page", r.h1())
		}

		var exp map[string]any
		a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &exp)
		methods := exp["signIn"].(map[string]any)["methods"].([]any)
		if exp["signInMode"] != "SignInAndRegister" || len(exp["forgotPasswordMethods"].([]any)) != 1 || methods[0].(map[string]any)["password"] != true {
			t.Fatalf("previewing changed the saved settings: %v", exp)
		}
	})
}

// TestThePreviewOfRefusedSettingsSaysWhy: settings saving would refuse
// (a number out of range, a method without a factor) show the reason in
// the frame, as saving would give it, and nothing is saved.
func TestThePreviewOfRefusedSettingsSaysWhy(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		page := v.get("/console/sign-in-experience")
		r := v.post(previewPath, v.formValues(page, "/console/sign-in-experience", map[string]string{"verificationCodePolicy.sendLimit": "0"}))
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.alert(), "sendLimit") ||
			r.Header.Get("X-Frame-Options") != "SAMEORIGIN" || find(r.doc, byTag("nav")) != nil {
			t.Fatalf("send limit 0: %d %q, X-Frame-Options %q", r.StatusCode, r.alert(), r.Header.Get("X-Frame-Options"))
		}
		r = v.post(previewPath, v.formValues(page, "/console/sign-in-experience", map[string]string{"method.0.identifier": "email"}))
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.alert(), "at least one authentication factor") {
			t.Fatalf("a method with no factor: %d %q", r.StatusCode, r.alert())
		}
		var exp map[string]any
		a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &exp)
		if len(exp["signIn"].(map[string]any)["methods"].([]any)) != 0 {
			t.Fatalf("a refused preview saved: %v", exp["signIn"])
		}
	})
}

// TestThePreviewNeedsAnAdminSessionAndTheCSRFToken: without a console
// session the preview sends the browser to sign in (or refuses a form),
// and a form without the page's CSRF token is refused.
func TestThePreviewNeedsAnAdminSessionAndTheCSRFToken(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		anon := newVisitor(t, a)
		if r := anon.get(previewPath + "?screen=sign-in"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/sign-in?next=") {
			t.Fatalf("signed out, the preview: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := anon.post(previewPath, url.Values{"signInMode": {"SignIn"}}); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("signed out, a preview form: %d, want 401", r.StatusCode)
		}
		v := signedIn(t, a)
		page := v.get("/console/sign-in-experience")
		values := v.formValues(page, "/console/sign-in-experience", nil)
		values.Del("csrf")
		if r := v.post(previewPath, values); r.StatusCode != http.StatusForbidden {
			t.Fatalf("a preview form without the CSRF token: %d, want 403", r.StatusCode)
		}
		values.Set("csrf", "forged")
		if r := v.post(previewPath, values); r.StatusCode != http.StatusForbidden {
			t.Fatalf("a preview form with a wrong CSRF token: %d, want 403", r.StatusCode)
		}
	})
}

// TestWithoutTheDemoAppThereIsNoTrySignIn: with --demo-app=false the
// preview stays and the "Try sign-in" link is not shown.
func TestWithoutTheDemoAppThereIsNoTrySignIn(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t), apptest.WithSettings(func(s *config.Settings) { s.NoDemoApp = true }))
	page := signedIn(t, a).get("/console/sign-in-experience")
	if find(page.doc, byID("sign-in-preview")) == nil || find(page.doc, byID("try-sign-in")) != nil {
		t.Fatal("without the demo app: the preview is gone or Try sign-in is still offered")
	}
}
