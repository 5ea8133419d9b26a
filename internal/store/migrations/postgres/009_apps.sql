-- +goose Up
-- A tenant's applications (OpenID Connect clients, Logto's application
-- object). oidc_client_metadata holds {redirectUris, postLogoutRedirectUris},
-- custom_client_metadata and custom_data are JSON objects, all as text.
-- secret_hash is the keyed hash of the client secret of a Traditional or
-- MachineToMachine application ('' for the public types); the secret itself
-- is never stored. Times are Unix microseconds.
CREATE TABLE applications (
    tenant_id              TEXT NOT NULL,
    id                     TEXT NOT NULL,
    name                   TEXT NOT NULL,
    description            TEXT NOT NULL DEFAULT '',
    type                   TEXT NOT NULL,
    secret_hash            TEXT NOT NULL DEFAULT '',
    oidc_client_metadata   TEXT NOT NULL,
    custom_client_metadata TEXT NOT NULL DEFAULT '{}',
    custom_data            TEXT NOT NULL DEFAULT '{}',
    created_at             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX applications_created ON applications (tenant_id, created_at DESC, id DESC);

-- The roles an application holds. Role IDs name built-in roles (the
-- management API's) or, later, rows of a roles table.
CREATE TABLE application_roles (
    tenant_id      TEXT NOT NULL,
    application_id TEXT NOT NULL,
    role_id        TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, application_id, role_id)
);
CREATE INDEX application_roles_role ON application_roles (tenant_id, role_id, created_at, application_id);

-- A tenant's own API resources (the management API is built in and has no
-- row). The indicator is unique per tenant; access_token_ttl is seconds.
CREATE TABLE resources (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    indicator        TEXT NOT NULL,
    access_token_ttl BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX resources_indicator ON resources (tenant_id, indicator);

-- A tenant's token signing keys. private_key is the PKCS #8 key sealed with
-- the server secret, bound to its row. retired_at is 0 for the one current
-- key (the partial unique index lets only one exist, so concurrent first
-- uses agree on one) and the time it was rotated out for the others.
CREATE TABLE signing_keys (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (tenant_id) WHERE retired_at = 0;
CREATE INDEX signing_keys_retired ON signing_keys (tenant_id, retired_at);
