-- +goose Up
-- Invitations to join an organization (Logto's organization invitations).
-- invitee is the canonical address (internal/address). status is Pending,
-- Accepted, Revoked or Expired (a Pending row past expires_at reads as
-- Expired); one Pending invitation per invitee and organization.
-- message_id is the last invitation email in the message log ('' when none
-- was sent); accept_token_hash is the keyed hash of the hosted accept page's
-- one-time token ('' when the app gave its own link). inviter_id and
-- accepted_user_id are '' when unset.
CREATE TABLE organization_invitations (
    tenant_id         TEXT NOT NULL,
    id                TEXT NOT NULL,
    inviter_id        TEXT NOT NULL DEFAULT '',
    invitee           TEXT NOT NULL,
    accepted_user_id  TEXT NOT NULL DEFAULT '',
    organization_id   TEXT NOT NULL,
    status            TEXT NOT NULL,
    message_id        TEXT NOT NULL DEFAULT '',
    accept_token_hash TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX organization_invitations_pending ON organization_invitations (tenant_id, invitee, organization_id) WHERE status = 'Pending';
CREATE INDEX organization_invitations_org ON organization_invitations (tenant_id, organization_id, created_at);
CREATE INDEX organization_invitations_token ON organization_invitations (tenant_id, accept_token_hash);

-- The organization roles an invitation gives on acceptance.
CREATE TABLE organization_invitation_roles (
    tenant_id     TEXT NOT NULL,
    invitation_id TEXT NOT NULL,
    role_id       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, invitation_id, role_id),
    FOREIGN KEY (tenant_id, invitation_id) REFERENCES organization_invitations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES organization_roles (tenant_id, id) ON DELETE CASCADE
);
