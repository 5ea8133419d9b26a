package console

import (
	"net/http"
	"time"

	"github.com/authmail/authmail/internal/store"
)

// counts are the messages of a period by status.
type counts struct {
	Sent, Failed, Pending int64
}

func countsOf(m map[string]int64) counts {
	return counts{Sent: m[store.StatusSent], Failed: m[store.StatusFailed], Pending: m[store.StatusQueued] + m[store.StatusSending]}
}

// overviewData is what the overview shows.
type overviewData struct {
	Connector *installedView
	Hour, Day counts
}

// overviewPage shows where email stands: the connector and its health,
// and what was sent in the last hour and day.
func (s *Server) overviewPage(p *page) error {
	cur, err := s.current(p)
	if err != nil {
		return err
	}
	d := overviewData{}
	if cur != nil {
		d.Connector = installed(*cur)
	}
	now := s.Now()
	hour, err := s.Delivery.Counts(p.r.Context(), p.tenant, now.Add(-time.Hour))
	if err != nil {
		return err
	}
	day, err := s.Delivery.Counts(p.r.Context(), p.tenant, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	d.Hour, d.Day = countsOf(hour), countsOf(day)
	v := p.view("overview")
	v.Data, v.policy = d, logoPolicy()
	p.render(http.StatusOK, "overview", v)
	return nil
}
