package connector_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

// SecretEncodings returns the forms a secret travels in, with user as the
// login that goes with it: the value, its base64, HTTP Basic and Bearer
// credentials, SMTP AUTH PLAIN (with and without an authzid), AUTH LOGIN,
// XOAUTH2, URL query and path escaping, JSON and HTML escaping.
func secretEncodings(user, secret string) map[string]string {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	j, _ := json.Marshal(secret)
	return map[string]string{
		"plain":           secret,
		"base64":          b64(secret),
		"base64url":       base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"basic":           "Basic " + b64(user+":"+secret),
		"basic-url":       base64.URLEncoding.EncodeToString([]byte(user + ":" + secret)),
		"bearer":          "Bearer " + secret,
		"plain-sasl":      "AUTH PLAIN " + b64("\x00"+user+"\x00"+secret),
		"plain-authzid":   "AUTH PLAIN " + b64("admin@example.com\x00"+user+"\x00"+secret),
		"plain-unpadded":  base64.RawStdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + secret)),
		"login":           b64(secret),
		"xoauth2":         b64("user=" + user + "\x01auth=Bearer " + secret + "\x01\x01"),
		"query":           url.QueryEscape(secret),
		"path":            url.PathEscape(secret),
		"json":            strings.Trim(string(j), `"`),
		"html":            html.EscapeString(secret),
		"glued-to-prefix": "key=" + b64(user+":"+secret) + ";",
	}
}

// TestMaskHidesEveryEncoding: each form a secret travels in, inside a
// provider's error text, is replaced by [redacted], and the rest of the
// text stays readable.
func TestMaskHidesEveryEncoding(t *testing.T) {
	const user = "mailer@example.com"
	for _, secret := range []string{"S3cr3t-Pass-Quokka", "p@ss w/rd+ü&=<\"x\">?"} {
		for name, form := range secretEncodings(user, secret) {
			text := "535 5.7.8 rejected " + form + " for " + user
			got := connector.Mask(text, secret)
			if got == text || strings.Contains(got, form) {
				t.Errorf("%s of %q: Mask(%q) = %q", name, secret, text, got)
			}
			if !strings.HasPrefix(got, "535 5.7.8 rejected ") || !strings.HasSuffix(got, " for "+user) {
				t.Errorf("%s of %q: Mask dropped the surrounding text: %q", name, secret, got)
			}
			if snip := connector.Snippet(text, secret); strings.Contains(snip, form) {
				t.Errorf("%s of %q: Snippet kept it: %q", name, secret, snip)
			}
		}
	}
	// Base64 that decodes to something else is left alone.
	other := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00another-password"))
	if got := connector.Mask("AUTH PLAIN "+other, "S3cr3t-Pass-Quokka"); got != "AUTH PLAIN "+other {
		t.Errorf("Mask changed unrelated base64: %q", got)
	}
	if got := connector.Mask("nothing to hide", "", connector.Redacted); got != "nothing to hide" {
		t.Errorf("Mask with no secret = %q", got)
	}
}

// TestSecretReuseNamesTheEchoedSecrets: moving a destination refuses only
// the secrets the config echoes redacted, names them and the destination
// that moved, and leaves a new value or an untouched field alone.
func TestSecretReuseNamesTheEchoedSecrets(t *testing.T) {
	f, _ := connector.Lookup("test-registry")
	stored := json.RawMessage(`{"apiKey":"sk-1","nested":{"token":"tok-2","port":1}}`)
	_, err := connector.KeepSecrets(f, json.RawMessage(`{"apiKey":"[redacted]","nested":{"token":"tok-new","port":2}}`), stored)
	var re *connector.SecretReuseError
	if !errors.As(err, &re) || len(re.Secrets) != 1 || re.Secrets[0] != "apiKey" || len(re.Changed) != 1 || re.Changed[0] != "nested.port" {
		t.Fatalf("err = %#v, want apiKey refused because nested.port changed", err)
	}
	if !errors.Is(err, connector.ErrInvalidConfig) || !strings.Contains(err.Error(), "apiKey") || !strings.Contains(err.Error(), "nested.port") {
		t.Errorf("err = %v: want an invalid config naming apiKey and nested.port", err)
	}
	// An absent destination and null are the same; a redacted field that
	// was never stored restores nothing and is no reason to refuse.
	for _, tc := range []struct{ next, stored string }{
		{`{"apiKey":"[redacted]","nested":{"token":"[redacted]","port":null}}`, `{"apiKey":"sk-1","nested":{"token":"tok-2"}}`},
		{`{"apiKey":"sk-new","nested":{"token":"tok-new","port":9}}`, string(stored)},
		{`{"apiKey":"sk-new","nested":{"port":9},"list":[{"secret":"[redacted]"}]}`, string(stored)},
	} {
		if _, err := connector.KeepSecrets(f, json.RawMessage(tc.next), json.RawMessage(tc.stored)); err != nil {
			t.Errorf("KeepSecrets(%s, %s) = %v, want it accepted", tc.next, tc.stored, err)
		}
	}
}
