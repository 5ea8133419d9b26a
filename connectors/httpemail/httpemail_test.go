package httpemail

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Factory: Factory(),
		NewBackend: func(t *testing.T) connectortest.Backend {
			return newReceiver(t, testToken, testSecret)
		},
		InvalidConfigs: []connectortest.InvalidConfig{
			{Name: "NoEndpoint", Config: json.RawMessage(`{"authorization":"Bearer x"}`), Field: "endpoint"},
			{Name: "EmptyEndpoint", Config: json.RawMessage(`{"endpoint":""}`), Field: "endpoint"},
			{Name: "EndpointNotURL", Config: json.RawMessage(`{"endpoint":"mail.example.com/hook"}`), Field: "endpoint"},
			{Name: "PlainHTTPRemote", Config: json.RawMessage(`{"endpoint":"http://mail.example.com/hook"}`), Field: "endpoint"},
			{Name: "EndpointNotString", Config: json.RawMessage(`{"endpoint":42}`), Field: "endpoint"},
			{Name: "HeaderContentType", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","headers":{"Content-Type":"text/plain"}}`), Field: "headers.Content-Type"},
			{Name: "HeaderWebhookSignature", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","headers":{"webhook-signature":"v1,x"}}`), Field: "headers.webhook-signature"},
			{Name: "HeaderNotString", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","headers":{"X-A":1}}`), Field: "headers.X-A"},
			{Name: "HeaderValueNewline", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","headers":{"X-A":"a\r\nX-B: b"}}`), Field: "headers.X-A"},
			{Name: "TimeoutTooLong", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","timeout":"2m"}`), Field: "timeout"},
			{Name: "TimeoutTooShort", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","timeout":10}`), Field: "timeout"},
			{Name: "TimeoutGarbage", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","timeout":"soon"}`), Field: "timeout"},
			{Name: "SecretNoPrefix", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","signingSecret":"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`), Field: "signingSecret"},
			{Name: "SecretNotBase64", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","signingSecret":"whsec_not base64!"}`), Field: "signingSecret"},
			{Name: "SecretTooShort", Config: json.RawMessage(`{"endpoint":"https://mail.example.com","signingSecret":"whsec_c2hvcnQ="}`), Field: "signingSecret"},
		},
		Secrets:    []string{testToken, testSecret},
		RetryAfter: 7 * time.Second,
		// The receiver gets the payload, not a message: it has no sender.
		NoDisplayName: true,
	})
}

// testEnv is a connector.Env for the focused tests.
func testEnv() connector.Env {
	return connector.Env{
		Logger:     slog.New(slog.DiscardHandler),
		HTTPClient: &http.Client{},
		Now:        time.Now,
	}
}

func build(t *testing.T, raw json.RawMessage) connector.Connector {
	t.Helper()
	c, err := connector.Build(context.Background(), ID, raw, testEnv())
	if err != nil {
		t.Fatalf("Build(%s): %v", raw, err)
	}
	return c
}

func send(t *testing.T, c connector.Connector, msg connector.Message) (connector.Receipt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Send(ctx, msg)
}

func mustSend(t *testing.T, c connector.Connector, msg connector.Message) connector.Receipt {
	t.Helper()
	rc, err := send(t, c, msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return rc
}

func configErrorField(t *testing.T, err error) string {
	t.Helper()
	var ce *connector.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *connector.ConfigError", err)
	}
	return ce.Field
}

func TestLogtoConfigAcceptedAsIs(t *testing.T) {
	r := newReceiver(t, "Bearer logto-style-token", "")
	// A config saved by Logto's console, with a key authmail does not know.
	raw := json.RawMessage(`{"endpoint":"` + r.URL() + `","authorization":"Bearer logto-style-token","extraLogtoKey":true}`)
	c := build(t, raw)
	msg := connectortest.Message("logto-1")
	mustSend(t, c, msg)
	reqs := r.Requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	want := `{"to":"alice@example.com","type":"SignIn","payload":{"code":"123456","locale":"en"},"ip":"203.0.113.9"}`
	if got := string(reqs[0].Body); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
	if sig := reqs[0].Header.Get("webhook-signature"); sig != "" {
		t.Errorf("unsigned config sent webhook-signature %q", sig)
	}
	if got := reqs[0].Header.Get("webhook-id"); got != "logto-1" {
		t.Errorf("webhook-id = %q, want logto-1", got)
	}
}

func TestBodyOmitsEmptyIPAndNilPayload(t *testing.T) {
	r := newReceiver(t, "", "")
	c := build(t, r.Config())
	msg := connectortest.Message("no-ip")
	msg.IP = ""
	msg.Payload = nil
	msg.To = "bob@example.com"
	msg.Type = connector.UsageOrganizationInvitation
	mustSend(t, c, msg)
	reqs := r.Requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	want := `{"to":"bob@example.com","type":"OrganizationInvitation","payload":{}}`
	if got := string(reqs[0].Body); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q without one configured", got)
	}
}

func TestBodyKeepsHTMLCharacters(t *testing.T) {
	r := newReceiver(t, "", "")
	c := build(t, r.Config())
	msg := connectortest.Message("html-chars")
	msg.Payload = map[string]any{"link": "https://app.example.com/invite?a=1&b=<2>"}
	mustSend(t, c, msg)
	body := string(r.Requests()[0].Body)
	if !strings.Contains(body, `"link":"https://app.example.com/invite?a=1&b=<2>"`) {
		t.Errorf("body %s escapes HTML characters; Logto sends them as they are", body)
	}
}

func TestSignatureVerifiesAndDetectsTampering(t *testing.T) {
	r := newReceiver(t, testToken, testSecret)
	c := build(t, r.Config())
	mustSend(t, c, connectortest.Message("sig-1"))
	reqs := r.Requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	req := reqs[0]
	if !strings.HasPrefix(req.Header.Get("webhook-signature"), "v1,") {
		t.Errorf("webhook-signature = %q, want a v1 signature", req.Header.Get("webhook-signature"))
	}
	if err := wh.Verify(req.Body, req.Header); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	for _, i := range []int{0, len(req.Body) / 2, len(req.Body) - 1} {
		tampered := append([]byte(nil), req.Body...)
		tampered[i] ^= 0x01
		if err := wh.Verify(tampered, req.Header); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("body with byte %d changed: Verify = %v, want ErrNoMatchingSignature", i, err)
		}
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + strings.Repeat("QUJD", 8))
	if err := other.Verify(req.Body, req.Header); err == nil {
		t.Errorf("signature verifies with another secret")
	}
}

func TestWebhookIDStableAcrossRetries(t *testing.T) {
	r := newReceiver(t, testToken, testSecret)
	c := build(t, r.Config())
	r.Fail(connectortest.FailTemporary)
	if _, err := send(t, c, connectortest.Message("retry-7")); !errors.Is(err, connector.ErrTemporary) {
		t.Fatalf("first attempt: %v, want a temporary failure", err)
	}
	r.Fail(connectortest.FailNone)
	mustSend(t, c, connectortest.Message("retry-7"))
	mustSend(t, c, connectortest.Message("another"))
	reqs := r.Requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	id0, id1, id2 := reqs[0].Header.Get("webhook-id"), reqs[1].Header.Get("webhook-id"), reqs[2].Header.Get("webhook-id")
	if id0 != "retry-7" || id1 != id0 {
		t.Errorf("webhook-id across the retry = %q then %q, want retry-7 twice", id0, id1)
	}
	if id2 == id0 {
		t.Errorf("a different message reused webhook-id %q", id2)
	}
	if !regexp.MustCompile(`^\d{10}$`).MatchString(reqs[1].Header.Get("webhook-timestamp")) {
		t.Errorf("webhook-timestamp = %q, want Unix seconds", reqs[1].Header.Get("webhook-timestamp"))
	}
}

func TestExtraHeadersSent(t *testing.T) {
	r := newReceiver(t, "", "")
	r.extra = `"headers":{"X-Tenant":"acme","x-trace-origin":"authmail-test"}`
	c := build(t, r.Config())
	mustSend(t, c, connectortest.Message("hdr-1"))
	h := r.Requests()[0].Header
	if h.Get("X-Tenant") != "acme" || h.Get("X-Trace-Origin") != "authmail-test" {
		t.Errorf("extra headers not sent: %v", h)
	}
	if h.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
}

func TestForbiddenHeaderOverride(t *testing.T) {
	for _, name := range []string{"Content-Type", "content-type", "webhook-id", "Webhook-Timestamp", "webhook-signature", "Authorization", "Host"} {
		t.Run(name, func(t *testing.T) {
			raw := json.RawMessage(`{"endpoint":"https://mail.example.com","headers":{"X-Ok":"1","` + name + `":"x"}}`)
			_, err := connector.Build(context.Background(), ID, raw, testEnv())
			if !errors.Is(err, connector.ErrInvalidConfig) {
				t.Fatalf("error = %v, want ErrInvalidConfig", err)
			}
			if f := configErrorField(t, err); f != "headers."+name {
				t.Errorf("field = %q, want headers.%s", f, name)
			}
		})
	}
}

func TestEndpointScheme(t *testing.T) {
	cases := []struct {
		endpoint string
		insecure bool
		ok       bool
	}{
		{"http://mail.example.com/hook", false, false},
		{"http://10.0.0.8/hook", false, false},
		{"ftp://mail.example.com/hook", false, false},
		{"https://user:pw@mail.example.com/hook", false, false},
		{"https://mail.example.com/hook", false, true},
		{"http://127.0.0.1:8080/hook", false, true},
		{"http://localhost:8080/hook", false, true},
		{"http://[::1]:8080/hook", false, true},
		{"http://mail.example.com/hook", true, true},
	}
	for _, tc := range cases {
		env := testEnv()
		env.AllowInsecureEndpoint = tc.insecure
		_, err := connectortest.BuildUnchecked(context.Background(), Factory(), json.RawMessage(`{"endpoint":"`+tc.endpoint+`"}`), env)
		if tc.ok {
			if err != nil {
				t.Errorf("%s (insecure %v): %v", tc.endpoint, tc.insecure, err)
			}
			continue
		}
		if !errors.Is(err, connector.ErrInvalidConfig) {
			t.Errorf("%s: error = %v, want ErrInvalidConfig", tc.endpoint, err)
			continue
		}
		if f := configErrorField(t, err); f != "endpoint" {
			t.Errorf("%s: field = %q, want endpoint", tc.endpoint, f)
		}
	}
}

func TestTimeoutRespected(t *testing.T) {
	r := newReceiver(t, "", "")
	r.extra = `"timeout":"1s"`
	c := build(t, r.Config())
	r.Fail(connectortest.FailSlow)
	start := time.Now()
	_, err := send(t, c, connectortest.Message("slow-1")) // the caller allows 10s
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Send to a receiver slower than timeout succeeded")
	}
	if !errors.Is(err, connector.ErrTemporary) || !connector.Temporary(err) {
		t.Errorf("error = %v, want a temporary failure", err)
	}
	if !strings.Contains(err.Error(), "configured timeout 1s") {
		t.Errorf("error %q does not name the timeout", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Send took %v with a 1s timeout", elapsed)
	}
}

func TestNewNamesFieldsWithoutSchema(t *testing.T) {
	cases := map[string]string{
		`{"endpoint":5}`: "endpoint",
		`{"endpoint":"https://a.example","authorization":5}`:      "authorization",
		`{"endpoint":"https://a.example","headers":{"X":1}}`:      "headers",
		`{"endpoint":"https://a.example","timeout":true}`:         "timeout",
		`{"endpoint":"https://a.example","signingSecret":"x"}`:    "signingSecret",
		`{"endpoint":"https://a.example","authorization":"a\nb"}`: "authorization",
	}
	for raw, field := range cases {
		_, err := connectortest.BuildUnchecked(context.Background(), Factory(), json.RawMessage(raw), testEnv())
		if !errors.Is(err, connector.ErrInvalidConfig) {
			t.Errorf("%s: error = %v, want ErrInvalidConfig", raw, err)
			continue
		}
		if f := configErrorField(t, err); f != field {
			t.Errorf("%s: field = %q, want %q", raw, f, field)
		}
	}
}

func TestTimeoutConfigForms(t *testing.T) {
	cases := map[string]time.Duration{
		``:                 TimeoutDefault,
		`,"timeout":null`:  TimeoutDefault,
		`,"timeout":0`:     TimeoutDefault,
		`,"timeout":1500`:  1500 * time.Millisecond,
		`,"timeout":"45s"`: 45 * time.Second,
		`,"timeout":60000`: TimeoutMax,
	}
	for extra, want := range cases {
		s, err := parseConfig(json.RawMessage(`{"endpoint":"https://mail.example.com"`+extra+`}`), false)
		if err != nil {
			t.Errorf("%q: %v", extra, err)
			continue
		}
		if s.timeout != want {
			t.Errorf("%q: timeout = %v, want %v", extra, s.timeout, want)
		}
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer elsewhere.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		r := newReceiver(t, testToken, "")
		r.answer = func(w http.ResponseWriter) {
			w.Header().Set("Location", elsewhere.URL+"/moved")
			w.WriteHeader(status)
		}
		c := build(t, r.Config())
		_, err := send(t, c, connectortest.Message("redirect"))
		if !errors.Is(err, connector.ErrRejected) || connector.Temporary(err) {
			t.Errorf("status %d: error = %v, want a permanent rejection", status, err)
			continue
		}
		if !strings.Contains(err.Error(), elsewhere.URL+"/moved") {
			t.Errorf("status %d: error %q does not name the Location", status, err)
		}
		if len(r.Requests()) != 1 {
			t.Errorf("status %d: receiver got %d requests, want 1", status, len(r.Requests()))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests; redirects must not be followed", n)
	}
}

func TestErrorSnippetBounded(t *testing.T) {
	r := newReceiver(t, "", "")
	long := strings.Repeat("receiver says no. ", 2000)
	r.answer = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(long))
	}
	c := build(t, r.Config())
	_, err := send(t, c, connectortest.Message("long-error"))
	var ce *connector.Error
	if !errors.As(err, &ce) || !errors.Is(err, connector.ErrRejected) {
		t.Fatalf("error = %v, want a *connector.Error rejection", err)
	}
	if ce.Status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", ce.Status)
	}
	if !strings.HasPrefix(ce.Message, "receiver says no.") {
		t.Errorf("message %q does not start with the response body", ce.Message)
	}
	if len(ce.Message) > connector.SnippetLimit+len("…") {
		t.Errorf("message is %d bytes, want at most %d", len(ce.Message), connector.SnippetLimit+len("…"))
	}
}

func TestErrorMasksHeaderSecrets(t *testing.T) {
	r := newReceiver(t, testToken, "")
	r.extra = `"headers":{"X-Api-Key":"key-41d9b3c8e7"}`
	r.answer = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("bad key key-41d9b3c8e7 with token tok-7e1d4c2a9b8f6e5d"))
	}
	c := build(t, r.Config())
	_, err := send(t, c, connectortest.Message("mask"))
	if err == nil {
		t.Fatal("Send succeeded")
	}
	for _, s := range []string{"key-41d9b3c8e7", "tok-7e1d4c2a9b8f6e5d"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals %q", err, s)
		}
	}
}

func TestProviderMessageID(t *testing.T) {
	cases := map[string]string{
		`{"id":"esp-123"}`:                "esp-123",
		`{"messageId":"esp-456"}`:         "esp-456",
		`{"id":"","messageId":"esp-789"}`: "esp-789",
		`{"id":42}`:                       "",
		`not json`:                        "",
		``:                                "",
	}
	for body, want := range cases {
		r := newReceiver(t, "", "")
		r.answer = func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(body))
		}
		c := build(t, r.Config())
		rc := mustSend(t, c, connectortest.Message("pid"))
		if rc.ProviderMessageID != want {
			t.Errorf("answer %q: ProviderMessageID = %q, want %q", body, rc.ProviderMessageID, want)
		}
	}
}

func TestConnectionRefusedIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := build(t, json.RawMessage(`{"endpoint":"`+url+`/hook?token=query-secret"}`))
	_, err := send(t, c, connectortest.Message("refused"))
	if !errors.Is(err, connector.ErrTemporary) {
		t.Fatalf("error = %v, want a temporary failure", err)
	}
	if strings.Contains(err.Error(), "query-secret") {
		t.Errorf("error %q reveals the endpoint's query string", err)
	}
}

func TestReadmeConfigExampleIsValid(t *testing.T) {
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README has no JSON config example")
	}
	if err := connector.ValidateSchema(ID, json.RawMessage(m[1])); err != nil {
		t.Errorf("README example fails the schema: %v", err)
	}
	if _, err := parseConfig(json.RawMessage(m[1]), false); err != nil {
		t.Errorf("README example is refused: %v", err)
	}
}

// parseConfig decodes raw and resolves its settings, as Build does.
func parseConfig(raw json.RawMessage, allowInsecure bool) (settings, error) {
	var c Config
	if err := connector.DecodeConfig(raw, &c); err != nil {
		return settings{}, err
	}
	return c.settings(allowInsecure)
}
