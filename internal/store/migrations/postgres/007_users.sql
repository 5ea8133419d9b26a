-- +goose Up
-- A tenant's users, Logto's user object. The primary email is kept in its
-- canonical form (internal/address) and is unique per tenant, as is the
-- username (compared as written, as Logto does by default); a user without
-- one has NULL there, so any number of users may lack it. customData and
-- profile are JSON objects as text. password_digest is an argon2id PHC
-- string, or '' for a user without a password. Times are Unix
-- microseconds; last_sign_in_at is 0 until the first sign-in.
CREATE TABLE users (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    primary_email   TEXT,
    username        TEXT,
    name            TEXT NOT NULL DEFAULT '',
    avatar          TEXT NOT NULL DEFAULT '',
    custom_data     TEXT NOT NULL DEFAULT '{}',
    profile         TEXT NOT NULL DEFAULT '{}',
    password_digest TEXT NOT NULL DEFAULT '',
    is_suspended    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_sign_in_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_primary_email ON users (tenant_id, primary_email);
CREATE UNIQUE INDEX users_username ON users (tenant_id, username);
CREATE INDEX users_created ON users (tenant_id, created_at DESC, id DESC);
