package store

import (
	"context"
	"log/slog"
	"time"
)

// UserMFA reads a user's second factors (the JSON list of the
// mfa_verifications column), or ErrNotFound when there is no such user.
func (r Reader) UserMFA(ctx context.Context, tenant, id string) (string, error) {
	var v string
	err := r.db.QueryRowContext(ctx, `SELECT mfa_verifications FROM users WHERE tenant_id = $1 AND id = $2`, tenant, id).Scan(&v)
	return v, interpret(err)
}

// UserSetMFA replaces a user's second factors (a JSON list) and the
// updated time. ErrNotFound when there is no such user.
func (w Writer) UserSetMFA(ctx context.Context, tenant, id, factors string, now time.Time) error {
	return w.userSet(ctx, `mfa_verifications`, tenant, id, factors, now)
}

// MagicLink is a row of the magic_links table: a sign-in or sign-up
// email's link, found by the keyed hash of its token. Payload is sealed
// by the caller.
type MagicLink struct {
	TenantID        string
	TokenHash       string
	InteractionHash string
	Payload         string
	CreatedAt       time.Time
	ExpiresAt       time.Time
	// UsedAt is zero until the link is used or replaced.
	UsedAt time.Time
}

// LogValue leaves the sealed payload out of logs.
func (m MagicLink) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tenant", m.TenantID), slog.Time("expiresAt", m.ExpiresAt))
}

// MagicLinkInsert stores a new link of an interaction, after marking its
// interaction's earlier links used (the newer code replaces theirs).
func (w Writer) MagicLinkInsert(ctx context.Context, m MagicLink) error {
	if err := w.MagicLinkRetire(ctx, m.TenantID, m.InteractionHash, m.CreatedAt); err != nil {
		return err
	}
	_, err := w.exec(ctx, `INSERT INTO magic_links (tenant_id, token_hash, interaction_hash, payload, created_at, expires_at, used_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0)`,
		m.TenantID, m.TokenHash, m.InteractionHash, m.Payload, Micros(m.CreatedAt), Micros(m.ExpiresAt))
	return err
}

// MagicLinkRetire marks every unused link of an interaction used at now.
func (w Writer) MagicLinkRetire(ctx context.Context, tenant, interactionHash string, now time.Time) error {
	_, err := w.exec(ctx, `UPDATE magic_links SET used_at = $3 WHERE tenant_id = $1 AND interaction_hash = $2 AND used_at = 0`,
		tenant, interactionHash, Micros(now))
	return err
}

// MagicLinkGet reads the link whose token hashes to tokenHash, used or
// not, expired or not; ErrNotFound when there is none.
func (r Reader) MagicLinkGet(ctx context.Context, tenant, tokenHash string) (MagicLink, error) {
	m := MagicLink{TenantID: tenant, TokenHash: tokenHash}
	var created, expires, used int64
	err := r.db.QueryRowContext(ctx, `SELECT interaction_hash, payload, created_at, expires_at, used_at FROM magic_links
		WHERE tenant_id = $1 AND token_hash = $2`, tenant, tokenHash).Scan(&m.InteractionHash, &m.Payload, &created, &expires, &used)
	if used != 0 {
		m.UsedAt = FromMicros(used)
	}
	m.CreatedAt, m.ExpiresAt = FromMicros(created), FromMicros(expires)
	return m, interpret(err)
}

// MagicLinkUse marks a live, unused link used at now, and reports whether
// it did: false when the link is gone, used or expired (another request
// used it first).
func (w Writer) MagicLinkUse(ctx context.Context, tenant, tokenHash string, now time.Time) (bool, error) {
	n, err := w.exec(ctx, `UPDATE magic_links SET used_at = $3 WHERE tenant_id = $1 AND token_hash = $2 AND used_at = 0 AND expires_at > $3`,
		tenant, tokenHash, Micros(now))
	return n == 1, err
}
