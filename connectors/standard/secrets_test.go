package standard_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

// TestStoredSecretsStayWithTheirDestination holds every built-in
// connector to the rule of connector.KeepSecrets: a config that echoes its
// stored secrets redacted gets them back while every destination field is
// unchanged, and is refused, naming the secrets to enter again, as soon as
// any one destination field changes. The fields come from each factory's
// own lists (SecretFields, DestinationFields).
func TestStoredSecretsStayWithTheirDestination(t *testing.T) {
	for _, f := range connector.Factories() {
		t.Run(f.ID, func(t *testing.T) {
			if len(f.SecretFields) == 0 {
				t.Skip("the factory declares no secret fields")
			}
			if len(f.DestinationFields) == 0 {
				t.Fatalf("the factory has secret fields %v but declares no destination field", f.SecretFields)
			}
			stored := storedConfig(t, f)
			echo := connector.Redact(f, stored)
			kept, err := connector.KeepSecrets(f, echo, stored)
			if err != nil {
				t.Fatalf("echoing the stored config with its destination unchanged: %v", err)
			}
			if !sameJSON(t, kept, stored) {
				t.Fatalf("KeepSecrets = %s, want the stored config %s", kept, stored)
			}
			for _, dest := range f.DestinationFields {
				t.Run(dest, func(t *testing.T) {
					moved := change(t, echo, dest)
					_, err := connector.KeepSecrets(f, moved, stored)
					var re *connector.SecretReuseError
					if !errors.As(err, &re) || !errors.Is(err, connector.ErrInvalidConfig) {
						t.Fatalf("the redacted secrets followed a changed %s: err = %v", dest, err)
					}
					if !slices.Equal(re.Secrets, f.SecretFields) || !slices.Equal(re.Changed, []string{dest}) {
						t.Errorf("error names secrets %v and changed %v, want %v and [%s]", re.Secrets, re.Changed, f.SecretFields, dest)
					}
					for _, sec := range f.SecretFields {
						if !strings.Contains(err.Error(), sec) {
							t.Errorf("error %q does not name %s", err, sec)
						}
					}
					// Secrets typed anew may go to the new destination.
					typed := change(t, stored, dest)
					got, err := connector.KeepSecrets(f, typed, stored)
					if err != nil || !sameJSON(t, got, typed) {
						t.Errorf("secrets typed anew for a changed %s: %s, %v; want the config as given", dest, got, err)
					}
				})
			}
		})
	}
}

// storedConfig is the factory's default config with a distinct value in
// every secret field and a value in every destination field, the objects
// on their paths created where the default has none.
func storedConfig(t *testing.T, f connector.Factory) json.RawMessage {
	t.Helper()
	doc := map[string]any{}
	if len(f.DefaultConfig) > 0 {
		if err := json.Unmarshal(f.DefaultConfig, &doc); err != nil {
			t.Fatalf("default config: %v", err)
		}
	}
	for _, p := range f.SecretFields {
		set(doc, strings.Split(p, "."), func(any) any { return "stored-" + p })
	}
	for _, p := range f.DestinationFields {
		set(doc, strings.Split(p, "."), func(v any) any {
			if v == nil {
				return "dest-" + p
			}
			return v
		})
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// change returns raw with the field at path holding another value.
func change(t *testing.T, raw json.RawMessage, path string) json.RawMessage {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	set(doc, strings.Split(path, "."), func(v any) any {
		switch v := v.(type) {
		case string:
			return v + "-elsewhere"
		case float64:
			return v + 1
		case bool:
			return !v
		}
		return "elsewhere"
	})
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// set replaces the value at path (array elements add no segment, as in
// Factory.SecretFields) with fn of the old one, creating objects on the way.
func set(node any, path []string, fn func(any) any) {
	switch n := node.(type) {
	case map[string]any:
		if len(path) == 1 {
			n[path[0]] = fn(n[path[0]])
			return
		}
		next, ok := n[path[0]]
		if _, isArr := next.([]any); !ok || (!isArr && reflect.TypeOf(next) != reflect.TypeOf(map[string]any{})) {
			next = map[string]any{}
			n[path[0]] = next
		}
		set(next, path[1:], fn)
	case []any:
		for _, el := range n {
			set(el, path, fn)
		}
	}
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
