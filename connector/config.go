package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/mail"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is a connector's config as the host decodes it: a pointer to the
// connector's config struct, whose json tags name every field the config
// accepts. Factory.NewConfig returns an empty one; Build validates it and
// builds the connector.
type Config interface {
	// Build checks the decoded config and builds a connector with env.
	// Invalid configs fail with an error that matches ErrInvalidConfig
	// and names the field.
	Build(ctx context.Context, env Env) (Connector, error)
}

// DecodeConfig decodes a raw config into v strictly: a key v's type does
// not declare (compared exactly, case included) is an error naming its
// path, as is a value of the wrong type. A struct that embeds OtherKeys
// takes keys it does not declare at its own level and drops them. A value
// whose type decodes itself (json.Unmarshaler: Secret, Duration, Unused,
// json.RawMessage) is taken whole, except a struct: one that decodes
// itself must still declare, as fields, every key it reads. The keys of a
// map are data and taken as they are. An empty raw is {}.
func DecodeConfig(raw json.RawMessage, v any) error {
	_, err := decodeConfig(raw, v)
	return err
}

// decodeConfig is DecodeConfig; it also returns the paths of the keys that
// OtherKeys let through.
func decodeConfig(raw json.RawMessage, v any) ([]string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	var doc any
	var other []string
	if json.Unmarshal(raw, &doc) == nil {
		w := keyWalk{other: &other}
		if field, ok := w.unknown(doc, reflect.TypeOf(v), ""); ok {
			return nil, InvalidConfig(field, "is not a field of this connector's config")
		}
	}
	err := json.Unmarshal(raw, v)
	if err == nil {
		return other, nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Type == reflect.TypeOf(Duration(0)) {
			return nil, InvalidConfig(te.Field, "%s", durationHint)
		}
		return nil, InvalidConfig(te.Field, "must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, InvalidConfig("", "not valid JSON at byte %d", se.Offset)
	}
	return nil, InvalidConfig("", "%s", err.Error())
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	otherKeysType   = reflect.TypeFor[OtherKeys]()
	unusedType      = reflect.TypeFor[Unused]()
)

// keyWalk compares a decoded JSON document with a config type.
type keyWalk struct {
	other *[]string // keys let through by OtherKeys
}

// unknown returns the dotted path of the first key in doc (in sorted
// order, array elements by index) that type t does not declare.
func (w keyWalk) unknown(doc any, t reflect.Type, path string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == unusedType {
		return "", false
	}
	if t.Kind() != reflect.Struct && (t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)) {
		return "", false
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return "", false // a type error, which json.Unmarshal names
		}
		fields, open := ConfigFields(t), TakesOtherKeys(t)
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			switch {
			case !ok && open:
				*w.other = append(*w.other, join(k))
			case !ok:
				return join(k), true
			default:
				if p, bad := w.unknown(obj[k], ft, join(k)); bad {
					return p, true
				}
			}
		}
	case reflect.Slice, reflect.Array:
		arr, _ := doc.([]any)
		for i, el := range arr {
			if p, bad := w.unknown(el, t.Elem(), join(strconv.Itoa(i))); bad {
				return p, true
			}
		}
	case reflect.Map:
		obj, _ := doc.(map[string]any)
		for _, k := range sortedKeys(obj) {
			if p, bad := w.unknown(obj[k], t.Elem(), join(k)); bad {
				return p, true
			}
		}
	}
	return "", false
}

// ConfigFields returns the JSON names of the fields of struct type t (or a
// pointer to one) and their types, as encoding/json sees them: the json
// tag's name, else the Go name; fields tagged "-" and unexported ones left
// out; the fields of an untagged embedded struct promoted.
func ConfigFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range ConfigFields(ft) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// TakesOtherKeys reports whether struct type t (or a pointer to one)
// embeds OtherKeys, directly or through an untagged embedded struct.
func TakesOtherKeys(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.Anonymous || f.Tag.Get("json") != "" {
			continue
		}
		if f.Type == otherKeysType || TakesOtherKeys(f.Type) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// OtherKeys, embedded in a config struct, makes DecodeConfig take the keys
// the struct does not declare at its level and drop them, and Build log
// their names. It is for shapes another implementation leaves open: Logto
// stores a connector config with whatever keys it was given, so a config
// pasted from Logto may carry some authmail does not know. The config
// schema leaves such a level open too; every other level of a config is
// closed (additionalProperties false), and an undeclared key there is an
// error.
type OtherKeys struct{}

// Unused is a config field accepted so that a config written for another
// implementation (Logto's nodemailer options, say) is taken as it is and
// the field documented. Any JSON value decodes into it and is dropped.
type Unused struct{}

// UnmarshalJSON accepts any value.
func (*Unused) UnmarshalJSON([]byte) error { return nil }

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "slice":
		return "an array"
	default:
		return "an object"
	}
}

// Address is a mailbox: an optional display name and an address.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// String formats the mailbox for a header, encoding a non-ASCII name.
func (a Address) String() string {
	if a.Email == "" {
		return ""
	}
	return (&mail.Address{Name: a.Name, Address: a.Email}).String()
}

// ParseAddress reads "Name <addr>" or a bare address.
func ParseAddress(s string) (Address, error) {
	s = StripControl(s)
	a, err := mail.ParseAddress(s)
	if err != nil {
		return Address{}, mailError(err)
	}
	return Address{Name: a.Name, Email: a.Address}, nil
}

// mailError says a net/mail error once: the package starts each nested
// reason with "mail: ", so that its text reads "mail: missing word in
// phrase: mail: invalid string".
func mailError(err error) error {
	var reasons []string
	for _, r := range strings.Split(err.Error(), "mail: ") {
		if r = strings.TrimSuffix(strings.TrimSpace(r), ":"); r != "" {
			reasons = append(reasons, r)
		}
	}
	return errors.New(strings.Join(reasons, ": "))
}

// ParseSendFrom reads a template's sendFrom the way Logto does: "Name
// <addr>", a bare address, or else a display name to go with the
// configured address.
func ParseSendFrom(s string) Address {
	s = strings.TrimSpace(StripControl(s))
	if s == "" {
		return Address{}
	}
	if a, err := ParseAddress(s); err == nil {
		return a
	}
	return Address{Name: strings.NewReplacer("<", "", ">", "").Replace(s)}
}

// ResolveFrom combines a message's sender override with the configured one.
func ResolveFrom(override, configured Address) Address {
	out := configured
	if override.Email != "" {
		out.Email = override.Email
	}
	if override.Name != "" {
		out.Name = override.Name
	}
	return out
}

// StripControl removes control characters (code points below 32 and 127),
// so a value can go into a header without injecting another one.
func StripControl(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 32 || r == 127 }

// HeaderName reports whether k can name a mail header (RFC 5322 field
// name: printable ASCII without a colon), in at most max bytes.
func HeaderName(k string, max int) bool {
	if k == "" || len(k) > max {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 33 || k[i] > 126 || k[i] == ':' {
			return false
		}
	}
	return true
}

// HeaderValue keeps the printable ASCII of s, trimmed, in at most max
// bytes: a value a provider taking headers as data (not as raw MIME) accepts
// and that cannot start another header.
func HeaderValue(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= 32 && s[i] < 127 {
			b.WriteByte(s[i])
		}
	}
	v := strings.TrimSpace(b.String())
	if len(v) > max {
		v = strings.TrimSpace(v[:max])
	}
	return v
}

// Duration is a config duration given as milliseconds (Logto's style, a
// JSON number) or as a Go duration string such as "10s".
type Duration time.Duration

const durationHint = `must be a non-negative number of milliseconds or a duration such as "10s"`

// UnmarshalJSON reads a number of milliseconds or a duration string. A
// bad value is a *json.UnmarshalTypeError, so that json.Unmarshal names
// the field and DecodeConfig reports it.
func (d *Duration) UnmarshalJSON(b []byte) error {
	bad := &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeOf(Duration(0))}
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		if n < 0 {
			return bad
		}
		*d = Duration(time.Duration(n * float64(time.Millisecond)))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return bad
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return bad
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Milliseconds())
}

// Or returns d, or def when d is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// ConfigSender reads a config's sender: value is "addr" or "Name <addr>"
// and is required (hint says where to find it); a non-empty name replaces
// the display name. Errors name field.
func ConfigSender(field, value, name, hint string) (Address, error) {
	if strings.TrimSpace(value) == "" {
		if hint != "" {
			return Address{}, InvalidConfig(field, "is required: %s", hint)
		}
		return Address{}, InvalidConfig(field, "is required")
	}
	a, err := ConfigAddress(field, value)
	if err != nil {
		return Address{}, err
	}
	if name = strings.TrimSpace(StripControl(name)); name != "" {
		a.Name = name
	}
	return a, nil
}

// ConfigAddress reads an optional address field of a config: empty gives
// the zero Address, anything else must parse. Errors name field.
func ConfigAddress(field, value string) (Address, error) {
	if strings.TrimSpace(value) == "" {
		return Address{}, nil
	}
	a, err := ParseAddress(value)
	if err != nil {
		return Address{}, InvalidConfig(field, "is not an email address such as \"Example <no-reply@example.com>\": %v", err)
	}
	return a, nil
}
