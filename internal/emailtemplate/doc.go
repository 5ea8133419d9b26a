// Package template resolves and renders authmail's email templates.
//
// A template is Logto's EmailTemplateDetails (subject, content, contentType,
// replyTo, sendFrom) plus an optional plain-text alternative. The package is
// pure: storage reaches it through the one-method [Store] interface, and the
// HTTP API and the delivery pipeline call [Render], [RenderDetails] and
// [ValidateDetails].
//
// # Resolution
//
// [Render] picks the template for a (tenant, usage type, locale) in this
// order, first hit wins:
//
//  1. the stored template of the usage type in the locale, its base language
//     (fr-CA -> fr), then the tenant's fallback language;
//  2. the stored Generic template in those same languages;
//  3. the connector config's own templates: the usage type, then Generic;
//  4. authmail's built-in default of the usage type, in the locale, its base
//     language, the fallback language, its base language, then English.
//
// The locale is the request's; without one, the client's preferred
// languages (an Accept-Language, [ParseAcceptLanguage]) are matched
// against the built-in languages and, through a [LanguageStore], the
// tenant's stored ones, and the closest is used.
//
// # Placeholders
//
// Placeholders follow Logto's rules: the pattern is {{ path }} with a
// dotted path; when the root key is absent from the payload the placeholder
// is left as it is; when the root is present but the path leads nowhere or
// to null it renders as an empty string; scalars render as their string
// form. Where Logto renders an object as "[object Object]", authmail renders
// an empty string. There are no conditionals, loops or helpers.
//
// Two deliberate differences from Logto: values are HTML-escaped in HTML
// bodies, and control characters (CR and LF included) are removed from the
// subject, sendFrom and replyTo after substitution, so a value can never add
// a header. Branding is available to every template as branding.senderName,
// branding.companyInformation, branding.logoUrl and branding.primaryColor.
//
// # Built-in defaults
//
// The defaults live in defaults/: one layout for HTML (layout.html), one for
// text (layout.txt), and one JSON file of strings per language (en.json,
// fr.json). To add a language, copy en.json to <tag>.json and translate it;
// the tests check that every usage type has every string. A string may be a
// list of variants, most specific first: the first variant whose
// placeholders all have a value in the payload is used, so "Sign in to
// {{application.name}}" can fall back to "Sign in" when no application is
// known. An empty variant omits the line.
package emailtemplate
