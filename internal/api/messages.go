package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
)

type attemptJSON struct {
	Attempt    int    `json:"attempt"`
	StartedAt  int64  `json:"startedAt"`
	DurationMs int64  `json:"durationMs"`
	Outcome    string `json:"outcome"`
	Error      string `json:"error,omitempty"`
}

type messageJSON struct {
	ID                string        `json:"id"`
	To                string        `json:"to"`
	Type              string        `json:"type"`
	Locale            string        `json:"locale"`
	Status            string        `json:"status"`
	Connector         string        `json:"connector"`
	Attempts          int           `json:"attempts"`
	LastError         string        `json:"lastError,omitempty"`
	ProviderMessageID string        `json:"providerMessageId,omitempty"`
	CreatedAt         int64         `json:"createdAt"`
	UpdatedAt         int64         `json:"updatedAt"`
	SentAt            int64         `json:"sentAt,omitempty"`
	ExpiresAt         int64         `json:"expiresAt"`
	AttemptLog        []attemptJSON `json:"attemptLog,omitempty"`
}

func messageView(m store.Message) messageJSON {
	v := messageJSON{ID: m.ID, To: m.Recipient, Type: m.UsageType, Locale: m.Locale, Status: m.Status, Connector: m.ConnectorID,
		Attempts: m.Attempts, LastError: m.LastError, ProviderMessageID: m.ProviderMessageID,
		CreatedAt: m.CreatedAt.UnixMilli(), UpdatedAt: m.UpdatedAt.UnixMilli(), ExpiresAt: m.ExpiresAt.UnixMilli()}
	if !m.SentAt.IsZero() {
		v.SentAt = m.SentAt.UnixMilli()
	}
	return v
}

func validStatus(s string) bool {
	switch s {
	case store.StatusQueued, store.StatusSending, store.StatusSent, store.StatusFailed:
		return true
	}
	return false
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	to, err := toFilter(r)
	if err != nil {
		return err
	}
	f := store.MessageFilter{Tenant: tenant.FromContext(r.Context()), To: to, Status: q.Get("status")}
	if f.Status != "" && !validStatus(f.Status) {
		return invalidInput("status", "must be queued, sending, sent or failed")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return invalidInput("limit", "must be a number from 1 to 500")
		}
		f.Limit = n
	}
	if v := q.Get("before"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return invalidInput("before", "must be a createdAt value in milliseconds")
		}
		f.Before = time.UnixMilli(ms)
	}
	rows, err := s.Store.MessageList(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]messageJSON, 0, len(rows))
	for _, m := range rows {
		out = append(out, messageView(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	m, err := s.Store.MessageGet(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message")
	}
	if err != nil {
		return err
	}
	atts, err := s.Store.AttemptList(r.Context(), m.TenantID, m.ID)
	if err != nil {
		return err
	}
	v := messageView(m)
	v.AttemptLog = []attemptJSON{}
	for _, a := range atts {
		v.AttemptLog = append(v.AttemptLog, attemptJSON{Attempt: a.Attempt, StartedAt: a.StartedAt.UnixMilli(),
			DurationMs: a.Duration.Milliseconds(), Outcome: a.Outcome, Error: a.Error})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// toFilter reads a recipient filter (the "to" query parameter): empty, or
// an address, matched in its canonical form as messages are stored.
func toFilter(r *http.Request) (string, error) {
	to := r.URL.Query().Get("to")
	if to == "" {
		return "", nil
	}
	a, err := checkEmail("to", to)
	return a.String(), err
}

type inboxJSON struct {
	ID        string          `json:"id"`
	MessageID string          `json:"messageId"`
	To        string          `json:"to"`
	From      string          `json:"from"`
	Subject   string          `json:"subject"`
	HTML      string          `json:"html"`
	Text      string          `json:"text"`
	Type      string          `json:"type"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt int64           `json:"createdAt"`
}

func (s *Server) devInbox(w http.ResponseWriter, r *http.Request) error {
	to, err := toFilter(r)
	if err != nil {
		return err
	}
	rows, err := s.Store.InboxList(r.Context(), tenant.FromContext(r.Context()), to, 100)
	if err != nil {
		return err
	}
	out := make([]inboxJSON, 0, len(rows))
	for _, m := range rows {
		out = append(out, inboxJSON{ID: m.ID, MessageID: m.MessageID, To: m.To, From: m.From, Subject: m.Subject, HTML: m.HTML,
			Text: m.Text, Type: m.Type, Payload: json.RawMessage(m.Payload), CreatedAt: m.CreatedAt.UnixMilli()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
