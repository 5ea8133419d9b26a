package emailtemplate

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/authmail/authmail/connector"
)

//go:embed defaults/*.json defaults/layout.html defaults/layout.txt
var defaultsFS embed.FS

// variants is one built-in string: a single string or a list of variants,
// most specific first.
type variants []string

// UnmarshalJSON reads a string or a list of strings.
func (v *variants) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = variants{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil || len(list) == 0 {
		return fmt.Errorf("must be a string or a non-empty list of strings")
	}
	*v = list
	return nil
}

// choose returns the first variant whose placeholders all have a non-empty
// value in data, or the last variant when none has.
func (v variants) choose(data map[string]any) string {
	for _, s := range v {
		if hasAll(s, data) {
			return s
		}
	}
	return v[len(v)-1]
}

func hasAll(s string, data map[string]any) bool {
	for _, p := range Placeholders(s) {
		if v, ok := lookup(data, p); !ok || v == "" {
			return false
		}
	}
	return true
}

// strings of one language, as in defaults/<tag>.json.
type languageStrings struct {
	Name   string                                      `json:"name"`
	Dir    string                                      `json:"dir"`
	Common map[string]variants                         `json:"common"`
	Usages map[connector.UsageType]map[string]variants `json:"usages"`
	// Notices are the words of the notices (NoticeEmailChanged...), which
	// carry neither a code nor a link.
	Notices map[string]map[string]variants `json:"notices"`
}

// get is a string of a usage type's message, or of a notice when notice
// is not "".
func (l *languageStrings) get(usage connector.UsageType, notice, key string) (variants, bool) {
	if notice != "" {
		v, ok := l.Notices[notice][key]
		if ok || key != "sentBy" {
			return v, ok
		}
	}
	if v, ok := l.Usages[usage][key]; ok {
		return v, true
	}
	v, ok := l.Common[key]
	return v, ok
}

// builtinSet is the parsed content of defaults/.
type builtinSet struct {
	html, text *texttemplate.Template
	languages  map[string]*languageStrings
	tags       []string
}

var builtins = mustLoadBuiltins()

func mustLoadBuiltins() *builtinSet {
	set, err := loadBuiltins()
	if err != nil {
		panic("template: loading built-in defaults: " + err.Error())
	}
	return set
}

func loadBuiltins() (*builtinSet, error) {
	set := &builtinSet{languages: map[string]*languageStrings{}}
	var err error
	if set.html, err = parseLayout("defaults/layout.html"); err != nil {
		return nil, err
	}
	if set.text, err = parseLayout("defaults/layout.txt"); err != nil {
		return nil, err
	}
	files, err := defaultsFS.ReadDir("defaults")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		tag, ok := strings.CutSuffix(f.Name(), ".json")
		if !ok {
			continue
		}
		l, err := loadLanguage(tag)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		set.languages[tag] = l
		set.tags = append(set.tags, tag)
	}
	slices.Sort(set.tags)
	if set.languages["en"] == nil {
		return nil, fmt.Errorf("no English strings")
	}
	return set, nil
}

func parseLayout(name string) (*texttemplate.Template, error) {
	src, err := defaultsFS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return texttemplate.New(path.Base(name)).Delims("[[", "]]").Option("missingkey=error").Parse(string(src))
}

func loadLanguage(tag string) (*languageStrings, error) {
	if !ValidLanguageTag(tag) {
		return nil, fmt.Errorf("%q is not a canonical language tag", tag)
	}
	raw, err := defaultsFS.ReadFile("defaults/" + tag + ".json")
	if err != nil {
		return nil, err
	}
	var l languageStrings
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, err
	}
	if l.Dir != "ltr" && l.Dir != "rtl" {
		return nil, fmt.Errorf("dir must be ltr or rtl")
	}
	for _, u := range connector.UsageTypes() {
		for _, key := range requiredStrings(u) {
			if _, ok := l.get(u, "", key); !ok {
				return nil, fmt.Errorf("%s: missing string %q", u, key)
			}
		}
	}
	for _, n := range Notices() {
		for _, key := range []string{"subject", "preheader", "heading", "intro", "ignore"} {
			if _, ok := l.get(connector.UsageGeneric, n, key); !ok {
				return nil, fmt.Errorf("notice %s: missing string %q", n, key)
			}
		}
	}
	return &l, nil
}

// requiredStrings are the strings the layouts use for a usage type.
func requiredStrings(usage connector.UsageType) []string {
	keys := []string{"subject", "preheader", "heading", "intro", "expiry", "ignore", "sentBy"}
	if usesLink(usage) {
		return append(keys, "button", "linkHelp")
	}
	return append(keys, "codeLabel")
}

func usesLink(usage connector.UsageType) bool { return usage == connector.UsageOrganizationInvitation }

// NoticeEmailChanged is the notice to the old address of an account whose
// primary email changed.
const NoticeEmailChanged = "EmailChanged"

// Notices lists the built-in notices: messages with neither a code nor a
// link, in a usage type's built-in layout with words of their own.
func Notices() []string { return []string{NoticeEmailChanged} }

// Languages returns the language tags of the built-in templates, sorted.
func Languages() []string { return slices.Clone(builtins.tags) }

// layoutData is what the layouts see.
type layoutData struct {
	Lang, Dir                  string
	IsLink, HasLogo, HasSender bool
	// IsNotice says the message carries neither a code nor a link.
	IsNotice bool
	// HasLink says a code's message also carries a link that completes
	// the same verification (a magic link: the payload's link).
	HasLink    bool
	HasCompany bool
	OnPrimary  string
	usage      connector.UsageType
	notice     string
	strings    *languageStrings
	data       map[string]any
	escape     bool
}

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// T returns the string key in the variant that fits the payload, escaped
// for HTML text in the HTML layout.
func (d layoutData) T(key string) string {
	v, ok := d.strings.get(d.usage, d.notice, key)
	if !ok {
		return ""
	}
	s := v.choose(d.data)
	if d.escape {
		s = textEscaper.Replace(s)
	}
	return s
}

// BuiltinDetails returns authmail's built-in template of a usage type in a
// built-in language, shaped for the payload and branding: the logo, sender
// name and company information appear only when set, and each sentence
// uses the variant whose placeholders the payload provides. The result
// still holds placeholders; render it with [RenderDetails].
func BuiltinDetails(usage connector.UsageType, language string, payload map[string]any, b Branding) (Details, error) {
	b = b.sanitized()
	return builtinDetails(usage, "", language, templateData(payload, b), b)
}

func builtinDetails(usage connector.UsageType, notice, language string, data map[string]any, b Branding) (Details, error) {
	strs, ok := builtins.languages[language]
	if !ok || !usage.Valid() || (notice != "" && !slices.Contains(Notices(), notice)) {
		return Details{}, fmt.Errorf("no built-in %s template %q in %q", usage, notice, language)
	}
	d := layoutData{
		Lang:       language,
		Dir:        strs.Dir,
		IsLink:     notice == "" && usesLink(usage),
		IsNotice:   notice != "",
		HasLink:    notice == "" && !usesLink(usage) && hasAll("{{link}}", data),
		notice:     notice,
		HasLogo:    b.LogoURL != "",
		HasSender:  b.SenderName != "",
		HasCompany: b.CompanyInformation != "",
		OnPrimary:  onColor(b.values()["primaryColor"].(string)),
		usage:      usage,
		strings:    strs,
		data:       data,
	}
	var text strings.Builder
	if err := builtins.text.Execute(&text, d); err != nil {
		return Details{}, fmt.Errorf("rendering built-in text layout: %w", err)
	}
	d.escape = true
	var html strings.Builder
	if err := builtins.html.Execute(&html, d); err != nil {
		return Details{}, fmt.Errorf("rendering built-in HTML layout: %w", err)
	}
	d.escape = false
	return Details{
		Subject:     d.T("subject"),
		Content:     html.String(),
		ContentType: ContentTypeHTML,
		Text:        text.String(),
	}, nil
}

// onColor picks black or white text for a #rrggbb background.
func onColor(bg string) string {
	n, err := strconv.ParseUint(strings.TrimPrefix(bg, "#"), 16, 32)
	if err != nil || len(bg) != 7 {
		return "#ffffff"
	}
	r, g, bl := float64(n>>16&0xff), float64(n>>8&0xff), float64(n&0xff)
	// Perceived brightness (ITU-R BT.601 weights), 0-255.
	if 0.299*r+0.587*g+0.114*bl > 160 {
		return "#111827"
	}
	return "#ffffff"
}
