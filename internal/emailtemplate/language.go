package emailtemplate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/connector"
)

// LanguageTagMaxLen is the longest language tag, as in Logto's
// email_templates.language_tag column.
const LanguageTagMaxLen = 16

// CanonicalLanguageTag parses a BCP 47 language tag and returns its
// canonical form, such as "fr-CA" for "fr_ca". Empty, undetermined ("und")
// and over-long tags are errors.
func CanonicalLanguageTag(tag string) (string, error) {
	if tag == "" {
		return "", errors.New("language tag is empty")
	}
	if len(tag) > 64 {
		return "", fmt.Errorf("language tag is longer than %d characters", LanguageTagMaxLen)
	}
	t, err := language.Parse(tag)
	var unknown interface{ Subtag() string } // language.ValueError
	if errors.As(err, &unknown) {
		return "", fmt.Errorf("language tag %q has the unknown subtag %q", tag, unknown.Subtag())
	}
	if err != nil {
		return "", fmt.Errorf("language tag %q is not well-formed: use a BCP 47 tag such as en, fr-CA or pt-BR", tag)
	}
	canon := t.String()
	if canon == "und" {
		return "", fmt.Errorf("language tag %q names no language", tag)
	}
	if len(canon) > LanguageTagMaxLen {
		return "", fmt.Errorf("language tag %q is longer than %d characters", canon, LanguageTagMaxLen)
	}
	return canon, nil
}

// ValidLanguageTag reports whether tag is a language tag in canonical form
// ("en", "fr-CA", "zh-Hant") of at most LanguageTagMaxLen characters: the
// form templates are stored under.
func ValidLanguageTag(tag string) bool {
	canon, err := CanonicalLanguageTag(tag)
	return err == nil && canon == tag
}

// baseLanguage is the language subtag of a canonical tag ("fr" for
// "fr-CA"), or "" when it has none or is the tag itself.
func baseLanguage(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	b, conf := t.Base()
	if conf == language.No || b.String() == tag {
		return ""
	}
	return b.String()
}

// maxPreferred bounds how many languages of an Accept-Language header are
// considered (and listed in uiLocales).
const maxPreferred = 10

// ParseAcceptLanguage returns the languages of an Accept-Language header,
// best first. Entries that do not parse, "*" and those with q=0 are left
// out, rather than failing the header; so is a header over 1 KiB.
func ParseAcceptLanguage(header string) []language.Tag {
	if header == "" || len(header) > 1024 {
		return nil
	}
	type weighted struct {
		tag language.Tag
		q   float32
	}
	var all []weighted
	for part := range strings.SplitSeq(header, ",") {
		tags, qs, err := language.ParseAcceptLanguage(part)
		if err != nil {
			continue
		}
		for i, t := range tags {
			if t != language.Und && t.String() != "mul" {
				all = append(all, weighted{t, qs[i]})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b weighted) int { return cmp.Compare(b.q, a.q) })
	var out []language.Tag
	for _, w := range all {
		if len(out) == maxPreferred {
			break
		}
		if !slices.Contains(out, w.tag) {
			out = append(out, w.tag)
		}
	}
	return out
}

// BuiltinLanguages returns the languages of the built-in templates, such
// as "en" and "fr".
func BuiltinLanguages() []string { return slices.Clone(builtins.tags) }

// LanguageStore is a Store that can list the languages a tenant has
// templates in. [Render] uses it, when the store offers it, to match a
// client's preferred languages against the tenant's own templates too.
type LanguageStore interface {
	Store
	// TemplateLanguages returns the language tags of the tenant's
	// templates of any of the usage types.
	TemplateLanguages(ctx context.Context, tenant string, usages []connector.UsageType) ([]string, error)
}

// matchLanguage picks, among the languages templates exist in for the
// request (the stored ones of its usage chain and the built-in ones), the
// best match for the client's preferred languages; "" when none is close
// enough (then the fallback language applies).
func matchLanguage(ctx context.Context, store Store, req Request) (string, error) {
	var available []string
	if ls, ok := store.(LanguageStore); ok {
		stored, err := ls.TemplateLanguages(ctx, req.Tenant, usageChain(req.Usage))
		if err != nil {
			return "", fmt.Errorf("listing %s template languages: %w", req.Usage, err)
		}
		available = append(available, stored...)
	}
	available = append(available, builtins.tags...)
	var tags []language.Tag
	var names []string
	for _, a := range available {
		t, err := language.Parse(a)
		if err != nil || slices.Contains(names, a) {
			continue
		}
		tags, names = append(tags, t), append(names, a)
	}
	_, i, conf := language.NewMatcher(tags).Match(req.Preferred...)
	if conf == language.No {
		return "", nil
	}
	return names[i], nil
}

// uiLocales is the value of {{uiLocales}}: the languages the client asked
// for, best first and space-separated (the explicit locale, then the
// preferred ones), or the locale when it asked for none.
func uiLocales(explicit string, preferred []language.Tag, locale string) string {
	var out []string
	if explicit != "" {
		out = append(out, explicit)
	}
	for _, t := range preferred {
		if s := t.String(); !slices.Contains(out, s) && len(out) < maxPreferred {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return locale
	}
	return strings.Join(out, " ")
}

// HasBuiltinLanguage reports whether the built-in templates cover tag (a
// canonical tag), in itself or in its base language ("fr" for "fr-CA"),
// as a render falls back.
func HasBuiltinLanguage(tag string) bool {
	return slices.Contains(builtins.tags, tag) || (baseLanguage(tag) != "" && slices.Contains(builtins.tags, baseLanguage(tag)))
}
