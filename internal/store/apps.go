package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Application is a row of the applications table. OIDCClientMetadata,
// CustomClientMetadata and CustomData are JSON objects; SecretHash is the
// keyed hash of the client secret, or "" for an application without one.
type Application struct {
	TenantID             string
	ID                   string
	Name                 string
	Description          string
	Type                 string
	SecretHash           string
	OIDCClientMetadata   string
	CustomClientMetadata string
	CustomData           string
	CreatedAt            time.Time
}

// LogValue leaves the secret's hash out of logs.
func (a Application) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tenant", a.TenantID), slog.String("id", a.ID), slog.String("type", a.Type))
}

const applicationColumns = `tenant_id, id, name, description, type, secret_hash, oidc_client_metadata, custom_client_metadata, custom_data, created_at`

func scanApplication(row scanner) (Application, error) {
	var a Application
	var created int64
	if err := row.Scan(&a.TenantID, &a.ID, &a.Name, &a.Description, &a.Type, &a.SecretHash, &a.OIDCClientMetadata,
		&a.CustomClientMetadata, &a.CustomData, &created); err != nil {
		return Application{}, interpret(err)
	}
	a.CreatedAt = FromMicros(created)
	return a, nil
}

// ApplicationInsert stores a new application.
func (w Writer) ApplicationInsert(ctx context.Context, a Application) error {
	_, err := w.exec(ctx, `INSERT INTO applications (`+applicationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.TenantID, a.ID, a.Name, a.Description, a.Type, a.SecretHash, a.OIDCClientMetadata, a.CustomClientMetadata, a.CustomData, Micros(a.CreatedAt))
	return err
}

// ApplicationUpdate writes an application's name, description and
// metadata; its type, secret and creation time never change. ErrNotFound
// when there is no such application.
func (w Writer) ApplicationUpdate(ctx context.Context, a Application) error {
	n, err := w.exec(ctx, `UPDATE applications SET name = $3, description = $4, oidc_client_metadata = $5, custom_client_metadata = $6,
		custom_data = $7 WHERE tenant_id = $1 AND id = $2`,
		a.TenantID, a.ID, a.Name, a.Description, a.OIDCClientMetadata, a.CustomClientMetadata, a.CustomData)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// ApplicationDelete removes an application and the roles it holds; run it
// in a transaction so that both go at once. ErrNotFound when there is no
// such application.
func (w Writer) ApplicationDelete(ctx context.Context, tenant, id string) error {
	if _, err := w.exec(ctx, `DELETE FROM application_roles WHERE tenant_id = $1 AND application_id = $2`, tenant, id); err != nil {
		return err
	}
	n, err := w.exec(ctx, `DELETE FROM applications WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// ApplicationGet reads an application, or ErrNotFound.
func (r Reader) ApplicationGet(ctx context.Context, tenant, id string) (Application, error) {
	return scanApplication(r.db.QueryRowContext(ctx, `SELECT `+applicationColumns+` FROM applications WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// ApplicationFilter selects a tenant's applications, newest first.
type ApplicationFilter struct {
	Tenant string
	// Types, when not empty, keeps the applications of these types.
	Types []string
	// Limit and Offset choose a page; a Limit of 0 selects them all.
	Limit, Offset int
}

// ApplicationList returns the filter's applications, newest first, and
// how many it matches in all.
func (r Reader) ApplicationList(ctx context.Context, f ApplicationFilter) ([]Application, int, error) {
	where := `tenant_id = $1`
	args := []any{f.Tenant}
	if len(f.Types) > 0 {
		marks := make([]string, len(f.Types))
		for i, t := range f.Types {
			args = append(args, t)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		where += ` AND type IN (` + strings.Join(marks, ", ") + `)`
	}
	var total int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM applications WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, interpret(err)
	}
	q := `SELECT ` + applicationColumns + ` FROM applications WHERE ` + where + ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT $%d OFFSET $%d`, len(args)+1, len(args)+2)
		args = append(args, f.Limit, f.Offset)
	}
	out, err := queryAll(ctx, r.db, scanApplication, q, args...)
	return out, total, err
}

// ApplicationRoleAdd gives an application a role, and reports whether it
// did not hold it already.
func (w Writer) ApplicationRoleAdd(ctx context.Context, tenant, appID, roleID string, now time.Time) (bool, error) {
	n, err := w.exec(ctx, `INSERT INTO application_roles (tenant_id, application_id, role_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, application_id, role_id) DO NOTHING`, tenant, appID, roleID, Micros(now))
	return n > 0, err
}

// ApplicationRoleRemove takes a role from an application. ErrNotFound when
// the application does not hold it.
func (w Writer) ApplicationRoleRemove(ctx context.Context, tenant, appID, roleID string) error {
	n, err := w.exec(ctx, `DELETE FROM application_roles WHERE tenant_id = $1 AND application_id = $2 AND role_id = $3`, tenant, appID, roleID)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// ApplicationRoles returns the IDs of the roles an application holds, in
// the order it was given them.
func (r Reader) ApplicationRoles(ctx context.Context, tenant, appID string) ([]string, error) {
	return queryAll(ctx, r.db, func(row scanner) (string, error) {
		var id string
		return id, interpret(row.Scan(&id))
	}, `SELECT role_id FROM application_roles WHERE tenant_id = $1 AND application_id = $2 ORDER BY created_at, role_id`, tenant, appID)
}

// RoleApplications returns how many applications hold a role, and the
// first limit of them to have been given it.
func (r Reader) RoleApplications(ctx context.Context, tenant, roleID string, limit int) ([]Application, int, error) {
	var total int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM application_roles WHERE tenant_id = $1 AND role_id = $2`, tenant, roleID).Scan(&total); err != nil {
		return nil, 0, interpret(err)
	}
	cols := strings.ReplaceAll("a."+applicationColumns, ", ", ", a.")
	out, err := queryAll(ctx, r.db, scanApplication, `SELECT `+cols+` FROM application_roles ar
		JOIN applications a ON a.tenant_id = ar.tenant_id AND a.id = ar.application_id
		WHERE ar.tenant_id = $1 AND ar.role_id = $2 ORDER BY ar.created_at, ar.application_id LIMIT $3`, tenant, roleID, limit)
	return out, total, err
}

// UserRoleAdd gives a user a role, and reports whether it did not hold it
// already.
func (w Writer) UserRoleAdd(ctx context.Context, tenant, userID, roleID string, now time.Time) (bool, error) {
	n, err := w.exec(ctx, `INSERT INTO user_roles (tenant_id, user_id, role_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, user_id, role_id) DO NOTHING`, tenant, userID, roleID, Micros(now))
	return n > 0, err
}

// UserRoleRemove takes a role from a user. ErrNotFound when the user does
// not hold it.
func (w Writer) UserRoleRemove(ctx context.Context, tenant, userID, roleID string) error {
	n, err := w.exec(ctx, `DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role_id = $3`, tenant, userID, roleID)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// UserRoles returns the IDs of the roles a user holds, in the order it was
// given them.
func (r Reader) UserRoles(ctx context.Context, tenant, userID string) ([]string, error) {
	return queryAll(ctx, r.db, func(row scanner) (string, error) {
		var id string
		return id, interpret(row.Scan(&id))
	}, `SELECT role_id FROM user_roles WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, role_id`, tenant, userID)
}

// RoleUsers returns how many users hold a role, and the first limit of
// them to have been given it, oldest user first.
func (r Reader) RoleUsers(ctx context.Context, tenant, roleID string, limit int) ([]User, int, error) {
	var total int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_roles WHERE tenant_id = $1 AND role_id = $2`, tenant, roleID).Scan(&total); err != nil {
		return nil, 0, interpret(err)
	}
	out, err := queryAll(ctx, r.db, scanUser, `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND id IN
		(SELECT user_id FROM user_roles WHERE tenant_id = $1 AND role_id = $2 ORDER BY created_at, user_id LIMIT $3)
		ORDER BY created_at, id`, tenant, roleID, limit)
	return out, total, err
}

// Resource is a row of the resources table: an API resource a tenant
// defined. AccessTokenTTL is in seconds.
type Resource struct {
	TenantID       string
	ID             string
	Name           string
	Indicator      string
	AccessTokenTTL int
	CreatedAt      time.Time
}

const resourceColumns = `tenant_id, id, name, indicator, access_token_ttl, created_at`

func scanResource(row scanner) (Resource, error) {
	var r Resource
	var created int64
	if err := row.Scan(&r.TenantID, &r.ID, &r.Name, &r.Indicator, &r.AccessTokenTTL, &created); err != nil {
		return Resource{}, interpret(err)
	}
	r.CreatedAt = FromMicros(created)
	return r, nil
}

// ResourceInsert stores a new resource; an indicator the tenant already
// has is ErrConflict.
func (w Writer) ResourceInsert(ctx context.Context, r Resource) error {
	_, err := w.exec(ctx, `INSERT INTO resources (`+resourceColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.TenantID, r.ID, r.Name, r.Indicator, r.AccessTokenTTL, Micros(r.CreatedAt))
	return err
}

// ResourceGet reads a resource by ID, or ErrNotFound.
func (r Reader) ResourceGet(ctx context.Context, tenant, id string) (Resource, error) {
	return scanResource(r.db.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// ResourceByIndicator reads a resource by its indicator, or ErrNotFound.
func (r Reader) ResourceByIndicator(ctx context.Context, tenant, indicator string) (Resource, error) {
	return scanResource(r.db.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE tenant_id = $1 AND indicator = $2`, tenant, indicator))
}

// ResourceList returns a tenant's resources, oldest first, limit of them
// from offset (a limit of 0: all of them), and how many there are.
func (r Reader) ResourceList(ctx context.Context, tenant string, limit, offset int) ([]Resource, int, error) {
	var total int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE tenant_id = $1`, tenant).Scan(&total); err != nil {
		return nil, 0, interpret(err)
	}
	q := `SELECT ` + resourceColumns + ` FROM resources WHERE tenant_id = $1 ORDER BY created_at, id`
	args := []any{tenant}
	if limit > 0 {
		q += ` LIMIT $2 OFFSET $3`
		args = append(args, limit, offset)
	}
	out, err := queryAll(ctx, r.db, scanResource, q, args...)
	return out, total, err
}

// SigningKey is a row of the signing_keys table. PrivateKey is sealed;
// RetiredAt is zero for the current key.
type SigningKey struct {
	TenantID   string
	ID         string
	Algorithm  string
	PrivateKey string
	CreatedAt  time.Time
	RetiredAt  time.Time
}

// LogValue leaves the sealed key out of logs.
func (k SigningKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tenant", k.TenantID), slog.String("id", k.ID), slog.String("algorithm", k.Algorithm))
}

const signingKeyColumns = `tenant_id, id, algorithm, private_key, created_at, retired_at`

func scanSigningKey(row scanner) (SigningKey, error) {
	var k SigningKey
	var created, retired int64
	if err := row.Scan(&k.TenantID, &k.ID, &k.Algorithm, &k.PrivateKey, &created, &retired); err != nil {
		return SigningKey{}, interpret(err)
	}
	k.CreatedAt, k.RetiredAt = FromMicros(created), FromMicros(retired)
	return k, nil
}

// SigningKeyInsertCurrent stores k as the tenant's current key unless the
// tenant has one already, and reports whether it did. Of concurrent
// inserts, exactly one succeeds.
func (w Writer) SigningKeyInsertCurrent(ctx context.Context, k SigningKey) (bool, error) {
	n, err := w.exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, 0)
		ON CONFLICT (tenant_id) WHERE retired_at = 0 DO NOTHING`, k.TenantID, k.ID, k.Algorithm, k.PrivateKey, Micros(k.CreatedAt))
	return n > 0, err
}

// SigningKeyRetire marks the tenant's current key retired at now, so that
// another can be inserted; it reports whether there was one.
func (w Writer) SigningKeyRetire(ctx context.Context, tenant string, now time.Time) (bool, error) {
	n, err := w.exec(ctx, `UPDATE signing_keys SET retired_at = $2 WHERE tenant_id = $1 AND retired_at = 0`, tenant, Micros(now))
	return n > 0, err
}

// SigningKeyCurrent reads the tenant's current key, or ErrNotFound.
func (r Reader) SigningKeyCurrent(ctx context.Context, tenant string) (SigningKey, error) {
	return scanSigningKey(r.db.QueryRowContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys WHERE tenant_id = $1 AND retired_at = 0`, tenant))
}

// SigningKeysInForce returns the tenant's current key and the keys retired
// after since, the current one first, then the most recently retired.
func (r Reader) SigningKeysInForce(ctx context.Context, tenant string, since time.Time) ([]SigningKey, error) {
	return queryAll(ctx, r.db, scanSigningKey, `SELECT `+signingKeyColumns+` FROM signing_keys
		WHERE tenant_id = $1 AND (retired_at = 0 OR retired_at > $2) ORDER BY retired_at = 0 DESC, retired_at DESC, id`, tenant, Micros(since))
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, interpret(err)
	}
	return out, nil
}
