// Package postmark is authmail's Postmark email connector. It sends
// through Postmark's Email API (POST /email and /email/withTemplate) and
// accepts the config of Logto's Postmark connector unchanged.
package postmark

import (
	"context"
	_ "embed"
	"encoding/json"

	"github.com/authmail/authmail/connector"
)

// ID is the factory ID; Alias is the ID of Logto's Postmark connector.
const (
	ID    = "postmark"
	Alias = "postmark-mail"
)

//go:embed README.md
var readme string

// logo is Postmark's mark, simplified.
const logo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48"><rect width="48" height="48" rx="8" fill="#ffde00"/><path d="M14 36V12h11a8 8 0 0 1 0 16h-5v8z" fill="#000"/><path d="M20 18v4h5a2 2 0 0 0 0-4z" fill="#ffde00"/></svg>`

// schema is the JSON Schema of Config.
const schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Postmark",
  "type": "object",
  "required": ["serverToken", "fromEmail"],
  "properties": {
    "serverToken": {"type": "string", "minLength": 1, "description": "Server API token."},
    "fromEmail": {"type": "string", "minLength": 3, "description": "Confirmed sender signature or address on a verified domain."},
    "fromName": {"type": "string"},
    "replyTo": {"type": "string"},
    "templates": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["usageType", "templateAlias"],
        "additionalProperties": false,
        "properties": {
          "usageType": {"type": "string", "minLength": 1},
          "templateAlias": {"type": "string", "minLength": 1}
        }
      }
    },
    "messageStream": {"type": "string", "minLength": 1, "default": "outbound"},
    "endpoint": {"type": "string"},
    "timeout": {"anyOf": [
      {"type": "number", "minimum": 0},
      {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"}
    ]}
  }
}`

// Factory describes the Postmark connector.
func Factory() connector.Factory {
	return connector.Factory{
		ID:                ID,
		Aliases:           []string{Alias},
		Name:              "Postmark",
		Description:       "Send verification emails through Postmark, rendered by Postmark server templates.",
		Logo:              logo,
		ConfigSchema:      json.RawMessage(schema),
		SecretFields:      []string{"serverToken"},
		DestinationFields: []string{"endpoint"},
		DNS:               dnsHints(),
		Form: []connector.FormItem{
			{Key: "serverToken", Label: "Server token", Type: "Text", Required: true, IsSecret: true, Placeholder: "<your-server-token>"},
			{Key: "fromEmail", Label: "From email", Type: "Text", Required: true, Placeholder: "no-reply@example.com"},
			{Key: "fromName", Label: "From name", Type: "Text", Placeholder: "Example"},
			{Key: "replyTo", Label: "Reply-To", Type: "Text", Placeholder: "support@example.com"},
			{Key: "messageStream", Label: "Message stream", Type: "Text", DefaultValue: DefaultMessageStream},
			{Key: "templates", Label: "Templates", Type: "Json", Description: "Per usage type: {usageType, templateAlias}. Types without one are sent with authmail's rendered bodies."},
			{Key: "endpoint", Label: "API endpoint", Type: "Text", Placeholder: DefaultEndpoint},
			{Key: "timeout", Label: "Timeout (ms)", Type: "Number", DefaultValue: 10000},
		},
		DefaultConfig:     defaultConfig(),
		ReadMe:            readme,
		RendersOnProvider: true,
		NewConfig:         func() connector.Config { return &Config{} },
	}
}

// defaultConfig pre-fills Logto's default template aliases.
func defaultConfig() json.RawMessage {
	var ts []Template
	for _, u := range connector.UsageTypes() {
		ts = append(ts, Template{UsageType: string(u), TemplateAlias: defaultAliases[u]})
	}
	raw, _ := json.Marshal(map[string]any{
		"serverToken": "", "fromEmail": "no-reply@example.com", "messageStream": DefaultMessageStream, "templates": ts,
	})
	return raw
}

func init() { connector.Register(Factory()) }

// Build validates the config and builds a Postmark connector.
func (cfg *Config) Build(_ context.Context, env connector.Env) (connector.Connector, error) {
	s, err := cfg.resolve(env)
	if err != nil {
		return nil, err
	}
	return &Connector{s: s, http: env.HTTPClient, log: env.Logger}, nil
}

// Sender is the configured sender.
func (c *Connector) Sender() connector.Sender { return connector.Sender{From: c.s.from} }

// Interface guards.
var (
	_ connector.Config         = (*Config)(nil)
	_ connector.Connector      = (*Connector)(nil)
	_ connector.SenderIdentity = (*Connector)(nil)
	_ connector.Checker        = (*Connector)(nil)
)
