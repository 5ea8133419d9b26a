package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/store"
)

// messagesPageSize is how many messages one page of the log shows.
const messagesPageSize = 50

// periods are the log's time filters, by value.
var periods = []struct {
	value string
	label msg
	d     time.Duration
}{
	{"1h", msg("messages.period_hour"), time.Hour},
	{"24h", msg("messages.period_day"), 24 * time.Hour},
	{"7d", msg("messages.period_week"), 7 * 24 * time.Hour},
	{"", msg("messages.period_all"), 0},
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// messagesData is what the delivery log shows.
type messagesData struct {
	Hour, Day counts
	// The filters, as given.
	To, Type, Status, Since  string
	Types, Statuses, Periods []option
	Messages                 []store.Message
	// Older is the link to the next page, "" on the last.
	Older string
}

// messagesPage is the delivery log: counts for the last hour and day, and
// the messages the filters (recipient, usage type, status, time) select,
// newest first.
func (s *Server) messagesPage(p *page) error {
	q := p.r.URL.Query()
	d := messagesData{To: strings.TrimSpace(q.Get("to")), Type: q.Get("type"), Status: q.Get("status"), Since: q.Get("since")}
	v := p.view("messages")
	f := store.MessageFilter{Tenant: p.tenant, Limit: messagesPageSize}
	fields := map[string]string{}
	if d.To != "" {
		a, err := address.Parse(d.To)
		if err != nil {
			fields["filter-to"] = p.cat.text(msg("messages.bad_to"))
		}
		f.To = a.String()
	}
	if d.Type != "" {
		if !connector.UsageType(d.Type).Valid() {
			fields["filter-type"] = p.cat.text(msg("error.bad_form"))
		}
		f.UsageType = d.Type
	}
	switch d.Status {
	case "", store.StatusQueued, store.StatusSending, store.StatusSent, store.StatusFailed:
		f.Status = d.Status
	default:
		fields["filter-status"] = p.cat.text(msg("error.bad_form"))
	}
	now := s.Now()
	for _, per := range periods {
		if per.value == d.Since && per.d > 0 {
			f.Since = now.Add(-per.d)
		}
		d.Periods = append(d.Periods, option{Value: per.value, Label: p.cat.text(per.label), Selected: per.value == d.Since})
	}
	if b := q.Get("before"); b != "" {
		if ms, err := strconv.ParseInt(b, 10, 64); err == nil && ms > 0 {
			f.Before = time.UnixMilli(ms)
		}
	}
	d.Types = []option{{Value: "", Label: p.cat.text(msg("messages.any")), Selected: d.Type == ""}}
	for _, u := range connector.UsageTypes() {
		d.Types = append(d.Types, option{Value: string(u), Label: string(u), Selected: d.Type == string(u)})
	}
	d.Statuses = []option{{Value: "", Label: p.cat.text(msg("messages.any")), Selected: d.Status == ""}}
	for _, st := range []struct {
		v string
		l msg
	}{{store.StatusSent, msg("status.sent")}, {store.StatusFailed, msg("status.failed")},
		{store.StatusQueued, msg("status.queued")}, {store.StatusSending, msg("status.sending")}} {
		d.Statuses = append(d.Statuses, option{Value: st.v, Label: p.cat.text(st.l), Selected: d.Status == st.v})
	}
	ctx := p.r.Context()
	hour, err := s.Delivery.Counts(ctx, p.tenant, now.Add(-time.Hour))
	if err != nil {
		return err
	}
	day, err := s.Delivery.Counts(ctx, p.tenant, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	d.Hour, d.Day = countsOf(hour), countsOf(day)
	status := http.StatusOK
	if len(fields) > 0 {
		v.Fields, status = fields, http.StatusBadRequest
	} else {
		if d.Messages, err = s.Delivery.Messages(ctx, f); err != nil {
			return err
		}
		if len(d.Messages) == messagesPageSize {
			next := url.Values{}
			for k, val := range map[string]string{"to": d.To, "type": d.Type, "status": d.Status, "since": d.Since} {
				if val != "" {
					next.Set(k, val)
				}
			}
			next.Set("before", strconv.FormatInt(d.Messages[len(d.Messages)-1].CreatedAt.UnixMilli(), 10))
			d.Older = Prefix + "/messages?" + next.Encode()
		}
	}
	v.Data = d
	p.render(status, "messages", v)
	return nil
}

// messageData is what one message's page shows.
type messageData struct {
	Message  store.Message
	Attempts []store.Attempt
	// CanRetry says the message failed and its code is still valid.
	CanRetry bool
}

// messagePage shows one message with every attempt and its error, and
// offers to retry a failed one.
func (s *Server) messagePage(p *page) error {
	m, atts, err := s.Delivery.Message(p.r.Context(), p.tenant, p.r.PathValue("id"))
	if err != nil {
		return err
	}
	v := p.view("messages")
	v.Data = messageData{Message: m, Attempts: atts, CanRetry: m.Status == store.StatusFailed && s.Now().Before(m.ExpiresAt)}
	p.render(http.StatusOK, "message", v)
	return nil
}

// retryMessage queues a failed message again.
func (s *Server) retryMessage(p *page) error {
	id := p.r.PathValue("id")
	err := s.Delivery.Retry(p.r.Context(), p.tenant, id)
	if errors.Is(err, delivery.ErrNotFailed) || errors.Is(err, delivery.ErrExpired) {
		m, atts, gerr := s.Delivery.Message(p.r.Context(), p.tenant, id)
		if gerr != nil {
			return gerr
		}
		v := p.view("messages")
		v.Error = p.cat.text(msg("message.not_failed"))
		if errors.Is(err, delivery.ErrExpired) {
			v.Error = p.cat.text(msg("message.expired"))
		}
		v.Data = messageData{Message: m, Attempts: atts}
		p.render(http.StatusConflict, "message", v)
		return nil
	}
	if err != nil {
		return err
	}
	return p.redirect(Prefix + "/messages/" + url.PathEscape(id) + "?notice=message_retried")
}
