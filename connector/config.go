package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/mail"
	"reflect"
	"strings"
	"time"
)

// DecodeConfig decodes a raw config into v. Unknown fields are ignored, so
// a config pasted from Logto (which may carry extra keys) is accepted. A
// type mismatch becomes a ConfigError naming the field.
func DecodeConfig(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Type == reflect.TypeOf(Duration(0)) {
			return InvalidConfig(te.Field, "%s", durationHint)
		}
		return InvalidConfig(te.Field, "must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return InvalidConfig("", "not valid JSON at byte %d", se.Offset)
	}
	return InvalidConfig("", "%s", err.Error())
}

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
		return Address{}, err
	}
	return Address{Name: a.Name, Email: a.Address}, nil
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
