package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/store"
)

// Metrics are the delivery figures exported at /metrics.
type Metrics struct {
	messages *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	enqueue  prometheus.Counter
}

// NewMetrics registers the delivery metrics with reg. Queue depth is read
// from the database at scrape time.
func NewMetrics(reg prometheus.Registerer, st *store.Store) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authmail_messages_total",
			Help: "Delivery attempts by connector, usage type and outcome (sent, temporary, permanent).",
		}, []string{"connector", "usage_type", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authmail_send_duration_seconds",
			Help:    "Time a connector took to hand one message to its provider.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"connector"}),
		enqueue: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authmail_messages_enqueued_total",
			Help: "Messages written to the message log and queued.",
		}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "authmail_queue_depth",
		Help: "Messages not yet settled (queued or being sent).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		counts, err := st.MessageCounts(ctx)
		if err != nil {
			return -1
		}
		return float64(counts[store.StatusQueued] + counts[store.StatusSending])
	})
	reg.MustRegister(m.messages, m.latency, m.enqueue, depth)
	return m
}

func (m *Metrics) enqueued() {
	if m != nil {
		m.enqueue.Inc()
	}
}

func (m *Metrics) observe(connectorID, usage string, err error, d time.Duration) {
	if m == nil {
		return
	}
	outcome := "sent"
	switch {
	case err == nil:
	case connector.Temporary(err) || errors.Is(err, context.Canceled):
		outcome = "temporary"
	default:
		outcome = "permanent"
	}
	m.messages.WithLabelValues(connectorID, usage, outcome).Inc()
	m.latency.WithLabelValues(connectorID).Observe(d.Seconds())
}

func (m *Metrics) failedWithoutAttempt() {
	if m != nil {
		m.messages.WithLabelValues("", "", "expired_or_unroutable").Inc()
	}
}
