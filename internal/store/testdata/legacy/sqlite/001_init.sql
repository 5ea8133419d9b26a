-- authmail schema, SQLite. Times are Unix microseconds (INTEGER) so that
-- the queries are the same text on both databases; the PostgreSQL file beside
-- this one differs only in column types.

CREATE TABLE settings (
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE connectors (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    config       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- One email connector per tenant.
CREATE UNIQUE INDEX connectors_one_per_tenant ON connectors (tenant_id);

CREATE TABLE email_templates (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    language_tag  TEXT NOT NULL,
    template_type TEXT NOT NULL,
    details       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX email_templates_lang_type ON email_templates (tenant_id, language_tag, template_type);

CREATE TABLE verification_codes (
    tenant_id  TEXT NOT NULL,
    email      TEXT NOT NULL,
    usage_type TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    tries      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, email, usage_type)
);
CREATE INDEX verification_codes_expires ON verification_codes (expires_at);

-- One row per event counted by a sliding-window limit (sends per
-- recipient, failed verifications per identifier).
CREATE TABLE rate_events (
    tenant_id  TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX rate_events_key ON rate_events (tenant_id, bucket, key_hash, created_at);
CREATE INDEX rate_events_created ON rate_events (created_at);

CREATE TABLE lockouts (
    tenant_id TEXT NOT NULL,
    key_hash  TEXT NOT NULL,
    until     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key_hash)
);

CREATE TABLE messages (
    tenant_id           TEXT NOT NULL,
    id                  TEXT NOT NULL,
    recipient           TEXT NOT NULL,
    usage_type          TEXT NOT NULL,
    locale              TEXT NOT NULL,
    connector_id        TEXT NOT NULL,
    content             TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            INTEGER NOT NULL,
    last_error          TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    job_id              INTEGER NOT NULL,
    lease_until         INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    sent_at             INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX messages_created ON messages (tenant_id, created_at);
CREATE INDEX messages_recipient ON messages (tenant_id, recipient, created_at);
CREATE INDEX messages_status ON messages (tenant_id, status, created_at);

CREATE TABLE message_attempts (
    tenant_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    error       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, message_id, attempt)
);

CREATE TABLE dev_inbox (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    message_id TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    sender     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    html       TEXT NOT NULL,
    text       TEXT NOT NULL,
    usage_type TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX dev_inbox_recipient ON dev_inbox (tenant_id, recipient, created_at);
CREATE INDEX dev_inbox_created ON dev_inbox (tenant_id, created_at);
