package connector

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Redact returns raw with every secret field of f replaced by "[redacted]".
// A config that is not a JSON object is returned as an empty object.
func Redact(f Factory, raw json.RawMessage) json.RawMessage {
	doc := decodeObject(raw)
	for _, path := range f.SecretFields {
		walkSecret(doc, strings.Split(path, "."), func(parent map[string]any, key string) {
			if s, ok := parent[key].(string); ok && s != "" {
				parent[key] = Redacted
			}
		})
	}
	out, _ := json.Marshal(doc)
	return out
}

// Secrets returns the non-empty secret values in raw, for masking them in
// error messages.
func Secrets(f Factory, raw json.RawMessage) []string {
	doc := decodeObject(raw)
	var out []string
	for _, path := range f.SecretFields {
		walkSecret(doc, strings.Split(path, "."), func(parent map[string]any, key string) {
			if s, ok := parent[key].(string); ok && s != "" && s != Redacted {
				out = append(out, s)
			}
		})
	}
	return out
}

// KeepSecrets returns next with every secret field that holds
// "[redacted]" (as a client echoes a redacted config back) replaced by the
// value the same field has in prev, the stored config, so editing one
// field of a saved config does not require retyping its secrets.
//
// A stored secret stays with the destination it was saved for: when next
// echoes a stored secret and a destination field of f
// (Factory.DestinationFields) differs between next and prev, KeepSecrets
// returns a *SecretReuseError naming the secret fields to enter again, and
// next is not used. A field is unchanged when it holds the same JSON value
// in both (an absent field and null are the same). A secret typed anew
// may go anywhere. A next that is not a JSON object is a *ConfigError.
func KeepSecrets(f Factory, next, prev json.RawMessage) (json.RawMessage, error) {
	var probe map[string]any
	if json.Unmarshal(next, &probe) != nil || probe == nil {
		return nil, &ConfigError{Reason: "must be a JSON object"}
	}
	doc, old := decodeObject(next), decodeObject(prev)
	var echoed []string
	for _, path := range f.SecretFields {
		if keepWalk(doc, old, strings.Split(path, ".")) {
			echoed = append(echoed, path)
		}
	}
	if len(echoed) > 0 {
		var changed []string
		for _, path := range f.DestinationFields {
			p := strings.Split(path, ".")
			if !reflect.DeepEqual(valuesAt(decodeObject(next), p), valuesAt(old, p)) {
				changed = append(changed, path)
			}
		}
		if len(changed) > 0 {
			return nil, &SecretReuseError{Secrets: echoed, Changed: changed}
		}
	}
	out, _ := json.Marshal(doc)
	return out, nil
}

// SecretReuseError refuses a config that echoes a stored secret redacted
// while changing where it goes. It matches ErrInvalidConfig.
type SecretReuseError struct {
	// Secrets are the secret fields to enter again, in the factory's order.
	Secrets []string
	// Changed are the destination fields that differ from the stored config.
	Changed []string
}

// Error names the secrets to enter again and the destination that changed.
func (e *SecretReuseError) Error() string {
	return fmt.Sprintf("invalid config: %s: enter the secret again: it is kept only while the destination stays the same, and %s changed",
		strings.Join(e.Secrets, ", "), strings.Join(e.Changed, ", "))
}

// Is matches ErrInvalidConfig.
func (e *SecretReuseError) Is(target error) bool { return target == ErrInvalidConfig }

// valuesAt returns the values at path in node, descending into every
// element of arrays on the way; an absent field is nil.
func valuesAt(node any, path []string) []any {
	switch n := node.(type) {
	case map[string]any:
		if len(path) == 1 {
			return []any{n[path[0]]}
		}
		return valuesAt(n[path[0]], path[1:])
	case []any:
		out := []any{}
		for _, el := range n {
			out = append(out, valuesAt(el, path)...)
		}
		return out
	}
	return []any{nil}
}

// keepWalk walks the new and the previous config side by side (arrays by
// index) and restores redacted values at path from the previous one. It
// reports whether it restored a stored value.
func keepWalk(node, old any, path []string) bool {
	switch n := node.(type) {
	case map[string]any:
		o, _ := old.(map[string]any)
		if len(path) == 1 {
			if n[path[0]] != Redacted {
				return false
			}
			v, ok := o[path[0]]
			if ok {
				n[path[0]] = v
			} else {
				delete(n, path[0])
			}
			return ok
		}
		return keepWalk(n[path[0]], o[path[0]], path[1:])
	case []any:
		o, _ := old.([]any)
		restored := false
		for i, el := range n {
			var prev any
			if i < len(o) {
				prev = o[i]
			}
			restored = keepWalk(el, prev, path) || restored
		}
		return restored
	}
	return false
}

func decodeObject(raw json.RawMessage) map[string]any {
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil || doc == nil {
		doc = map[string]any{}
	}
	return doc
}

// walkSecret calls fn for the field at path, descending into objects and
// into every element of arrays on the way.
func walkSecret(node any, path []string, fn func(parent map[string]any, key string)) {
	switch n := node.(type) {
	case map[string]any:
		if len(path) == 1 {
			if _, ok := n[path[0]]; ok {
				fn(n, path[0])
			}
			return
		}
		walkSecret(n[path[0]], path[1:], fn)
	case []any:
		for _, el := range n {
			walkSecret(el, path, fn)
		}
	}
}
