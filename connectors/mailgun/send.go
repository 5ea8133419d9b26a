package mailgun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	mailgunapi "github.com/mailgun/mailgun-go/v4"

	"github.com/authmail/authmail/connector"
)

// MessageIDVariable is the user variable (v:authmail-message-id) that
// carries authmail's message ID; Mailgun returns it in events and webhooks.
const MessageIDVariable = "authmail-message-id"

// reservedHeaders are headers the connector sets itself or that Mailgun
// controls; Message.Headers cannot override them.
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "reply-to": true,
	"message-id": true, "x-mailgun-variables": true, "content-type": true, "mime-version": true,
}

// Connector sends email through Mailgun's Messages API with mailgun-go.
type Connector struct {
	s   *settings
	mg  *mailgunapi.MailgunImpl
	log *slog.Logger
}

// Templates returns the raw deliveries as templates for the host to render
// when it has no stored template for a usage type.
func (c *Connector) Templates() []connector.Template {
	var out []connector.Template
	for _, u := range connector.UsageTypes() {
		d, ok := c.s.deliveries[u]
		if !ok || d.hosted() {
			continue
		}
		out = append(out, connector.Template{UsageType: u, Subject: d.Subject, Content: d.HTML, ContentType: "text/html", ReplyTo: d.ReplyTo})
	}
	return out
}

// Send hands msg to Mailgun: the rendered HTML and text, or, when the
// usage type's delivery names a hosted template, that template with the
// delivery's variables and the payload as its data.
func (c *Connector) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	m, err := c.buildMessage(msg)
	if err != nil {
		return connector.Receipt{}, err
	}
	var header http.Header
	ctx = context.WithValue(ctx, headerKey{}, &header)
	_, id, err := c.mg.Send(ctx, m)
	if err != nil {
		return connector.Receipt{}, c.classify(err, header)
	}
	id = strings.Trim(id, "<>")
	c.log.Debug("mailgun accepted message", "messageId", msg.ID, "providerMessageId", id)
	return connector.Receipt{ProviderMessageID: id}, nil
}

// buildMessage turns msg into a mailgun-go message.
func (c *Connector) buildMessage(msg connector.Message) (*mailgunapi.Message, error) {
	from := connector.ResolveFrom(msg.From, c.s.from).String()
	d, found := c.s.delivery(msg.Type)
	var m *mailgunapi.Message
	if found && d.hosted() {
		subject := msg.Subject
		if d.Subject != "" {
			subject = render(d.Subject, msg.Payload)
		}
		m = mailgunapi.NewMessage(from, connector.StripControl(subject), "", msg.To)
		pm, ok := m.Specific.(*mailgunapi.PlainMessage)
		if !ok {
			return nil, &connector.Error{Kind: connector.ErrRejected, Message: "mailgun-go returned an unexpected message type"}
		}
		pm.SetTemplate(d.Template)
		m.SetTemplateRenderText(true)
		for k, v := range templateVariables(d.Variables, msg.Payload) {
			if err := m.AddTemplateVariable(k, v); err != nil {
				return nil, &connector.Error{Kind: connector.ErrRejected, Message: "template variable " + k, Err: err}
			}
		}
	} else {
		m = mailgunapi.NewMessage(from, connector.StripControl(msg.Subject), msg.Text, msg.To)
		if msg.HTML != "" {
			m.SetHTML(msg.HTML)
		}
	}
	if rt := c.replyTo(msg, d, found); rt.Email != "" {
		m.SetReplyTo(rt.String())
	}
	if msg.ID != "" {
		if err := m.AddVariable(MessageIDVariable, msg.ID); err != nil {
			return nil, &connector.Error{Kind: connector.ErrRejected, Message: "message ID variable", Err: err}
		}
		if local := messageIDLocal(msg.ID); local != "" {
			m.AddHeader("Message-Id", "<"+local+"@"+c.s.domain+">")
		}
	}
	if msg.Type.Valid() {
		_ = m.AddTag(string(msg.Type))
	}
	for k, v := range msg.Headers {
		if k = strings.TrimSpace(connector.StripControl(k)); k != "" && !reservedHeaders[strings.ToLower(k)] {
			m.AddHeader(k, connector.StripControl(v))
		}
	}
	return m, nil
}

// replyTo is the message's reply-to, else the delivery's, else the config's.
func (c *Connector) replyTo(msg connector.Message, d Delivery, found bool) connector.Address {
	if msg.ReplyTo.Email != "" {
		return msg.ReplyTo
	}
	if found && d.ReplyTo != "" {
		if a, err := connector.ParseAddress(d.ReplyTo); err == nil {
			return a
		}
	}
	return c.s.replyTo
}

// templateVariables merges the payload over the delivery's variables, as
// Logto does ({...variables, ...payload}).
func templateVariables(vars, payload map[string]any) map[string]any {
	out := make(map[string]any, len(vars)+len(payload))
	for k, v := range vars {
		out[k] = v
	}
	for k, v := range payload {
		out[k] = v
	}
	return out
}

// messageIDLocal keeps the characters of id that are valid in the left
// part of a Message-Id.
func messageIDLocal(id string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r):
			return r
		}
		return -1
	}, id)
}

// placeholder is Logto's {{ name.path }} syntax.
var placeholder = regexp.MustCompile(`{{\s*([\w.]+)\s*}}`)

// render replaces placeholders in s the way Logto does: a placeholder
// whose root key is not in the payload stays as is, a missing nested value
// becomes empty. Used only for a hosted template's subject.
func render(s string, payload map[string]any) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		path := strings.Split(placeholder.FindStringSubmatch(m)[1], ".")
		v, ok := payload[path[0]]
		if !ok {
			return m
		}
		for _, p := range path[1:] {
			obj, isObj := v.(map[string]any)
			if !isObj {
				return ""
			}
			v = obj[p]
		}
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	})
}

// classify turns a mailgun-go error into a connector error.
func (c *Connector) classify(err error, header http.Header) error {
	var ue *mailgunapi.UnexpectedResponseError
	if errors.As(err, &ue) {
		var body struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(ue.Data, &body)
		e := connector.HTTPStatusError(ue.Actual, header, ue.Data, "", body.Message, c.s.apiKey)
		c.log.Debug("mailgun refused message", "status", ue.Actual, "err", e)
		return e
	}
	if errors.Is(err, mailgunapi.ErrInvalidMessage) {
		return &connector.Error{Kind: connector.ErrRejected, Message: "the message has no recipient or body", Err: err}
	}
	c.log.Debug("mailgun request failed", "err", err)
	return connector.NetworkError(fmt.Errorf("calling mailgun: %w", err))
}

// headerKey is the context key of the response-header holder.
type headerKey struct{}

// captureTransport records the response headers of a call into the holder
// in its context, because mailgun-go's errors do not carry them and
// Retry-After is needed.
type captureTransport struct{ base http.RoundTripper }

// RoundTrip performs the request and records the response headers.
func (t captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		if h, ok := r.Context().Value(headerKey{}).(*http.Header); ok {
			*h = resp.Header.Clone()
		}
	}
	return resp, err
}
