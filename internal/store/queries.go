package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Reader runs the statements that only read. Store embeds one on the
// read pool, so s.SettingGet reads through the pool; a Writer embeds one
// on its own handle. Reader has no method that writes, so a write
// through the read pool (which on SQLite is query-only) does not compile.
type Reader struct {
	db  querier
	ops dialectOps
}

// Writer runs every statement: the reads of the Reader it embeds, on the
// same handle, and the writes, which are methods of Writer alone. Store's
// WriteQ returns one on the write handle; a Tx is one in a transaction.
type Writer struct {
	Reader
}

func (w Writer) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := w.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, interpret(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// --- locks ---

// LockKey holds a lock on key until the transaction ends, so that several
// processes check and update one recipient's counters one at a time. On
// PostgreSQL it is a transaction-scoped advisory lock; on SQLite every
// write transaction already holds the database's single write lock, so it
// does nothing.
func (t *Tx) LockKey(ctx context.Context, key string) error {
	return t.ops.lock(ctx, t.tx, lockID(key))
}

// lockID maps a lock key to an advisory lock ID.
func lockID(key string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return int64(h.Sum64())
}

// --- settings ---

// SettingGet returns a tenant setting, or ErrNotFound.
func (r Reader) SettingGet(ctx context.Context, tenant, name string) (string, error) {
	var v string
	err := r.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE tenant_id = $1 AND name = $2`, tenant, name).Scan(&v)
	return v, interpret(err)
}

// SettingPut writes a tenant setting.
func (w Writer) SettingPut(ctx context.Context, tenant, name, value string, now time.Time) error {
	_, err := w.exec(ctx, `INSERT INTO settings (tenant_id, name, value, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		tenant, name, value, Micros(now))
	return err
}

// SettingInsert writes a tenant setting only if it is not set yet and
// reports whether it wrote.
func (w Writer) SettingInsert(ctx context.Context, tenant, name, value string, now time.Time) (bool, error) {
	n, err := w.exec(ctx, `INSERT INTO settings (tenant_id, name, value, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, name) DO NOTHING`, tenant, name, value, Micros(now))
	return n == 1, err
}

// --- connectors ---

// Connector is an installed connector. Config is sealed at rest.
type Connector struct {
	TenantID    string
	ID          string
	ConnectorID string // factory ID
	Config      string // sealed config JSON
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const connectorCols = `tenant_id, id, connector_id, config, created_at, updated_at`

func scanConnector(row interface{ Scan(...any) error }) (Connector, error) {
	var c Connector
	var created, updated int64
	err := row.Scan(&c.TenantID, &c.ID, &c.ConnectorID, &c.Config, &created, &updated)
	c.CreatedAt, c.UpdatedAt = FromMicros(created), FromMicros(updated)
	return c, interpret(err)
}

// ConnectorList returns a tenant's connectors.
func (r Reader) ConnectorList(ctx context.Context, tenant string) ([]Connector, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+connectorCols+` FROM connectors WHERE tenant_id = $1 ORDER BY created_at`, tenant)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	var out []Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, interpret(rows.Err())
}

// ConnectorGet returns one connector by instance ID.
func (r Reader) ConnectorGet(ctx context.Context, tenant, id string) (Connector, error) {
	return scanConnector(r.db.QueryRowContext(ctx, `SELECT `+connectorCols+` FROM connectors WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// ConnectorActive returns the tenant's email connector, or ErrNotFound.
func (r Reader) ConnectorActive(ctx context.Context, tenant string) (Connector, error) {
	return scanConnector(r.db.QueryRowContext(ctx, `SELECT `+connectorCols+` FROM connectors WHERE tenant_id = $1`, tenant))
}

// TemplatesVersionSetting is the setting every change to a tenant's email
// templates raises, in the same transaction (a trigger does it).
const TemplatesVersionSetting = "templates_version"

// ConnectorActiveVersioned is ConnectorActive plus, read by the same
// statement, the tenant's templates version ("" while it has never had a
// template).
func (r Reader) ConnectorActiveVersioned(ctx context.Context, tenant string) (Connector, string, error) {
	var c Connector
	var created, updated int64
	var version string
	err := r.db.QueryRowContext(ctx, `SELECT `+connectorCols+`,
		COALESCE((SELECT value FROM settings WHERE tenant_id = $1 AND name = '`+TemplatesVersionSetting+`'), '')
		FROM connectors WHERE tenant_id = $1`, tenant).
		Scan(&c.TenantID, &c.ID, &c.ConnectorID, &c.Config, &created, &updated, &version)
	c.CreatedAt, c.UpdatedAt = FromMicros(created), FromMicros(updated)
	return c, version, interpret(err)
}

// ConnectorReplace installs c as the tenant's email connector, in place of
// the one it had. It is one statement, an insert that takes over the
// tenant's row when there is one (the one-per-tenant index is its
// conflict target), so concurrent replaces on PostgreSQL do not collide:
// each takes the row in turn and the last one stays.
func (w Writer) ConnectorReplace(ctx context.Context, c Connector) error {
	_, err := w.exec(ctx, `INSERT INTO connectors (`+connectorCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id) DO UPDATE SET id = excluded.id, connector_id = excluded.connector_id,
		config = excluded.config, created_at = excluded.created_at, updated_at = excluded.updated_at`,
		c.TenantID, c.ID, c.ConnectorID, c.Config, Micros(c.CreatedAt), Micros(c.UpdatedAt))
	return err
}

// ConnectorUpdateConfig replaces a connector's sealed config.
func (w Writer) ConnectorUpdateConfig(ctx context.Context, tenant, id, config string, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE connectors SET config = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`, tenant, id, config, Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// ConnectorDelete removes a connector.
func (w Writer) ConnectorDelete(ctx context.Context, tenant, id string) error {
	n, err := w.exec(ctx, `DELETE FROM connectors WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// --- email templates ---

// Template is a stored template; Details is its JSON.
type Template struct {
	TenantID     string
	ID           string
	LanguageTag  string
	TemplateType string
	Details      string
	CreatedAt    time.Time
}

const templateCols = `tenant_id, id, language_tag, template_type, details, created_at`

func scanTemplate(row interface{ Scan(...any) error }) (Template, error) {
	var t Template
	var created int64
	err := row.Scan(&t.TenantID, &t.ID, &t.LanguageTag, &t.TemplateType, &t.Details, &created)
	t.CreatedAt = FromMicros(created)
	return t, interpret(err)
}

// TemplateUpsert inserts t, or replaces the details of the template with
// the same language and type, and returns the stored row.
func (w Writer) TemplateUpsert(ctx context.Context, t Template) (Template, error) {
	return scanTemplate(w.db.QueryRowContext(ctx, `INSERT INTO email_templates (`+templateCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, language_tag, template_type) DO UPDATE SET details = excluded.details
		RETURNING `+templateCols, t.TenantID, t.ID, t.LanguageTag, t.TemplateType, t.Details, Micros(t.CreatedAt)))
}

// TemplateGet returns a template by ID.
func (r Reader) TemplateGet(ctx context.Context, tenant, id string) (Template, error) {
	return scanTemplate(r.db.QueryRowContext(ctx, `SELECT `+templateCols+` FROM email_templates WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// TemplateFind returns the template for a language and type.
func (r Reader) TemplateFind(ctx context.Context, tenant, lang, typ string) (Template, error) {
	return scanTemplate(r.db.QueryRowContext(ctx, `SELECT `+templateCols+` FROM email_templates
		WHERE tenant_id = $1 AND language_tag = $2 AND template_type = $3`, tenant, lang, typ))
}

// TemplateFindAny returns the tenant's templates whose language is one of
// langs and whose type is one of types, in one statement.
func (r Reader) TemplateFindAny(ctx context.Context, tenant string, langs, types []string) ([]Template, error) {
	if len(langs) == 0 || len(types) == 0 {
		return nil, nil
	}
	args := []any{tenant}
	in := func(vals []string) string {
		ph := make([]string, len(vals))
		for i, v := range vals {
			args = append(args, v)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		return strings.Join(ph, ", ")
	}
	query := `SELECT ` + templateCols + ` FROM email_templates WHERE tenant_id = $1 AND language_tag IN (` + in(langs) +
		`) AND template_type IN (` + in(types) + `)`
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	var out []Template
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, interpret(rows.Err())
}

// templateFilter builds the WHERE clause for optional language and type.
func templateFilter(tenant, lang, typ string) (string, []any) {
	where, args := []string{"tenant_id = $1"}, []any{tenant}
	if lang != "" {
		args = append(args, lang)
		where = append(where, fmt.Sprintf("language_tag = $%d", len(args)))
	}
	if typ != "" {
		args = append(args, typ)
		where = append(where, fmt.Sprintf("template_type = $%d", len(args)))
	}
	return strings.Join(where, " AND "), args
}

// TemplateList returns templates, optionally filtered, ordered by language
// and type.
func (r Reader) TemplateList(ctx context.Context, tenant, lang, typ string) ([]Template, error) {
	where, args := templateFilter(tenant, lang, typ)
	rows, err := r.db.QueryContext(ctx, `SELECT `+templateCols+` FROM email_templates WHERE `+where+` ORDER BY language_tag, template_type`, args...)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := []Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, interpret(rows.Err())
}

// TemplateUpdateDetails replaces a template's details.
func (w Writer) TemplateUpdateDetails(ctx context.Context, tenant, id, details string) error {
	n, err := w.exec(ctx, `UPDATE email_templates SET details = $3 WHERE tenant_id = $1 AND id = $2`, tenant, id, details)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// TemplateDelete removes one template.
func (w Writer) TemplateDelete(ctx context.Context, tenant, id string) error {
	n, err := w.exec(ctx, `DELETE FROM email_templates WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// TemplateDeleteWhere removes the templates matching the filters and
// returns how many; the caller ensures at least one filter is set.
func (w Writer) TemplateDeleteWhere(ctx context.Context, tenant, lang, typ string) (int64, error) {
	where, args := templateFilter(tenant, lang, typ)
	return w.exec(ctx, `DELETE FROM email_templates WHERE `+where, args...)
}

// --- verification codes ---

// Code is a live verification code, stored only as a keyed hash.
type Code struct {
	TenantID  string
	Email     string
	UsageType string
	Hash      string
	Tries     int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// codePutSQL stores a code, replacing the recipient's previous code of
// that type.
const codePutSQL = `INSERT INTO verification_codes (tenant_id, email, usage_type, code_hash, tries, created_at, expires_at)
		VALUES ($1, $2, $3, $4, 0, $5, $6)
		ON CONFLICT (tenant_id, email, usage_type) DO UPDATE SET code_hash = excluded.code_hash, tries = 0,
			created_at = excluded.created_at, expires_at = excluded.expires_at`

// CodePut stores c, replacing the recipient's previous code of that type.
func (w Writer) CodePut(ctx context.Context, c Code) error {
	_, err := w.exec(ctx, codePutSQL, c.TenantID, c.Email, c.UsageType, c.Hash, Micros(c.CreatedAt), Micros(c.ExpiresAt))
	return err
}

// CodeGet returns the live code of a recipient and type.
func (r Reader) CodeGet(ctx context.Context, tenant, email, usage string) (Code, error) {
	var c Code
	var created, expires int64
	err := r.db.QueryRowContext(ctx, `SELECT tenant_id, email, usage_type, code_hash, tries, created_at, expires_at
		FROM verification_codes WHERE tenant_id = $1 AND email = $2 AND usage_type = $3`, tenant, email, usage).
		Scan(&c.TenantID, &c.Email, &c.UsageType, &c.Hash, &c.Tries, &created, &expires)
	c.CreatedAt, c.ExpiresAt = FromMicros(created), FromMicros(expires)
	return c, interpret(err)
}

// CodeAddTry counts one try on the code with the given hash (so a code
// replaced in the meantime is not charged) and returns the new count.
func (w Writer) CodeAddTry(ctx context.Context, tenant, email, usage, hash string) (int, error) {
	var tries int
	err := w.db.QueryRowContext(ctx, `UPDATE verification_codes SET tries = tries + 1
		WHERE tenant_id = $1 AND email = $2 AND usage_type = $3 AND code_hash = $4 RETURNING tries`,
		tenant, email, usage, hash).Scan(&tries)
	return tries, interpret(err)
}

// CodeConsume deletes the code with the given hash and reports whether it
// was still there, so that one code verifies once.
func (w Writer) CodeConsume(ctx context.Context, tenant, email, usage, hash string) (bool, error) {
	n, err := w.exec(ctx, `DELETE FROM verification_codes WHERE tenant_id = $1 AND email = $2 AND usage_type = $3 AND code_hash = $4`,
		tenant, email, usage, hash)
	return n == 1, err
}

// --- rate limits and lockouts ---

// RateCount counts the events of a key in a bucket since a time.
func (r Reader) RateCount(ctx context.Context, tenant, bucket, key string, since time.Time) (int, error) {
	var n int
	err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM rate_events WHERE tenant_id = $1 AND bucket = $2 AND key_hash = $3 AND created_at > $4`,
		tenant, bucket, key, Micros(since)).Scan(&n)
	return n, interpret(err)
}

// RateOldest returns the oldest event of a key in a bucket since a time.
func (r Reader) RateOldest(ctx context.Context, tenant, bucket, key string, since time.Time) (time.Time, error) {
	var us sql.NullInt64
	err := r.db.QueryRowContext(ctx, `SELECT MIN(created_at) FROM rate_events WHERE tenant_id = $1 AND bucket = $2 AND key_hash = $3 AND created_at > $4`,
		tenant, bucket, key, Micros(since)).Scan(&us)
	return FromMicros(us.Int64), interpret(err)
}

// RateAdd records one event.
func (w Writer) RateAdd(ctx context.Context, tenant, bucket, key string, at time.Time) error {
	_, err := w.exec(ctx, `INSERT INTO rate_events (tenant_id, bucket, key_hash, created_at) VALUES ($1, $2, $3, $4)`,
		tenant, bucket, key, Micros(at))
	return err
}

// LockoutUntil returns when the last of the keys' lockouts ends (zero when
// none is locked).
func (r Reader) LockoutUntil(ctx context.Context, tenant string, keys ...string) (time.Time, error) {
	if len(keys) == 0 {
		return time.Time{}, nil
	}
	args := []any{tenant}
	marks := make([]string, len(keys))
	for i, k := range keys {
		args = append(args, k)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	var until sql.NullInt64
	err := r.db.QueryRowContext(ctx, `SELECT MAX(until) FROM lockouts WHERE tenant_id = $1 AND key_hash IN (`+strings.Join(marks, ", ")+`)`, args...).Scan(&until)
	return FromMicros(until.Int64), interpret(err)
}

// PurgeResult counts what Purge deleted.
type PurgeResult struct {
	Codes, Records, RateEvents, RateCounters, Lockouts, Messages int64
	// OIDC counts expired authorization requests and tokens.
	OIDC int64
	// Interactions and Sessions count expired interactions and sign-in
	// sessions.
	Interactions, Sessions int64
	// ConsoleSessions counts expired console sessions.
	ConsoleSessions int64
	// AccountVerifications counts expired verification records of the
	// account API.
	AccountVerifications int64
	// MagicLinks counts expired magic links.
	MagicLinks int64
}

// Purge deletes expired codes and verification records, rate events and
// counter hours older than keepEvents, ended lockouts, expired OpenID
// Connect authorization requests and tokens, expired interactions,
// sign-in and console sessions, account verifications, expired magic links,
// and message log rows older than keepMessages.
func (w Writer) Purge(ctx context.Context, now time.Time, keepEvents, keepMessages time.Duration) (PurgeResult, error) {
	var r PurgeResult
	var err error
	if r.Codes, err = w.exec(ctx, `DELETE FROM verification_codes WHERE expires_at < $1`, Micros(now)); err != nil {
		return r, err
	}
	if r.Records, err = w.exec(ctx, `DELETE FROM verification_records WHERE expires_at < $1`, Micros(now)); err != nil {
		return r, err
	}
	if r.RateEvents, err = w.exec(ctx, `DELETE FROM rate_events WHERE created_at < $1`, Micros(now.Add(-keepEvents))); err != nil {
		return r, err
	}
	if r.RateCounters, err = w.exec(ctx, `DELETE FROM rate_counters WHERE window_start < $1`, Micros(now.Add(-keepEvents-time.Hour))); err != nil {
		return r, err
	}
	if r.Lockouts, err = w.exec(ctx, `DELETE FROM lockouts WHERE until < $1`, Micros(now)); err != nil {
		return r, err
	}
	if r.Interactions, err = w.exec(ctx, `DELETE FROM interactions WHERE expires_at < $1`, Micros(now)); err != nil {
		return r, err
	}
	if r.Sessions, err = w.exec(ctx, `DELETE FROM sign_in_sessions WHERE expires_at < $1`, Micros(now)); err != nil {
		return r, err
	}
	if r.ConsoleSessions, err = w.exec(ctx, `DELETE FROM console_sessions WHERE expires_at < $1`, Micros(now)); err != nil {
		return r, err
	}
	if r.AccountVerifications, err = w.exec(ctx, `DELETE FROM account_verifications WHERE expires_at < $1`, Micros(now)); err != nil {
		return r, err
	}
	if r.MagicLinks, err = w.exec(ctx, `DELETE FROM magic_links WHERE expires_at < $1`, Micros(now)); err != nil {
		return r, err
	}
	if r.OIDC, err = w.oidcPurge(ctx, now); err != nil {
		return r, err
	}
	cutoff := Micros(now.Add(-keepMessages))
	if _, err = w.exec(ctx, `DELETE FROM message_attempts WHERE message_id IN
		(SELECT id FROM messages WHERE created_at < $1 AND status IN ('sent', 'failed'))`, cutoff); err != nil {
		return r, err
	}
	if r.Messages, err = w.exec(ctx, `DELETE FROM messages WHERE created_at < $1 AND status IN ('sent', 'failed')`, cutoff); err != nil {
		return r, err
	}
	_, err = w.exec(ctx, `DELETE FROM dev_inbox WHERE created_at < $1`, cutoff)
	return r, err
}
