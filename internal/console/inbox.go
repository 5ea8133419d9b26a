package console

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/store"
)

// inboxData is what the dev inbox's list shows.
type inboxData struct {
	To       string
	Messages []store.InboxMessage
}

// inboxPage lists the dev inbox's messages, newest first, of one
// recipient when ?to= is given.
func (s *Server) inboxPage(p *page) error {
	d := inboxData{To: strings.TrimSpace(p.r.URL.Query().Get("to"))}
	v := p.view("inbox")
	to := ""
	if d.To != "" {
		a, err := address.Parse(d.To)
		if err != nil {
			v.Fields, v.Focus, v.Data = map[string]string{"inbox-to": p.cat.text(msg("messages.bad_to"))}, "inbox-to", d
			p.render(http.StatusBadRequest, "inbox", v)
			return nil
		}
		to = a.String()
	}
	var err error
	if d.Messages, err = s.Delivery.Inbox(p.r.Context(), p.tenant, to, 100); err != nil {
		return err
	}
	v.Data = d
	p.render(http.StatusOK, "inbox", v)
	return nil
}

// inboxMessageData is one dev inbox message as a mail client shows it.
type inboxMessageData struct {
	Message store.InboxMessage
	// Code is the code the message carries, when it has one.
	Code string
}

// inboxMessagePage shows one dev inbox message: its headers, the HTML
// part in a sandboxed frame and the text part.
func (s *Server) inboxMessagePage(p *page) error {
	m, err := s.Delivery.InboxMessage(p.r.Context(), p.tenant, p.r.PathValue("id"))
	if err != nil {
		return err
	}
	d := inboxMessageData{Message: m}
	var payload map[string]any
	if json.Unmarshal([]byte(m.Payload), &payload) == nil {
		d.Code, _ = payload["code"].(string)
	}
	v := p.view("inbox")
	v.Data, v.policy = d, mailPolicy()
	p.render(http.StatusOK, "inbox-message", v)
	return nil
}
