package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/authmail/authmail/connector"
)

// A connector's config form is made from its factory: the form items
// (connector.FormItem: label, kind, hints) in their order, with what the
// JSON Schema says of each field (its type, the values it allows, its
// default and description, the fields of an object). A secret field is a
// password input that never shows the stored value: left empty, the
// stored secret is kept (sent back as connector.Redacted, which the
// services resolve). A JSON field whose schema is a closed object of
// plain values (SMTP's auth) is a group of its own inputs; any other JSON
// field is a JSON text area.

// schemaNode is the part of a JSON Schema the form reads.
type schemaNode struct {
	Type                 json.RawMessage        `json:"type"`
	Enum                 []any                  `json:"enum"`
	Default              any                    `json:"default"`
	Description          string                 `json:"description"`
	Ref                  string                 `json:"$ref"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Required             []string               `json:"required"`
	Minimum              *float64               `json:"minimum"`
	Maximum              *float64               `json:"maximum"`
	Properties           orderedProps           `json:"properties"`
	Defs                 map[string]*schemaNode `json:"$defs"`
}

// orderedProps are an object's properties in the order the schema lists
// them.
type orderedProps struct {
	names []string
	nodes map[string]*schemaNode
}

func (o *orderedProps) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("properties is not an object")
	}
	o.nodes = map[string]*schemaNode{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		var n schemaNode
		if err := dec.Decode(&n); err != nil {
			return err
		}
		o.names = append(o.names, name)
		o.nodes[name] = &n
	}
	return nil
}

// types lists the node's JSON types ("string", "integer"...).
func (n *schemaNode) types() []string {
	var one string
	if json.Unmarshal(n.Type, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(n.Type, &many)
	return many
}

// closed reports whether the object takes no properties beyond its own.
func (n *schemaNode) closed() bool { return string(bytes.TrimSpace(n.AdditionalProperties)) == "false" }

// unused reports whether the schema says the field does nothing (options a
// Logto config may carry that authmail accepts and ignores).
func (n *schemaNode) unused() bool { return strings.Contains(n.Description, "not used") }

// scalar reports whether the node is a plain value an input can hold.
func (n *schemaNode) scalar() bool {
	if len(n.Enum) > 0 {
		return true
	}
	ts := n.types()
	if len(ts) == 0 {
		return false
	}
	return slices.ContainsFunc(ts, func(t string) bool { return t == "string" || t == "number" || t == "integer" || t == "boolean" })
}

// parseSchema reads a factory's config schema, resolving each property's
// local $ref ("#/$defs/name").
func parseSchema(raw json.RawMessage) (*schemaNode, error) {
	var root schemaNode
	if len(raw) == 0 {
		return &root, nil
	}
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	var resolve func(n *schemaNode)
	resolve = func(n *schemaNode) {
		for _, name := range n.Properties.names {
			p := n.Properties.nodes[name]
			if def, ok := strings.CutPrefix(p.Ref, "#/$defs/"); ok && root.Defs[def] != nil {
				d := *root.Defs[def]
				if p.Default != nil {
					d.Default = p.Default
				}
				if p.Description != "" {
					d.Description = p.Description
				}
				*p = d
			}
			resolve(p)
		}
	}
	resolve(&root)
	return &root, nil
}

// Field kinds.
const (
	kindText     = "text"
	kindNumber   = "number"
	kindSwitch   = "switch"
	kindSelect   = "select"
	kindTextarea = "textarea"
	kindJSON     = "json"
	kindSecret   = "secret"
	kindGroup    = "group"
)

// formField is one input of a config form.
type formField struct {
	// Path is the field's dotted path in the config ("auth.pass").
	Path string
	// Name is the input's name, ID its element ID.
	Name, ID    string
	Label       string
	Description string
	Placeholder string
	Kind        string
	Required    bool
	// Multiline makes a secret a text area (a PEM key).
	Multiline bool
	Options   []string
	Min, Max  string
	Integer   bool
	// Value is what the input shows; Checked a switch's state.
	Value   string
	Checked bool
	// Saved says a secret is stored: the input is empty, and leaving it so
	// keeps it.
	Saved bool
	// fromDefault says the shown value is the field's default, not the
	// config's: submitted unchanged, the config keeps leaving it out.
	fromDefault bool
	// Error is the sentence about the field, when it was refused.
	Error string
	// Sub are a group's fields.
	Sub []formField
}

// configForm is a factory's form: its fields, built once per request from
// the factory and a config.
type configForm struct {
	factory connector.Factory
	schema  *schemaNode
	Fields  []formField
}

// fieldName is the input name of a config path.
func fieldName(path string) string { return "config." + path }

// fieldID is the element ID of a config path.
func fieldID(path string) string {
	return "config-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(path)
}

// newConfigForm lays out f's form with the values of config (an object;
// secrets redacted).
func newConfigForm(f connector.Factory, config map[string]any) (*configForm, error) {
	schema, err := parseSchema(f.ConfigSchema)
	if err != nil {
		return nil, fmt.Errorf("config schema of %s: %w", f.ID, err)
	}
	cf := &configForm{factory: f, schema: schema}
	for _, item := range f.Form {
		node := schema.Properties.nodes[item.Key]
		if node == nil {
			node = &schemaNode{}
		}
		ff := formField{Path: item.Key, Name: fieldName(item.Key), ID: fieldID(item.Key), Label: item.Label,
			Description: item.Description, Placeholder: item.Placeholder,
			Required: item.Required || slices.Contains(schema.Required, item.Key)}
		if ff.Description == "" {
			ff.Description = node.Description
		}
		secret := item.IsSecret || slices.Contains(f.SecretFields, item.Key)
		switch {
		case secret:
			ff.Kind = kindSecret
			ff.Multiline = item.Type == "MultilineText" || strings.Contains(node.Description, "PEM")
		case item.Type == "Number":
			ff.Kind = kindNumber
			numberBounds(&ff, node)
		case item.Type == "Switch":
			ff.Kind = kindSwitch
		case item.Type == "Select" || (item.Type == "Text" && len(node.Enum) > 0):
			ff.Kind = kindSelect
			ff.Options = item.SelectItems
			if len(ff.Options) == 0 {
				ff.Options = enumStrings(node.Enum)
			}
		case item.Type == "MultilineText":
			ff.Kind = kindTextarea
		case item.Type == "Json" && groupable(node):
			ff.Kind = kindGroup
			for _, name := range node.Properties.names {
				sub := node.Properties.nodes[name]
				if sub.unused() {
					continue
				}
				ff.Sub = append(ff.Sub, subField(f, item.Key+"."+name, name, sub, slices.Contains(node.Required, name)))
			}
		case item.Type == "Json":
			ff.Kind = kindJSON
		default:
			ff.Kind = kindText
		}
		if ff.Kind == kindSelect && !ff.Required {
			ff.Options = append([]string{""}, ff.Options...)
		}
		cf.Fields = append(cf.Fields, ff)
	}
	cf.fill(config, defaultsOf(f, schema))
	return cf, nil
}

// groupable reports whether a JSON field is a closed object of plain
// values, shown as inputs of their own.
func groupable(n *schemaNode) bool {
	if !n.closed() || len(n.Properties.names) == 0 {
		return false
	}
	for _, name := range n.Properties.names {
		if p := n.Properties.nodes[name]; !p.unused() && !p.scalar() {
			return false
		}
	}
	return true
}

// subField is the input of one property of a group.
func subField(f connector.Factory, path, name string, n *schemaNode, required bool) formField {
	ff := formField{Path: path, Name: fieldName(path), ID: fieldID(path), Label: name, Description: n.Description, Required: required}
	ts := n.types()
	switch {
	case slices.Contains(f.SecretFields, path):
		ff.Kind = kindSecret
		ff.Multiline = strings.Contains(n.Description, "PEM")
	case len(n.Enum) > 0:
		ff.Kind = kindSelect
		ff.Options = append([]string{""}, enumStrings(n.Enum)...)
	case slices.Contains(ts, "boolean") && len(ts) == 1:
		ff.Kind = kindSwitch
	case (slices.Contains(ts, "number") || slices.Contains(ts, "integer")) && !slices.Contains(ts, "string"):
		ff.Kind = kindNumber
		numberBounds(&ff, n)
	default:
		ff.Kind = kindText
	}
	return ff
}

func numberBounds(ff *formField, n *schemaNode) {
	ff.Integer = slices.Contains(n.types(), "integer")
	if n.Minimum != nil {
		ff.Min = strconv.FormatFloat(*n.Minimum, 'f', -1, 64)
	}
	if n.Maximum != nil {
		ff.Max = strconv.FormatFloat(*n.Maximum, 'f', -1, 64)
	}
}

func enumStrings(enum []any) []string {
	var out []string
	for _, v := range enum {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// defaultsOf are the values a field shows when the config has none: the
// form item's default, else the schema's.
func defaultsOf(f connector.Factory, schema *schemaNode) map[string]any {
	out := map[string]any{}
	for _, item := range f.Form {
		if item.DefaultValue != nil {
			out[item.Key] = item.DefaultValue
		} else if n := schema.Properties.nodes[item.Key]; n != nil && n.Default != nil {
			out[item.Key] = n.Default
		}
	}
	return out
}

// fill sets each field's shown value from config, or the default.
func (cf *configForm) fill(config, defaults map[string]any) {
	for i := range cf.Fields {
		ff := &cf.Fields[i]
		v, ok := config[ff.Path]
		if !ok && ff.Kind != kindSecret && ff.Kind != kindGroup {
			v, ok = defaults[ff.Path]
			ff.fromDefault = ok
		}
		if ff.Kind == kindGroup {
			obj, _ := v.(map[string]any)
			for j := range ff.Sub {
				sv, sok := obj[strings.TrimPrefix(ff.Sub[j].Path, ff.Path+".")]
				showValue(&ff.Sub[j], sv, sok)
			}
			continue
		}
		showValue(ff, v, ok)
	}
}

// showValue sets what a field shows for the value v (present when ok).
func showValue(ff *formField, v any, ok bool) {
	if !ok || v == nil {
		return
	}
	switch ff.Kind {
	case kindSecret:
		// A stored secret never reaches the page; a default config's
		// sample value ("<password>") is not shown either.
		ff.Saved = v == connector.Redacted
	case kindSwitch:
		ff.Checked, _ = v.(bool)
	case kindJSON:
		b, _ := json.MarshalIndent(v, "", "  ")
		ff.Value = string(b)
	default:
		switch x := v.(type) {
		case string:
			ff.Value = x
		case float64:
			ff.Value = strconv.FormatFloat(x, 'f', -1, 64)
		case json.Number:
			ff.Value = x.String()
		default:
			b, _ := json.Marshal(x)
			ff.Value = string(b)
		}
	}
}

// configFromForm makes the config a submitted form describes: base (the
// saved config, or the factory's default one) with each field set from
// its input, or removed when the input is empty. Keys the form does not
// show are kept. An empty secret input keeps a secret base has. A number
// or JSON input that does not parse is refused, naming the field; the
// form's shown values are then what was typed.
func (cf *configForm) configFromForm(base map[string]any, form url.Values) (json.RawMessage, map[string]string) {
	out := cloneMap(base)
	errs := map[string]string{}
	for i := range cf.Fields {
		ff := &cf.Fields[i]
		if ff.Kind == kindGroup {
			obj, _ := out[ff.Path].(map[string]any)
			obj = cloneMap(obj)
			for j := range ff.Sub {
				sub := &ff.Sub[j]
				key := strings.TrimPrefix(sub.Path, ff.Path+".")
				if err := setFromInput(obj, key, sub, form); err != "" {
					errs[sub.Path] = err
				}
			}
			if len(obj) == 0 {
				delete(out, ff.Path)
			} else {
				out[ff.Path] = obj
			}
			continue
		}
		if err := setFromInput(out, ff.Path, ff, form); err != "" {
			errs[ff.Path] = err
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, map[string]string{"": err.Error()}
	}
	return raw, nil
}

// Reasons configFromForm gives, as catalogue keys.
const (
	reasonNumber = "field.not_a_number"
	reasonJSON   = "field.not_json"
)

// setFromInput sets obj[key] from field ff's input and shows what was
// typed; it returns the reason (a catalogue key) when the input does not
// parse.
func setFromInput(obj map[string]any, key string, ff *formField, form url.Values) string {
	raw := form.Get(ff.Name)
	_, had := obj[key]
	switch ff.Kind {
	case kindSwitch:
		was := ff.Checked
		ff.Checked = raw != ""
		// A switch left as it was shown, for a key the config leaves out,
		// keeps leaving it out (a destination left unset stays unset).
		if had || ff.Checked != was {
			obj[key] = ff.Checked
		}
		return ""
	case kindSecret:
		if raw == "" {
			if s, _ := obj[key].(string); s == connector.Redacted {
				ff.Saved = true
				return ""
			}
			delete(obj, key)
			return ""
		}
		ff.Value, ff.Saved = raw, false
		obj[key] = raw
		return ""
	}
	shown := ff.Value
	ff.Value = raw
	if strings.TrimSpace(raw) == "" {
		delete(obj, key)
		return ""
	}
	if !had && ff.fromDefault && raw == shown {
		return ""
	}
	switch ff.Kind {
	case kindNumber:
		n, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return reasonNumber
		}
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			obj[key] = int64(n)
		} else {
			obj[key] = n
		}
	case kindJSON:
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return reasonJSON
		}
		obj[key] = v
	default:
		obj[key] = raw
	}
	return ""
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// fieldFor is the form field a config error's path belongs to: the field
// of that path, else the nearest one that holds it ("templates" for
// "templates[0].subject"); "" when no field does.
func (cf *configForm) fieldFor(path string) string {
	best := ""
	var walk func(fs []formField)
	walk = func(fs []formField) {
		for _, ff := range fs {
			if (path == ff.Path || strings.HasPrefix(path, ff.Path+".") || strings.HasPrefix(path, ff.Path+"[")) && len(ff.Path) > len(best) {
				if ff.Kind != kindGroup || path == ff.Path {
					best = ff.Path
				}
			}
			walk(ff.Sub)
		}
	}
	walk(cf.Fields)
	return best
}

// setErrors puts each sentence on its field.
func (cf *configForm) setErrors(errs map[string]string) {
	var walk func(fs []formField)
	walk = func(fs []formField) {
		for i := range fs {
			if e, ok := errs[fs[i].Path]; ok {
				fs[i].Error = e
			}
			walk(fs[i].Sub)
		}
	}
	walk(cf.Fields)
}

// firstError is the element ID of the first refused field, for focus.
func (cf *configForm) firstError() string {
	var id string
	var walk func(fs []formField)
	walk = func(fs []formField) {
		for _, ff := range fs {
			if id == "" && ff.Error != "" {
				id = ff.ID
			}
			walk(ff.Sub)
		}
	}
	walk(cf.Fields)
	return id
}

// decodeObject reads a config as an object; anything else reads as empty.
func decodeObject(raw json.RawMessage) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil || m == nil {
		return map[string]any{}
	}
	return m
}
