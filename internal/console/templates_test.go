package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/emailtemplate"
)

// inbox is the dev inbox's messages to addr, newest first.
func inbox(t *testing.T, a *apptest.App, addr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(addr), nil, http.StatusOK, &out)
	return out
}

// TestTheTemplatesTableShowsEveryUsageTypeByLanguage: every usage type
// has a row and every built-in language a column, a saved template reads
// Customised, and "Add a language" adds a column or says why not.
func TestTheTemplatesTableShowsEveryUsageTypeByLanguage(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PUT", "/api/email-templates", map[string]any{"templates": []map[string]any{{"languageTag": "fr", "templateType": "SignIn",
			"details": map[string]any{"subject": "Code {{code}}", "content": "<p>{{code}}</p>", "contentType": "text/html"}}}}, http.StatusOK, nil)
		v := signedIn(t, a)
		page := v.get("/console/templates")
		for _, u := range connector.UsageTypes() {
			for _, l := range emailtemplate.BuiltinLanguages() {
				want := "Default"
				if u == connector.UsageSignIn && l == "fr" {
					want = "Customised"
				}
				if got := page.byIDText("tpl-" + string(u) + "-" + l); got != want {
					t.Errorf("%s in %s reads %q, want %q", u, l, got, want)
				}
			}
		}
		if r := v.get("/console/templates?lang=pt_br"); r.byIDText("tpl-Register-pt-BR") != "Default" {
			t.Errorf("adding pt_br: no pt-BR column (%s)", r.alert())
		}
		if r := v.get("/console/templates?lang=not+a+tag!"); r.StatusCode != http.StatusBadRequest || r.fieldError("add-lang") == "" {
			t.Errorf("adding a bad tag: %d, %q", r.StatusCode, r.fieldError("add-lang"))
		}
	})
}

// TestAnEditedTemplateIsTheNextEmail: the editor starts from the built-in
// template, previews the unsaved edit, saves it, and the next code of
// that kind is sent with it; resetting brings the default back.
func TestAnEditedTemplateIsTheNextEmail(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		page := v.get("/console/templates/Generic/en")
		if page.StatusCode != http.StatusOK || page.h1() != "Generic email (en)" {
			t.Fatalf("editor: %d %q", page.StatusCode, page.h1())
		}
		if !strings.Contains(rawText(find(page.doc, byID("tpl-content"))), "{{code}}") {
			t.Fatal("the editor does not start from the built-in template")
		}
		if srcdoc, _ := attr(find(page.doc, byID("preview-html")), "srcdoc"); !strings.Contains(srcdoc, "123456") {
			t.Fatalf("the preview frame does not show the sample code: %.200s", srcdoc)
		}
		if sb, _ := attr(find(page.doc, byID("preview-html")), "sandbox"); sb != "" {
			t.Fatalf("the preview frame's sandbox is %q, want every restriction (an empty sandbox)", sb)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src 'self'") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
			t.Errorf("editor policy %q", csp)
		}
		edit := map[string]string{"subject": "Acme code {{code}}", "content": "<p>Your Acme code: <b>{{code}}</b></p>", "text": ""}
		previewed := v.submit(page, "/console/templates/Generic/en", "preview", edit)
		if previewed.StatusCode != http.StatusOK || previewed.byIDText("preview-subject") != "Acme code 123456" {
			t.Fatalf("preview: %d, subject %q %s", previewed.StatusCode, previewed.byIDText("preview-subject"), previewed.alert())
		}
		saved := v.submit(previewed, "/console/templates/Generic/en", "save", nil)
		if saved.StatusCode != http.StatusSeeOther || saved.Header.Get("Location") != "/console/templates/Generic/en?notice=template_saved" {
			t.Fatalf("save: %d to %q %s", saved.StatusCode, saved.Header.Get("Location"), saved.alert())
		}
		after := v.get(saved.Header.Get("Location"))
		if !strings.Contains(after.body, "The template is saved") || find(after.doc, byID("reset-template")) == nil {
			t.Fatal("after saving: no notice, or no reset button")
		}
		a.JSON("POST", "/api/verification-codes", map[string]any{"email": "ann@example.com", "locale": "en"}, http.StatusNoContent, nil)
		got := inbox(t, a, "ann@example.com")
		if len(got) != 1 || !strings.HasPrefix(got[0]["subject"].(string), "Acme code ") || !strings.Contains(got[0]["html"].(string), "Your Acme code") {
			t.Fatalf("the next email: %v", got)
		}
		reset := v.submit(after, "/console/templates/Generic/en/reset", "", nil)
		if reset.StatusCode != http.StatusSeeOther {
			t.Fatalf("reset: %d", reset.StatusCode)
		}
		if r := v.get("/console/templates/Generic/en"); find(r.doc, byID("reset-template")) != nil || strings.Contains(r.body, "Acme code") {
			t.Fatal("after the reset the editor still shows the saved template")
		}
	})
}

// TestTheEditorShowsARefusalNextToItsField: a placeholder the usage type
// does not provide and an empty subject are refused next to their field,
// and nothing is saved.
func TestTheEditorShowsARefusalNextToItsField(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		page := v.get("/console/templates/Generic/fr")
		r := v.submit(page, "/console/templates/Generic/fr", "save", map[string]string{"content": "<p>{{code}} {{user.name}}</p>"})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.fieldError("tpl-content"), "{{user.name}}") {
			t.Fatalf("unknown placeholder: %d, %q", r.StatusCode, r.fieldError("tpl-content"))
		}
		r = v.submit(page, "/console/templates/Generic/fr", "save", map[string]string{"subject": " "})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("tpl-subject") == "" {
			t.Fatalf("empty subject: %d, %q", r.StatusCode, r.fieldError("tpl-subject"))
		}
		var list []map[string]any
		a.JSON("GET", "/api/email-templates", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Fatalf("refused edits saved %v", list)
		}
		if r := v.get("/console/templates/Nope/en"); r.StatusCode != http.StatusNotFound {
			t.Fatalf("an unknown usage type: %d", r.StatusCode)
		}
	})
}

// TestTheLivePreviewRendersTheUnsavedForm: the preview endpoint renders
// what the form holds as a send would (values escaped in HTML), names the
// field a refusal is about, and needs the form's CSRF token.
func TestTheLivePreviewRendersTheUnsavedForm(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"emailBranding": map[string]any{"senderName": "Acme <b>Corp</b>"}}, http.StatusOK, nil)
		v := signedIn(t, a)
		csrf := v.get("/console/templates/SignIn/en").csrf()
		form := url.Values{"csrf": {csrf}, "usage": {"SignIn"}, "lang": {"en"}, "subject": {"Hi {{code}}"},
			"content": {"<p>{{branding.senderName}}: {{code}}</p>"}, "contentType": {"text/html"}}
		r := v.post("/console/templates/preview", form)
		var got struct{ Subject, HTML, Text, From, Error, Field string }
		if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.StatusCode != http.StatusOK {
			t.Fatalf("preview: %d %s", r.StatusCode, r.body)
		}
		if got.Subject != "Hi 123456" || !strings.Contains(got.HTML, "Acme &lt;b&gt;Corp&lt;/b&gt;: 123456") || !strings.Contains(got.Text, "123456") {
			t.Fatalf("preview = %+v", got)
		}
		form.Set("subject", "{{inviter.name}}")
		r = v.post("/console/templates/preview", form)
		got = struct{ Subject, HTML, Text, From, Error, Field string }{}
		_ = json.Unmarshal([]byte(r.body), &got)
		if got.Error == "" || got.Field != "tpl-content" && got.Field != "tpl-subject" {
			t.Fatalf("unknown placeholder in the preview: %+v", got)
		}
		form.Del("csrf")
		if r := v.post("/console/templates/preview", form); r.StatusCode != http.StatusForbidden {
			t.Fatalf("preview without the CSRF token: %d", r.StatusCode)
		}
	})
}

// TestBrandingIsCheckedAndShownInTheEmails: a logo that is not an https
// URL is refused next to its field; a saved branding shows in the
// preview and in the next email.
func TestBrandingIsCheckedAndShownInTheEmails(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		page := v.get("/console/branding")
		r := v.submit(page, "/console/branding", "", map[string]string{"senderName": "Acme", "logoUrl": "javascript:alert(1)"})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("brand-logo") == "" {
			t.Fatalf("bad logo: %d %q %s", r.StatusCode, r.fieldError("brand-logo"), r.alert())
		}
		r = v.submit(page, "/console/branding", "", map[string]string{"senderName": "Acme Login", "companyInformation": "Acme Inc, 1 Main St", "primaryColor": "#0f766e"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d %s", r.StatusCode, r.alert())
		}
		after := v.get(r.Header.Get("Location"))
		if after.value("brand-sender") != "Acme Login" || !strings.Contains(after.body, "Acme Inc, 1 Main St") {
			t.Fatal("the saved branding is not shown")
		}
		a.JSON("POST", "/api/verification-codes", map[string]any{"email": "bea@example.com"}, http.StatusNoContent, nil)
		got := inbox(t, a, "bea@example.com")
		if len(got) != 1 || !strings.Contains(got[0]["html"].(string), "Acme Inc, 1 Main St") || !strings.Contains(got[0]["from"].(string), "Acme Login") {
			t.Fatalf("the next email does not carry the branding: %v", got)
		}
		r = v.submit(after, "/console/branding", "", map[string]string{"companyInformation": ""})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("clearing a field: %d", r.StatusCode)
		}
		var exp map[string]any
		a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &exp)
		if b := exp["emailBranding"].(map[string]any); b["companyInformation"] != nil && b["companyInformation"] != "" {
			t.Fatalf("a cleared field is still set: %v", b)
		}
	})
}
