package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// factoryIDs lists the catalog's factory IDs.
func factoryIDs(t *testing.T, a *apptest.App) []string {
	t.Helper()
	var list []struct {
		ID string `json:"id"`
	}
	a.JSON("GET", "/api/connector-factories", nil, http.StatusOK, &list)
	var ids []string
	for _, f := range list {
		ids = append(ids, f.ID)
	}
	if len(ids) == 0 {
		t.Fatal("the catalog is empty")
	}
	return ids
}

// TestUnknownFactoryIDIsOneAnswerOnEveryRoute: every route that takes a
// connector factory ID, in a path, a body field or a query parameter,
// answers an unknown one with Logto's 422
// connector.not_found_with_connector_id, names where the ID was given,
// and lists every registered factory ID.
func TestUnknownFactoryIDIsOneAnswerOnEveryRoute(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	ids := factoryIDs(t, a)
	const pigeon = "carrier-pigeon"
	cases := []struct {
		method, path string
		body         any
		field        string
	}{
		{"GET", "/api/connector-factories/" + pigeon, nil, "id"},
		{"POST", "/api/connectors", map[string]any{"connectorId": pigeon, "config": map[string]any{}}, "connectorId"},
		{"POST", "/api/connectors/" + pigeon + "/test", map[string]any{"email": "tester@example.com", "config": map[string]any{}}, "factoryId"},
		{"GET", "/api/deliverability/check?domain=auth.example.com&provider=" + pigeon, nil, "provider"},
	}
	for _, tc := range cases {
		e := a.WantError(tc.method, tc.path, tc.body, http.StatusUnprocessableEntity, "connector.not_found_with_connector_id")
		var data struct {
			Field       string   `json:"field"`
			ConnectorID string   `json:"connectorId"`
			FactoryIDs  []string `json:"factoryIds"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatalf("%s %s: data %s: %v", tc.method, tc.path, e.Data, err)
		}
		if data.Field != tc.field || data.ConnectorID != pigeon || strings.Join(data.FactoryIDs, ",") != strings.Join(ids, ",") {
			t.Errorf("%s %s: data %s, want field %q, connectorId %q and factoryIds %v", tc.method, tc.path, e.Data, tc.field, pigeon, ids)
		}
		for _, id := range ids {
			if !strings.Contains(e.Message, id) {
				t.Errorf("%s %s: message %q does not list %s", tc.method, tc.path, e.Message, id)
			}
		}
	}
}

// TestMissingAndWrongAdminKeyAreToldApart: no key and a wrong key are both
// 401 auth.unauthorized with WWW-Authenticate, with different messages;
// every wrong key gets the same message, however close to the real one,
// so the answer tells nothing about the key.
func TestMissingAndWrongAdminKeyAreToldApart(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	message := func(h http.Header) string {
		t.Helper()
		resp, b := a.Request("GET", "/api/connectors", h, nil)
		var e apptest.Error
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != http.StatusUnauthorized || e.Code != "auth.unauthorized" {
			t.Fatalf("%v: %d %s, want 401 auth.unauthorized", h, resp.StatusCode, b)
		}
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%v: 401 without WWW-Authenticate", h)
		}
		return e.Message
	}
	bearer := func(key string) http.Header { return http.Header{"Authorization": {"Bearer " + key}} }
	missing := message(http.Header{})
	for _, h := range []http.Header{bearer(""), {"Authorization": {"Basic " + apptest.AdminKey}}, {"Authorization": {apptest.AdminKey}}} {
		if got := message(h); got != missing {
			t.Errorf("%v: message %q, want the no-key message %q", h, got, missing)
		}
	}
	key := apptest.AdminKey
	wrong := message(bearer("am_wrong"))
	if wrong == missing {
		t.Fatalf("a wrong key and no key both answer %q", wrong)
	}
	for _, k := range []string{key[:len(key)-1], key + "x", key[:len(key)-1] + "X", strings.ToUpper(key), strings.Repeat("a", 4096)} {
		if got := message(bearer(k)); got != wrong {
			t.Errorf("key %.20q...: message %q, want %q like every wrong key", k, got, wrong)
		}
	}
	a.JSON("GET", "/api/connectors", nil, http.StatusOK, nil)
}

// TestJSONSyntaxErrorsGiveTheByteOffset: a body that is not JSON is
// refused with the position (counted from 1) of the byte where it stops
// being JSON, or its length when it ends early, in the message and as
// data.offset.
func TestJSONSyntaxErrorsGiveTheByteOffset(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	cases := []struct {
		body   string
		offset int
	}{
		{`{"email": "a@example.com",}`, 27},
		{`{"email" "a@example.com"}`, 10},
		{`connectorId=smtp`, 1},
		{`{"email": "a@example.com"`, 25},
		{`{"email": tru}`, 14},
	}
	for _, tc := range cases {
		e := a.WantError("POST", "/api/verification-codes", tc.body, http.StatusBadRequest, "guard.invalid_input")
		var data struct {
			Offset *int `json:"offset"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil || data.Offset == nil || *data.Offset != tc.offset {
			t.Errorf("%s: data %s, want offset %d", tc.body, e.Data, tc.offset)
		}
		if !strings.Contains(e.Message, fmt.Sprintf("at byte %d", tc.offset)) {
			t.Errorf("%s: message %q does not give byte %d", tc.body, e.Message, tc.offset)
		}
	}
}

// TestErrorTextsSayEachThingOnce walks the error paths of connector
// configs (a value of the wrong type, and a malformed one, for every
// property of every factory's schema, nested ones included, on create and
// on the test route; configs that are not objects) and of failed sends (an HTTP
// endpoint answering each class of failure, on the test route and in the
// message log), and checks that no error text says a phrase twice. The
// test client checks every other error answer of the suite the same way.
func TestErrorTextsSayEachThingOnce(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	check := func(where, msg string) {
		t.Helper()
		if msg == "" {
			t.Errorf("%s: empty error text", where)
		}
		if p := apptest.RepeatedPhrase(msg); p != "" {
			t.Errorf("%s: %q says %q twice", where, msg, p)
		}
	}
	// answered checks a request that may succeed (a malformed value of the
	// right type may be fine for a free-text field) or fail with a 4xx.
	answered := func(method, path string, body any, mustFail bool) {
		t.Helper()
		status, b := a.Do(method, path, body)
		if status < 300 && !mustFail {
			return
		}
		var e apptest.Error
		if err := json.Unmarshal(b, &e); err != nil || status < 400 || status >= 500 || e.Code == "" {
			t.Errorf("%s %s %v: %d %.300s, want a 4xx error", method, path, body, status, b)
			return
		}
		check(fmt.Sprintf("%s %s %v", method, path, body), e.Message)
	}
	refused := func(method, path string, body any) { t.Helper(); answered(method, path, body, true) }
	var catalog []struct {
		ID             string          `json:"id"`
		ConfigSchema   json.RawMessage `json:"configSchema"`
		ConfigTemplate json.RawMessage `json:"configTemplate"`
	}
	a.JSON("GET", "/api/connector-factories", nil, http.StatusOK, &catalog)
	walked := 0
	for _, f := range catalog {
		// A config that works, so that one wrong value reaches the
		// connector's own checks past the schema.
		base := map[string]any{}
		if len(f.ConfigTemplate) > 0 {
			if err := json.Unmarshal(f.ConfigTemplate, &base); err != nil {
				t.Fatalf("%s: configTemplate: %v", f.ID, err)
			}
			fillBlanks(base, "")
		}
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": f.ID, "config": base}, http.StatusOK, nil)
		for _, c := range wrongConfigs(t, f.ConfigSchema) {
			walked++
			answered("POST", "/api/connectors", map[string]any{"connectorId": f.ID, "config": merged(base, c.config)}, c.wrongType)
			// Alone, the wrong value is refused before anything is sent.
			answered("POST", "/api/connectors", map[string]any{"connectorId": f.ID, "config": c.config}, c.wrongType)
			answered("POST", "/api/connectors/"+f.ID+"/test", map[string]any{"email": "tester@example.com", "config": c.config}, c.wrongType)
		}
		for _, cfg := range []any{"smtp", 5, []any{}, true} {
			refused("POST", "/api/connectors", map[string]any{"connectorId": f.ID, "config": cfg})
		}
	}
	if walked < len(catalog) {
		t.Fatalf("walked %d wrong-typed configs for %d factories: the schemas were not read", walked, len(catalog))
	}

	for _, ans := range []answer{
		{http.StatusBadRequest, `{"error":"invalid recipient","message":"invalid recipient"}`},
		{http.StatusUnauthorized, `{"error":"invalid token"}`},
		{http.StatusTooManyRequests, `{"error":"slow down"}`},
		{http.StatusUnprocessableEntity, `unprocessable`},
	} {
		rc := newReceiver(t, ans)
		refused("POST", "/api/connectors/http-email/test", map[string]any{"email": "tester@example.com", "config": rc.config(nil)})
	}
	rc := newReceiver(t, answer{http.StatusBadRequest, `{"error":"invalid recipient","message":"invalid recipient"}`})
	createConnector(t, a, "http-email", rc.config(nil))
	status, _ := a.Do("POST", "/api/verification-codes", map[string]string{"email": "logged@example.com"})
	if status < 400 {
		t.Fatalf("a send the endpoint refuses answered %d", status)
	}
	m := onlyMessage(t, a, "logged@example.com")
	check("lastError", m.LastError)
	for _, at := range m.AttemptLog {
		if at.Error != "" {
			check(fmt.Sprintf("attempt %d", at.Attempt), at.Error)
		}
	}
}

// wrongConfig is a config with one wrong value; wrongType says the value's
// JSON type is one the schema refuses.
type wrongConfig struct {
	config    map[string]any
	wrongType bool
}

// wrongConfigs returns, for every property of a connector config schema
// (nested objects' properties too), configs that give it a value of a
// type the schema does not allow, and one of the right type that makes
// little sense there (a malformed string, a negative number).
func wrongConfigs(t *testing.T, schema json.RawMessage) []wrongConfig {
	t.Helper()
	if len(schema) == 0 {
		return nil
	}
	type node struct {
		Type       any              `json:"type"`
		Properties map[string]*node `json:"properties"`
	}
	var root node
	if err := json.Unmarshal(schema, &root); err != nil {
		t.Fatalf("config schema: %v", err)
	}
	values := func(n *node) (wrongType, odd any) {
		types := fmt.Sprint(n.Type)
		allowed := func(jsonType string) bool {
			return strings.Contains(types, jsonType) || jsonType == "number" && strings.Contains(types, "integer")
		}
		for _, c := range []struct {
			jsonType string
			value    any
		}{{"string", "not-the-right-type"}, {"number", 12345}, {"object", map[string]any{"unexpected": true}}, {"boolean", true}} {
			if !allowed(c.jsonType) {
				wrongType = c.value
				break
			}
		}
		switch {
		case allowed("string"):
			odd = ":: not < valid >"
		case allowed("number"):
			odd = -1
		}
		return wrongType, odd
	}
	var out []wrongConfig
	var walk func(n *node, wrap func(any) map[string]any)
	walk = func(n *node, wrap func(any) map[string]any) {
		names := make([]string, 0, len(n.Properties))
		for name := range n.Properties {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			p := n.Properties[name]
			if p.Type == nil {
				continue // any type goes
			}
			wt, odd := values(p)
			out = append(out, wrongConfig{config: wrap(map[string]any{name: wt}), wrongType: true})
			if odd != nil {
				out = append(out, wrongConfig{config: wrap(map[string]any{name: odd})})
			}
			if len(p.Properties) > 0 {
				walk(p, func(v any) map[string]any { return wrap(map[string]any{name: v}) })
			}
		}
	}
	walk(&root, func(v any) map[string]any { return v.(map[string]any) })
	return out
}

// fillBlanks gives every empty string of a config template a plausible
// value for its field name: an address, an https URL, or a token.
func fillBlanks(v any, name string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fillBlanks(e, k)
		}
	case []any:
		for i, e := range x {
			x[i] = fillBlanks(e, name)
		}
	case string:
		if x != "" {
			return x
		}
		switch l := strings.ToLower(name); {
		case strings.Contains(l, "email"), strings.Contains(l, "from"), strings.Contains(l, "account"):
			return "no-reply@example.com"
		case strings.Contains(l, "endpoint"), strings.Contains(l, "url"):
			return "https://mail.example.com/hook"
		}
		return "value-0123456789"
	}
	return v
}

// merged returns base with over laid on it, objects merged key by key.
func merged(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bo, ok := out[k].(map[string]any); ok {
			if oo, ok := v.(map[string]any); ok {
				out[k] = merged(bo, oo)
				continue
			}
		}
		out[k] = v
	}
	return out
}
