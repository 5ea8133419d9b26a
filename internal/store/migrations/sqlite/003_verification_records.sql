-- +goose Up
-- A verification record is what a verified code turns into: proof that an
-- address received the code, which one later step of a flow consumes
-- exactly once. Its ID is a bearer secret, so only a keyed hash is kept.
CREATE TABLE verification_records (
    tenant_id   TEXT NOT NULL,
    id_hash     TEXT NOT NULL,
    usage_type  TEXT NOT NULL,
    email       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    PRIMARY KEY (tenant_id, id_hash)
);
CREATE INDEX verification_records_expires ON verification_records (expires_at);

