package resend_test

import (
	"context"
	"encoding/json"
	"errors"
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

	"example.com/customconnector/resend"
)

const testKey = "re_test_0123456789abcdef"

// sent is the documented body of Resend's POST /emails; the fake server
// decodes with DisallowUnknownFields against it.
type sent struct {
	From        string            `json:"from"`
	To          []string          `json:"to"`
	Subject     string            `json:"subject"`
	Bcc         []string          `json:"bcc"`
	Cc          []string          `json:"cc"`
	ScheduledAt string            `json:"scheduled_at"`
	ReplyTo     string            `json:"reply_to"`
	HTML        string            `json:"html"`
	Text        string            `json:"text"`
	Headers     map[string]string `json:"headers"`
	Tags        []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"tags"`
}

// backend is a fake Resend email API.
type backend struct {
	t   *testing.T
	srv *httptest.Server
	connectortest.Recorder
	mu         sync.Mutex
	bodies     []sent
	rejectCode int    // the status of FailReject: 422 unless set
	rejectName string // the error name of FailReject
}

func newBackend(t *testing.T) *backend {
	b := &backend{t: t, rejectCode: http.StatusUnprocessableEntity, rejectName: "validation_error"}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) Config() json.RawMessage {
	raw, _ := json.Marshal(map[string]any{"apiKey": testKey, "fromEmail": "Example <no-reply@example.com>", "endpoint": b.srv.URL})
	return raw
}

func (b *backend) fail(w http.ResponseWriter, status int, name, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "name": name, "message": message})
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/emails" {
		b.fail(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
		return
	}
	switch b.Failure() {
	case connectortest.FailAuth:
		b.fail(w, http.StatusForbidden, "invalid_api_key", "API key is invalid")
		return
	case connectortest.FailReject:
		b.fail(w, b.rejectCode, b.rejectName, "The to field must be a valid email address")
		return
	case connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		b.fail(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests")
		return
	case connectortest.FailTemporary:
		b.fail(w, http.StatusInternalServerError, "application_error", "Something went wrong")
		return
	case connectortest.FailSlow:
		// Answer only once the caller has given up. The server notices a
		// closed connection only after the body has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		b.fail(w, http.StatusServiceUnavailable, "application_error", "too slow")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		b.fail(w, http.StatusUnauthorized, "missing_api_key", "Missing API key in the authorization header")
		return
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var s sent
	if err := dec.Decode(&s); err != nil {
		b.t.Errorf("request body is not Resend's: %v", err)
		b.fail(w, http.StatusUnprocessableEntity, "validation_error", err.Error())
		return
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil || len(s.To) != 1 || s.Subject == "" {
		b.fail(w, http.StatusUnprocessableEntity, "validation_error", "from, to and subject are required")
		return
	}
	b.mu.Lock()
	b.bodies = append(b.bodies, s)
	b.mu.Unlock()
	b.Record(connectortest.Received{To: s.To[0], From: from.Address, FromName: from.Name, ReplyTo: s.ReplyTo,
		Subject: s.Subject, HTML: s.HTML, Text: s.Text, MessageID: r.Header.Get("Idempotency-Key")})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}`))
}

func (b *backend) sent() []sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]sent(nil), b.bodies...)
}

// TestConformance runs authmail's connector conformance suite.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Factory:    resend.Factory(),
		NewBackend: func(t *testing.T) connectortest.Backend { return newBackend(t) },
		InvalidConfigs: []connectortest.InvalidConfig{
			connectortest.Invalid("NoAPIKey", `{"fromEmail":"no-reply@example.com"}`, "apiKey"),
			connectortest.Invalid("NoSender", `{"apiKey":"re_x"}`, "fromEmail"),
			connectortest.Invalid("BadSender", `{"apiKey":"re_x","fromEmail":"not an address"}`, "fromEmail"),
			connectortest.Invalid("BadReplyTo", `{"apiKey":"re_x","fromEmail":"no-reply@example.com","replyTo":"nope"}`, "replyTo"),
			connectortest.Invalid("PlainHTTPEndpoint", `{"apiKey":"re_x","fromEmail":"no-reply@example.com","endpoint":"http://api.example.com"}`, "endpoint"),
			connectortest.Invalid("APIKeyNotAString", `{"apiKey":7,"fromEmail":"no-reply@example.com"}`, "apiKey"),
		},
		Secrets:    []string{testKey},
		RetryAfter: 7 * time.Second,
	})
}

// TestSendsUsageTypeAndReceipt: the usage type is a tag, the configured
// Reply-To is used when the message has none, extra headers pass but
// cannot replace From, and the receipt carries Resend's email id.
func TestSendsUsageTypeAndReceipt(t *testing.T) {
	b := newBackend(t)
	var cfg map[string]any
	_ = json.Unmarshal(b.Config(), &cfg)
	cfg["replyTo"] = "support@example.com"
	raw, _ := json.Marshal(cfg)
	c := connectortest.Build(t, resend.ID, raw, connectortest.Env(&strings.Builder{}))
	msg := connectortest.Message("msg-tags")
	msg.Headers = map[string]string{"X-Campaign": "auth", "From": "evil@example.net"}
	rc := connectortest.Send(t, c, msg)
	if rc.ProviderMessageID != "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794" {
		t.Errorf("receipt = %+v, want Resend's id", rc)
	}
	got := b.sent()
	if len(got) != 1 {
		t.Fatalf("%d emails sent, want 1", len(got))
	}
	s := got[0]
	if len(s.Tags) != 1 || s.Tags[0].Name != "usage_type" || s.Tags[0].Value != string(connector.UsageSignIn) {
		t.Errorf("tags = %+v, want usage_type=SignIn", s.Tags)
	}
	if s.ReplyTo != "<support@example.com>" {
		t.Errorf("reply_to = %q, want the configured address", s.ReplyTo)
	}
	if s.Headers["X-Campaign"] != "auth" || s.Headers["From"] != "" {
		t.Errorf("headers = %v, want X-Campaign only", s.Headers)
	}
}

// TestUnverifiedSenderIsARejectionNotAnAuthFailure: Resend answers 403
// validation_error for a sender on an unverified domain; that is a refused
// message, while 403 invalid_api_key stays an authentication failure.
func TestUnverifiedSenderIsARejectionNotAnAuthFailure(t *testing.T) {
	b := newBackend(t)
	b.rejectCode, b.rejectName = http.StatusForbidden, "validation_error"
	c := connectortest.Build(t, resend.ID, b.Config(), connectortest.Env(&strings.Builder{}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.Fail(connectortest.FailReject)
	if _, err := c.Send(ctx, connectortest.Message("msg-unverified")); !errors.Is(err, connector.ErrRejected) || errors.Is(err, connector.ErrAuth) {
		t.Errorf("403 validation_error: %v, want ErrRejected", err)
	}
	b.Fail(connectortest.FailAuth)
	if _, err := c.Send(ctx, connectortest.Message("msg-bad-key")); !errors.Is(err, connector.ErrAuth) {
		t.Errorf("403 invalid_api_key: %v, want ErrAuth", err)
	}
}
