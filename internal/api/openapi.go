package api

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/oidc"
	"github.com/authmail/authmail/internal/orgs"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// param is a query or path parameter of a route.
type param struct {
	name, description string
	schema            map[string]any
	required          bool
}

// stringParam is an optional query parameter holding a string.
func stringParam(name, description string) param {
	return param{name: name, description: description, schema: map[string]any{"type": "string"}}
}

// OpenAPI returns the OpenAPI 3.1 document, generated from the route
// table: each route's path and query parameters, its request body and
// its success response, with schemas derived from the Go types (JSON
// names from their tags; a field without omitempty is required; enums
// and bounds from the sets the code defines), and the error shape for
// every 4xx and 5xx answer.
func (s *Server) OpenAPI() map[string]any {
	g := newSchemaGen()
	errorSchema := g.ref(reflect.TypeFor[Error]())
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		success := map[string]any{"description": http.StatusText(rt.status)}
		if rt.response != nil {
			success["content"] = jsonContent(g.schema(reflect.TypeOf(rt.response), false))
		}
		responses := map[string]any{
			strconv.Itoa(rt.status): success,
			"4XX":                   map[string]any{"description": "The request was refused: see code and message", "content": jsonContent(errorSchema)},
			"5XX":                   map[string]any{"description": "The server could not answer: request.unavailable (try again) or unexpected_error", "content": jsonContent(errorSchema)},
		}
		for _, st := range rt.alsoStatus {
			responses[strconv.Itoa(st)] = map[string]any{"description": http.StatusText(st)}
		}
		if len(rt.headers) > 0 {
			headers := map[string]any{}
			for _, h := range rt.headers {
				headers[h.name] = map[string]any{"description": h.description, "schema": h.schema, "required": h.required}
			}
			success["headers"] = headers
		}
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"responses":   responses,
		}
		switch {
		case !rt.public:
			op["security"] = []map[string][]string{{"adminKey": {}}}
		case rt.cookie:
			op["security"] = []map[string][]string{{"cookieAuth": {}}, {"interactionToken": {}}}
		case rt.user:
			op["security"] = []map[string][]string{{"userToken": {}}}
		case rt.client:
			op["security"] = []map[string][]string{{"clientAuth": {}}, {}}
		default:
			op["security"] = []map[string][]string{}
		}
		params := []map[string]any{}
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			p := param{name: m[1], schema: map[string]any{"type": "string"}, required: true}
			if h, ok := pathHints()[m[1]]; ok {
				p = h
			}
			params = append(params, paramJSON(p, "path"))
		}
		for _, p := range rt.query {
			params = append(params, paramJSON(p, "query"))
		}
		for _, p := range rt.reqHeaders {
			params = append(params, paramJSON(p, "header"))
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.request != nil {
			body := g.schema(reflect.TypeOf(rt.request), rt.mergePatch)
			if rt.mergePatch {
				body["description"] = "A JSON merge patch (RFC 7396): a field given is set, a field given as null is reset to its default, a field left out is kept."
			}
			op["requestBody"] = map[string]any{"required": !rt.bodyOptional, "content": jsonContent(body)}
		}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	for _, o := range s.OIDCOperations {
		if paths[o.Path] == nil {
			paths[o.Path] = map[string]any{}
		}
		paths[o.Path][strings.ToLower(o.Method)] = oidcOperation(g, o)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "authmail API", "version": "1", "description": "Email verification codes through the connector of your choice. Management routes follow Logto's Management API."},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"adminKey": map[string]string{"type": "http", "scheme": "bearer"},
				// Logto's: the experience API is bound to the interaction
				// cookie that /oidc/auth sets.
				"cookieAuth": map[string]string{"type": "apiKey", "in": "cookie", "name": experience.InteractionCookie},
				// The OpenID Connect provider's: an application's
				// credentials, and an access token it issued.
				"clientAuth":  map[string]string{"type": "http", "scheme": "basic"},
				"accessToken": map[string]string{"type": "http", "scheme": "bearer"},
				// Logto's: the account API takes the user's opaque access
				// token from /oidc/token (asked for with no resource).
				"userToken": map[string]string{"type": "http", "scheme": "bearer", "description": "A user's opaque access token from /oidc/token, asked for with no resource and with the openid scope"},
				// A sign-in without redirects: the interaction token
				// POST /api/experience/direct answers takes the cookie's
				// place, as Authorization: Bearer <token>.
				"interactionToken": map[string]string{"type": "http", "scheme": "bearer",
					"description": "The interactionToken of POST /api/experience/direct, for an app signing users in without redirects"},
			},
			"schemas": g.components,
		},
	}
}

// oidcOperation documents one of the OpenID Connect provider's
// endpoints: its query or form parameters, its success (a JSON body, a
// page or a redirect), and its refusals, OAuth errors for an app and
// pages for a browser.
func oidcOperation(g *schemaGen, o oidc.Operation) map[string]any {
	success := map[string]any{"description": http.StatusText(o.Status)}
	switch {
	case o.Response != nil:
		success["content"] = jsonContent(g.schema(reflect.TypeOf(o.Response), false))
	case o.Status == http.StatusFound:
		success["headers"] = map[string]any{"Location": map[string]any{"description": "Where the browser goes next", "schema": map[string]any{"type": "string"}, "required": true}}
	case o.Browser:
		success["content"] = htmlContent()
	}
	refusal := jsonContent(g.ref(reflect.TypeFor[oidc.OAuthError]()))
	if o.Browser {
		refusal = htmlContent()
	}
	op := map[string]any{
		"summary":     o.Summary,
		"operationId": strings.ToLower(o.Method) + "-" + strings.NewReplacer("/", "-", ".", "-").Replace(strings.Trim(o.Path, "/")),
		"tags":        []string{"OpenID Connect"},
		"responses": map[string]any{
			strconv.Itoa(o.Status): success,
			"4XX":                  map[string]any{"description": "The request was refused (429 with Retry-After over the client's cap)", "content": refusal},
			"5XX":                  map[string]any{"description": "The server could not answer: 503 with Retry-After while the database is down", "content": refusal},
		},
	}
	switch o.Auth {
	case oidc.AuthClient:
		// client_secret_basic, or client_secret_post and public clients
		// in the form.
		op["security"] = []map[string][]string{{"clientAuth": {}}, {}}
	case oidc.AuthBearer:
		op["security"] = []map[string][]string{{"accessToken": {}}}
	default:
		op["security"] = []map[string][]string{}
	}
	var params []map[string]any
	for _, f := range o.Query {
		params = append(params, paramJSON(param{name: f.Name, description: f.Description, schema: fieldSchema(f), required: f.Required}, "query"))
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if len(o.Form) > 0 {
		props := map[string]any{}
		var required []string
		for _, f := range o.Form {
			props[f.Name] = fieldSchema(f)
			if f.Required {
				required = append(required, f.Name)
			}
		}
		schema := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			schema["required"] = required
		}
		op["requestBody"] = map[string]any{"required": len(required) > 0, "content": map[string]any{"application/x-www-form-urlencoded": map[string]any{"schema": schema}}}
	}
	return op
}

// fieldSchema is a provider parameter's schema: a string, of the values
// it lists.
func fieldSchema(f oidc.Field) map[string]any {
	s := map[string]any{"type": "string"}
	if f.Description != "" {
		s["description"] = f.Description
	}
	if len(f.Enum) > 0 {
		s["enum"] = f.Enum
	}
	return s
}

// htmlContent is a page for a person.
func htmlContent() map[string]any {
	return map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}
}

func paramJSON(p param, in string) map[string]any {
	out := map[string]any{"name": p.name, "in": in, "schema": p.schema}
	if p.required || in == "path" {
		out["required"] = true
	}
	if p.description != "" {
		out["description"] = p.description
	}
	return out
}

// pathHints describes the path parameters whose values form a known set.
func pathHints() map[string]param {
	return map[string]param{
		"factoryId": {name: "factoryId", description: "A connector factory ID or alias", schema: factoryIDSchema(), required: true},
	}
}

// factoryIDSchema accepts the ID or an alias of every registered factory.
func factoryIDSchema() map[string]any {
	var ids []string
	for _, f := range connector.Factories() {
		ids = append(ids, f.ID)
		ids = append(ids, f.Aliases...)
	}
	slices.Sort(ids)
	return map[string]any{"type": "string", "enum": ids}
}

// appTypes lists the application types, for enums.
func appTypes() []string {
	var out []string
	for _, t := range apps.Types() {
		out = append(out, string(t))
	}
	return out
}

// roleTypes lists the role types, for enums.
func roleTypes() []string {
	var out []string
	for _, t := range apps.RoleTypes() {
		out = append(out, string(t))
	}
	return out
}

// usageTypes lists the usage types, for enums.
func usageTypes() []string {
	var out []string
	for _, u := range connector.UsageTypes() {
		out = append(out, string(u))
	}
	return out
}

// experienceEvents lists the interaction events, for enums.
func experienceEvents() []string {
	var out []string
	for _, e := range experience.Events() {
		out = append(out, string(e))
	}
	return out
}

// checkParam runs the connector's check before saving.
func checkParam() param {
	return param{name: "check", description: "true runs the connector's check (connection and credentials) first; a permanent failure saves nothing", schema: map[string]any{"type": "boolean"}}
}

// forceParam deletes a connector that sign-in relies on.
func forceParam() param {
	return param{name: "force", description: "true deletes the connector even while sign-up or sign-in uses email codes", schema: map[string]any{"type": "boolean"}}
}

// toParam filters by recipient.
func toParam() param {
	return stringParam("to", "Only messages to this address (matched in its canonical form)")
}

// templateFilters are the template list's and bulk delete's filters.
func templateFilters() []param {
	return []param{
		stringParam("languageTag", "A language tag such as en or fr-CA"),
		{name: "templateType", description: "A usage type", schema: map[string]any{"type": "string", "enum": usageTypes()}},
	}
}

// messageQuery is the message log's query parameters.
func messageQuery() []param {
	return []param{toParam(),
		{name: "status", description: "Only messages with this status", schema: map[string]any{"type": "string", "enum": messageStatuses()}},
		{name: "limit", description: "At most this many messages", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
		{name: "before", description: "Only messages created before this time (createdAt, Unix milliseconds), for the next page", schema: map[string]any{"type": "integer", "minimum": 1}},
	}
}

func messageStatuses() []string {
	return []string{store.StatusQueued, store.StatusSending, store.StatusSent, store.StatusFailed}
}

// deliverabilityQuery is the deliverability check's query parameters; each
// one left out defaults to the active connector's.
func deliverabilityQuery() []param {
	str := func(name, description string) param {
		return param{name: name, description: description, schema: map[string]any{"type": "string", "maxLength": maxCheckParam}}
	}
	provider := factoryIDSchema()
	provider["description"] = "The connector factory whose DNS needs to check"
	return []param{
		str("domain", "The sending domain, such as auth.example.com"),
		str("from", "The From address (or its domain), for alignment"),
		str("selector", "The DKIM selector"),
		{name: "provider", description: "A connector factory ID or alias: the provider whose SPF include and DKIM records to expect", schema: provider},
		str("smtpHost", "The SMTP relay host, for the SPF check"),
	}
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.OpenAPI())
	return nil
}

func operationID(rt route) string {
	p := pathParam.ReplaceAllString(strings.TrimPrefix(rt.path, "/api/"), "by-$1")
	return strings.ToLower(rt.method) + "-" + strings.NewReplacer("/", "-", ".", "-").Replace(strings.Trim(p, "/"))
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// schemaGen derives JSON Schemas from Go types, the way encoding/json
// writes and reads them. Named struct types become components.
type schemaGen struct {
	components map[string]any
	names      map[reflect.Type]string
	hints      map[reflect.Type]map[string]map[string]any
	typeHints  map[reflect.Type]map[string]any
}

func newSchemaGen() *schemaGen {
	return &schemaGen{components: map[string]any{}, names: map[reflect.Type]string{}, hints: fieldHints(), typeHints: typeHints()}
}

// fieldHints adds to the schema of a struct's field (by its JSON name)
// what its Go type cannot say: the fixed set of values a string takes,
// bounds. A hint for a field that does not exist fails TestOpenAPIHints.
func fieldHints() map[reflect.Type]map[string]map[string]any {
	usage := map[string]any{"enum": usageTypes()}
	contentType := map[string]any{"enum": []string{"", emailtemplate.ContentTypeHTML, emailtemplate.ContentTypePlain}}
	policy := map[string]map[string]any{}
	for _, f := range verification.PolicyFields() {
		policy[f.Name] = map[string]any{"minimum": f.Min, "maximum": f.Max, "default": f.Default}
	}
	sentinel := map[string]map[string]any{}
	for _, f := range verification.SentinelPolicyFields() {
		sentinel[f.Name] = map[string]any{"minimum": f.Min, "maximum": f.Max, "default": f.Default}
	}
	return map[reflect.Type]map[string]map[string]any{
		reflect.TypeFor[factoryJSON]():                 {"type": {"enum": []string{"Email"}}},
		reflect.TypeFor[createConnectorBody]():         {"connectorId": factoryIDSchema(), "id": {"maxLength": 128, "pattern": "^[A-Za-z0-9_-]*$"}},
		reflect.TypeFor[templateJSON]():                {"templateType": usage},
		reflect.TypeFor[templateInput]():               {"templateType": usage},
		reflect.TypeFor[putTemplatesBody]():            {"templates": {"minItems": 1, "maxItems": 200}},
		reflect.TypeFor[previewBody]():                 {"templateType": usage},
		reflect.TypeFor[emailtemplate.Details]():       {"contentType": contentType},
		reflect.TypeFor[detailsPatch]():                {"contentType": contentType},
		reflect.TypeFor[verifyCodeBody]():              {"verificationCode": {"minLength": 1, "maxLength": 32}},
		reflect.TypeFor[messageJSON]():                 {"status": {"enum": messageStatuses()}, "type": usage},
		reflect.TypeFor[inboxJSON]():                   {"type": usage},
		reflect.TypeFor[attemptJSON]():                 {"outcome": {"enum": []string{"sent", "error"}}},
		reflect.TypeFor[checkJSON]():                   {"result": {"enum": []string{"passed", "temporary_failure", "not_supported"}}},
		reflect.TypeFor[lockoutJSON]():                 {"scope": {"enum": []string{verification.ScopeAddress, verification.ScopeClient}}},
		reflect.TypeFor[verification.Policy]():         policy,
		reflect.TypeFor[verification.SentinelPolicy](): sentinel,
		reflect.TypeFor[tenant.Experience]():           {"signInMode": {"enum": stringsOf(tenant.SignInModes())}},
		reflect.TypeFor[tenant.Mfa]():                  {"policy": {"enum": stringsOf(tenant.MfaPolicies())}},
		reflect.TypeFor[privateKeyJSON]():              {"signingKeyAlgorithm": {"enum": []string{keyAlgorithmEC}}, "status": {"enum": []string{keyStatusCurrent, keyStatusPrevious}}},
		reflect.TypeFor[rotateKeysBody]():              {"signingKeyAlgorithm": {"enum": []string{keyAlgorithmEC}}, "rotationGracePeriod": {"minimum": 0, "maximum": 0}},
		reflect.TypeFor[createResourceBody]():          {"accessTokenTtl": {"minimum": 1, "maximum": apps.MaxAccessTokenTTL}, "name": {"minLength": 1}, "indicator": {"minLength": 1}},
		reflect.TypeFor[createApplicationBody]():       {"name": {"minLength": 1}},
		reflect.TypeFor[experience.Identifier]():       {"type": {"enum": []string{"email"}}, "value": {"maxLength": 256}},
		reflect.TypeFor[profileBody]():                 {"type": {"enum": []string{experience.ProfileEmail, experience.ProfileUsername, experience.ProfilePassword}}},
		reflect.TypeFor[verifyExperienceCodeBody]():    {"code": {"minLength": 1, "maxLength": 32}},
		reflect.TypeFor[verifyPasswordBody]():          {"password": {"minLength": 1}},
		reflect.TypeFor[organizationRoleJSON]():        {"type": {"enum": orgs.RoleTypes()}},
		reflect.TypeFor[organizationRoleBody]():        {"type": {"enum": orgs.RoleTypes()}, "name": {"minLength": 1, "maxLength": 128}},
		reflect.TypeFor[organizationBody]():            {"name": {"minLength": 1, "maxLength": 128}},
		reflect.TypeFor[membersRolesBody]():            {"userIds": {"minItems": 1}, "organizationRoleIds": {"minItems": 1}},
		reflect.TypeFor[invitationJSON]():              {"status": {"enum": orgs.Statuses()}},
		reflect.TypeFor[invitationMessageJSON]():       {"status": {"enum": messageStatuses()}},
		reflect.TypeFor[invitationStatusBody]():        {"status": {"enum": []string{orgs.StatusAccepted, orgs.StatusRevoked}}},
	}
}

// typeHints is the schema of Go types whose JSON form their kind does not
// tell, or whose values form a fixed set.
func typeHints() map[reflect.Type]map[string]any {
	return map[reflect.Type]map[string]any{
		reflect.TypeFor[json.RawMessage]():       {},
		reflect.TypeFor[time.Time]():             {"type": "string", "format": "date-time"},
		reflect.TypeFor[connector.UsageType]():   {"type": "string", "enum": usageTypes()},
		reflect.TypeFor[apps.Type]():             {"type": "string", "enum": appTypes()},
		reflect.TypeFor[apps.RoleType]():         {"type": "string", "enum": roleTypes()},
		reflect.TypeFor[experience.Event]():      {"type": "string", "enum": experienceEvents()},
		reflect.TypeFor[experience.RecordType](): {"type": "string", "enum": []string{string(experience.RecordEmailCode), string(experience.RecordPassword)}},
		reflect.TypeFor[dnscheck.Status](): {"type": "string", "enum": []string{string(dnscheck.StatusPass), string(dnscheck.StatusWarn),
			string(dnscheck.StatusFail), string(dnscheck.StatusError)}},
	}
}

// ref returns a reference to the component for the named struct type t.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	name, ok := g.names[t]
	if !ok {
		name = componentName(t)
		if _, taken := g.components[name]; taken {
			name = exported(pkgName(t)) + name
		}
		if _, taken := g.components[name]; taken {
			panic("openapi: two types named " + name)
		}
		g.names[t] = name
		g.components[name] = map[string]any{} // taken, while the fields (which may refer to t) are made
		g.components[name] = g.object(t, false)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// componentName is a type's name with an exported first letter, a JSON
// suffix dropped and a Body suffix read as Request: factoryJSON is
// Factory, previewBody is PreviewRequest.
func componentName(t reflect.Type) string {
	n := t.Name()
	if trimmed, ok := strings.CutSuffix(n, "JSON"); ok && trimmed != "" {
		n = trimmed
	}
	if trimmed, ok := strings.CutSuffix(n, "Body"); ok && trimmed != "" {
		n = trimmed + "Request"
	}
	return exported(n)
}

func pkgName(t reflect.Type) string { return t.PkgPath()[strings.LastIndexByte(t.PkgPath(), '/')+1:] }

func exported(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// schema is the JSON Schema of t. In patch mode (a JSON merge patch of t)
// nothing is required and every property may also be null.
func (g *schemaGen) schema(t reflect.Type, patch bool) map[string]any {
	if h, ok := g.typeHints[t]; ok {
		return clone(h)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.schema(t.Elem(), patch))
	case reflect.Interface:
		return map[string]any{}
	}
	if t.Implements(reflect.TypeFor[json.Marshaler]()) || t.Implements(reflect.TypeFor[encoding.TextMarshaler]()) {
		return map[string]any{} // its own JSON form
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		// A merge patch replaces an array whole: its items are whole values.
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), false)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), patch)}
	case reflect.Struct:
		if patch || t.Name() == "" {
			return g.object(t, patch)
		}
		return g.ref(t)
	}
	panic(fmt.Sprintf("openapi: no schema for %s", t))
}

// object is the schema of struct type t: its JSON fields, embedded
// structs' fields included, as encoding/json sees them.
func (g *schemaGen) object(t reflect.Type, patch bool) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range jsonFields(t) {
		s := g.schema(f.typ, patch)
		for k, v := range g.hints[f.owner][f.name] {
			s[k] = v
		}
		if patch {
			s = nullable(s)
		} else if !f.optional {
			required = append(required, f.name)
		}
		props[f.name] = s
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		slices.Sort(required)
		out["required"] = required
	}
	return out
}

// jsonField is one field of a struct's JSON form.
type jsonField struct {
	name     string
	typ      reflect.Type
	optional bool         // omitempty or omitzero
	owner    reflect.Type // the struct that declares it
	depth    int
}

// jsonFields lists the JSON fields of struct type t by encoding/json's
// rules: exported fields under their tag names, "-" skipped, untagged
// embedded structs' fields promoted unless a shallower field has the name.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, depth+1)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			optional := false
			for _, o := range strings.Split(opts, ",") {
				optional = optional || o == "omitempty" || o == "omitzero"
			}
			out = append(out, jsonField{name: name, typ: ft, optional: optional, owner: t, depth: depth})
		}
	}
	walk(t, 0)
	// A shallower field hides a deeper one of the same name.
	slices.SortStableFunc(out, func(a, b jsonField) int { return a.depth - b.depth })
	seen := map[string]bool{}
	kept := out[:0]
	for _, f := range out {
		if !seen[f.name] {
			seen[f.name] = true
			kept = append(kept, f)
		}
	}
	return kept
}

// nullable lets s also be null.
func nullable(s map[string]any) map[string]any {
	switch typ := s["type"].(type) {
	case string:
		s["type"] = []string{typ, "null"}
		if enum, ok := s["enum"].([]string); ok {
			s["enum"] = append(anySlice(enum), nil)
		}
		return s
	case []string:
		if !slices.Contains(typ, "null") {
			s["type"] = append(typ, "null")
		}
		return s
	}
	if len(s) == 0 {
		return s // anything, null included
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// stringsOf lists a string type's values as strings, for enums.
func stringsOf[S ~string](vs []S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
