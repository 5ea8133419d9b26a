package api_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/testwait"
)

// inboxMessage is a dev inbox entry as GET /api/dev-inbox/messages shows it.
type inboxMessage struct {
	ID        string         `json:"id"`
	MessageID string         `json:"messageId"`
	To        string         `json:"to"`
	From      string         `json:"from"`
	Subject   string         `json:"subject"`
	HTML      string         `json:"html"`
	Text      string         `json:"text"`
	Type      string         `json:"type"`
	Payload   map[string]any `json:"payload"`
	CreatedAt int64          `json:"createdAt"`
}

// message is a message log entry.
type message struct {
	ID                string `json:"id"`
	To                string `json:"to"`
	Type              string `json:"type"`
	Locale            string `json:"locale"`
	Status            string `json:"status"`
	Connector         string `json:"connector"`
	Attempts          int    `json:"attempts"`
	LastError         string `json:"lastError"`
	ProviderMessageID string `json:"providerMessageId"`
	SentAt            int64  `json:"sentAt"`
	ExpiresAt         int64  `json:"expiresAt"`
	AttemptLog        []struct {
		Attempt int    `json:"attempt"`
		Outcome string `json:"outcome"`
		Error   string `json:"error"`
	} `json:"attemptLog"`
}

// installed is an installed connector.
type installed struct {
	ID          string          `json:"id"`
	ConnectorID string          `json:"connectorId"`
	Config      json.RawMessage `json:"config"`
}

func sendCode(t *testing.T, a *apptest.App, email string) {
	t.Helper()
	a.JSON("POST", "/api/verification-codes", map[string]string{"email": email}, http.StatusNoContent, nil)
}

func inbox(t *testing.T, a *apptest.App, to string) []inboxMessage {
	t.Helper()
	var out []inboxMessage
	a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(to), nil, http.StatusOK, &out)
	return out
}

func messages(t *testing.T, a *apptest.App, to string) []message {
	t.Helper()
	var out []message
	a.JSON("GET", "/api/messages?to="+url.QueryEscape(to), nil, http.StatusOK, &out)
	return out
}

func getMessage(t *testing.T, a *apptest.App, id string) message {
	t.Helper()
	var m message
	a.JSON("GET", "/api/messages/"+id, nil, http.StatusOK, &m)
	return m
}

// onlyMessage returns the one message logged for to.
func onlyMessage(t *testing.T, a *apptest.App, to string) message {
	t.Helper()
	ms := messages(t, a, to)
	if len(ms) != 1 {
		t.Fatalf("message log for %s has %d entries, want 1: %+v", to, len(ms), ms)
	}
	return getMessage(t, a, ms[0].ID)
}

// waitStatus polls a message until it has the status, for at most 15 s.
func waitStatus(t *testing.T, a *apptest.App, id, status string) message {
	t.Helper()
	var m message
	testwait.Until(t, 15*time.Second, func() bool {
		m = getMessage(t, a, id)
		return m.Status == status
	}, "message %s never became %s (last: %+v)", id, status, &m)
	return m
}

func connectors(t *testing.T, a *apptest.App) []installed {
	t.Helper()
	var out []installed
	a.JSON("GET", "/api/connectors", nil, http.StatusOK, &out)
	return out
}

func createConnector(t *testing.T, a *apptest.App, factory string, config any) installed {
	t.Helper()
	var c installed
	a.JSON("POST", "/api/connectors", map[string]any{"connectorId": factory, "config": config}, http.StatusOK, &c)
	return c
}

func patchExperience(t *testing.T, a *apptest.App, body any) {
	t.Helper()
	a.JSON("PATCH", "/api/sign-in-exp", body, http.StatusOK, nil)
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// codeFromInbox reads the code of the newest dev inbox message to to,
// checking that the text part and the payload agree.
func codeFromInbox(t *testing.T, a *apptest.App, to string) string {
	t.Helper()
	msgs := inbox(t, a, to)
	if len(msgs) == 0 {
		t.Fatalf("dev inbox has nothing for %s", to)
	}
	code, _ := msgs[0].Payload["code"].(string)
	if !sixDigits.MatchString(code) || len(code) != 6 {
		t.Fatalf("payload code = %q, want six digits", code)
	}
	return code
}

// receiver is an HTTP email endpoint that records requests and answers
// with the statuses it is given, then 200.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	answers  []answer
}

type answer struct {
	status int
	body   string
}

type received struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t *testing.T, answers ...answer) *receiver {
	rc := &receiver{answers: answers}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, 0, 512)
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, received{Header: r.Header.Clone(), Body: body})
	ans := answer{status: http.StatusOK, body: `{"id":"prov-1"}`}
	if len(rc.answers) > 0 {
		ans = rc.answers[0]
		if len(rc.answers) > 1 || ans.status < 300 {
			rc.answers = rc.answers[1:]
		}
	}
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.status)
	_, _ = w.Write([]byte(ans.body))
}

// Requests returns what arrived so far.
func (rc *receiver) Requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

// httpConfig is an HTTP email connector config for the receiver.
func (rc *receiver) config(extra map[string]any) map[string]any {
	cfg := map[string]any{"endpoint": rc.URL + "/email"}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }
