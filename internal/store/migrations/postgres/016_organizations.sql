-- +goose Up
-- A tenant's organizations, Logto's organization object. description and
-- custom_css are '' when unset (null in the API); custom_data, color and
-- branding are JSON objects as text. Times are Unix microseconds.
CREATE TABLE organizations (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    custom_data     TEXT NOT NULL DEFAULT '{}',
    is_mfa_required BOOLEAN NOT NULL DEFAULT FALSE,
    color           TEXT NOT NULL DEFAULT '{}',
    branding        TEXT NOT NULL DEFAULT '{}',
    custom_css      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX organizations_created ON organizations (tenant_id, created_at DESC, id DESC);

-- The organization template's roles (Logto's organization roles): the name
-- is unique per tenant; type is User or MachineToMachine.
CREATE TABLE organization_roles (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL DEFAULT 'User',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX organization_roles_name ON organization_roles (tenant_id, name);

-- The members of an organization; a membership goes with its organization
-- or its user.
CREATE TABLE organization_users (
    tenant_id       TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, organization_id, user_id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX organization_users_user ON organization_users (tenant_id, user_id);

-- The organization roles a member holds in an organization; they go with
-- the membership or the role.
CREATE TABLE organization_user_roles (
    tenant_id       TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    role_id         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, organization_id, user_id, role_id),
    FOREIGN KEY (tenant_id, organization_id, user_id) REFERENCES organization_users (tenant_id, organization_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES organization_roles (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX organization_user_roles_role ON organization_user_roles (tenant_id, role_id);
