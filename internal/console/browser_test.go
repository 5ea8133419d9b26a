package console_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/browsertest"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/testwait"
)

// consoleBrowser is a browser on a running app, for the console's tests.
type consoleBrowser struct {
	t *testing.T
	b *browsertest.Browser
	a *apptest.App
}

// page opens path, waits for its heading, saves a screenshot named name
// and runs the accessibility check on it.
func (cb *consoleBrowser) page(ctx context.Context, name, path string) {
	cb.t.Helper()
	cb.b.Do(ctx, "opening "+path, chromedp.Navigate(cb.a.BaseURL+path), chromedp.WaitVisible(chromedp.CSS("h1")))
	cb.look(ctx, name)
}

// look saves a screenshot of the page in ctx and checks its accessibility.
func (cb *consoleBrowser) look(ctx context.Context, name string) {
	cb.t.Helper()
	cb.b.Screenshot(ctx, name)
	cb.b.CheckAccessibility(ctx, name)
}

func (cb *consoleBrowser) text(ctx context.Context, sel string) string {
	cb.t.Helper()
	return browsertest.Get(cb.b, ctx, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// set puts value in the input, text area or select with that ID, as if
// typed or chosen (input and change events fire).
func (cb *consoleBrowser) set(ctx context.Context, id, value string) {
	cb.t.Helper()
	cb.b.Do(ctx, "setting #"+id, chromedp.WaitVisible(chromedp.CSS("#"+id)),
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById(`+strconv.Quote(id)+`); e.value = `+strconv.Quote(value)+`;
			e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); })()`))
}

// check sets a checkbox on or off.
func (cb *consoleBrowser) check(ctx context.Context, id string, on bool) {
	cb.t.Helper()
	cb.b.Do(ctx, "setting #"+id, chromedp.Evaluate[chromedp.Void](`document.getElementById(`+strconv.Quote(id)+`).checked = `+strconv.FormatBool(on)))
}

// TestAnAdminSetsUpEmailInTheBrowser: a new admin signs in with the admin
// key, sets up SMTP against a real SMTP server (the sink) in the guide,
// checks the connection, sends a test that arrives, saves, edits the
// Generic template and sees the edit in the live preview and then in the
// next code email. Every page is screenshotted and passes the
// accessibility check.
func TestAnAdminSetsUpEmailInTheBrowser(t *testing.T) {
	sink := startSink(t)
	a := apptest.New(t, storetest.SQLiteURL(t))
	// A code sent while the dev inbox is active, for the inbox's pages.
	a.JSON("POST", "/api/verification-codes", map[string]any{"email": "early@example.com"}, http.StatusNoContent, nil)
	b := browsertest.New(t)
	cb := &consoleBrowser{t: t, b: b, a: a}
	ctx := b.Context()

	cb.page(ctx, "sign-in", "/console/connectors")
	if loc := browsertest.Get(b, ctx, "reading the location", chromedp.Location()); !strings.Contains(loc, "/console/sign-in?next=") {
		t.Fatalf("signed out, /console/connectors went to %s", loc)
	}
	b.Do(ctx, "typing the admin key", chromedp.SendKeys(chromedp.CSS("#key"), a.AdminKey))
	b.Navigating(ctx, "signing in", chromedp.Click(chromedp.CSS("form[action='/console/sign-in'] button")))
	if h := cb.text(ctx, "h1"); h != "Email connector" {
		t.Fatalf("after signing in the page is %q", h)
	}
	cb.look(ctx, "connectors-dev-inbox")
	if !strings.Contains(cb.text(ctx, ".banner"), "Mail is not being sent.") {
		t.Fatal("no dev inbox banner")
	}

	b.Navigating(ctx, "opening the SMTP guide", chromedp.Click(chromedp.CSS("#factory-smtp a.button")))
	cb.look(ctx, "setup-smtp")
	cb.set(ctx, "config-host", "127.0.0.1")
	cb.set(ctx, "config-port", strconv.Itoa(sink.Port()))
	cb.set(ctx, "config-fromEmail", "Acme <no-reply@acme.test>")
	cb.set(ctx, "config-auth-type", "")
	cb.set(ctx, "config-auth-user", "")
	cb.check(ctx, "config-requireTLS", false)
	cb.check(ctx, "config-ignoreTLS", true)
	b.Navigating(ctx, "checking the connection", chromedp.Click(chromedp.CSS("#check")))
	if r := cb.text(ctx, "#result"); !strings.Contains(r, "The connection and the credentials work.") {
		t.Fatalf("check: %q", r)
	}
	cb.look(ctx, "setup-smtp-checked")
	cb.set(ctx, "test-email", "admin@example.com")
	b.Navigating(ctx, "sending a test email", chromedp.Click(chromedp.CSS("#send-test")))
	if r := cb.text(ctx, "#result"); !strings.Contains(r, "accepted for admin@example.com") {
		t.Fatalf("test: %q", r)
	}
	testwait.Until(t, 10*time.Second, func() bool { return len(sink.To("admin@example.com")) == 1 }, "the test email arrives")
	cb.look(ctx, "setup-smtp-tested")
	b.Navigating(ctx, "saving", chromedp.Click(chromedp.CSS("#save")))
	if n := cb.text(ctx, ".notice"); !strings.Contains(n, "Saved.") {
		t.Fatalf("after saving: %q", n)
	}
	cb.look(ctx, "connectors-smtp")

	cb.page(ctx, "templates", "/console/templates")
	b.Navigating(ctx, "opening the Generic template", chromedp.Click(chromedp.CSS("#tpl-Generic-en")))
	cb.look(ctx, "editor")
	before := cb.text(ctx, "#preview-subject")
	cb.set(ctx, "tpl-subject", "Acme sign-in code {{code}}")
	testwait.Until(t, 10*time.Second, func() bool { return cb.text(ctx, "#preview-subject") == "Acme sign-in code 123456" },
		"the live preview shows the new subject (it showed %q)", before)
	cb.set(ctx, "tpl-content", `<p style="color:#0f766e">Your Acme code is <b>{{code}}</b>.</p>`)
	testwait.Until(t, 10*time.Second, func() bool {
		// The sandboxed frame is of no origin, so the page cannot read
		// into it: its srcdoc is what it shows.
		html := browsertest.Get(b, ctx, "reading the preview frame", chromedp.Evaluate[string](`document.getElementById('preview-html').srcdoc`))
		return strings.Contains(html, "Your Acme code is <b>123456</b>.")
	}, "the preview frame shows the new content")
	cb.look(ctx, "editor-previewed")
	b.Navigating(ctx, "saving the template", chromedp.Click(chromedp.CSS("#save-template")))
	if n := cb.text(ctx, ".notice"); !strings.Contains(n, "The template is saved") {
		t.Fatalf("after saving the template: %q", n)
	}
	a.JSON("POST", "/api/verification-codes", map[string]any{"email": "user@example.com", "locale": "en"}, http.StatusNoContent, nil)
	testwait.Until(t, 10*time.Second, func() bool { return len(sink.To("user@example.com")) == 1 }, "the code email arrives")
	got := sink.To("user@example.com")[0]
	if subj := got.Header.Get("Subject"); !strings.HasPrefix(subj, "Acme sign-in code ") {
		t.Fatalf("the next email's subject is %q", subj)
	}
	if !strings.Contains(string(got.Raw), "Your Acme code is") {
		t.Fatal("the next email does not have the edited content")
	}

	for _, p := range []struct{ name, path string }{
		{"overview", "/console"},
		{"branding", "/console/branding"},
		{"delivery-log", "/console/messages"},
		{"dev-inbox", "/console/inbox"},
		{"deliverability", "/console/deliverability"},
	} {
		cb.page(ctx, p.name, p.path)
	}
	b.Navigating(ctx, "making a DKIM key", chromedp.Click(chromedp.CSS("#make-key")))
	cb.look(ctx, "deliverability-dkim")
	cb.page(ctx, "delivery-log-filtered", "/console/messages?status=sent&since=1h")
	b.Navigating(ctx, "opening a message", chromedp.Click(chromedp.CSS("table.messages a")))
	cb.look(ctx, "message")
	cb.page(ctx, "dev-inbox", "/console/inbox")
	b.Navigating(ctx, "opening a dev inbox message", chromedp.Click(chromedp.CSS("table.inbox a")))
	cb.look(ctx, "dev-inbox-message")
	cb.page(ctx, "sign-in-experience", "/console/sign-in-experience")
	cb.set(ctx, "signup-identifier", "email")
	cb.set(ctx, "method-0-identifier", "email")
	cb.check(ctx, "method-0-code", true)
	b.Navigating(ctx, "turning on email sign-in by code", chromedp.Click(chromedp.CSS("#save-sign-in-exp")))
	if n := cb.text(ctx, ".notice"); !strings.Contains(n, "The sign-in experience is saved") {
		t.Fatalf("after turning on email sign-in: %q", n)
	}
	cb.look(ctx, "sign-in-experience-saved")
	a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "ann@example.com", "name": "Ann"}, http.StatusOK, nil)
	cb.page(ctx, "users", "/console/users")
	b.Navigating(ctx, "opening a user", chromedp.Click(chromedp.CSS("table.users a")))
	cb.look(ctx, "user")
	cb.page(ctx, "applications", "/console/applications")
	cb.set(ctx, "app-name", "Acme web")
	cb.set(ctx, "app-redirects", "https://app.acme.test/callback")
	b.Navigating(ctx, "creating an application", chromedp.Click(chromedp.CSS("#create-app")))
	if secret := browsertest.Get(b, ctx, "reading the secret", chromedp.Value(chromedp.CSS("#app-secret"))); len(secret) < 20 {
		t.Fatalf("the new application's secret is %q", secret)
	}
	cb.look(ctx, "application-created")
	cb.page(ctx, "applications-list", "/console/applications")
	b.Navigating(ctx, "opening the application", chromedp.Click(chromedp.CSS("table.applications a")))
	cb.look(ctx, "application")
	var org, role struct {
		ID string `json:"id"`
	}
	a.JSON("POST", "/api/organization-roles", map[string]any{"name": "editor", "description": "Edits the workspace"}, http.StatusCreated, &role)
	a.JSON("POST", "/api/organizations", map[string]any{"name": "Acme", "description": "Rockets"}, http.StatusCreated, &org)
	cb.page(ctx, "organizations", "/console/organizations")
	b.Navigating(ctx, "opening the organization", chromedp.Click(chromedp.CSS("table.organizations a")))
	cb.set(ctx, "member-user", "ann@example.com")
	b.Navigating(ctx, "adding a member", chromedp.Click(chromedp.CSS("#add-member")))
	cb.set(ctx, "invite-email", "dana@example.com")
	cb.check(ctx, "invite-role-"+role.ID, true)
	b.Navigating(ctx, "inviting an address", chromedp.Click(chromedp.CSS("#invite")))
	if n := cb.text(ctx, ".notice"); !strings.Contains(n, "The invitation is sent") {
		t.Fatalf("after inviting: %q", n)
	}
	cb.look(ctx, "organization")
	cb.page(ctx, "organization-roles", "/console/organization-roles")
	cb.page(ctx, "connectors", "/console/connectors")
	b.Navigating(ctx, "asking to delete the connector", chromedp.Click(chromedp.CSS("#delete-connector")))
	cb.look(ctx, "delete")
	cb.page(ctx, "not-found", "/console/nothing-here")
}

// TestTheFrenchConsoleRenders: the language chosen on the sign-in page
// carries through the console, and every page reads French.
func TestTheFrenchConsoleRenders(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	b := browsertest.New(t)
	cb := &consoleBrowser{t: t, b: b, a: a}
	ctx := b.Context()
	cb.page(ctx, "sign-in-en", "/console/sign-in")
	cb.set(ctx, "language-choice", "fr")
	b.Navigating(ctx, "choosing French", chromedp.Click(chromedp.CSS("form.language button")))
	if h := cb.text(ctx, "h1"); h != "Se connecter à la console" {
		t.Fatalf("after choosing French the heading is %q", h)
	}
	cb.look(ctx, "sign-in-fr")
	b.Do(ctx, "typing the admin key", chromedp.SendKeys(chromedp.CSS("#key"), a.AdminKey))
	b.Navigating(ctx, "signing in", chromedp.Click(chromedp.CSS("form[action='/console/sign-in'] button")))
	for _, p := range []struct{ name, path, h1 string }{
		{"overview-fr", "/console", "Vue d’ensemble"},
		{"connectors-fr", "/console/connectors", "Connecteur e-mail"},
		{"setup-fr", "/console/connectors/setup/sendgrid", "Configurer SendGrid"},
		{"templates-fr", "/console/templates", "Modèles d’e-mail"},
		{"editor-fr", "/console/templates/SignIn/fr", "E-mail SignIn (fr)"},
		{"branding-fr", "/console/branding", "Identité visuelle"},
		{"deliverability-fr", "/console/deliverability", "Délivrabilité"},
		{"delivery-log-fr", "/console/messages", "Journal d’envoi"},
		{"dev-inbox-fr", "/console/inbox", "Boîte de développement"},
		{"sign-in-experience-fr", "/console/sign-in-experience", "Expérience de connexion"},
		{"users-fr", "/console/users", "Utilisateurs"},
		{"applications-fr", "/console/applications", "Applications"},
		{"organizations-fr", "/console/organizations", "Organisations"},
		{"organization-roles-fr", "/console/organization-roles", "Rôles d’organisation"},
	} {
		cb.page(ctx, p.name, p.path)
		if h := cb.text(ctx, "h1"); h != p.h1 {
			t.Errorf("%s: heading %q, want %q", p.path, h, p.h1)
		}
		if lang := browsertest.Get(b, ctx, "reading the language", chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "fr" {
			t.Errorf("%s: <html lang=%q>", p.path, lang)
		}
	}
}
