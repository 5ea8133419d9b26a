package emailtemplate

import (
	"encoding/json"
	"fmt"
	"html"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/authmail/authmail/connector"
)

// placeholderRE is Logto's placeholder pattern.
var placeholderRE = regexp.MustCompile(`{{\s*([\w.]+)\s*}}`)

// escapeMode says how a substituted value is written.
type escapeMode int

const (
	rawValues  escapeMode = iota // plain text bodies
	htmlValues                   // HTML bodies: html.EscapeString
)

// substitute replaces the placeholders of tmpl with values from data,
// following Logto's rules (see the package documentation).
func substitute(tmpl string, data map[string]any, mode escapeMode) string {
	idx := placeholderRE.FindAllStringSubmatchIndex(tmpl, -1)
	if idx == nil {
		return tmpl
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 64)
	last := 0
	for _, m := range idx {
		b.WriteString(tmpl[last:m[0]])
		last = m[1]
		v, ok := lookup(data, tmpl[m[2]:m[3]])
		if !ok {
			b.WriteString(tmpl[m[0]:m[1]])
			continue
		}
		if mode == htmlValues {
			v = html.EscapeString(v)
		}
		b.WriteString(v)
	}
	b.WriteString(tmpl[last:])
	return b.String()
}

// lookup resolves a dotted path. ok is false when the root key is absent
// (the placeholder stays as it is); a path that leads nowhere gives "".
func lookup(data map[string]any, path string) (value string, ok bool) {
	root, rest, nested := strings.Cut(path, ".")
	v, ok := data[root]
	if !ok {
		return "", false
	}
	for nested {
		var key string
		key, rest, nested = strings.Cut(rest, ".")
		v = child(v, key)
		if v == nil {
			return "", true
		}
	}
	return stringify(v), true
}

// child returns the member key of v, or nil.
func child(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		return x[key]
	case map[string]string:
		if s, ok := x[key]; ok {
			return s
		}
		return nil
	case []any:
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(x) {
			return nil
		}
		return x[i]
	}
	return nil
}

// stringify is the string form of a scalar; objects and lists give "".
func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return ""
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Pointer, reflect.Func, reflect.Chan, reflect.Interface:
		return ""
	}
	return fmt.Sprint(v)
}

// Placeholders returns the distinct placeholder paths used in s, in order
// of first use.
func Placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// common are the placeholders every usage type provides.
var common = []string{"locale", "uiLocales", "expiresInMinutes",
	"branding.senderName", "branding.companyInformation", "branding.logoUrl", "branding.primaryColor"}

// provided lists, per usage type, the placeholders it provides besides the
// common ones. "x.*" means any path below x.
var provided = map[connector.UsageType][]string{
	connector.UsageSignIn:                   {"code", "link", "application.*", "organization.*"},
	connector.UsageRegister:                 {"code", "link", "application.*", "organization.*"},
	connector.UsageForgotPassword:           {"code", "application.*", "organization.*"},
	connector.UsageGeneric:                  {"code"},
	connector.UsageOrganizationInvitation:   {"link", "organization.*", "inviter.*"},
	connector.UsageUserPermissionValidation: {"code", "user.*", "application.*"},
	connector.UsageBindNewIdentifier:        {"code", "user.*", "application.*"},
	connector.UsageMfaVerification:          {"code", "user.*", "application.*", "organization.*"},
	connector.UsageBindMfa:                  {"code", "user.*", "application.*", "organization.*"},
}

// Provided returns the placeholders a usage type provides, such as "code"
// and "application.*" (any path below application). Nil for an unknown
// usage type.
func Provided(usage connector.UsageType) []string {
	own, ok := provided[usage]
	if !ok {
		return nil
	}
	return append(slices.Clone(own), common...)
}

// allowed reports whether path is one of the provided patterns.
func allowed(path string, patterns []string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, ".*"); ok {
			if rest, ok := strings.CutPrefix(path, prefix+"."); ok && rest != "" {
				return true
			}
		} else if path == p {
			return true
		}
	}
	return false
}

// PlaceholderError is a template that uses placeholders its usage type
// never provides.
type PlaceholderError struct {
	// Usage is the template's usage type.
	Usage connector.UsageType
	// Unknown are the placeholders used but not provided, in order of use.
	Unknown []string
	// Provided are the placeholders the usage type provides.
	Provided []string
}

// Error lists the unknown placeholders and those the usage type provides.
func (e *PlaceholderError) Error() string {
	unknown := make([]string, len(e.Unknown))
	for i, u := range e.Unknown {
		unknown[i] = "{{" + u + "}}"
	}
	return fmt.Sprintf("%s templates cannot use %s; they can use %s",
		e.Usage, strings.Join(unknown, ", "), strings.Join(e.Provided, ", "))
}

// Is makes the error match ErrInvalidTemplate.
func (e *PlaceholderError) Is(target error) bool { return target == ErrInvalidTemplate }
