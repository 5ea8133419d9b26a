package emailtemplate

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/connector"
)

// Store finds stored templates. The database-backed store implements it.
type Store interface {
	// FindTemplate returns the tenant's template for exactly this language
	// tag and usage type; ok is false when there is none.
	FindTemplate(ctx context.Context, tenant, languageTag string, usage connector.UsageType) (d Details, ok bool, err error)
}

// Key names a stored template of a tenant.
type Key struct {
	Language string
	Usage    connector.UsageType
}

// BatchStore is a Store that can fetch every candidate of a resolution in
// one lookup; [Render] uses it when the store offers it.
type BatchStore interface {
	Store
	// FindTemplates returns the tenant's templates whose language tag is
	// one of languageTags and whose usage type is one of usages.
	FindTemplates(ctx context.Context, tenant string, languageTags []string, usages []connector.UsageType) (map[Key]Details, error)
}

// Source says where a rendered template came from.
type Source string

// The sources of a template.
const (
	// SourceStored is a template stored for the tenant.
	SourceStored Source = "stored"
	// SourceConnector is one of the connector config's own templates.
	SourceConnector Source = "connector"
	// SourceBuiltin is one of authmail's built-in defaults.
	SourceBuiltin Source = "builtin"
	// SourcePreview is a template given to RenderDetails.
	SourcePreview Source = "preview"
)

// Request is what to render.
type Request struct {
	// Tenant is the tenant ID.
	Tenant string
	// Usage is the usage type of the message.
	Usage connector.UsageType
	// Locale is the language tag wanted, such as "fr-CA"; may be empty.
	Locale string
	// Preferred are the languages the client prefers, best first (its
	// Accept-Language, see ParseAcceptLanguage). When Locale is empty, the
	// closest of the languages templates exist in (the built-in ones, and
	// the tenant's stored ones of the usage type or Generic when the store
	// is a LanguageStore) becomes the locale.
	Preferred []language.Tag
	// FallbackLanguage is the tenant's fallback language; may be empty.
	FallbackLanguage string
	// Payload holds the placeholder values (code, link, expiresInMinutes,
	// application, organization, user, inviter...). Nested values are
	// maps, as decoded from JSON. It is not modified. Its locale and
	// uiLocales, when it has none, are filled in (see Rendered.Locale).
	Payload map[string]any
	// Branding is the tenant's branding; it is available as branding.*,
	// and any "branding" key in Payload is replaced by it. Fields that
	// fail Branding.Validate (an unsafe logo URL, a bad colour) are ignored.
	Branding Branding
	// ConnectorTemplates are the active connector config's own templates.
	ConnectorTemplates []connector.Template
	// Notice, when not "", names a built-in notice (Notices): a message
	// of the usage type with neither a code nor a link, in the built-in
	// layout with the notice's words; saved and connector templates, which
	// are written for codes, are not used for it.
	Notice string
}

// Rendered is a message ready for a connector.
type Rendered struct {
	// Subject is the subject, free of control characters.
	Subject string
	// HTML is the HTML body; empty for a plain-text template.
	HTML string
	// Text is the plain-text body; always set for a non-empty template.
	Text string
	// From is the sender from the template's sendFrom. Its Name is the
	// branding's sender name when sendFrom gives none; an empty Email keeps
	// the connector's configured address.
	From connector.Address
	// ReplyTo is the template's reply-to; empty when it has none or when
	// it did not render to a valid address.
	ReplyTo connector.Address
	// Language is the language of the template used. For a connector
	// template, which has none, it is the requested locale (or the fallback
	// language when no locale was given).
	Language string
	// Source is where the template came from.
	Source Source
	// Usage is the usage type of the template used: the requested one, or
	// Generic when resolution fell back to it.
	Usage connector.UsageType
	// Locale is what {{locale}} rendered as: the payload's locale, else the
	// requested locale, else the match for the preferred languages, else
	// the language of the template used.
	Locale string
	// UILocales is what {{uiLocales}} rendered as: the payload's, else the
	// languages the client asked for, best first and space-separated (the
	// requested locale, then the preferred languages), else Locale.
	UILocales string
}

// Render resolves the template for req (see the package documentation for
// the order) and renders it. store may be nil, which skips stored
// templates. Store errors are returned wrapped.
func Render(ctx context.Context, store Store, req Request) (Rendered, error) {
	if !req.Usage.Valid() {
		return Rendered{}, fmt.Errorf("rendering template: unknown usage type %q", req.Usage)
	}
	explicit := req.Locale
	if req.Locale == "" && len(req.Preferred) > 0 {
		matched, err := matchLanguage(ctx, store, req)
		if err != nil {
			return Rendered{}, err
		}
		req.Locale = matched
	}
	b := req.Branding.sanitized()
	data := templateData(req.Payload, b)
	res, err := resolve(ctx, store, req, data, b)
	if err != nil {
		return Rendered{}, err
	}
	if _, ok := data["locale"]; !ok {
		data["locale"] = cmp.Or(req.Locale, res.language)
	}
	if _, ok := data["uiLocales"]; !ok {
		data["uiLocales"] = uiLocales(explicit, req.Preferred, stringify(data["locale"]))
	}
	r := render(res.details, data, b)
	r.Language, r.Source, r.Usage = res.language, res.source, res.usage
	r.Locale, r.UILocales = stringify(data["locale"]), stringify(data["uiLocales"])
	return r, nil
}

// RenderDetails renders a template that need not be saved, for previews:
// usually with SamplePayload(usage). It does not validate the template.
func RenderDetails(d Details, usage connector.UsageType, payload map[string]any, b Branding) Rendered {
	b = b.sanitized()
	r := render(d, templateData(payload, b), b)
	r.Source, r.Usage = SourcePreview, usage
	if l, ok := payload["locale"].(string); ok {
		r.Language = l
	}
	return r
}

// templateData is the payload with the branding under "branding".
func templateData(payload map[string]any, b Branding) map[string]any {
	data := make(map[string]any, len(payload)+1)
	maps.Copy(data, payload)
	data["branding"] = b.values()
	return data
}

// render substitutes the placeholders of every part of d.
func render(d Details, data map[string]any, b Branding) Rendered {
	r := Rendered{Subject: header(d.Subject, data)}
	if d.IsHTML() {
		r.HTML = substitute(d.Content, data, htmlValues)
		if d.Text != "" {
			r.Text = substitute(d.Text, data, rawValues)
		} else {
			r.Text = TextFromHTML(r.HTML)
		}
	} else {
		r.Text = substitute(d.Content, data, rawValues)
	}
	if d.SendFrom != "" {
		if a, ok := renderMailbox(d.SendFrom, data); ok {
			r.From = a
		} else {
			r.From = connector.ParseSendFrom(header(d.SendFrom, data))
		}
	}
	if r.From.Name == "" {
		r.From.Name = connector.StripControl(b.SenderName)
	}
	if d.ReplyTo != "" {
		if a, ok := renderMailbox(d.ReplyTo, data); ok {
			r.ReplyTo = a
		} else if a, err := connector.ParseAddress(header(d.ReplyTo, data)); err == nil {
			r.ReplyTo = a
		}
	}
	return r
}

// renderMailbox renders a "Name <address>" template part by part, so that
// a value in the name (a user's name with a comma, a colon or an "@") can
// never change the address. ok is false when tmpl is not of that shape or
// the address part does not render to one address.
func renderMailbox(tmpl string, data map[string]any) (connector.Address, bool) {
	t := strings.TrimSpace(tmpl)
	i := strings.LastIndexByte(t, '<')
	if i < 0 || !strings.HasSuffix(t, ">") {
		return connector.Address{}, false
	}
	a, err := connector.ParseAddress(strings.TrimSpace(header(t[i+1:len(t)-1], data)))
	if err != nil || a.Name != "" {
		return connector.Address{}, false
	}
	name := strings.TrimSpace(header(t[:i], data))
	if unquoted, err := strconv.Unquote(name); err == nil && strings.HasPrefix(name, `"`) {
		name = unquoted
	}
	a.Name = name
	return a, true
}

// header renders a header value: no escaping, no control characters.
func header(tmpl string, data map[string]any) string {
	return connector.StripControl(substitute(tmpl, data, rawValues))
}
