package postmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/authmail/authmail/connector"
)

// API paths.
const (
	pathEmail        = "/email"
	pathWithTemplate = "/email/withTemplate"
)

// MetadataMessageID is the Metadata key that carries authmail's message
// ID; Postmark returns metadata in its webhooks and message details.
const MetadataMessageID = "authmail_message_id"

// codeBadToken is Postmark's ErrorCode for a bad or missing server token.
// Every other ErrorCode on a 422 (300 invalid email request, 406 inactive
// recipient, 400/401 sender signature problems...) is a rejection.
const codeBadToken = 10

// reservedHeaders are headers the connector sets itself.
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "reply-to": true,
	"content-type": true, "mime-version": true, "x-pm-message-stream": true,
}

// header is one custom header in Postmark's Headers array.
type header struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// common are the fields both send endpoints take.
type common struct {
	From          string            `json:"From"`
	To            string            `json:"To"`
	ReplyTo       string            `json:"ReplyTo,omitempty"`
	Tag           string            `json:"Tag,omitempty"`
	Headers       []header          `json:"Headers,omitempty"`
	Metadata      map[string]string `json:"Metadata,omitempty"`
	MessageStream string            `json:"MessageStream,omitempty"`
}

// emailRequest is the body of POST /email.
type emailRequest struct {
	common
	Subject  string `json:"Subject"`
	HtmlBody string `json:"HtmlBody,omitempty"`
	TextBody string `json:"TextBody,omitempty"`
}

// templateRequest is the body of POST /email/withTemplate.
type templateRequest struct {
	common
	TemplateAlias string         `json:"TemplateAlias"`
	TemplateModel map[string]any `json:"TemplateModel"`
}

// response is Postmark's answer, on success and on error.
type response struct {
	To          string `json:"To"`
	SubmittedAt string `json:"SubmittedAt"`
	MessageID   string `json:"MessageID"`
	ErrorCode   int    `json:"ErrorCode"`
	Message     string `json:"Message"`
}

// Connector sends email through Postmark's Email API.
type Connector struct {
	s    *settings
	http *http.Client
	log  *slog.Logger
}

// Send hands msg to Postmark: through the usage type's template alias
// with the payload as the template model when the config names one, else
// with the rendered subject, HTML and text.
func (c *Connector) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	base := c.common(msg)
	var path string
	var body any
	if alias, ok := c.s.alias(msg.Type); ok {
		path, body = pathWithTemplate, templateRequest{common: base, TemplateAlias: alias, TemplateModel: model(msg.Payload)}
	} else {
		path, body = pathEmail, emailRequest{common: base, Subject: connector.StripControl(msg.Subject), HtmlBody: msg.HTML, TextBody: msg.Text}
	}
	res, err := c.post(ctx, path, body)
	if err != nil {
		return connector.Receipt{}, err
	}
	c.log.Debug("postmark accepted message", "messageId", msg.ID, "providerMessageId", res.MessageID)
	return connector.Receipt{ProviderMessageID: res.MessageID}, nil
}

// common fills the fields both endpoints share.
func (c *Connector) common(msg connector.Message) common {
	from := connector.ResolveFrom(msg.From, c.s.from)
	out := common{From: from.String(), To: msg.To, MessageStream: c.s.stream}
	rt := msg.ReplyTo
	if rt.Email == "" {
		rt = c.s.replyTo
	}
	out.ReplyTo = rt.String()
	if msg.Type.Valid() {
		out.Tag = string(msg.Type)
	}
	if msg.ID != "" {
		out.Metadata = map[string]string{MetadataMessageID: msg.ID}
	}
	for k, v := range msg.Headers {
		if k = strings.TrimSpace(connector.StripControl(k)); k != "" && !reservedHeaders[strings.ToLower(k)] {
			out.Headers = append(out.Headers, header{Name: k, Value: connector.StripControl(v)})
		}
	}
	return out
}

// model is the payload as a template model, never null.
func model(payload map[string]any) map[string]any {
	out := make(map[string]any, len(payload))
	for k, v := range payload {
		out[k] = v
	}
	return out
}

// post sends body to path and decodes Postmark's answer.
func (c *Connector) post(ctx context.Context, path string, body any) (*response, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, &connector.Error{Kind: connector.ErrRejected, Message: "encoding the request", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.baseURL+path, bytes.NewReader(buf))
	if err != nil {
		return nil, connector.InvalidConfig("endpoint", "cannot build a request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Postmark-Server-Token", c.s.token)
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.Debug("postmark request failed", "err", err)
		return nil, connector.NetworkError(fmt.Errorf("calling postmark: %w", err))
	}
	defer resp.Body.Close()
	raw := connector.ReadBody(resp.Body)
	var res response
	parseErr := json.Unmarshal(raw, &res)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.statusError(resp.StatusCode, resp.Header, raw, res, parseErr == nil)
	}
	if parseErr != nil {
		return nil, &connector.Error{Kind: connector.ErrTemporary, Status: resp.StatusCode, Message: "unreadable answer: " + connector.Snippet(string(raw), c.s.token), Err: parseErr}
	}
	if res.ErrorCode != 0 {
		return nil, c.statusError(http.StatusUnprocessableEntity, resp.Header, raw, res, true)
	}
	return &res, nil
}

// statusError classifies an error answer. Postmark answers 422 for most
// errors and tells them apart by ErrorCode: 10 is a bad server token.
func (c *Connector) statusError(status int, h http.Header, raw []byte, res response, parsed bool) error {
	code := ""
	if parsed && res.ErrorCode != 0 {
		code = strconv.Itoa(res.ErrorCode)
	}
	err := connector.HTTPStatusError(status, h, raw, code, res.Message, c.s.token)
	var ce *connector.Error
	if parsed && res.ErrorCode == codeBadToken && errors.As(err, &ce) {
		ce.Kind = connector.ErrAuth
	}
	c.log.Debug("postmark refused message", "status", status, "err", err)
	return err
}
