package connectortest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// schemaNode is one (sub)schema of a factory's config schema, as parsed.
type schemaNode map[string]any

// configSchema is a factory's config schema, with its root for $ref.
type configSchema struct {
	root schemaNode
}

func parseSchema(raw json.RawMessage) (*configSchema, error) {
	var root schemaNode
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("config schema is not a JSON object: %w", err)
	}
	return &configSchema{root: root}, nil
}

// deref follows a local $ref ("#/$defs/name"), once per level, so that a
// property given as a reference is described by what it references.
func (s *configSchema) deref(n schemaNode) schemaNode {
	for range 8 {
		ref, _ := n["$ref"].(string)
		if !strings.HasPrefix(ref, "#/") {
			return n
		}
		var cur any = map[string]any(s.root)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			return n
		}
		n = next
	}
	return n
}

// properties returns the properties n declares, directly or in its
// allOf, anyOf and oneOf members, each dereferenced.
func (s *configSchema) properties(n schemaNode) map[string]schemaNode {
	n = s.deref(n)
	out := map[string]schemaNode{}
	if props, ok := n["properties"].(map[string]any); ok {
		for k, v := range props {
			if m, ok := v.(map[string]any); ok {
				out[k] = s.deref(m)
			}
		}
	}
	for _, comb := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := n[comb].([]any)
		for _, member := range list {
			if m, ok := member.(map[string]any); ok {
				for k, v := range s.properties(m) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
			}
		}
	}
	return out
}

// items returns the schema of n's array elements, if n is an array.
func (s *configSchema) items(n schemaNode) (schemaNode, bool) {
	m, ok := s.deref(n)["items"].(map[string]any)
	if !ok {
		return nil, false
	}
	return s.deref(m), true
}

// entries returns the schema of the values of n when n is a map (an object
// whose additionalProperties is a schema).
func (s *configSchema) entries(n schemaNode) (schemaNode, bool) {
	m, ok := s.deref(n)["additionalProperties"].(map[string]any)
	if !ok {
		return nil, false
	}
	return s.deref(m), true
}

// paths returns the dotted path of every property in the schema, in the
// notation of Factory.SecretFields: nested objects add a segment, array
// elements add none ("templates.subject"). The entries of a map are not
// walked: their keys are data, not fields.
func (s *configSchema) paths() []string {
	var out []string
	var walk func(prefix string, n schemaNode, depth int)
	walk = func(prefix string, n schemaNode, depth int) {
		if depth > 16 {
			return
		}
		if el, ok := s.items(n); ok {
			walk(prefix, el, depth+1)
		}
		for k, v := range s.properties(n) {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out = append(out, p)
			walk(p, v, depth+1)
		}
	}
	walk("", s.root, 0)
	sort.Strings(out)
	return out
}

// destinationWord reports whether w makes a config field a destination
// under the rule of destinationLike.
func destinationWord(w string) bool {
	switch w {
	case "host", "hostname", "port", "endpoint", "url", "uri", "region", "domain", "servername":
		return true
	}
	return false
}

// destinationLike is the rule that says which config fields must be
// declared in Factory.DestinationFields: a field is a destination when a
// word of its name, split at lower-to-upper case changes, underscores and
// hyphens and lower-cased, is one of host, hostname, port, endpoint, url,
// uri, region, domain or servername ("host", "baseUrl", "regionId",
// "servername" and "dkim.domain" are; "fromEmail" and "serverToken", a
// Postmark server's token, are not). A field the config type declares
// connector.Unused is exempt (testDestinationFields): it is dropped, so it
// sends nothing anywhere. Declaring a field the rule does not catch is
// allowed: the rule is a floor, not the definition.
func destinationLike(path string) bool {
	name := path[strings.LastIndexByte(path, '.')+1:]
	for _, w := range words(name) {
		if destinationWord(w) {
			return true
		}
	}
	return false
}

// words splits a field name into lower-case words: "baseURL" is base and
// url, "regionId" is region and id, "smtp_host" is smtp and host.
func words(name string) []string {
	var out []string
	rs := []rune(name)
	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, strings.ToLower(string(rs[start:end])))
		}
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '_' || r == '-' || r == '.':
			flush(i)
			start = i + 1
		case i > start && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])):
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return out
}
