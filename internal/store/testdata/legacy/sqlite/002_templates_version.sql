-- Every change to a tenant's email templates raises the tenant's
-- templates_version setting in the same transaction, so a process can keep
-- the templates it has read until the version it sees changes.
-- (One statement per line: the migration runner splits at line-final semicolons.)
CREATE TRIGGER email_templates_version_insert AFTER INSERT ON email_templates BEGIN INSERT INTO settings (tenant_id, name, value, updated_at) VALUES (NEW.tenant_id, 'templates_version', '1', 0) ON CONFLICT (tenant_id, name) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT); END;
CREATE TRIGGER email_templates_version_update AFTER UPDATE ON email_templates BEGIN INSERT INTO settings (tenant_id, name, value, updated_at) VALUES (NEW.tenant_id, 'templates_version', '1', 0) ON CONFLICT (tenant_id, name) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT); END;
CREATE TRIGGER email_templates_version_delete AFTER DELETE ON email_templates BEGIN INSERT INTO settings (tenant_id, name, value, updated_at) VALUES (OLD.tenant_id, 'templates_version', '1', 0) ON CONFLICT (tenant_id, name) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT); END;
