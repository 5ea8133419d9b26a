-- +goose Up
-- An interaction is one sign-in, sign-up or password reset in a browser,
-- started for an authorization request and found by the _interaction
-- cookie, of which only a keyed hash is kept. request holds what the
-- authorization request asked for (JSON); state is the flow so far (its
-- event, verification records, identified user and profile), sealed with
-- the server secret because it holds proofs and a password digest. It
-- lives an hour.
CREATE TABLE interactions (
    tenant_id       TEXT NOT NULL,
    id_hash         TEXT NOT NULL,
    auth_request_id TEXT NOT NULL,
    request         TEXT NOT NULL,
    state           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id_hash)
);
CREATE INDEX interactions_expires ON interactions (expires_at);

-- A sign-in session is a browser that signed in, found by the _session
-- cookie (a keyed hash of it is kept), so that a later authorization
-- request from it completes without signing in again. amr lists how the
-- user proved who they are (JSON).
CREATE TABLE sign_in_sessions (
    tenant_id  TEXT NOT NULL,
    id_hash    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    amr        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id_hash)
);
CREATE INDEX sign_in_sessions_expires ON sign_in_sessions (expires_at);
CREATE INDEX sign_in_sessions_user ON sign_in_sessions (tenant_id, user_id);
