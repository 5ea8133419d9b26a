// Package aliyundm is the Alibaba Cloud DirectMail connector. It calls the
// documented SingleSendMail RPC itself (a form POST signed with the RPC
// signature), so the binary carries no Alibaba Cloud SDK.
package aliyundm

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
)

// ID is the factory ID; AliasLogto is Logto's factory ID for the same kind.
const (
	ID         = "aliyun-dm"
	AliasLogto = "aliyun-direct-mail"
)

// MessageIDHeader carries authmail's message ID. DirectMail accepts custom
// headers only with the X-User- prefix.
const MessageIDHeader = "X-User-Authmail-Message-Id"

// maxHeaders is DirectMail's limit on headers passed in one API call.
const maxHeaders = 10

// Header limits: a value DirectMail takes in its Headers parameter, and a
// name within a mail line.
const (
	maxHeaderValue = 900
	maxHeaderName  = 998
)

// apiVersion is DirectMail's API version, the same in every region.
const apiVersion = "2015-11-23"

//go:embed README.md
var readme string

//go:embed schema.json
var schema []byte

//go:embed logo.svg
var logo string

func init() { connector.Register(Factory()) }

// Factory describes the DirectMail connector.
func Factory() connector.Factory {
	return connector.Factory{
		ID:                ID,
		Aliases:           []string{AliasLogto},
		Name:              "Alibaba Cloud DirectMail",
		Description:       "Send email through Alibaba Cloud DirectMail (Aliyun 邮件推送) in any of its five regions, or through a private endpoint.",
		Logo:              logo,
		ConfigSchema:      schema,
		SecretFields:      []string{"accessKeySecret"},
		DestinationFields: []string{"regionId", "endpoint"},
		DNS:               dnsHints(),
		Form:              form(),
		DefaultConfig:     json.RawMessage(`{"accessKeyId":"","accessKeySecret":"","regionId":"cn-hangzhou","accountName":"","fromAlias":""}`),
		ReadMe:            readme,
		NewConfig:         func() connector.Config { return &Config{} },
	}
}

func form() []connector.FormItem {
	regions := make([]string, 0, len(endpoints))
	for r := range endpoints {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	return []connector.FormItem{
		{Key: "accessKeyId", Label: "AccessKey ID", Type: "Text", Required: true},
		{Key: "accessKeySecret", Label: "AccessKey secret", Type: "Text", Required: true, IsSecret: true},
		{Key: "regionId", Label: "Region", Type: "Select", SelectItems: regions, DefaultValue: DefaultRegion, Description: "The region where the sender address was created."},
		{Key: "accountName", Label: "Sender address", Type: "Text", Required: true, Placeholder: "no-reply@mail.example.com"},
		{Key: "fromAlias", Label: "Sender name", Type: "Text", Placeholder: "Example", Description: "Up to 15 characters."},
		{Key: "replyTo", Label: "Reply-To", Type: "Text", Placeholder: "support@example.com"},
		{Key: "consoleReplyTo", Label: "Use the console's reply-to address", Type: "Switch"},
		{Key: "tagName", Label: "Email tag", Type: "Text", Description: "A tag created in the DirectMail console."},
		{Key: "endpoint", Label: "Endpoint", Type: "Text", Placeholder: "https://dm.aliyuncs.com/", Description: "Replaces the region's API endpoint (private endpoint, proxy)."},
		{Key: "timeout", Label: "Timeout (ms)", Type: "Number", DefaultValue: 10000},
		{Key: "templates", Label: "Templates", Type: "Json", Description: "Logto-style fallback templates: [{usageType, subject, content}]."},
	}
}

// Connector sends email through DirectMail. It is safe for concurrent use.
type Connector struct {
	s    *settings
	http *http.Client
	now  func() time.Time
	log  *slog.Logger
}

// Build validates the config and builds a connector.
func (c *Config) Build(_ context.Context, env connector.Env) (connector.Connector, error) {
	s, err := c.settings(env.AllowInsecureEndpoint)
	if err != nil {
		return nil, err
	}
	return &Connector{s: s, http: env.HTTPClient, now: env.Now, log: env.Logger}, nil
}

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

// sendResult is SingleSendMail's success body.
type sendResult struct {
	EnvID     string `json:"EnvId"`
	RequestID string `json:"RequestId"`
}

// Send hands msg to DirectMail's SingleSendMail.
func (c *Connector) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	resp, data, err := c.call(ctx, c.params(msg))
	if err != nil {
		c.log.DebugContext(ctx, "directmail send failed", "message_id", msg.ID, "err", err)
		return connector.Receipt{}, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := responseError(resp, data, c.s.cfg.AccessKeySecret.Reveal())
		c.log.DebugContext(ctx, "directmail send failed", "message_id", msg.ID, "err", err)
		return connector.Receipt{}, err
	}
	var res sendResult
	if json.Unmarshal(data, &res) != nil || (res.EnvID == "" && res.RequestID == "") {
		return connector.Receipt{}, &connector.Error{Kind: connector.ErrTemporary, Status: resp.StatusCode,
			Message: "unexpected answer: " + connector.Snippet(string(data), c.s.cfg.AccessKeySecret.Reveal())}
	}
	c.log.DebugContext(ctx, "directmail accepted message", "message_id", msg.ID, "env_id", res.EnvID, "request_id", res.RequestID)
	id := res.EnvID
	if id == "" {
		id = res.RequestID
	}
	return connector.Receipt{ProviderMessageID: id}, nil
}

// call signs params and posts them to the endpoint, returning the
// response (its body already read and closed) or a classified error.
func (c *Connector) call(ctx context.Context, params map[string]string) (*http.Response, []byte, error) {
	body := signedBody(c.s.cfg.AccessKeySecret.Reveal(), params)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.endpoint, strings.NewReader(body))
	if err != nil {
		return nil, nil, connector.InvalidConfig("endpoint", "cannot build a request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, connector.NetworkError(err)
	}
	defer resp.Body.Close()
	return resp, connector.ReadBody(resp.Body), nil
}

// rpcParams returns the common parameters of an RPC call of action,
// unsigned: a fresh nonce and the current time each time.
func (c *Connector) rpcParams(action string) map[string]string {
	return map[string]string{
		"Action":           action,
		"Format":           "JSON",
		"Version":          apiVersion,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureVersion": "1.0",
		"SignatureNonce":   rand.Text(),
		"Timestamp":        c.now().UTC().Format("2006-01-02T15:04:05Z"),
		"AccessKeyId":      c.s.cfg.AccessKeyID,
		"RegionId":         c.s.cfg.RegionID,
	}
}

// params returns the SingleSendMail parameters for msg, unsigned.
func (c *Connector) params(msg connector.Message) map[string]string {
	cfg := c.s.cfg
	from := connector.ResolveFrom(msg.From, c.s.from)
	p := c.rpcParams("SingleSendMail")
	for k, v := range map[string]string{
		"AccountName":    from.Email,
		"AddressType":    "1",
		"ReplyToAddress": "false",
		"ToAddress":      msg.To,
		"Subject":        connector.StripControl(msg.Subject),
		"TextBody":       msg.Text,
	} {
		p[k] = v
	}
	if from.Name != "" {
		p["FromAlias"] = connector.StripControl(from.Name)
	}
	if msg.HTML != "" {
		p["HtmlBody"] = msg.HTML
	}
	reply := c.s.replyTo
	if msg.ReplyTo.Email != "" {
		reply = msg.ReplyTo
	}
	switch {
	case reply.Email != "":
		p["ReplyAddress"] = reply.Email
		if reply.Name != "" {
			p["ReplyAddressAlias"] = connector.StripControl(reply.Name)
		}
	case cfg.ConsoleReplyTo:
		p["ReplyToAddress"] = "true"
	}
	if cfg.TagName != "" {
		p["TagName"] = cfg.TagName
	}
	if h := headers(msg); h != "" {
		p["Headers"] = h
	}
	return p
}

// headers returns the Headers parameter: the message ID header and msg's
// extra X-User- headers, at most ten, values in printable ASCII.
func headers(msg connector.Message) string {
	h := map[string]string{}
	if v := connector.HeaderValue(msg.ID, maxHeaderValue); v != "" {
		h[MessageIDHeader] = v
	}
	names := make([]string, 0, len(msg.Headers))
	for k := range msg.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := connector.HeaderValue(msg.Headers[k], maxHeaderValue)
		if len(h) >= maxHeaders || v == "" || !strings.HasPrefix(strings.ToLower(k), "x-user-") || !connector.HeaderName(k, maxHeaderName) {
			continue
		}
		if _, dup := h[k]; !dup {
			h[k] = v
		}
	}
	if len(h) == 0 {
		return ""
	}
	out, _ := json.Marshal(h)
	return string(out)
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
