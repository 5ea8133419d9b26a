package connectortest

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

// testDestinationFields checks Factory.DestinationFields against the
// schema: every declared field is a property of the schema, and every
// property the rule of destinationLike catches is declared, unless the
// config type declares it connector.Unused (taken and dropped, so it
// sends nothing anywhere).
func (s Suite) testDestinationFields(t *testing.T) {
	schema, err := parseSchema(s.Factory.ConfigSchema)
	if err != nil {
		t.Fatal(err)
	}
	paths := schema.paths()
	for _, d := range s.Factory.DestinationFields {
		if !slices.Contains(paths, d) {
			t.Errorf("destination field %q is not a property of the config schema (properties: %s)", d, strings.Join(paths, ", "))
		}
	}
	cfg := reflect.TypeOf(s.Factory.NewConfig())
	for _, p := range paths {
		if ft, ok := fieldType(cfg, p); ok && ft == reflect.TypeFor[connector.Unused]() {
			continue
		}
		if destinationLike(p) && !slices.Contains(s.Factory.DestinationFields, p) {
			t.Errorf("config field %q names a destination (host, port, endpoint, url, region, domain, servername...) but is not in Factory.DestinationFields", p)
		}
	}
}

// testDNSHints checks that the factory's DNS hints are well formed: every
// record lives in the sending domain, has a known purpose and type and a
// value of its type's shape; an SPF include the sending domain needs is in
// its SPF record; the README names every record.
func (s Suite) testDNSHints(t *testing.T) {
	h := s.Factory.DNS
	if h == nil {
		t.Skip("the factory declares no DNS hints (Factory.DNS is nil)")
	}
	const d = connector.DomainPlaceholder
	if h.SPFNote == "" || h.ReturnPath == "" {
		t.Errorf("DNS hints need an SPFNote and a ReturnPath text")
	}
	if len(h.Records) == 0 {
		t.Fatalf("DNS hints list no record to publish")
	}
	if h.SPFInclude != "" && !domainName(h.SPFInclude) {
		t.Errorf("SPFInclude %q is not a domain name", h.SPFInclude)
	}
	if h.EnvelopeDomain != "" && !domainName(strings.ReplaceAll(h.EnvelopeDomain, d, "example.com")) {
		t.Errorf("EnvelopeDomain %q is not a domain name", h.EnvelopeDomain)
	}
	for _, sel := range h.DKIMSelectors {
		if !domainName(sel + ".example.com") {
			t.Errorf("DKIM selector %q is not a DNS label", sel)
		}
	}
	includes := false
	for _, r := range h.Records {
		rec := r.Purpose + " " + r.Type + " " + r.Name
		if !slices.Contains(connector.DNSPurposes(), r.Purpose) {
			t.Errorf("%s: purpose is not one of %v", rec, connector.DNSPurposes())
		}
		if !slices.Contains(connector.DNSRecordTypes(), r.Type) {
			t.Errorf("%s: type is not one of %v", rec, connector.DNSRecordTypes())
		}
		if r.Name != d && !strings.HasSuffix(r.Name, "."+d) {
			t.Errorf("%s: the name is not %s or a name under it", rec, d)
		}
		if strings.TrimSpace(r.Value) == "" {
			t.Errorf("%s: no value", rec)
		}
		if r.Type == "MX" {
			f := strings.Fields(r.Value)
			if len(f) < 2 || !isNumber(f[0]) {
				t.Errorf("%s: MX value %q is not \"PREFERENCE HOST\"", rec, r.Value)
			}
		}
		if r.Purpose == "SPF" && r.Type == "TXT" {
			if !strings.HasPrefix(r.Value, "v=spf1 ") {
				t.Errorf("%s: value %q is not an SPF record", rec, r.Value)
			}
			includes = includes || r.Name == d && strings.Contains(r.Value, "include:"+h.SPFInclude)
		}
		if !strings.Contains(s.Factory.ReadMe, r.Name) {
			t.Errorf("%s: the README does not name the record", rec)
		}
	}
	if h.SPFInclude != "" && h.SPFOnFromDomain && !includes {
		t.Errorf("the sending domain needs include:%s (SPFOnFromDomain), but no SPF record on %s has it", h.SPFInclude, d)
	}
}

// fieldType follows a dotted path (in the notation of SecretFields: array
// elements add no segment) through config type t to the field's type.
func fieldType(t reflect.Type, path string) (reflect.Type, bool) {
	for _, seg := range strings.Split(path, ".") {
		t = elem(t)
		ft, ok := connector.ConfigFields(t)[seg]
		if !ok {
			return nil, false
		}
		t = ft
	}
	return t, true
}

// elem strips pointers, slices and arrays from t.
func elem(t reflect.Type) reflect.Type {
	for {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			t = t.Elem()
		default:
			return t
		}
	}
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// domainName reports whether n is dot-separated labels of letters, digits,
// hyphens and underscores, with at least one dot.
func domainName(n string) bool {
	labels := strings.Split(n, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return false
		}
	}
	return true
}

// testSenderIdentity checks that a connector that tells its sender
// (connector.SenderIdentity) sends as that sender when the message sets
// none.
func (s Suite) testSenderIdentity(t *testing.T) {
	b := s.NewBackend(t)
	c := s.build(t, b, nil)
	id, ok := c.(connector.SenderIdentity)
	if !ok {
		t.Skip("the connector does not implement connector.SenderIdentity")
	}
	want := id.Sender()
	if want.From.Email == "" {
		t.Fatalf("Sender() has no From address")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Send(ctx, Message("msg-sender")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := b.Received()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want 1", len(got))
	}
	if !strings.EqualFold(got[0].From, want.From.Email) {
		t.Errorf("mail sent from %q, but Sender() says %q", got[0].From, want.From.Email)
	}
	if !s.NoDisplayName && got[0].FromName != want.From.Name {
		t.Errorf("sender name %q, but Sender() says %q", got[0].FromName, want.From.Name)
	}
}

// testConfigDescription checks that the descriptions of the config agree:
// the JSON Schema, the Go config type (Factory.NewConfig) and the form
// hints. Level by level (objects, array elements, map values) every
// schema property is a field of the type with that json name and every
// field a property, and a level takes other keys (connector.OtherKeys)
// exactly when the schema leaves it open (no "additionalProperties":
// false). Every form item names a property; a secret item is a secret
// field and a secret field's item is secret; required items are required
// properties and the other way round; a select offers only the values the
// schema allows. Every secret field is a property, and the default config
// decodes.
func (s Suite) testConfigDescription(t *testing.T) {
	f := s.Factory
	schema, err := parseSchema(f.ConfigSchema)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.NewConfig()
	s.compareLevel(t, schema, "", schema.root, reflect.TypeOf(cfg))

	props := schema.properties(schema.root)
	required := map[string]bool{}
	if list, ok := schema.deref(schema.root)["required"].([]any); ok {
		for _, r := range list {
			if k, ok := r.(string); ok {
				required[k] = true
			}
		}
	}
	items := map[string]connector.FormItem{}
	for _, it := range f.Form {
		items[it.Key] = it
		p, ok := props[it.Key]
		if !ok {
			t.Errorf("form item %q is not a property of the config schema", it.Key)
			continue
		}
		if it.IsSecret && !slices.Contains(f.SecretFields, it.Key) {
			t.Errorf("form item %q is secret but not in Factory.SecretFields", it.Key)
		}
		if !it.IsSecret && slices.Contains(f.SecretFields, it.Key) {
			t.Errorf("form item %q is a secret field but not marked IsSecret", it.Key)
		}
		if it.Required != required[it.Key] {
			t.Errorf("form item %q: Required is %v, but the schema requires it: %v", it.Key, it.Required, required[it.Key])
		}
		if enum, ok := p["enum"].([]any); ok {
			for _, sel := range it.SelectItems {
				if !slices.Contains(enum, any(sel)) {
					t.Errorf("form item %q offers %q, which the schema does not allow (%v)", it.Key, sel, enum)
				}
			}
		}
	}
	for k := range required {
		if _, ok := items[k]; !ok && len(f.Form) > 0 {
			t.Errorf("the schema requires %q but the form has no item for it", k)
		}
	}
	paths := schema.paths()
	for _, sf := range f.SecretFields {
		if !slices.Contains(paths, sf) {
			t.Errorf("secret field %q is not a property of the config schema", sf)
		}
	}
	if len(f.DefaultConfig) > 0 {
		if err := connector.DecodeConfig(f.DefaultConfig, f.NewConfig()); err != nil {
			t.Errorf("the default config does not decode into the config type: %v", err)
		}
	}
}

// compareLevel compares schema node n with config type typ at path.
func (s Suite) compareLevel(t *testing.T, schema *configSchema, path string, n schemaNode, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	at := path
	if at == "" {
		at = "the config"
	}
	switch typ.Kind() {
	case reflect.Struct:
		if typ == reflect.TypeFor[connector.Unused]() {
			return
		}
		props, fields := schema.properties(n), connector.ConfigFields(typ)
		for _, k := range sortedKeys(props) {
			if _, ok := fields[k]; !ok {
				t.Errorf("schema property %q has no field in %s", join(path, k), typ)
			}
		}
		for _, k := range sortedKeys(fields) {
			if _, ok := props[k]; !ok {
				t.Errorf("field %q of %s is not in the config schema", join(path, k), typ)
			}
		}
		closed := schema.deref(n)["additionalProperties"] == false
		switch open := connector.TakesOtherKeys(typ); {
		case open && closed:
			t.Errorf("%s: %s takes other keys (connector.OtherKeys), but the schema closes this level (additionalProperties false)", at, typ)
		case !open && !closed:
			t.Errorf("%s: %s refuses other keys, but the schema leaves this level open: set additionalProperties to false, or embed connector.OtherKeys", at, typ)
		}
		for k, ft := range fields {
			if p, ok := props[k]; ok {
				s.compareLevel(t, schema, join(path, k), p, ft)
			}
		}
	case reflect.Slice, reflect.Array:
		if el, ok := schema.items(n); ok {
			s.compareLevel(t, schema, path, el, typ.Elem())
		}
	case reflect.Map:
		if el, ok := schema.entries(n); ok {
			s.compareLevel(t, schema, join(path, "*"), el, typ.Elem())
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
