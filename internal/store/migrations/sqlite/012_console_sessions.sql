-- +goose Up
-- A console session is a browser signed in to the admin console with the
-- admin key, found by its cookie, of which only a keyed hash is kept.
-- key_check is a keyed hash of the admin key's stored hash when the
-- session began: a replaced admin key ends every session started with the
-- old one. A session lasts until it expires or its browser signs out.
CREATE TABLE console_sessions (
    tenant_id  TEXT NOT NULL,
    id_hash    TEXT NOT NULL,
    key_check  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id_hash)
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

