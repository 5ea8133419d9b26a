package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
)

const testKey = "SG.test-key-0123456789abcdef"

// sgEmail, sgPersonalization and sgRequest are the documented Mail Send v3
// request body; the fake decodes with DisallowUnknownFields against them.
type sgEmail struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type sgPersonalization struct {
	To                  []sgEmail         `json:"to"`
	CC                  []sgEmail         `json:"cc"`
	BCC                 []sgEmail         `json:"bcc"`
	From                *sgEmail          `json:"from"`
	Subject             string            `json:"subject"`
	Headers             map[string]string `json:"headers"`
	Substitutions       map[string]string `json:"substitutions"`
	DynamicTemplateData map[string]any    `json:"dynamic_template_data"`
	CustomArgs          map[string]string `json:"custom_args"`
	Categories          []string          `json:"categories"`
	SendAt              int64             `json:"send_at"`
}

type sgContent struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type sgRequest struct {
	Personalizations []sgPersonalization `json:"personalizations"`
	From             *sgEmail            `json:"from"`
	ReplyTo          *sgEmail            `json:"reply_to"`
	ReplyToList      []sgEmail           `json:"reply_to_list"`
	Subject          string              `json:"subject"`
	Content          []sgContent         `json:"content"`
	Attachments      []json.RawMessage   `json:"attachments"`
	TemplateID       string              `json:"template_id"`
	Sections         map[string]string   `json:"sections"`
	Headers          map[string]string   `json:"headers"`
	Categories       []string            `json:"categories"`
	CustomArgs       map[string]string   `json:"custom_args"`
	SendAt           int64               `json:"send_at"`
	BatchID          string              `json:"batch_id"`
	Asm              json.RawMessage     `json:"asm"`
	IPPoolName       string              `json:"ip_pool_name"`
	MailSettings     json.RawMessage     `json:"mail_settings"`
	TrackingSettings json.RawMessage     `json:"tracking_settings"`
}

// backend is a fake SendGrid Mail Send API.
type backend struct {
	t      *testing.T
	srv    *httptest.Server
	prefix string
	extra  map[string]any
	mu     sync.Mutex
	connectortest.Recorder
	requests []sgRequest
	seq      int
	// scopes are what GET /v3/scopes lists for the test key;
	// scopesForbidden answers it 403 instead, as for a key SendGrid will
	// not show its scopes.
	scopes          []string
	scopesForbidden bool
}

func newBackend(t *testing.T) *backend {
	b := &backend{t: t, extra: map[string]any{}, scopes: []string{"mail.send", "2fa_required", "sender_verification_eligible"}}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) Config() json.RawMessage {
	cfg := map[string]any{
		"apiKey":    testKey,
		"fromEmail": "no-reply@example.com",
		"fromName":  "Example",
		"endpoint":  b.srv.URL + b.prefix,
	}
	for k, v := range b.extra {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	return raw
}

func (b *backend) Requests() []sgRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]sgRequest(nil), b.requests...)
}

func writeErrors(w http.ResponseWriter, status int, field any, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": message, "field": field, "help": nil}},
	})
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	fail := b.Failure()
	b.mu.Unlock()
	if r.Method == http.MethodGet && r.URL.Path == b.prefix+scopesPath {
		b.serveScopes(w, r, fail)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != b.prefix+"/v3/mail/send" {
		b.t.Errorf("request %s %s, want POST %s/v3/mail/send", r.Method, r.URL.Path, b.prefix)
		writeErrors(w, http.StatusNotFound, nil, "not found")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		b.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if fail == connectortest.FailAuth || r.Header.Get("Authorization") != "Bearer "+testKey {
		if fail != connectortest.FailAuth {
			b.t.Errorf("Authorization = %q, want the bearer key", r.Header.Get("Authorization"))
		}
		writeErrors(w, http.StatusUnauthorized, nil, "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	switch fail {
	case connectortest.FailReject:
		writeErrors(w, http.StatusBadRequest, "from", "The from address does not match a verified Sender Identity (key "+testKey+")")
		return
	case connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		writeErrors(w, http.StatusTooManyRequests, nil, "too many requests")
		return
	case connectortest.FailTemporary:
		writeErrors(w, http.StatusInternalServerError, nil, "internal error")
		return
	case connectortest.FailSlow:
		// The server notices the client going away only once the body
		// has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		writeErrors(w, http.StatusServiceUnavailable, nil, "too slow")
		return
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req sgRequest
	if err := dec.Decode(&req); err != nil {
		b.t.Errorf("decoding the mail body: %v", err)
		writeErrors(w, http.StatusBadRequest, nil, err.Error())
		return
	}
	if field, msg := validate(req); msg != "" {
		b.t.Errorf("invalid mail body: %s: %s", field, msg)
		writeErrors(w, http.StatusBadRequest, field, msg)
		return
	}
	b.record(req)
	b.mu.Lock()
	b.seq++
	id := fmt.Sprintf("sg-msg-%d", b.seq)
	b.mu.Unlock()
	w.Header().Set("X-Message-Id", id)
	w.WriteHeader(http.StatusAccepted)
}

// serveScopes answers GET /v3/scopes as SendGrid documents it: the scopes
// of the key that authenticates the call, 401 for a key it does not know.
func (b *backend) serveScopes(w http.ResponseWriter, r *http.Request, fail connectortest.Failure) {
	if fail == connectortest.FailAuth || r.Header.Get("Authorization") != "Bearer "+testKey {
		writeErrors(w, http.StatusUnauthorized, nil, "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	switch fail {
	case connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		writeErrors(w, http.StatusTooManyRequests, nil, "too many requests")
		return
	case connectortest.FailTemporary:
		writeErrors(w, http.StatusInternalServerError, nil, "internal error")
		return
	case connectortest.FailSlow:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		writeErrors(w, http.StatusServiceUnavailable, nil, "too slow")
		return
	}
	b.mu.Lock()
	scopes, forbidden := b.scopes, b.scopesForbidden
	b.mu.Unlock()
	if forbidden {
		writeErrors(w, http.StatusForbidden, nil, "access forbidden")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"scopes": scopes})
}

// validate applies the documented Mail Send rules the connector relies on.
func validate(req sgRequest) (field, msg string) {
	if len(req.Personalizations) == 0 || len(req.Personalizations[0].To) == 0 || req.Personalizations[0].To[0].Email == "" {
		return "personalizations", "at least one personalization with a recipient is required"
	}
	if req.From == nil || req.From.Email == "" {
		return "from.email", "the from email is required"
	}
	if req.ReplyTo != nil && req.ReplyTo.Email == "" {
		return "reply_to.email", "reply_to needs an email"
	}
	if len(req.Categories) > 10 {
		return "categories", "at most 10 categories"
	}
	if req.TemplateID != "" {
		if !strings.HasPrefix(req.TemplateID, "d-") {
			return "template_id", "dynamic template IDs start with d-"
		}
		return "", ""
	}
	if req.Subject == "" && req.Personalizations[0].Subject == "" {
		return "subject", "the subject is required"
	}
	if len(req.Content) == 0 {
		return "content", "content is required without a template_id"
	}
	for i, c := range req.Content {
		if c.Value == "" || (c.Type != "text/plain" && c.Type != "text/html") {
			return fmt.Sprintf("content.%d", i), "content needs a type and a value"
		}
		if c.Type == "text/plain" && i != 0 {
			return "content", "text/plain must come first"
		}
	}
	return "", ""
}

func (b *backend) record(req sgRequest) {
	p := req.Personalizations[0]
	got := connectortest.Received{To: p.To[0].Email, From: req.From.Email, FromName: req.From.Name, Subject: req.Subject, Payload: p.DynamicTemplateData}
	if req.ReplyTo != nil {
		got.ReplyTo = req.ReplyTo.Email
	}
	for _, c := range req.Content {
		switch c.Type {
		case "text/html":
			got.HTML = c.Value
		case "text/plain":
			got.Text = c.Value
		}
	}
	got.MessageID = req.CustomArgs[MessageIDArg]
	if id := p.CustomArgs[MessageIDArg]; id != "" {
		got.MessageID = id
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Record(got)
	b.requests = append(b.requests, req)
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Factory:    Factory(),
		NewBackend: func(t *testing.T) connectortest.Backend { return newBackend(t) },
		Secrets:    []string{testKey},
		RetryAfter: 7 * time.Second,
		InvalidConfigs: []connectortest.InvalidConfig{
			{Name: "MissingAPIKey", Config: json.RawMessage(`{"fromEmail":"a@example.com"}`), Field: "apiKey"},
			{Name: "EmptyAPIKey", Config: json.RawMessage(`{"apiKey":"","fromEmail":"a@example.com"}`), Field: "apiKey"},
			{Name: "MissingFromEmail", Config: json.RawMessage(`{"apiKey":"k"}`), Field: "fromEmail"},
			{Name: "BadFromEmail", Config: json.RawMessage(`{"apiKey":"k","fromEmail":"not an address"}`), Field: "fromEmail"},
			{Name: "BadReplyTo", Config: json.RawMessage(`{"apiKey":"k","fromEmail":"a@example.com","replyTo":"nope"}`), Field: "replyTo"},
			{Name: "BadEndpoint", Config: json.RawMessage(`{"apiKey":"k","fromEmail":"a@example.com","endpoint":"ftp://api.sendgrid.com"}`), Field: "endpoint"},
			{Name: "InsecureEndpoint", Config: json.RawMessage(`{"apiKey":"k","fromEmail":"a@example.com","endpoint":"http://api.sendgrid.com"}`), Field: "endpoint"},
			{Name: "BadTemplateType", Config: json.RawMessage(`{"apiKey":"k","fromEmail":"a@example.com","templates":[{"usageType":"SignIn","type":"text/markdown","subject":"s","content":"c"}]}`), Field: "templates.0.type"},
			{Name: "TemplateWithoutUsageType", Config: json.RawMessage(`{"apiKey":"k","fromEmail":"a@example.com","templates":[{"type":"text/html","subject":"s","content":"c"}]}`), Field: "templates.0.usageType"},
			{Name: "TooManyCategories", Config: json.RawMessage(`{"apiKey":"k","fromEmail":"a@example.com","categories":["1","2","3","4","5","6","7","8","9","10","11"]}`), Field: "categories"},
			{Name: "BadTimeout", Config: json.RawMessage(`{"apiKey":"k","fromEmail":"a@example.com","timeout":"soon"}`), Field: "timeout"},
		},
	})
}

func testEnv() connector.Env { return connectortest.Env(io.Discard) }

func build(t *testing.T, id string, raw json.RawMessage) *Connector {
	t.Helper()
	return connectortest.Build(t, id, raw, testEnv()).(*Connector)
}

func send(t *testing.T, c *Connector, msg connector.Message) connector.Receipt {
	t.Helper()
	return connectortest.Send(t, c, msg)
}

// logtoConfig is a config as Logto's SendGrid connector stores it.
const logtoConfig = `{
  "apiKey": "SG.logto-key",
  "fromEmail": "noreply@logto.example",
  "fromName": "Logto",
  "templates": [
    {"usageType": "SignIn", "type": "text/plain", "subject": "Sign-in code {{code}}", "content": "Your sign-in code is {{code}}"},
    {"usageType": "Register", "type": "text/html", "subject": "Sign-up code {{code}}", "content": "<p>Your sign-up code is {{code}}</p>"},
    {"usageType": "ForgotPassword", "type": "text/html", "subject": "Reset code {{code}}", "content": "<p>Reset code {{code}}</p>"},
    {"usageType": "Generic", "type": "text/html", "subject": "Code {{code}}", "content": "<p>Code {{code}}</p>"},
    {"usageType": "Test", "type": "text/plain", "subject": "Test", "content": "Test {{code}}"}
  ]
}`

func TestAcceptsLogtoConfigUnchanged(t *testing.T) {
	c := build(t, Alias, json.RawMessage(logtoConfig))
	if c.s.host != DefaultEndpoint || c.s.timeout != DefaultTimeout {
		t.Errorf("host %q timeout %v, want the defaults", c.s.host, c.s.timeout)
	}
	if c.s.from != (connector.Address{Name: "Logto", Email: "noreply@logto.example"}) {
		t.Errorf("from = %+v", c.s.from)
	}
	got := c.Templates()
	if len(got) != 4 {
		t.Fatalf("Templates() has %d entries, want the 4 known usage types: %+v", len(got), got)
	}
	want := connector.Template{UsageType: connector.UsageSignIn, Subject: "Sign-in code {{code}}", Content: "Your sign-in code is {{code}}", ContentType: "text/plain"}
	if got[0] != want {
		t.Errorf("Templates()[0] = %+v, want %+v", got[0], want)
	}
	if got[1].ContentType != "text/html" || got[1].UsageType != connector.UsageRegister {
		t.Errorf("Templates()[1] = %+v", got[1])
	}
}

func TestEUEndpointAndProxyPrefix(t *testing.T) {
	c := build(t, ID, json.RawMessage(`{"apiKey":"k","fromEmail":"a@example.com","endpoint":"https://api.eu.sendgrid.com/"}`))
	if c.s.host != "https://api.eu.sendgrid.com" {
		t.Errorf("host = %q, want the EU endpoint", c.s.host)
	}
	b := newBackend(t)
	b.prefix = "/sendgrid-proxy"
	c = build(t, ID, b.Config())
	send(t, c, connectortest.Message("via-proxy"))
	if n := len(b.Received()); n != 1 {
		t.Fatalf("proxy received %d messages, want 1", n)
	}
}

func TestDynamicTemplateGetsPayload(t *testing.T) {
	b := newBackend(t)
	b.extra["templates"] = []map[string]any{
		{"usageType": "SignIn", "templateId": "d-signin"},
		{"usageType": "Generic", "type": "text/html", "subject": "s", "content": "c"},
	}
	c := build(t, ID, b.Config())
	msg := connectortest.Message("dyn-1")
	msg.Payload = map[string]any{"code": "654321", "locale": "fr", "application": map[string]any{"name": "Acme"}}
	send(t, c, msg)
	req := b.Requests()[0]
	if req.TemplateID != "d-signin" {
		t.Errorf("template_id = %q, want d-signin", req.TemplateID)
	}
	data := req.Personalizations[0].DynamicTemplateData
	if data["code"] != "654321" || data["locale"] != "fr" || data["application"].(map[string]any)["name"] != "Acme" {
		t.Errorf("dynamic_template_data = %v, want the whole payload", data)
	}
	if len(req.Content) != 0 || req.Subject != "" {
		t.Errorf("a dynamic template send carried content %v and subject %q", req.Content, req.Subject)
	}
	if req.CustomArgs[MessageIDArg] != "dyn-1" {
		t.Errorf("custom_args = %v", req.CustomArgs)
	}

	// A usage type without its own entry and a Generic entry without a
	// templateId is sent with the rendered bodies.
	msg = connectortest.Message("plain-1")
	msg.Type = connector.UsageRegister
	send(t, c, msg)
	req = b.Requests()[1]
	if req.TemplateID != "" || len(req.Content) != 2 || req.Content[0].Type != "text/plain" || req.Content[1].Type != "text/html" {
		t.Errorf("rendered send = template %q content %v", req.TemplateID, req.Content)
	}
}

func TestCategoriesReplyToAndHeaders(t *testing.T) {
	b := newBackend(t)
	b.extra["categories"] = []string{"auth", "otp"}
	b.extra["replyTo"] = "Support <support@example.com>"
	c := build(t, ID, b.Config())
	msg := connectortest.Message("cat-1")
	msg.Headers = map[string]string{"X-Tenant": "t1", "Message-ID": "<forbidden@example.com>", "Reply-To": "x@example.com"}
	rc := send(t, c, msg)
	if rc.ProviderMessageID != "sg-msg-1" {
		t.Errorf("ProviderMessageID = %q, want the X-Message-Id header", rc.ProviderMessageID)
	}
	req := b.Requests()[0]
	if strings.Join(req.Categories, ",") != "auth,otp" {
		t.Errorf("categories = %v", req.Categories)
	}
	if req.ReplyTo == nil || req.ReplyTo.Email != "support@example.com" || req.ReplyTo.Name != "Support" {
		t.Errorf("reply_to = %+v, want the configured one", req.ReplyTo)
	}
	if len(req.Headers) != 1 || req.Headers["X-Tenant"] != "t1" {
		t.Errorf("headers = %v, want only the unreserved X-Tenant", req.Headers)
	}
	if req.From.Email != "no-reply@example.com" || req.From.Name != "Example" {
		t.Errorf("from = %+v", req.From)
	}

	msg = connectortest.Message("cat-2")
	msg.ReplyTo = connector.Address{Email: "owner@example.com"}
	msg.From = connector.Address{Email: "team@example.com"}
	send(t, c, msg)
	req = b.Requests()[1]
	if req.ReplyTo.Email != "owner@example.com" {
		t.Errorf("reply_to = %+v, want the message's", req.ReplyTo)
	}
	if req.From.Email != "team@example.com" || req.From.Name != "Example" {
		t.Errorf("from = %+v, want the message's address with the configured name", req.From)
	}
}

func TestErrorCarriesProviderMessage(t *testing.T) {
	b := newBackend(t)
	c := build(t, ID, b.Config())
	b.Fail(connectortest.FailReject)
	_, err := c.Send(context.Background(), connectortest.Message("rej"))
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("error = %v, want a 400 connector.Error", err)
	}
	if !strings.Contains(ce.Message, "does not match a verified Sender Identity") || !strings.Contains(ce.Message, "field from") {
		t.Errorf("message = %q, want SendGrid's parsed message", ce.Message)
	}
	if strings.Contains(ce.Message, testKey) || !strings.Contains(ce.Message, connector.Redacted) {
		t.Errorf("message = %q, want the key masked", ce.Message)
	}
}

func TestRateLimitResetHeader(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	if d := resetDelay("1700000030", now); d != 30*time.Second {
		t.Errorf("resetDelay = %v, want 30s", d)
	}
	if d := resetDelay("junk", now); d != 0 {
		t.Errorf("resetDelay(junk) = %v, want 0", d)
	}
}

func TestTimeoutFromConfig(t *testing.T) {
	b := newBackend(t)
	b.extra["timeout"] = 200
	c := build(t, ID, b.Config())
	b.Fail(connectortest.FailSlow)
	start := time.Now()
	_, err := c.Send(context.Background(), connectortest.Message("slow"))
	if !errors.Is(err, connector.ErrTemporary) {
		t.Fatalf("error = %v, want a temporary timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v with a 200ms timeout", d)
	}
}
