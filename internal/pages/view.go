package pages

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"

	"github.com/authmail/authmail/internal/web"
)

//go:embed templates/*.html
var templateFiles embed.FS

// layoutFile is the document every page shares; each page file defines
// "title" and "content". partialsFile holds pieces several pages use.
const (
	layoutFile   = "layout.html"
	partialsFile = "partials.html"
)

// views are the parsed pages, per language: each catalogue gets its own
// copy, whose t function speaks that language.
type views struct{ *web.Views }

func parseViews(cats *catalogues) (*views, error) {
	v, err := web.ParseViews(templateFiles, "templates", []string{layoutFile, partialsFile}, cats.Langs,
		func(lang string) template.FuncMap { return templateFuncs(cats.byLang[lang]) })
	if err != nil {
		return nil, err
	}
	return &views{v}, nil
}

// templateFuncs are the functions templates call: t translates a key
// (with name, value pairs for its placeholders), asset names an embedded
// asset by its cache-busting URL.
func templateFuncs(c *catalogue) template.FuncMap {
	return template.FuncMap{
		"t":     c.translate,
		"asset": assetURL,
	}
}

// view is what a page template renders.
type view struct {
	Lang  string
	Brand brand
	// CSRF is the token every form of the interaction carries.
	CSRF string
	// Error is a sentence about the whole form or page.
	Error string
	// Fields holds a sentence per form field that was refused.
	Fields map[string]string
	// Focus is the ID of the field the page focuses: the first refused
	// one, else the first one to fill.
	Focus string
	// Notice is a sentence to show once (a code was sent again).
	Notice string
	// Data is the page's own values.
	Data any
	// Preview says the page is the console's preview: inert, nothing
	// focused.
	Preview bool
}

// HasErrors reports whether the page shows any refusal (its title then
// says so first, for screen readers and tab lists).
func (v view) HasErrors() bool { return v.Error != "" || len(v.Fields) > 0 }

// FieldError is the sentence about field name, or "".
func (v view) FieldError(name string) string { return v.Fields[name] }

// brand is what the pages show of the tenant and the app.
type brand struct {
	// Name is the app's name, "" when the page does not know the app.
	Name string
	// LogoURL and DarkLogoURL are the tenant's logos.
	LogoURL, DarkLogoURL string
	// DarkMode says whether the pages follow the system's dark mode.
	DarkMode bool
	// ThemeURL is the stylesheet with the tenant's colours.
	ThemeURL string
}

// view returns the common part of a page's values.
func (p *page) view() view {
	return view{Lang: p.cat.lang, Brand: p.brandOf(), CSRF: p.s.csrfToken(p.tenant, p.csrfSubject), Fields: map[string]string{},
		Preview: p.preview}
}

// render writes page name with v and status. The Content-Security-Policy
// then also allows the logos' origins.
func (p *page) render(status int, name string, v view) {
	if p.preview {
		v.Focus = "" // the console's form keeps the focus
	}
	t := p.s.views.Page(p.cat.lang, name)
	var buf bytes.Buffer
	if t == nil {
		p.s.logger.ErrorContext(p.r.Context(), "no such page template", "page", name)
		status, t = http.StatusInternalServerError, p.s.views.Page(p.cat.lang, "error")
		v.Error = p.cat.text(msg("error.unexpected"), "reference", "template")
	}
	if err := t.Execute(&buf, v); err != nil {
		p.s.logger.ErrorContext(p.r.Context(), "rendering a page", "page", name, "err", err)
		http.Error(p.w, "internal error", http.StatusInternalServerError)
		return
	}
	if p.dirty {
		if err := p.s.writeState(p.w, p.tenant, p.binding(), p.state); err != nil {
			p.s.logger.ErrorContext(p.r.Context(), "saving the page state", "err", err)
		}
	}
	h := p.w.Header()
	h.Set("Content-Security-Policy", csp(imageOrigins(v.Brand.LogoURL, v.Brand.DarkLogoURL)))
	if p.preview {
		h.Set("Content-Security-Policy", web.CSP(web.Policy{ImageOrigins: imageOrigins(v.Brand.LogoURL, v.Brand.DarkLogoURL), FramedBySelf: true}))
		web.AllowFramingBySelf(h)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang)
	h.Set("Vary", "Accept-Language, Cookie")
	p.w.WriteHeader(status)
	_, _ = p.w.Write(buf.Bytes())
}

// imageOrigins are the origins of the given image URLs, for img-src.
func imageOrigins(urls ...string) []string { return web.Origins(urls...) }

// brandOf is the tenant's branding as the pages show it, with the name of
// the app the sign-in is for.
func (p *page) brandOf() brand {
	b := brand{LogoURL: p.exp.Branding.LogoURL, DarkMode: p.exp.Color.IsDarkModeEnabled,
		ThemeURL: themeURL(p.exp.Color.PrimaryColor, p.exp.Color.DarkPrimaryColor, p.exp.Color.IsDarkModeEnabled)}
	if b.DarkMode {
		b.DarkLogoURL = p.exp.Branding.DarkLogoURL
	}
	if p.s.AppName != nil && p.req.ClientID != "" {
		name, err := p.s.AppName(p.r.Context(), p.tenant, p.req.ClientID)
		if err != nil {
			p.s.logger.WarnContext(p.r.Context(), "no application name for the page", "clientId", p.req.ClientID, "err", err)
		}
		b.Name = name
	}
	return b
}
