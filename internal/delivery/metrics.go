package delivery

import (
	"context"
	"errors"
	"strconv"
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
	reg.MustRegister(m.messages, m.latency, m.enqueue, depth, newHealthCollector(st))
	return m
}

// healthCollector exports every tenant's connector health, read from
// the message log at scrape time, so every process reports what all of
// them did.
type healthCollector struct {
	st                                  *store.Store
	consecutiveFailures, lastOK, lastKO *prometheus.Desc
}

func newHealthCollector(st *store.Store) *healthCollector {
	labels := []string{"tenant", "connector"}
	return &healthCollector{st: st,
		consecutiveFailures: prometheus.NewDesc("authmail_connector_consecutive_failures",
			"Failed delivery attempts through the tenant's connector since its last success (counted up to "+strconv.Itoa(store.MaxCountedFailures)+").", labels, nil),
		lastOK: prometheus.NewDesc("authmail_connector_last_success_timestamp_seconds",
			"When the connector's last successful delivery attempt ended, as a Unix time; 0 if it has had none.", labels, nil),
		lastKO: prometheus.NewDesc("authmail_connector_last_failure_timestamp_seconds",
			"When the connector's last failed delivery attempt ended, as a Unix time; 0 if it has had none.", labels, nil),
	}
}

// Describe sends the health descriptors.
func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.consecutiveFailures
	ch <- c.lastOK
	ch <- c.lastKO
}

// Collect reads the health of every connector. A database that does not
// answer leaves the series out rather than fail the whole scrape.
func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	all, err := c.st.ConnectorHealthAll(ctx)
	if err != nil {
		return
	}
	for _, h := range all {
		ch <- prometheus.MustNewConstMetric(c.consecutiveFailures, prometheus.GaugeValue, float64(h.ConsecutiveFailures), h.TenantID, h.ConnectorID)
		ch <- prometheus.MustNewConstMetric(c.lastOK, prometheus.GaugeValue, unixSeconds(h.LastSuccessAt), h.TenantID, h.ConnectorID)
		ch <- prometheus.MustNewConstMetric(c.lastKO, prometheus.GaugeValue, unixSeconds(h.LastFailureAt), h.TenantID, h.ConnectorID)
	}
}

// unixSeconds is t as a Unix time in seconds, 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMicro()) / 1e6
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
