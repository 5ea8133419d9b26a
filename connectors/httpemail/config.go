package httpemail

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/authmail/authmail/connector"
)

// Timeout bounds.
const (
	// TimeoutDefault is how long one request may take when the config does
	// not say.
	TimeoutDefault = 10 * time.Second
	// TimeoutMin is the shortest timeout a config may set.
	TimeoutMin = time.Second
	// TimeoutMax is the longest timeout a config may set.
	TimeoutMax = 60 * time.Second
)

// Signing secret bounds, from the Standard Webhooks specification.
const (
	secretPrefix    = "whsec_"
	secretMinBytes  = 24
	secretMaxBytes  = 64
	secretMaskBytes = 8 // header values at least this long are masked in errors
)

// settings is a validated config, resolved once.
type settings struct {
	endpoint *url.URL
	auth     string
	headers  http.Header
	timeout  time.Duration
	signing  string
	secrets  []string
}

// Config is the HTTP email connector's config: Logto's endpoint and
// authorization, plus authmail's headers, timeout and signingSecret. Keys
// it does not know are ignored, as Logto does.
type Config struct {
	connector.OtherKeys
	// Endpoint is the receiver's URL: https, or http on a loopback host.
	// Required.
	Endpoint string `json:"endpoint"`
	// Authorization is sent verbatim as the Authorization header.
	Authorization connector.Secret `json:"authorization,omitempty"`
	// Headers are extra request headers.
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds one request, in milliseconds or as "10s" (1s to 60s,
	// default 10s); it is read by hand so that an error names the field.
	Timeout json.RawMessage `json:"timeout,omitempty"`
	// SigningSecret signs each request (Standard Webhooks): "whsec_"
	// followed by a base64 key.
	SigningSecret connector.Secret `json:"signingSecret,omitempty"`
}

// settings validates the config and resolves it.
func (cfg *Config) settings(allowInsecure bool) (settings, error) {
	var s settings
	var err error
	if strings.TrimSpace(cfg.Endpoint) == "" {
		return settings{}, connector.InvalidConfig("endpoint", "is required")
	}
	if s.endpoint, err = connector.CheckEndpoint("endpoint", strings.TrimSpace(cfg.Endpoint), allowInsecure); err != nil {
		return settings{}, err
	}
	s.endpoint.Fragment = ""
	if s.timeout, err = parseTimeout(cfg.Timeout); err != nil {
		return settings{}, err
	}
	if s.headers, err = parseHeaders(cfg.Headers); err != nil {
		return settings{}, err
	}
	s.auth = cfg.Authorization.Reveal()
	if !httpguts.ValidHeaderFieldValue(s.auth) {
		return settings{}, connector.InvalidConfig("authorization", "must not contain line breaks or control characters")
	}
	s.signing = cfg.SigningSecret.Reveal()
	if s.signing != "" {
		if err := checkSigningSecret(s.signing); err != nil {
			return settings{}, err
		}
	}
	s.secrets = secretsOf(s)
	return s, nil
}

func parseTimeout(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return TimeoutDefault, nil
	}
	var d connector.Duration
	if err := d.UnmarshalJSON(raw); err != nil {
		return 0, connector.InvalidConfig("timeout", "%v", err)
	}
	v := d.Or(TimeoutDefault)
	if v < TimeoutMin || v > TimeoutMax {
		return 0, connector.InvalidConfig("timeout", "must be between %s and %s (a number is milliseconds), not %s", TimeoutMin, TimeoutMax, v)
	}
	return v, nil
}

// reservedHeader says why a header may not be set in headers, or "".
func reservedHeader(name string) string {
	canon := http.CanonicalHeaderKey(name)
	switch {
	case canon == "Content-Type":
		return "is always application/json and cannot be overridden"
	case canon == "Authorization":
		return "belongs in the authorization field, which is kept secret"
	case strings.HasPrefix(canon, "Webhook-"):
		return "is reserved for the webhook-id, webhook-timestamp and webhook-signature headers authmail sets"
	case canon == "Host" || canon == "Content-Length" || canon == "Transfer-Encoding" || canon == "Connection":
		return "is set by the HTTP client and cannot be overridden"
	}
	return ""
}

func parseHeaders(in map[string]string) (http.Header, error) {
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names) // report the same field first every time
	out := http.Header{}
	for _, name := range names {
		field := "headers." + name
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, connector.InvalidConfig(field, "is not a valid header name")
		}
		if why := reservedHeader(name); why != "" {
			return nil, connector.InvalidConfig(field, "%s", why)
		}
		if !httpguts.ValidHeaderFieldValue(in[name]) {
			return nil, connector.InvalidConfig(field, "must not contain line breaks or control characters")
		}
		out.Set(name, in[name])
	}
	return out, nil
}

func checkSigningSecret(secret string) error {
	const hint = "must be \"whsec_\" followed by a base64 key of 24 to 64 bytes, such as the output of: echo \"whsec_$(openssl rand -base64 32)\""
	if !strings.HasPrefix(secret, secretPrefix) {
		return connector.InvalidConfig("signingSecret", "%s", hint)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) < secretMinBytes || len(key) > secretMaxBytes {
		return connector.InvalidConfig("signingSecret", "%s", hint)
	}
	return nil
}

// secretsOf lists the values to mask in error messages: the authorization
// header and its credential part, the signing secret, and the longer extra
// header values (they may hold API keys).
func secretsOf(s settings) []string {
	var out []string
	if s.auth != "" {
		out = append(out, s.auth)
		if _, cred, ok := strings.Cut(s.auth, " "); ok && len(strings.TrimSpace(cred)) >= secretMaskBytes {
			out = append(out, strings.TrimSpace(cred))
		}
	}
	if s.signing != "" {
		out = append(out, s.signing, strings.TrimPrefix(s.signing, secretPrefix))
	}
	for _, vs := range s.headers {
		for _, v := range vs {
			if len(v) >= secretMaskBytes {
				out = append(out, v)
			}
		}
	}
	// Mask longer values first so that a value containing another is
	// masked whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// endpointLabel names the endpoint in errors and logs without its query
// string, which may carry a token.
func endpointLabel(u *url.URL) string {
	return fmt.Sprintf("%s://%s%s", u.Scheme, u.Host, u.EscapedPath())
}
