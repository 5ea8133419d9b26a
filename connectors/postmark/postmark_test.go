package postmark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
)

const testToken = "pm-server-token-0123456789"

// pmHeader, pmEmail and pmTemplate are the documented request bodies of
// POST /email and POST /email/withTemplate; the fake decodes with
// DisallowUnknownFields against them.
type pmHeader struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type pmEmail struct {
	From          string            `json:"From"`
	To            string            `json:"To"`
	Cc            string            `json:"Cc"`
	Bcc           string            `json:"Bcc"`
	Subject       string            `json:"Subject"`
	Tag           string            `json:"Tag"`
	HtmlBody      string            `json:"HtmlBody"`
	TextBody      string            `json:"TextBody"`
	ReplyTo       string            `json:"ReplyTo"`
	Headers       []pmHeader        `json:"Headers"`
	TrackOpens    *bool             `json:"TrackOpens"`
	TrackLinks    string            `json:"TrackLinks"`
	Metadata      map[string]string `json:"Metadata"`
	Attachments   []json.RawMessage `json:"Attachments"`
	MessageStream string            `json:"MessageStream"`
}

type pmTemplate struct {
	TemplateId    int64             `json:"TemplateId"`
	TemplateAlias string            `json:"TemplateAlias"`
	TemplateModel map[string]any    `json:"TemplateModel"`
	InlineCss     *bool             `json:"InlineCss"`
	From          string            `json:"From"`
	To            string            `json:"To"`
	Cc            string            `json:"Cc"`
	Bcc           string            `json:"Bcc"`
	Tag           string            `json:"Tag"`
	ReplyTo       string            `json:"ReplyTo"`
	Headers       []pmHeader        `json:"Headers"`
	TrackOpens    *bool             `json:"TrackOpens"`
	TrackLinks    string            `json:"TrackLinks"`
	Metadata      map[string]string `json:"Metadata"`
	Attachments   []json.RawMessage `json:"Attachments"`
	MessageStream string            `json:"MessageStream"`
}

// call is one accepted request, for focused assertions.
type call struct {
	Path     string
	Email    pmEmail
	Template pmTemplate
}

// backend is a fake Postmark Email API.
type backend struct {
	t        *testing.T
	srv      *httptest.Server
	cfg      map[string]any
	mu       sync.Mutex
	authCode int // status for FailAuth: 422 (ErrorCode 10) or 401
	connectortest.Recorder
	calls []call
	seq   int
}

// logtoTemplates is Logto's default templates array.
func logtoTemplates() []map[string]any {
	var out []map[string]any
	for _, u := range connector.UsageTypes() {
		out = append(out, map[string]any{"usageType": string(u), "templateAlias": defaultAliases[u]})
	}
	return out
}

func newBackend(t *testing.T) *backend {
	b := &backend{t: t, authCode: http.StatusUnprocessableEntity}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	b.cfg = map[string]any{
		"serverToken": testToken,
		"fromEmail":   "no-reply@example.com",
		"fromName":    "Example",
		"templates":   logtoTemplates(),
		"endpoint":    b.srv.URL,
	}
	return b
}

func (b *backend) Config() json.RawMessage {
	raw, _ := json.Marshal(b.cfg)
	return raw
}

func (b *backend) Calls() []call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]call(nil), b.calls...)
}

func writeAnswer(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"ErrorCode": code, "Message": msg})
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	fail, authCode := b.Failure(), b.authCode
	b.mu.Unlock()
	if r.Method == http.MethodGet && r.URL.Path == pathServer {
		b.serveServer(w, r, fail, authCode)
		return
	}
	if r.Method != http.MethodPost || (r.URL.Path != "/email" && r.URL.Path != "/email/withTemplate") {
		b.t.Errorf("request %s %s, want POST /email or /email/withTemplate", r.Method, r.URL.Path)
		writeAnswer(w, http.StatusNotFound, 0, "not found")
		return
	}
	if r.Header.Get("Accept") != "application/json" || r.Header.Get("Content-Type") != "application/json" {
		b.t.Errorf("Accept %q Content-Type %q, want application/json", r.Header.Get("Accept"), r.Header.Get("Content-Type"))
	}
	if r.Header.Get("X-Postmark-Server-Token") != testToken {
		b.t.Errorf("X-Postmark-Server-Token = %q", r.Header.Get("X-Postmark-Server-Token"))
		writeAnswer(w, http.StatusUnauthorized, 10, "No Account or Server API tokens were supplied in the HTTP headers.")
		return
	}
	switch fail {
	case connectortest.FailAuth:
		writeAnswer(w, authCode, 10, "The Server API token "+testToken+" is not valid.")
		return
	case connectortest.FailReject:
		writeAnswer(w, http.StatusUnprocessableEntity, 406, "You tried to send to recipient(s) that have been marked as inactive (token "+testToken+").")
		return
	case connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		writeAnswer(w, http.StatusTooManyRequests, 429, "Rate limit exceeded.")
		return
	case connectortest.FailTemporary:
		writeAnswer(w, http.StatusInternalServerError, 0, "Internal Server Error")
		return
	case connectortest.FailSlow:
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		writeAnswer(w, http.StatusServiceUnavailable, 100, "Maintenance")
		return
	}
	c := call{Path: r.URL.Path}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var err error
	if c.Path == "/email" {
		err = dec.Decode(&c.Email)
	} else {
		err = dec.Decode(&c.Template)
	}
	if err != nil {
		b.t.Errorf("decoding %s: %v", c.Path, err)
		writeAnswer(w, http.StatusUnprocessableEntity, 402, "Invalid JSON")
		return
	}
	got, msg := check(c)
	if msg != "" {
		b.t.Errorf("invalid %s request: %s", c.Path, msg)
		writeAnswer(w, http.StatusUnprocessableEntity, 300, msg)
		return
	}
	b.mu.Lock()
	b.seq++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", b.seq)
	b.Record(got)
	b.calls = append(b.calls, c)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"To": got.To, "SubmittedAt": "2026-11-25T12:00:00.0000000Z", "MessageID": id, "ErrorCode": 0, "Message": "OK"})
}

// serveServer answers GET /server as Postmark documents it: the server
// the X-Postmark-Server-Token belongs to, 401 with ErrorCode 10 for a
// token it does not know.
func (b *backend) serveServer(w http.ResponseWriter, r *http.Request, fail connectortest.Failure, authCode int) {
	if r.Header.Get("Accept") != "application/json" {
		b.t.Errorf("Accept %q, want application/json", r.Header.Get("Accept"))
	}
	switch {
	case r.Header.Get("X-Postmark-Server-Token") != testToken:
		writeAnswer(w, http.StatusUnauthorized, 10, "Request does not contain a valid Server token.")
		return
	case fail == connectortest.FailAuth:
		writeAnswer(w, authCode, 10, "The Server API token "+testToken+" is not valid.")
		return
	case fail == connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		writeAnswer(w, http.StatusTooManyRequests, 429, "Rate limit exceeded.")
		return
	case fail == connectortest.FailTemporary:
		writeAnswer(w, http.StatusInternalServerError, 0, "Internal Server Error")
		return
	case fail == connectortest.FailSlow:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		writeAnswer(w, http.StatusServiceUnavailable, 100, "Maintenance")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ID": 1234, "Name": "Example production", "ApiTokens": []string{testToken},
		"Color": "blue", "SmtpApiActivated": true, "RawEmailEnabled": false, "DeliveryType": "Live",
		"ServerLink": "https://account.postmarkapp.com/servers/1234/streams", "InboundAddress": "", "TrackOpens": false, "TrackLinks": "None"})
}

// check applies the documented rules and normalises the request.
func check(c call) (connectortest.Received, string) {
	var got connectortest.Received
	var from, replyTo string
	var meta map[string]string
	var stream string
	if c.Path == "/email" {
		e := c.Email
		if e.Subject == "" || (e.HtmlBody == "" && e.TextBody == "") {
			return got, "Subject and HtmlBody or TextBody are required"
		}
		from, replyTo, meta, stream = e.From, e.ReplyTo, e.Metadata, e.MessageStream
		got = connectortest.Received{To: e.To, Subject: e.Subject, HTML: e.HtmlBody, Text: e.TextBody, Type: e.Tag}
	} else {
		t := c.Template
		if t.TemplateAlias == "" && t.TemplateId == 0 {
			return got, "TemplateAlias or TemplateId is required"
		}
		if t.TemplateModel == nil {
			return got, "TemplateModel is required"
		}
		from, replyTo, meta, stream = t.From, t.ReplyTo, t.Metadata, t.MessageStream
		got = connectortest.Received{To: t.To, Type: t.Tag, Payload: t.TemplateModel}
	}
	if got.To == "" {
		return got, "To is required"
	}
	if stream == "" {
		return got, "the connector always names its message stream"
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return got, "invalid From: " + err.Error()
	}
	got.From, got.FromName = a.Address, a.Name
	if replyTo != "" {
		r, err := mail.ParseAddress(replyTo)
		if err != nil {
			return got, "invalid ReplyTo: " + err.Error()
		}
		got.ReplyTo = r.Address
	}
	got.MessageID = meta[MetadataMessageID]
	return got, ""
}

func TestConformance(t *testing.T) {
	cfg := func(extra string) json.RawMessage {
		return json.RawMessage(`{"serverToken":"t","fromEmail":"a@example.com"` + extra + `}`)
	}
	connectortest.Run(t, connectortest.Suite{
		Factory:    Factory(),
		NewBackend: func(t *testing.T) connectortest.Backend { return newBackend(t) },
		Secrets:    []string{testToken},
		RetryAfter: 7 * time.Second,
		InvalidConfigs: []connectortest.InvalidConfig{
			{Name: "MissingServerToken", Config: json.RawMessage(`{"fromEmail":"a@example.com"}`), Field: "serverToken"},
			{Name: "EmptyServerToken", Config: json.RawMessage(`{"serverToken":"","fromEmail":"a@example.com"}`), Field: "serverToken"},
			{Name: "MissingFromEmail", Config: json.RawMessage(`{"serverToken":"t"}`), Field: "fromEmail"},
			{Name: "BadFromEmail", Config: cfg(`,"fromEmail":"not an address"`), Field: "fromEmail"},
			{Name: "BadReplyTo", Config: cfg(`,"replyTo":"nope"`), Field: "replyTo"},
			{Name: "TemplateWithoutAlias", Config: cfg(`,"templates":[{"usageType":"SignIn"}]`), Field: "templates.0.templateAlias"},
			{Name: "TemplateWithEmptyAlias", Config: cfg(`,"templates":[{"usageType":"SignIn","templateAlias":""}]`), Field: "templates.0.templateAlias"},
			{Name: "EmptyMessageStream", Config: cfg(`,"messageStream":""`), Field: "messageStream"},
			{Name: "BadEndpoint", Config: cfg(`,"endpoint":"api.postmarkapp.com"`), Field: "endpoint"},
			{Name: "InsecureEndpoint", Config: cfg(`,"endpoint":"http://api.postmarkapp.com"`), Field: "endpoint"},
			{Name: "BadTimeout", Config: cfg(`,"timeout":-5`), Field: "timeout"},
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

// logtoConfig is a config as Logto's Postmark connector stores it.
const logtoConfig = `{
  "serverToken": "logto-server-token",
  "fromEmail": "noreply@logto.example",
  "templates": [
    {"usageType": "SignIn", "templateAlias": "logto-sign-in"},
    {"usageType": "Register", "templateAlias": "logto-register"},
    {"usageType": "ForgotPassword", "templateAlias": "logto-forgot-password"},
    {"usageType": "OrganizationInvitation", "templateAlias": "logto-organization-invitation"},
    {"usageType": "Generic", "templateAlias": "logto-generic"},
    {"usageType": "UserPermissionValidation", "templateAlias": "logto-user-permission-validation"},
    {"usageType": "BindNewIdentifier", "templateAlias": "logto-bind-new-identifier"},
    {"usageType": "MfaVerification", "templateAlias": "logto-mfa-verification"},
    {"usageType": "BindMfa", "templateAlias": "logto-bind-mfa"}
  ]
}`

func TestAcceptsLogtoConfigUnchanged(t *testing.T) {
	c := build(t, Alias, json.RawMessage(logtoConfig))
	if c.s.baseURL != DefaultEndpoint || c.s.stream != DefaultMessageStream || c.s.timeout != DefaultTimeout {
		t.Errorf("base %q stream %q timeout %v, want the defaults", c.s.baseURL, c.s.stream, c.s.timeout)
	}
	for u, alias := range defaultAliases {
		if got, _ := c.s.alias(u); got != alias {
			t.Errorf("alias(%s) = %q, want %q", u, got, alias)
		}
	}
	var def Config
	if err := json.Unmarshal(Factory().DefaultConfig, &def); err != nil || len(def.Templates) != 9 || def.Templates[0].TemplateAlias != "logto-sign-in" {
		t.Errorf("default config templates = %+v (%v), want Logto's 9 aliases", def.Templates, err)
	}
}

func TestTemplateAliasGetsWholePayload(t *testing.T) {
	b := newBackend(t)
	b.cfg["messageStream"] = "auth-codes"
	b.cfg["replyTo"] = "support@example.com"
	c := build(t, ID, b.Config())
	msg := connectortest.Message("tpl-1")
	msg.Type = connector.UsageOrganizationInvitation
	msg.Payload = map[string]any{"code": "111222", "link": "https://app.example.com/invite/x", "locale": "fr",
		"organization": map[string]any{"name": "Acme"}, "inviter": map[string]any{"name": "Bob"}}
	msg.Headers = map[string]string{"X-Tenant": "t1", "Reply-To": "evil@example.com"}
	rc := send(t, c, msg)
	if rc.ProviderMessageID != "00000000-0000-4000-8000-000000000001" {
		t.Errorf("ProviderMessageID = %q, want Postmark's MessageID", rc.ProviderMessageID)
	}
	call := b.Calls()[0]
	if call.Path != "/email/withTemplate" {
		t.Fatalf("path = %s, want /email/withTemplate", call.Path)
	}
	req := call.Template
	if req.TemplateAlias != "logto-organization-invitation" {
		t.Errorf("TemplateAlias = %q", req.TemplateAlias)
	}
	if req.TemplateModel["code"] != "111222" || req.TemplateModel["link"] != msg.Payload["link"] || req.TemplateModel["locale"] != "fr" ||
		req.TemplateModel["organization"].(map[string]any)["name"] != "Acme" || req.TemplateModel["inviter"].(map[string]any)["name"] != "Bob" {
		t.Errorf("TemplateModel = %v, want the whole payload", req.TemplateModel)
	}
	if req.MessageStream != "auth-codes" || req.Tag != "OrganizationInvitation" || req.Metadata[MetadataMessageID] != "tpl-1" {
		t.Errorf("stream %q tag %q metadata %v", req.MessageStream, req.Tag, req.Metadata)
	}
	if req.From != `"Example" <no-reply@example.com>` || req.ReplyTo != "<support@example.com>" {
		t.Errorf("From %q ReplyTo %q", req.From, req.ReplyTo)
	}
	if len(req.Headers) != 1 || req.Headers[0] != (pmHeader{Name: "X-Tenant", Value: "t1"}) {
		t.Errorf("Headers = %v, want only X-Tenant", req.Headers)
	}
}

func TestRenderedBodiesWithoutAlias(t *testing.T) {
	b := newBackend(t)
	b.cfg["templates"] = []map[string]any{{"usageType": "SignIn", "templateAlias": "my-sign-in"}}
	c := build(t, ID, b.Config())
	msg := connectortest.Message("raw-1")
	msg.Type = connector.UsageRegister
	msg.From = connector.Address{Name: "Équipe Sécurité"}
	msg.ReplyTo = connector.Address{Email: "owner@example.com"}
	send(t, c, msg)
	call := b.Calls()[0]
	if call.Path != "/email" {
		t.Fatalf("path = %s, want /email for a usage type without an alias and no Generic alias", call.Path)
	}
	got := b.Received()[0]
	if got.Subject != msg.Subject || got.HTML != msg.HTML || got.Text != msg.Text {
		t.Errorf("received %+v, want the rendered subject, HTML and text", got)
	}
	if got.FromName != "Équipe Sécurité" || got.From != "no-reply@example.com" || got.ReplyTo != "owner@example.com" {
		t.Errorf("from %q <%s>, reply-to %q", got.FromName, got.From, got.ReplyTo)
	}
	if call.Email.MessageStream != DefaultMessageStream || call.Email.Metadata[MetadataMessageID] != "raw-1" {
		t.Errorf("stream %q metadata %v", call.Email.MessageStream, call.Email.Metadata)
	}

	// SignIn has an alias: it goes through the template endpoint.
	send(t, c, connectortest.Message("tpl-2"))
	if call := b.Calls()[1]; call.Path != "/email/withTemplate" || call.Template.TemplateAlias != "my-sign-in" {
		t.Errorf("SignIn call = %+v", call)
	}
}

func TestErrorCodes(t *testing.T) {
	b := newBackend(t)
	c := build(t, ID, b.Config())

	b.Fail(connectortest.FailAuth)
	_, err := c.Send(context.Background(), connectortest.Message("auth-422"))
	var ce *connector.Error
	if !errors.Is(err, connector.ErrAuth) || !errors.As(err, &ce) || ce.Status != 422 || ce.Code != "10" {
		t.Errorf("422/ErrorCode 10: error = %v, want ErrAuth with status 422 and code 10", err)
	}
	b.mu.Lock()
	b.authCode = http.StatusUnauthorized
	b.mu.Unlock()
	if _, err := c.Send(context.Background(), connectortest.Message("auth-401")); !errors.Is(err, connector.ErrAuth) {
		t.Errorf("401: error = %v, want ErrAuth", err)
	}

	b.Fail(connectortest.FailReject)
	_, err = c.Send(context.Background(), connectortest.Message("inactive"))
	if !errors.Is(err, connector.ErrRejected) || !errors.As(err, &ce) || ce.Code != "406" {
		t.Fatalf("406: error = %v, want a rejection with code 406", err)
	}
	if !strings.Contains(ce.Message, "marked as inactive") || strings.Contains(ce.Message, testToken) {
		t.Errorf("message = %q, want Postmark's message with the token masked", ce.Message)
	}
}

func TestSuccessStatusWithErrorCodeIsRejected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeAnswer(w, http.StatusOK, 300, "Invalid email request")
	}))
	defer srv.Close()
	c := build(t, ID, json.RawMessage(`{"serverToken":"t","fromEmail":"a@example.com","endpoint":"`+srv.URL+`"}`))
	_, err := c.Send(context.Background(), connectortest.Message("odd"))
	if !errors.Is(err, connector.ErrRejected) {
		t.Errorf("error = %v, want a rejection", err)
	}
}
