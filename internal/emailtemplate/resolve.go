package emailtemplate

import (
	"context"
	"fmt"
	"slices"

	"github.com/authmail/authmail/connector"
)

// resolved is the template chosen for a request.
type resolved struct {
	details  Details
	language string
	source   Source
	usage    connector.UsageType
}

// resolve walks the resolution chain of the package documentation.
func resolve(ctx context.Context, store Store, req Request, data map[string]any, b Branding) (resolved, error) {
	langs := storedLanguages(req.Locale, req.FallbackLanguage)
	if req.Notice != "" {
		// Saved and connector templates are written for codes: a notice
		// has its built-in words.
		langs = nil
	}
	if r, ok, err := resolveStored(ctx, store, req, langs); err != nil || ok {
		return r, err
	}
	for _, usage := range usageChain(req.Usage) {
		if req.Notice != "" {
			break
		}
		if t, ok := connectorTemplate(req.ConnectorTemplates, usage); ok {
			lang := ""
			if len(langs) > 0 {
				lang = langs[0]
			}
			return resolved{details: t, language: lang, source: SourceConnector, usage: usage}, nil
		}
	}
	lang := builtinLanguage(req.Locale, req.FallbackLanguage)
	d, err := builtinDetails(req.Usage, req.Notice, lang, data, b)
	if err != nil {
		return resolved{}, err
	}
	return resolved{details: d, language: lang, source: SourceBuiltin, usage: req.Usage}, nil
}

// resolveStored finds the first stored template of the chain: with a
// BatchStore in one lookup, otherwise one lookup per candidate.
func resolveStored(ctx context.Context, store Store, req Request, langs []string) (resolved, bool, error) {
	if store == nil || len(langs) == 0 {
		return resolved{}, false, nil
	}
	usages := usageChain(req.Usage)
	if bs, ok := store.(BatchStore); ok {
		found, err := bs.FindTemplates(ctx, req.Tenant, langs, usages)
		if err != nil {
			return resolved{}, false, fmt.Errorf("finding %s templates in %q: %w", req.Usage, langs, err)
		}
		for _, usage := range usages {
			for _, tag := range langs {
				if d, ok := found[Key{Language: tag, Usage: usage}]; ok {
					return resolved{details: d, language: tag, source: SourceStored, usage: usage}, true, nil
				}
			}
		}
		return resolved{}, false, nil
	}
	for _, usage := range usages {
		for _, tag := range langs {
			d, ok, err := store.FindTemplate(ctx, req.Tenant, tag, usage)
			if err != nil {
				return resolved{}, false, fmt.Errorf("finding %s template in %q: %w", usage, tag, err)
			}
			if ok {
				return resolved{details: d, language: tag, source: SourceStored, usage: usage}, true, nil
			}
		}
	}
	return resolved{}, false, nil
}

// usageChain is the usage type, then Generic.
func usageChain(usage connector.UsageType) []connector.UsageType {
	if usage == connector.UsageGeneric {
		return []connector.UsageType{usage}
	}
	return []connector.UsageType{usage, connector.UsageGeneric}
}

// connectorTemplate is the first config template of the usage type.
func connectorTemplate(ts []connector.Template, usage connector.UsageType) (Details, bool) {
	for _, t := range ts {
		if t.UsageType == usage {
			return Details{Subject: t.Subject, Content: t.Content, ContentType: t.ContentType,
				ReplyTo: t.ReplyTo, SendFrom: t.SendFrom}, true
		}
	}
	return Details{}, false
}

// storedLanguages are the language tags looked up in the store: the
// locale, its base language, then the fallback language.
func storedLanguages(locale, fallback string) []string {
	var tags []string
	tags = appendTag(tags, locale, true)
	return appendTag(tags, fallback, false)
}

// builtinLanguage is the first built-in language among the locale, its
// base language, the fallback language and its base language; English
// when none is built in.
func builtinLanguage(locale, fallback string) string {
	var tags []string
	tags = appendTag(tags, locale, true)
	tags = appendTag(tags, fallback, true)
	for _, t := range tags {
		if _, ok := builtins.languages[t]; ok {
			return t
		}
	}
	return "en"
}

// appendTag appends the canonical form of tag (skipped when it does not
// parse) and, if withBase, its base language, leaving out duplicates.
func appendTag(tags []string, tag string, withBase bool) []string {
	canon, err := CanonicalLanguageTag(tag)
	if err != nil {
		return tags
	}
	add := []string{canon}
	if withBase {
		if base := baseLanguage(canon); base != "" {
			add = append(add, base)
		}
	}
	for _, t := range add {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}
