-- +goose Up
-- Hourly counters for the send caps that count many recipients under one
-- key (a recipient domain, a client, the tenant): a row per key, fixed
-- hour and shard, so that reading a count costs a few rows however many
-- sends it counts, and concurrent sends on PostgreSQL rarely update the
-- same row. Per-mailbox caps keep their one event per send in rate_events.
CREATE TABLE rate_counters (
    tenant_id    TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    shard        INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, bucket, key_hash, window_start, shard)
);
CREATE INDEX rate_counters_window ON rate_counters (window_start);
