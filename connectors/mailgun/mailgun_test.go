package mailgun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
)

const (
	testKey    = "key-test-0123456789abcdef"
	testDomain = "mg.example.com"
	// testSendingKey is a domain sending key: Mailgun lets it post
	// messages for testDomain and nothing else.
	testSendingKey = "sending-key-test-fedcba9876543210"
)

// knownFields are the documented parameters of POST /v3/{domain}/messages
// that do not start with h: or v:.
var knownFields = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "text": true, "html": true,
	"amp-html": true, "template": true, "t:version": true, "t:text": true, "t:variables": true,
	"o:tag": true, "o:dkim": true, "o:deliverytime": true, "o:deliverytime-optimize-period": true,
	"o:testmode": true, "o:tracking": true, "o:tracking-clicks": true, "o:tracking-opens": true,
	"o:require-tls": true, "o:skip-verification": true, "recipient-variables": true,
}

// backend is a fake Mailgun Messages API.
type backend struct {
	t      *testing.T
	srv    *httptest.Server
	prefix string
	extra  map[string]any
	mu     sync.Mutex
	connectortest.Recorder
	forms []url.Values
	seq   int
}

func newBackend(t *testing.T) *backend {
	b := &backend{t: t, extra: map[string]any{}}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) Config() json.RawMessage {
	cfg := map[string]any{
		"endpoint": b.srv.URL + b.prefix,
		"domain":   testDomain,
		"apiKey":   testKey,
		"from":     "Example <no-reply@mg.example.com>",
	}
	for k, v := range b.extra {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	return raw
}

func (b *backend) Forms() []url.Values {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]url.Values(nil), b.forms...)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	fail := b.Failure()
	b.mu.Unlock()
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, b.prefix+"/v4/domains/") {
		b.serveDomain(w, r, fail, strings.TrimPrefix(r.URL.Path, b.prefix+"/v4/domains/"))
		return
	}
	want := b.prefix + "/v3/" + testDomain + "/messages"
	if r.Method != http.MethodPost || r.URL.Path != want {
		b.t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, want)
		writeMessage(w, http.StatusNotFound, "not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if fail == connectortest.FailAuth || !ok || user != "api" || (pass != testKey && pass != testSendingKey) {
		// A check's empty probe may carry a wrong key; a send may not.
		if fail != connectortest.FailAuth && r.ContentLength != 0 {
			b.t.Errorf("basic auth = %q/%q, want api/<key>", user, pass)
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "Forbidden")
		return
	}
	switch fail {
	case connectortest.FailReject:
		writeMessage(w, http.StatusBadRequest, "'to' parameter is not a valid address. please check documentation (api key "+testKey+")")
		return
	case connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		writeMessage(w, http.StatusTooManyRequests, "Too many requests")
		return
	case connectortest.FailTemporary:
		writeMessage(w, http.StatusInternalServerError, "Internal error")
		return
	case connectortest.FailSlow:
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		writeMessage(w, http.StatusServiceUnavailable, "too slow")
		return
	}
	form, err := parseForm(r)
	if err != nil {
		b.t.Errorf("parsing the form: %v", err)
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(form) == 0 {
		// A check's probe: authenticated, then refused for what it lacks.
		writeMessage(w, http.StatusBadRequest, "'from' parameter is missing")
		return
	}
	if msg := validate(form); msg != "" {
		b.t.Errorf("invalid message: %s (form %v)", msg, form)
		writeMessage(w, http.StatusBadRequest, msg)
		return
	}
	got, err := received(form)
	if err != nil {
		b.t.Errorf("reading the message: %v", err)
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	b.mu.Lock()
	b.seq++
	id := fmt.Sprintf("<20260101000000.%d@%s>", b.seq, testDomain)
	b.Record(got)
	b.forms = append(b.forms, form)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "message": "Queued. Thank you."})
}

// serveDomain answers GET /v4/domains/{name} as Mailgun documents it: the
// domain for an account key, 404 for a domain the account does not have,
// 401 for a key it does not know and for a domain sending key, which may
// only post messages.
func (b *backend) serveDomain(w http.ResponseWriter, r *http.Request, fail connectortest.Failure, name string) {
	user, pass, ok := r.BasicAuth()
	if fail == connectortest.FailAuth || !ok || user != "api" || pass != testKey {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "Forbidden")
		return
	}
	switch fail {
	case connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		writeMessage(w, http.StatusTooManyRequests, "Too many requests")
		return
	case connectortest.FailTemporary:
		writeMessage(w, http.StatusInternalServerError, "Internal error")
		return
	case connectortest.FailSlow:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		writeMessage(w, http.StatusServiceUnavailable, "too slow")
		return
	}
	if name != testDomain {
		writeMessage(w, http.StatusNotFound, "Domain not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"domain": map[string]any{"name": testDomain, "state": "active", "type": "custom", "spam_action": "disabled",
			"created_at": "Wed, 25 Nov 2026 12:00:00 GMT", "smtp_login": "postmaster@" + testDomain, "wildcard": false},
		"receiving_dns_records": []any{}, "sending_dns_records": []any{},
	})
}

// parseForm reads a multipart/form-data or urlencoded body, as the API accepts.
func parseForm(r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	switch mt {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, err
		}
		if len(r.MultipartForm.File) > 0 {
			return nil, fmt.Errorf("unexpected attachments")
		}
		return url.Values(r.MultipartForm.Value), nil
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	return nil, fmt.Errorf("content type %q is not a form", mt)
}

// validate applies the documented rules the connector relies on.
func validate(f url.Values) string {
	for k := range f {
		if !knownFields[k] && !strings.HasPrefix(k, "h:") && !strings.HasPrefix(k, "v:") {
			return "unknown parameter " + k
		}
	}
	if len(f["to"]) != 1 || f.Get("from") == "" {
		return "from and exactly one to are required"
	}
	if _, err := mail.ParseAddress(f.Get("from")); err != nil {
		return "from is not an address: " + err.Error()
	}
	if f.Get("template") == "" && f.Get("html") == "" && f.Get("text") == "" {
		return "need at least one of 'text', 'html' or 'template'"
	}
	if f.Get("template") == "" && f.Get("subject") == "" {
		return "subject is required"
	}
	if v := f.Get("h:X-Mailgun-Variables"); v != "" {
		var obj map[string]any
		if json.Unmarshal([]byte(v), &obj) != nil {
			return "h:X-Mailgun-Variables must be a JSON object"
		}
	}
	if id := f.Get("h:Message-Id"); id != "" && (!strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@"+testDomain+">")) {
		return "h:Message-Id must look like <id@domain>"
	}
	if len(f["o:tag"]) > 3 {
		return "at most 3 tags"
	}
	return ""
}

func received(f url.Values) (connectortest.Received, error) {
	from, err := mail.ParseAddress(f.Get("from"))
	if err != nil {
		return connectortest.Received{}, err
	}
	got := connectortest.Received{
		To: f.Get("to"), From: from.Address, FromName: from.Name, Subject: f.Get("subject"),
		HTML: f.Get("html"), Text: f.Get("text"), MessageID: f.Get("v:" + MessageIDVariable), Type: f.Get("o:tag"),
	}
	if rt := f.Get("h:Reply-To"); rt != "" {
		a, err := mail.ParseAddress(rt)
		if err != nil {
			return got, err
		}
		got.ReplyTo = a.Address
	}
	if v := f.Get("h:X-Mailgun-Variables"); v != "" {
		if err := json.Unmarshal([]byte(v), &got.Payload); err != nil {
			return got, err
		}
	}
	return got, nil
}

func TestConformance(t *testing.T) {
	base := `"domain":"mg.example.com","apiKey":"k","from":"a@mg.example.com"`
	cfg := func(extra string) json.RawMessage { return json.RawMessage("{" + base + extra + "}") }
	connectortest.Run(t, connectortest.Suite{
		Factory:    Factory(),
		NewBackend: func(t *testing.T) connectortest.Backend { return newBackend(t) },
		Secrets:    []string{testKey},
		RetryAfter: 7 * time.Second,
		InvalidConfigs: []connectortest.InvalidConfig{
			{Name: "MissingDomain", Config: json.RawMessage(`{"apiKey":"k","from":"a@mg.example.com"}`), Field: "domain"},
			{Name: "BadDomain", Config: json.RawMessage(`{"domain":"mg.example.com/x","apiKey":"k","from":"a@mg.example.com"}`), Field: "domain"},
			{Name: "MissingAPIKey", Config: json.RawMessage(`{"domain":"mg.example.com","from":"a@mg.example.com"}`), Field: "apiKey"},
			{Name: "MissingFrom", Config: json.RawMessage(`{"domain":"mg.example.com","apiKey":"k"}`), Field: "from"},
			{Name: "BadFrom", Config: cfg(`,"from":"Example <nope>"`), Field: "from"},
			{Name: "BadRegion", Config: cfg(`,"region":"asia"`), Field: "region"},
			{Name: "BadEndpoint", Config: cfg(`,"endpoint":"not a url"`), Field: "endpoint"},
			{Name: "InsecureEndpoint", Config: cfg(`,"endpoint":"http://api.mailgun.net"`), Field: "endpoint"},
			{Name: "BadReplyTo", Config: cfg(`,"replyTo":"nope"`), Field: "replyTo"},
			{Name: "UnknownUsageType", Config: cfg(`,"deliveries":{"Welcome":{"html":"x"}}`), Field: "deliveries.Welcome"},
			{Name: "DeliveryWithoutContent", Config: cfg(`,"deliveries":{"SignIn":{"subject":"x"}}`), Field: "deliveries.SignIn.html"},
			{Name: "DeliveryWithBoth", Config: cfg(`,"deliveries":{"SignIn":{"html":"x","template":"t"}}`), Field: "deliveries.SignIn"},
			{Name: "BadTimeout", Config: cfg(`,"timeout":"soon"`), Field: "timeout"},
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

// logtoConfig is a config as Logto's Mailgun connector stores it.
const logtoConfig = `{
  "endpoint": "https://api.eu.mailgun.net",
  "domain": "mg.logto.example",
  "apiKey": "key-logto",
  "from": "Logto <noreply@mg.logto.example>",
  "deliveries": {
    "SignIn": {"subject": "Logto sign-in template {{code}}", "html": "Your Logto sign-in verification code is {{code}}.", "replyTo": "help@logto.example"},
    "Register": {"subject": "Logto sign-up template {{code}}", "html": "<p>Sign-up {{code}}</p>", "text": "Sign-up {{code}}"},
    "ForgotPassword": {"template": "reset-password", "variables": {"brand": "Logto"}, "subject": "Reset {{code}}"},
    "Generic": {"subject": "Logto generic template {{code}}", "html": "Your Logto generic verification code is {{code}}."}
  }
}`

func TestAcceptsLogtoConfigUnchanged(t *testing.T) {
	c := build(t, Alias, json.RawMessage(logtoConfig))
	if c.s.apiBase != EndpointEU || c.mg.APIBase() != EndpointEU+"/v3" {
		t.Errorf("api base %q / %q, want the EU endpoint", c.s.apiBase, c.mg.APIBase())
	}
	if c.s.from != (connector.Address{Name: "Logto", Email: "noreply@mg.logto.example"}) {
		t.Errorf("from = %+v", c.s.from)
	}
	got := c.Templates()
	if len(got) != 3 {
		t.Fatalf("Templates() = %+v, want the 3 raw deliveries", got)
	}
	want := connector.Template{UsageType: connector.UsageSignIn, Subject: "Logto sign-in template {{code}}",
		Content: "Your Logto sign-in verification code is {{code}}.", ContentType: "text/html", ReplyTo: "help@logto.example"}
	if got[0] != want {
		t.Errorf("Templates()[0] = %+v, want %+v", got[0], want)
	}
	if got[1].UsageType != connector.UsageRegister || got[2].UsageType != connector.UsageGeneric {
		t.Errorf("Templates() order = %v, %v", got[1].UsageType, got[2].UsageType)
	}
}

func TestRegionAndEndpoint(t *testing.T) {
	for _, tc := range []struct{ name, extra, want string }{
		{"Default", ``, EndpointUS},
		{"US", `,"region":"us"`, EndpointUS},
		{"EU", `,"region":"eu"`, EndpointEU},
		{"EndpointWins", `,"region":"eu","endpoint":"https://mailgun-proxy.example.com/base/"`, "https://mailgun-proxy.example.com/base"},
		{"VersionPathKept", `,"endpoint":"https://api.eu.mailgun.net/v3"`, EndpointEU},
		{"LogtoRuleLoosened", `,"endpoint":"https://relay.example.org"`, "https://relay.example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := build(t, ID, json.RawMessage(`{"domain":"mg.example.com","apiKey":"k","from":"a@mg.example.com"`+tc.extra+`}`))
			if c.s.apiBase != tc.want {
				t.Errorf("api base = %q, want %q", c.s.apiBase, tc.want)
			}
		})
	}
	b := newBackend(t)
	b.prefix = "/mailgun-proxy"
	c := build(t, ID, b.Config())
	send(t, c, connectortest.Message("via-proxy"))
	if n := len(b.Received()); n != 1 {
		t.Fatalf("proxy received %d messages, want 1", n)
	}
}

func TestRawSendFields(t *testing.T) {
	b := newBackend(t)
	b.extra["replyTo"] = "support@example.com"
	b.extra["fromName"] = "Example Team"
	c := build(t, ID, b.Config())
	msg := connectortest.Message("raw-1/x y")
	msg.Headers = map[string]string{"X-Tenant": "t1", "From": "evil@example.com"}
	rc := send(t, c, msg)
	if rc.ProviderMessageID != "20260101000000.1@"+testDomain {
		t.Errorf("ProviderMessageID = %q, want Mailgun's id", rc.ProviderMessageID)
	}
	f := b.Forms()[0]
	checks := map[string]string{
		"from": `"Example Team" <no-reply@mg.example.com>`, "to": "alice@example.com", "subject": msg.Subject,
		"html": msg.HTML, "text": msg.Text, "h:Reply-To": "<support@example.com>", "o:tag": "SignIn",
		"v:" + MessageIDVariable: "raw-1/x y", "h:Message-Id": "<raw-1/xy@" + testDomain + ">", "h:X-Tenant": "t1",
	}
	for k, want := range checks {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if f.Get("template") != "" || f.Get("h:X-Mailgun-Variables") != "" || f.Get("h:From") != "" {
		t.Errorf("raw send carried template fields or a reserved header: %v", f)
	}
}

func TestHostedTemplate(t *testing.T) {
	b := newBackend(t)
	b.extra["deliveries"] = map[string]any{
		"SignIn":  map[string]any{"template": "sign-in", "variables": map[string]any{"brand": "Acme", "code": "overridden"}, "subject": "Code {{code}} for {{application.name}}", "replyTo": "signin@example.com"},
		"Generic": map[string]any{"html": "<p>{{code}}</p>", "subject": "Generic"},
	}
	c := build(t, ID, b.Config())
	msg := connectortest.Message("tpl-1")
	msg.Payload = map[string]any{"code": "987654", "locale": "de", "application": map[string]any{"name": "Shop"}}
	send(t, c, msg)
	f := b.Forms()[0]
	if f.Get("template") != "sign-in" || f.Get("t:text") != "yes" {
		t.Errorf("template = %q t:text = %q", f.Get("template"), f.Get("t:text"))
	}
	if f.Get("subject") != "Code 987654 for Shop" {
		t.Errorf("subject = %q, want the delivery subject rendered with the payload", f.Get("subject"))
	}
	if f.Get("html") != "" || f.Get("text") != "" {
		t.Errorf("hosted template send carried bodies: html %q text %q", f.Get("html"), f.Get("text"))
	}
	var vars map[string]any
	if err := json.Unmarshal([]byte(f.Get("h:X-Mailgun-Variables")), &vars); err != nil {
		t.Fatalf("X-Mailgun-Variables: %v", err)
	}
	if vars["brand"] != "Acme" || vars["code"] != "987654" || vars["locale"] != "de" || vars["application"].(map[string]any)["name"] != "Shop" {
		t.Errorf("variables = %v, want the delivery's merged under the payload", vars)
	}
	if f.Get("h:Reply-To") != "<signin@example.com>" || f.Get("v:"+MessageIDVariable) != "tpl-1" {
		t.Errorf("reply-to %q, message ID %q", f.Get("h:Reply-To"), f.Get("v:"+MessageIDVariable))
	}

	// A usage type without a delivery falls back to Generic, which is raw:
	// the rendered bodies go out.
	msg = connectortest.Message("tpl-2")
	msg.Type = connector.UsageRegister
	send(t, c, msg)
	f = b.Forms()[1]
	if f.Get("template") != "" || f.Get("html") != msg.HTML || f.Get("text") != msg.Text {
		t.Errorf("Register send = %v, want the rendered bodies", f)
	}
}

func TestRender(t *testing.T) {
	p := map[string]any{"code": "1", "user": map[string]any{"name": "Ann"}, "org": nil}
	for in, want := range map[string]string{
		"{{code}}":              "1",
		"{{ user.name }}!":      "Ann!",
		"{{user.email}}":        "",
		"{{missing}}":           "{{missing}}",
		"{{org.name}}":          "",
		"a {{code}} {{ code }}": "a 1 1",
	} {
		if got := render(in, p); got != want {
			t.Errorf("render(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorCarriesProviderMessage(t *testing.T) {
	b := newBackend(t)
	c := build(t, ID, b.Config())
	b.Fail(connectortest.FailReject)
	_, err := c.Send(context.Background(), connectortest.Message("rej"))
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Status != 400 || !errors.Is(err, connector.ErrRejected) {
		t.Fatalf("error = %v, want a 400 rejection", err)
	}
	if !strings.HasPrefix(ce.Message, "'to' parameter is not a valid address") || strings.Contains(ce.Message, testKey) {
		t.Errorf("message = %q, want Mailgun's message with the key masked", ce.Message)
	}
}
