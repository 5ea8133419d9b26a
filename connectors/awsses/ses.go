// Package ses is the Amazon SES connector: it sends through the SES v2
// SendEmail API with the official AWS SDK for Go v2.
package awsses

import (
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/authmail/authmail/connector"
)

// ID is the factory ID; AliasLogto is Logto's factory ID for the same kind.
const (
	ID         = "aws-ses"
	AliasLogto = "aws-ses-mail"
)

// MessageIDTag is the SES message tag that carries authmail's message ID.
const MessageIDTag = "authmail-message-id"

// MessageIDHeader is the header that carries authmail's message ID.
const MessageIDHeader = "X-Authmail-Message-Id"

const charset = "UTF-8"

//go:embed README.md
var readme string

//go:embed schema.json
var schema []byte

//go:embed logo.svg
var logo string

func init() { connector.Register(Factory()) }

// Factory describes the SES connector.
func Factory() connector.Factory {
	return connector.Factory{
		ID:                ID,
		Aliases:           []string{AliasLogto},
		Name:              "Amazon SES",
		Description:       "Send email through Amazon Simple Email Service (SES v2 API), with IAM keys or, when asked for, the host's AWS credential chain.",
		Logo:              logo,
		ConfigSchema:      schema,
		SecretFields:      []string{"accessKeySecret", "sessionToken"},
		DestinationFields: []string{"region", "endpoint", "ambientCredentialsToEndpoint"},
		DNS:               dnsHints(),
		Form:              form(),
		DefaultConfig:     json.RawMessage(`{"region":"us-east-1","emailAddress":"","accessKeyId":"","accessKeySecret":""}`),
		ReadMe:            readme,
		NewConfig:         func() connector.Config { return &Config{} },
	}
}

func form() []connector.FormItem {
	return []connector.FormItem{
		{Key: "credentials", Label: "Credentials", Type: "Select", SelectItems: []string{CredentialsKeys, CredentialsAmbient}, DefaultValue: CredentialsKeys,
			Description: "keys: the access key below; ambient: the host's AWS credential chain (environment, instance or task role...)."},
		{Key: "accessKeyId", Label: "Access key ID", Type: "Text", Placeholder: "AKIA...", Description: "Required unless credentials is ambient."},
		{Key: "accessKeySecret", Label: "Secret access key", Type: "Text", IsSecret: true},
		{Key: "region", Label: "Region", Type: "Text", Required: true, Placeholder: "us-east-1", DefaultValue: "us-east-1"},
		{Key: "emailAddress", Label: "Sender address", Type: "Text", Required: true, Placeholder: "no-reply@example.com", Description: "A verified SES identity (the address or its domain)."},
		{Key: "senderName", Label: "Sender name", Type: "Text", Placeholder: "Example"},
		{Key: "replyTo", Label: "Reply-To", Type: "Text", Placeholder: "support@example.com"},
		{Key: "configurationSetName", Label: "Configuration set", Type: "Text"},
		{Key: "emailAddressIdentityArn", Label: "Sender identity ARN", Type: "Text", Description: "Only for sending authorization from another account."},
		{Key: "feedbackForwardingEmailAddress", Label: "Feedback forwarding address", Type: "Text"},
		{Key: "feedbackForwardingEmailAddressIdentityArn", Label: "Feedback forwarding identity ARN", Type: "Text"},
		{Key: "sessionToken", Label: "Session token", Type: "Text", IsSecret: true, Description: "Only for temporary (STS) credentials."},
		{Key: "endpoint", Label: "Endpoint", Type: "Text", Placeholder: "https://email.us-east-1.amazonaws.com", Description: "Replaces the SES API URL (VPC endpoint, proxy)."},
		{Key: "ambientCredentialsToEndpoint", Label: "Sign endpoint requests with the host's credentials", Type: "Switch", DefaultValue: false,
			Description: "Needed to use ambient credentials with an endpoint override."},
		{Key: "timeout", Label: "Timeout (ms)", Type: "Number", DefaultValue: 10000},
		{Key: "templates", Label: "Templates", Type: "Json", Description: "Logto-style fallback templates: [{usageType, subject, content}]."},
	}
}

// Connector sends email through SES. It is safe for concurrent use.
type Connector struct {
	s      *settings
	client *sesv2.Client
	log    *slog.Logger
}

// Build validates the config and builds a connector with one SES client.
func (c *Config) Build(ctx context.Context, env connector.Env) (connector.Connector, error) {
	s, err := c.settings(env.AllowInsecureEndpoint)
	if err != nil {
		return nil, err
	}
	client, err := newClient(ctx, s, env)
	if err != nil {
		return nil, err
	}
	return &Connector{s: s, client: client, log: env.Logger}, nil
}

// newClient builds the SES client once: the config's keys, or the default
// AWS chain when the config asks for ambient credentials; env's HTTP
// client for SES calls (the chain's own providers keep the SDK's client,
// which honours AWS_CA_BUNDLE and reaches the instance metadata service);
// no SDK retries, because authmail's delivery queue retries.
func newClient(ctx context.Context, s *settings, env connector.Env) (*sesv2.Client, error) {
	nop := func() aws.Retryer { return aws.NopRetryer{} }
	var cfg aws.Config
	if !s.ambient() {
		cfg = aws.Config{
			Region: s.cfg.Region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
				s.cfg.AccessKeyID, s.cfg.AccessKeySecret.Reveal(), s.cfg.SessionToken.Reveal())),
		}
	} else {
		var err error
		cfg, err = awsconfig.LoadDefaultConfig(ctx,
			awsconfig.WithRegion(s.cfg.Region),
			awsconfig.WithRetryer(nop))
		if err != nil {
			return nil, connector.InvalidConfig("credentials", "is %q, but the AWS default configuration cannot be loaded: %v", CredentialsAmbient, err)
		}
	}
	if cfg.Credentials != nil {
		cfg.Credentials = chainCredentials{cfg.Credentials}
	}
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if env.HTTPClient != nil {
			o.HTTPClient = env.HTTPClient
		}
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 1
		if s.endpoint != nil {
			o.BaseEndpoint = aws.String(strings.TrimSuffix(s.endpoint.String(), "/"))
		}
	}), nil
}

// chainCredentials marks a failure to obtain credentials, so Send can tell
// it from a transport error.
type chainCredentials struct{ aws.CredentialsProvider }

// Retrieve returns the credentials or a credentialsError.
func (c chainCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return creds, &credentialsError{err: err}
	}
	return creds, nil
}

type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return "no AWS credentials: " + e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// Templates returns the config's templates; their content is HTML.
func (c *Connector) Templates() []connector.Template {
	out := make([]connector.Template, len(c.s.cfg.Templates))
	for i, t := range c.s.cfg.Templates {
		if t.ContentType == "" {
			t.ContentType = "text/html"
		}
		out[i] = t
	}
	return out
}

// Send hands msg to SES.
func (c *Connector) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	start := time.Now()
	out, err := c.client.SendEmail(ctx, c.input(msg))
	if err != nil {
		err = classify(err, c.s.secrets())
		c.log.DebugContext(ctx, "ses send failed", "message_id", msg.ID, "err", err)
		return connector.Receipt{}, err
	}
	id := aws.ToString(out.MessageId)
	c.log.DebugContext(ctx, "ses accepted message", "message_id", msg.ID, "ses_message_id", id, "duration", time.Since(start))
	return connector.Receipt{ProviderMessageID: id}, nil
}

// input builds the SendEmail request for msg.
func (c *Connector) input(msg connector.Message) *sesv2.SendEmailInput {
	cfg := c.s.cfg
	from := connector.ResolveFrom(msg.From, c.s.from)
	body := &types.Body{Text: content(msg.Text)}
	if msg.HTML != "" {
		body.Html = content(msg.HTML)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from.String()),
		Destination:      &types.Destination{ToAddresses: []string{msg.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: content(connector.StripControl(msg.Subject)),
			Body:    body,
			Headers: headers(msg),
		}},
		EmailTags:                                 tags(msg),
		FromEmailAddressIdentityArn:               optional(cfg.EmailAddressIdentityArn),
		FeedbackForwardingEmailAddress:            optional(cfg.FeedbackForwardingEmailAddress),
		FeedbackForwardingEmailAddressIdentityArn: optional(cfg.FeedbackForwardingEmailAddressIdentityArn),
		ConfigurationSetName:                      optional(cfg.ConfigurationSetName),
	}
	replyTo := c.s.replyTo
	if msg.ReplyTo.Email != "" {
		replyTo = msg.ReplyTo
	}
	if replyTo.Email != "" {
		in.ReplyToAddresses = []string{replyTo.String()}
	}
	return in
}

func content(s string) *types.Content {
	return &types.Content{Data: aws.String(s), Charset: aws.String(charset)}
}

func optional(s string) *string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return aws.String(s)
}

// tags carries the message ID in SES's tag charset (letters, digits, _ and -).
func tags(msg connector.Message) []types.MessageTag {
	v := tagValue(msg.ID)
	if v == "" {
		return nil
	}
	return []types.MessageTag{{Name: aws.String(MessageIDTag), Value: aws.String(v)}}
}

func tagValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 256 {
			break
		}
	}
	return b.String()
}

// reservedHeaders are set by SES itself and never taken from msg.Headers.
// Header limits SES states for a custom header's name and value.
const (
	maxHeaderName  = 126
	maxHeaderValue = 995
)

var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "reply-to": true, "sender": true,
	"return-path": true, "date": true, "message-id": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-disposition": true, strings.ToLower(MessageIDHeader): true,
}

// headers returns the message ID header and msg's extra headers that SES
// accepts: names of printable ASCII without a colon, values of printable
// ASCII, the pair within 996 characters.
func headers(msg connector.Message) []types.MessageHeader {
	var out []types.MessageHeader
	if v := connector.HeaderValue(msg.ID, maxHeaderValue); v != "" {
		out = append(out, types.MessageHeader{Name: aws.String(MessageIDHeader), Value: aws.String(v)})
	}
	names := make([]string, 0, len(msg.Headers))
	for k := range msg.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := connector.HeaderValue(msg.Headers[k], maxHeaderValue)
		if !connector.HeaderName(k, maxHeaderName) || reservedHeaders[strings.ToLower(k)] || v == "" || len(k)+len(v) > 996 {
			continue
		}
		out = append(out, types.MessageHeader{Name: aws.String(k), Value: aws.String(v)})
	}
	return out
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
	_ error                    = (*credentialsError)(nil)
)
