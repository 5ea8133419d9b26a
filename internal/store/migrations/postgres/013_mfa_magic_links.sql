-- +goose Up
-- The second factors a user set up (Logto's users.mfa_verifications): a
-- JSON list of {id, type, createdAt, lastUsedAt}. The email code is the
-- only factor here; a user has it in this list once they bound it.
ALTER TABLE users ADD COLUMN mfa_verifications TEXT NOT NULL DEFAULT '[]';

-- A magic link is a sign-in or sign-up email's link that completes the
-- same verification as the code it carries, in the browser of the
-- interaction that asked for it only. token_hash is the keyed hash of the
-- link's token (the token itself is never kept); interaction_hash the
-- interaction's id_hash; payload the address, usage type, code and
-- verification record, sealed with the server secret. A link lives as
-- long as its code and works once: used_at is set by its use, or when a
-- newer code of the interaction replaces it (0 until then).
CREATE TABLE magic_links (
    tenant_id        TEXT NOT NULL,
    token_hash       TEXT NOT NULL,
    interaction_hash TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used_at          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX magic_links_interaction ON magic_links (tenant_id, interaction_hash);
CREATE INDEX magic_links_expires ON magic_links (expires_at);
