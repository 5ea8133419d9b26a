package emailtemplate

import (
	"errors"
	"fmt"

	"golang.org/x/text/language"
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
