// Package httpemail is the HTTP email connector: it POSTs each message as
// JSON to an endpoint of the user's choosing, in the exact shape Logto's
// HTTP email connector sends, so the receiver renders and delivers it.
// Requests carry Standard Webhooks headers (webhook-id, webhook-timestamp
// and, with a signing secret, webhook-signature).
package httpemail

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/authmail/authmail/connector"
)

// ID is the factory ID, the same as Logto's.
const ID = "http-email"

//go:embed README.md
var readme string

// maxProviderIDLen bounds the receipt ID taken from a receiver's answer.
const maxProviderIDLen = 256

const logo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">` +
	`<rect x="4" y="14" width="40" height="30" rx="4" fill="#eef2ff" stroke="#4f46e5" stroke-width="3"/>` +
	`<path d="M6 17l18 14 18-14" fill="none" stroke="#4f46e5" stroke-width="3" stroke-linejoin="round"/>` +
	`<path d="M40 50h18M52 44l6 6-6 6" fill="none" stroke="#0ea5e9" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/>` +
	`</svg>`

const schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "HTTP email",
  "type": "object",
  "required": ["endpoint"],
  "properties": {
    "endpoint": {"type": "string", "minLength": 1, "description": "Receiver URL; https, or http on a loopback host."},
    "authorization": {"type": "string", "description": "Sent verbatim as the Authorization header."},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Extra request headers."},
    "timeout": {"type": ["number", "string"], "description": "Milliseconds, or a duration such as \"10s\"; 1s to 60s."},
    "signingSecret": {"type": "string", "pattern": "^whsec_", "description": "Standard Webhooks secret: whsec_ followed by a base64 key."}
  }
}`

func init() {
	connector.Register(Factory())
}

// Factory returns the HTTP email connector's factory.
func Factory() connector.Factory {
	return connector.Factory{
		ID:                ID,
		Name:              "HTTP email",
		Group:             connector.GroupCustom,
		Description:       "POSTs each message as JSON to your own endpoint, which renders and delivers it; compatible with Logto's HTTP email connector.",
		Logo:              logo,
		ConfigSchema:      json.RawMessage(schema),
		SecretFields:      []string{"authorization", "signingSecret"},
		DestinationFields: []string{"endpoint"},
		Form:              form(),
		DefaultConfig:     json.RawMessage(`{"endpoint":"","timeout":10000}`),
		ReadMe:            readme,
		RendersOnProvider: true,
		NewConfig:         func() connector.Config { return &Config{} },
	}
}

func form() []connector.FormItem {
	return []connector.FormItem{
		{Key: "endpoint", Label: "Endpoint", Type: "Text", Required: true,
			Placeholder: "https://mail.example.com/authmail", Description: "Your receiver's URL. authmail POSTs each message here as JSON."},
		{Key: "authorization", Label: "Authorization header", Type: "Text", IsSecret: true,
			Placeholder: "Bearer <token>", Description: "Sent verbatim as the Authorization header."},
		{Key: "signingSecret", Label: "Signing secret", Type: "Text", IsSecret: true,
			Placeholder: "whsec_...", Description: "Signs each request (Standard Webhooks) so the receiver can check it came from authmail."},
		{Key: "headers", Label: "Extra headers", Type: "Json",
			Placeholder: `{"X-Tenant": "acme"}`, Description: "Extra request headers. Not treated as secrets: put credentials in the Authorization header."},
		{Key: "timeout", Label: "Timeout (ms)", Type: "Number",
			Description: "How long one request may take, 1000 to 60000 ms.", DefaultValue: 10000},
	}
}

// Connector posts messages to one endpoint.
type Connector struct {
	s      settings
	client *http.Client
	logger *slog.Logger
	now    func() time.Time
	signer *standardwebhooks.Webhook // nil without a signing secret
}

// Build validates the config and builds a connector.
func (cfg *Config) Build(_ context.Context, env connector.Env) (connector.Connector, error) {
	s, err := cfg.settings(env.AllowInsecureEndpoint)
	if err != nil {
		return nil, err
	}
	c := &Connector{s: s, client: noRedirects(env.HTTPClient), logger: env.Logger, now: env.Now}
	if s.signing != "" {
		if c.signer, err = standardwebhooks.NewWebhook(s.signing); err != nil {
			return nil, connector.InvalidConfig("signingSecret", "cannot be used as a signing key")
		}
	}
	return c, nil
}

// noRedirects returns a copy of client that never follows a redirect: the
// request body must not be re-sent to another URL, so a 3xx is an error.
func noRedirects(client *http.Client) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// requestBody is exactly Logto's SendMessageData.
type requestBody struct {
	To      string              `json:"to"`
	Type    connector.UsageType `json:"type"`
	Payload map[string]any      `json:"payload"`
	IP      string              `json:"ip,omitempty"`
}

// Send POSTs msg to the endpoint.
func (c *Connector) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	body, err := encodeBody(msg)
	if err != nil {
		return connector.Receipt{}, &connector.Error{Kind: connector.ErrRejected, Err: fmt.Errorf("encoding payload: %w", err)}
	}
	reqCtx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	req, err := c.newRequest(reqCtx, msg, body)
	if err != nil {
		return connector.Receipt{}, err
	}
	start := c.now()
	resp, err := c.client.Do(req)
	if err != nil {
		return connector.Receipt{}, c.transportError(err, ctx.Err() == nil)
	}
	defer resp.Body.Close()
	respBody := connector.ReadBody(resp.Body)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if err := c.statusError(resp, respBody); err != nil {
		c.logger.DebugContext(ctx, "http email refused", "endpoint", endpointLabel(c.s.endpoint),
			"message_id", msg.ID, "status", resp.StatusCode)
		return connector.Receipt{}, err
	}
	id := providerID(respBody)
	c.logger.DebugContext(ctx, "http email sent", "endpoint", endpointLabel(c.s.endpoint), "message_id", msg.ID,
		"status", resp.StatusCode, "provider_message_id", id, "elapsed", c.now().Sub(start))
	return connector.Receipt{ProviderMessageID: id}, nil
}

// encodeBody writes the JSON body without HTML escaping, as Logto does.
func encodeBody(msg connector.Message) ([]byte, error) {
	payload := msg.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(requestBody{To: msg.To, Type: msg.Type, Payload: payload, IP: msg.IP})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

func (c *Connector) newRequest(ctx context.Context, msg connector.Message, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return nil, &connector.Error{Kind: connector.ErrRejected, Err: fmt.Errorf("building request: %w", err)}
	}
	for name, values := range c.s.headers {
		req.Header[name] = values
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "authmail-http-email")
	if c.s.auth != "" {
		req.Header.Set("Authorization", c.s.auth)
	}
	id := connector.StripControl(msg.ID)
	ts := c.now()
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if c.signer != nil {
		sig, err := c.signer.Sign(id, ts, body)
		if err != nil {
			return nil, &connector.Error{Kind: connector.ErrRejected, Err: fmt.Errorf("signing request: %w", err)}
		}
		req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	}
	return req, nil
}

// transportError classifies a failed request, naming the endpoint without
// its query string.
// ownTimeout is true when the caller's context was still live, so a
// deadline error can only be the connector's own timeout.
func (c *Connector) transportError(err error, ownTimeout bool) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		if ownTimeout {
			err = fmt.Errorf("no answer within the configured timeout %s: %w", c.s.timeout, err)
		} else {
			err = fmt.Errorf("no answer before the delivery deadline: %w", err)
		}
	}
	return connector.NetworkError(fmt.Errorf("posting to %s: %w", endpointLabel(c.s.endpoint), err))
}

// statusError returns nil for a 2xx answer and a classified error otherwise.
func (c *Connector) statusError(resp *http.Response, body []byte) error {
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc := resp.Header.Get("Location")
		if loc == "" {
			loc = "(no Location header)"
		}
		msg := fmt.Sprintf("endpoint redirected to %s; redirects are not followed, set endpoint to the final URL", loc)
		return connector.HTTPStatusError(resp.StatusCode, resp.Header, body, "", msg, c.s.secrets...)
	default:
		return connector.HTTPStatusError(resp.StatusCode, resp.Header, body, "", "", c.s.secrets...)
	}
}

// providerID reads {"id": "..."} or {"messageId": "..."} from a 2xx answer.
func providerID(body []byte) string {
	var v struct {
		ID        json.RawMessage `json:"id"`
		MessageID json.RawMessage `json:"messageId"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	for _, raw := range []json.RawMessage{v.ID, v.MessageID} {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s = strings.TrimSpace(connector.StripControl(s)); s != "" {
				if len(s) > maxProviderIDLen {
					s = strings.ToValidUTF8(s[:maxProviderIDLen], "")
				}
				return s
			}
		}
	}
	return ""
}

// Interface guards.
var (
	_ connector.Config    = (*Config)(nil)
	_ connector.Connector = (*Connector)(nil)
)
