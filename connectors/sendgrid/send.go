package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	sendgridapi "github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/authmail/authmail/connector"
)

// sendPath is the Mail Send v3 endpoint.
const sendPath = "/v3/mail/send"

// MessageIDArg is the custom argument that carries authmail's message ID.
// SendGrid echoes custom arguments in its event webhook, so a retried
// delivery can be recognised.
const MessageIDArg = "authmail_message_id"

// reservedHeaders are headers SendGrid refuses in the headers object.
var reservedHeaders = map[string]bool{
	"x-sg-id": true, "x-sg-eid": true, "received": true, "dkim-signature": true,
	"content-type": true, "content-transfer-encoding": true, "to": true, "from": true,
	"subject": true, "reply-to": true, "cc": true, "bcc": true, "message-id": true,
}

// Connector sends email through SendGrid's Mail Send API.
type Connector struct {
	s      *settings
	client *rest.Client
	log    *slog.Logger
}

// Templates returns the config's templates that carry content, for the
// host to render when it has no stored template for a usage type.
func (c *Connector) Templates() []connector.Template {
	var out []connector.Template
	for _, t := range c.s.templates {
		u := connector.UsageType(t.UsageType)
		if !u.Valid() || t.Content == "" {
			continue
		}
		ct := t.Type
		if ct == "" {
			ct = "text/html"
		}
		out = append(out, connector.Template{UsageType: u, Subject: t.Subject, Content: t.Content, ContentType: ct})
	}
	return out
}

// Send hands msg to SendGrid. A usage type whose template names a dynamic
// template is rendered by SendGrid with the payload; any other is sent
// with the rendered subject, text and HTML.
func (c *Connector) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	req := sendgridapi.GetRequest(c.s.apiKey, sendPath, c.s.host)
	req.Method = rest.Post
	req.Body = mail.GetRequestBody(c.buildMail(msg))
	resp, err := c.client.SendWithContext(ctx, req)
	if err != nil {
		c.log.Debug("sendgrid request failed", "messageId", msg.ID, "err", err)
		return connector.Receipt{}, connector.NetworkError(fmt.Errorf("calling sendgrid: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return connector.Receipt{}, c.statusError(resp)
	}
	id := http.Header(resp.Headers).Get("X-Message-Id")
	c.log.Debug("sendgrid accepted message", "messageId", msg.ID, "providerMessageId", id)
	return connector.Receipt{ProviderMessageID: id}, nil
}

// buildMail builds the v3 mail object for msg.
func (c *Connector) buildMail(msg connector.Message) *mail.SGMailV3 {
	from := connector.ResolveFrom(msg.From, c.s.from)
	m := mail.NewV3Mail()
	m.SetFrom(mail.NewEmail(connector.StripControl(from.Name), from.Email))
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail("", msg.To))
	if rt := c.replyTo(msg); rt.Email != "" {
		m.SetReplyTo(mail.NewEmail(connector.StripControl(rt.Name), rt.Email))
	}
	if t, ok := c.s.template(msg.Type); ok && t.TemplateID != "" {
		m.SetTemplateID(t.TemplateID)
		p.DynamicTemplateData = templateData(msg.Payload)
	} else {
		m.Subject = connector.StripControl(msg.Subject)
		if msg.Text != "" {
			m.AddContent(mail.NewContent("text/plain", msg.Text))
		}
		if msg.HTML != "" {
			m.AddContent(mail.NewContent("text/html", msg.HTML))
		}
	}
	m.AddPersonalizations(p)
	if msg.ID != "" {
		m.SetCustomArg(MessageIDArg, msg.ID)
	}
	if len(c.s.categories) > 0 {
		m.AddCategories(c.s.categories...)
	}
	for k, v := range msg.Headers {
		if k = strings.TrimSpace(connector.StripControl(k)); k != "" && !reservedHeaders[strings.ToLower(k)] {
			m.SetHeader(k, connector.StripControl(v))
		}
	}
	return m
}

// replyTo is the message's reply-to, else the configured one.
func (c *Connector) replyTo(msg connector.Message) connector.Address {
	if msg.ReplyTo.Email != "" {
		return msg.ReplyTo
	}
	return c.s.replyTo
}

// templateData is the payload as dynamic template data, never nil.
func templateData(payload map[string]any) map[string]any {
	out := make(map[string]any, len(payload))
	for k, v := range payload {
		out[k] = v
	}
	return out
}

// errorBody is SendGrid's documented error response.
type errorBody struct {
	Errors []struct {
		Message string          `json:"message"`
		Field   *string         `json:"field"`
		Help    json.RawMessage `json:"help"`
	} `json:"errors"`
	ID string `json:"id"`
}

// statusError classifies a non-2xx answer, with SendGrid's messages.
func (c *Connector) statusError(resp *rest.Response) error {
	header := http.Header(resp.Headers)
	var body errorBody
	var parts []string
	if json.Unmarshal([]byte(resp.Body), &body) == nil {
		for _, e := range body.Errors {
			if e.Field != nil && *e.Field != "" {
				parts = append(parts, fmt.Sprintf("%s (field %s)", e.Message, *e.Field))
			} else {
				parts = append(parts, e.Message)
			}
		}
	}
	err := connector.HTTPStatusError(resp.StatusCode, header, []byte(resp.Body), "", strings.Join(parts, "; "), c.s.apiKey)
	var ce *connector.Error
	if errors.As(err, &ce) && ce.Kind == connector.ErrRateLimited && ce.RetryAfter == 0 {
		ce.RetryAfter = resetDelay(header.Get("X-RateLimit-Reset"), time.Now())
	}
	c.log.Debug("sendgrid refused message", "status", resp.StatusCode, "err", err)
	return err
}

// resetDelay reads SendGrid's X-RateLimit-Reset (a Unix time) as a delay.
func resetDelay(v string, now time.Time) time.Duration {
	sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0
	}
	if d := time.Unix(sec, 0).Sub(now); d > 0 {
		return d
	}
	return 0
}
