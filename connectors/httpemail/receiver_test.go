package httpemail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/authmail/authmail/connector/connectortest"
)

const (
	testToken  = "Bearer tok-7e1d4c2a9b8f6e5d"
	testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwQ2hGm0zq1F8="
)

// wireBody is the request body as a receiver must see it: exactly Logto's
// fields, nothing else.
type wireBody struct {
	To      string         `json:"to"`
	Type    string         `json:"type"`
	Payload map[string]any `json:"payload"`
	IP      *string        `json:"ip"`
}

// request is one request as the receiver got it.
type request struct {
	Header http.Header
	Body   []byte
}

// receiver is a test HTTP email receiver written the way the README tells
// users to write one: it checks the token and the signature and decodes
// the body strictly.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	auth   string // the expected Authorization header; "" for none
	secret string // the signing secret; "" when requests are unsigned
	extra  string // an extra config fragment, such as `"timeout":"1s"`
	wh     *standardwebhooks.Webhook
	done   chan struct{}

	mu       sync.Mutex
	fail     connectortest.Failure
	answer   func(w http.ResponseWriter) // overrides the 2xx answer when set
	received []connectortest.Received
	requests []request
}

// newReceiver starts a receiver expecting auth and signed with secret.
func newReceiver(t *testing.T, auth, secret string) *receiver {
	t.Helper()
	r := &receiver{t: t, auth: auth, secret: secret, done: make(chan struct{})}
	if secret != "" {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatalf("signing secret: %v", err)
		}
		r.wh = wh
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		close(r.done)
		r.srv.Close()
	})
	return r
}

// URL is the receiver's endpoint.
func (r *receiver) URL() string { return r.srv.URL + "/authmail/email" }

// Config implements connectortest.Backend.
func (r *receiver) Config() json.RawMessage {
	cfg := map[string]any{"endpoint": r.URL()}
	if r.auth != "" {
		cfg["authorization"] = r.auth
	}
	if r.secret != "" {
		cfg["signingSecret"] = r.secret
	}
	b, _ := json.Marshal(cfg)
	if r.extra != "" {
		b = append(b[:len(b)-1], []byte(","+r.extra+"}")...)
	}
	return b
}

// Received implements connectortest.Backend.
func (r *receiver) Received() []connectortest.Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]connectortest.Received(nil), r.received...)
}

// Requests returns every request that passed the checks, failing or not.
func (r *receiver) Requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.requests...)
}

// Fail implements connectortest.Backend.
func (r *receiver) Fail(f connectortest.Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	if msg := r.check(req, body); msg != "" {
		r.t.Errorf("receiver: %s", msg)
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	var wb wireBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wb); err != nil {
		r.t.Errorf("receiver: body %s: %v", body, err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if wb.IP != nil && *wb.IP == "" {
		r.t.Errorf("receiver: body %s carries an empty ip; it must be omitted", body)
	}
	r.mu.Lock()
	fail, answer := r.fail, r.answer
	r.requests = append(r.requests, request{Header: req.Header.Clone(), Body: body})
	r.mu.Unlock()
	if r.failed(w, req, fail) {
		return
	}
	r.mu.Lock()
	r.received = append(r.received, connectortest.Received{
		To:        wb.To,
		MessageID: req.Header.Get("webhook-id"),
		Type:      wb.Type,
		Payload:   wb.Payload,
	})
	r.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// check returns what is wrong with the request, or "".
func (r *receiver) check(req *http.Request, body []byte) string {
	switch {
	case req.Method != http.MethodPost:
		return "method " + req.Method
	case req.URL.Path != "/authmail/email":
		return "path " + req.URL.Path
	case req.Header.Get("Content-Type") != "application/json":
		return "content type " + req.Header.Get("Content-Type")
	case req.Header.Get("Authorization") != r.auth:
		return "unexpected Authorization header"
	case req.Header.Get("webhook-id") == "" || req.Header.Get("webhook-timestamp") == "":
		return "missing webhook-id or webhook-timestamp"
	}
	if r.wh == nil {
		if req.Header.Get("webhook-signature") != "" {
			return "signature sent without a signing secret"
		}
		return ""
	}
	if err := r.wh.Verify(body, req.Header); err != nil {
		return fmt.Sprintf("signature: %v", err)
	}
	return ""
}

// failed answers as fail says and reports whether it did.
func (r *receiver) failed(w http.ResponseWriter, req *http.Request, fail connectortest.Failure) bool {
	switch fail {
	case connectortest.FailAuth:
		http.Error(w, `{"error":"invalid token"}`, http.StatusUnauthorized)
	case connectortest.FailReject:
		// A careless receiver echoing the credentials it got.
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, `{"error":"unknown recipient","authorization":%q}`, req.Header.Get("Authorization"))
	case connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case connectortest.FailTemporary:
		http.Error(w, "upstream ESP unavailable", http.StatusServiceUnavailable)
	case connectortest.FailSlow:
		select {
		case <-req.Context().Done():
		case <-r.done:
		case <-time.After(30 * time.Second):
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return false
	}
	return true
}
