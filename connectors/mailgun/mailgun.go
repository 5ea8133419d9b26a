// Package mailgun is authmail's Mailgun email connector. It sends
// through Mailgun's Messages API with the official mailgun-go SDK and
// accepts the config of Logto's Mailgun connector unchanged.
package mailgun

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"

	mailgunapi "github.com/mailgun/mailgun-go/v4"

	"github.com/authmail/authmail/connector"
)

// ID is the factory ID; Alias is the ID of Logto's Mailgun connector.
const (
	ID    = "mailgun"
	Alias = "mailgun-email"
)

//go:embed README.md
var readme string

// logo is Mailgun's mark, simplified.
const logo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48"><circle cx="24" cy="24" r="22" fill="#f06b66"/><circle cx="24" cy="24" r="13" fill="none" stroke="#fff" stroke-width="4"/><circle cx="24" cy="24" r="5" fill="#fff"/><path d="M29 24v3a4 4 0 0 0 8 0v-3" fill="none" stroke="#fff" stroke-width="4"/></svg>`

// schema is the JSON Schema of Config.
const schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Mailgun",
  "type": "object",
  "required": ["domain", "apiKey", "from"],
  "$defs": {
    "delivery": {
      "type": "object",
      "additionalProperties": false,
      "anyOf": [{"required": ["html"]}, {"required": ["template"]}],
      "properties": {
        "html": {"type": "string"},
        "text": {"type": "string"},
        "template": {"type": "string", "minLength": 1},
        "variables": {"type": "object"},
        "subject": {"type": "string"},
        "replyTo": {"type": "string"}
      }
    }
  },
  "properties": {
    "endpoint": {"type": "string", "description": "API base URL; default from region."},
    "region": {"enum": ["us", "eu"], "description": "Mailgun region of the domain."},
    "domain": {"type": "string", "minLength": 1},
    "apiKey": {"type": "string", "minLength": 1},
    "from": {"type": "string", "minLength": 3, "description": "Full sender, such as Example <no-reply@mg.example.com>."},
    "fromName": {"type": "string"},
    "replyTo": {"type": "string"},
    "deliveries": {
      "type": "object",
      "additionalProperties": {"$ref": "#/$defs/delivery"}
    },
    "timeout": {"anyOf": [
      {"type": "number", "minimum": 0},
      {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"}
    ]}
  }
}`

// defaultConfig is what the console pre-fills.
const defaultConfig = `{
  "region": "us",
  "domain": "mg.example.com",
  "apiKey": "",
  "from": "Example <no-reply@mg.example.com>",
  "deliveries": {
    "SignIn": {"subject": "Your sign-in code {{code}}", "html": "<p>Your sign-in code is <b>{{code}}</b>. It expires in 10 minutes.</p>"},
    "Register": {"subject": "Your sign-up code {{code}}", "html": "<p>Your sign-up code is <b>{{code}}</b>. It expires in 10 minutes.</p>"},
    "ForgotPassword": {"subject": "Your password reset code {{code}}", "html": "<p>Your password reset code is <b>{{code}}</b>. It expires in 10 minutes.</p>"},
    "Generic": {"subject": "Your verification code {{code}}", "html": "<p>Your verification code is <b>{{code}}</b>. It expires in 10 minutes.</p>"}
  }
}`

// Factory describes the Mailgun connector.
func Factory() connector.Factory {
	return connector.Factory{
		ID:           ID,
		Aliases:      []string{Alias},
		Name:         "Mailgun",
		Description:  "Send verification emails through Mailgun's Messages API, with optional Mailgun-hosted templates.",
		Logo:         logo,
		ConfigSchema: json.RawMessage(schema),
		SecretFields: []string{"apiKey"},
		// The domain is part of every API path: /v3/{domain}/messages.
		DestinationFields: []string{"endpoint", "region", "domain"},
		DNS:               dnsHints(),
		Form: []connector.FormItem{
			{Key: "region", Label: "Region", Type: "Select", SelectItems: []string{"us", "eu"}, DefaultValue: "us", Description: "Where the Mailgun domain was created."},
			{Key: "endpoint", Label: "API endpoint", Type: "Text", Placeholder: EndpointUS, Description: "Overrides the region's endpoint (proxies)."},
			{Key: "domain", Label: "Domain", Type: "Text", Required: true, Placeholder: "mg.example.com"},
			{Key: "apiKey", Label: "API key", Type: "Text", Required: true, IsSecret: true, Placeholder: "key-... or a domain sending key"},
			{Key: "from", Label: "From", Type: "Text", Required: true, Placeholder: "Example <no-reply@mg.example.com>"},
			{Key: "fromName", Label: "From name", Type: "Text", Description: "Replaces the display name of From."},
			{Key: "replyTo", Label: "Reply-To", Type: "Text", Placeholder: "support@example.com"},
			{Key: "deliveries", Label: "Deliveries", Type: "Json", Description: "Per usage type: {subject, html, text?, replyTo?} or {template, variables?, subject?, replyTo?}."},
			{Key: "timeout", Label: "Timeout (ms)", Type: "Number", DefaultValue: 10000},
		},
		DefaultConfig: json.RawMessage(defaultConfig),
		ReadMe:        readme,
		NewConfig:     func() connector.Config { return &Config{} },
	}
}

func init() { connector.Register(Factory()) }

// Build validates the config and builds a Mailgun connector.
func (cfg *Config) Build(_ context.Context, env connector.Env) (connector.Connector, error) {
	s, err := cfg.resolve(env)
	if err != nil {
		return nil, err
	}
	mg := mailgunapi.NewMailgun(s.domain, s.apiKey)
	mg.SetAPIBase(s.apiBase + "/v3")
	mg.SetClient(capturingClient(env.HTTPClient))
	return &Connector{s: s, mg: mg, log: env.Logger}, nil
}

// capturingClient is a copy of hc whose transport records response headers.
func capturingClient(hc *http.Client) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = captureTransport{base: base}
	return &c
}

// Sender is the configured sender and the Mailgun sending domain.
func (c *Connector) Sender() connector.Sender {
	return connector.Sender{From: c.s.from, Domain: c.s.domain}
}

// Interface guards.
var (
	_ connector.Config         = (*Config)(nil)
	_ connector.Connector      = (*Connector)(nil)
	_ connector.TemplateSource = (*Connector)(nil)
	_ connector.SenderIdentity = (*Connector)(nil)
	_ connector.Checker        = (*Connector)(nil)
)
