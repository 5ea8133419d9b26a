package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message statuses.
const (
	StatusQueued  = "queued"
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// Message is one row of the message log. Content (subject, bodies,
// payload) is sealed at rest because it carries the code.
type Message struct {
	TenantID          string
	ID                string
	Recipient         string
	UsageType         string
	Locale            string
	ConnectorID       string
	Content           string
	Status            string
	Attempts          int
	LastError         string
	ProviderMessageID string
	JobID             int64
	LeaseUntil        time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	ExpiresAt         time.Time
	SentAt            time.Time
}

const messageCols = `tenant_id, id, recipient, usage_type, locale, connector_id, content, status, attempts, last_error,
	provider_message_id, job_id, lease_until, created_at, updated_at, expires_at, sent_at`

func scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var lease, created, updated, expires, sent int64
	err := row.Scan(&m.TenantID, &m.ID, &m.Recipient, &m.UsageType, &m.Locale, &m.ConnectorID, &m.Content, &m.Status,
		&m.Attempts, &m.LastError, &m.ProviderMessageID, &m.JobID, &lease, &created, &updated, &expires, &sent)
	m.LeaseUntil, m.CreatedAt, m.UpdatedAt = FromMicros(lease), FromMicros(created), FromMicros(updated)
	m.ExpiresAt, m.SentAt = FromMicros(expires), FromMicros(sent)
	return m, interpret(err)
}

// MessageInsert adds a message to the log.
func (w Writer) MessageInsert(ctx context.Context, m Message) error {
	_, err := w.exec(ctx, `INSERT INTO messages (`+messageCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		m.TenantID, m.ID, m.Recipient, m.UsageType, m.Locale, m.ConnectorID, m.Content, m.Status, m.Attempts, m.LastError,
		m.ProviderMessageID, m.JobID, Micros(m.LeaseUntil), Micros(m.CreatedAt), Micros(m.UpdatedAt), Micros(m.ExpiresAt), Micros(m.SentAt))
	return err
}

// MessageGet returns one message.
func (r Reader) MessageGet(ctx context.Context, tenant, id string) (Message, error) {
	return scanMessage(r.db.QueryRowContext(ctx, `SELECT `+messageCols+` FROM messages WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// MessageFilter selects messages for MessageList.
type MessageFilter struct {
	Tenant string
	To     string
	Status string
	// UsageType keeps only messages of one usage type.
	UsageType string
	// Since keeps only messages created at or after it.
	Since  time.Time
	Before time.Time // only messages created before this, for paging
	Limit  int
}

// MessageList returns messages newest first.
func (r Reader) MessageList(ctx context.Context, f MessageFilter) ([]Message, error) {
	where, args := []string{"tenant_id = $1"}, []any{f.Tenant}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.To != "" {
		add("recipient = $%d", f.To)
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.UsageType != "" {
		add("usage_type = $%d", f.UsageType)
	}
	if !f.Since.IsZero() {
		add("created_at >= $%d", Micros(f.Since))
	}
	if !f.Before.IsZero() {
		add("created_at < $%d", Micros(f.Before))
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	args = append(args, f.Limit)
	rows, err := r.db.QueryContext(ctx, `SELECT `+messageCols+` FROM messages WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, interpret(rows.Err())
}

// MessageClaim marks a queued message (or one whose sender's lease ran
// out) as sending until leaseUntil, and reports whether this caller got it
// and how many attempts the message had when it did. The count comes from
// the claimed row itself, so an attempt recorded after the caller last
// read the message is not numbered twice.
func (w Writer) MessageClaim(ctx context.Context, tenant, id string, now, leaseUntil time.Time) (claimed bool, attempts int, err error) {
	err = w.db.QueryRowContext(ctx, `UPDATE messages SET status = 'sending', lease_until = $4, updated_at = $3
		WHERE tenant_id = $1 AND id = $2 AND (status = 'queued' OR (status = 'sending' AND lease_until < $3))
		RETURNING attempts`, tenant, id, Micros(now), Micros(leaseUntil)).Scan(&attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return false, 0, nil
	}
	return err == nil, attempts, interpret(err)
}

// Outcome is the result of one delivery attempt.
type Outcome struct {
	TenantID    string
	MessageID   string
	Attempt     int
	StartedAt   time.Time
	Duration    time.Duration
	ConnectorID string
	// ConnectorRowID is the connector row (Connector.ID) the attempt went
	// through, whose health it counts toward; empty when none was built.
	ConnectorRowID    string
	Status            string // the message's status after the attempt
	Error             string
	ProviderMessageID string
	At                time.Time
}

// MessageRecord records an attempt and sets the message's status from it:
// on PostgreSQL in one statement. On SQLite the two writes must land
// together: call it in a transaction, or use Store.MessageSettle.
func (w Writer) MessageRecord(ctx context.Context, o Outcome) error {
	return w.ops.messageRecord(ctx, w, o)
}

// deleteJob deletes a River job unless a worker is running it, as River's
// JobDelete does (a running job sees its message settled and stops).
const deleteJob = `DELETE FROM river_job WHERE id = $1 AND state <> 'running'`

// MessageSettle records an attempt as MessageRecord does and, when jobID
// is not 0, deletes the message's delivery job unless a worker is running
// it, all at once: on PostgreSQL one statement, on SQLite one transaction.
// A crash never leaves an attempt row without the message's count and
// status that go with it.
func (s *Store) MessageSettle(ctx context.Context, o Outcome, jobID int64) error {
	return s.ops.messageSettle(ctx, s, o, jobID)
}

// messageUpdate sets a message's status and counters from an attempt;
// messageUpdateArgs are its nine arguments.
const messageUpdate = `UPDATE messages SET status = $3, attempts = $4, last_error = $5, connector_id = $6,
		provider_message_id = $7, updated_at = $8, sent_at = $9, lease_until = 0 WHERE tenant_id = $1 AND id = $2`

func messageUpdateArgs(o Outcome) []any {
	var sentAt int64
	if o.Status == StatusSent {
		sentAt = Micros(o.At)
	}
	return []any{o.TenantID, o.MessageID, o.Status, o.Attempt, o.Error, o.ConnectorID, o.ProviderMessageID, Micros(o.At), sentAt}
}

// attemptOutcome is the outcome column of an attempt row.
func attemptOutcome(o Outcome) string {
	if o.Error != "" {
		return "error"
	}
	return "sent"
}

// MessageFail marks a message failed without an attempt (it expired, or
// there is no connector), keeping the reason.
func (w Writer) MessageFail(ctx context.Context, tenant, id, reason string, now time.Time) error {
	_, err := w.exec(ctx, `UPDATE messages SET status = 'failed', last_error = $3, updated_at = $4, lease_until = 0
		WHERE tenant_id = $1 AND id = $2 AND status <> 'sent'`, tenant, id, reason, Micros(now))
	return err
}

// Attempt is one recorded delivery attempt.
type Attempt struct {
	Attempt   int
	StartedAt time.Time
	Duration  time.Duration
	Outcome   string
	Error     string
}

// AttemptList returns a message's attempts in order.
func (r Reader) AttemptList(ctx context.Context, tenant, messageID string) ([]Attempt, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT attempt, started_at, duration_us, outcome, error FROM message_attempts
		WHERE tenant_id = $1 AND message_id = $2 ORDER BY attempt`, tenant, messageID)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		var started, dur int64
		if err := rows.Scan(&a.Attempt, &started, &dur, &a.Outcome, &a.Error); err != nil {
			return nil, interpret(err)
		}
		a.StartedAt, a.Duration = FromMicros(started), time.Duration(dur)*time.Microsecond
		out = append(out, a)
	}
	return out, interpret(rows.Err())
}

// MessageCounts returns how many messages each status has, all tenants.
func (r Reader) MessageCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM messages WHERE status IN ('queued', 'sending') GROUP BY status`)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, interpret(err)
		}
		out[s] = n
	}
	return out, interpret(rows.Err())
}

// MessageStatusCounts returns how many of the tenant's messages created
// at or after since have each status (a status with none is absent).
func (r Reader) MessageStatusCounts(ctx context.Context, tenant string, since time.Time) (map[string]int64, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM messages WHERE tenant_id = $1 AND created_at >= $2 GROUP BY status`,
		tenant, Micros(since))
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, interpret(err)
		}
		out[s] = n
	}
	return out, interpret(rows.Err())
}

// MessageRequeue puts a failed message back in the queue under a new
// delivery job, and reports whether it was failed (a message in any other
// status is left as it is).
func (w Writer) MessageRequeue(ctx context.Context, tenant, id string, jobID int64, now time.Time) (bool, error) {
	n, err := w.exec(ctx, `UPDATE messages SET status = 'queued', job_id = $3, lease_until = 0, updated_at = $4
		WHERE tenant_id = $1 AND id = $2 AND status = 'failed'`, tenant, id, jobID, Micros(now))
	return n == 1, err
}

// InboxMessage is a message kept by the dev inbox connector.
type InboxMessage struct {
	TenantID  string
	ID        string
	MessageID string
	To        string
	From      string
	Subject   string
	HTML      string
	Text      string
	Type      string
	Payload   string
	CreatedAt time.Time
}

// InboxInsert stores a dev inbox message.
func (w Writer) InboxInsert(ctx context.Context, m InboxMessage) error {
	_, err := w.exec(ctx, `INSERT INTO dev_inbox (tenant_id, id, message_id, recipient, sender, subject, html, text, usage_type, payload, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		m.TenantID, m.ID, m.MessageID, m.To, m.From, m.Subject, m.HTML, m.Text, m.Type, m.Payload, Micros(m.CreatedAt))
	return err
}

// InboxGet returns one dev inbox message.
func (r Reader) InboxGet(ctx context.Context, tenant, id string) (InboxMessage, error) {
	var m InboxMessage
	var created int64
	err := r.db.QueryRowContext(ctx, `SELECT tenant_id, id, message_id, recipient, sender, subject, html, text, usage_type, payload, created_at
		FROM dev_inbox WHERE tenant_id = $1 AND id = $2`, tenant, id).Scan(&m.TenantID, &m.ID, &m.MessageID, &m.To, &m.From, &m.Subject,
		&m.HTML, &m.Text, &m.Type, &m.Payload, &created)
	m.CreatedAt = FromMicros(created)
	return m, interpret(err)
}

// InboxList returns dev inbox messages newest first, optionally for one
// recipient.
func (r Reader) InboxList(ctx context.Context, tenant, to string, limit int) ([]InboxMessage, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	query := `SELECT tenant_id, id, message_id, recipient, sender, subject, html, text, usage_type, payload, created_at
		FROM dev_inbox WHERE tenant_id = $1`
	args := []any{tenant}
	if to != "" {
		query += ` AND recipient = $2`
		args = append(args, to)
	}
	args = append(args, limit)
	query += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := []InboxMessage{}
	for rows.Next() {
		var m InboxMessage
		var created int64
		if err := rows.Scan(&m.TenantID, &m.ID, &m.MessageID, &m.To, &m.From, &m.Subject, &m.HTML, &m.Text, &m.Type, &m.Payload, &created); err != nil {
			return nil, interpret(err)
		}
		m.CreatedAt = FromMicros(created)
		out = append(out, m)
	}
	return out, interpret(rows.Err())
}
