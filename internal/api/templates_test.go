package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

type emailTemplate struct {
	ID           string `json:"id"`
	TenantID     string `json:"tenantId"`
	LanguageTag  string `json:"languageTag"`
	TemplateType string `json:"templateType"`
	Details      struct {
		Subject     string `json:"subject"`
		Content     string `json:"content"`
		ContentType string `json:"contentType"`
		ReplyTo     string `json:"replyTo"`
		SendFrom    string `json:"sendFrom"`
	} `json:"details"`
	CreatedAt int64 `json:"createdAt"`
}

type preview struct {
	Subject  string `json:"subject"`
	HTML     string `json:"html"`
	Text     string `json:"text"`
	Language string `json:"language"`
	Source   string `json:"source"`
}

var frGeneric = map[string]any{"languageTag": "fr", "templateType": "Generic", "details": map[string]any{
	"subject": "Votre code {{code}}", "content": "<p>Bonjour, voici le code : <b>{{code}}</b></p>", "contentType": "text/html"}}

// TestEmailTemplates covers the template routes and their effect on the
// codes sent.
func TestEmailTemplates(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var saved []emailTemplate
		a.JSON("PUT", "/api/email-templates", map[string]any{"templates": []any{frGeneric,
			map[string]any{"languageTag": "de", "templateType": "SignIn", "details": map[string]any{"subject": "Anmeldung", "content": "Code {{code}}", "contentType": "text/plain"}}}},
			http.StatusOK, &saved)
		if len(saved) != 2 || saved[0].LanguageTag != "fr" || saved[0].TemplateType != "Generic" || saved[0].ID == "" || saved[0].TenantID != "default" {
			t.Fatalf("PUT answered %+v", saved)
		}
		fr := saved[0]

		// List, filtered list, get.
		var list []emailTemplate
		a.JSON("GET", "/api/email-templates", nil, http.StatusOK, &list)
		if len(list) != 2 {
			t.Fatalf("list = %+v, want 2 templates", list)
		}
		a.JSON("GET", "/api/email-templates?languageTag=fr", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != fr.ID {
			t.Fatalf("list by fr = %+v", list)
		}
		a.JSON("GET", "/api/email-templates?templateType=SignIn", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].LanguageTag != "de" {
			t.Fatalf("list by SignIn = %+v", list)
		}
		var got emailTemplate
		a.JSON("GET", "/api/email-templates/"+fr.ID, nil, http.StatusOK, &got)
		if got.Details.Subject != "Votre code {{code}}" {
			t.Fatalf("get = %+v", got)
		}
		// PUT again replaces by (language, type) instead of adding.
		a.JSON("PUT", "/api/email-templates", map[string]any{"templates": []any{frGeneric}}, http.StatusOK, &saved)
		a.JSON("GET", "/api/email-templates?languageTag=fr", nil, http.StatusOK, &list)
		if len(list) != 1 {
			t.Fatalf("a second PUT of fr Generic left %d templates", len(list))
		}
		fr = list[0]

		// A code sent with no locale uses the French template through the
		// fallback language.
		patchExperience(t, a, map[string]any{"languageInfo": map[string]any{"fallbackLanguage": "fr"}})
		const to = "francois@example.com"
		sendCode(t, a, to)
		m := inbox(t, a, to)[0]
		code := codeFromInbox(t, a, to)
		if m.Subject != "Votre code "+code || !strings.Contains(m.HTML, "<b>"+code+"</b>") || !strings.Contains(m.Text, "Bonjour, voici le code") {
			t.Errorf("message with fallback fr: subject %q, html %q, text %q", m.Subject, m.HTML, m.Text)
		}
		if lm := onlyMessage(t, a, to); lm.Locale != "fr" {
			t.Errorf("message locale = %q, want fr", lm.Locale)
		}

		// PATCH details merges.
		var patched emailTemplate
		a.JSON("PATCH", "/api/email-templates/"+fr.ID+"/details", map[string]any{"subject": "Code : {{code}}", "replyTo": "support@acme.test"}, http.StatusOK, &patched)
		if patched.Details.Subject != "Code : {{code}}" || patched.Details.ReplyTo != "support@acme.test" || !strings.Contains(patched.Details.Content, "Bonjour") {
			t.Errorf("patched = %+v", patched.Details)
		}
		a.JSON("GET", "/api/email-templates/"+fr.ID, nil, http.StatusOK, &got)
		if got.Details.Subject != "Code : {{code}}" {
			t.Errorf("after patch, stored subject = %q", got.Details.Subject)
		}
		a.WantError("PATCH", "/api/email-templates/tpl_missing/details", map[string]any{"subject": "x"}, 404, "entity.not_found")

		// A placeholder Generic does not provide is refused, listing those it does.
		e := a.WantError("PATCH", "/api/email-templates/"+fr.ID+"/details", map[string]any{"content": "Invité par {{inviter.name}}"}, 400, "email_template.invalid")
		var pe struct {
			UsageType string   `json:"usageType"`
			Unknown   []string `json:"unknown"`
			Provided  []string `json:"provided"`
		}
		if err := json.Unmarshal(e.Data, &pe); err != nil || !slices.Contains(pe.Unknown, "inviter.name") || !slices.Contains(pe.Provided, "code") || pe.UsageType != "Generic" {
			t.Errorf("placeholder error data = %s", e.Data)
		}
		e = a.WantError("PUT", "/api/email-templates", map[string]any{"templates": []any{map[string]any{"languageTag": "en", "templateType": "SignIn",
			"details": map[string]any{"subject": "Hi {{user.name}}", "content": "{{code}}"}}}}, 400, "email_template.invalid")
		if !strings.Contains(e.Message, "{{user.name}}") || !strings.Contains(e.Message, "code") {
			t.Errorf("placeholder error message = %q", e.Message)
		}
		a.JSON("GET", "/api/email-templates/"+fr.ID, nil, http.StatusOK, &got)
		if strings.Contains(got.Details.Content, "inviter") {
			t.Error("a refused patch was saved")
		}
		a.JSON("GET", "/api/email-templates?languageTag=en", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("a refused PUT saved %+v", list)
		}

		// Preview: unsaved details, then what resolution picks.
		var p preview
		a.JSON("POST", "/api/email-templates/preview", map[string]any{"templateType": "Generic",
			"details": map[string]any{"subject": "Aperçu {{code}}", "content": "<p>{{code}}</p>"}, "payload": map[string]any{"code": "424242"}}, http.StatusOK, &p)
		if p.Subject != "Aperçu 424242" || !strings.Contains(p.HTML, "424242") || !strings.Contains(p.Text, "424242") || p.Source != "given" {
			t.Errorf("preview of unsaved details = %+v", p)
		}
		a.JSON("POST", "/api/email-templates/preview", map[string]any{"templateType": "Generic", "languageTag": "fr-CA",
			"details": map[string]any{"subject": "{{locale}} {{uiLocales}}", "content": "{{code}}"}}, http.StatusOK, &p)
		if p.Subject != "fr-CA fr-CA" {
			t.Errorf("preview in fr-CA of {{locale}} {{uiLocales}} = %q, want the preview's language", p.Subject)
		}
		a.JSON("POST", "/api/email-templates/preview", map[string]any{"templateType": "Generic", "languageTag": "fr"}, http.StatusOK, &p)
		if !strings.HasPrefix(p.Subject, "Code : ") || p.Language != "fr" || p.Source != "stored" {
			t.Errorf("preview of fr Generic = %+v, want the stored template", p)
		}
		a.JSON("POST", "/api/email-templates/preview", map[string]any{"templateType": "SignIn", "languageTag": "de"}, http.StatusOK, &p)
		if p.Subject != "Anmeldung" || p.Source != "stored" {
			t.Errorf("preview of de SignIn = %+v", p)
		}
		a.JSON("POST", "/api/email-templates/preview", map[string]any{"id": fr.ID}, http.StatusOK, &p)
		if !strings.HasPrefix(p.Subject, "Code : ") {
			t.Errorf("preview by id = %+v", p)
		}
		a.WantError("POST", "/api/email-templates/preview", map[string]any{"templateType": "Nope"}, 400, "guard.invalid_input")

		// Deleting: bulk without filter refused, by filter, by id.
		a.WantError("DELETE", "/api/email-templates", nil, http.StatusUnprocessableEntity, "connector.email_connector.bulk_deletion_no_filter")
		a.JSON("GET", "/api/email-templates", nil, http.StatusOK, &list)
		if len(list) != 2 {
			t.Fatalf("a refused bulk delete left %d templates", len(list))
		}
		var count struct {
			RowCount int `json:"rowCount"`
		}
		a.JSON("DELETE", "/api/email-templates?templateType=SignIn", nil, http.StatusOK, &count)
		if count.RowCount != 1 {
			t.Errorf("bulk delete by type removed %d", count.RowCount)
		}
		a.JSON("DELETE", "/api/email-templates/"+fr.ID, nil, http.StatusNoContent, nil)
		a.WantError("DELETE", "/api/email-templates/"+fr.ID, nil, http.StatusNotFound, "entity.not_found")
		a.WantError("GET", "/api/email-templates/"+fr.ID, nil, http.StatusNotFound, "entity.not_found")
		a.JSON("GET", "/api/email-templates", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("%d templates left", len(list))
		}
		// With the stored template gone, the fallback language picks the
		// built-in French template.
		const next = "francine@example.com"
		sendCode(t, a, next)
		if m := inbox(t, a, next)[0]; strings.Contains(m.Subject, "Code : ") || onlyMessage(t, a, next).Locale != "fr" {
			t.Errorf("after deletion: subject %q, want the built-in fr template", m.Subject)
		}
	})
}

// TestConcurrentDetailPatchesLoseNoField: two admins patching different
// fields of one template at once both keep their change (a patch reads
// and writes under the template's lock).
func TestConcurrentDetailPatchesLoseNoField(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var saved []emailTemplate
		a.JSON("PUT", "/api/email-templates", map[string]any{"templates": []any{map[string]any{"languageTag": "en", "templateType": "Generic",
			"details": map[string]any{"subject": "Code {{code}}", "content": "<p>{{code}}</p>", "contentType": "text/html", "replyTo": "a@acme.test"}}}},
			http.StatusOK, &saved)
		path := "/api/email-templates/" + saved[0].ID + "/details"
		for round := range 20 {
			subject, replyTo := fmt.Sprintf("Code %d {{code}}", round), fmt.Sprintf("r%d@acme.test", round)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, patch := range []map[string]any{{"subject": subject}, {"replyTo": replyTo}} {
				wg.Go(func() {
					<-start
					if status, b := a.Do("PATCH", path, patch); status != http.StatusOK {
						t.Errorf("PATCH %v: %d %s", patch, status, b)
					}
				})
			}
			close(start)
			wg.Wait()
			var got emailTemplate
			a.JSON("GET", "/api/email-templates/"+saved[0].ID, nil, http.StatusOK, &got)
			if got.Details.Subject != subject || got.Details.ReplyTo != replyTo {
				t.Fatalf("round %d: subject %q and replyTo %q, want %q and %q: one patch undid the other", round, got.Details.Subject, got.Details.ReplyTo, subject, replyTo)
			}
		}
	})
}
