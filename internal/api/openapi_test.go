package api

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"slices"
	"testing"
)

// TestOpenAPIHintsNameRealFields: every field hint of the document's
// generator names a JSON field its type has, so renaming a field cannot
// silently drop its enum or bounds.
func TestOpenAPIHintsNameRealFields(t *testing.T) {
	for typ, fields := range fieldHints() {
		var names []string
		for _, f := range jsonFields(typ) {
			names = append(names, f.name)
		}
		for name := range fields {
			if !slices.Contains(names, name) {
				t.Errorf("a hint names %s.%s, but its JSON fields are %v", typ, name, names)
			}
		}
	}
}

// TestEveryRouteDescribesItsAnswer: a route documents a response body
// exactly when its success status carries one (204, and the few of
// Logto's 200 and 201 answers marked noBody, carry none), and every body type the
// route table names yields a schema.
func TestEveryRouteDescribesItsAnswer(t *testing.T) {
	s := &Server{logger: slog.New(slog.DiscardHandler)}
	for _, rt := range s.routeTable() {
		if (rt.status == 204 || rt.noBody) != (rt.response == nil) {
			t.Errorf("%s %s: status %d with response type %T", rt.method, rt.path, rt.status, rt.response)
		}
		if rt.mergePatch && rt.request == nil {
			t.Errorf("%s %s: a merge patch of no type", rt.method, rt.path)
		}
	}
}

// TestSchemasFollowEncodingJSON: the generated schema says what
// encoding/json writes: tag names, "-" left out, embedded fields
// promoted (the shallower one winning), omitempty and omitzero optional,
// pointers nullable; a merge patch requires nothing and takes null.
func TestSchemasFollowEncodingJSON(t *testing.T) {
	type inner struct {
		Shared string `json:"shared"`
		Deep   int    `json:"deep,omitempty"`
	}
	type sample struct {
		inner
		Name    string            `json:"name"`
		Shared  bool              `json:"shared"`
		Skipped string            `json:"-"`
		Maybe   *int              `json:"maybe"`
		Zero    int               `json:"zero,omitzero"`
		List    []string          `json:"list"`
		Labels  map[string]string `json:"labels,omitempty"`
		Raw     json.RawMessage   `json:"raw"`
		hidden  string
	}
	_ = sample{}.hidden
	g := newSchemaGen()
	got := g.object(reflect.TypeFor[sample](), false)
	props := got["properties"].(map[string]any)
	var names []string
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"deep", "labels", "list", "maybe", "name", "raw", "shared", "zero"}; !slices.Equal(names, want) {
		t.Errorf("properties %v, want %v", names, want)
	}
	if want := []string{"list", "maybe", "name", "raw", "shared"}; !slices.Equal(got["required"].([]string), want) {
		t.Errorf("required %v, want %v", got["required"], want)
	}
	if typ := props["shared"].(map[string]any)["type"]; typ != "boolean" {
		t.Errorf("shared is %v, want the outer boolean", typ)
	}
	if typ := props["maybe"].(map[string]any)["type"]; !reflect.DeepEqual(typ, []string{"integer", "null"}) {
		t.Errorf("maybe is %v, want a nullable integer", typ)
	}
	patch := g.object(reflect.TypeFor[sample](), true)
	if _, ok := patch["required"]; ok {
		t.Errorf("a merge patch requires %v", patch["required"])
	}
	if typ := patch["properties"].(map[string]any)["name"].(map[string]any)["type"]; !reflect.DeepEqual(typ, []string{"string", "null"}) {
		t.Errorf("name in a merge patch is %v, want string or null", typ)
	}
}
