package apptest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

const contractDoc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/things": {
      "post": {
        "operationId": "post-things",
        "security": [{"key": []}],
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 5}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["name"], "additionalProperties": false,
          "properties": {"name": {"type": "string"}}}}}},
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id"], "additionalProperties": false,
            "properties": {"id": {"type": "string"}, "state": {"type": "string", "enum": ["new", "old"]}}}}}},
          "4XX": {"description": "refused", "content": {"application/json": {"schema": {"type": "object", "required": ["code"]}}}}
        }
      }
    }
  },
  "components": {"securitySchemes": {"key": {"type": "http", "scheme": "bearer"}}}
}`

// TestContractHoldsExchangesToTheDocument: a response that does not match
// its status's schema breaks the contract, and so does a request the
// document refuses when the server accepts it; a refused request that is
// refused, a matching exchange and a route the document does not list
// pass.
func TestContractHoldsExchangesToTheDocument(t *testing.T) {
	c, err := NewContract([]byte(contractDoc))
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(path, auth, body string, status int, respBody string) error {
		req, err := http.NewRequest("POST", "http://127.0.0.1:1"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader([]byte(respBody)))}
		return c.Check(req, []byte(body), resp, []byte(respBody))
	}
	const key = "Bearer k"
	for _, tc := range []struct {
		name, path, auth, body string
		status                 int
		resp                   string
		breach                 string // a word of the error, "" when none
	}{
		{"matching exchange", "/things", key, `{"name":"a"}`, 200, `{"id":"1","state":"new"}`, ""},
		{"response lacks a required field", "/things", key, `{"name":"a"}`, 200, `{"state":"new"}`, "response"},
		{"response value outside its enum", "/things", key, `{"name":"a"}`, 200, `{"id":"1","state":"gone"}`, "response"},
		{"response with an unknown field", "/things", key, `{"name":"a"}`, 200, `{"id":"1","extra":true}`, "response"},
		{"undocumented status", "/things", key, `{"name":"a"}`, 302, ``, "status"},
		{"error answer in the error shape", "/things", key, `{}`, 400, `{"code":"guard.invalid_input"}`, ""},
		{"error answer in another shape", "/things", key, `{}`, 400, `{"error":"no"}`, "response"},
		{"refused body accepted", "/things", key, `{"nom":"a"}`, 200, `{"id":"1"}`, "refuses the request"},
		{"refused query accepted", "/things?limit=9", key, `{"name":"a"}`, 200, `{"id":"1"}`, "refuses the request"},
		{"missing key accepted", "/things", "", `{"name":"a"}`, 200, `{"id":"1"}`, "refuses the request"},
		{"missing key refused", "/things", "", `{"name":"a"}`, 401, `{"code":"auth.unauthorized"}`, ""},
		{"route the document does not list", "/metrics", key, ``, 200, `anything`, ""},
	} {
		err := exchange(tc.path, tc.auth, tc.body, tc.status, tc.resp)
		switch {
		case tc.breach == "" && err != nil:
			t.Errorf("%s: breach reported: %v", tc.name, err)
		case tc.breach != "" && err == nil:
			t.Errorf("%s: no breach reported", tc.name)
		case tc.breach != "" && !strings.Contains(err.Error(), tc.breach):
			t.Errorf("%s: breach %q does not mention %q", tc.name, err, tc.breach)
		}
	}
}
