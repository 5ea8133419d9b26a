-- +goose Up
-- Every change to a tenant's email templates raises the tenant's
-- templates_version setting in the same transaction, so a process can keep
-- the templates it has read until the version it sees changes.

-- +goose StatementBegin
CREATE FUNCTION authmail_templates_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO settings (tenant_id, name, value, updated_at)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END, 'templates_version', '1', 0)
    ON CONFLICT (tenant_id, name) DO UPDATE SET value = (settings.value::bigint + 1)::text;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER email_templates_version AFTER INSERT OR UPDATE OR DELETE ON email_templates
    FOR EACH ROW EXECUTE FUNCTION authmail_templates_version();
