package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/savedtemplates"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/web"
)

// mailPolicy is the policy of a page that shows an email in a sandboxed
// srcdoc frame: the frame inherits it, and email HTML is styled inline
// and shows the sender's images. The frame runs no script (its sandbox
// allows none); the page's own scripts stay this origin's.
func mailPolicy() web.Policy {
	return web.Policy{InlineStyles: true, AnyImages: true, Frames: true, Connect: true}
}

// templateCell is one language of a usage type in the templates table.
type templateCell struct {
	Lang string
	// Saved says the tenant saved its own template; otherwise the
	// built-in default (or the resolution chain) applies.
	Saved bool
}

// templateRow is one usage type in the templates table.
type templateRow struct {
	Usage string
	Cells []templateCell
}

// templatesData is what the templates page shows.
type templatesData struct {
	Langs []string
	Rows  []templateRow
	// Add is the language asked for with "Add a language".
	Add string
}

// templateLanguages are the languages the table shows: the built-in ones,
// those the tenant saved templates in, and extra.
func templateLanguages(saved []savedtemplates.Template, extra string) []string {
	langs := emailtemplate.BuiltinLanguages()
	for _, t := range saved {
		if !slices.Contains(langs, t.LanguageTag) {
			langs = append(langs, t.LanguageTag)
		}
	}
	if extra != "" && !slices.Contains(langs, extra) {
		langs = append(langs, extra)
	}
	slices.Sort(langs)
	return langs
}

// templatesPage lists every usage type by language, saying which the
// tenant customised; "Add a language" (?lang=) adds a column.
func (s *Server) templatesPage(p *page) error {
	saved, err := s.Templates.List(p.r.Context(), p.tenant, "", "")
	if err != nil {
		return err
	}
	v := p.view("templates")
	d := templatesData{}
	if raw := strings.TrimSpace(p.r.URL.Query().Get("lang")); raw != "" {
		lang, err := emailtemplate.CanonicalLanguageTag(raw)
		if err != nil {
			v.Fields, v.Focus = map[string]string{"lang": p.cat.text(msg("templates.bad_language"))}, "add-lang"
			d.Add = raw
		} else {
			d.Add = lang
		}
	}
	addCol := d.Add
	if len(v.Fields) > 0 {
		addCol = ""
	}
	d.Langs = templateLanguages(saved, addCol)
	for _, u := range connector.UsageTypes() {
		row := templateRow{Usage: string(u)}
		for _, l := range d.Langs {
			row.Cells = append(row.Cells, templateCell{Lang: l, Saved: slices.ContainsFunc(saved, func(t savedtemplates.Template) bool {
				return t.Usage == u && t.LanguageTag == l
			})})
		}
		d.Rows = append(d.Rows, row)
	}
	v.Data = d
	status := http.StatusOK
	if len(v.Fields) > 0 {
		status = http.StatusBadRequest
	}
	p.render(status, "templates", v)
	return nil
}

// previewView is a rendered message as the editor shows it.
type previewView struct {
	Subject, From, ReplyTo string
	// HTML goes into the sandboxed frame's srcdoc; empty for a plain-text
	// template.
	HTML string
	Text string
	// Error says why the template does not render.
	Error string
}

// editorData is what the template editor shows.
type editorData struct {
	Usage, Lang string
	// Saved says the tenant has its own template here (so it can be reset).
	Saved   bool
	Details emailtemplate.Details
	// Placeholders are those the usage type provides.
	Placeholders []string
	Preview      previewView
	// PlainType and HTMLType are the content types to choose from.
	PlainType, HTMLType string
}

// editorTarget reads the usage type and language the path names.
func (p *page) editorTarget() (connector.UsageType, string, bool) {
	u := connector.UsageType(p.r.PathValue("usage"))
	lang, err := emailtemplate.CanonicalLanguageTag(p.r.PathValue("lang"))
	if !u.Valid() || err != nil || lang != p.r.PathValue("lang") {
		return "", "", false
	}
	return u, lang, true
}

// savedTemplate is the tenant's template of usage u in lang, if any.
func (s *Server) savedTemplate(p *page, u connector.UsageType, lang string) (*savedtemplates.Template, error) {
	list, err := s.Templates.List(p.r.Context(), p.tenant, lang, string(u))
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// starterDetails is the template to start editing from when the tenant
// has none: the built-in one of the language (or its base, else English),
// in the general shape every send fits (no application or user named).
func (s *Server) starterDetails(p *page, u connector.UsageType, lang string) (emailtemplate.Details, error) {
	exp, err := s.Tenants.Experience(p.r.Context(), p.tenant)
	if err != nil {
		return emailtemplate.Details{}, err
	}
	builtin := web.DefaultLanguage
	if emailtemplate.HasBuiltinLanguage(lang) {
		builtin = lang
	} else if base, _, ok := strings.Cut(lang, "-"); ok && emailtemplate.HasBuiltinLanguage(base) {
		builtin = base
	}
	payload := emailtemplate.SamplePayload(u)
	for _, optional := range []string{"application", "user", "organization"} {
		if u != connector.UsageOrganizationInvitation || optional != "organization" {
			delete(payload, optional)
		}
	}
	return emailtemplate.BuiltinDetails(u, builtin, payload, exp.EmailBranding)
}

// preview renders d as a send of u in lang would (sendcode.Preview, which
// validates it first).
func (s *Server) preview(p *page, u connector.UsageType, lang string, d emailtemplate.Details) (previewView, error) {
	out, err := s.Codes.Preview(p.r.Context(), sendcode.PreviewRequest{Tenant: p.tenant, Usage: u, Language: lang, Details: &d})
	if err != nil {
		return previewView{}, err
	}
	from := out.From.String()
	switch {
	case out.From.Email == "" && out.From.Name == "":
		from = p.cat.text(msg("templates.connector_sender"))
	case out.From.Email == "":
		from = p.cat.text(msg("templates.connector_address"), "name", out.From.Name)
	}
	return previewView{Subject: out.Subject, From: from, ReplyTo: out.ReplyTo.String(), HTML: out.HTML, Text: out.Text}, nil
}

// templateFields maps the template's fields (as the services name them)
// to the editor's inputs.
var templateFields = map[string]string{"subject": "tpl-subject", "content": "tpl-content", "contentType": "tpl-content-type",
	"text": "tpl-text", "replyTo": "tpl-reply-to", "sendFrom": "tpl-send-from"}

// templateError is the field a template error is about ("content" for
// unknown placeholders) and the sentence, or ok false for an error that
// is not the template's.
func templateError(err error) (field, sentence string, ok bool) {
	var ve *emailtemplate.ValidationError
	var pe *emailtemplate.PlaceholderError
	switch {
	case errors.As(err, &ve):
		return ve.Field, ve.Reason, true
	case errors.As(err, &pe):
		return "content", pe.Error(), true
	}
	return "", "", false
}

// editorPage is the template editor: the saved template or the built-in
// one to start from, the placeholders, and its preview.
func (s *Server) editorPage(p *page) error {
	u, lang, ok := p.editorTarget()
	if !ok {
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
		return nil
	}
	saved, err := s.savedTemplate(p, u, lang)
	if err != nil {
		return err
	}
	d := editorData{Usage: string(u), Lang: lang, Saved: saved != nil, Placeholders: emailtemplate.Provided(u),
		PlainType: emailtemplate.ContentTypePlain, HTMLType: emailtemplate.ContentTypeHTML}
	if saved != nil {
		d.Details = saved.Details
	} else if d.Details, err = s.starterDetails(p, u, lang); err != nil {
		return err
	}
	if d.Details.ContentType == "" {
		d.Details.ContentType = emailtemplate.ContentTypeHTML
	}
	if d.Preview, err = s.preview(p, u, lang, d.Details); err != nil {
		if _, sentence, ok := templateError(err); ok {
			d.Preview.Error = sentence
		} else {
			return err
		}
	}
	v := p.view("templates")
	v.Data, v.policy = d, mailPolicy()
	p.render(http.StatusOK, "editor", v)
	return nil
}

// detailsFromForm reads the editor's fields.
func detailsFromForm(p *page) emailtemplate.Details {
	f := p.r.PostForm
	d := emailtemplate.Details{Subject: f.Get("subject"), Content: f.Get("content"), ContentType: f.Get("contentType"),
		Text: f.Get("text"), ReplyTo: strings.TrimSpace(f.Get("replyTo")), SendFrom: strings.TrimSpace(f.Get("sendFrom"))}
	if d.ContentType == emailtemplate.ContentTypePlain {
		d.Text = ""
	}
	return d
}

// saveTemplate saves the edited template (validated first; one
// transaction) or, with action=preview, shows its preview without saving
// (the editor without JavaScript).
func (s *Server) saveTemplate(p *page) error {
	u, lang, ok := p.editorTarget()
	if !ok {
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
		return nil
	}
	saved, err := s.savedTemplate(p, u, lang)
	if err != nil {
		return err
	}
	d := editorData{Usage: string(u), Lang: lang, Saved: saved != nil, Placeholders: emailtemplate.Provided(u),
		Details: detailsFromForm(p), PlainType: emailtemplate.ContentTypePlain, HTMLType: emailtemplate.ContentTypeHTML}
	v := p.view("templates")
	v.policy = mailPolicy()
	if p.r.PostForm.Get("action") == "preview" {
		err = nil
		d.Preview, err = s.preview(p, u, lang, d.Details)
	} else {
		_, err = s.Templates.Put(p.r.Context(), p.tenant, []savedtemplates.Input{{LanguageTag: lang, Usage: u, Details: d.Details}})
		if err == nil {
			return p.redirect(Prefix + "/templates/" + string(u) + "/" + lang + "?notice=template_saved")
		}
	}
	status := http.StatusOK
	if err != nil {
		field, sentence, ok := templateError(err)
		if !ok {
			return err
		}
		id := templateFields[field]
		if id == "" {
			id = "tpl-content"
		}
		v.Fields, v.Focus, v.Error = map[string]string{id: sentence}, id, p.cat.text(msg("templates.fix"))
		d.Preview.Error = sentence
		status = http.StatusBadRequest
	}
	v.Data = d
	p.render(status, "editor", v)
	return nil
}

// resetTemplate deletes the tenant's template, so the default applies
// again.
func (s *Server) resetTemplate(p *page) error {
	u, lang, ok := p.editorTarget()
	if !ok {
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
		return nil
	}
	saved, err := s.savedTemplate(p, u, lang)
	if err != nil {
		return err
	}
	if saved != nil {
		if err := s.Templates.Delete(p.r.Context(), p.tenant, saved.ID); err != nil {
			return err
		}
	}
	return p.redirect(Prefix + "/templates/" + string(u) + "/" + lang + "?notice=template_reset")
}

// previewJSON is the live preview's answer.
type previewJSON struct {
	Subject string `json:"subject"`
	From    string `json:"from"`
	ReplyTo string `json:"replyTo"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
	// Error and Field say why the template does not render, and which
	// input is at fault.
	Error string `json:"error,omitempty"`
	Field string `json:"field,omitempty"`
}

// previewTemplate is the live preview: the editor's script posts the
// unsaved form as you type, and the server renders it as a send would.
func (s *Server) previewTemplate(p *page) error {
	u := connector.UsageType(p.r.PostForm.Get("usage"))
	lang, err := emailtemplate.CanonicalLanguageTag(p.r.PostForm.Get("lang"))
	if !u.Valid() || err != nil {
		writeJSON(p.w, http.StatusBadRequest, previewJSON{Error: p.cat.text(msg("error.bad_form"))})
		return nil
	}
	pv, err := s.preview(p, u, lang, detailsFromForm(p))
	if err != nil {
		field, sentence, ok := templateError(err)
		if !ok {
			return err
		}
		writeJSON(p.w, http.StatusOK, previewJSON{Error: sentence, Field: templateFields[field]})
		return nil
	}
	writeJSON(p.w, http.StatusOK, previewJSON{Subject: pv.Subject, From: pv.From, ReplyTo: pv.ReplyTo, HTML: pv.HTML, Text: pv.Text})
	return nil
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
