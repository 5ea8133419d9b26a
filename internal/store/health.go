package store

import (
	"context"
	"database/sql"
	"time"
)

// MaxCountedFailures caps ConnectorHealth.ConsecutiveFailures: a
// connector down that long is down, and counting on would cost a scan.
const MaxCountedFailures = 10000

// ConnectorHealth is a connector's recent delivery record, read from the
// attempts it made (the message log keeps them as long as their messages).
type ConnectorHealth struct {
	// LastSuccessAt is when its last successful attempt ended; zero if none.
	LastSuccessAt time.Time
	// LastFailureAt is when its last failed attempt ended; zero if none.
	LastFailureAt time.Time
	// LastError is that attempt's error, masked as it was stored.
	LastError string
	// ConsecutiveFailures counts the failed attempts since the last
	// success (all of them without one), at most MaxCountedFailures.
	ConsecutiveFailures int
}

// connectorHealthSQL reads one connector's health in one statement: the
// last attempt of each outcome and the failures since the last success,
// each an index range of message_attempts_connector.
const connectorHealthSQL = `WITH ok AS (
		SELECT started_at, duration_us FROM message_attempts
		WHERE tenant_id = $1 AND connector_row_id = $2 AND outcome = 'sent' ORDER BY started_at DESC LIMIT 1),
	bad AS (
		SELECT started_at, duration_us, error FROM message_attempts
		WHERE tenant_id = $1 AND connector_row_id = $2 AND outcome = 'error' ORDER BY started_at DESC LIMIT 1)
	SELECT (SELECT started_at + duration_us FROM ok), (SELECT started_at + duration_us FROM bad), (SELECT error FROM bad),
		(SELECT COUNT(*) FROM (SELECT 1 FROM message_attempts
			WHERE tenant_id = $1 AND connector_row_id = $2 AND outcome = 'error'
				AND started_at > COALESCE((SELECT started_at FROM ok), -1) LIMIT $3) AS failures)`

// ConnectorHealth returns the delivery health of the connector row id.
// A connector that has made no attempt has the zero health.
func (r Reader) ConnectorHealth(ctx context.Context, tenant, id string) (ConnectorHealth, error) {
	var h ConnectorHealth
	var ok, bad sql.NullInt64
	var lastErr sql.NullString
	err := r.db.QueryRowContext(ctx, connectorHealthSQL, tenant, id, MaxCountedFailures).Scan(&ok, &bad, &lastErr, &h.ConsecutiveFailures)
	if err != nil {
		return ConnectorHealth{}, interpret(err)
	}
	h.LastSuccessAt, h.LastFailureAt, h.LastError = FromMicros(ok.Int64), FromMicros(bad.Int64), lastErr.String
	return h, nil
}

// ConnectorHealthOf is one connector's health, for ConnectorHealthAll.
type ConnectorHealthOf struct {
	TenantID    string
	ID          string
	ConnectorID string // factory ID
	ConnectorHealth
}

// ConnectorHealthAll returns the health of every tenant's connectors,
// for the metrics.
func (r Reader) ConnectorHealthAll(ctx context.Context) ([]ConnectorHealthOf, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT tenant_id, id, connector_id FROM connectors ORDER BY tenant_id, id`)
	if err != nil {
		return nil, interpret(err)
	}
	var out []ConnectorHealthOf
	for rows.Next() {
		var c ConnectorHealthOf
		if err := rows.Scan(&c.TenantID, &c.ID, &c.ConnectorID); err != nil {
			rows.Close()
			return nil, interpret(err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, interpret(err)
	}
	for i := range out {
		if out[i].ConnectorHealth, err = r.ConnectorHealth(ctx, out[i].TenantID, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
