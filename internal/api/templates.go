package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/savedtemplates"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
)

// templateJSON is Logto's EmailTemplate shape.
type templateJSON struct {
	TenantID     string                `json:"tenantId"`
	ID           string                `json:"id"`
	LanguageTag  string                `json:"languageTag"`
	TemplateType string                `json:"templateType"`
	Details      emailtemplate.Details `json:"details"`
	CreatedAt    int64                 `json:"createdAt"`
}

func templateView(t savedtemplates.Template) templateJSON {
	return templateJSON{TenantID: t.TenantID, ID: t.ID, LanguageTag: t.LanguageTag, TemplateType: string(t.Usage),
		Details: t.Details, CreatedAt: t.CreatedAt.UnixMilli()}
}

func templateViews(ts []savedtemplates.Template) []templateJSON {
	out := make([]templateJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, templateView(t))
	}
	return out
}

type templateInput struct {
	LanguageTag  string                `json:"languageTag"`
	TemplateType string                `json:"templateType"`
	Details      emailtemplate.Details `json:"details"`
}

type putTemplatesBody struct {
	Templates []templateInput `json:"templates"`
}

func checkUsage(field, typ string) (connector.UsageType, error) {
	u := connector.UsageType(typ)
	if !u.Valid() {
		return "", invalidInput(field, "unknown usage type %q; use one of %v", typ, connector.UsageTypes())
	}
	return u, nil
}

func checkLanguage(field, tag string) (string, error) {
	canon, err := emailtemplate.CanonicalLanguageTag(tag)
	if err != nil {
		return "", invalidInput(field, "%s", err.Error())
	}
	return canon, nil
}

// putTemplates validates every template first, then upserts them all in
// one transaction.
func (s *Server) putTemplates(w http.ResponseWriter, r *http.Request) error {
	var body putTemplatesBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if len(body.Templates) == 0 {
		return invalidInput("templates", "needs at least one template")
	}
	if len(body.Templates) > 200 {
		return invalidInput("templates", "at most 200 templates at once")
	}
	in := make([]savedtemplates.Input, 0, len(body.Templates))
	for i, t := range body.Templates {
		field := fmt.Sprintf("templates[%d]", i)
		lang, err := checkLanguage(field+".languageTag", t.LanguageTag)
		if err != nil {
			return err
		}
		usage, err := checkUsage(field+".templateType", t.TemplateType)
		if err != nil {
			return err
		}
		in = append(in, savedtemplates.Input{LanguageTag: lang, Usage: usage, Details: t.Details})
	}
	saved, err := s.Templates.Put(r.Context(), tenant.FromContext(r.Context()), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templateViews(saved))
	return nil
}

func (s *Server) templateFilters(r *http.Request) (lang, typ string, err error) {
	q := r.URL.Query()
	if v := q.Get("languageTag"); v != "" {
		if lang, err = checkLanguage("languageTag", v); err != nil {
			return "", "", err
		}
	}
	if v := q.Get("templateType"); v != "" {
		u, err := checkUsage("templateType", v)
		if err != nil {
			return "", "", err
		}
		typ = string(u)
	}
	return lang, typ, nil
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	lang, typ, err := s.templateFilters(r)
	if err != nil {
		return err
	}
	list, err := s.Templates.List(r.Context(), tenant.FromContext(r.Context()), lang, typ)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templateViews(list))
	return nil
}

// rowCountJSON is Logto's answer to a bulk delete.
type rowCountJSON struct {
	RowCount int64 `json:"rowCount"`
}

func (s *Server) deleteTemplates(w http.ResponseWriter, r *http.Request) error {
	lang, typ, err := s.templateFilters(r)
	if err != nil {
		return err
	}
	n, err := s.Templates.DeleteWhere(r.Context(), tenant.FromContext(r.Context()), lang, typ)
	if errors.Is(err, savedtemplates.ErrNoFilter) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "connector.email_connector.bulk_deletion_no_filter",
			Message: "give languageTag and/or templateType; deleting every template at once is refused"}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rowCountJSON{RowCount: n})
	return nil
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Templates.Get(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("email template")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templateView(t))
	return nil
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	err := s.Templates.Delete(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("email template")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// detailsPatch is a partial EmailTemplateDetails, shallow-merged.
type detailsPatch struct {
	Subject     *string `json:"subject,omitempty"`
	Content     *string `json:"content,omitempty"`
	ContentType *string `json:"contentType,omitempty"`
	ReplyTo     *string `json:"replyTo,omitempty"`
	SendFrom    *string `json:"sendFrom,omitempty"`
	Text        *string `json:"text,omitempty"`
}

func (s *Server) patchTemplateDetails(w http.ResponseWriter, r *http.Request) error {
	var patch detailsPatch
	if err := decode(r, &patch); err != nil {
		return err
	}
	t, err := s.Templates.PatchDetails(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), savedtemplates.DetailsPatch{
		Subject: patch.Subject, Content: patch.Content, ContentType: patch.ContentType, ReplyTo: patch.ReplyTo,
		SendFrom: patch.SendFrom, Text: patch.Text})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("email template")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templateView(t))
	return nil
}

// previewBody renders a saved template (id), an unsaved one (details) or
// whatever the resolution chain picks for templateType and languageTag.
type previewBody struct {
	ID           string                 `json:"id,omitempty"`
	TemplateType string                 `json:"templateType,omitempty"`
	LanguageTag  string                 `json:"languageTag,omitempty"`
	Details      *emailtemplate.Details `json:"details,omitempty"`
	Payload      map[string]any         `json:"payload,omitempty"`
}

type previewJSON struct {
	Subject  string            `json:"subject"`
	HTML     string            `json:"html"`
	Text     string            `json:"text"`
	From     connector.Address `json:"from"`
	ReplyTo  connector.Address `json:"replyTo"`
	Language string            `json:"language"`
	Source   string            `json:"source"`
}

func (s *Server) previewTemplate(w http.ResponseWriter, r *http.Request) error {
	var body previewBody
	if err := decode(r, &body); err != nil {
		return err
	}
	tenantID := tenant.FromContext(r.Context())
	req := sendcode.PreviewRequest{Tenant: tenantID, Usage: connector.UsageGeneric, Payload: body.Payload, Details: body.Details}
	var err error
	if body.ID != "" {
		t, err := s.Templates.Get(r.Context(), tenantID, body.ID)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("email template")
		}
		if err != nil {
			return err
		}
		req.Usage, req.Details = t.Usage, &t.Details
	} else if body.TemplateType != "" {
		if req.Usage, err = checkUsage("templateType", body.TemplateType); err != nil {
			return err
		}
	}
	if body.LanguageTag != "" {
		if req.Language, err = checkLanguage("languageTag", body.LanguageTag); err != nil {
			return err
		}
	}
	out, err := s.Codes.Preview(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, previewJSON{Subject: out.Subject, HTML: out.HTML, Text: out.Text, From: out.From,
		ReplyTo: out.ReplyTo, Language: out.Language, Source: string(out.Source)})
	return nil
}
