-- +goose Up
-- The roles users hold (Logto's users_roles). Role IDs name built-in
-- roles (apps.AdminRoleID: may sign in to the console) or, later, rows of
-- a roles table. A user's deletion takes its rows with it (store.UserDelete).
CREATE TABLE user_roles (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    role_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (tenant_id, role_id, created_at, user_id);

