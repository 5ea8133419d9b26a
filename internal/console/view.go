package console

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/web"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets/*
var assetFiles embed.FS

// assetPrefix is where the console's assets are served.
const assetPrefix = Prefix + "/assets/"

// assets are the console's stylesheet and script.
var assets = web.MustAssets(assetFiles, "assets", assetPrefix)

// layoutFile is the document every page shares; each page file defines
// "title" and "content". partialsFile holds pieces several pages use.
const (
	layoutFile   = "layout.html"
	partialsFile = "partials.html"
)

func parseViews(cats *catalogues) (*web.Views, error) {
	return web.ParseViews(templateFiles, "templates", []string{layoutFile, partialsFile}, cats.Langs, func(lang string) template.FuncMap {
		c := cats.byLang[lang]
		return template.FuncMap{
			"t":     c.Text,
			"asset": assets.URL,
			"time":  func(t time.Time) string { return formatTime(t, lang) },
			"join":  strings.Join,
			"field": newSimpleField,
		}
	})
}

// formatTime shows a time in UTC as the language writes it.
func formatTime(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if lang == "fr" {
		return t.Format("02/01/2006 15:04:05") + " UTC"
	}
	return t.Format("2006-01-02 15:04:05") + " UTC"
}

// view is what a page template renders.
type view struct {
	Lang string
	// Langs are the languages the footer offers.
	Langs []langOption
	// Path is the page's path, to come back to after choosing a language.
	Path string
	// CSRF is the token every form carries.
	CSRF string
	// SignedIn shows the navigation and the sign-out button.
	SignedIn bool
	// Nav is the navigation entry of the page ("connectors", ...).
	Nav string
	// DevInbox shows the banner that says mail is not sent.
	DevInbox bool
	// Notice is a sentence to show once (what a form just did).
	Notice string
	// Error is a sentence about the whole form or page.
	Error string
	// Fields holds a sentence per form field that was refused.
	Fields map[string]string
	// Focus is the ID of the field to focus: the first refused one.
	Focus string
	// Data is the page's own values.
	Data any
	// Bare leaves out the header, the navigation and the footer: a page
	// shown in a frame of another console page.
	Bare bool
	// policy is what the page's Content-Security-Policy allows.
	policy web.Policy
}

// simpleField is a labelled input the page lays out by hand (the
// templates' and the branding's fields).
type simpleField struct {
	ID, Name, Label, Value, Hint string
	// Error is the sentence about the field; Focus says the page focuses it.
	Error string
	Focus bool
}

// newSimpleField is the field id of page v: the templates call it as
// (field . id name label value hint).
func newSimpleField(v view, id, name, label, value, hint string) simpleField {
	return simpleField{ID: id, Name: name, Label: label, Value: value, Hint: hint, Error: v.Fields[id], Focus: v.Focus == id}
}

// langOption is one language of the footer's choice.
type langOption struct {
	Tag, Name string
	Current   bool
}

// HasErrors reports whether the page shows any refusal (its title then
// says so first).
func (v view) HasErrors() bool { return v.Error != "" || len(v.Fields) > 0 }

// FieldError is the sentence about field name, or "".
func (v view) FieldError(name string) string { return v.Fields[name] }

// notices are the sentences a redirect may ask the next page to show
// (?notice=...), by code.
var notices = map[string]msg{
	"signed_out":                msg("notice.signed_out"),
	"connector_saved":           msg("notice.connector_saved"),
	"connector_deleted":         msg("notice.connector_deleted"),
	"template_saved":            msg("notice.template_saved"),
	"template_reset":            msg("notice.template_reset"),
	"branding_saved":            msg("notice.branding_saved"),
	"message_retried":           msg("notice.message_retried"),
	"user_created":              msg("notice.user_created"),
	"user_suspended":            msg("notice.user_suspended"),
	"user_admin":                msg("notice.user_admin"),
	"user_not_admin":            msg("notice.user_not_admin"),
	"user_reinstated":           msg("notice.user_reinstated"),
	"password_set":              msg("notice.password_set"),
	"application_saved":         msg("notice.application_saved"),
	"sign_in_exp_saved":         msg("notice.sign_in_exp_saved"),
	"lockout_lifted":            msg("notice.lockout_lifted"),
	"organization_created":      msg("notice.organization_created"),
	"organization_role_created": msg("notice.organization_role_created"),
	"member_added":              msg("notice.member_added"),
	"member_removed":            msg("notice.member_removed"),
	"role_given":                msg("notice.role_given"),
	"role_taken":                msg("notice.role_taken"),
	"invitation_sent":           msg("notice.invitation_sent"),
	"invitation_resent":         msg("notice.invitation_resent"),
	"invitation_not_sent":       msg("notice.invitation_not_sent"),
	"invitation_revoked":        msg("notice.invitation_revoked"),
}

// view returns the common part of a page's values; nav names the
// navigation entry the page belongs to.
func (p *page) view(nav string) view {
	v := view{Lang: p.cat.Lang, Path: p.r.URL.RequestURI(), CSRF: p.s.csrfToken(p), SignedIn: p.session != "", Nav: nav}
	for _, l := range p.s.cats.Langs {
		v.Langs = append(v.Langs, langOption{Tag: l, Name: p.s.cats.byLang[l].Text("language.name"), Current: l == p.cat.Lang})
	}
	if key, ok := notices[p.r.URL.Query().Get("notice")]; ok {
		v.Notice = p.cat.text(key)
	}
	if v.SignedIn {
		if row, err := p.s.Store.ConnectorActive(p.r.Context(), p.tenant); err == nil && row.ConnectorID == devInboxID {
			v.DevInbox = true
		}
	}
	return v
}

// devInboxID is the dev inbox connector's factory ID.
const devInboxID = "dev-inbox"

// render writes page name with v and status, under the page's
// Content-Security-Policy.
func (p *page) render(status int, name string, v view) {
	t := p.s.views.Page(p.cat.Lang, name)
	var buf bytes.Buffer
	if t == nil {
		p.s.logger.ErrorContext(p.r.Context(), "no such console template", "page", name)
		http.Error(p.w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.Execute(&buf, v); err != nil {
		p.s.logger.ErrorContext(p.r.Context(), "rendering a console page", "page", name, "err", err)
		http.Error(p.w, "internal error", http.StatusInternalServerError)
		return
	}
	h := p.w.Header()
	h.Set("Content-Security-Policy", web.CSP(v.policy))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang)
	h.Set("Vary", "Accept-Language, Cookie")
	p.w.WriteHeader(status)
	_, _ = p.w.Write(buf.Bytes())
}
