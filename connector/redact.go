package connector

import (
	"encoding/json"
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

// KeepRedacted returns next with every secret field that holds
// "[redacted]" (as a client echoes a redacted config back) replaced by the
// value the same field has in prev, so editing one field of a saved config
// does not require retyping its secrets.
func KeepRedacted(f Factory, next, prev json.RawMessage) json.RawMessage {
	doc, old := decodeObject(next), decodeObject(prev)
	for _, path := range f.SecretFields {
		keepWalk(doc, old, strings.Split(path, "."))
	}
	out, _ := json.Marshal(doc)
	return out
}

// keepWalk walks the new and the previous config side by side (arrays by
// index) and restores redacted values at path from the previous one.
func keepWalk(node, old any, path []string) {
	switch n := node.(type) {
	case map[string]any:
		o, _ := old.(map[string]any)
		if len(path) == 1 {
			if n[path[0]] != Redacted {
				return
			}
			if v, ok := o[path[0]]; ok {
				n[path[0]] = v
			} else {
				delete(n, path[0])
			}
			return
		}
		keepWalk(n[path[0]], o[path[0]], path[1:])
	case []any:
		o, _ := old.([]any)
		for i, el := range n {
			var prev any
			if i < len(o) {
				prev = o[i]
			}
			keepWalk(el, prev, path)
		}
	}
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
