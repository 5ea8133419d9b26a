-- +goose Up
-- The OpenID Connect provider's state. Times are Unix microseconds; 0
-- means "not yet".
--
-- An authorization request waits for a sign-in (user_id, auth_time, amr),
-- then for the exchange of the code issued for it. The code is a bearer
-- secret, so only its hash is kept; a used code stays marked
-- (code_used_at) until the request expires, so that a second use is
-- recognised and revokes what the first one got. request is the JSON of
-- the authorization parameters (redirect URI, scopes, state, nonce, PKCE
-- challenge, resources...).
CREATE TABLE oidc_auth_requests (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    request         TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    auth_time       BIGINT NOT NULL DEFAULT 0,
    amr             TEXT NOT NULL DEFAULT '',
    code_hash       TEXT,
    code_expires_at BIGINT NOT NULL DEFAULT 0,
    code_used_at    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (tenant_id, code_hash);
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

-- Access tokens issued, opaque or JWT, by ID (a JWT's jti), for userinfo,
-- introspection and revocation. family_id is the authorization request a
-- user's tokens descend from ('' for client credentials); audience is the
-- resource a JWT is for ('' for an opaque token, which is for userinfo).
CREATE TABLE oidc_access_tokens (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    audience   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX oidc_access_tokens_family ON oidc_access_tokens (tenant_id, family_id);
CREATE INDEX oidc_access_tokens_expires ON oidc_access_tokens (expires_at);

-- Refresh tokens, kept only as keyed hashes. Each use rotates the token:
-- used_at is set and a new token of the same family takes its place; a
-- used token presented again revokes its whole family. resources are the
-- resources the authorization granted, space-separated.
CREATE TABLE oidc_refresh_tokens (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    resources  TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    amr        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX oidc_refresh_tokens_hash ON oidc_refresh_tokens (tenant_id, token_hash);
CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (tenant_id, family_id);
CREATE INDEX oidc_refresh_tokens_expires ON oidc_refresh_tokens (expires_at);

-- Whether the user proved the primary email by a code (the ID token's
-- email_verified); an address an admin set is not proved.
ALTER TABLE users ADD COLUMN primary_email_verified BOOLEAN NOT NULL DEFAULT FALSE;
