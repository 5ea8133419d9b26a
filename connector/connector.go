// Package connector is authmail's email connector SDK.
//
// A connector hands one rendered email to a provider. A connector package
// describes itself with a [Factory] and registers it from init() with
// [Register]; the authmail binary blank-imports every built-in connector
// (see authmail/connectors/standard), and a custom build adds one more import.
//
// # Lifecycle
//
// The host resolves a factory by ID (or a Logto alias), checks the raw config
// JSON against the factory's JSON Schema, decodes it strictly into a new
// value of the connector's config type (Factory.NewConfig; a field the type
// does not declare is an error) and calls its Build, which validates what
// the schema cannot and builds a [Connector]. Build is the one place this
// happens ([Build]); a connector never decodes its raw config itself. Send
// is called for every message, possibly concurrently. When the connector
// is replaced, the host calls Close if the connector implements io.Closer.
//
// # Describing itself
//
// What is the same for every config of a kind is a field of the [Factory]:
// SecretFields, DestinationFields, DNS. What depends on the config is an
// optional interface of the built connector ([TemplateSource],
// [SenderIdentity], [Checker], io.Closer), each listed in an
// interface-guard block in the connector's package:
//
//	var (
//		_ connector.Connector      = (*Connector)(nil)
//		_ connector.SenderIdentity = (*Connector)(nil)
//	)
//
// # Errors
//
// Send classifies every failure with the sentinels in this package
// ([ErrInvalidConfig], [ErrAuth], [ErrRejected], [ErrRateLimited],
// [ErrTemporary]) so the delivery queue knows whether to retry. Only
// [ErrTemporary] and [ErrRateLimited] are retried. A [Checker]'s Check
// classifies its failures the same way.
package connector

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Connector sends email through one provider with one validated config.
type Connector interface {
	// Send delivers msg or returns a classified error. It must honour ctx
	// cancellation and deadlines, and must be safe for concurrent use.
	Send(ctx context.Context, msg Message) (Receipt, error)
}

// TemplateSource is implemented by connectors whose config carries its own
// templates (Logto's `templates` array, Mailgun's `deliveries` map). The host
// falls back to these when no stored template matches.
type TemplateSource interface {
	// Templates returns the config's templates in config order.
	Templates() []Template
}

// Message is one email ready to hand to a provider.
type Message struct {
	// ID is the stable message ID, generated once before the first attempt
	// and reused on every retry. Connectors put it in the provider's
	// idempotency or metadata field and SMTP uses it in the Message-ID header.
	ID string
	// To is the recipient address.
	To string
	// From overrides the connector's configured sender. An empty Email keeps
	// the configured address; an empty Name keeps the configured name.
	From Address
	// ReplyTo, when its Email is set, overrides the configured reply-to.
	ReplyTo Address
	// Type is the usage type the message was rendered for.
	Type UsageType
	// Locale is the language tag the template was resolved for.
	Locale string
	// Subject is the rendered subject, free of control characters.
	Subject string
	// HTML is the rendered HTML body; empty for a plain-text template.
	HTML string
	// Text is the plain-text body; always set.
	Text string
	// Payload is the data the template was rendered with (code, link,
	// locale, uiLocales, application, organization, user, inviter...).
	// Connectors that render on the provider's side send this instead of
	// the bodies.
	Payload map[string]any
	// IP is the end user's IP address when known.
	IP string
	// Headers are extra headers to add where the provider allows it.
	Headers map[string]string
}

// Receipt is what a provider says about an accepted message.
type Receipt struct {
	// ProviderMessageID is the provider's ID for the message, when it gives one.
	ProviderMessageID string
}

// Template is a connector config's own template for one usage type, in the
// shape of Logto's EmailTemplateDetails.
type Template struct {
	UsageType   UsageType `json:"usageType"`
	Subject     string    `json:"subject"`
	Content     string    `json:"content"`
	ContentType string    `json:"contentType,omitempty"`
	ReplyTo     string    `json:"replyTo,omitempty"`
	SendFrom    string    `json:"sendFrom,omitempty"`
}

// Env is what the host gives a connector when it builds one. Build fills
// in a discarding Logger, a default HTTPClient and Dialer and time.Now
// where the host left them nil.
type Env struct {
	// Logger is scoped to the connector; never nil.
	Logger *slog.Logger
	// HTTPClient is the client HTTP connectors (and the provider SDKs
	// they wrap) must use for every request; never nil. It has no overall
	// timeout: connectors bound each request with their own. authmail's
	// client applies its outbound policy: a connection to an address the
	// operator has not allowed fails with an error that matches
	// ErrInvalidConfig.
	HTTPClient *http.Client
	// Dialer opens the connections of connectors that speak a protocol
	// of their own (SMTP); never nil. authmail's applies the same
	// outbound policy as HTTPClient.
	Dialer Dialer
	// Inbox stores messages for the dev inbox connector.
	Inbox Inbox
	// Now returns the current time; never nil.
	Now func() time.Time
	// AllowInsecureEndpoint lets a connector use an http:// endpoint on any
	// host, not only loopback. Meant for tests of the host itself.
	AllowInsecureEndpoint bool
}

// Dialer opens network connections; *net.Dialer is one.
type Dialer interface {
	// DialContext connects to address on network, honouring ctx.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Inbox keeps messages in authmail's own database (the dev inbox).
type Inbox interface {
	// Store saves msg and returns its inbox ID.
	Store(ctx context.Context, msg Message) (string, error)
}

// Factory describes a connector kind and builds connectors of that kind.
type Factory struct {
	// ID is the stable lower-case ID, such as "smtp" or "sendgrid".
	ID string
	// Aliases are other IDs that resolve to this factory, such as Logto's
	// "simple-mail-transfer-protocol".
	Aliases []string
	// Name is the display name.
	Name string
	// Description is one sentence for the catalog.
	Description string
	// Logo is an SVG document or an https URL.
	Logo string
	// Group is where the console's catalog lists the connector: GroupBuiltIn
	// (what works with no account anywhere), GroupProvider (an email
	// provider's API; the default when empty) or GroupCustom (a protocol that
	// reaches a server of your choosing: SMTP, your own HTTP endpoint).
	Group string
	// ConfigSchema is the JSON Schema (draft 2020-12) of the config.
	ConfigSchema json.RawMessage
	// SecretFields are the dotted paths of config fields that hold secrets,
	// such as "apiKey" or "auth.pass". They are sealed at rest and redacted
	// in responses and logs.
	SecretFields []string
	// DestinationFields are the dotted paths of the config fields that say
	// where mail and credentials go: the server, endpoint, region or
	// sending domain the secrets are presented to, such as "host" or
	// "endpoint". The host may refuse to reuse a stored secret for a
	// config whose destination changed.
	DestinationFields []string
	// DNS is what the provider needs published in DNS, or nil when the
	// connector hands mail to nothing the sending domain must authorise
	// (the dev inbox, a webhook).
	DNS *DNSHints
	// Form gives the console hints for rendering the config form.
	Form []FormItem
	// DefaultConfig is a config the console pre-fills.
	DefaultConfig json.RawMessage
	// ReadMe is the setup guide, in Markdown.
	ReadMe string
	// RendersOnProvider is true when the provider (or receiver) renders the
	// message from Message.Payload instead of the rendered bodies.
	RendersOnProvider bool
	// NewConfig returns a new, empty config of the connector's config type
	// (a pointer to its struct). Build decodes a raw config into it with
	// DecodeConfig, after the schema check, and calls its Build.
	NewConfig func() Config
}

// The catalog groups of Factory.Group.
const (
	GroupBuiltIn  = "builtin"
	GroupProvider = "provider"
	GroupCustom   = "custom"
)

// CatalogGroup is f's catalog group: f.Group, or GroupProvider when it is
// empty.
func (f Factory) CatalogGroup() string {
	if f.Group == "" {
		return GroupProvider
	}
	return f.Group
}

// FormItem is a console hint for one config field.
type FormItem struct {
	Key          string   `json:"key"`
	Label        string   `json:"label"`
	Type         string   `json:"type"` // Text, Number, MultilineText, Switch, Select, Json
	Required     bool     `json:"required,omitempty"`
	Placeholder  string   `json:"placeholder,omitempty"`
	Description  string   `json:"description,omitempty"`
	IsSecret     bool     `json:"isConfidential,omitempty"`
	SelectItems  []string `json:"selectItems,omitempty"`
	DefaultValue any      `json:"defaultValue,omitempty"`
}
