package connectortest

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestDestinationRuleCatchesDestinationNames(t *testing.T) {
	for path, want := range map[string]bool{
		"host": true, "port": true, "endpoint": true, "baseUrl": true, "baseURL": true, "apiURI": true,
		"regionId": true, "domain": true, "dkim.domainName": true, "servername": true, "tls.servername": true,
		"smtp_host": true, "hostname": true,
		"fromEmail": false, "serverToken": false, "supportAddress": false, "report": false, "name": false,
		"emailAddressIdentityArn": false, "authorization": false,
	} {
		if got := destinationLike(path); got != want {
			t.Errorf("destinationLike(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestSchemaPathsFollowObjectsArraysAndRefs(t *testing.T) {
	s, err := parseSchema(json.RawMessage(`{
	  "type": "object",
	  "$defs": {"timeout": {"type": "number"}, "tls": {"type": "object", "properties": {"servername": {"type": "string"}}}},
	  "properties": {
	    "host": {"type": "string"},
	    "tls": {"$ref": "#/$defs/tls"},
	    "templates": {"type": "array", "items": {"type": "object", "properties": {"subject": {"type": "string"}}}},
	    "deliveries": {"type": "object", "additionalProperties": {"type": "object", "properties": {"html": {"type": "string"}}}},
	    "auth": {"anyOf": [{"properties": {"user": {}}}, {"properties": {"pass": {}}}]}
	  }
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"auth", "auth.pass", "auth.user", "deliveries", "host", "templates", "templates.subject", "tls", "tls.servername"}
	if got := s.paths(); !slices.Equal(got, want) {
		t.Errorf("paths = %v, want %v", got, want)
	}
}
