// Package resend is an example of a custom authmail email connector, in a
// module of its own: it sends through Resend's email API (POST /emails),
// which authmail does not ship. Importing it registers the "resend"
// factory; cmd/authmail-custom is the authmail build that includes it.
package resend

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
)

// ID is the factory ID.
const ID = "resend"

// DefaultEndpoint is Resend's API base URL.
const DefaultEndpoint = "https://api.resend.com"

// sendTimeout bounds one call to Resend.
const sendTimeout = 10 * time.Second

//go:embed README.md
var readme string

// logo is a plain mark for the console.
const logo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48"><rect width="48" height="48" rx="8" fill="#000"/><path d="M16 12h10a8 8 0 0 1 1.5 15.86L34 36h-6l-6-8h-1v8h-5zm5 5v6h5a3 3 0 0 0 0-6z" fill="#fff"/></svg>`

// schema is the JSON Schema of Config.
const schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Resend",
  "type": "object",
  "required": ["apiKey", "fromEmail"],
  "additionalProperties": false,
  "properties": {
    "apiKey": {"type": "string", "minLength": 1, "description": "API key with sending access (re_...)."},
    "fromEmail": {"type": "string", "minLength": 3, "description": "Sender on a domain verified in Resend: addr or Name <addr>."},
    "fromName": {"type": "string"},
    "replyTo": {"type": "string"},
    "endpoint": {"type": "string"}
  }
}`

// Config is the connector's config.
type Config struct {
	// APIKey is a Resend API key with sending access. Required.
	APIKey connector.Secret `json:"apiKey"`
	// FromEmail is the sender, on a domain verified in Resend. Required.
	FromEmail string `json:"fromEmail"`
	// FromName replaces the sender's display name. Optional.
	FromName string `json:"fromName,omitempty"`
	// ReplyTo is the default Reply-To address. Optional.
	ReplyTo string `json:"replyTo,omitempty"`
	// Endpoint replaces the API base URL (a proxy, a test server).
	Endpoint string `json:"endpoint,omitempty"`
}

// Factory describes the connector.
func Factory() connector.Factory {
	return connector.Factory{
		ID:           ID,
		Name:         "Resend",
		Description:  "Send verification emails through Resend's email API.",
		Logo:         logo,
		ConfigSchema: json.RawMessage(schema),
		SecretFields: []string{"apiKey"},
		// The API key is presented to the endpoint: the host must not hand
		// a stored key to a config whose endpoint changed.
		DestinationFields: []string{"endpoint"},
		DNS:               dnsHints(),
		Form: []connector.FormItem{
			{Key: "apiKey", Label: "API key", Type: "Text", Required: true, IsSecret: true, Placeholder: "re_..."},
			{Key: "fromEmail", Label: "From email", Type: "Text", Required: true, Placeholder: "no-reply@auth.example.com"},
			{Key: "fromName", Label: "From name", Type: "Text", Placeholder: "Example"},
			{Key: "replyTo", Label: "Reply-To", Type: "Text", Placeholder: "support@example.com"},
			{Key: "endpoint", Label: "API endpoint", Type: "Text", Placeholder: DefaultEndpoint},
		},
		ReadMe:    readme,
		NewConfig: func() connector.Config { return &Config{} },
	}
}

// dnsHints are the records Resend asks for when a domain is added: it
// sends through Amazon SES with the MAIL FROM domain send.{domain}.
func dnsHints() *connector.DNSHints {
	const d = connector.DomainPlaceholder
	return &connector.DNSHints{
		SPFInclude:      "amazonses.com",
		SPFOnFromDomain: false,
		SPFNote:         "Resend bounces to send." + d + ", whose SPF record includes amazonses.com; the sending domain's own SPF record needs nothing for Resend.",
		DKIMSelectors:   []string{"resend"},
		ReturnPath:      "send." + d + " (Resend's MAIL FROM subdomain), so SPF aligns with " + d + ".",
		EnvelopeDomain:  "send." + d,
		Records: []connector.DNSRecord{
			{Purpose: "DKIM", Type: "TXT", Name: "resend._domainkey." + d, Value: "p=<public key>", Note: "the key Resend shows for the domain"},
			{Purpose: "MAIL FROM", Type: "MX", Name: "send." + d, Value: "10 feedback-smtp.<region>.amazonses.com"},
			{Purpose: "MAIL FROM", Type: "TXT", Name: "send." + d, Value: "v=spf1 include:amazonses.com ~all"},
		},
	}
}

func init() { connector.Register(Factory()) }

// Build validates the config, which the host has checked against the
// schema and decoded, and builds the connector.
func (cfg *Config) Build(_ context.Context, env connector.Env) (connector.Connector, error) {
	c := &Connector{key: strings.TrimSpace(cfg.APIKey.Reveal()), http: env.HTTPClient, log: env.Logger}
	if c.key == "" {
		return nil, connector.InvalidConfig("apiKey", "is required: an API key from Resend's dashboard")
	}
	var err error
	if c.from, err = connector.ConfigSender("fromEmail", cfg.FromEmail, cfg.FromName, "an address on a domain verified in Resend"); err != nil {
		return nil, err
	}
	if c.replyTo, err = connector.ConfigAddress("replyTo", cfg.ReplyTo); err != nil {
		return nil, err
	}
	endpoint := DefaultEndpoint
	if cfg.Endpoint != "" {
		endpoint = cfg.Endpoint
	}
	u, err := connector.CheckEndpoint("endpoint", endpoint, env.AllowInsecureEndpoint)
	if err != nil {
		return nil, err
	}
	c.url = strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/") + "/emails"
	return c, nil
}

// Connector sends email through Resend.
type Connector struct {
	key, url      string
	from, replyTo connector.Address
	http          *http.Client
	log           *slog.Logger
}

// The config builds the connector; the connector tells the host its
// configured sender, for the defaults of a deliverability check.
var (
	_ connector.Config         = (*Config)(nil)
	_ connector.Connector      = (*Connector)(nil)
	_ connector.SenderIdentity = (*Connector)(nil)
)

// Sender is the configured sender.
func (c *Connector) Sender() connector.Sender { return connector.Sender{From: c.from} }

// email is the body of POST /emails.
type email struct {
	From    string            `json:"from"`
	To      []string          `json:"to"`
	Subject string            `json:"subject"`
	HTML    string            `json:"html,omitempty"`
	Text    string            `json:"text,omitempty"`
	ReplyTo string            `json:"reply_to,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Tags    []tag             `json:"tags,omitempty"`
}

// tag is one of Resend's key/value tags on a sent email.
type tag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// answer is Resend's reply: the email's id, or an error.
type answer struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

// reserved are the headers Resend sets from the body's own fields.
var reserved = map[string]bool{"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "reply-to": true}

// Send hands msg to Resend. The message ID is the Idempotency-Key, so a
// retried send is not delivered twice; the usage type is a tag.
func (c *Connector) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	body := email{From: connector.ResolveFrom(msg.From, c.from).String(), To: []string{msg.To},
		Subject: connector.StripControl(msg.Subject), HTML: msg.HTML, Text: msg.Text}
	replyTo := msg.ReplyTo
	if replyTo.Email == "" {
		replyTo = c.replyTo
	}
	body.ReplyTo = replyTo.String()
	for k, v := range msg.Headers {
		if k = strings.TrimSpace(connector.StripControl(k)); k != "" && !reserved[strings.ToLower(k)] {
			if body.Headers == nil {
				body.Headers = map[string]string{}
			}
			body.Headers[k] = connector.StripControl(v)
		}
	}
	if msg.Type.Valid() {
		body.Tags = []tag{{Name: "usage_type", Value: string(msg.Type)}}
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return connector.Receipt{}, &connector.Error{Kind: connector.ErrRejected, Message: "encoding the request", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(buf))
	if err != nil {
		return connector.Receipt{}, connector.InvalidConfig("endpoint", "cannot build a request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	if msg.ID != "" {
		req.Header.Set("Idempotency-Key", msg.ID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return connector.Receipt{}, connector.NetworkError(fmt.Errorf("calling resend: %w", err))
	}
	defer resp.Body.Close()
	raw := connector.ReadBody(resp.Body)
	var a answer
	parseErr := json.Unmarshal(raw, &a)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := connector.HTTPStatusError(resp.StatusCode, resp.Header, raw, a.Name, a.Message, c.key)
		// A 403 validation_error is a sender or recipient Resend will not
		// accept (an unverified domain, a test key's outside recipient):
		// the key itself is fine.
		var ce *connector.Error
		if resp.StatusCode == http.StatusForbidden && a.Name == "validation_error" && errors.As(err, &ce) {
			ce.Kind = connector.ErrRejected
		}
		c.log.Debug("resend refused the message", "status", resp.StatusCode, "err", err)
		return connector.Receipt{}, err
	}
	if parseErr != nil || a.ID == "" {
		return connector.Receipt{}, &connector.Error{Kind: connector.ErrTemporary, Status: resp.StatusCode,
			Message: "unreadable answer: " + connector.Snippet(string(raw), c.key), Err: parseErr}
	}
	c.log.Debug("resend accepted the message", "messageId", msg.ID, "providerMessageId", a.ID)
	return connector.Receipt{ProviderMessageID: a.ID}, nil
}
