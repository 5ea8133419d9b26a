// Package sendgrid is authmail's SendGrid email connector. It sends
// through SendGrid's Mail Send v3 API with the official sendgrid-go SDK and
// accepts the config of Logto's SendGrid connector unchanged.
package sendgrid

import (
	"context"
	_ "embed"
	"encoding/json"

	"github.com/sendgrid/rest"

	"github.com/authmail/authmail/connector"
)

// ID is the factory ID; Alias is the ID of Logto's SendGrid connector.
const (
	ID    = "sendgrid"
	Alias = "sendgrid-email-service"
)

//go:embed README.md
var readme string

// logo is SendGrid's mark, simplified.
const logo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48"><rect x="16" y="16" width="16" height="16" fill="#99e1f4"/><rect x="0" y="16" width="16" height="16" fill="#fff" stroke="#1a82e2" stroke-width="2"/><rect x="16" y="32" width="16" height="16" fill="#1a82e2"/><rect x="32" y="0" width="16" height="16" fill="#1a82e2"/><rect x="16" y="0" width="16" height="16" fill="#00b3e3"/><rect x="32" y="16" width="16" height="16" fill="#00b3e3"/></svg>`

// schema is the JSON Schema of Config.
const schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "SendGrid",
  "type": "object",
  "required": ["apiKey", "fromEmail"],
  "properties": {
    "apiKey": {"type": "string", "minLength": 1, "description": "API key with the Mail Send permission."},
    "fromEmail": {"type": "string", "minLength": 3, "description": "Verified sender address."},
    "fromName": {"type": "string", "description": "Sender display name."},
    "replyTo": {"type": "string", "description": "Default Reply-To address."},
    "templates": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["usageType"],
        "additionalProperties": false,
        "properties": {
          "usageType": {"type": "string", "minLength": 1},
          "type": {"enum": ["text/html", "text/plain"]},
          "subject": {"type": "string"},
          "content": {"type": "string"},
          "templateId": {"type": "string", "description": "SendGrid dynamic template ID (d-...)."}
        }
      }
    },
    "categories": {"type": "array", "maxItems": 10, "items": {"type": "string", "minLength": 1, "maxLength": 255}},
    "endpoint": {"type": "string", "description": "API base URL; https://api.eu.sendgrid.com for EU data residency."},
    "timeout": {"anyOf": [
      {"type": "number", "minimum": 0},
      {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"}
    ]}
  }
}`

// defaultConfig is what the console pre-fills.
const defaultConfig = `{
  "apiKey": "",
  "fromEmail": "no-reply@example.com",
  "fromName": "Example",
  "templates": [
    {"usageType": "SignIn", "type": "text/html", "subject": "Your sign-in code {{code}}", "content": "<p>Your sign-in code is <b>{{code}}</b>. It expires in 10 minutes.</p>"},
    {"usageType": "Register", "type": "text/html", "subject": "Your sign-up code {{code}}", "content": "<p>Your sign-up code is <b>{{code}}</b>. It expires in 10 minutes.</p>"},
    {"usageType": "ForgotPassword", "type": "text/html", "subject": "Your password reset code {{code}}", "content": "<p>Your password reset code is <b>{{code}}</b>. It expires in 10 minutes.</p>"},
    {"usageType": "Generic", "type": "text/html", "subject": "Your verification code {{code}}", "content": "<p>Your verification code is <b>{{code}}</b>. It expires in 10 minutes.</p>"}
  ]
}`

// Factory describes the SendGrid connector.
func Factory() connector.Factory {
	return connector.Factory{
		ID:                ID,
		Aliases:           []string{Alias},
		Name:              "SendGrid",
		Description:       "Send verification emails through Twilio SendGrid's Mail Send API.",
		Logo:              logo,
		ConfigSchema:      json.RawMessage(schema),
		SecretFields:      []string{"apiKey"},
		DestinationFields: []string{"endpoint"},
		DNS:               dnsHints(),
		Form: []connector.FormItem{
			{Key: "apiKey", Label: "API key", Type: "Text", Required: true, IsSecret: true, Placeholder: "SG.xxxxxxxx", Description: "A restricted key with Mail Send access."},
			{Key: "fromEmail", Label: "From email", Type: "Text", Required: true, Placeholder: "no-reply@example.com"},
			{Key: "fromName", Label: "From name", Type: "Text", Placeholder: "Example"},
			{Key: "replyTo", Label: "Reply-To", Type: "Text", Placeholder: "support@example.com"},
			{Key: "endpoint", Label: "API endpoint", Type: "Text", Placeholder: DefaultEndpoint, Description: "Use https://api.eu.sendgrid.com for an EU regional subuser."},
			{Key: "categories", Label: "Categories", Type: "Json", Description: "Up to 10 categories for SendGrid statistics."},
			{Key: "templates", Label: "Templates", Type: "Json", Description: "Per usage type: {usageType, type, subject, content} or {usageType, templateId}."},
			{Key: "timeout", Label: "Timeout (ms)", Type: "Number", DefaultValue: 10000},
		},
		DefaultConfig: json.RawMessage(defaultConfig),
		ReadMe:        readme,
		NewConfig:     func() connector.Config { return &Config{} },
	}
}

func init() { connector.Register(Factory()) }

// Build validates the config and builds a SendGrid connector.
func (cfg *Config) Build(_ context.Context, env connector.Env) (connector.Connector, error) {
	s, err := cfg.resolve(env)
	if err != nil {
		return nil, err
	}
	return &Connector{s: s, client: &rest.Client{HTTPClient: env.HTTPClient}, log: env.Logger}, nil
}

// Sender is the configured sender.
func (c *Connector) Sender() connector.Sender { return connector.Sender{From: c.s.from} }

// Interface guards.
var (
	_ connector.Config         = (*Config)(nil)
	_ connector.Connector      = (*Connector)(nil)
	_ connector.TemplateSource = (*Connector)(nil)
	_ connector.SenderIdentity = (*Connector)(nil)
	_ connector.Checker        = (*Connector)(nil)
)
