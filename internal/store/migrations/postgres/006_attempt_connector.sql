-- +goose Up
-- Each attempt names the connector row (connectors.id) it went through, so
-- a connector's delivery health (last success, last failure and its error,
-- failures since the last success) is read from its own attempts, with no
-- write beyond the attempt row itself. Attempts made before this migration
-- belong to no connector.
ALTER TABLE message_attempts ADD COLUMN connector_row_id TEXT NOT NULL DEFAULT '';
CREATE INDEX message_attempts_connector ON message_attempts (tenant_id, connector_row_id, outcome, started_at);
