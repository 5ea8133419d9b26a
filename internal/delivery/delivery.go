// Package delivery takes rendered messages to the tenant's email connector
// without losing any: a message row and its River job commit in the same
// transaction as whatever caused the send, the request then makes the
// first attempt itself (bounded in time), and the job is the safety net
// that retries temporary failures with backoff until the message's
// content (a code) expires. Every attempt is logged with its error.
package delivery

import (
	"context"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
)

// Config tunes delivery. Zero fields take the documented defaults.
type Config struct {
	// Workers is how many deliveries a process runs at once; 0 runs no
	// workers (the process only enqueues and makes first attempts).
	Workers int
	// FirstAttemptWait bounds the attempt made inside the request.
	// Defaults to 8s.
	FirstAttemptWait time.Duration
	// AttemptTimeout bounds each attempt a worker makes. Defaults to 20s.
	AttemptTimeout time.Duration
	// RescueAfter is when a job whose process died is run again. Defaults
	// to AttemptTimeout+10s (30s): above the longest a live attempt runs,
	// and short enough that, with River's leader lease (15s) and its
	// rescuer's 30s period, a message whose attempt a crash interrupted is
	// retried within a minute of the restart.
	RescueAfter time.Duration
	// PollInterval is how often workers look for due jobs. Defaults to 250ms.
	PollInterval time.Duration
	// KeepMessages is how long the message log keeps finished messages.
	// Defaults to 30 days.
	KeepMessages time.Duration
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.FirstAttemptWait, 8*time.Second)
	def(&c.AttemptTimeout, 20*time.Second)
	def(&c.RescueAfter, c.AttemptTimeout+10*time.Second)
	def(&c.PollInterval, 250*time.Millisecond)
	def(&c.KeepMessages, 30*24*time.Hour)
	return c
}

// Content is what a message says. It is sealed at rest because it carries
// the code.
type Content struct {
	From    connector.Address `json:"from"`
	ReplyTo connector.Address `json:"replyTo"`
	Subject string            `json:"subject"`
	HTML    string            `json:"html"`
	Text    string            `json:"text"`
	Payload map[string]any    `json:"payload"`
	IP      string            `json:"ip,omitempty"`
}

// Outgoing is a message to enqueue.
type Outgoing struct {
	Tenant  string
	To      string
	Usage   connector.UsageType
	Locale  string
	Content Content
	// ExpiresAt is when the message stops being worth delivering (the
	// code's expiry). Zero means a day from now.
	ExpiresAt time.Time
	// Connector is the tenant's connector as the caller read it for this
	// send (Connectors.Active), or nil. The first attempt uses it rather
	// than read the row again; retries read the row afresh.
	Connector *Active
}

// Message is the message a connector gets for o, under the message ID id.
// A test send, which is never enqueued, sends it directly.
func (o Outgoing) Message(id string) connector.Message {
	return o.Content.message(id, o.To, o.Usage, o.Locale)
}

func (c Content) message(id, to string, usage connector.UsageType, locale string) connector.Message {
	return connector.Message{ID: id, To: to, From: c.From, ReplyTo: c.ReplyTo, Type: usage, Locale: locale,
		Subject: c.Subject, HTML: c.HTML, Text: c.Text, Payload: c.Payload, IP: c.IP}
}

// Pending is an enqueued message, for Deliver.
type Pending struct {
	Tenant string
	ID     string
	// msg and content are what Enqueue wrote, so that Deliver need not
	// read the row back and open its content; nil when unknown.
	msg     *store.Message
	content *Content
	active  *Active
}

// Service enqueues and delivers messages.
type Service struct {
	st      *store.Store
	keys    *keyring.Keyring
	conns   *Connectors
	logger  *slog.Logger
	now     func() time.Time
	cfg     Config
	metrics *Metrics
	river   *river.Client[*sql.Tx]
	// detached counts the first attempts running after their request
	// returned (DeliverDetached), which Stop waits for.
	detached sync.WaitGroup
}

// New builds the service and its River client. Call Start to run workers.
func New(st *store.Store, keys *keyring.Keyring, conns *Connectors, metrics *Metrics, logger *slog.Logger, now func() time.Time, cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	s := &Service{st: st, keys: keys, conns: conns, logger: logger.With("component", "delivery"), now: now, cfg: cfg, metrics: metrics}
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{s: s})
	river.AddWorker(workers, &purgeWorker{s: s})
	rc := &river.Config{
		Logger:                      logger.With("component", "queue"),
		Workers:                     workers,
		RetryPolicy:                 retryPolicy{rescueAfter: cfg.RescueAfter, now: now},
		JobTimeout:                  cfg.AttemptTimeout + 5*time.Second,
		RescueStuckJobsAfter:        cfg.RescueAfter,
		FetchPollInterval:           cfg.PollInterval,
		FetchCooldown:               min(cfg.PollInterval, 50*time.Millisecond),
		CompletedJobRetentionPeriod: time.Hour,
		CancelledJobRetentionPeriod: 24 * time.Hour,
		DiscardedJobRetentionPeriod: 24 * time.Hour,
		MaxAttempts:                 50,
		PollOnly:                    true,
		TestOnly:                    false,
		// The queue keeps time by the service's clock, so the safety net's
		// schedule, the worker's expiry checks and River's due times and
		// retries are one timeline (the database's now() is not used).
		Test: river.TestConfig{Time: queueClock(now)},
	}
	if cfg.Workers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
		rc.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(10*time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return purgeArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
	}
	client, err := river.NewClient(st.RiverDriver(), rc)
	if err != nil {
		return nil, fmt.Errorf("creating queue client: %w", err)
	}
	s.river = client
	return s, nil
}

// Start runs the workers, if any. They outlive ctx (River would cancel
// the deliveries in flight when it ends): Stop ends them.
func (s *Service) Start(ctx context.Context) error {
	if s.cfg.Workers == 0 {
		return nil
	}
	return s.river.Start(context.WithoutCancel(ctx))
}

// Stop lets running deliveries finish (until ctx ends) and stops. The
// deliveries still running when ctx ends are cancelled; the queue retries
// them.
func (s *Service) Stop(ctx context.Context) error {
	s.waitDetached(ctx)
	if s.cfg.Workers == 0 {
		return nil
	}
	err := s.river.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.river.StopAndCancel(cctx)
	}
	return err
}

// NewID returns a random, URL-safe, lower-case ID with a prefix.
func NewID(prefix string) string {
	b := keyring.RandomBytes(15)
	return prefix + "_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func contentAAD(tenant, id string) string { return "message:" + tenant + ":" + id }

// Enqueue writes the message and its delivery job inside tx. The message
// is leased to the caller for its first attempt: call Deliver after the
// transaction commits. The job runs only if that attempt does not settle
// the message.
func (s *Service) Enqueue(ctx context.Context, tx *store.Tx, o Outgoing) (Pending, error) {
	now := s.now()
	id := NewID("msg")
	if o.ExpiresAt.IsZero() {
		o.ExpiresAt = now.Add(24 * time.Hour)
	}
	content, err := json.Marshal(o.Content)
	if err != nil {
		return Pending{}, fmt.Errorf("encoding message: %w", err)
	}
	lease := now.Add(s.cfg.FirstAttemptWait + leaseSlack)
	res, err := s.river.InsertTx(ctx, tx.SQL(), deliverArgs{Tenant: o.Tenant, MessageID: id}, &river.InsertOpts{ScheduledAt: lease})
	if err != nil {
		return Pending{}, fmt.Errorf("enqueuing delivery: %w", err)
	}
	m := store.Message{TenantID: o.Tenant, ID: id, Recipient: o.To, UsageType: string(o.Usage),
		Locale: o.Locale, Content: s.keys.Seal(content, contentAAD(o.Tenant, id)), Status: store.StatusSending,
		JobID: res.Job.ID, LeaseUntil: lease, CreatedAt: now, UpdatedAt: now, ExpiresAt: o.ExpiresAt}
	if err := tx.MessageInsert(ctx, m); err != nil {
		return Pending{}, err
	}
	s.metrics.enqueued()
	return Pending{Tenant: o.Tenant, ID: id, msg: &m, content: &o.Content, active: o.Connector}, nil
}

// SendError is a delivery failure the caller should report: the message
// was refused for good, or there is no connector.
type SendError struct {
	// Connector is the factory ID of the connector that failed, if any.
	Connector string
	Err       error
}

// Error is the connector's error text.
func (e *SendError) Error() string { return e.Err.Error() }

// Unwrap returns the connector's error, for errors.Is and errors.As.
func (e *SendError) Unwrap() error { return e.Err }

// Deliver makes the first attempt for a message enqueued by the caller,
// bounded by the configured wait. It returns a *SendError when the message
// failed for good (the request should report it); a temporary failure
// returns nil, and the queue retries.
func (s *Service) Deliver(ctx context.Context, p Pending) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.FirstAttemptWait)
	defer cancel()
	var m store.Message
	if p.msg != nil {
		m = *p.msg
	} else {
		var err error
		if m, err = s.st.MessageGet(ctx, p.Tenant, p.ID); err != nil {
			return err
		}
	}
	// A settled message's safety-net job is deleted in the transaction
	// that records the outcome.
	res := s.attempt(ctx, m, p.content, p.active, true)
	if res.final && res.err != nil {
		if res.connector == "" && !errors.Is(res.err, ErrNoConnector) {
			// Not the provider's answer (the stored message could not be
			// read): an internal error, not the caller's to fix.
			return res.err
		}
		return &SendError{Connector: res.connector, Err: res.err}
	}
	return nil
}

// DeliverDetached makes the first attempt as Deliver does, but after the
// call returns: the caller's answer does not wait for the connector. A
// failure is recorded and logged as any attempt's, and the queue retries a
// temporary one. Stop waits for the attempts still running.
func (s *Service) DeliverDetached(ctx context.Context, p Pending) {
	s.detached.Add(1)
	go func() {
		defer s.detached.Done()
		_ = s.Deliver(context.WithoutCancel(ctx), p)
	}()
}

// waitDetached waits for the detached attempts still running, until ctx
// ends (their messages' jobs then deliver them).
func (s *Service) waitDetached(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.detached.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

type attemptResult struct {
	final     bool  // sent, or failed for good
	err       error // the send error, if any
	connector string
}

// attempt sends m once through the tenant's active connector and records
// the outcome. content is m's opened content, or nil to open it; act is
// the connector read for this send, or nil to read it. With dropJob, a
// final outcome also deletes m's job.
func (s *Service) attempt(ctx context.Context, m store.Message, content *Content, act *Active, dropJob bool) attemptResult {
	start := s.now()
	if content == nil {
		raw, err := s.keys.Open(m.Content, contentAAD(m.TenantID, m.ID))
		var c Content
		if err == nil {
			err = json.Unmarshal(raw, &c)
		}
		if err != nil {
			s.fail(ctx, m, "cannot read message content: "+err.Error())
			s.dropJob(ctx, m, dropJob)
			return attemptResult{final: true, err: err}
		}
		content = &c
	}
	c := *content
	var err error
	if act == nil {
		if act, err = s.conns.Active(ctx, m.TenantID); err == nil {
			defer act.Release()
		}
	}
	if err != nil {
		if errors.Is(err, ErrNoConnector) {
			s.fail(ctx, m, err.Error())
			s.dropJob(ctx, m, dropJob)
			return attemptResult{final: true, err: err}
		}
		// A connector that cannot be built (bad stored config) fails the
		// attempt but may be fixed before the message expires.
		s.record(ctx, s.outcome(m, start, nil, store.StatusQueued, err.Error(), ""))
		s.logFailure(ctx, m, "", err.Error(), true)
		return attemptResult{err: err}
	}
	msg := c.message(m.ID, m.Recipient, connector.UsageType(m.UsageType), m.Locale)
	rec, sendErr := act.Conn.Send(ctx, msg)
	elapsed := s.now().Sub(start)
	s.metrics.observe(act.Factory.ID, m.UsageType, sendErr, elapsed)
	switch {
	case sendErr == nil:
		s.settle(ctx, m, s.outcome(m, start, act, store.StatusSent, "", rec.ProviderMessageID), dropJob)
		return attemptResult{final: true, connector: act.Factory.ID}
	case connector.Temporary(sendErr) || errors.Is(sendErr, context.Canceled):
		text := errorText(sendErr, act.Secrets)
		s.record(ctx, s.outcome(m, start, act, store.StatusQueued, text, ""))
		s.logFailure(ctx, m, act.Factory.ID, text, true)
		return attemptResult{err: maskError(sendErr, act.Secrets), connector: act.Factory.ID}
	default:
		text := errorText(sendErr, act.Secrets)
		s.settle(ctx, m, s.outcome(m, start, act, store.StatusFailed, text, ""), dropJob)
		s.logFailure(ctx, m, act.Factory.ID, text, false)
		return attemptResult{final: true, err: maskError(sendErr, act.Secrets), connector: act.Factory.ID}
	}
}

// logFailure reports a failed attempt on m with the connector's (masked)
// error text: at WARN when it was the message's first attempt, which is
// the moment a broken connector shows, or when the message failed for
// good; a later attempt that will be retried is INFO, so a connector
// that stays down does not fill the log.
func (s *Service) logFailure(ctx context.Context, m store.Message, connID, errText string, retry bool) {
	attempt := m.Attempts + 1
	level, msg := slog.LevelWarn, "message failed"
	switch {
	case retry && attempt == 1:
		msg = "first delivery attempt failed; retrying"
	case retry:
		level, msg = slog.LevelInfo, "delivery attempt failed; retrying"
	}
	s.logger.Log(ctx, level, msg, "message", m.ID, "connector", connID, "attempt", attempt, "err", errText)
}

func errorText(err error, secrets []string) string {
	return connector.Snippet(err.Error(), secrets...)
}

// outcome is the record of an attempt on m that began at start, made
// through act (nil when no connector could be built, so the attempt
// counts toward no connector's health).
func (s *Service) outcome(m store.Message, start time.Time, act *Active, status, errText, providerID string) store.Outcome {
	now := s.now()
	o := store.Outcome{TenantID: m.TenantID, MessageID: m.ID, Attempt: m.Attempts + 1, StartedAt: start,
		Duration: now.Sub(start), Status: status, Error: errText, ProviderMessageID: providerID, At: now}
	if act != nil {
		o.ConnectorID, o.ConnectorRowID = act.Factory.ID, act.ID
	}
	return o
}

func (s *Service) record(ctx context.Context, o store.Outcome) {
	if err := s.st.MessageSettle(context.WithoutCancel(ctx), o, 0); err != nil {
		s.logger.ErrorContext(ctx, "recording delivery attempt", "message", o.MessageID, "err", err)
	}
	s.logger.DebugContext(ctx, "delivery attempt", "message", o.MessageID, "status", o.Status, "connector", o.ConnectorID, "attempt", o.Attempt)
}

// settle records a final outcome and, with dropJob, deletes the message's
// job at the same time (store.MessageSettle): on PostgreSQL one statement
// instead of a transaction of four.
func (s *Service) settle(ctx context.Context, m store.Message, o store.Outcome, dropJob bool) {
	if !dropJob {
		s.record(ctx, o)
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.st.MessageSettle(ctx, o, m.JobID); err != nil {
		// Record the outcome alone; the job, if left, finds the message
		// settled and does nothing.
		s.logger.WarnContext(ctx, "settling delivery", "message", m.ID, "err", err)
		s.record(ctx, o)
		return
	}
	s.logger.DebugContext(ctx, "delivery attempt", "message", m.ID, "status", o.Status, "connector", o.ConnectorID, "attempt", o.Attempt)
}

// dropJob deletes m's job when asked to.
func (s *Service) dropJob(ctx context.Context, m store.Message, drop bool) {
	if !drop {
		return
	}
	if _, err := s.river.JobDelete(context.WithoutCancel(ctx), m.JobID); err != nil &&
		!errors.Is(err, rivertype.ErrNotFound) && !errors.Is(err, rivertype.ErrJobRunning) {
		s.logger.WarnContext(ctx, "removing settled delivery job", "message", m.ID, "err", err)
	}
}

func (s *Service) fail(ctx context.Context, m store.Message, reason string) {
	if err := s.st.WriteQ().MessageFail(context.WithoutCancel(ctx), m.TenantID, m.ID, reason, s.now()); err != nil {
		s.logger.ErrorContext(ctx, "marking message failed", "message", m.ID, "err", err)
	}
	s.metrics.failedWithoutAttempt()
	s.logger.WarnContext(ctx, "message failed", "message", m.ID, "reason", reason)
}

// deliverArgs is the job that backs a message.
type deliverArgs struct {
	Tenant    string `json:"tenant"`
	MessageID string `json:"messageId"`
}

// Kind names the job; stored jobs depend on it, so it never changes.
func (deliverArgs) Kind() string { return "deliver_email" }

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	s *Service
}

func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration {
	return w.s.cfg.AttemptTimeout + 2*time.Second
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	s := w.s
	m, err := s.st.MessageGet(ctx, job.Args.Tenant, job.Args.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.Status == store.StatusSent || m.Status == store.StatusFailed {
		return nil
	}
	now := s.now()
	if !now.Before(m.ExpiresAt) {
		s.fail(ctx, m, expiredReason(m.LastError))
		return nil
	}
	claimed, attempts, err := s.st.WriteQ().MessageClaim(ctx, m.TenantID, m.ID, now, now.Add(s.cfg.AttemptTimeout+time.Second))
	if err != nil {
		return err
	}
	if !claimed {
		// The request that enqueued it is still on its first attempt.
		return river.JobSnooze(max(m.LeaseUntil.Sub(now), 0) + 100*time.Millisecond)
	}
	m.Attempts = attempts
	actx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
	defer cancel()
	res := s.attempt(actx, m, nil, nil, false)
	switch {
	case res.err == nil:
		return nil
	case res.final:
		return river.JobCancel(res.err)
	}
	next := s.now().Add(backoff(job.Attempt, 0))
	if wait := connector.RetryAfter(res.err); wait > 0 {
		next = s.now().Add(wait)
	}
	if !next.Before(m.ExpiresAt) {
		m.Attempts++ // the attempt just recorded
		if latest, err := s.st.MessageGet(ctx, m.TenantID, m.ID); err == nil {
			m = latest
		}
		s.fail(ctx, m, expiredReason(m.LastError))
		return nil
	}
	if wait := connector.RetryAfter(res.err); wait > 0 {
		return river.JobSnooze(wait)
	}
	return res.err
}

func expiredReason(lastErr string) string {
	if lastErr == "" {
		return "expired before delivery"
	}
	return "expired before delivery; last error: " + lastErr
}

// leaseSlack is how long after the request's bound on its first attempt
// the safety-net job runs: the first retry of a message whose first
// attempt failed for now.
const leaseSlack = 2 * time.Second

// backoffSteps is the retry schedule after the first retry: quick at
// first, because a code is worth nothing once it expires; the last step
// repeats. The README states it (a test checks).
var backoffSteps = [...]time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second,
	40 * time.Second, 60 * time.Second, 2 * time.Minute, 5 * time.Minute}

// backoffJitter is the fraction by which a retry's wait varies either way.
const backoffJitter = 0.1

// backoff returns the delay before retry number attempt (1-based), with
// jitter of up to ±backoffJitter drawn from r in [-1, 1].
func backoff(attempt int, r float64) time.Duration {
	i := min(max(attempt, 1), len(backoffSteps)) - 1
	d := backoffSteps[i]
	return d + time.Duration(math.Round(float64(d)*backoffJitter*r))
}

// queueClock is the service's clock as River's time generator.
type queueClock func() time.Time

// Now returns the clock's time.
func (c queueClock) Now() time.Time { return c() }

// NowOrNil returns the clock's time; River then passes it to the database
// instead of the database's now().
func (c queueClock) NowOrNil() *time.Time {
	t := c()
	return &t
}

// retryPolicy applies backoff with jitter to River's retries, on the
// service's clock (the one that schedules the safety-net job and the
// worker's own retries).
type retryPolicy struct {
	rescueAfter time.Duration
	now         func() time.Time
}

// NextRetry waits the backoff after a failed attempt. A job rescued from a
// process that died (its attempt began RescueAfter ago or more, which no
// live attempt reaches) runs again at once: it has waited long enough.
func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	now := p.now()
	if p.rescueAfter > 0 && job.AttemptedAt != nil && now.Sub(*job.AttemptedAt) >= p.rescueAfter {
		return now
	}
	return now.Add(backoff(job.Attempt, mrand.Float64()*2-1))
}

// purgeArgs is the periodic clean-up job.
type purgeArgs struct{}

// Kind names the job.
func (purgeArgs) Kind() string { return "purge_expired" }

type purgeWorker struct {
	river.WorkerDefaults[purgeArgs]
	s *Service
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[purgeArgs]) error {
	r, err := w.s.st.WriteQ().Purge(ctx, w.s.now(), 25*time.Hour, w.s.cfg.KeepMessages)
	if err != nil {
		return err
	}
	w.s.logger.InfoContext(ctx, "purged old rows", "codes", r.Codes, "records", r.Records, "rateEvents", r.RateEvents, "lockouts", r.Lockouts, "oidc", r.OIDC, "messages", r.Messages)
	return nil
}
