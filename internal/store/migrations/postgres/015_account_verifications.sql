-- +goose Up
-- An account verification is a verification record of the account API
-- (Logto's verification_records for /api/verifications): a password check
-- or a code sent to an address, made for one signed-in user, found by the
-- keyed hash of its ID (a bearer secret sent as logto-verification-id or
-- newIdentifierVerificationRecordId). kind is Password or
-- EmailVerificationCode; usage_type the code's template
-- (UserPermissionValidation, BindNewIdentifier, BindMfa), '' for a
-- password; email the canonical address the code went to. It lives ten
-- minutes; a change that consumes it sets consumed_at.
CREATE TABLE account_verifications (
    tenant_id   TEXT NOT NULL,
    id_hash     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    usage_type  TEXT NOT NULL,
    email       TEXT NOT NULL,
    verified    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT,
    PRIMARY KEY (tenant_id, id_hash)
);
CREATE INDEX account_verifications_expires ON account_verifications (expires_at);
